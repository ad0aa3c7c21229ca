"""Checking inventory values: one problem line per mistake, naming the file, the key path and
what was expected, with "did you mean" for a near miss (:func:`near_miss`)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from probes.access import identity
from scanner.inventory import connection as _conn
from scanner.inventory.model import (
    _CONTROL,
    _ENV_RE,
    _PIN_RE,
    _ROLE_RE,
    BACKUP_KEYS,
    BACKUP_KINDS,
    DEVICES,
    ISOLATION,
    ROLES,
    SECRET_KEYS,
    SNMP_AUTH,
    SNMP_PRIV,
    SNMP_VERSIONS,
    TRANSPORTS,
    WINRM_AUTHS,
    WINRM_SCHEMES,
)
from scanner.lifecycle import applications
from scanner.vocab import OWNERS, PLATFORMS


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein with adjacent transpositions)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def near_miss(key: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``key`` is probably a misspelling of, or None."""
    k = key.lower()
    if len(k) < 3:
        return None
    best: tuple[int, str] | None = None
    for c in candidates:
        if k == c or k == c + "s" or c == k + "s":
            continue
        limit = 1 if max(len(k), len(c)) < 8 else 2
        dist = _distance(k, c)
        if dist <= limit and (best is None or dist < best[0]):
            best = (dist, c)
    return None if best is None else best[1]


def _unknown_key(key: object, allowed: Iterable[str]) -> str:
    """The one-line message for a key undone does not know in one of its own sections."""
    names = list(allowed)
    guess = near_miss(str(key), names)
    hint = f" (did you mean '{guess}'?)" if guess else ""
    return f"unknown key '{key}'{hint}; expected {', '.join(names)}"


class _Problems:
    """Problems, one line each, in order and without repeats. A problem of one host that comes
    from a group's variables is gathered: one line names every host it touches."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.lines: list[str] = []
        self._seen: set[str] = set()
        self._hosts: dict[tuple[str, str], list[str]] = {}

    def add(self, where: str, what: str) -> None:
        line = f"{self.label}: {where}: {what}" if where else f"{self.label}: {what}"
        if line not in self._seen:
            self._seen.add(line)
            self.lines.append(line)

    def host(self, raw: Any, where: str, what: str) -> None:
        """A problem of host ``raw`` (a RawHost) caused by a value set at ``where``."""
        self._hosts.setdefault((where, what), []).append(raw.name)

    def pending(self) -> int:
        return sum(len(v) for v in self._hosts.values())

    def flush(self) -> None:
        for (where, what), names in self._hosts.items():
            shown = ", ".join(names[:5])
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            who = f"host {shown}" if len(names) == 1 else f"hosts {shown}{more}"
            self.add(where, f"{who}: {what}")
        self._hosts.clear()


_TYPE_NAMES = {bool: "a boolean", int: "a number", float: "a number", str: "text",
               list: "a list", dict: "a mapping"}


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _check_value(kind: str, value: Any, where: str, key: str, p: _Problems) -> Any:
    """Validate and normalise one undone variable; returns the value, or None after a problem."""
    bad = f"'{key}' is {_type_name(value)}, expected "
    if kind == "str":
        if isinstance(value, str) and value.strip() and not _CONTROL.search(value):
            return value.strip()
        if isinstance(value, str) and value.strip():
            p.add(where, f"'{key}' holds a control character (a line break, NUL, ...), "
                         "expected plain text")
        else:
            p.add(where, bad + "non-empty text")
    elif kind == "port":
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal():
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
            return value
        p.add(where, f"'{key}' is {value!r}, expected a port number 1-65535")
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
            return value.lower() in ("yes", "true")
        p.add(where, bad + "true or false")
    elif kind == "concurrency":
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 512:
            return value
        p.add(where, f"'{key}' is {value!r}, expected a whole number of hosts at once, 1-512")
    elif kind == "seconds":
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 86400:
            return float(value)
        p.add(where, f"'{key}' is {value!r}, expected a number of seconds greater than 0")
    elif kind == "envname":
        if isinstance(value, str) and _ENV_RE.match(value) and len(value) <= 255:
            return value
        # the value is never shown: a secret written here by mistake must not be echoed
        p.add(
            where,
            f"'{key}' is not the NAME of an environment variable (letters, digits and _; "
            "the value is not shown, as it may be a secret written here by mistake)",
        )
    elif kind == "transport":
        if isinstance(value, str):
            v = _conn.connection_name(value.lower())
            v = {"paramiko": "ssh", "paramiko_ssh": "ssh", "smart": "ssh", "psrp": "winrm"}.get(
                v, v)
            if v in TRANSPORTS:
                return v
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(TRANSPORTS)}")
    elif kind == "platform":
        if isinstance(value, str) and value.lower() in PLATFORMS:
            return value.lower()
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(PLATFORMS)}")
    elif kind == "owner":
        if isinstance(value, str) and value in OWNERS:
            return value
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(OWNERS)}")
    elif kind == "backups":
        return _check_backups(value, where, key, p)
    elif kind == "identities":
        return _check_identities(value, f"{where}.{key}", p)
    elif kind == "extension_allowlist":
        ids, problems = applications.check_allowlist(value, key)
        for problem in problems:
            p.add(where, problem)
        return ids
    elif kind == "winrm_scheme":
        if isinstance(value, str) and value.lower() in WINRM_SCHEMES:
            return value.lower()
        p.add(where, f"'{key}' is {value!r}, expected https (the default) or http")
    elif kind == "winrm_auth":
        # Ansible's ansible_winrm_transport may be a list (or a comma list): the first undone has
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list) and items and all(isinstance(i, str) for i in items):
            names = [i.strip().lower() for i in items]
            names = ["basic" if n in ("plaintext", "ssl") else "ntlm" if n == "negotiate" else n
                     for n in names]
            usable = [n for n in names if n in WINRM_AUTHS]
            if usable:
                return usable[0]
            if "certificate" in names:
                p.add(where, f"'{key}' is {value!r}: client certificate authentication is not "
                      f"supported by undone; expected one of {', '.join(WINRM_AUTHS)}")
                return None
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(WINRM_AUTHS)}")
    elif kind == "cert_pin":
        text = value.strip().lower() if isinstance(value, str) else ""
        m = _PIN_RE.match(text)
        if m:
            return m.group(1).replace(":", "")
        p.add(
            where,
            f"'{key}' is {value!r}, expected the SHA-256 fingerprint of the host's certificate "
            "(64 hex digits, colons allowed)",
        )
    elif kind == "cert_validation":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("yes", "true", "validate"):
            return True
        if isinstance(value, str) and value.lower() in ("no", "false", "ignore"):
            return False
        p.add(where, f"'{key}' is {value!r}, expected true or false (Ansible: validate or ignore)")
    elif kind in ("device", "snmp_version", "snmp_auth", "snmp_priv"):
        choices = {
            "device": DEVICES,
            "snmp_version": SNMP_VERSIONS,
            "snmp_auth": SNMP_AUTH,
            "snmp_priv": SNMP_PRIV,
        }[kind]
        choice = "" if isinstance(value, bool) else str(value).lower()
        choice = {"2": "2c", "v2c": "2c", "v2": "2c", "v3": "3"}.get(choice, choice)
        if choice in choices:
            return choice
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(choices)}")
    elif kind == "backup_kind":
        if value in BACKUP_KINDS:
            return value
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(BACKUP_KINDS)}")
    elif kind == "isolation":
        if value in ISOLATION:
            return value
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(ISOLATION)}")
    elif kind == "restore_test":
        d = value if isinstance(value, dict) else {}
        when = _parse_date(d.get("date"))
        extra = set(d) - {"date", "evidence"}
        if when is not None and isinstance(d.get("evidence"), str) and not extra:
            return {"date": when.isoformat(), "evidence": d["evidence"]}
        p.add(where, f"'{key}' expects {{date: YYYY-MM-DD, evidence: link or reference}}")
    elif kind == "roles":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(r, str) for r in items):
            odd = [r for r in items if not _ROLE_RE.match(r)]
            if odd:
                p.add(
                    where,
                    f"'{key}' has role {odd[0]!r}, expected a lower-case name such as "
                    f"{', '.join(ROLES[:5])}",
                )
                return None
            for r in items:
                guess = near_miss(r, ROLES) if r not in ROLES and len(r) >= 5 else None
                if guess:
                    p.add(where, f"'{key}' has unknown role '{r}' (did you mean '{guess}'?)")
                    return None
            return tuple(items)
        p.add(where, bad + "a role or a list of roles")
    return None


def _check_identities(value: Any, where: str, p: _Problems) -> tuple[str, ...] | None:
    """A list of administrator identities (one may be given as plain text), each in the grammar
    of probes/access/identity.py; every bad one is a problem naming its index."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        p.add(where, f"is {_type_name(value)}, expected a list of identities ({identity.FORMS})")
        return None
    before = len(p.lines)
    for i, item in enumerate(items):
        try:
            identity.parse(item)
        except ValueError as e:
            p.add(f"{where}[{i}]", str(e))
    return tuple(items) if len(p.lines) == before else None


def _identity_keys(value: Any) -> dict[str, tuple[str, str]]:
    """Each identity of a declared list (or one as text) by the key two spellings of it share.
    An entry that does not parse is left out: :func:`_check_identities` reports it, and the
    overlap of two lists is only judged on what they validly say."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else []
    out: dict[str, tuple[str, str]] = {}
    for text in items:
        try:
            ident = identity.parse(text)
        except ValueError:
            continue
        out[text] = (ident.kind, ident.qualified.lower() if ident.domain else ident.qualified)
    return out


def _check_backups(
    value: Any, where: str, key: str, p: _Problems
) -> tuple[dict[str, Any], ...] | None:
    """Backups declared for a host: kind, repository, credentials by reference, isolation, and
    an attested restore test."""
    if not isinstance(value, list):
        p.add(where, f"'{key}' is {_type_name(value)}, expected a list of backups")
        return None
    out: list[dict[str, Any]] = []
    before = len(p.lines)
    for i, item in enumerate(value):
        w = f"{where}.{key}[{i}]"
        if not isinstance(item, dict):
            p.add(w, f"expected a mapping with kind and repository, found {_type_name(item)}")
            continue
        entry: dict[str, Any] = {}
        for k, v in item.items():
            if k not in BACKUP_KEYS:
                guess = near_miss(str(k), BACKUP_KEYS)
                hint = f" (did you mean '{guess}'?)" if guess else ""
                if k in SECRET_KEYS:
                    hint = " (secrets are never values: use password_env)"
                p.add(w, f"unknown key '{k}'{hint}; expected {', '.join(BACKUP_KEYS)}")
                continue
            checked = _check_value(BACKUP_KEYS[k], v, w, str(k), p)
            if checked is not None:
                entry[str(k)] = checked
        if "kind" not in item:
            p.add(w, "'kind' is missing, expected one of " + ", ".join(BACKUP_KINDS))
        elif item.get("kind") in ("restic", "borg", "rsnapshot", "directory", "pbs") and (
            "repository" not in item
        ):
            p.add(w, f"'repository' is missing (where the {item['kind']} backups are)")
        entry.setdefault("name", f"{entry.get('kind', 'backup')}-{i + 1}")
        out.append(entry)
    return tuple(out) if len(p.lines) == before else None


def _parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):  # a date and time: refused, an expiry is a day
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _resolve(path: str, inventory_label: str) -> str:
    """``~`` expands; a relative path is relative to the inventory's folder."""
    p = Path(os.path.expanduser(path))
    if not p.is_absolute() and inventory_label and os.path.exists(inventory_label):
        p = Path(inventory_label).resolve().parent / p
    return str(p)
