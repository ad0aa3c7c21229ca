"""Deriving the device overlay (``baselines/lifecycle/device-overlay.json``) from
``../shared/data/lifecycle-overlay/overlay.yaml``: vendors' firmware and hardware end-of-support
rows, each keeping its source. Run by ``python -m scanner.lifecycle build``, never by a scan; the
shipped result is read by scanner/lifecycle/overlay.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from scanner.lifecycle.overlay import (
    _DATE_RE,
    _MONTHS,
    DEVICE_SCHEMA,
    PRIMARY,
    SECONDARY,
    SHARED_OVERLAY,
    OverlayBuildError,
)

# --------------------------------------------------------------------------------------------
# Derivation from ../shared/data/lifecycle-overlay (the build)
# --------------------------------------------------------------------------------------------

# shared product id -> (undone product slug, title, vendor)
_FIRMWARE_PRODUCTS: dict[str, tuple[str, str, str]] = {
    "cisco-ios-classic-catalyst": ("cisco-ios", "Cisco IOS", "Cisco"),
    "sophos-firewall-sfos": ("sophos-sfos", "Sophos Firewall OS (SFOS)", "Sophos"),
    "pfsense-ce": ("pfsense", "pfSense CE", "Netgate"),
    "qnap-qts": ("qnap-qts", "QNAP QTS", "QNAP"),
}
# Cisco trains named in the shared data -> the train as firmware_cycles() derives it from a
# version string. The bulletins the rows cite are for the 15.9(3)M and 15.8(3)M releases.
_CISCO_CYCLES = {"15.9": "15.9(3)M", "15.8": "15.8(3)M"}
# Cisco hardware families -> PID patterns (from the PIDs the cited rows list)
_CISCO_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Catalyst 2960-Plus", ("WS-C2960+*", "WS-C2960R+*")),
    ("Catalyst 2960-X", ("WS-C2960X-*", "WS-C2960RX-*")),
    ("Catalyst 3850", ("WS-C3850-*",)),
)
_VENDOR_OF_SHARED: dict[str, str] = {
    "cisco-ios-classic-catalyst": "Cisco",
    "pfsense-ce": "Netgate",
    "pfsense-plus": "Netgate",
    "sonicwall-sonicos": "SonicWall",
    "watchguard-fireware": "WatchGuard",
    "synology-dsm": "Synology",
    "qnap-qts": "QNAP",
    "draytek-vigor": "DrayTek",
    "sophos-firewall-sfos": "Sophos",
    "cisco-meraki-mx": "Cisco Meraki",
    "hpe-aruba": "HPE Aruba Networking",
    "tplink-omada": "TP-Link",
    "ubiquiti-unifi": "Ubiquiti",
    "ubiquiti-edgeos": "Ubiquiti",
}


def source_class(text: Any, where: str) -> str:
    """``primary`` or ``secondary`` from a shared row's free-text class."""
    t = str(text or "").lower()
    if "secondary" in t or "third-party" in t:
        return SECONDARY
    if "primary" in t or t.startswith("vendor"):
        return PRIMARY
    raise OverlayBuildError(f"{where}: source class {text!r} is neither primary nor secondary")


def _shared_date(value: Any, where: str) -> date | None:
    """A date of the shared data; ``None`` for unknown, a month-only date ("October 2022") as
    its last day (the conservative end for a date that can only prove a failure)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        v = value.strip()
        if _DATE_RE.match(v):
            return date.fromisoformat(v)
        m = re.match(r"^([A-Za-z]+) (\d{4})\b", v)
        if m and m.group(1).lower() in _MONTHS:
            y, mo = int(m.group(2)), _MONTHS[m.group(1).lower()]
            nxt = date(y + (mo == 12), mo % 12 + 1, 1)
            return date.fromordinal(nxt.toordinal() - 1)
        if v.lower().startswith(("unknown", "false", "tbd")):
            return None
    if value is None or value is False:
        return None
    raise OverlayBuildError(f"{where}: unexpected date {value!r}")


def _source(raw: Any, where: str, cited: Any = None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise OverlayBuildError(f"{where}: no source")
    out: dict[str, Any] = {"class": source_class(raw.get("class"), where)}
    for key in ("url", "repo", "ref", "path", "commit", "commit_date", "read", "licence", "note"):
        value = raw.get(key)
        if value is not None:
            out[key] = value.isoformat() if isinstance(value, date) else str(value)
    out["class_text"] = str(raw.get("class"))
    if cited:
        out["cited_vendor_url"] = str(cited)
    if "url" not in out and "repo" in out:
        out["url"] = f"https://github.com/{out['repo']}"
    as_of = out.get("commit_date") or out.get("read")
    if as_of:
        out["as_of"] = as_of
    return out


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _firmware_rows(pid: str, prod: Mapping[str, Any]) -> list[dict[str, Any]]:
    slug, title, _vendor = _FIRMWARE_PRODUCTS[pid]
    rows: list[dict[str, Any]] = []
    for i, c in enumerate(prod.get("cycles") or []):
        where = f"{SHARED_OVERLAY}: {pid}.cycles[{i}]"
        if not isinstance(c, dict) or c.get("source") is None:
            continue  # "no source found": nothing is known, nothing is shipped
        name = str(c.get("cycle", ""))
        src = _source(c["source"], where, c.get("cited_vendor_url"))
        if pid == "cisco-ios-classic-catalyst":
            head = name.split()[0]
            if head not in _CISCO_CYCLES:
                continue
            cycles = [_CISCO_CYCLES[head]]
            eol = _shared_date(c.get("end_of_security_fixes_EoVSS"), where)
            extra = {"eoas": _iso(_shared_date(c.get("end_of_sw_maintenance"), where)),
                     "last_day_of_support": _iso(_shared_date(c.get("last_date_of_support"),
                                                              where))}
        elif pid == "qnap-qts":
            cycles = re.findall(r"\b\d+\.\d+\.\d+\b", name)
            eol = _shared_date(c.get("end_of_security_fixes"), where)
            extra = {"scope_note": name}
        else:
            cycles = [name]
            eol = _shared_date(c.get("end_of_support"), where)
            extra = {}
        raw_eol = c.get("end_of_support", c.get("end_of_security_fixes_EoVSS",
                                                c.get("end_of_security_fixes")))
        # "false (supported at PR date)": no end announced then; "unknown": not known
        not_ended = isinstance(raw_eol, str) and raw_eol.lower().startswith("false")
        versions: dict[str, str] = {}
        unsupported: dict[str, str] = {}
        for v in c.get("versions") or []:
            if not isinstance(v, dict) or v.get("version") is None:
                continue
            vd = _shared_date(v.get("released"), f"{where}.versions")
            if vd is not None:
                versions[str(v["version"])] = vd.isoformat()
            status_keys = [k for k in v if str(k).startswith("status_")]
            for k in status_keys:
                m = re.match(r"^status_(\d{4})_(\d{2})_(\d{2})$", str(k))
                if m and str(v[k]).lower() == "unsupported":
                    unsupported[str(v["version"])] = "-".join(m.groups())
        if eol is None and not not_ended and not versions and not unsupported and not (
                _shared_date(c.get("release_date"), where)):
            continue  # nothing dated in this row
        for cyc in cycles:
            rows.append({
                "product": slug,
                "title": title,
                "cycle": cyc,
                "release_date": _iso(_shared_date(c.get("release_date"), where)),
                "eol": _iso(eol),
                "eol_state": "date" if eol else ("not-ended" if not_ended else "unknown"),
                "latest": (str(c["latest"]) if c.get("latest") not in (None, "unknown")
                           else (str(c["latest_in_source"]) if c.get("latest_in_source")
                                 not in (None, "unknown") else None)),
                "latest_date": _iso(_shared_date(c.get("latest_release_date"), where)),
                "versions": versions,
                "unsupported_versions": unsupported,
                "source": src,
                **{k: v for k, v in extra.items() if v is not None},
            })
    return rows


_SONICWALL_SKIP = re.compile(r"\((Japan|AC) Model\)")


def _sonicwall_patterns(printed: str) -> list[str]:
    p = printed.strip()
    if p.upper() == "SOHOW":
        return ["SOHO W", "SOHOW", "TZ SOHO W"]
    if p.upper().startswith("SOHO"):
        return [p, f"TZ {p}"]
    return [f"TZ {p}", f"TZ{p}"]


def _hardware_rows(pid: str, prod: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    vendor = _VENDOR_OF_SHARED.get(pid, pid)
    for i, h in enumerate(prod.get("hardware") or []):
        where = f"{SHARED_OVERLAY}: {pid}.hardware[{i}]"
        if not isinstance(h, dict) or h.get("source") is None:
            continue
        src = _source(h["source"], where, h.get("cited_vendor_url"))
        inferred: str | None = None
        if pid == "cisco-ios-classic-catalyst":
            fam = str(h.get("family", ""))
            match = next(((name, pats) for name, pats in _CISCO_FAMILIES
                          if fam.startswith(name)), None)
            if match is None:
                continue
            family, patterns = match[0], list(match[1])
            last = _shared_date(h.get("last_date_of_support"), where)
            eos = _shared_date(h.get("end_of_sale"), where)
        elif pid == "sophos-firewall-sfos":
            fam = str(h.get("family", ""))
            inner = re.search(r"\(XG ([^)]*)\)", fam)
            if inner is None:
                raise OverlayBuildError(f"{where}: no XG model list in {fam!r}")
            family = "Sophos XG Series"
            patterns = [f"XG {m.strip()}" for m in inner.group(1).split("/") if m.strip()]
            last = _shared_date(h.get("end_of_life"), where)
            eos = None
        elif pid == "sonicwall-sonicos":
            printed = str(h.get("model_as_printed", ""))
            if _SONICWALL_SKIP.search(printed):
                continue  # a regional variant with other dates than the model of that name
            family = f"SonicWall {printed} (model as printed)"
            patterns = _sonicwall_patterns(printed)
            last = _shared_date(h.get("end_of_support"), where)
            eos = _shared_date(h.get("last_order_day"), where)
            inferred = ("the stored copy of SonicWall's table shows model names without the "
                        "table's heading; undone reads them as TZ/SOHO models")
        else:
            continue
        if last is None:
            continue
        rows.append({"vendor": vendor, "family": family, "patterns": patterns,
                     "last_day_of_support": last.isoformat(), "end_of_sale": _iso(eos),
                     "source": src, "inferred": inferred})
    return rows


def derive(doc: Any, sha256: str) -> dict[str, Any]:
    """The shipped device overlay from the shared overlay document (already parsed YAML)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("products"), list):
        raise OverlayBuildError(f"{SHARED_OVERLAY}: expected a mapping with a products list")
    meta = doc.get("meta") or {}
    firmware: list[dict[str, Any]] = []
    hardware: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []
    coverage: dict[str, str] = {}
    for prod in doc["products"]:
        if not isinstance(prod, dict) or not isinstance(prod.get("id"), str):
            raise OverlayBuildError(f"{SHARED_OVERLAY}: a product without an id")
        pid = prod["id"]
        coverage[pid] = " ".join(str(prod.get("coverage", "")).split())
        if pid in _FIRMWARE_PRODUCTS:
            firmware += _firmware_rows(pid, prod)
        hardware += _hardware_rows(pid, prod)
        for j, pol in enumerate(prod.get("policy") or []):
            if isinstance(pol, dict) and pol.get("fact") and pol.get("source"):
                policies.append({
                    "vendor": _VENDOR_OF_SHARED.get(pid, str(prod.get("vendor", pid))),
                    "product": pid,
                    "text": " ".join(str(pol["fact"]).split()),
                    "source": _source(pol["source"], f"{SHARED_OVERLAY}: {pid}.policy[{j}]"),
                })
    return {
        "schema": DEVICE_SCHEMA,
        "derived_from": {"path": str(Path("shared/data") / SHARED_OVERLAY), "sha256": sha256,
                         "read_date": str(meta.get("read_date", "")),
                         "rules": " ".join(str(meta.get("rules", "")).split())},
        "trust": ("primary and local rows can pass or fail a rule; secondary rows and rows "
                  "whose model mapping is inferred can only prove a failure"),
        "coverage": coverage,
        "firmware": firmware,
        "hardware": hardware,
        "policies": policies,
    }


def render_device_overlay(src: Path) -> str:
    """``device-overlay.json`` text from a ``../shared/data`` folder (deterministic)."""
    import yaml  # the shared file is plain YAML; undone's own loader is for user files

    path = src / SHARED_OVERLAY
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise OverlayBuildError(f"{path}: {e.strerror}") from None
    doc = yaml.safe_load(raw.decode("utf-8"))
    derived = derive(doc, hashlib.sha256(raw).hexdigest())
    return json.dumps(derived, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
