"""Times as the history stores them (whole seconds since the epoch, UTC; days for dates), and
when a finding is due under the contract's days per severity."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from scanner import clock
from scanner.result import Dating

DEFAULT_DAYS: dict[str, int] = {"critical": 14, "high": 14, "medium": 30, "low": 90, "info": 180}


def due_days(contract_days: Mapping[str, int] | None) -> dict[str, int]:
    """Days allowed per severity: the contract's, and :data:`DEFAULT_DAYS` for the rest."""
    days = dict(DEFAULT_DAYS)
    days.update(contract_days or {})
    return days


def utcnow() -> datetime:
    return clock.now()


def _ts(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def iso(ts: int | None) -> str | None:
    return None if ts is None else _dt(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_iso(day: int | None) -> str | None:
    return None if day is None else date.fromordinal(day).isoformat()


def _parse_time(value: Any) -> int | None:
    """An ISO 8601 date or date-time (UTC when no zone) as epoch seconds, or None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            return _ts(datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC))
        return _ts(datetime.fromisoformat(text))
    except ValueError:
        return None


def parse_scan_time(value: str) -> int:
    ts = _parse_time(value)
    if ts is None:
        raise ValueError(f"not an ISO 8601 time: {value!r}")
    return ts


def dating(opened_at: int, due_day: int, episode: int, fail: bool, today: int) -> Dating:
    """A failing result's finding in the result document's words: when its episode opened,
    the day it is due, for a ``fail`` (a waived finding is never overdue) how many whole days
    ``today`` (a day ordinal) is past due, and ``reopened`` from the second episode on."""
    out: Dating = {"first_seen": _dt(opened_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "due": date.fromordinal(due_day).isoformat()}
    if fail:
        out["overdue_days"] = max(0, today - due_day)
    if episode > 1:
        out["reopened"] = True
    return out
