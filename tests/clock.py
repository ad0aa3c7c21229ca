"""A fixed "now" for tests that judge ages (scanner/clock.py is the seam).

Recorded outputs carry real dates ("a critical fix released on 2026-10-15"); judged against the
day the suite runs, their ages grow and verdicts flip. Tests that compare ages run the scanner
at the moment the outputs were recorded instead:

- in the test process: ``with frozen(AT): ...`` (the clock starts at ``AT`` and runs on, so that
  two scans in a row are still in order);
- as a user runs it, in a subprocess: ``python -m tests.clock 2026-11-22T00:30:00Z scan INV ...``
  runs ``undone`` with its clock starting at that moment (:func:`command` builds the argv).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from scanner import clock


def starting_at(at: datetime) -> Callable[[], datetime]:
    """A clock that reads ``at`` now and runs on in real time."""
    t0 = time.monotonic()
    return lambda: at + timedelta(seconds=time.monotonic() - t0)


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    clock.use(starting_at(at))
    try:
        yield
    finally:
        clock.use(None)


def command(at: datetime, *args: str) -> list[str]:
    """argv of ``undone ARGS`` with its clock starting at ``at``."""
    return [sys.executable, "-m", "tests.clock", at.strftime("%Y-%m-%dT%H:%M:%SZ"), *args]


def main(argv: list[str]) -> int:
    at = datetime.fromisoformat(argv[0].replace("Z", "+00:00")).astimezone(UTC)
    clock.use(starting_at(at))
    from scanner.cli.app import main as undone

    return undone(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
