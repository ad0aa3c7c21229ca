"""The cost guard: a per-site cap on hosts collected at once, a rate of new connections, and a
budget shared by many estates, proved by counting connections at a real TCP server on
127.0.0.1 that plays a slow sshd (it accepts, waits, then hangs up without a banner)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from scanner import inventory, yamlio
from scanner.engine import collect, pool
from scanner.engine.options import Options
from scanner.engine.pool import CostGuard, site_of

HOLD = 0.4  # seconds the server keeps each connection


class Counter:
    """Listens on ``n`` ports; counts connections open at once and when each arrived."""

    def __init__(self, n: int) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.arrivals: list[float] = []
        self.sockets = []
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(64)
            self.sockets.append(s)
        self.ports = [int(s.getsockname()[1]) for s in self.sockets]
        self.stop = threading.Event()
        for s in self.sockets:
            threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, s: socket.socket) -> None:
        s.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = s.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.arrivals.append(time.monotonic())
        time.sleep(HOLD)
        with self.lock:
            self.now -= 1
        conn.close()

    def close(self) -> None:
        self.stop.set()
        for s in self.sockets:
            s.close()


@pytest.fixture
def server() -> Iterator[Counter]:
    c = Counter(12)
    yield c
    c.close()


def hosts(ports: list[int], group_vars: str = "") -> list[inventory.Host]:
    lines = "".join(f"    h{i:02d}: {{address: 127.0.0.1, port: {p}}}\n"
                    for i, p in enumerate(ports))
    text = (f"all:\n  vars: {{user: nobody, connect_timeout: 5{group_vars}}}\n"
            f"  hosts:\n{lines}")
    return list(inventory.parse(yamlio.load_text(text, "inv.yaml"), "inv.yaml").hosts)


def run(hs: list[inventory.Host], **opts: object) -> list[dict[str, object]]:
    return collect.collect(hs, [], Options(concurrency=16, timeout=20, **opts))  # type: ignore[arg-type]


def test_site_concurrency_caps_connections_at_the_site(server: Counter) -> None:
    recs = run(hosts(server.ports, ", site: office, site_concurrency: 3"))
    assert len(recs) == 12 and not any(r["reachable"] for r in recs)  # no sshd: unreachable
    assert all("banner" in str(r["error"]) or "lost" in str(r["error"]) for r in recs), recs
    assert len(server.arrivals) == 12
    assert server.peak == 3  # the cap, and used to the full


def test_without_a_site_only_the_concurrency_bounds(server: Counter) -> None:
    run(hosts(server.ports))
    assert server.peak > 3


def test_max_rate_spaces_new_connections(server: Counter) -> None:
    t0 = time.monotonic()
    run(hosts(server.ports[:6]), max_rate=10.0)
    gaps = [b - a for a, b in zip(server.arrivals, server.arrivals[1:], strict=False)]
    assert len(server.arrivals) == 6
    # 10 a second: 0.1 s apart. Arrivals at the server carry the connect's own jitter (one late
    # connection shortens the next gap), so the bound is on the spread, with slack for a loaded
    # machine; without the limit all six arrive within a few milliseconds.
    assert min(gaps) >= 0.05, gaps
    assert server.arrivals[-1] - server.arrivals[0] >= 0.45, gaps
    assert server.arrivals[-1] - t0 >= 0.45


def test_a_budget_shared_by_two_estates_bounds_them_together(server: Counter) -> None:
    budget = threading.BoundedSemaphore(2)
    a, b = hosts(server.ports[:6]), hosts(server.ports[6:])
    threads = [threading.Thread(target=collect.collect,
                                args=(hs, [], Options(concurrency=16, timeout=20, budget=budget)))
               for hs in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(server.arrivals) == 12
    assert server.peak == 2


def test_hosts_behind_one_jump_host_are_one_site_capped_at_8_by_default() -> None:
    text = """
all:
  children:
    branch:
      vars: {jump: admin@bastion.example.org}
      hosts:
        pc[01:20].branch.example.org:
    hq:
      vars: {site: hq, site_concurrency: 4}
      hosts:
        srv[1:3].hq.example.org:
    loose:
      hosts:
        nas.example.org:
"""
    hs = list(inventory.parse(yamlio.load_text(text, "inv.yaml"), "inv.yaml").hosts)
    by = {h.name: h for h in hs}
    assert site_of(by["pc01.branch.example.org"]) == "jump:admin@bastion.example.org"
    assert site_of(by["srv1.hq.example.org"]) == "hq"
    assert site_of(by["nas.example.org"]) is None
    guard = CostGuard(hs, Options())
    caps = {s: sem._value for s, sem in guard.sites.items()}
    assert caps == {"jump:admin@bastion.example.org": pool.DEFAULT_SITE_CONCURRENCY, "hq": 4}
    assert pool.DEFAULT_SITE_CONCURRENCY < 10  # below sshd's MaxStartups 10:30:100
    order = [h.name for h in guard.order(hs)]
    assert order[:3] == ["pc01.branch.example.org", "srv1.hq.example.org", "nas.example.org"]
