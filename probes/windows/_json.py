"""What the Windows parsers share: the section's JSON document, the records of the prelude's
``undone_try``/``undone_list`` (a value, or an error with its reason), and dates.

A Windows section writes one JSON object. Each read in it is one of:

* ``{"value": ...}``: what the read gave (``null`` when the thing is not there);
* ``{"error": "...", "error_type": "..."}``: why the read failed (the exception's message);
* a plain value or a table of registry values (``undone_regvalues``; absent values ``null``).

Dates arrive as ISO 8601 UTC text (the prelude converts them); Windows PowerShell's own JSON form
``/Date(milliseconds)/`` and localised text dates (``Win32_QuickFixEngineering.InstalledOn``) are
read too, the latter with the culture's short date pattern (:func:`local_date`).
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


def _order(pattern: str | None) -> tuple[str, str, str] | None:
    """The order of day, month and year in a .NET short date pattern (``dd.MM.yyyy`` → dmy)."""
    if not pattern:
        return None
    seen: list[str] = []
    for ch in pattern:
        k = {"d": "d", "M": "m", "y": "y"}.get(ch)
        if k and k not in seen:
            seen.append(k)
    if len(seen) != 3:
        return None
    return seen[0], seen[1], seen[2]


def local_date(text: str, short_pattern: str | None = None) -> datetime | None:
    """A date as Windows writes it in ``Win32_QuickFixEngineering.InstalledOn``: a text date in
    some locale's order (``3/15/2024``, ``15.03.2024``, ``2024-03-15``), or a hexadecimal
    FILETIME (older systems). The culture's short date pattern decides between day and month
    first; when the numbers only fit the other order, that order is taken. An ambiguous date with
    no pattern to decide is unknown (None), never a guess."""
    t = (text or "").strip()
    if not t:
        return None
    if _FILETIME.match(t):
        ticks = int(t, 16)
        dt = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)
        return dt if dt.year >= 1971 else None
    iso = when(t)
    if iso is not None:
        return iso
    nums = re.findall(r"\d+", t)
    if len(nums) < 3:
        return None
    a, b, c = (int(n) for n in nums[:3])
    candidates: list[tuple[int, int, int]] = []  # (year, month, day)
    if len(nums[0]) == 4:
        candidates.append((a, b, c))
    else:
        year = c + 2000 if c < 100 else c
        order = _order(short_pattern)
        mdy, dmy = (year, a, b), (year, b, a)
        if order is not None and order[0] == "d":
            candidates += [dmy, mdy]
        elif order is not None and order[0] == "m":
            candidates += [mdy, dmy]
        elif a > 12:
            candidates.append(dmy)
        elif b > 12:
            candidates.append(mdy)
        else:
            return None
    for y, m, d in candidates:
        try:
            return datetime(y, m, d, tzinfo=UTC)
        except ValueError:
            continue
    return None


def product_type(doc: dict[str, Any]) -> str | None:
    value, _ = read(doc, "product_type", "product type")
    n = number(value)
    return PRODUCT_TYPES.get(n) if n is not None else None
