"""Firmware and network operating systems in the lifecycle catalogue: which cycle a firmware
version belongs to, and what the catalogue and the device overlay say of it and of the
hardware (used by scanner/engine/network.py for network devices; probes/net/firmware.py
parses the versions).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from scanner.lifecycle import overlay as _devices
from scanner.lifecycle.catalogue import load_catalogue, with_local
from scanner.lifecycle.kev import Kev, load_kev
from scanner.lifecycle.model import Catalogue, Release

# --------------------------------------------------------------------------------------------
# Firmware and network operating systems (scanner/engine/network.py, probes/net/firmware.py)
# --------------------------------------------------------------------------------------------

# KEV names a product loosely; per catalogue slug: the vendor and a pattern of its product names.
# A slug listed here with no KEV entry (OPNsense) is known to have none, which is not the same as
# a slug missing from this table (then KEV cannot be judged for it).
KEV_PRODUCTS: dict[str, tuple[str, str]] = {
    "cisco-ios": ("Cisco", r"\bIOS\b(?!\s+X[ER])"),
    "cisco-ios-xe": ("Cisco", r"\bIOS XE\b|\bXE Software\b|\bIOS and IOS XE\b"),
    "fortios": ("Fortinet", r"\bFortiOS\b"),
    "junos": ("Juniper", r"\bJunos\b"),
    "opnsense": ("OPNsense", r"OPNsense"),
    "openwrt": ("OpenWrt", r"OpenWrt"),
    "pan-os": ("Palo Alto Networks", r"\bPAN-OS\b"),
    "pfsense": ("Netgate", r"pfSense"),
    "pfsense-plus": ("Netgate", r"pfSense"),
    "routeros": ("MikroTik", r"\bRouterOS\b"),
    "sns-firmware": ("Stormshield", r"Stormshield|SNS"),
    "sonicos": ("SonicWall", r"\bSonicOS\b"),
}

_IOS_RE = re.compile(r"^(\d+)\.(\d+)\((\d+)[a-z]?\)([A-Z]*)")


def firmware_cycles(product: str, version: str) -> list[str]:
    """Cycle names a firmware version may belong to, most specific first: the version itself,
    then ``7.12.1`` -> ``7.12``; ``17.03.04a`` -> ``17.03.04``, ``17.03``, ``17.3``; ``23.05.3``
    -> ``23.05``, ``23.5``; QTS ``4.3.6.2050`` -> ``4.3.6``, ``4.3``; classic Cisco IOS
    ``15.0(2)SE4`` -> ``15.0(2)SE``, ``15.0SE``, ``15.0`` (the trains a local overlay may
    name)."""
    v = version.strip().lstrip("vV")
    out: list[str] = []
    if product == "cisco-ios":
        m = _IOS_RE.match(v)
        if m:
            a, b, c, train = m.groups()
            out = [v, f"{a}.{b}({c}){train}", f"{a}.{b}{train}", f"{a}.{b}"]
        return list(dict.fromkeys(out))
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", v)
    if m:
        raw = f"{m.group(1)}.{m.group(2)}"
        three = [f"{raw}.{m.group(3)}"] if m.group(3) is not None else []
        out = [v, *three, raw, f"{int(m.group(1))}.{int(m.group(2))}", str(int(m.group(1)))]
    elif (lead := re.match(r"^\d+", v)) is not None:
        out = [v, str(int(lead.group(0)))]
    return list(dict.fromkeys(out))


def _release_json(r: Release, version: str | None = None) -> dict[str, Any]:
    def iso(d: date | None) -> str | None:
        return d.isoformat() if d else None

    doc: dict[str, Any] = {
        "cycle": r.cycle,
        "release_date": iso(r.release_date),
        "eol": iso(r.eol),
        "eol_flag": r.eol_flag,
        "eol_unknown": r.eol_unknown,
        "eoas": iso(r.eoas),
        "eoes": iso(r.eoes),
        "lts": r.lts,
        "latest": r.latest,
        "latest_date": iso(r.latest_date),
        "source": r.source,
        "checked_on": iso(r.checked_on),
        "class": r.source_class,
        "source_detail": dict(r.source_detail) if r.source_detail else None,
        "as_of": iso(r.as_of),
        "last_day_of_support": iso(r.last_support),
    }
    if version is not None and version in r.unsupported_versions:
        doc["version_unsupported_as_of"] = r.unsupported_versions[version].isoformat()
    return doc


def _hardware_json(
    vendor: str | None, model: str | None, local: _devices.LocalOverlay | None
) -> dict[str, Any]:
    """The device's hardware against the local rows, then the derived overlay."""
    doc: dict[str, Any] = {"vendor": vendor, "model": model}
    if not model:
        doc["reason"] = "the device's model is unknown"
        return doc
    rows = [*(local.hardware if local else ()), *_devices.shipped().hardware]
    row = next((h for h in rows if h.matches(vendor, model)), None)
    doc["row"] = None if row is None else row.as_json()
    if row is not None and row.source_class == _devices.LOCAL:
        doc["row"]["where"] = row.source.get("where")
    return doc


def firmware_lookup(
    product: str | None,
    version: str | None,
    catalogue: Catalogue | None = None,
    kev: Kev | None = None,
    reason: str | None = None,
    *,
    vendor: str | None = None,
    model: str | None = None,
    local: _devices.LocalOverlay | None = None,
) -> dict[str, Any]:
    """Everything the catalogue knows about one device's firmware and hardware, as JSON-able
    data: the evidence of a device's ``net.firmware`` section, which probes/net/firmware.py
    turns into facts. Data only: no clock, no judgement. ``reason`` says why product or version
    are None; ``vendor`` and ``model`` (``device.vendor``, ``device.model``) find the hardware's
    end of support; ``local`` is the inventory's (and data folder's) local overlay, which wins
    over every other source. Each date carries its source and class (see
    scanner/lifecycle/overlay.py: a secondary source can prove a failure, never a pass)."""
    from probes.net.firmware import version_key  # the one version order, shared with the parser

    cat = with_local(catalogue or load_catalogue(), local)
    overlay = _devices.shipped()
    doc: dict[str, Any] = {
        "product": product,
        "version": version,
        "catalogue": {
            "label": cat.label,
            "snapshot_date": cat.snapshot_date.isoformat(),
            "sources": [dict(s) for s in cat.sources],
            "device_overlay": dict(overlay.meta.get("derived_from") or {}),
            "trust": overlay.meta.get("trust"),
            "local_rows": (len(local.firmware) + len(local.hardware)) if local else 0,
        },
        "hardware": _hardware_json(vendor, model, local),
        "policies": _devices.policies_json(overlay.policies_for(vendor)),
    }
    if not product or not version:
        doc["reason"] = reason or "the device's product and firmware version are unknown"
        return doc
    p = cat.product(product)
    doc["known_product"] = p is not None
    if p is None:
        return doc
    doc["title"] = p.title
    doc["cycles_known"] = [r.cycle for r in p.releases]
    candidates = firmware_cycles(product, version)
    doc["cycle_candidates"] = candidates
    release = next((r for c in candidates if (r := p.release(c)) is not None), None)
    doc["release"] = None if release is None else _release_json(release, version)
    if release is not None:
        prefix = version_key(release.cycle)
        doc["versions_in_cycle"] = {
            v: d.isoformat()
            for v, d in sorted(p.versions.items())
            if version_key(v)[: len(prefix)] == prefix
        }
        vdate = p.versions.get(version)
        if vdate is None and release.latest == version:
            vdate = release.latest_date
        if vdate is None:
            vdate = next(
                (d for v, d in p.versions.items() if version_key(v) == version_key(version)), None
            )
        doc["version_date"] = vdate.isoformat() if vdate else None
    mapping = KEV_PRODUCTS.get(product)
    if mapping is None:
        doc["kev"] = {"mapped": False}
    else:
        k = kev or load_kev()
        vendor_name, pattern = mapping
        rx = re.compile(pattern, re.IGNORECASE)
        entries = [
            {f: e.get(f) for f in ("cveID", "product", "dateAdded", "knownRansomwareCampaignUse")}
            for e in k.entries
            if e.get("vendorProject", "").strip().casefold() == vendor_name.casefold()
            and rx.search(e.get("product", ""))
        ]
        doc["kev"] = {
            "mapped": True,
            "vendor": vendor_name,
            "pattern": pattern,
            "catalog_version": k.catalog_version,
            "entries": sorted(entries, key=lambda e: (str(e["dateAdded"]), str(e["cveID"]))),
        }
    return doc


def device_lookup(
    facts: Mapping[str, Any], errors: Mapping[str, str], local: Any = None
) -> dict[str, Any]:
    """:func:`firmware_lookup` for a device record's facts (``firmware.product``,
    ``firmware.version``, ``device.vendor``, ``device.model``): the one call
    scanner/engine/network.py
    makes, so the lookup's inputs live here."""
    def text(key: str) -> str | None:
        value = facts.get(key)
        return value if isinstance(value, str) and value else None

    reason = errors.get("firmware.product") or errors.get("firmware.version")
    return firmware_lookup(
        text("firmware.product"), text("firmware.version"), reason=reason,
        vendor=text("device.vendor"), model=text("device.model"),
        local=local if isinstance(local, _devices.LocalOverlay) else None,
    )
