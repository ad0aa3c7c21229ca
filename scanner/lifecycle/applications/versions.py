"""Version numbers of the applications undone judges, one scheme per vendor.

Each scheme turns a version text into a *key* (a tuple of integers) that orders versions the
way the vendor does, or gives ``None`` for a text it cannot read (a beta, a snap transitional
package, garbage from a target): an unreadable version is listed, never judged.

- ``dotted``: numbers separated by dots (7-Zip ``23.01``, VLC ``3.0.20``, Notepad++ ``8.6.4``,
  Zoom ``5.17.11.34827`` or ``6.0.11 (39959)``, Microsoft 365 Apps ``16.0.17328.20184``);
  ``size`` keeps the first parts only (LibreOffice ``7.6.4.1`` is release ``7.6.4``, build 1).
- ``chrome``: four numbers (``120.0.6099.109``); Chrome, Chromium and Edge.
- ``mozilla``: ``126.0``, ``126.0.1``, ``115.9.1esr``; ``esr`` marks the Extended Support
  Release line; alphas and betas (``127.0b9``) are not releases and give ``None``.
- ``java``: ``8u401``, ``1.8.0_401``, Oracle's Windows ``8.0.4010.7`` (update 401, build 7),
  ``17.0.10``, ``17.0.10+7``, ``25.0.4.1+1``: (feature, interim, update, patch); the build
  after ``+`` is not part of the order.
- ``acrobat``: ``24.001.20604`` (year, release, build): the build's first digit tells the
  Continuous track (2xxxx) from the Classic tracks (3xxxx).

:func:`debian_upstream` maps a Debian package version to the upstream one
(``1:115.9.1esr-1~deb12u1`` → ``115.9.1esr``), :func:`rpm_upstream` an RPM ``EPOCH:VER-REL``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCHEMES = ("dotted", "chrome", "mozilla", "java", "acrobat")

_MAX_LEN = 64  # a version longer than this is not a version
_DOTTED = re.compile(r"^(\d{1,9}(?:\.\d{1,9}){0,5})(?:\s*\((\d{1,9})\))?(?:[-+~_ ].*)?$")
_CHROME = re.compile(r"^(\d{1,5})\.(\d{1,5})\.(\d{1,6})\.(\d{1,6})$")
_MOZILLA = re.compile(r"^(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?(esr)?$")
_JAVA_U = re.compile(r"^(?:1\.)?(\d{1,3})(?:\.0)?(?:u|_|\.0_)(\d{1,4})(?:-b\d+)?$")
_JAVA = re.compile(r"^(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,5}))?(?:\.(\d{1,5}))?(?:\.\d{1,5})?"
                   r"(?:\+(\d{1,5}))?(?:-LTS)?$")
_ACROBAT = re.compile(r"^(\d{1,2})\.(\d{1,3})\.(\d{5})$")
_DEB = re.compile(r"^(?:\d+:)?(.+?)(?:-[A-Za-z0-9.+~]+)?$")


@dataclass(frozen=True)
class Parsed:
    """A version as a scheme read it: the text to show, the key to order by, and for Mozilla
    products whether it is an ESR build."""

    text: str
    key: tuple[int, ...]
    esr: bool = False


def parse(scheme: str, text: str, size: int | None = None) -> Parsed | None:
    """Read ``text`` with ``scheme``; ``None`` when it is not a version of that scheme."""
    t = text.strip() if isinstance(text, str) else ""
    if not t or len(t) > _MAX_LEN:
        return None
    if scheme == "chrome":
        m = _CHROME.match(t)
        return Parsed(t, tuple(int(g) for g in m.groups())) if m else None
    if scheme == "mozilla":
        m = _MOZILLA.match(t)
        if not m:
            return None
        major, minor, patch, esr = m.groups()
        key = (int(major), int(minor), int(patch or 0))
        return Parsed(t, key, esr=bool(esr))
    if scheme == "java":
        return _java(t)
    if scheme == "acrobat":
        m = _ACROBAT.match(t)
        return Parsed(t, tuple(int(g) for g in m.groups())) if m else None
    if scheme == "dotted":
        m = _DOTTED.match(t)
        if not m:
            return None
        parts = [int(p) for p in m.group(1).split(".")]
        if m.group(2):  # Zoom's "6.0.11 (39959)": the build in brackets is the fourth part
            parts.append(int(m.group(2)))
        if size is not None:
            parts = (parts + [0] * size)[:size]
        return Parsed(t, tuple(parts))
    raise ValueError(f"unknown version scheme {scheme!r}")


def _java(t: str) -> Parsed | None:
    m = _JAVA_U.match(t)
    if m:
        return Parsed(t, (int(m.group(1)), 0, int(m.group(2)), 0))
    m = _JAVA.match(t)
    if not m:
        return None
    feature, interim, update, patch, _build = m.groups()
    f, i, u, p = int(feature), int(interim or 0), int(update or 0), int(patch or 0)
    if f == 8 and i == 0 and u >= 10 and p:
        # Oracle's Windows installer writes Java 8 update N as 8.0.<N*10>.<build>
        return Parsed(t, (8, 0, u // 10, 0))
    if f == 8 and i >= 100:
        # Amazon Corretto 8: 8.<update>.<build>.<revision> (8.402.08.1 is 8u402)
        return Parsed(t, (8, 0, i, 0))
    if f == 1 and i in (7, 8) and update is not None:
        return Parsed(t, (i, 0, p, 0))
    return Parsed(t, (f, i, u, p))


def debian_upstream(version: str) -> str:
    """The upstream part of a Debian package version: no epoch, no Debian revision
    (``1:153.8.0esr-1~deb12u1`` → ``153.8.0esr``, ``156.0.8078.129-1~deb12u1`` →
    ``156.0.8078.129``)."""
    t = version.strip()
    m = _DEB.match(t)
    return m.group(1) if m else t


def rpm_upstream(version: str) -> str:
    """The version of an RPM ``[EPOCH:]VERSION[-RELEASE]``."""
    t = version.strip()
    if ":" in t:
        t = t.split(":", 1)[1]
    return t.rsplit("-", 1)[0] if "-" in t else t


def acrobat_track(key: tuple[int, ...]) -> str:
    """Continuous (``dc``) or the Classic track of its year (``2020``, ``2017``)."""
    if len(key) == 3 and key[2] >= 30000:
        return f"20{key[0]:02d}"
    return "dc"
