"""The advisory catalogue: when each Debian and Ubuntu security fix was published, offline.

apt says which updates are pending and from which pocket, but not when a fix was released. The
distributions' advisories do: the Debian security tracker's DSA list (``data/DSA/list``: stable
releases) and DLA list (``data/DLA/list``: LTS), and Ubuntu's security notices (USN) in OSV JSON.
Each advisory names a source package, the release it is for, the version that fixes it and the
day it was published. This module keeps them as a compact index::

    {source: {release: {source package: [[fixed version, published, advisory id], ...]}}}

(``release`` is ``debian:bookworm``, ``ubuntu:22.04`` or ``ubuntu-pro:22.04``), in one JSON file
in the user's data folder, built by ``undone advisories refresh`` (scanner/cli/advisories.py):

- from the network: the two Debian lists from the security tracker's repository on
  salsa.debian.org, and Canonical's OSV tarball (``osv-all.tar.xz``, of which only ``osv/usn/``
  is read, streamed, never unpacked to disk);
- from a folder (``--from DIR``) for machines without internet: ``DSA/list`` and ``DLA/list``
  (or a clone of the security-tracker repository: ``data/DSA/list``), and ``osv-all.tar.xz`` or
  ``USN-*.json`` files (a clone of canonical/ubuntu-security-notices: ``osv/usn/``).

Nothing is shipped: advisory data is the user's to fetch, and without it pending updates are
dated by the scan history or only bounded (scanner/engine/dating.py). Where the data comes from and
under what terms is kept in the file (``sources``) and shown by ``undone advisories status``.

Matching (:meth:`Catalogue.earliest`): a pending update of source package *p* from *installed*
to *candidate* is dated by the earliest advisory for *p* and the host's release whose fixed
version is newer than *installed* and not newer than *candidate* (Debian version order,
scanner/lifecycle/debversion.py). A catalogue that is out of date never dates an update wrongly: the
advisories it lacks are all newer than the ones it has, so the earliest match is the same; an
update whose advisory it lacks is simply not dated by it. A Debian release is dated only when
both lists are present (a release moves from DSA to DLA when it goes to LTS, and an update can
span both).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from scanner.lifecycle import debversion

SCHEMA = "undone.advisories/1"
FILE = "advisories.json"
ENV_DIR = "UNDONE_ADVISORIES_DIR"

DSA_URL = ("https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/"
           "data/DSA/list")
DLA_URL = ("https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/"
           "data/DLA/list")
USN_URL = "https://security-metadata.canonical.com/osv/osv-all.tar.xz"

# Size caps on what is read (the real files: DSA list about 1 MiB, DLA list 0.5 MiB in 2023;
# the OSV tarball some hundreds of MiB unpacked, each USN at most about 0.5 MiB).
MAX_LIST_BYTES = 64 << 20
MAX_TARBALL_BYTES = 2 << 30
MAX_MEMBER_BYTES = 16 << 20
MAX_LINE = 4096


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    distro: str
    url: str
    terms: str


SOURCES: dict[str, Source] = {
    "debian-dsa": Source(
        "debian-dsa", "Debian Security Advisories (DSA list of the Debian security tracker)",
        "debian", DSA_URL,
        "Debian security tracker data (salsa.debian.org/security-tracker-team/security-tracker); "
        "no separate licence statement is published with the data"),
    "debian-dla": Source(
        "debian-dla", "Debian LTS Advisories (DLA list of the Debian security tracker)",
        "debian", DLA_URL,
        "Debian security tracker data (salsa.debian.org/security-tracker-team/security-tracker); "
        "no separate licence statement is published with the data"),
    "ubuntu-usn": Source(
        "ubuntu-usn", "Ubuntu Security Notices (USN, OSV format, Canonical)",
        "ubuntu", USN_URL,
        "Canonical, Ubuntu Security Notices, CC BY-SA 4.0 "
        "(https://github.com/canonical/ubuntu-security-notices); this index is derived from them "
        "and shared under the same licence"),
}
DISTRO_SOURCES = {"debian": ("debian-dsa", "debian-dla"), "ubuntu": ("ubuntu-usn",)}


class AdvisoryError(Exception):
    """Advisory data that cannot be read or used (the CLI turns it into exit 2)."""


#: per release, per package: its advisories, each [fixed version, published, advisory]
Index = dict[str, dict[str, list[list[str]]]]


# --------------------------------------------------------------------------------------------
# The catalogue as scans read it
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    advisory: str
    published: datetime
    fixed: str


def _as_datetime(text: str) -> datetime:
    if len(text) == 10:  # a day (Debian): counted from its start, UTC
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class Catalogue:
    """A loaded advisory catalogue. :meth:`earliest` dates one pending update."""

    def __init__(self, doc: dict[str, Any], label: str) -> None:
        self.label = label
        self.built_at: str = str(doc.get("built_at") or "")
        self.sources: dict[str, dict[str, Any]] = dict(doc.get("sources") or {})
        self._index: dict[str, Index] = dict(doc.get("index") or {})

    def missing(self, distro: str) -> str | None:
        """Why this catalogue cannot date updates of ``distro``, or None."""
        names = DISTRO_SOURCES.get(distro)
        if names is None:
            return f"no advisory source for {distro}"
        lacking = [n for n in names if n not in self._index]
        if lacking:
            return (f"the advisory catalogue {self.label} has no {' or '.join(lacking)} data "
                    f"(run `undone advisories refresh`)")
        return None

    def has_release(self, release: str) -> bool:
        return any(release in idx for idx in self._index.values())

    def newest(self, distro: str) -> str | None:
        days = [str(self.sources[n].get("newest")) for n in DISTRO_SOURCES.get(distro, ())
                if n in self.sources and self.sources[n].get("newest")]
        return min(days) if days else None  # the least current source bounds what is known

    def earliest(self, releases: Iterable[str], package: str, installed: str | None,
                 candidate: str) -> Match | None:
        """The earliest advisory for ``package`` in any of ``releases`` whose fixed version is
        newer than ``installed`` (None: not installed, any fix counts) and not newer than
        ``candidate``."""
        best: Match | None = None
        for rel in releases:
            for idx in self._index.values():
                for fixed, published, ident in idx.get(rel, {}).get(package, ()):
                    if installed is not None and debversion.compare(fixed, installed) <= 0:
                        continue
                    if debversion.compare(fixed, candidate) > 0:
                        continue
                    when = _as_datetime(published)
                    if best is None or when < best.published:
                        best = Match(ident, when, fixed)
        return best

    def stats(self) -> dict[str, Any]:
        return {"label": self.label, "built_at": self.built_at, "sources": self.sources}


def user_dir() -> Path:
    """``$UNDONE_ADVISORIES_DIR``, else ``$XDG_DATA_HOME/undone/advisories``, else
    ``~/.local/share/undone/advisories``."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "undone" / "advisories"


def catalogue_from_json(text: str | bytes, label: str) -> Catalogue:
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise AdvisoryError(f"{label}: not JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise AdvisoryError(f"{label}: not an undone advisory catalogue (schema {SCHEMA})")
    if not isinstance(doc.get("index"), dict) or not isinstance(doc.get("sources"), dict):
        raise AdvisoryError(f"{label}: index and sources: expected objects")
    for name, idx in doc["index"].items():
        if name not in SOURCES or not isinstance(idx, dict):
            raise AdvisoryError(f"{label}: index.{name}: not a known source")
    return Catalogue(doc, label)


@lru_cache(maxsize=4)
def _load(path: str, _mtime_ns: int, _size: int) -> Catalogue:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise AdvisoryError(f"{path}: cannot read: {e.strerror or e}") from None
    return catalogue_from_json(data, path)


def load(path: str | None = None) -> Catalogue | None:
    """The catalogue at ``path`` (default: :func:`user_dir`), or None when there is none yet.
    Cached while the file is unchanged."""
    p = Path(path) if path else user_dir() / FILE
    try:
        st = p.stat()
    except FileNotFoundError:
        if path:
            raise AdvisoryError(f"{p}: no such file") from None
        return None
    except OSError as e:
        raise AdvisoryError(f"{p}: cannot read: {e.strerror or e}") from None
    return _load(str(p), st.st_mtime_ns, st.st_size)

