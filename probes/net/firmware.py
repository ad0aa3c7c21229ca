"""net.firmware: the lifecycle of a device's firmware (or network operating system) and of its
hardware.

The scanner looks the device's product, version, vendor and model up (``scanner.lifecycle.
firmware_lookup``: endoflife.date's release cycles and per-version release dates, the derived
device overlay of baselines/lifecycle/device-overlay.json, the inventory's local ``lifecycle:``
rows, and the CISA KEV extract) and hands the result to this parser as JSON, which is kept as
the evidence: every date in it names its source (URL, or repository and commit) and the
source's class. ``RawSection.config["max_catalogue_age_days"]`` is the age past which data is
too old to say that something is still supported or up to date.

**Trust.** Only an exact basis passes: endoflife.date (while the catalogue is not stale),
``primary`` rows (the vendor's own page or repository) and ``local`` rows (a person wrote the
date and its source URL into the inventory). A ``secondary`` row (an unmerged endoflife.date pull
request, news, a reseller) or a row whose model mapping undone inferred can prove a failure (a
last day that has passed has passed) but never a pass: where it would pass, the fact is an error
that says which source said what and how to confirm it. ``*.support_dates_exact`` and
``firmware.patch_dates_exact`` are true, or errors with that reason, so that rules comparing a
number of days can only pass on exact dates.

Facts (dates ISO 8601, ages in whole days at the collection time):

* ``firmware.product`` (catalogue slug, e.g. ``routeros``), ``firmware.product_title``,
  ``firmware.version``, ``firmware.cycle`` (``7.12``), ``firmware.lifecycle_source`` (where the
  cycle's dates come from) and ``firmware.lifecycle_class`` (``endoflife.date``, ``primary``,
  ``secondary``, ``local``);
* ``firmware.eol_date`` (the end of security fixes; ``None`` when no end is announced),
  ``firmware.days_to_eol``, ``firmware.supported`` (false too when the hardware is past its
  last day of support: no release for it gets fixes), ``firmware.support_basis`` (one line: why),
  ``firmware.support_dates_exact``;
* ``firmware.latest_in_cycle``, ``firmware.latest_release_date``, ``firmware.latest_age_days``,
  ``firmware.newer_patch_available``, ``firmware.newer_patch_age_days`` (how long the first
  patch newer than the running version has been out; ``None`` when there is none),
  ``firmware.patch_dates_exact``;
* ``firmware.kev_cves``: CISA KEV entries for the product added after the running version was
  released (KEV does not list affected versions: an entry older than the running version is
  taken as fixed in it). Without the version's release date, entries newer than the cycle's
  first release cannot be placed: an error, never an empty list;
* ``hardware.model``, ``hardware.family``, ``hardware.end_of_sale_date``,
  ``hardware.last_support_date``, ``hardware.days_to_end_of_support``, ``hardware.supported``,
  ``hardware.support_dates_exact``, ``hardware.lifecycle_source``, ``hardware.lifecycle_class``;
* ``lifecycle.undated``: what was identified but could not be dated (``[{kind, vendor, model,
  product, version, missing, why, ask, policy}]``, empty when everything was dated): the
  report's "firmware we could not date", with what the client should ask the provider for and
  the vendor's published support policy;
* ``lifecycle.snapshot_date``, ``lifecycle.catalogue_age_days``.

Never a silent value: an unknown product, version or model gives errors that say so, and
stale data gives errors for everything that would pass.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from probes import device
from probes.base import Facts, RawSection, guard

QUERY = (
    "lifecycle catalogue lookup (no traffic): the device's product, version, vendor and model "
    "against endoflife.date release cycles and version dates, the device overlay "
    "(baselines/lifecycle/device-overlay.json), the local lifecycle rows and the CISA KEV extract"
)

IDENTITY = (*device.FIRMWARE, "firmware.product_title")
CYCLE = ("firmware.cycle", "firmware.lifecycle_source", "firmware.lifecycle_class")
SUPPORT = (
    "firmware.eol_date",
    "firmware.days_to_eol",
    "firmware.supported",
    "firmware.support_basis",
    "firmware.support_dates_exact",
)
PATCH = (
    "firmware.latest_in_cycle",
    "firmware.latest_release_date",
    "firmware.latest_age_days",
    "firmware.newer_patch_available",
    "firmware.newer_patch_age_days",
    "firmware.patch_dates_exact",
)
KEV = ("firmware.kev_cves",)
HARDWARE = (
    "hardware.model",
    "hardware.family",
    "hardware.end_of_sale_date",
    "hardware.last_support_date",
    "hardware.days_to_end_of_support",
    "hardware.supported",
    "hardware.support_dates_exact",
    "hardware.lifecycle_source",
    "hardware.lifecycle_class",
)
UNDATED = ("lifecycle.undated",)
CATALOGUE = ("lifecycle.snapshot_date", "lifecycle.catalogue_age_days")
PROVIDES = IDENTITY + CYCLE + SUPPORT + PATCH + KEV + HARDWARE + UNDATED + CATALOGUE
FIRMWARE_FACTS = IDENTITY + CYCLE + SUPPORT + PATCH + KEV

#: classes whose dates can make a rule pass
EXACT_CLASSES = ("endoflife.date", "primary", "local")

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


def source_text(detail: Any, fallback: Any = None) -> str | None:
    """One line naming where a date comes from: a URL, or repository, ref, commit and path,
    and the vendor page the source cites; for a local row, where it was written."""
    if not isinstance(detail, dict):
        return None if fallback is None else str(fallback)
    if detail.get("class") == "local":
        return f"{detail.get('url')} (local overlay, {detail.get('where')})"
    if detail.get("commit"):
        text = " ".join(str(x) for x in (detail.get("repo"), detail.get("ref"),
                                          f"@{str(detail['commit'])[:12]}", detail.get("path"))
                        if x)
    else:
        text = str(detail.get("url") or fallback or "")
    if detail.get("cited_vendor_url"):
        text += f", citing {detail['cited_vendor_url']}"
    return text


def _why_not_exact(cls: str, source: str | None, inferred: Any = None) -> str:
    if inferred:
        return (f"the model mapping is undone's inference ({inferred}); it can prove a failure, "
                f"never a pass: confirm the date on the vendor's page ({source})")
    return (f"only a {cls} source dates this ({source}); it can prove a failure, never a pass: "
            "confirm the date on the vendor's own page and add it, with that page's address, "
            "to the inventory's lifecycle section")


def ask_for(kind: str, vendor: str | None, what: str, policies: list[dict[str, Any]]) -> str:
    """A sentence the client can send the provider: the document that would date it."""
    v = vendor or "the vendor"
    if kind == "hardware":
        doc = (f"Cisco's End-of-Sale and End-of-Life bulletin for the {what} (its Last Date of "
               "Support)" if v == "Cisco" else
               f"{v}'s end-of-life notice for the {what} giving its last day of support")
    else:
        doc = (f"Cisco's end-of-life bulletin for {what} (its End of Vulnerability/Security "
               "Support date)" if v == "Cisco" else
               f"{v}'s end-of-support date for {what} (the last day it gets security fixes)")
    del policies  # shown apart (lifecycle.undated "policy"), not repeated in every request
    return (f"Ask the provider for {doc}, with the address of the page, to add to the "
            "inventory's lifecycle section; or for their plan to upgrade or replace it.")


def _policy(policies: list[dict[str, Any]]) -> str | None:
    """The vendor's published support policy, with its source, in one line."""
    for p in policies:
        if isinstance(p, dict) and p.get("text"):
            src = p.get("source") or {}
            where = src.get("url") if isinstance(src, dict) else None
            return f"{str(p['text'])[:300]}" + (f" ({where})" if where else "")
    return None


def _hardware(doc: dict[str, Any], on: date, f: Facts) -> tuple[date | None, str | None]:
    """Hardware facts; returns (last day of support, family) when that day has passed."""
    hw = doc.get("hardware") or {}
    model = hw.get("model")
    if not model:
        f.error_all(HARDWARE, hw.get("reason") or "the device's model is unknown")
        return None, None
    f.set("hardware.model", model)
    row = hw.get("row")
    if not isinstance(row, dict):
        why = (f"{hw.get('vendor') or 'the vendor'} {model} has no sourced last day of support "
               "(not in the device overlay and no local lifecycle row)")
        f.error_all(HARDWARE[1:], why)
        return None, None
    source = source_text(row.get("source"))
    cls = str(row.get("class") or "secondary")
    last = _d(row.get("last_day_of_support"))
    f.set("hardware.family", row.get("family"))
    f.set("hardware.end_of_sale_date", row.get("end_of_sale"))
    f.set("hardware.lifecycle_source", source)
    f.set("hardware.lifecycle_class", cls)
    if last is None:
        f.error_all(("hardware.last_support_date", "hardware.days_to_end_of_support",
                     "hardware.supported", "hardware.support_dates_exact"),
                    f"the source for {row.get('family')} gives no last day of support")
        return None, None
    exact = cls in EXACT_CLASSES and not row.get("inferred")
    f.set("hardware.last_support_date", last.isoformat())
    f.set("hardware.days_to_end_of_support", (last - on).days)
    past = on > last
    if past or exact:
        f.set("hardware.supported", not past)
    else:
        f.error("hardware.supported", f"{row.get('family')}: supported until "
                f"{last.isoformat()} per {_why_not_exact(cls, source, row.get('inferred'))}")
    if exact:
        f.set("hardware.support_dates_exact", True)
    else:
        f.error("hardware.support_dates_exact", _why_not_exact(cls, source, row.get("inferred")))
    return (last, str(row.get("family"))) if past else (None, None)


def _support(doc: dict[str, Any], release: dict[str, Any], on: date, stale: str | None,
             max_age: Any, f: Facts) -> None:
    product, version = doc.get("product"), doc.get("version")
    cls = str(release.get("class") or "endoflife.date")
    source = source_text(release.get("source_detail"), release.get("source"))
    exact = cls in EXACT_CLASSES and not (cls == "endoflife.date" and stale)
    why_inexact = stale if (cls == "endoflife.date" and stale) else _why_not_exact(cls, source)
    eol = _d(release.get("eol"))
    f.set("firmware.eol_date", eol.isoformat() if eol else None)
    if exact:
        f.set("firmware.support_dates_exact", True)
    else:
        f.error("firmware.support_dates_exact", why_inexact)
    cycle = release.get("cycle")
    unsupported_as_of = _d(release.get("version_unsupported_as_of"))
    if eol is not None:
        f.set("firmware.days_to_eol", (eol - on).days)
        if on > eol:
            f.set("firmware.supported", False)
            f.set("firmware.support_basis",
                  f"{product} {cycle}: security fixes ended {eol.isoformat()} ({cls}: {source})")
        elif exact:
            f.set("firmware.supported", True)
            f.set("firmware.support_basis",
                  f"{product} {cycle}: security fixes until {eol.isoformat()} ({cls}: {source})")
        else:
            f.error("firmware.supported", f"{product} {cycle}: security fixes until "
                    f"{eol.isoformat()} per {why_inexact}")
            f.error("firmware.support_basis", why_inexact)
        return
    f.set("firmware.days_to_eol", None)
    if release.get("eol_flag") or unsupported_as_of is not None:
        f.set("firmware.supported", False)
        f.set("firmware.support_basis",
              f"{product} {version}: listed as unsupported on "
              f"{unsupported_as_of.isoformat()} ({cls}: {source})"
              if unsupported_as_of else
              f"{product} {cycle}: ended, date not given ({cls}: {source})")
        return
    if release.get("eol_unknown"):
        why = (f"the end of support of {product} {cycle} is unknown: {source} gives release dates"
               " only")
        f.error_all(("firmware.supported", "firmware.support_basis"), why)
        f.set("firmware.eol_date", None)
        return
    # no end announced: true only from an exact, fresh statement
    as_of = _d(release.get("as_of"))
    too_old = (cls != "endoflife.date" and as_of is not None
               and isinstance(max_age, int | float) and (on - as_of).days > max_age)
    if exact and not too_old:
        f.set("firmware.supported", True)
        f.set("firmware.support_basis", f"{product} {cycle}: no end of support announced "
              f"({cls}: {source})")
        return
    why = why_inexact if not exact else (f"{source} said on {as_of} that {product} {cycle} had "
                                         "no end of support announced; that is too old to rely on")
    f.error_all(("firmware.supported", "firmware.support_basis"),
                f"{product} {cycle}: no end announced per {why}")


def _patches(doc: dict[str, Any], release: dict[str, Any], on: date, stale: str | None,
             max_age: Any, f: Facts) -> None:
    product, version = str(doc.get("product")), str(doc.get("version"))
    cls = str(release.get("class") or "endoflife.date")
    source = source_text(release.get("source_detail"), release.get("source"))
    as_of = _d(release.get("as_of"))
    if cls == "endoflife.date":
        inexact = stale
    elif cls not in EXACT_CLASSES:
        inexact = _why_not_exact(cls, source)
    elif as_of is not None and isinstance(max_age, int | float) and (on - as_of).days > max_age:
        inexact = (f"the release list for {product} ({source}) ends {as_of.isoformat()}: newer "
                   "releases may exist that it does not show")
    else:
        inexact = None
    if inexact:
        f.error("firmware.patch_dates_exact", inexact)
    else:
        f.set("firmware.patch_dates_exact", True)
    running = version_key(version)
    candidates: dict[str, date | None] = {
        v: _d(d) for v, d in (doc.get("versions_in_cycle") or {}).items()
    }
    latest = release.get("latest")
    if isinstance(latest, str) and latest:
        candidates.setdefault(latest, _d(release.get("latest_date")))
    if not candidates:
        f.error_all(
            PATCH[:-1],
            f"the lifecycle data has no patch-level data for {product} {release.get('cycle')}"
            " (no latest version, no per-version release dates): newer patches cannot be known",
        )
        return
    newest = max(candidates, key=version_key)
    newest_date = candidates[newest]
    f.set("firmware.latest_in_cycle", newest)
    f.set("firmware.latest_release_date", newest_date.isoformat() if newest_date else None)
    if newest_date is not None:
        f.set("firmware.latest_age_days", max(0, (on - newest_date).days))
    else:
        f.error("firmware.latest_age_days", f"release date of {product} {newest} unknown")
    newer = {v: d for v, d in candidates.items() if version_key(v) > running}
    if not newer:
        if inexact:
            f.error_all(("firmware.newer_patch_available", "firmware.newer_patch_age_days"),
                        f"no newer {product} patch is known, but {inexact}")
        else:
            f.set("firmware.newer_patch_available", False)
            f.set("firmware.newer_patch_age_days", None)
        return
    f.set("firmware.newer_patch_available", True)
    dated = [d for d in newer.values() if d is not None]
    if dated:
        f.set("firmware.newer_patch_age_days", max(0, (on - min(dated)).days))
    else:
        f.error("firmware.newer_patch_age_days",
                f"newer {product} patches exist ({', '.join(sorted(newer))}) but their "
                "release dates are unknown")


def _kev(doc: dict[str, Any], release: dict[str, Any], stale: str | None, f: Facts) -> None:
    _kev_entries(doc, release, f)
    if stale and f.values.get("firmware.kev_cves") == []:
        f.error("firmware.kev_cves", f"no KEV entry postdates it in this data, but {stale}")


def _kev_entries(doc: dict[str, Any], release: dict[str, Any], f: Facts) -> None:
    product, version = doc.get("product"), doc.get("version")
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
            f"({cves}{more}): the lifecycle data has no release date for this version; check "
            "the vendor advisories",
        )
    else:
        f.set("firmware.kev_cves", [])


def _undated(doc: dict[str, Any], f: Facts) -> list[dict[str, Any]]:
    """What was identified but not dated, and what to ask for (lifecycle.undated)."""
    hw = doc.get("hardware") or {}
    vendor, model = hw.get("vendor"), hw.get("model")
    policies = [p for p in doc.get("policies") or [] if isinstance(p, dict)]
    product, version = doc.get("product"), doc.get("version")
    out: list[dict[str, Any]] = []
    if product and version and "firmware.supported" in f.errors:
        title = doc.get("title") or product
        release = doc.get("release") or {}
        train = release.get("cycle") or (doc.get("cycle_candidates") or [version])[
            min(1, len(doc.get("cycle_candidates") or [version]) - 1)]
        out.append({"kind": "firmware", "vendor": vendor, "model": model, "product": product,
                    "version": version,
                    "missing": f"the end of security fixes for {title} {train}",
                    "why": f.errors["firmware.supported"],
                    "ask": ask_for("firmware", vendor, f"{title} {train}", policies),
                    "policy": _policy(policies)})
    if model and "hardware.supported" in f.errors and (hw.get("row") is not None or (
            "hardware.model" in f.values)):
        out.append({"kind": "hardware", "vendor": vendor, "model": model, "product": product,
                    "version": version,
                    "missing": f"the last day of support for the {vendor or ''} {model}".replace(
                        "  ", " "),
                    "why": f.errors["hardware.supported"],
                    "ask": ask_for("hardware", vendor, str(model), policies),
                    "policy": _policy(policies)})
    return out


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
    hw_past, hw_family = _hardware(doc, on, f)
    try:
        _firmware(doc, on, stale, max_age, f)
    finally:
        if hw_past is not None:
            # past its last day of support, no release for this hardware gets fixes
            f.set("firmware.supported", False)
            f.set("firmware.support_basis",
                  f"the hardware ({hw_family}, {f.values.get('hardware.model')}) is past its "
                  f"last day of support, {hw_past.isoformat()} "
                  f"({f.values.get('hardware.lifecycle_class')}: "
                  f"{f.values.get('hardware.lifecycle_source')})")
    f.set("lifecycle.undated", _undated(doc, f))


def _firmware(doc: dict[str, Any], on: date, stale: str | None, max_age: Any,
              f: Facts) -> None:
    product = doc.get("product")
    version = doc.get("version")
    if not product or not version:
        why = doc.get("reason") or "the device's product and firmware version are unknown"
        f.error_all(FIRMWARE_FACTS, why)
        return
    f.set("firmware.product", product)
    f.set("firmware.version", version)
    if not doc.get("known_product"):
        f.error_all(
            FIRMWARE_FACTS[3:],
            f"{product} is not in the lifecycle catalogue (endoflife.date does not cover it and "
            "neither the device overlay nor a local lifecycle row dates it); version "
            f"{version} cannot be judged" + (f"; {stale}" if stale else ""),
        )
        f.error("firmware.product_title", f"{product} is not in the lifecycle catalogue")
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
            + " and no local lifecycle row names its train"
            + (f"; {stale}" if stale else ""),
        )
        return
    f.set("firmware.cycle", release.get("cycle"))
    f.set("firmware.lifecycle_source",
          source_text(release.get("source_detail"), release.get("source")))
    f.set("firmware.lifecycle_class", release.get("class") or "endoflife.date")
    _support(doc, release, on, stale, max_age, f)
    _patches(doc, release, on, stale, max_age, f)
    _kev(doc, release, stale, f)


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
