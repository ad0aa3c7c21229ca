"""Building the application release catalogue from the vendors' sources: Mozilla's
product-details, Google's VersionHistory API, Microsoft 365 Apps' release data, endoflife.date's
export, API answers and release-data. Run by ``python -m scanner.lifecycle.applications.build``
and ``undone applications refresh``, never by a scan; scans read the catalogue it writes
(scanner/lifecycle/applications/catalogue.py).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from scanner.lifecycle.applications import products, versions
from scanner.lifecycle.applications.catalogue import (
    _DATE,
    FETCHED_FILE,
    MAX_FILE_BYTES,
    BuildError,
    Catalogue,
    Cycle,
    ProductData,
    Track,
    _d,
)

# --------------------------------------------------------------------------------------------
# reading sources


def read_json(path: Path, expected: str) -> Any:
    """A JSON file of at most :data:`MAX_FILE_BYTES`, or a :class:`BuildError` naming it."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise BuildError(f"{path}: cannot read ({e.strerror or e}); expected {expected}") from None
    if len(data) > MAX_FILE_BYTES:
        raise BuildError(f"{path}: larger than {MAX_FILE_BYTES} bytes; expected {expected}")
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise BuildError(f"{path}: not JSON; expected {expected}") from None


class _Builder:
    def __init__(self) -> None:
        self.products: dict[str, ProductData] = {}
        self.sources: list[dict[str, Any]] = []

    def product(self, pid: str) -> ProductData:
        return self.products.setdefault(pid, ProductData(pid))

    def add(self, pid: str, text: str, when: date | None, as_of: date, source: str,
            complete: bool = True, item: Mapping[str, Any] | None = None,
            track: str | None = None) -> bool:
        spec = products.PRODUCTS[pid]
        parsed = versions.parse(spec.scheme, text, spec.size)
        if parsed is None:
            return False
        name = track or products.track_of(pid, parsed, item)
        t = self.product(pid).tracks.setdefault(name, Track(as_of=as_of, complete=complete))
        if t.as_of is None or as_of > t.as_of:
            t.as_of = as_of
        if source not in t.sources:
            # a track is complete when any source that lists every release feeds it
            t.complete = t.complete or complete if t.sources else complete
            t.sources.add(source)
        known = t.versions.get(parsed.text)
        if known is None or (when is not None and when < known):
            t.versions[parsed.text] = when if known is None else min(when or known, known)
        return True

    def cycle(self, pid: str, name: str, eol: date | None, ended: bool, as_of: date,
              source: str) -> None:
        self.product(pid).cycles[name] = Cycle(eol, ended, as_of, source)


def _newest(dates: Iterable[date | None]) -> date | None:
    found = [d for d in dates if d is not None]
    return max(found) if found else None


def _source_date(fetched: Mapping[str, str], key: str, data_dates: Iterable[date | None],
                 given: date | None, where: str) -> tuple[date, str]:
    """When a source's data was taken: the online refresh's record, else ``--snapshot-date``,
    else the newest date in the data (a lower bound: the data can only look older)."""
    if key in fetched:
        d = _d(fetched[key], f"{where}: {FETCHED_FILE}.{key}")
        if d is not None:
            return d, f"downloaded on {d}"
    if given is not None:
        return given, "given with --snapshot-date"
    newest = _newest(data_dates)
    if newest is None:
        raise BuildError(f"{where}: no date in the data; pass --snapshot-date")
    return newest, "the newest date in the data (a lower bound on when it was taken)"


def _mozilla(b: _Builder, path: Path, pid: str, fetched: Mapping[str, str],
             given: date | None) -> None:
    what = f"Mozilla's product-details {path.name} (an object with 'releases')"
    doc = read_json(path, what)
    releases = doc.get("releases") if isinstance(doc, dict) else None
    if not isinstance(releases, dict):
        raise BuildError(f"{path}: no 'releases' object; expected {what}")
    rows: list[tuple[str, date | None]] = []
    for key, r in releases.items():
        if not isinstance(r, dict) or r.get("category") == "dev":
            continue
        text = str(r.get("version") or "")
        if r.get("category") == "esr" and not text.endswith("esr"):
            text += "esr"
        try:
            when = _d(r.get("date"), f"{path}: releases.{str(key)[:60]}.date")
        except BuildError:
            when = None
        rows.append((text, when))
    as_of, basis = _source_date(fetched, f"mozilla/{path.name}", (w for _, w in rows), given,
                                str(path))
    n = sum(b.add(pid, text, when, as_of, f"mozilla/{path.name}") for text, when in rows)
    b.sources.append({"id": f"mozilla/{path.name}", "kind": "mozilla-product-details",
                      "url": f"https://product-details.mozilla.org/1.0/{path.name}",
                      "date": as_of.isoformat(), "date_basis": basis, "versions": n})


def _chrome(b: _Builder, folder: Path, fetched: Mapping[str, str], given: date | None) -> None:
    first: dict[str, date] = {}
    pages = 0
    for path in sorted(folder.glob("*.json")):
        what = "a VersionHistory API releases answer (an object with 'releases')"
        doc = read_json(path, what)
        rel = doc.get("releases") if isinstance(doc, dict) else None
        if not isinstance(rel, list):
            raise BuildError(f"{path}: no 'releases' list; expected {what}")
        pages += 1
        for r in rel:
            if not isinstance(r, dict):
                continue
            name = str(r.get("name") or "")
            if "/channels/stable/" not in name:
                continue  # only the stable channel's releases date stable versions
            serving = r["serving"] if isinstance(r.get("serving"), dict) else {}
            try:
                start = _d(serving.get("startTime"), f"{path}: {name[:80]}")
            except BuildError:
                continue
            text = str(r.get("version") or "")
            if start is not None and (text not in first or start < first[text]):
                first[text] = start
    if not pages:
        return
    as_of, basis = _source_date(fetched, "chrome", first.values(), given, str(folder))
    n = sum(b.add("chrome", text, when, as_of, "chrome") for text, when in first.items())
    b.sources.append({"id": "chrome", "kind": "chrome-versionhistory",
                      "url": "https://versionhistory.googleapis.com/v1/chrome/platforms/",
                      "date": as_of.isoformat(), "date_basis": basis, "versions": n})


def _microsoft365(b: _Builder, folder: Path, fetched: Mapping[str, str],
                  given: date | None) -> None:
    rows: list[tuple[str, str, date | None, date | None]] = []
    for path in sorted(folder.glob("*.json")):
        what = "a Microsoft 365 Apps LatestRelease answer (buildVersion, availabilityDate)"
        doc = read_json(path, what)
        for r in doc if isinstance(doc, list) else [doc]:
            if not isinstance(r, dict) or not isinstance(r.get("buildVersion"), dict):
                raise BuildError(f"{path}: no 'buildVersion'; expected {what}")
            build = str(r["buildVersion"].get("buildVersionString") or "")
            channel = products.m365_channel(r.get("cdnBaseUrl"), r.get("channelId"), path.stem)
            if channel is None:
                raise BuildError(f"{path}: cannot tell the update channel (cdnBaseUrl "
                                 f"{str(r.get('cdnBaseUrl'))[:80]!r}); name the file after it")
            avail = _d(r.get("availabilityDate"), f"{path}: availabilityDate")
            eos = r.get("endOfSupportDate")
            end = None if not eos or str(eos).startswith("0001") else _d(eos, f"{path}: eos")
            rows.append((channel, build, avail, end))
    if not rows:
        return
    as_of, basis = _source_date(fetched, "microsoft365", (r[2] for r in rows), given,
                                str(folder))
    for channel, build, avail, end in rows:
        b.add("m365", build, avail, as_of, "microsoft365", complete=False, track=channel)
        if end is not None:
            b.product("m365").end_of_support[build] = end
    b.sources.append({"id": "microsoft365", "kind": "microsoft365-latestrelease",
                      "url": "https://clients.config.office.net/releases/v1.0/LatestRelease/",
                      "date": as_of.isoformat(), "date_basis": basis, "builds": len(rows)})


# endoflife.date slug -> undone product
ENDOFLIFE: dict[str, str] = {
    spec.endoflife: spec.id for spec in products.PRODUCTS.values()
    if spec.endoflife and spec.id != "chromium"
}


def _endoflife_export(b: _Builder, folder: Path, fetched: Mapping[str, str],
                      given: date | None) -> None:
    """An endoflife.date export: products.json (cycles) and release-data/<slug>.json
    (versions), as in the project's ``shared/data/endoflife``."""
    path = folder / "products.json"
    doc = read_json(path, "endoflife.date's products.json (an object of products)")
    if not isinstance(doc, dict):
        raise BuildError(f"{path}: expected an object of products")
    as_of, basis = _source_date(fetched, "endoflife", _export_dates(folder, doc), given,
                                str(path))
    with contextlib.suppress(OSError, UnicodeDecodeError):
        commit = _source_md_date(folder / "SOURCE.md")
        if commit is not None and "endoflife" not in fetched and given is None:
            as_of, basis = commit, f"the commit dates in {folder.name}/SOURCE.md"
    n = 0
    for slug, pid in ENDOFLIFE.items():
        entry = doc.get(slug)
        if not isinstance(entry, dict):
            continue
        lts: set[str] = set()
        for r in entry.get("releases") or []:
            if not isinstance(r, dict) or not r.get("releaseCycle"):
                continue
            cyc = str(r["releaseCycle"])
            eol = r.get("eol")
            if r.get("lts"):
                lts.add(cyc)
            b.cycle(pid, cyc, _d(eol, f"{path}: {slug}.{cyc}.eol") if isinstance(eol, str)
                    else None, eol is True, as_of, "endoflife.date")
            if pid == "chrome" and r.get("releaseDate"):
                # the first release of each Chrome cycle: a newer version existed from that day
                n += b.add("chrome", f"{cyc}.0.0.0", _d(r["releaseDate"], f"{path}: {slug}"),
                           as_of, "endoflife", complete=False)
            latest, latest_date = r.get("latest"), r.get("latestReleaseDate")
            if isinstance(latest, str) and latest_date:
                n += _endoflife_version(b, pid, latest, _d(latest_date, f"{path}: {slug}"),
                                        as_of, lts)
        rd = folder / "release-data" / f"{slug}.json"
        if rd.exists():
            data = read_json(rd, "endoflife.date release-data ({'versions': {...}})")
            vers = data.get("versions") if isinstance(data, dict) else None
            if isinstance(vers, dict):
                for text, v in vers.items():
                    when = _d(v.get("date"), f"{rd}: {str(text)[:40]}") if isinstance(v, dict) \
                        else None
                    n += _endoflife_version(b, pid, str(text), when, as_of, lts)
    b.sources.append({"id": "endoflife", "kind": "endoflife.date export", "path": folder.name,
                      "license": "MIT", "date": as_of.isoformat(), "date_basis": basis,
                      "versions": n})


def _endoflife_version(b: _Builder, pid: str, text: str, when: date | None, as_of: date,
                       lts: set[str], source: str = "endoflife") -> bool:
    if pid == "firefox":
        # endoflife.date lists ESR versions without their suffix: a version of an LTS (ESR)
        # cycle past its .0 releases is an ESR build (115.9.1 is 115.9.1esr)
        m = re.match(r"^(\d+)\.(\d+)", text)
        if m and m.group(1) in lts and int(m.group(2)) >= 1:
            text += "esr"
    return b.add(pid, text, when, as_of, source)


def _export_dates(folder: Path, doc: Mapping[str, Any]) -> list[date | None]:
    out: list[date | None] = []
    for slug in ENDOFLIFE:
        for r in (doc.get(slug) or {}).get("releases") or []:
            for k in ("releaseDate", "latestReleaseDate"):
                v = r.get(k) if isinstance(r, dict) else None
                if isinstance(v, str) and _DATE.match(v):
                    with contextlib.suppress(ValueError):
                        out.append(date.fromisoformat(v[:10]))
    return out


def _source_md_date(path: Path) -> date | None:
    text = path.read_bytes()[:1_000_000].decode("utf-8")
    found = [date.fromisoformat(m) for m in re.findall(r"\((\d{4}-\d{2}-\d{2})\)", text)]
    return min(found) if found else None


def _endoflife_api(b: _Builder, folder: Path, fetched: Mapping[str, str],
                   given: date | None) -> None:
    """endoflife.date API v1 answers (``/api/v1/products/<slug>``), one file per slug."""
    for path in sorted(folder.glob("*.json")):
        pid = ENDOFLIFE.get(path.stem)
        if pid is None:
            continue
        what = "an endoflife.date API v1 product answer ({'result': {'releases': [...]}})"
        doc = read_json(path, what)
        result = doc.get("result") if isinstance(doc, dict) else None
        rel = result.get("releases") if isinstance(result, dict) else None
        if not isinstance(rel, list):
            raise BuildError(f"{path}: no result.releases; expected {what}")
        dates = [_d(r.get("releaseDate"), str(path)) for r in rel
                 if isinstance(r, dict) and isinstance(r.get("releaseDate"), str)]
        as_of, basis = _source_date(fetched, f"endoflife-api/{path.name}", dates, given,
                                    str(path))
        lts = {str(r.get("name")) for r in rel if isinstance(r, dict) and r.get("isLts")}
        for r in rel:
            if not isinstance(r, dict) or not r.get("name"):
                continue
            cyc = str(r["name"])
            eol = _d(r.get("eolFrom"), f"{path}: {cyc}.eolFrom") if r.get("eolFrom") else None
            b.cycle(pid, cyc, eol, bool(r.get("isEol")), as_of, "endoflife.date")
            if pid == "chrome" and r.get("releaseDate"):
                b.add("chrome", f"{cyc}.0.0.0", _d(r["releaseDate"], str(path)), as_of,
                      "endoflife", complete=False)
            latest = r.get("latest") if isinstance(r.get("latest"), dict) else None
            if latest and latest.get("name") and latest.get("date"):
                _endoflife_version(b, pid, str(latest["name"]),
                                   _d(latest["date"], f"{path}: {cyc}.latest"), as_of, lts)
        b.sources.append({"id": f"endoflife-api/{path.name}", "kind": "endoflife.date API v1",
                          "url": f"https://endoflife.date/api/v1/products/{path.stem}",
                          "license": "MIT", "date": as_of.isoformat(), "date_basis": basis})


def _release_data(b: _Builder, folder: Path, fetched: Mapping[str, str],
                  given: date | None) -> None:
    """``release-data/<product>.json`` in endoflife.date's release-data format, for products
    with no dated feed (named by undone's product id or endoflife.date's slug)."""
    for path in sorted(folder.glob("*.json")):
        pid = ENDOFLIFE.get(path.stem) or (path.stem if path.stem in products.PRODUCTS else None)
        if pid is None:
            continue
        what = "release data in endoflife.date's format ({'versions': {V: {'date': D}}})"
        doc = read_json(path, what)
        vers = doc.get("versions") if isinstance(doc, dict) else None
        if not isinstance(vers, dict):
            raise BuildError(f"{path}: no 'versions' object; expected {what}")
        rows = [(str(t), _d(v.get("date"), f"{path}: versions.{str(t)[:40]}.date")
                 if isinstance(v, dict) else None) for t, v in vers.items()]
        as_of, basis = _source_date(fetched, f"release-data/{path.name}", (w for _, w in rows),
                                    given, str(path))
        n = sum(_endoflife_version(b, pid, t, w, as_of, set(), f"release-data/{path.name}")
                for t, w in rows)
        cycles = doc.get("releases")
        for name, r in (cycles.items() if isinstance(cycles, dict) else ()):
            # the release-data format's cycles: {"name", "releaseDate", "eol"} (a date or true)
            if not isinstance(r, dict) or "eol" not in r:
                continue
            eol = r.get("eol")
            b.cycle(pid, str(name), _d(eol, f"{path}: releases.{str(name)[:20]}.eol")
                    if isinstance(eol, str) else None, eol is True, as_of,
                    f"release-data/{path.name}")
        b.sources.append({"id": f"release-data/{path.name}", "kind": "release-data",
                          "path": str(path), "date": as_of.isoformat(), "date_basis": basis,
                          "versions": n})


def build(src: Path, snapshot_date: str | None = None,
          previous: Catalogue | None = None) -> Catalogue:
    """A catalogue from a folder of sources (see the module docstring and docs/applications.md
    for its layout). ``previous``: builds of incomplete tracks it knew are kept."""
    if not src.is_dir():
        raise BuildError(f"{src}: not a folder; expected a folder of release feeds")
    given = None
    if snapshot_date is not None:
        try:
            given = date.fromisoformat(snapshot_date)
        except ValueError:
            raise BuildError(f"--snapshot-date {snapshot_date[:40]!r}: expected YYYY-MM-DD") \
                from None
    fetched: dict[str, str] = {}
    if (src / FETCHED_FILE).exists():
        raw = read_json(src / FETCHED_FILE, "an object of source: YYYY-MM-DD")
        if not isinstance(raw, dict):
            raise BuildError(f"{src / FETCHED_FILE}: expected an object of source: YYYY-MM-DD")
        fetched = {str(k): str(v) for k, v in raw.items()}
    b = _Builder()
    found = False
    eol_dir = src / "endoflife" if (src / "endoflife" / "products.json").exists() else (
        src if (src / "products.json").exists() else None)
    if eol_dir is not None:
        _endoflife_export(b, eol_dir, fetched, given)
        found = True
    if (src / "endoflife-api").is_dir():
        _endoflife_api(b, src / "endoflife-api", fetched, given)
        found = True
    for name, pid in (("firefox.json", "firefox"), ("thunderbird.json", "thunderbird")):
        if (src / "mozilla" / name).exists():
            _mozilla(b, src / "mozilla" / name, pid, fetched, given)
            found = True
    if (src / "chrome").is_dir():
        _chrome(b, src / "chrome", fetched, given)
        found = True
    if (src / "microsoft365").is_dir():
        _microsoft365(b, src / "microsoft365", fetched, given)
        found = True
    if (src / "release-data").is_dir() and eol_dir != src:
        _release_data(b, src / "release-data", fetched, given)
        found = True
    if not found:
        raise BuildError(f"{src}: no release feed found; expected endoflife/ (products.json, "
                         "release-data/), mozilla/, chrome/, microsoft365/ or release-data/")
    if previous is not None:
        _keep_incomplete(b, previous)
    dates = [date.fromisoformat(s["date"]) for s in b.sources]
    snapshot = min(dates) if dates else (given or datetime.now(UTC).date())
    return Catalogue(snapshot, b.products, b.sources, str(src))


def _keep_incomplete(b: _Builder, previous: Catalogue) -> None:
    """A track the sources list only partly (Microsoft 365's newest build per refresh) keeps the
    builds earlier refreshes saw."""
    for pid, old in previous.products.items():
        for name, t in old.tracks.items():
            if t.complete:
                continue
            new = b.product(pid).tracks.get(name)
            if new is not None and new.complete:
                continue  # a source listed every release of it this time
            if new is None:
                b.product(pid).tracks[name] = Track(dict(t.versions), t.as_of, False,
                                                    set(t.sources))
                continue
            for v, d in t.versions.items():
                new.versions.setdefault(v, d)
        for build_, d in old.end_of_support.items():
            b.product(pid).end_of_support.setdefault(build_, d)
