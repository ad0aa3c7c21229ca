"""Network devices in the lifecycle catalogue: the derived vendor overlay, hardware end of
support, and the local overlay an MSP or auditor adds.

Three sources of dates for firmware and hardware that endoflife.date does not cover, each row
keeping where it came from:

* **The derived overlay** (``baselines/lifecycle/device-overlay.json``), generated from
  ``../shared/data/lifecycle-overlay/overlay.yaml`` by ``python -m scanner.lifecycle build`` (a
  test checks the shipped file equals a fresh build). Every row carries its source (URL, or
  repository, ref, path and commit) and its **class**: ``primary`` (the vendor's own page,
  document or repository) or ``secondary`` (an unmerged endoflife.date pull request, news, a
  reseller, a wiki). What the shared data marks unknown is left out: no row, never a guess.
* **The local overlay**: rows an MSP or auditor adds, in a ``lifecycle:`` section of the
  inventory or in ``local-overlay.yaml`` in the lifecycle data folder (``undone lifecycle
  status`` names it). Each row needs a source URL; its class is ``local``.
* endoflife.date itself (``catalogue.json``), unchanged.

**How a class is trusted.** A false pass is the worst outcome, so a ``secondary`` row can date a
failure (a last day of support that has passed is past whoever reported it) but never a pass: a
date still ahead, or "supported", from a secondary source only gives an error that says which
source said what, and what would confirm it. Rows whose model mapping is undone's own inference
(SonicWall's table printed without its heading) are treated the same way. ``primary``, ``local``
and endoflife.date rows can do both.

Hardware rows match a device's model (``device.model``: a Cisco PID such as ``WS-C2960+24TC-L``,
``TZ 400``) against shell-style patterns (``WS-C2960+*``), compared upper case and without
spaces, for the device's vendor only.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from scanner.errors import InputError

DEVICE_OVERLAY_FILE = "device-overlay.json"
DEVICE_SCHEMA = "undone.device-overlay/1"
LOCAL_FILE = "local-overlay.yaml"
SHARED_OVERLAY = Path("lifecycle-overlay") / "overlay.yaml"

PRIMARY, SECONDARY, LOCAL = "primary", "secondary", "local"
#: classes that may make a rule pass (endoflife.date is the catalogue's own source)
PASSING_CLASSES = (PRIMARY, LOCAL, "endoflife.date")

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_URL_RE = re.compile(r"^https?://[^\s\"'<>]+$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), start=1)}


class OverlayBuildError(Exception):
    """The shared overlay is not what the derivation expects."""


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HardwareRow:
    """A hardware family and its end of support. ``patterns`` match model names (see
    :func:`model_key`); ``last_support`` is the last day the vendor supports it (Cisco's Last
    Date of Support, SonicWall's and Sophos's End of Support/Life)."""

    vendor: str
    family: str
    patterns: tuple[str, ...]
    last_support: date | None
    end_of_sale: date | None
    source: Mapping[str, Any]
    inferred: str | None = None

    @property
    def source_class(self) -> str:
        return str(self.source.get("class", SECONDARY))

    def matches(self, vendor: str | None, model: str | None) -> bool:
        if not model or not vendor or vendor.casefold() != self.vendor.casefold():
            return False
        key = model_key(model)
        return any(fnmatch.fnmatchcase(key, model_key(p)) for p in self.patterns)

    def as_json(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "family": self.family,
            "patterns": list(self.patterns),
            "last_day_of_support": self.last_support.isoformat() if self.last_support else None,
            "end_of_sale": self.end_of_sale.isoformat() if self.end_of_sale else None,
            "source": dict(self.source),
            "class": self.source_class,
            "inferred": self.inferred,
        }


@dataclass(frozen=True)
class FirmwareRow:
    """One release cycle (train) of a firmware product from the derived or local overlay."""

    product: str
    title: str
    cycle: str
    eol: date | None  # end of security fixes; None: unknown (see eol_unknown) or not ended
    eol_unknown: bool
    source: Mapping[str, Any]
    release_date: date | None = None
    eoas: date | None = None
    last_support: date | None = None
    latest: str | None = None
    latest_date: date | None = None
    versions: Mapping[str, date] = field(default_factory=dict)
    unsupported_versions: Mapping[str, date] = field(default_factory=dict)
    as_of: date | None = None

    @property
    def source_class(self) -> str:
        return str(self.source.get("class", SECONDARY))


@dataclass(frozen=True)
class Policy:
    vendor: str
    text: str
    source: Mapping[str, Any]


@dataclass(frozen=True)
class DeviceOverlay:
    firmware: tuple[FirmwareRow, ...] = ()
    hardware: tuple[HardwareRow, ...] = ()
    policies: tuple[Policy, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    def hardware_for(self, vendor: str | None, model: str | None) -> HardwareRow | None:
        return next((h for h in self.hardware if h.matches(vendor, model)), None)

    def policies_for(self, vendor: str | None) -> list[Policy]:
        v = (vendor or "").casefold()
        return [p for p in self.policies if v and p.vendor.casefold() == v]


def model_key(model: str) -> str:
    """A model name as compared: upper case, no white space (``TZ 400`` == ``tz400``)."""
    return re.sub(r"\s+", "", model).upper()


# --------------------------------------------------------------------------------------------
# Loading the shipped overlay
# --------------------------------------------------------------------------------------------


def _d(value: Any) -> date | None:
    if isinstance(value, str) and _DATE_RE.match(value):
        return date.fromisoformat(value)
    return None


def overlay_from_json(text: str, label: str = DEVICE_OVERLAY_FILE) -> DeviceOverlay:
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("schema") != DEVICE_SCHEMA:
        raise InputError(f"{label}: not a device overlay (expected schema {DEVICE_SCHEMA!r})")
    fw = tuple(
        FirmwareRow(
            product=r["product"], title=r["title"], cycle=r["cycle"], eol=_d(r.get("eol")),
            eol_unknown=r.get("eol_state") == "unknown", source=r["source"],
            release_date=_d(r.get("release_date")), eoas=_d(r.get("eoas")),
            last_support=_d(r.get("last_day_of_support")), latest=r.get("latest"),
            latest_date=_d(r.get("latest_date")),
            versions={k: d for k, v in (r.get("versions") or {}).items() if (d := _d(v))},
            unsupported_versions={k: d for k, v in (r.get("unsupported_versions") or {}).items()
                                  if (d := _d(v))},
            as_of=_d(r["source"].get("as_of")),
        )
        for r in doc.get("firmware") or []
    )
    hw = tuple(
        HardwareRow(vendor=r["vendor"], family=r["family"], patterns=tuple(r["patterns"]),
                    last_support=_d(r.get("last_day_of_support")),
                    end_of_sale=_d(r.get("end_of_sale")), source=r["source"],
                    inferred=r.get("inferred"))
        for r in doc.get("hardware") or []
    )
    pol = tuple(Policy(p["vendor"], p["text"], p["source"]) for p in doc.get("policies") or [])
    return DeviceOverlay(fw, hw, pol, {"derived_from": doc.get("derived_from"),
                                       "trust": doc.get("trust")})


@functools.lru_cache(maxsize=1)
def shipped() -> DeviceOverlay:
    text = (resources.files("baselines") / "lifecycle" / DEVICE_OVERLAY_FILE).read_text("utf-8")
    return overlay_from_json(text, f"baselines/lifecycle/{DEVICE_OVERLAY_FILE}")


# --------------------------------------------------------------------------------------------
# The local overlay (inventory `lifecycle:` section, or local-overlay.yaml in the data folder)
# --------------------------------------------------------------------------------------------

_LOCAL_FIRMWARE_KEYS = ("product", "train", "cycle", "version", "end_of_support",
                        "release_date", "source", "note", "title")
_LOCAL_HARDWARE_KEYS = ("vendor", "model", "family", "last_day_of_support", "end_of_sale",
                        "source", "note")
_LOCAL_KEYS = tuple(dict.fromkeys(_LOCAL_FIRMWARE_KEYS + _LOCAL_HARDWARE_KEYS))


@dataclass(frozen=True)
class LocalOverlay:
    """Validated local rows (firmware and hardware), each with its source URL and where it was
    written (``inventory.yaml: lifecycle[0]``)."""

    firmware: tuple[FirmwareRow, ...] = ()
    hardware: tuple[HardwareRow, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.firmware or self.hardware)

    def __add__(self, other: LocalOverlay) -> LocalOverlay:
        return LocalOverlay(self.firmware + other.firmware, self.hardware + other.hardware)


def _type(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def _local_date(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and len(value) <= 300 and "\n" not in value:
        return value.strip()
    return None


def parse_local(raw: Any, label: str, key: str = "lifecycle") -> tuple[LocalOverlay, list[str]]:
    """Validate a local overlay list (the inventory's ``lifecycle:`` section, or the list under
    ``lifecycle:`` in the data folder's file). Returns the rows and one problem line per mistake
    (``FILE: lifecycle[2].source: ...``); nothing is raised here, so the inventory can report
    these beside its own problems."""
    problems: list[str] = []
    if raw is None:
        return LocalOverlay(), problems
    if not isinstance(raw, list):
        return LocalOverlay(), [f"{label}: {key}: is {_type(raw)}, expected a list of rows "
                                "(product and train, or vendor and model; dates; source URL)"]
    firmware: list[FirmwareRow] = []
    hardware: list[HardwareRow] = []
    for i, row in enumerate(raw[:10_000]):
        where = f"{key}[{i}]"
        if not isinstance(row, dict):
            problems.append(f"{label}: {where}: is {_type(row)}, expected a mapping")
            continue
        bad = [k for k in row if not isinstance(k, str) or k not in _LOCAL_KEYS]
        for k in bad:
            problems.append(f"{label}: {where}: unknown key {str(k)[:60]!r}; expected "
                            f"{', '.join(_LOCAL_KEYS)}")
        if bad:
            continue
        url = row.get("source")
        src_ok = isinstance(url, str) and len(url) <= 2000 and _URL_RE.match(url.strip())
        if not src_ok:
            what = "missing" if url is None else f"is {_type(url)} that is not an http(s) URL"
            problems.append(f"{label}: {where}.source: {what}; expected the http(s) URL of the "
                            "page that gives these dates (a vendor bulletin, a support notice)")
        is_hw = "model" in row
        is_fw = "product" in row
        if is_hw == is_fw:
            problems.append(f"{label}: {where}: expected either 'product' with 'train' (a "
                            "firmware train) or 'vendor' with 'model' (hardware)")
            continue
        source = {"class": LOCAL, "url": str(url).strip() if src_ok else None,
                  "where": f"{label}: {where}"}
        if isinstance(row.get("note"), str):
            source["note"] = row["note"][:300]
        if is_fw:
            product = row.get("product")
            if not (isinstance(product, str) and _SLUG_RE.match(product)):
                problems.append(f"{label}: {where}.product: expected a product name in lower "
                                "case (cisco-ios, pfsense, sophos-sfos, routeros, ...), got "
                                f"{_type(product)}")
                continue
            names = [k for k in ("train", "cycle", "version") if k in row]
            if len(names) != 1 or _text(row.get(names[0])) is None:
                problems.append(f"{label}: {where}: expected one of 'train', 'cycle' or "
                                "'version' as text (quote it: \"12.2(55)SE\", \"2.7\")")
                continue
            eol = _local_date(row.get("end_of_support"))
            if eol is None:
                problems.append(f"{label}: {where}.end_of_support: expected a date "
                                "(YYYY-MM-DD): the last day the vendor ships security fixes "
                                "for it")
            rel = row.get("release_date")
            if rel is not None and _local_date(rel) is None:
                problems.append(f"{label}: {where}.release_date: expected a date (YYYY-MM-DD)")
            if not src_ok or eol is None or (rel is not None and _local_date(rel) is None):
                continue
            firmware.append(FirmwareRow(
                product=product, title=_text(row.get("title")) or product,
                cycle=str(_text(row[names[0]])), eol=eol, eol_unknown=False, source=source,
                release_date=_local_date(rel)))
        else:
            vendor, model = _text(row.get("vendor")), _text(row.get("model"))
            if vendor is None or model is None:
                problems.append(f"{label}: {where}: expected 'vendor' and 'model' as text "
                                "(model: the part number as the device reports it, * for any "
                                "characters: WS-C2960-24TT-L, WS-C2960-*)")
                continue
            last = _local_date(row.get("last_day_of_support"))
            if last is None:
                problems.append(f"{label}: {where}.last_day_of_support: expected a date "
                                "(YYYY-MM-DD): the vendor's last day of support for it")
            eos = row.get("end_of_sale")
            if eos is not None and _local_date(eos) is None:
                problems.append(f"{label}: {where}.end_of_sale: expected a date (YYYY-MM-DD)")
            if not src_ok or last is None or (eos is not None and _local_date(eos) is None):
                continue
            hardware.append(HardwareRow(
                vendor=vendor, family=_text(row.get("family")) or model, patterns=(model,),
                last_support=last, end_of_sale=_local_date(eos), source=source))
    if len(raw) > 10_000:
        problems.append(f"{label}: {key}: {len(raw)} rows; at most 10000 are read")
    return LocalOverlay(tuple(firmware), tuple(hardware)), problems


def local_file(folder: Path) -> Path:
    return folder / LOCAL_FILE


def load_local_file(path: Path, loader: Any) -> LocalOverlay:
    """The data folder's local overlay (``lifecycle:`` list at the top), or an empty one when the
    file does not exist. ``loader`` is undone's bounded YAML file loader. Raises InputError."""
    if not path.exists():
        return LocalOverlay()
    doc = loader(str(path))
    label = str(path)
    if not isinstance(doc, dict) or set(doc) - {"lifecycle"}:
        raise InputError(f"{label}: expected a mapping with one key, 'lifecycle' (a list of "
                         "rows, as in an inventory's lifecycle section)")
    rows, problems = parse_local(doc.get("lifecycle"), label)
    if problems:
        raise InputError(problems)
    return rows


def policies_json(policies: Iterable[Policy]) -> list[dict[str, Any]]:
    return [{"vendor": p.vendor, "text": p.text, "source": dict(p.source)} for p in policies]
