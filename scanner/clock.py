"""The scanner's one clock: every time a scan records (when a host was collected, when the scan
started, what "today" is for waivers and history) comes from :func:`now`.

It is a seam for tests, never a setting: a test that judges an age runs the scanner at a fixed
moment (``tests/clock.py``: ``python -m tests.clock 2026-11-22T00:30:00Z scan ...``) so that
"a fix released 38 days ago" is 38 days old on any day the suite runs. Nothing in undone sets it;
there is no option or environment variable that moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _system() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _system


def now() -> datetime:
    """The current time, in UTC."""
    return _source()


def use(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (``None``: the system clock again). For tests only."""
    global _source
    _source = source or _system
