"""What a scan shows while it runs, on standard error.

On a terminal: a live line (rich) with the hosts done of the total, how many are running, how
many could not be reached so far and the time elapsed, and above it one line for each host that
could not be reached. Without a terminal (cron, a pipe, a CI log): one plain line per host as it
lands, which is what a log wants. Either way a host that could not be reached is one line, never
one line per rule.

Target text (host names given by the inventory, error messages) is cleaned of control
characters first (reports.clean), and rich is given ``Text`` objects, never markup.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from reports import clean
from scanner.ops.run import host_line


def plain_line(rec: Mapping[str, Any], results: Sequence[Mapping[str, Any]],
               prefix: str = "undone: ") -> str:
    """``undone: web01 (192.0.2.10) ok 812ms fail=3 pass=40`` (or ``UNREACHABLE: why``): the
    folder run's line too (scanner/ops/run.py)."""
    return clean(prefix) + host_line(rec, results)


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


class Progress:
    """Per-host progress: ``start(planned)`` once the hosts are known, ``host(rec, results)``
    as each lands (from any thread), ``stop()`` at the end. ``live``: None decides from the
    stream (a terminal or not)."""

    def __init__(self, stream: TextIO, concurrency: int = 16, live: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.concurrency = max(1, concurrency)
        self.live = is_terminal(stream) if live is None else live
        self.clock = clock
        self.planned = 0
        self.done = 0
        self.unreachable = 0
        self.started = clock()
        self._lock = threading.Lock()
        self._bar: Any = None
        self._task: Any = None

    def start(self, planned: int) -> None:
        with self._lock:
            self.planned = planned
            self.started = self.clock()
            if not self.live or self._bar is not None:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            console = Console(file=self.stream, force_terminal=True, highlight=False,
                              emoji=False)
            self._bar = Progress(
                TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TextColumn("hosts"),
                TextColumn("{task.fields[running]} running, {task.fields[unreachable]} not "
                           "reached"), TimeElapsedColumn(), console=console, transient=True,
                refresh_per_second=4)
            self._task = self._bar.add_task("scan", total=planned, running=self._running(),
                                            unreachable=0)
            self._bar.start()

    def _running(self) -> int:
        return min(self.concurrency, max(0, self.planned - self.done))

    def host(self, rec: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            self.done += 1
            if not rec.get("reachable"):
                self.unreachable += 1
            if self._bar is None:
                self.stream.write(plain_line(rec, results) + "\n")
                self.stream.flush()
                return
            from rich.text import Text

            if not rec.get("reachable"):
                self._bar.console.print(Text(clean(
                    f"✖ {rec['name']} ({rec.get('address')}) not reached: {rec.get('error')}"
                )[:300], style="red"))
            self._bar.update(self._task, completed=self.done, running=self._running(),
                             unreachable=self.unreachable)

    def stop(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None

    def line(self) -> str:
        """Where things stand, in one line (for the end of a scan or a log)."""
        took = self.clock() - self.started
        return (f"{self.done} of {self.planned} hosts done, {self.unreachable} not reached, "
                f"{took:.0f}s")
