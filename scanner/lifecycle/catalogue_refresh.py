"""``undone lifecycle refresh``: a newer endoflife.date export (and optionally a newer CISA KEV
file) rebuilt into the user's data folder, because the installed package may be read-only.
Uses the derivation of scanner/lifecycle/build.py; never run by a scan.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from scanner.errors import InputError
from scanner.lifecycle.build import (
    BuildError,
    _dump,
    _extract_products,
    _load_json,
    _shown,
    _source_commit,
)
from scanner.lifecycle.catalogue import (
    _default_catalogue,
    _shipped_text,
    catalogue_from_json,
    user_dir,
)
from scanner.lifecycle.kev import Kev, kev_from_json
from scanner.lifecycle.model import (
    _DATE_RE,
    CATALOGUE_FILE,
    KEV_FIELDS,
    KEV_FILE,
    KEV_SCHEMA,
    PRODUCTS,
    SCHEMA,
)

# --------------------------------------------------------------------------------------------
# Refresh (undone lifecycle refresh): a newer endoflife.date export into a user-writable place
# --------------------------------------------------------------------------------------------


def _newest_date(value: Any) -> str | None:
    """The newest YYYY-MM-DD string anywhere in ``value`` (a lower bound on an export's date)."""
    best: str | None = None
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str) and _DATE_RE.match(v) and (best is None or v > best):
            best = v
    return best


def render_refresh(src: Path, snapshot_date: str | None = None) -> tuple[str, str]:
    """A ``catalogue.json`` text from an endoflife.date export folder (``products.json`` and
    ``release-data/``, like ``../shared/data/endoflife``), and a note on where its snapshot date
    came from: ``--snapshot-date``, else the commits' dates in a ``SOURCE.md`` beside it, else the
    newest date in the data (a lower bound: the catalogue may then look older than it is, never
    newer)."""
    products_file = src / "products.json"
    if not products_file.exists():
        raise BuildError(f"{products_file}: not found (expected an endoflife.date export folder "
                         "with products.json and release-data/)")
    all_products = _load_json(products_file, "an endoflife.date products.json (an object of "
                                              "products)")
    if not isinstance(all_products, dict):
        raise BuildError(f"{products_file}: expected an object of products, got "
                         f"{_shown(all_products)}")
    missing = [s for s in PRODUCTS if s not in all_products]
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6
                                          else "")
        raise BuildError(f"{products_file}: missing products: {shown}; expected an "
                         "endoflife.date export")
    sources: list[dict[str, Any]] = []
    note = "given with --snapshot-date"
    snapshot = snapshot_date
    source_md = src / "SOURCE.md"
    if source_md.exists():
        try:
            text = source_md.read_bytes()[:1_000_000].decode("utf-8")
        except (OSError, UnicodeDecodeError):
            raise BuildError(f"{source_md}: not readable UTF-8 text; expected the export's "
                             "SOURCE.md (or none)") from None
        found: list[str] = []
        for repo, used in (
            ("endoflife-date/endoflife.date", "products/*.md front matter (release cycles)"),
            ("endoflife-date/release-data", "releases/<product>.json versions"),
        ):
            try:
                commit, when = _source_commit(text, repo, str(source_md))
            except BuildError:
                continue
            sources.append({"name": repo.split("/")[1], "repository": f"https://github.com/{repo}",
                            "commit": commit, "date": when, "license": "MIT", "used": used})
            if when:
                found.append(when)
        if snapshot is None and found:
            snapshot, note = min(found), f"the commit dates in {src.name}/SOURCE.md"
    if snapshot is None:
        snapshot = _newest_date(all_products)
        note = "the newest date in products.json (a lower bound on the export's date)"
    if snapshot is None:
        raise BuildError(f"{src}: no date found; pass --snapshot-date")
    try:
        date.fromisoformat(snapshot)
    except ValueError:
        raise BuildError(f"snapshot date {snapshot[:40]!r} ({note}): expected YYYY-MM-DD") from None
    if not sources:
        sources = [{"name": "endoflife.date export", "path": str(src), "license": "MIT",
                    "used": "products.json and release-data/"}]
    _, products = _extract_products(src, all_products, str(products_file))
    doc = {"schema": SCHEMA, "snapshot_date": snapshot, "sources": sources, "products": products}
    return _dump(doc, inline_at=4) + "\n", note


def refresh(
    src: Path,
    out: Path | None = None,
    snapshot_date: str | None = None,
    kev_file: Path | None = None,
) -> dict[str, Any]:
    """Rebuild the catalogue from an endoflife.date export into ``out`` (default
    :func:`user_dir`), and with ``kev_file`` (CISA's ``known_exploited_vulnerabilities.json``)
    the KEV extract too. The shipped files are never touched. Returns what was written."""
    text, note = render_refresh(src, snapshot_date)
    new = catalogue_from_json(text, str(src / "products.json"))
    kev_text: str | None = None
    k: Kev | None = None
    if kev_file is not None:  # read and check everything before writing anything
        raw = _load_json(kev_file, "CISA's known_exploited_vulnerabilities.json")
        try:
            k = kev_from_json(json.dumps(raw), str(kev_file))
        except InputError as e:
            raise BuildError(f"{e.problems[0]}; expected CISA's "
                             "known_exploited_vulnerabilities.json") from None
        doc = {"schema": KEV_SCHEMA, "catalog_version": k.catalog_version,
               "date_released": k.date_released, "count": len(k.entries),
               "source": {"name": "CISA Known Exploited Vulnerabilities", "path": str(kev_file),
                          "license": "CC0-1.0", "fields": list(KEV_FIELDS)},
               "vulnerabilities": sorted(k.entries, key=lambda e: str(e.get("cveID")))}
        kev_text = _dump(doc, inline_at=2) + "\n"
    target = out or user_dir()
    written: dict[str, Any] = {"dir": str(target), "snapshot_date": new.snapshot_date.isoformat(),
                               "snapshot_basis": note, "products": len(new.products)}
    try:
        target.mkdir(parents=True, exist_ok=True)
        _write_atomic(target / CATALOGUE_FILE, text)
        if kev_text is not None:
            _write_atomic(target / KEV_FILE, kev_text)
    except OSError as e:
        raise BuildError(f"{target}: cannot write the catalogue there ({e.strerror or e}); "
                         "expected a writable folder (--out, or $UNDONE_LIFECYCLE_DIR)") from None
    written["catalogue"] = str(target / CATALOGUE_FILE)
    shipped = catalogue_from_json(_shipped_text(CATALOGUE_FILE), CATALOGUE_FILE)
    written["shipped_snapshot_date"] = shipped.snapshot_date.isoformat()
    written["used_instead_of_shipped"] = new.snapshot_date > shipped.snapshot_date
    if k is not None:
        written["kev"] = str(target / KEV_FILE)
        written["kev_catalog_version"] = k.catalog_version
    _default_catalogue.cache_clear()
    return written


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through an unpredictable temporary file in the same folder
    (created exclusively, never following a link), then rename it into place; a link, device
    or folder at ``path`` is refused, never replaced (scanner/safeio.py, issue 15 L1)."""
    from scanner import safeio

    safeio.write_file(str(path), text, "catalogue", mode=0o644)
