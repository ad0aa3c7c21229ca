"""The application release catalogue: for each product undone judges, its releases with their
dates and its product lines' end of support, as of a recorded date.

Where the data comes from (each source is recorded in the catalogue with its date):

========================  ===============================================================  =====
source                    what it gives                                                   where
========================  ===============================================================  =====
``mozilla``               every Firefox and Thunderbird release with its date and          vendor
                          category (``esr``, ``major``, ``stability``; betas skipped):
                          Mozilla's product-details JSON (``/1.0/firefox.json``,
                          ``/1.0/thunderbird.json``)
``chrome``                every Chrome stable release with the time it started serving:    vendor
                          Google's VersionHistory API (``/v1/chrome/platforms/<p>/
                          channels/stable/versions/all/releases``)
``microsoft365``          the newest build of each Microsoft 365 Apps update channel,      vendor
                          with its availability and end-of-support dates
                          (``clients.config.office.net/releases/v1.0/LatestRelease/<ch>``);
                          builds seen by earlier refreshes are kept, so the list grows
``endoflife``             release cycles and their end of support (products.json, or       MIT
                          the API's ``/api/v1/products/<slug>``), and per-version
                          release dates (``release-data/<slug>.json``) of Chrome,
                          Firefox, LibreOffice, Notepad++, Office, Java runtimes
``release-data``          ``release-data/<product>.json`` in endoflife.date's release-     you
                          data format, for products without a dated feed (Acrobat,
                          7-Zip, VLC, Zoom, Teams, Edge): read from the vendor's release
                          notes by whoever keeps the data
========================  ===============================================================  =====

A catalogue is JSON (``undone.applications/1``)::

    {"schema": ..., "snapshot_date": "YYYY-MM-DD", "sources": [{id, date, date_basis, ...}],
     "products": {"firefox": {"tracks": {"esr-115": {"date": "YYYY-MM-DD", "complete": true,
                                                     "versions": {"115.9.1esr": "2024-03-22"}}},
                              "cycles": {"115": {"eol": "2025-09-16", "date": "YYYY-MM-DD"}},
                              "end_of_support": {"16.0.17328.20184": "2024-05-14"}}}}

A track's ``date`` is the day its data was fetched (or, for an export with no record of that,
the newest date in it: a lower bound that can only make the data look older than it is);
``complete`` is false when the source lists only some releases (a VersionHistory export with
only the first page, Microsoft 365's newest build per refresh, endoflife.date's first release of
each Chrome cycle). A version's date is ``null`` when the source gives none.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from scanner.errors import InputError
from scanner.lifecycle.applications import products, versions

SCHEMA = "undone.applications/1"
CATALOGUE_FILE = "catalogue.json"
NOTICE_FILE = "NOTICE.md"
FETCHED_FILE = "fetched.json"  # written by an online refresh: when each source was downloaded
MAX_FILE_BYTES = 64 * 1024 * 1024
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class BuildError(Exception):
    """A source or a catalogue that cannot be used (one line: the file, what was expected)."""


# --------------------------------------------------------------------------------------------
# the model


@dataclass
class Track:
    versions: dict[str, date | None] = field(default_factory=dict)
    as_of: date | None = None  # when its data was fetched (or a lower bound of it)
    complete: bool = True
    sources: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Cycle:
    eol: date | None  # the last day of support, when dated
    ended: bool  # the source says it has ended (eol true, or isEol), dated or not
    as_of: date | None
    source: str


@dataclass
class ProductData:
    id: str
    tracks: dict[str, Track] = field(default_factory=dict)
    cycles: dict[str, Cycle] = field(default_factory=dict)
    # Microsoft 365 Apps: a build's end of support, per build
    end_of_support: dict[str, date] = field(default_factory=dict)


class Catalogue:
    def __init__(self, snapshot_date: date, products_: Mapping[str, ProductData],
                 sources: Iterable[Mapping[str, Any]] = (), label: str = CATALOGUE_FILE) -> None:
        self.snapshot_date = snapshot_date
        self.products = dict(products_)
        self.sources = tuple(dict(s) for s in sources)
        self.label = label

    def __repr__(self) -> str:
        return f"Catalogue({self.label}, snapshot {self.snapshot_date}, {len(self.products)})"

    def product(self, pid: str) -> ProductData | None:
        if pid == "chromium" and "chromium" not in self.products:
            return self.products.get("chrome")  # Chromium's releases are Chrome's
        return self.products.get(pid)

    def age_days(self, now: datetime) -> int:
        return (now.astimezone(UTC).date() - self.snapshot_date).days


def _d(value: Any, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise BuildError(f"{where}: expected a date YYYY-MM-DD, got {str(value)[:40]!r}")


def to_json(cat: Catalogue) -> str:
    out: dict[str, Any] = {}
    for pid in sorted(cat.products):
        p = cat.products[pid]
        entry: dict[str, Any] = {"tracks": {}}
        for name in sorted(p.tracks):
            t = p.tracks[name]
            entry["tracks"][name] = {
                "as_of": t.as_of.isoformat() if t.as_of else None,
                "complete": t.complete,
                "sources": sorted(t.sources),
                "versions": {v: (d.isoformat() if d else None) for v, d in
                             sorted(t.versions.items(), key=lambda kv: _order(pid, kv[0]))},
            }
        if p.cycles:
            entry["cycles"] = {c: {"eol": (y.eol.isoformat() if y.eol else None), "ended": y.ended,
                                   "as_of": y.as_of.isoformat() if y.as_of else None,
                                   "source": y.source}
                               for c, y in sorted(p.cycles.items())}
        if p.end_of_support:
            entry["end_of_support"] = {b: d.isoformat()
                                       for b, d in sorted(p.end_of_support.items())}
        out[pid] = entry
    doc = {"schema": SCHEMA, "snapshot_date": cat.snapshot_date.isoformat(),
           "sources": list(cat.sources), "products": out}
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def _order(pid: str, text: str) -> tuple[Any, ...]:
    spec = products.PRODUCTS.get(pid)
    parsed = versions.parse(spec.scheme, text, spec.size) if spec else None
    return (0, parsed.key, text) if parsed else (1, (), text)


def from_json(text: str, label: str) -> Catalogue:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{label}: not JSON ({e.msg} at {e.pos})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise InputError(f"{label}: not an undone application catalogue (schema {SCHEMA})")
    try:
        snapshot = _d(doc.get("snapshot_date"), f"{label}: snapshot_date")
        prods: dict[str, ProductData] = {}
        for pid, raw in (doc.get("products") or {}).items():
            where = f"{label}: products.{pid}"
            if pid not in products.PRODUCTS or not isinstance(raw, dict):
                raise BuildError(f"{where}: not a product undone knows")
            p = ProductData(pid)
            for name, t in (raw.get("tracks") or {}).items():
                vers = {str(v): _d(d, f"{where}.tracks.{name}.{v}")
                        for v, d in (t.get("versions") or {}).items()}
                p.tracks[str(name)] = Track(vers, _d(t.get("as_of"), f"{where}.tracks.{name}"),
                                            bool(t.get("complete")), set(t.get("sources") or ()))
            for c, y in (raw.get("cycles") or {}).items():
                p.cycles[str(c)] = Cycle(_d(y.get("eol"), f"{where}.cycles.{c}"),
                                         bool(y.get("ended")), _d(y.get("as_of"), where),
                                         str(y.get("source") or ""))
            for b, d in (raw.get("end_of_support") or {}).items():
                eos = _d(d, f"{where}.end_of_support.{b}")
                if eos is not None:
                    p.end_of_support[str(b)] = eos
            prods[pid] = p
    except (BuildError, AttributeError, TypeError) as e:
        raise InputError(f"{label}: {e}" if isinstance(e, AttributeError | TypeError)
                         else str(e)) from None
    if snapshot is None:
        raise InputError(f"{label}: no snapshot_date")
    return Catalogue(snapshot, prods, doc.get("sources") or (), label)


# --------------------------------------------------------------------------------------------
# where catalogues live


def user_dir() -> Path:
    """Where ``undone applications refresh`` writes: ``$UNDONE_APPLICATIONS_DIR``, else
    ``$XDG_DATA_HOME/undone/applications``, else ``~/.local/share/undone/applications``."""
    env = os.environ.get("UNDONE_APPLICATIONS_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "undone" / "applications"


def shipped_text(name: str = CATALOGUE_FILE) -> str:
    return (resources.files("baselines") / "applications" / name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=4)
def _load(user_file: str, _mtime: float) -> Catalogue:
    shipped = from_json(shipped_text(), f"baselines/applications/{CATALOGUE_FILE}")
    if os.path.exists(user_file):
        try:
            text = Path(user_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{user_file}: cannot read: {e}") from None
        newer = from_json(text, user_file)  # a refreshed catalogue that does not load is an error
        if newer.snapshot_date >= shipped.snapshot_date:
            return newer
    return shipped


def load() -> Catalogue:
    """The catalogue scans use: the refreshed one in :func:`user_dir` when it is at least as new
    as the shipped one, else the shipped one."""
    user_file = user_dir() / CATALOGUE_FILE
    try:
        mtime = user_file.stat().st_mtime
    except OSError:
        mtime = 0.0
    return _load(str(user_file), mtime)

