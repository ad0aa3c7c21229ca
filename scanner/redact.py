"""Credentials inside backup repository strings never leave the scanner (issue 15, L7).

A backup ``repository`` in the inventory is a location, but people write credentials into it:
``rest:https://backup:Winter2026@nas.example:8000/pc01``, ``s3:https://KEY:SECRET@minio.example/
bucket``, ``https://TOKEN@host/repo``, ``...?access_key=...&secret_key=...``. The repository goes
to the target (in the section's environment, as the tool needs it), and comes back in the tool's
messages, the facts, the host's error, and the evidence bundle's copy of the inventory.

:class:`Redactor` is built from an inventory: it knows every credential written into a
repository string (the password of a URL's user information, a user name that may be a token, a
secret query parameter; each also percent-decoded) and masks them, plus anything shaped like a
URL with a password, in any text or document. undone applies it at its boundary, to every host
record and result as it lands (so the history never holds one), to the finished result document
(reports, JSON, notifications) and to the inventory copied into an evidence bundle.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

MASK = "***"
# scheme://userinfo@: the authority ends at the first /, ?, # or blank; userinfo is everything
# before its last @ (as Go's net/url, which restic uses, reads it)
_URL_AUTH = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,30}://)([^/?#\s\"'<>\\]{0,2048})")
# bounded name parts: linear time on any text (a run of letters after "&" is not quadratic); a
# value ends where a quote, a blank or ", " would end the text around it (a YAML or JSON string)
_SECRET_PARAM = re.compile(
    r"(?i)([?&;][a-z0-9_.-]{0,40}?(?:pass(?:word|wd)?|pwd|secret|token|key|sig(?:nature)?|"
    r"credential|auth)[a-z0-9_.-]{0,40}=)((?:[^&#\s\"'<>\\,]|,(?!\s)){1,4096})")
# schemes where a bare user@ is a login name, not a token
_LOGIN_SCHEMES = ("ssh://", "sftp://", "scp://", "rsync://", "smb://", "cifs://", "ftp://")


def _mask_authority(m: re.Match[str]) -> str:
    scheme, authority = m.group(1), m.group(2)
    at = authority.rfind("@")
    if at < 0:
        return m.group(0)
    userinfo, host = authority[:at], authority[at + 1:]
    if not userinfo or userinfo == MASK:
        return m.group(0)
    user, colon, _ = userinfo.partition(":")
    if colon:
        shown = f"{user}:{MASK}" if user and user != MASK else MASK
    elif scheme.lower() in _LOGIN_SCHEMES:
        return m.group(0)
    else:
        shown = MASK
    return f"{scheme}{shown}@{host}"


def mask_text(text: str) -> str:
    """``text`` with the password of every URL's user information, a bare user that may be a
    token (outside ssh-like schemes), and every secret-looking query parameter masked."""
    if "://" in text:
        text = _URL_AUTH.sub(_mask_authority, text)
    if "=" in text:
        text = _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, text)
    return text


def credentials(repository: str) -> set[str]:
    """The credentials written into one repository string (as written and percent-decoded)."""
    found: set[str] = set()
    for m in re.finditer(r"://(\S+)", repository):
        # a password holding "/" or "@" (not valid in a URL, but written): up to the last "@"
        rest = m.group(1)
        colon, at = rest.find(":"), rest.rfind("@")
        if 0 < colon < at and "/" not in rest[:colon] and "@" not in rest[:colon]:
            found.add(rest[colon + 1:at])
    for m in _URL_AUTH.finditer(repository):
        scheme, authority = m.group(1), m.group(2)
        at = authority.rfind("@")
        if at <= 0:
            continue
        user, colon, password = authority[:at].partition(":")
        if colon and password:
            found.add(password)
        elif not colon and scheme.lower() not in _LOGIN_SCHEMES and user:
            found.add(user)
    for m in _SECRET_PARAM.finditer(repository):
        found.add(m.group(2))
    out = set()
    for s in found:
        for v in (s, urllib.parse.unquote(s)):
            if len(v) >= 4 and v != MASK:  # shorter would mask ordinary words
                out.add(v)
    return out


class Redactor:
    """Masks the credentials of a set of repository strings, and URL credentials in general."""

    def __init__(self, repositories: Iterable[str] = ()) -> None:
        secrets: set[str] = set()
        for repo in repositories:
            secrets |= credentials(repo)
        # longest first, so that a secret holding another is masked whole
        self.secrets = sorted(secrets, key=len, reverse=True)

    @classmethod
    def for_inventory(cls, inv: Any) -> Redactor:
        repos = [str(b.get("repository") or "") for h in getattr(inv, "hosts", ())
                 for b in (getattr(h, "backups", ()) or ()) if isinstance(b, dict)]
        return cls(r for r in repos if r)

    def text(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, MASK)
        return mask_text(text)

    def bytes(self, data: bytes) -> bytes:
        """A file's bytes (the inventory copied into a bundle): masked as UTF-8 text when it is
        text; otherwise only the known credentials are masked."""
        try:
            return self.text(data.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            for s in self.secrets:
                data = data.replace(s.encode("utf-8"), MASK.encode("ascii"))
            return data

    def value(self, value: Any) -> Any:
        """``value`` with every string in it masked (keys too). Nothing is changed in place:
        a dict or list with something to mask comes back as a new one (only along the path to
        what was masked; the rest is shared), one with nothing to mask comes back as it is, so
        the records evaluation made are never edited and a clean document costs no copy."""
        if isinstance(value, str):
            return self.text(value) if self._suspect(value) else value
        if isinstance(value, dict):
            out: dict[Any, Any] | None = None
            for i, (k, v) in enumerate(value.items()):
                nv = self.value(v)
                nk = self.text(k) if isinstance(k, str) and self._suspect(k) else k
                if out is None and (nv is not v or nk != k):
                    out = dict(list(value.items())[:i])
                if out is not None:
                    out[nk] = nv
            return value if out is None else out
        if isinstance(value, list):
            new: list[Any] | None = None
            for i, v in enumerate(value):
                nv = self.value(v)
                if new is None and nv is not v:
                    new = value[:i]
                if new is not None:
                    new.append(nv)
            return value if new is None else new
        return value

    def _suspect(self, s: str) -> bool:
        return "://" in s or "=" in s or any(x in s for x in self.secrets)
