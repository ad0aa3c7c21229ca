"""What the Windows parsers share: the section's JSON document, the records of the prelude's
``undone_try``/``undone_list`` (a value, or an error with its reason), and dates.

A Windows section writes one JSON object. Each read in it is one of:

* ``{"value": ...}``: what the read gave (``null`` when the thing is not there);
* ``{"error": "...", "error_type": "..."}``: why the read failed (the exception's message);
* a plain value or a table of registry values (``undone_regvalues``; absent values ``null``).

Dates arrive as ISO 8601 UTC text (the prelude converts them); Windows PowerShell's own JSON form
``/Date(milliseconds)/`` and the text dates of ``Win32_QuickFixEngineering.InstalledOn`` (always
month/day/year: :func:`qfe_date`) are read too.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from probes.base import RawSection, parse_utc

_MISSING = object()
_MS_DATE = re.compile(r"^\\?/Date\((-?\d+)(?:[+-]\d{4})?\)\\?/$")
_FILETIME = re.compile(r"^[0-9a-fA-F]{15,16}$")

PRODUCT_TYPES = {1: "workstation", 2: "domain-controller", 3: "server"}


class OutputError(ValueError):
    """The section's output is not the JSON document its script writes."""


def document(raw: RawSection) -> dict[str, Any]:
    text = raw.stdout.strip()
    if not text:
        raise OutputError(f"{raw.name}: no output")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise OutputError(f"{raw.name}: output is not JSON ({e.msg} at {e.pos})") from None
    if not isinstance(doc, dict):
        raise OutputError(f"{raw.name}: output is JSON but not an object")
    return doc


def read(doc: dict[str, Any], key: str, what: str) -> tuple[Any, str | None]:
    """(value, None) or (None, reason) for one read of the document."""
    rec = doc.get(key, _MISSING)
    if rec is _MISSING:
        return None, f"{what}: not in the section's output"
    if isinstance(rec, dict):
        if "error" in rec and set(rec) <= {"error", "error_type"}:
            return None, f"{what}: {rec['error']}"
        if "value" in rec and set(rec) <= {"value", "exit_code"}:
            return rec["value"], None
    return rec, None


def failed(doc: dict[str, Any], key: str) -> bool:
    rec = doc.get(key)
    return isinstance(rec, dict) and "error" in rec and set(rec) <= {"error", "error_type"}


def error_type(doc: dict[str, Any], key: str) -> str | None:
    rec = doc.get(key)
    if isinstance(rec, dict) and "error" in rec:
        return str(rec.get("error_type") or "")
    return None


def listed(value: Any) -> list[Any]:
    """A list whatever PowerShell made of it (it unwraps one-item arrays in places)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def number(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def when(value: Any) -> datetime | None:
    """An ISO 8601 text or Windows PowerShell's ``/Date(ms)/`` as an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    t = value.strip()
    m = _MS_DATE.match(t)
    if m:
        ms = int(m.group(1))
        if ms <= 0:
            return None
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    dt = parse_utc(t)
    if dt is None or dt.year < 1971:
        return None
    return dt


_INVARIANT_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2}):(\d{2}))?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def qfe_date(text: str) -> datetime | None:
    """A date as ``Win32_QuickFixEngineering.InstalledOn`` gives it, in the forms PowerShell's own
    InstalledOn property reads (PowerShell's types.ps1xml): month/day/year text in the invariant
    culture on every locale (``3/15/2024``; ``03/15/2024 00:00:00`` when PowerShell writes its
    DateTime back with ``[string]``), a hexadecimal FILETIME (older systems), or ``yyyyMMdd``.
    Anything else (a date in some locale's order, say ``15.03.2024``) is unknown (None), never a
    guess."""
    t = (text or "").strip()
    if not t:
        return None
    if _FILETIME.match(t):
        ticks = int(t, 16)
        dt = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)
        return dt if dt.year >= 1971 else None
    m = _INVARIANT_DATE.fullmatch(t) or _COMPACT_DATE.fullmatch(t)
    if m is None:
        iso = when(t) if "-" in t else None
        return iso
    try:
        if len(m.group(1)) == 4:  # yyyyMMdd
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        else:
            mo, d, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        dt = datetime(y, mo, d, tzinfo=UTC)
    except ValueError:
        return None
    return dt if dt.year >= 1971 else None


def product_type(doc: dict[str, Any]) -> str | None:
    value, _ = read(doc, "product_type", "product type")
    n = number(value)
    return PRODUCT_TYPES.get(n) if n is not None else None
