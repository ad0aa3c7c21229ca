"""``undone advisories refresh``: read the Debian security tracker's DSA and DLA lists and
Canonical's USN data (OSV), from the network or a folder, and write the compact advisory index
that scans read (scanner/lifecycle/advisories.py). Never run by a scan.
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
from pathlib import Path
from typing import IO, Any

from scanner import __version__, clock
from scanner.errors import InputError
from scanner.lifecycle.advisories import (
    FILE,
    MAX_LINE,
    MAX_LIST_BYTES,
    MAX_MEMBER_BYTES,
    MAX_TARBALL_BYTES,
    SCHEMA,
    SOURCES,
    AdvisoryError,
    Index,
    _load,
    user_dir,
)

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
