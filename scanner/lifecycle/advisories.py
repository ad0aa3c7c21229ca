"""The advisory catalogue: when each Debian and Ubuntu security fix was published, offline.

apt says which updates are pending and from which pocket, but not when a fix was released. The
distributions' advisories do: the Debian security tracker's DSA list (``data/DSA/list``: stable
releases) and DLA list (``data/DLA/list``: LTS), and Ubuntu's security notices (USN) in OSV JSON.
Each advisory names a source package, the release it is for, the version that fixes it and the
day it was published. This module keeps them as a compact index::

    {source: {release: {source package: [[fixed version, published, advisory id], ...]}}}

(``release`` is ``debian:bookworm``, ``ubuntu:22.04`` or ``ubuntu-pro:22.04``), in one JSON file
in the user's data folder, built by ``undone advisories refresh`` (scanner/cli_advisories.py):

- from the network: the two Debian lists from the security tracker's repository on
  salsa.debian.org, and Canonical's OSV tarball (``osv-all.tar.xz``, of which only ``osv/usn/``
  is read, streamed, never unpacked to disk);
- from a folder (``--from DIR``) for machines without internet: ``DSA/list`` and ``DLA/list``
  (or a clone of the security-tracker repository: ``data/DSA/list``), and ``osv-all.tar.xz`` or
  ``USN-*.json`` files (a clone of canonical/ubuntu-security-notices: ``osv/usn/``).

Nothing is shipped: advisory data is the user's to fetch, and without it pending updates are
dated by the scan history or only bounded (scanner/dating.py). Where the data comes from and
under what terms is kept in the file (``sources``) and shown by ``undone advisories status``.

Matching (:meth:`Catalogue.earliest`): a pending update of source package *p* from *installed*
to *candidate* is dated by the earliest advisory for *p* and the host's release whose fixed
version is newer than *installed* and not newer than *candidate* (Debian version order,
scanner/debversion.py). A catalogue that is out of date never dates an update wrongly: the
advisories it lacks are all newer than the ones it has, so the earliest match is the same; an
update whose advisory it lacks is simply not dated by it. A Debian release is dated only when
both lists are present (a release moves from DSA to DLA when it goes to LTS, and an update can
span both).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from scanner import __version__, clock
from scanner.errors import InputError
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


# --------------------------------------------------------------------------------------------
# Parsing: the Debian tracker's list format
# --------------------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_HEADER = re.compile(r"\[(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})\] (D[LS]A-[0-9]+(?:-[0-9]+)?) ")
_FIXED = re.compile(r"[ \t]+\[([a-z][a-z0-9-]{0,40})\] - ([a-z0-9][a-z0-9.+-]{0,100}) (\S{1,200})")

Entry = tuple[str, str, str, str, str]  # (release, package, fixed, published, advisory)


def parse_debian_list(lines: Iterable[str], prefix: str = "DSA") -> Iterator[Entry]:
    """Entries of a DSA or DLA list: ``[29 Mar 2023] DSA-5380-1 xorg-server - ...`` then one
    ``<TAB>[bullseye] - xorg-server 2:1.20.11-1+deb11u6`` line per release. Lines that are not
    such (CVE lists, ``NOTE:`` lines, ``<end-of-life>`` and ``<not-affected>`` markers, entries
    without a package line) give nothing. Linear in the input; never raises on odd lines."""
    current: tuple[str, str] | None = None
    for raw in lines:
        line = raw[:MAX_LINE].rstrip("\r\n")
        if line.startswith("["):
            m = _HEADER.match(line)
            current = None
            if m:
                day, mon, year, ident = m.groups()
                month = _MONTHS.get(mon)
                if month is not None and ident.startswith(prefix):
                    try:
                        current = (date(int(year), month, int(day)).isoformat(), ident)
                    except ValueError:
                        current = None
            continue
        if current is None:
            continue
        f = _FIXED.match(line)
        if f is None:
            continue
        release, package, fixed = f.groups()
        if fixed.startswith("<"):
            continue
        yield release, package, fixed, current[0], current[1]


# --------------------------------------------------------------------------------------------
# Parsing: Ubuntu security notices in OSV JSON
# --------------------------------------------------------------------------------------------

_UBUNTU_VERSION = re.compile(r"[0-9]{2}\.[0-9]{2}")
_USN_ID = re.compile(r"USN-[0-9]{1,6}-[0-9]{1,3}")


def ubuntu_release(ecosystem: str) -> str | None:
    """``Ubuntu:22.04:LTS`` -> ``ubuntu:22.04``; ``Ubuntu:Pro:20.04:LTS`` (ESM, also FIPS
    streams) -> ``ubuntu-pro:20.04``; anything else -> None."""
    parts = ecosystem.split(":")
    if len(parts) < 2 or parts[0] != "Ubuntu":
        return None
    version = next((p for p in parts[1:] if _UBUNTU_VERSION.fullmatch(p)), None)
    if version is None:
        return None
    pro = any(p in ("Pro", "FIPS", "FIPS-updates", "FIPS-preview") for p in parts[1:])
    return f"{'ubuntu-pro' if pro else 'ubuntu'}:{version}"


def _published(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_usn(doc: Any) -> Iterator[Entry]:
    """Entries of one USN record: per ``affected`` item, its release (from the ecosystem), the
    source package (``package.name``) and each ``fixed`` event; dated by ``published``."""
    if not isinstance(doc, dict):
        return
    ident = doc.get("id")
    when = _published(doc.get("published"))
    if not isinstance(ident, str) or not _USN_ID.fullmatch(ident) or when is None:
        return
    for item in doc.get("affected") or []:
        if not isinstance(item, dict):
            continue
        pkg = item.get("package") or {}
        if not isinstance(pkg, dict):
            continue
        release = ubuntu_release(str(pkg.get("ecosystem") or ""))
        name = pkg.get("name")
        if release is None or not isinstance(name, str) or not name or len(name) > 100:
            continue
        for rng in item.get("ranges") or []:
            if not isinstance(rng, dict) or rng.get("type") != "ECOSYSTEM":
                continue
            for ev in rng.get("events") or []:
                fixed = ev.get("fixed") if isinstance(ev, dict) else None
                if isinstance(fixed, str) and fixed and len(fixed) <= 200:
                    yield release, name, fixed, when, ident


def _usn_members(tar: tarfile.TarFile) -> Iterator[Any]:
    """The USN records of an OSV tarball, read member by member (a stream: nothing is unpacked
    to disk); records under ``osv/cve/`` and ``osv/lsn/`` are skipped."""
    for member in tar:
        name = member.name
        base = name.rsplit("/", 1)[-1]
        if not member.isfile() or not base.startswith("USN-") or not base.endswith(".json"):
            continue
        if "/usn/" not in f"/{name}":
            continue
        if member.size > MAX_MEMBER_BYTES:
            raise AdvisoryError(f"{name}: {member.size} bytes, more than a USN record can be")
        fh = tar.extractfile(member)
        if fh is None:
            continue
        try:
            yield json.loads(fh.read())
        except ValueError:
            raise AdvisoryError(f"{name}: not JSON") from None


# --------------------------------------------------------------------------------------------
# Building the index
# --------------------------------------------------------------------------------------------

Index = dict[str, dict[str, list[list[str]]]]


@dataclass
class Built:
    """One source's part of the catalogue."""

    source: str
    index: Index = field(default_factory=dict)
    advisories: set[str] = field(default_factory=set)
    newest: str | None = None
    oldest: str | None = None
    origin: str = ""

    def add(self, entries: Iterable[Entry]) -> None:
        seen: set[tuple[str, str, str, str]] = set()
        for release, package, fixed, published, ident in entries:
            key = (release, package, fixed, ident)
            if key in seen:
                continue
            seen.add(key)
            rel = release if ":" in release else f"{SOURCES[self.source].distro}:{release}"
            self.index.setdefault(rel, {}).setdefault(package, []).append(
                [fixed, published, ident])
            self.advisories.add(ident)
            day = published[:10]
            self.newest = day if self.newest is None or day > self.newest else self.newest
            self.oldest = day if self.oldest is None or day < self.oldest else self.oldest

    def meta(self, fetched_at: str) -> dict[str, Any]:
        src = SOURCES[self.source]
        return {
            "title": src.title,
            "origin": self.origin,
            "terms": src.terms,
            "fetched_at": fetched_at,
            "advisories": len(self.advisories),
            "oldest": self.oldest,
            "newest": self.newest,
            "releases": {r: len(p) for r, p in sorted(self.index.items())},
        }


def _sorted(index: Index) -> Index:
    return {rel: {pkg: sorted(items, key=lambda i: (i[1], i[2]))
                  for pkg, items in sorted(pkgs.items())}
            for rel, pkgs in sorted(index.items())}


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


# --------------------------------------------------------------------------------------------
# Refresh: download, or read a folder
# --------------------------------------------------------------------------------------------

Opener = Callable[[str], IO[bytes]]


def _http_open(url: str) -> IO[bytes]:
    if not url.startswith(("https://", "http://")):
        raise AdvisoryError(f"{url}: only http(s) URLs are fetched")
    req = urllib.request.Request(url, headers={"User-Agent": f"undone/{__version__}"})  # noqa: S310 - scheme checked
    try:
        resp: IO[bytes] = urllib.request.urlopen(req, timeout=60)  # noqa: S310 - scheme checked
    except urllib.error.HTTPError as e:
        raise AdvisoryError(f"{url}: cannot download: HTTP {e.code} {e.reason}") from None
    except OSError as e:
        raise AdvisoryError(f"{url}: cannot download: {getattr(e, 'reason', None) or e}") from None
    return resp


class _Capped(io.RawIOBase):
    """A read-only stream that stops with an error past ``limit`` bytes."""

    def __init__(self, inner: IO[bytes], limit: int, label: str) -> None:
        self.inner, self.limit, self.label, self.read_bytes = inner, limit, label, 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self.inner.read(min(len(buf), 1 << 20))
        self.read_bytes += len(data)
        if self.read_bytes > self.limit:
            raise AdvisoryError(f"{self.label}: more than {self.limit >> 20} MiB; not an "
                                "advisory list")
        self.digest.update(data)
        buf[: len(data)] = data
        return len(data)


def _read_list(stream: IO[bytes], label: str, prefix: str) -> tuple[list[Entry], str]:
    capped = _Capped(stream, MAX_LIST_BYTES, label)
    text = io.TextIOWrapper(io.BufferedReader(capped), encoding="utf-8", errors="replace",
                            newline="")
    entries = list(parse_debian_list(text, prefix))
    return entries, capped.digest.hexdigest()


def _read_tarball(stream: IO[bytes], label: str) -> tuple[list[Entry], str]:
    capped = _Capped(stream, MAX_TARBALL_BYTES, label)
    entries: list[Entry] = []
    try:
        with tarfile.open(fileobj=io.BufferedReader(capped), mode="r|*") as tar:
            for doc in _usn_members(tar):
                entries.extend(parse_usn(doc))
    except (tarfile.TarError, EOFError, OSError, ValueError) as e:
        if isinstance(e, AdvisoryError):
            raise
        raise AdvisoryError(f"{label}: not a readable tar archive ({e})") from None
    return entries, capped.digest.hexdigest()


def _folder_sources(folder: Path) -> dict[str, list[Path]]:
    """What a ``--from`` folder holds, by source."""
    found: dict[str, list[Path]] = {}
    for name, sub in (("debian-dsa", "DSA"), ("debian-dla", "DLA")):
        for cand in (folder / sub / "list", folder / "data" / sub / "list"):
            if cand.is_file():
                found[name] = [cand]
                break
    tarball = folder / "osv-all.tar.xz"
    if tarball.is_file():
        found["ubuntu-usn"] = [tarball]
    else:
        for sub in ("osv/usn", "usn", "."):
            files = sorted((folder / sub).glob("USN-*.json")) if (folder / sub).is_dir() else []
            if files:
                found["ubuntu-usn"] = files
                break
    return found


def _read_source(name: str, paths: list[Path] | None, url: str | None, opener: Opener
                 ) -> Built:
    built = Built(name)
    prefix = "DLA" if name == "debian-dla" else "DSA"
    if paths is None:
        if url is None:
            raise AdvisoryError(f"{name}: no URL to fetch")
        with opener(url) as stream:
            if name == "ubuntu-usn":
                entries, digest = _read_tarball(stream, url)
            else:
                entries, digest = _read_list(stream, url, prefix)
        built.origin = f"{url} (sha256 {digest})"
    elif name == "ubuntu-usn" and paths[0].name.endswith(".tar.xz"):
        with paths[0].open("rb") as fh:
            entries, digest = _read_tarball(fh, str(paths[0]))
        built.origin = f"{paths[0]} (sha256 {digest})"
    elif name == "ubuntu-usn":
        entries = []
        for p in paths:
            if p.stat().st_size > MAX_MEMBER_BYTES:
                raise AdvisoryError(f"{p}: larger than a USN record can be")
            try:
                entries.extend(parse_usn(json.loads(p.read_bytes())))
            except ValueError:
                raise AdvisoryError(f"{p}: not JSON") from None
        built.origin = f"{paths[0].parent} ({len(paths)} USN files)"
    else:
        with paths[0].open("rb") as fh:
            entries, digest = _read_list(fh, str(paths[0]), prefix)
        built.origin = f"{paths[0]} (sha256 {digest})"
    built.add(entries)
    if not built.advisories:
        where = built.origin.split(" (")[0]
        raise AdvisoryError(f"{where}: no {SOURCES[name].title} in it")
    return built


def refresh(
    src: Path | None = None,
    out: Path | None = None,
    only: str | None = None,
    urls: dict[str, str] | None = None,
    opener: Opener = _http_open,
) -> dict[str, Any]:
    """Build the catalogue from the network (``src`` None) or a folder, into ``out`` (default
    :func:`user_dir`). Sources not read this time (``only``, or absent from the folder) keep
    what the existing catalogue had. Returns what was written."""
    wanted = [n for n in SOURCES if only is None or SOURCES[n].distro == only]
    fetched: dict[str, Built] = {}
    if src is not None:
        if not src.is_dir():
            raise AdvisoryError(f"{src}: not a folder")
        found = _folder_sources(src)
        for name in wanted:
            if name in found:
                fetched[name] = _read_source(name, found[name], None, opener)
        if not fetched:
            raise AdvisoryError(
                f"{src}: no advisory data found (expected DSA/list and DLA/list, or "
                "data/DSA/list and data/DLA/list, and osv-all.tar.xz or USN-*.json files)")
    else:
        for name in wanted:
            url = (urls or {}).get(name) or SOURCES[name].url
            fetched[name] = _read_source(name, None, url, opener)
    target = out or user_dir()
    path = target / FILE
    old: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_bytes())
        except (OSError, ValueError):
            old = {}
        if not isinstance(old, dict) or old.get("schema") != SCHEMA:
            old = {}
    now = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    index: dict[str, Index] = {k: v for k, v in (old.get("index") or {}).items()
                               if k in SOURCES and k not in fetched}
    sources: dict[str, Any] = {k: v for k, v in (old.get("sources") or {}).items()
                               if k in index}
    for name, built in fetched.items():
        index[name] = _sorted(built.index)
        sources[name] = built.meta(now)
    doc = {"schema": SCHEMA, "built_at": now, "built_by": f"undone {__version__}",
           "notice": "Derived from the sources listed under 'sources', on the terms given "
                     "there; only release, source package, fixed version, date and advisory "
                     "id are kept.",
           "sources": dict(sorted(sources.items())), "index": dict(sorted(index.items()))}
    try:
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / f".{FILE}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False),
                       encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        raise InputError(f"{target}: cannot write the advisory catalogue: "
                         f"{e.strerror or e}") from None
    _load.cache_clear()
    return {"path": str(path), "bytes": path.stat().st_size,
            "sources": {n: sources[n] for n in fetched}, "kept": sorted(set(index) - set(fetched))}
