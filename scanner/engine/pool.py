"""The cost guard: how many hosts are collected at once, per site and per run, and how fast
new connections are opened (``site_concurrency``, ``--max-rate``, the shared budget of a
folder scan). Used by scanner/engine/collect.py around each host's collection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from scanner.engine.options import Options
from scanner.engine.records import interrupted_stub
from scanner.inventory import Host
from scanner.result import HostRecord

DEFAULT_SITE_CONCURRENCY = 8  # sshd refuses at random from its 11th unauthenticated connection


def site_of(host: Host) -> str | None:
    """The site a host is reached through, for the per-site cap: its ``site`` variable, else its
    jump host (every host behind one bastion shares the bastion and its link), else none."""
    if host.site:
        return host.site
    return f"jump:{host.jump}" if host.jump else None


class RateLimit:
    """At most ``rate`` new connections a second across threads (a token bucket holding one
    token: connections are spaced ``1/rate`` apart, never bunched)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, cancel: threading.Event | None = None) -> None:
        with self._lock:
            at = max(time.monotonic(), self._next)
            self._next = at + self.interval
        delay = at - time.monotonic()
        if delay > 0:
            if cancel is not None:
                cancel.wait(delay)
            else:
                time.sleep(delay)


def _acquire(sem: threading.Semaphore, cancel: threading.Event | None) -> bool:
    """Take a slot, giving up when the scan is interrupted."""
    while not sem.acquire(timeout=0.2):
        if cancel is not None and cancel.is_set():
            return False
    return True


class CostGuard:
    """The cost guard around each host's collection: a slot of the site's cap (per site, the
    smallest ``site_concurrency`` its hosts declare, default :data:`DEFAULT_SITE_CONCURRENCY`),
    a slot of the run's shared budget (``Options.budget``), then a token of ``--max-rate``. The
    host's own time limit starts only once it has all three."""

    def __init__(self, hosts: Iterable[Host], opts: Options) -> None:
        caps: dict[str, int] = {}
        for h in hosts:
            site = site_of(h)
            if site is not None:
                cap = h.site_concurrency or DEFAULT_SITE_CONCURRENCY
                caps[site] = min(caps.get(site, cap), cap)
        self.sites = {s: threading.BoundedSemaphore(c) for s, c in caps.items()}
        self.rate = RateLimit(opts.max_rate) if opts.max_rate else None
        self.budget = opts.budget

    @staticmethod
    def order(hosts: list[Host]) -> list[Host]:
        """Hosts taken from each site in turn, so that workers waiting on one site's cap do not
        hold up the hosts of another."""
        queues: dict[str | None, list[Host]] = {}
        for h in hosts:
            queues.setdefault(site_of(h), []).append(h)
        out: list[Host] = []
        lists = list(queues.values())
        for i in range(max((len(q) for q in lists), default=0)):
            out.extend(q[i] for q in lists if i < len(q))
        return out

    def run(self, host: Host, opts: Options, work: Callable[[], HostRecord]) -> HostRecord:
        """``work()`` (collecting the host) once the host holds its slots; the record of a host
        not scanned if the scan is interrupted while it waits."""
        cancel = opts.cancel
        site = site_of(host)
        sem = self.sites.get(site) if site is not None else None
        if sem is not None and not _acquire(sem, cancel):
            return interrupted_stub(host)
        try:
            if self.budget is not None and not _acquire(self.budget, cancel):
                return interrupted_stub(host)
            try:
                if self.rate is not None and host.transport != "local":
                    self.rate.wait(cancel)
                if cancel is not None and cancel.is_set():
                    return interrupted_stub(host)
                return work()
            finally:
                if self.budget is not None:
                    self.budget.release()
        finally:
            if sem is not None:
                sem.release()
