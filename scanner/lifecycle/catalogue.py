"""The lifecycle catalogue: end-of-life dates of operating systems, firmware and products, offline.

undone ships a compact catalogue derived from two dated public snapshots (``../shared/data``):

- ``baselines/lifecycle/catalogue.json``: per product (``debian``, ``fortios``, ``clamav``, ...)
  its release cycles with release date, end of life (``eol``), end of active support (``eoas``),
  end of extended support (``eoes``), LTS flag and latest version, from endoflife.date; and for
  a few products (firmware, appliances, ClamAV, macOS) the release date of each version, from
  endoflife.date's release-data, for "a newer patch exists in the same cycle".
- ``baselines/lifecycle/kev.json``: an extract of the CISA Known Exploited Vulnerabilities
  catalogue (CVE, vendor, product, dates, ransomware use).
- ``baselines/lifecycle/NOTICE.md``: the licences, commits and snapshot date.
- ``baselines/lifecycle/overlay.yaml``: hand-kept entries for vendors endoflife.date lacks, each
  cycle citing a vendor ``source`` URL and the date it was ``checked_on``. Merged at load time
  (an overlay cycle replaces an upstream cycle of the same name, and says where it came from).

The first three are generated, deterministically (sorted keys), by::

    python -m scanner.lifecycle build --from ../shared/data --out baselines/lifecycle

and a test checks that the shipped files equal a fresh build.

Date semantics follow endoflife.date: each of ``eol``/``eoas``/``eoes`` is a date, ``true``
(ended, date not known) or ``false`` (not ended / no date announced). A cycle is past its end of
life on the day *after* its ``eol`` date (endoflife.date computes ``is_eol = today > eol``).

Reading: :func:`load_catalogue` (cached for the shipped file), :meth:`Catalogue.os_release`
(``/etc/os-release`` ``ID``/``VERSION_ID`` to a product cycle), :func:`enrich_os` (derived
``os.*`` and ``lifecycle.*`` facts; data only, it never judges).

This module loads; the model is scanner/lifecycle/model.py, the hand-kept overlay
scanner/lifecycle/handkept.py, KEV scanner/lifecycle/kev.py (:func:`kev_for`), the firmware
lookups scanner/lifecycle/firmware.py, and the build and refresh scanner/lifecycle/build.py.

A catalogue is a dated snapshot: :meth:`Catalogue.age_days` says how old it is at a given
time, and :func:`enrich_os` refuses to state ``os.supported`` or ``os.days_to_eol`` from a
catalogue older than the caller's limit (an error fact, never a value).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from scanner.errors import InputError
from scanner.lifecycle import overlay as _devices
from scanner.lifecycle.handkept import (
    OverlayProduct,
    merge_overlay,
    parse_overlay,
)
from scanner.lifecycle.model import (
    _DATE_RE,
    _OS_IDS,
    AGE_FACT,
    CATALOGUE_FILE,
    OS_FACTS,
    OVERLAY_FILE,
    SCHEMA,
    SNAPSHOT_FACT,
    Catalogue,
    Product,
    Release,
    _as_utc_date,
)
from scanner.yamlio import load_file, load_text

# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _date_or_none(value: Any, where: str) -> date | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{where}: expected a date (YYYY-MM-DD), true, false or null, got {value!r}")


def _str_or_none(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"{where}: expected a string or null, got {value!r}")


def _release_from_json(slug: str, title: str, raw: Any, where: str) -> Release:
    if not isinstance(raw, dict) or not isinstance(raw.get("cycle"), str):
        raise InputError(f"{where}: expected an object with a string 'cycle'")
    lts_raw = raw.get("lts")
    return Release(
        product=slug,
        cycle=raw["cycle"],
        title=title,
        release_date=_date_or_none(raw.get("release_date"), f"{where}.release_date"),
        eol=_date_or_none(raw.get("eol"), f"{where}.eol"),
        eol_flag=raw.get("eol") is True,
        eoas=_date_or_none(raw.get("eoas"), f"{where}.eoas"),
        eoes=_date_or_none(raw.get("eoes"), f"{where}.eoes"),
        lts=lts_raw is True or isinstance(lts_raw, str),
        latest=_str_or_none(raw.get("latest"), f"{where}.latest"),
        latest_date=_date_or_none(raw.get("latest_date"), f"{where}.latest_date"),
        codename=_str_or_none(raw.get("codename"), f"{where}.codename"),
        label=_str_or_none(raw.get("label"), f"{where}.label"),
        lts_from=_date_or_none(lts_raw, f"{where}.lts"),
        eoas_flag=raw.get("eoas") is True,
        eoes_flag=raw.get("eoes") is True,
    )


def catalogue_from_json(text: str, label: str = CATALOGUE_FILE) -> Catalogue:
    """Parse a catalogue document (the ``catalogue.json`` format), without any overlay."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{label}: not valid JSON (line {e.lineno}): {e.msg}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise InputError(f"{label}: not a lifecycle catalogue (expected schema {SCHEMA!r})")
    snap = _date_or_none(doc.get("snapshot_date"), f"{label}: snapshot_date")
    if snap is None:
        raise InputError(f"{label}: snapshot_date is missing")
    raw_products = doc.get("products")
    if not isinstance(raw_products, dict):
        raise InputError(f"{label}: products: expected an object")
    products: dict[str, Product] = {}
    for slug, raw in sorted(raw_products.items()):
        where = f"{label}: products.{slug}"
        if not isinstance(raw, dict) or not isinstance(raw.get("title"), str):
            raise InputError(f"{where}: expected an object with a string 'title'")
        title: str = raw["title"]
        releases = raw.get("releases") or []
        if not isinstance(releases, list):
            raise InputError(f"{where}.releases: expected a list")
        versions_raw = raw.get("versions") or {}
        if not isinstance(versions_raw, dict):
            raise InputError(f"{where}.versions: expected an object")
        versions: dict[str, date] = {}
        for v, d in versions_raw.items():
            parsed = _date_or_none(d, f"{where}.versions.{v}")
            if parsed is not None:
                versions[str(v)] = parsed
        products[slug] = Product(
            slug=slug,
            title=title,
            category=_str_or_none(raw.get("category"), f"{where}.category"),
            release_policy_link=_str_or_none(
                raw.get("release_policy_link"), f"{where}.release_policy_link"
            ),
            releases=tuple(
                _release_from_json(slug, title, r, f"{where}.releases[{i}]")
                for i, r in enumerate(releases)
            ),
            versions=versions,
        )
    sources = doc.get("sources") or []
    if not isinstance(sources, list):
        raise InputError(f"{label}: sources: expected a list")
    return Catalogue(snap, products, [s for s in sources if isinstance(s, dict)], label)


def _shipped_text(name: str) -> str:
    return (resources.files("baselines") / "lifecycle" / name).read_text(encoding="utf-8")


def _read_text(path: str, label: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{label}: not UTF-8 text") from None
    except OSError as e:
        raise InputError(f"{label}: cannot read: {e.strerror or e}") from None


def _shipped_overlay() -> list[OverlayProduct]:
    label = f"baselines/lifecycle/{OVERLAY_FILE}"
    return parse_overlay(load_text(_shipped_text(OVERLAY_FILE), label), label)


def user_dir() -> Path:
    """Where ``undone lifecycle refresh`` writes a newer catalogue: ``$UNDONE_LIFECYCLE_DIR``,
    else ``$XDG_DATA_HOME/undone/lifecycle``, else ``~/.local/share/undone/lifecycle`` (the
    installed package may be read-only). A catalogue there is used in place of the shipped one
    when its snapshot is newer."""
    env = os.environ.get("UNDONE_LIFECYCLE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "undone" / "lifecycle"


@functools.lru_cache(maxsize=4)
def _default_catalogue(user_file: str | None = None) -> Catalogue:
    label = f"baselines/lifecycle/{CATALOGUE_FILE}"
    shipped = catalogue_from_json(_shipped_text(CATALOGUE_FILE), label)
    if user_file is not None and os.path.exists(user_file):
        # a refreshed catalogue: a file that does not load is an error, never a silent fallback
        newer = catalogue_from_json(_read_text(user_file, user_file), user_file)
        if newer.snapshot_date > shipped.snapshot_date:
            shipped = newer
    return _with_device_overlay(merge_overlay(shipped, _shipped_overlay()))


def _device_products(rows: Iterable[_devices.FirmwareRow]) -> list[OverlayProduct]:
    """Firmware rows of the device overlay (derived or local) as overlay products."""
    by_product: dict[str, list[_devices.FirmwareRow]] = {}
    for row in rows:
        by_product.setdefault(row.product, []).append(row)
    out: list[OverlayProduct] = []
    for slug, group in by_product.items():
        releases = tuple(
            Release(
                product=slug, cycle=r.cycle, title=r.title, release_date=r.release_date,
                eol=r.eol, eol_flag=False, eoas=r.eoas, eoes=None, lts=False, latest=r.latest,
                latest_date=r.latest_date,
                source=str(r.source.get("url") or r.source.get("repo") or r.source_class),
                checked_on=r.as_of, source_class=r.source_class, source_detail=dict(r.source),
                eol_unknown=r.eol_unknown, unsupported_versions=dict(r.unsupported_versions),
                as_of=r.as_of, last_support=r.last_support,
            )
            for r in group
        )
        versions: dict[str, date] = {}
        for r in group:
            versions.update(r.versions)
        out.append(OverlayProduct(slug, group[0].title, "firmware", None, releases, versions))
    return out


def _with_device_overlay(cat: Catalogue) -> Catalogue:
    """The catalogue with the derived device overlay's firmware cycles added (never replacing a
    cycle endoflife.date has)."""
    return merge_overlay(cat, _device_products(_devices.shipped().firmware),
                         replace_cycles=False)


def with_local(cat: Catalogue, local: _devices.LocalOverlay | None) -> Catalogue:
    """The catalogue with a local overlay's firmware rows merged over everything else."""
    if not local or not local.firmware:
        return cat
    return merge_overlay(cat, _device_products(local.firmware))


def load_catalogue(path: str | None = None, *, overlay: str | None = None) -> Catalogue:
    """Load the lifecycle catalogue: the shipped one (cached) when ``path`` is ``None``, else the
    file at ``path`` (a newer snapshot built with the same command). The shipped
    ``overlay.yaml`` is merged in both cases, then the ``overlay`` file if one is given."""
    if path is None:
        cat = _default_catalogue(str(user_dir() / CATALOGUE_FILE))
    else:
        cat = _with_device_overlay(
            merge_overlay(catalogue_from_json(_read_text(path, path), path), _shipped_overlay()))
    if overlay is not None:
        cat = merge_overlay(cat, parse_overlay(load_file(overlay), overlay))
    return cat


# --------------------------------------------------------------------------------------------
# Derived facts
# --------------------------------------------------------------------------------------------


def _id_like(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [str(x) for x in value]
    return []


def enrich_os(
    values: dict[str, Any],
    collected_at: datetime,
    catalogue: Catalogue,
    max_catalogue_age_days: int,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Derive the lifecycle facts of a host from its ``os.*`` facts.

    Reads ``os.id``, ``os.version_id``, and if present ``os.id_like`` (a list, or the
    space-separated string of os-release) and ``os.name``. Returns (values, errors) for
    ``os.lifecycle_product``, ``os.lifecycle_cycle``, ``os.eol_date`` (ISO date, or ``None``
    when no end date is set), ``os.days_to_eol`` (negative once past, ``None`` without a date),
    ``os.supported`` (not past its end of life at ``collected_at``), ``os.eoes_date``, and always
    ``lifecycle.snapshot_date`` and ``lifecycle.catalogue_age_days``. When the catalogue is
    older than ``max_catalogue_age_days`` at ``collected_at``, ``os.supported`` and
    ``os.days_to_eol`` are errors, never values. Data only: no policy is applied here.
    """
    age = catalogue.age_days(collected_at)
    out: dict[str, Any] = {
        SNAPSHOT_FACT: catalogue.snapshot_date.isoformat(),
        AGE_FACT: age,
    }
    errors: dict[str, str] = {}
    os_id = values.get("os.id")
    if not isinstance(os_id, str) or not os_id.strip():
        errors.update(dict.fromkeys(OS_FACTS, "os release unknown"))
        return out, errors
    raw_version = values.get("os.version_id")
    version = str(raw_version).strip() if raw_version is not None else ""
    name = values.get("os.name")
    if os_id in ("windows", "windows-server"):
        # Windows: the build and the edition decide (windows.os facts)
        build = values.get("os.build")
        edition = values.get("os.edition")
        release = (
            catalogue.windows_release(
                build,
                edition if isinstance(edition, str) else None,
                os_id == "windows-server",
                name if isinstance(name, str) else None,
            )
            if isinstance(build, int)
            else None
        )
        version = f"build {build} {edition or ''}".strip()
    else:
        release = catalogue.os_release(
            os_id,
            version,
            _id_like(values.get("os.id_like")),
            name=name if isinstance(name, str) else None,
        )
    stale = catalogue.stale_reason(collected_at, max_catalogue_age_days)
    if release is None:
        shown = version or "(no VERSION_ID)"
        msg = f"os release {os_id.strip()} {shown} is not in the lifecycle catalogue"
        if stale and os_id.strip().lower() in (*_OS_IDS, "windows", "windows-server"):
            # a known distribution: the release may be newer than the snapshot
            msg += f"; {stale}"
        errors.update(dict.fromkeys(OS_FACTS, msg))
        return out, errors
    on = _as_utc_date(collected_at)
    out["os.lifecycle_product"] = release.product
    out["os.lifecycle_cycle"] = release.cycle
    out["os.eol_date"] = release.eol.isoformat() if release.eol else None
    out["os.eoes_date"] = release.eoes.isoformat() if release.eoes else None
    if stale:
        errors["os.supported"] = stale
        errors["os.days_to_eol"] = stale
        errors["os.extended_support"] = stale
    else:
        out["os.days_to_eol"] = release.days_to_eol(on)
        out["os.supported"] = release.supported(on)
        # extended support (Debian LTS, Ubuntu ESM, RHEL ELS, Windows ESU) still running at ``on``;
        # whether it counts is the rules' decision, since its terms differ per vendor
        out["os.extended_support"] = bool(
            release.eoes_flag or (release.eoes is not None and on <= release.eoes)
        )
    return out, errors


# --------------------------------------------------------------------------------------------
# Local overlay (the inventory's lifecycle: rows and the user's overlay file)
# --------------------------------------------------------------------------------------------


def local_overlay(inventory_rows: Any = None) -> _devices.LocalOverlay:
    """The local overlay of a scan: the data folder's ``local-overlay.yaml`` (see
    :func:`user_dir`), then the inventory's ``lifecycle:`` rows (already validated by the
    inventory), which come first and so win. Raises InputError for a bad data-folder file."""
    from scanner.yamlio import load_file as _load

    folder = _devices.load_local_file(_devices.local_file(user_dir()), _load)
    inv = inventory_rows if isinstance(inventory_rows, _devices.LocalOverlay) else None
    return (inv + folder) if inv else folder


def parse_inventory_section(raw: Any, label: str) -> tuple[_devices.LocalOverlay, list[str]]:
    """The inventory's ``lifecycle:`` section (scanner/inventory.py calls this): the rows and
    one problem line per mistake."""
    return _devices.parse_local(raw, label)
