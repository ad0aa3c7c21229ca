"""The engine's options: one scan's limits and switches, handed to every unit of work."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from scanner.engine.batch import DEFAULT_SECTION_CAP, DEFAULT_TOTAL_CAP


@dataclass
class Options:
    concurrency: int = 16
    timeout: float = 120.0
    connect_timeout: float = 10.0
    section_timeout: int = 60
    cap: int = DEFAULT_SECTION_CAP
    total_cap: int = DEFAULT_TOTAL_CAP
    excerpt: int = 8192
    max_catalogue_age_days: int = 400
    lifecycle_local: Any = None  # the local lifecycle overlay (scanner.lifecycle.local_overlay)
    # the cost guard: new connections a second for this scan (None: no limit), and a budget of
    # host slots shared with other scans of one run (scanner/ops/estates.py: many estates at once)
    max_rate: float | None = None
    budget: threading.Semaphore | None = None
    # undone's own known_hosts (--known-hosts): the only file trust on first use writes to
    known_hosts: str | None = None
    # set when the scan is interrupted (the CLI sets it on SIGINT, SIGTERM, SIGHUP): hosts not
    # finished stop within about a second and are reported as not scanned
    cancel: threading.Event | None = None

    def idle_timeout(self) -> float:
        """Seconds without any output after which a host counts as stalled: longer than any
        section may run on the target (each section prints its markers when it starts and
        ends, and runs under ``timeout``)."""
        return self.section_timeout + 30.0
