"""net.firmware: the lifecycle of a device's firmware or network operating system.

The scanner looks the device's product and version up in the lifecycle catalogue
(``scanner.lifecycle.firmware_lookup``: endoflife.date's release cycles and per-version release
dates, the hand-kept overlay, and the CISA KEV extract) and hands the result to this parser as
JSON, which is kept as the evidence (it names the catalogue's snapshot and each entry's source).
``RawSection.config["max_catalogue_age_days"]`` is the age past which the catalogue is too old to
say anything about support or patches.

Facts (dates ISO 8601, ages in whole days at the collection time):

* ``firmware.product`` (catalogue slug, e.g. ``routeros``), ``firmware.product_title``,
  ``firmware.version``, ``firmware.cycle`` (``7.12``), ``firmware.lifecycle_source``
  (``endoflife.date`` or the vendor page an overlay entry cites);
* ``firmware.eol_date`` (``None`` when no end is announced), ``firmware.days_to_eol``,
  ``firmware.supported`` (the cycle is not past its end of life);
* ``firmware.latest_in_cycle``, ``firmware.latest_release_date``, ``firmware.latest_age_days``
  (how long the newest patch of the cycle has been out), ``firmware.newer_patch_available``,
  ``firmware.newer_patch_age_days`` (how long the first patch newer than the running version has
  been out: the time the device has gone without it; ``None`` when there is none);
* ``firmware.kev_cves``: entries of the CISA Known Exploited Vulnerabilities catalogue for this
  product that were added after the running version was released. KEV does not say which
  versions are affected; a KEV entry older than the running version is taken as fixed in it, a
  newer one as a vulnerability the running version may still have (check the vendor advisory).
  Without the running version's release date, entries newer than the cycle's first release
  cannot be placed: an error, never an empty list;
* ``lifecycle.snapshot_date``, ``lifecycle.catalogue_age_days``.

Never a silent value: a product or version the catalogue does not know gives errors ("version X
of PRODUCT is not in the lifecycle catalogue"), a catalogue older than the limit gives "lifecycle
data is stale (...)" errors for every judgement, and a missing patch-level or date gives an error
naming what is missing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from probes.base import Facts, RawSection, guard

QUERY = (
    "lifecycle catalogue lookup (no traffic): the device's product and version against "
    "endoflife.date release cycles and version dates, baselines/lifecycle/overlay.yaml and the "
    "CISA KEV extract"
)

IDENTITY = ("firmware.product", "firmware.product_title", "firmware.version")
CYCLE = ("firmware.cycle", "firmware.lifecycle_source")
SUPPORT = ("firmware.eol_date", "firmware.days_to_eol", "firmware.supported")
PATCH = (
    "firmware.latest_in_cycle",
    "firmware.latest_release_date",
    "firmware.latest_age_days",
    "firmware.newer_patch_available",
    "firmware.newer_patch_age_days",
)
KEV = ("firmware.kev_cves",)
CATALOGUE = ("lifecycle.snapshot_date", "lifecycle.catalogue_age_days")
PROVIDES = IDENTITY + CYCLE + SUPPORT + PATCH + KEV + CATALOGUE

_TOKEN_RE = re.compile(r"\d+|[A-Za-z]+")


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """An ordering key for firmware versions: numbers compare as numbers, letters as text, and a
    version sorts before its own extensions (``7.12`` < ``7.12.1``, ``11.2.13`` < ``11.2.13-h1``,
    ``16.09.03`` == ``16.9.3``)."""
    out: list[tuple[int, int, str]] = []
    for tok in _TOKEN_RE.findall(version.lstrip("vV")):
        out.append((0, int(tok), "") if tok.isdigit() else (1, 0, tok.lower()))
    return tuple(out)


def _d(value: Any) -> date | None:
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _kev_line(e: dict[str, Any]) -> str:
    extra = ", used in ransomware" if e.get("knownRansomwareCampaignUse") == "Known" else ""
    return f"{e.get('cveID')} (in KEV since {e.get('dateAdded')}{extra})"


def _body(raw: RawSection, f: Facts) -> None:
    doc = json.loads(raw.stdout)
    on = raw.collected_at.astimezone(UTC).date() if raw.collected_at else datetime.now(UTC).date()
    max_age = raw.config.get("max_catalogue_age_days")
    snap = _d((doc.get("catalogue") or {}).get("snapshot_date"))
    stale = None
    if snap is not None:
        f.set("lifecycle.snapshot_date", snap.isoformat())
        age = (on - snap).days
        f.set("lifecycle.catalogue_age_days", age)
        if isinstance(max_age, int | float) and age > max_age:
            stale = f"lifecycle data is stale (snapshot {snap.isoformat()}, {age} days old)"
    else:
        f.error_all(CATALOGUE, "the lifecycle catalogue has no snapshot date")
    product = doc.get("product")
    version = doc.get("version")
    if not product or not version:
        why = doc.get("reason") or "the device's product and firmware version are unknown"
        f.error_all(PROVIDES[: -len(CATALOGUE)], why)
        return
    f.set("firmware.product", product)
    f.set("firmware.version", version)
    if not doc.get("known_product"):
        f.error_all(
            ("firmware.product_title", *CYCLE, *SUPPORT, *PATCH, *KEV),
            f"{product} is not in the lifecycle catalogue (endoflife.date does not cover it and "
            "baselines/lifecycle/overlay.yaml has no sourced entry for it); version "
            f"{version} cannot be judged" + (f"; {stale}" if stale else ""),
        )
        return
    f.set("firmware.product_title", doc.get("title"))
    release = doc.get("release")
    if not release:
        known = doc.get("cycles_known") or []
        hint = f" (cycles there: {', '.join(known[:8])}{', ...' if len(known) > 8 else ''})"
        f.error_all(
            (*CYCLE, *SUPPORT, *PATCH, *KEV),
            f"version {version} of {product} is not in the lifecycle catalogue"
            + (hint if known else "")
            + (f"; {stale}" if stale else ""),
        )
        return
    f.set("firmware.cycle", release.get("cycle"))
    f.set("firmware.lifecycle_source", release.get("source"))
    if stale:
        f.error_all((*SUPPORT, *PATCH, *KEV), stale)
        return
    # support
    eol = _d(release.get("eol"))
    f.set("firmware.eol_date", eol.isoformat() if eol else None)
    if eol is not None:
        f.set("firmware.days_to_eol", (eol - on).days)
        f.set("firmware.supported", on <= eol)
    else:
        f.set("firmware.days_to_eol", None)
        f.set("firmware.supported", not release.get("eol_flag"))
    # patches in the cycle
    running = version_key(version)
    candidates: dict[str, date | None] = {
        v: _d(d) for v, d in (doc.get("versions_in_cycle") or {}).items()
    }
    latest = release.get("latest")
    if isinstance(latest, str) and latest:
        candidates.setdefault(latest, _d(release.get("latest_date")))
    if not candidates:
        f.error_all(
            PATCH,
            f"the lifecycle catalogue has no patch-level data for {product} {release.get('cycle')}"
            " (no latest version, no per-version release dates): newer patches cannot be known",
        )
    else:
        newest = max(candidates, key=version_key)
        newest_date = candidates[newest]
        f.set("firmware.latest_in_cycle", newest)
        f.set("firmware.latest_release_date", newest_date.isoformat() if newest_date else None)
        if newest_date is not None:
            f.set("firmware.latest_age_days", max(0, (on - newest_date).days))
        else:
            f.error("firmware.latest_age_days", f"release date of {product} {newest} unknown")
        newer = {v: d for v, d in candidates.items() if version_key(v) > running}
        f.set("firmware.newer_patch_available", bool(newer))
        if not newer:
            f.set("firmware.newer_patch_age_days", None)
        else:
            dated = [d for d in newer.values() if d is not None]
            if dated:
                f.set("firmware.newer_patch_age_days", max(0, (on - min(dated)).days))
            else:
                f.error(
                    "firmware.newer_patch_age_days",
                    f"newer {product} patches exist ({', '.join(sorted(newer))}) but their "
                    "release dates are unknown",
                )
    # known exploited vulnerabilities
    kev = doc.get("kev") or {}
    if not kev.get("mapped"):
        f.error("firmware.kev_cves", f"no CISA KEV vendor/product mapping for {product}")
        return
    entries = list(kev.get("entries") or [])
    vdate = _d(doc.get("version_date"))
    if vdate is not None:
        f.set(
            "firmware.kev_cves",
            [_kev_line(e) for e in entries if (_d(e.get("dateAdded")) or date.min) > vdate],
        )
        return
    start = _d(release.get("release_date"))
    if start is None:
        f.error(
            "firmware.kev_cves",
            f"release dates of {product} {version} and of its cycle are unknown: cannot tell "
            "which KEV entries postdate it",
        )
        return
    unplaced = [e for e in entries if (_d(e.get("dateAdded")) or date.min) >= start]
    if unplaced:
        cves = ", ".join(str(e.get("cveID")) for e in unplaced[:6])
        more = f" and {len(unplaced) - 6} more" if len(unplaced) > 6 else ""
        f.error(
            "firmware.kev_cves",
            f"cannot tell whether {product} {version} predates {len(unplaced)} KEV entries "
            f"({cves}{more}): the catalogue has no release date for this version; check the "
            "vendor advisories",
        )
    else:
        f.set("firmware.kev_cves", [])


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
