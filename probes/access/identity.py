"""Administrator identities as the inventory declares them (``client_admins``, ``provider_admins``).

The grammar is small and strict; one identity is one string::

    alice                    a local account (a POSIX user, a Windows local user, or a user of a
                             network device: any account that lives on the system itself)
    %sudo   group:wheel      a local group: every member of it
    group:EXAMPLE\\IT Admins  a domain group (Windows), as DOMAIN\\Group name
    EXAMPLE\\alice            a domain user (Windows)
    device:admin             a user of a network device only (never a server's account)

Names: a local account or group name is 1-64 characters of letters, digits, ``_ . @ -``
(starting with a letter, digit or ``_``; a trailing ``$`` is allowed for Windows machine
accounts). A domain is 1-64 characters of letters, digits, ``. -`` (NetBIOS or DNS form); a
domain user or group name may also hold spaces (never at either end) and none of
``" / \\ [ ] : ; | = , + * ? < >``. Nothing else is an identity: an unknown prefix, an empty name,
spaces around the text or control characters are errors (``parse`` raises ``ValueError`` with
the reason, and the inventory reports it with the key path).

Matching is exact for POSIX names and devices, and case-insensitive on Windows (as Windows is).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("user", "group", "domain-user", "domain-group", "device")
PREFIXES = ("group", "device")
FORMS = "NAME, %GROUP, group:NAME, group:DOMAIN\\NAME, DOMAIN\\NAME or device:NAME"

_LOCAL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,62}\$?$")
_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$")
_BAD_DOMAIN_NAME = re.compile(r'["/\\\[\]:;|=,+*?<>]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Identity:
    """One parsed identity: ``kind`` is one of KINDS; ``domain`` is set for the domain kinds."""

    text: str
    kind: str
    name: str
    domain: str | None = None

    @property
    def qualified(self) -> str:
        """``DOMAIN\\name`` for the domain kinds, the name otherwise."""
        return f"{self.domain}\\{self.name}" if self.domain else self.name


def _domain_name(text: str, what: str) -> tuple[str, str]:
    domain, _, name = text.partition("\\")
    if not _DOMAIN.match(domain):
        raise ValueError(f"{what}: domain {domain!r} is not a domain name (letters, digits, . -)")
    if not name or name != name.strip() or len(name) > 256 or _BAD_DOMAIN_NAME.search(name):
        raise ValueError(
            f'{what}: name {name!r} is empty, has spaces at an end, or holds one of " / \\ [ ] '
            ": ; | = , + * ? < >"
        )
    return domain, name


def parse(text: object) -> Identity:
    """Parse one identity; ``ValueError`` says what is wrong with it."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not text; expected {FORMS}")
    if not text or text != text.strip() or _CONTROL.search(text):
        raise ValueError(f"{text!r} is empty or has spaces or control characters at an end")
    if text.startswith("%"):
        name = text[1:]
        if not _LOCAL.match(name):
            raise ValueError(f"{text!r}: group name {name!r} is not a local group name")
        return Identity(text, "group", name)
    prefix, colon, rest = text.partition(":")
    if colon:
        if prefix not in PREFIXES:
            from difflib import get_close_matches

            close = get_close_matches(prefix, PREFIXES, n=1)
            hint = f" (did you mean '{close[0]}:'?)" if close else ""
            raise ValueError(f"{text!r}: unknown prefix '{prefix}:'{hint}; expected {FORMS}")
        if prefix == "device":
            if not _LOCAL.match(rest):
                raise ValueError(f"{text!r}: {rest!r} is not a device user name")
            return Identity(text, "device", rest)
        if "\\" in rest:
            domain, name = _domain_name(rest, repr(text))
            return Identity(text, "domain-group", name, domain)
        if not _LOCAL.match(rest):
            raise ValueError(f"{text!r}: group name {rest!r} is not a local group name")
        return Identity(text, "group", rest)
    if "\\" in text:
        domain, name = _domain_name(text, repr(text))
        return Identity(text, "domain-user", name, domain)
    if not _LOCAL.match(text):
        raise ValueError(f"{text!r} is not an account name; expected {FORMS}")
    return Identity(text, "user", text)


def parse_all(items: object) -> list[Identity]:
    """Parse a declared list (as the inventory holds it); ``ValueError`` names the index."""
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected a list of identities ({FORMS})")
    out: list[Identity] = []
    for i, item in enumerate(items):
        try:
            out.append(parse(item))
        except ValueError as e:
            raise ValueError(f"[{i}]: {e}") from None
    return out
