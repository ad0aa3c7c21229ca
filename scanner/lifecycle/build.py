"""Building the lifecycle catalogue from dated public snapshots, for maintainers and for
``undone lifecycle refresh``: never run by a scan.

``python -m scanner.lifecycle build --from ../shared/data --out baselines/lifecycle`` derives the
shipped ``catalogue.json``, ``kev.json`` and ``NOTICE.md`` (deterministically: a test checks that
the shipped files equal a fresh build); :func:`refresh` writes a newer endoflife.date export into
the user's data folder. The catalogue they produce is read by scanner/lifecycle/catalogue.py.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from scanner.lifecycle import overlay as _devices
from scanner.lifecycle import overlay_build as lifecycle_overlay_build
from scanner.lifecycle.model import (
    _DATE_RE,
    CATALOGUE_FILE,
    KEV_FIELDS,
    KEV_FILE,
    KEV_SCHEMA,
    NOTICE_FILE,
    OPTIONAL_PRODUCTS,
    OVERLAY_FILE,
    PRODUCTS,
    SCHEMA,
    VERSION_PRODUCTS,
)

# --------------------------------------------------------------------------------------------
# Build (derivation from ../shared/data)
# --------------------------------------------------------------------------------------------


class BuildError(Exception):
    """The source data is not what the build expects."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _source_commit(text: str, repo: str, where: str) -> tuple[str, str | None]:
    m = re.search(
        rf"{re.escape(repo)}\s+at\s+commit\s+([0-9a-f]{{40}})(?:\s+\((\d{{4}}-\d{{2}}-\d{{2}})\))?",
        _one_line(text),
    )
    if m is None:
        raise BuildError(f"{where}: no commit of {repo} found")
    return m.group(1), m.group(2)


def _src_value(value: Any, where: str) -> Any:
    """A date-or-boolean field of the source, validated and kept as in the source."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise BuildError(f"{where}: {value!r} is not a real date; expected YYYY-MM-DD, "
                             "true, false or null") from None
        return value
    raise BuildError(f"{where}: expected a date (YYYY-MM-DD), true, false or null, got "
                     f"{_shown(value)}")


def _shown(value: Any) -> str:
    """A value of an export, shown short in a one-line message (never its whole text)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if abs(value) < 10**30 else "a number of more than 30 digits"
    if isinstance(value, str):
        return repr(value[:40] + ("..." if len(value) > 40 else ""))
    if isinstance(value, dict):
        return "an object"
    return "a list" if isinstance(value, list) else type(value).__name__


def _render_label(template: Any, r: Mapping[str, Any]) -> str | None:
    if not isinstance(template, str) or not template:
        return None
    text = template.strip()
    for key, field_name in (
        ("__RELEASE_CYCLE__", "releaseCycle"),
        ("__CODENAME__", "codename"),
        ("__LATEST__", "latest"),
        ("__LATEST_RELEASE_DATE__", "latestReleaseDate"),
    ):
        value = r.get(field_name)
        text = text.replace(key, value if isinstance(value, str) else "")
    return text


def _opt_str(r: Mapping[str, Any], key: str, where: str) -> str | None:
    value = r.get(key)
    if value is None or isinstance(value, str):
        return value
    raise BuildError(f"{where}.{key}: expected text or null, got {_shown(value)}")


def _cycle(slug: str, r: Any, label: str = "products.json", index: int = 0) -> dict[str, Any]:
    where = f"{label}: {slug}.releases[{index}]"
    if not isinstance(r, dict):
        raise BuildError(f"{where}: expected an object (a release cycle), got {_shown(r)}")
    cycle = r.get("releaseCycle")
    if not isinstance(cycle, str):
        raise BuildError(f"{where}.releaseCycle: expected text, got {_shown(cycle)}")
    where = f"{label}: {slug} {cycle[:40]!r}"
    latest = _opt_str(r, "latest", where)
    release_date = _src_value(r.get("releaseDate"), f"{where}.releaseDate")
    if isinstance(release_date, bool):
        raise BuildError(f"{where}.releaseDate: expected a date (YYYY-MM-DD), got "
                         f"{_shown(release_date)}")
    return {
        "cycle": cycle,
        "codename": _opt_str(r, "codename", where),
        "label": _render_label(r.get("releaseLabel"), r),
        "release_date": release_date,
        "eol": _src_value(r.get("eol"), f"{where}.eol"),
        "eoas": _src_value(r.get("eoas"), f"{where}.eoas"),
        "eoes": _src_value(r.get("eoes"), f"{where}.eoes"),
        "lts": _src_value(r.get("lts", False), f"{where}.lts"),
        "latest": latest,
        "latest_date": _src_value(r.get("latestReleaseDate"), f"{where}.latestReleaseDate"),
    }


def _dump(value: Any, inline_at: int, level: int = 0) -> str:
    """JSON with sorted keys, indented one space per level down to ``inline_at``, below which
    each value sits on one line: small, deterministic and diff-friendly."""
    if level >= inline_at or not isinstance(value, dict | list) or not value:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    pad = " " * (level + 1)
    if isinstance(value, dict):
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_dump(value[k], inline_at, level + 1)}"
            for k in sorted(value)
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * level + "}"
    items = [f"{pad}{_dump(v, inline_at, level + 1)}" for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * level + "]"


#: the largest export file read (endoflife.date's products.json is about 1.5 MB)
MAX_EXPORT_BYTES = 64 * 1024 * 1024


def _load_json(path: Path, expected: str = "JSON") -> Any:
    """A JSON file of an export, or BuildError naming the file and what was expected: never a
    traceback, whatever the file holds (truncated, binary, huge numbers, deep nesting, a FIFO,
    a folder)."""
    import stat

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise BuildError(f"{path}: not a regular file; expected {expected}")
        if st.st_size > MAX_EXPORT_BYTES:
            raise BuildError(f"{path}: {st.st_size} bytes, more than the {MAX_EXPORT_BYTES} "
                             f"read; expected {expected}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise BuildError(f"{path}: not found; expected {expected}") from None
    except OSError as e:
        raise BuildError(f"{path}: cannot read ({e.strerror or e}); expected {expected}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BuildError(f"{path}: not UTF-8 text (byte {e.start}); expected {expected}") from None
    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, parse_constant=no_constants)
    except json.JSONDecodeError as e:
        raise BuildError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
                         f"expected {expected}") from None
    except RecursionError:
        raise BuildError(f"{path}: nested too deeply; expected {expected}") from None
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        raise BuildError(f"{path}: {str(e).splitlines()[0][:120]}; expected {expected}") from None


def _extract_products(
    eol_dir: Path, all_products: Mapping[str, Any], label: str = "products.json"
) -> tuple[list[str], dict[str, Any]]:
    """The products undone keeps (``PRODUCTS`` and those of ``OPTIONAL_PRODUCTS`` present), in
    the ``catalogue.json`` shape, with per-version dates from ``release-data`` where kept."""
    wanted = sorted(set(PRODUCTS) | {s for s in OPTIONAL_PRODUCTS if s in all_products})
    products: dict[str, Any] = {}
    for slug in wanted:
        raw = all_products[slug]
        if not isinstance(raw, dict):
            raise BuildError(f"{label}: {slug}: expected an object (a product), got {_shown(raw)}")
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip():
            raise BuildError(f"{label}: {slug}.title: expected text, got {_shown(title)}")
        versions: dict[str, str] = {}
        rd_path = eol_dir / "release-data" / f"{slug}.json"
        if slug in VERSION_PRODUCTS and rd_path.exists():
            rd = _load_json(rd_path, "an endoflife.date release-data file ({\"versions\": "
                                     "{name: {\"date\": YYYY-MM-DD}}})")
            rd_versions = rd.get("versions") if isinstance(rd, dict) else None
            if rd_versions is not None and not isinstance(rd_versions, dict):
                raise BuildError(f"{rd_path}: versions: expected an object, got "
                                 f"{_shown(rd_versions)}")
            if not isinstance(rd, dict):
                raise BuildError(f"{rd_path}: expected an object with 'versions', got "
                                 f"{_shown(rd)}")
            for key, v in (rd_versions or {}).items():
                d = v.get("date") if isinstance(v, dict) else v
                if not isinstance(d, str) or not _DATE_RE.match(d):
                    raise BuildError(f"{rd_path}: versions.{str(key)[:40]}.date: expected a "
                                     f"date (YYYY-MM-DD), got {_shown(d)}")
                _src_value(d, f"{rd_path}: versions.{str(key)[:40]}.date")
                versions[str(key)] = d
        releases = raw.get("releases") or []
        if not isinstance(releases, list):
            raise BuildError(f"{label}: {slug}.releases: expected a list, got {_shown(releases)}")
        products[slug] = {
            "slug": slug,
            "title": title,
            "category": _opt_str(raw, "category", f"{label}: {slug}"),
            "release_policy_link": _opt_str(raw, "releasePolicyLink", f"{label}: {slug}"),
            "releases": [_cycle(slug, r, label, i) for i, r in enumerate(releases)],
            "versions": versions,
        }
    return wanted, products


def render(src: Path, snapshot_date: str | None = None) -> dict[str, str]:
    """Derive the generated files (name -> text) from a ``../shared/data`` directory.
    Pure and deterministic: the same input gives byte-identical output."""
    eol_dir = src / "endoflife"
    kev_dir = src / "kev"
    try:
        eol_source = (eol_dir / "SOURCE.md").read_text(encoding="utf-8")
        kev_source = (kev_dir / "SOURCE.md").read_text(encoding="utf-8")
    except OSError as e:
        raise BuildError(f"{e.filename}: {e.strerror}") from None
    eol_commit, eol_date = _source_commit(
        eol_source, "endoflife-date/endoflife.date", "endoflife/SOURCE.md"
    )
    rd_commit, rd_date = _source_commit(
        eol_source, "endoflife-date/release-data", "endoflife/SOURCE.md"
    )
    kev_commit, _ = _source_commit(kev_source, "cisagov/kev-data", "kev/SOURCE.md")
    dates = sorted(d for d in (eol_date, rd_date) if d)
    snapshot = snapshot_date or (dates[0] if dates else None)
    if snapshot is None:
        raise BuildError("endoflife/SOURCE.md: no snapshot date; pass --snapshot-date")
    date.fromisoformat(snapshot)

    all_products = _load_json(eol_dir / "products.json")
    if not isinstance(all_products, dict):
        raise BuildError("products.json: expected an object of products")
    missing = [s for s in PRODUCTS if s not in all_products]
    if missing:
        raise BuildError(f"products.json: missing products: {', '.join(missing)}")
    wanted, products = _extract_products(eol_dir, all_products)
    sources = [
        {
            "name": "endoflife.date",
            "repository": "https://github.com/endoflife-date/endoflife.date",
            "commit": eol_commit,
            "date": eol_date,
            "license": "MIT",
            "used": "products/*.md front matter (release cycles and dates)",
        },
        {
            "name": "endoflife.date release-data",
            "repository": "https://github.com/endoflife-date/release-data",
            "commit": rd_commit,
            "date": rd_date,
            "license": "MIT",
            "used": "releases/<product>.json versions (release date of each version)",
        },
    ]
    catalogue = {
        "schema": SCHEMA,
        "snapshot_date": snapshot,
        "sources": sources,
        "products": products,
    }

    kev_raw = _load_json(kev_dir / "known_exploited_vulnerabilities.json")
    vulns = kev_raw.get("vulnerabilities") if isinstance(kev_raw, dict) else None
    if not isinstance(vulns, list):
        raise BuildError("known_exploited_vulnerabilities.json: no vulnerabilities list")
    extract = sorted(
        ({k: e.get(k) for k in KEV_FIELDS} for e in vulns),
        key=lambda e: (str(e["cveID"]), str(e["vendorProject"]), str(e["product"])),
    )
    kev = {
        "schema": KEV_SCHEMA,
        "catalog_version": kev_raw.get("catalogVersion"),
        "date_released": kev_raw.get("dateReleased"),
        "count": len(extract),
        "source": {
            "name": "CISA Known Exploited Vulnerabilities",
            "repository": "https://github.com/cisagov/kev-data",
            "commit": kev_commit,
            "license": "CC0-1.0",
            "fields": list(KEV_FIELDS),
        },
        "vulnerabilities": extract,
    }
    absent = [s for s in OPTIONAL_PRODUCTS if s not in all_products]
    notice = _notice(snapshot, sources, kev, wanted, absent)
    try:
        devices = lifecycle_overlay_build.render_device_overlay(src)
    except _devices.OverlayBuildError as e:
        raise BuildError(str(e)) from None
    return {
        CATALOGUE_FILE: _dump(catalogue, inline_at=4) + "\n",
        KEV_FILE: _dump(kev, inline_at=2) + "\n",
        NOTICE_FILE: notice,
        _devices.DEVICE_OVERLAY_FILE: devices,
    }


#: the MIT licence text of endoflife.date's data, quoted in the attributions of what is built
#: from it (here and scanner/lifecycle/applications/build.py)
MIT_BODY = """\
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def _notice(
    snapshot: str,
    sources: list[dict[str, Any]],
    kev: Mapping[str, Any],
    products: list[str],
    absent: list[str],
) -> str:
    eol, rd = sources
    kev_src = kev["source"]
    lines = [
        "# Lifecycle data: sources and licences",
        "",
        f"Snapshot date: **{snapshot}**. Reports state the age of this data; past the configured",
        "limit, undone reports a host's support status as unknown (stale data), not as a value.",
        "",
        f"`{CATALOGUE_FILE}`, `{KEV_FILE}` and this file are generated; do not edit them by hand:",
        "",
        "```",
        "python -m scanner.lifecycle build --from ../shared/data --out baselines/lifecycle",
        "```",
        "",
        f"`{OVERLAY_FILE}` is kept by hand: entries for vendors endoflife.date lacks, each citing",
        "the vendor's page and the date it was checked.",
        "",
        "## endoflife.date (`catalogue.json`)",
        "",
        f"Release cycles, end-of-life dates and version release dates of {len(products)} products,",
        "derived from:",
        "",
        f"- {eol['repository']}",
        f"  at commit `{eol['commit']}` ({eol['date']}):",
        "  the YAML front matter of `products/*.md`;",
        f"- {rd['repository']}",
        f"  at commit `{rd['commit']}` ({rd['date']}):",
        "  `releases/*.json`.",
        "",
        "Only data fields were kept. The prose descriptions of the product pages (partly adapted",
        "from Wikipedia under CC BY-SA) were left out on purpose.",
        "",
        "Products: " + ", ".join(f"`{p}`" for p in products) + ".",
    ]
    if absent:
        lines += [
            "",
            "Looked for but absent from this snapshot: "
            + ", ".join(f"`{p}`" for p in absent)
            + ".",
        ]
    lines += [
        "",
        "Both repositories are under the MIT licence:",
        "",
        "```",
        "Copyright 2020 endoflife.date contributors (endoflife-date/endoflife.date)",
        "Copyright (c) 2022 endoflife.date (endoflife-date/release-data)",
        "",
        MIT_BODY.rstrip("\n"),
        "```",
        "",
        "## CISA Known Exploited Vulnerabilities (`kev.json`)",
        "",
        f"An extract of the KEV catalogue, catalogVersion {kev['catalog_version']}",
        f"(released {kev['date_released']}, {kev['count']} entries),",
        f"from {kev_src['repository']} at commit",
        f"`{kev_src['commit']}`. Fields kept: "
        + ", ".join(f"`{f}`" for f in kev_src["fields"])
        + ".",
        "",
        "The KEV catalogue is in the public domain (CC0 1.0). It is a dated snapshot too: a newer",
        "`known_exploited_vulnerabilities.json` from CISA can be loaded in its place as it is.",
        "",
        f"## Network devices (`{_devices.DEVICE_OVERLAY_FILE}`)",
        "",
        "Firmware trains and hardware end-of-support dates for vendors endoflife.date lacks",
        "(Cisco IOS and Catalyst hardware, Sophos SFOS and XG, SonicWall appliances, pfSense CE,",
        "QNAP QTS) and vendor support policies, derived from",
        "`shared/data/lifecycle-overlay/overlay.yaml` (its SOURCE.md lists every page and",
        "repository read). Each row keeps its own source (URL, or repository and commit) and",
        "class: `primary` (the vendor's page, document or repository) or `secondary` (an",
        "unmerged endoflife.date pull request under MIT, news, a reseller, a wiki). A secondary",
        "row can prove a failure, never a pass. Dates the sources did not give are left out.",
        "pfSense release dates are facts read from pfsense/docs (CC BY-NC-SA 4.0); no text of it",
        "is copied.",
        "",
    ]
    return "\n".join(lines)


def build(src: Path, out: Path, snapshot_date: str | None = None) -> dict[str, int]:
    """Write the generated files into ``out``; returns name -> size in bytes. Leaves
    ``overlay.yaml`` alone."""
    files = render(src, snapshot_date)
    out.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    for name, text in files.items():
        data = text.encode("utf-8")
        (out / name).write_bytes(data)
        sizes[name] = len(data)
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scanner.lifecycle",
        description="Build undone's lifecycle catalogue from endoflife.date and KEV snapshots.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="derive catalogue.json, kev.json and NOTICE.md")
    b.add_argument("--from", dest="src", required=True, help="the shared data directory")
    b.add_argument("--out", required=True, help="output directory (baselines/lifecycle)")
    b.add_argument("--snapshot-date", help="override the snapshot date read from SOURCE.md")
    args = parser.parse_args(argv)
    try:
        sizes = build(Path(args.src), Path(args.out), args.snapshot_date)
    except (BuildError, ValueError, KeyError) as e:
        print(f"lifecycle build: {e}", file=sys.stderr)
        return 2
    for name, size in sizes.items():
        print(f"{Path(args.out) / name}: {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

