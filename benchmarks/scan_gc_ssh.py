"""What a scan's freezing of judged hosts costs in memory: real SSH collections on loopback.

scanner/scan.py freezes (``gc.freeze``) what is alive each time a host is judged, so the
collector does not walk the hosts already judged again (benchmarks/scan_gc.py). The price:
objects alive at a freeze that later become cyclic garbage (a running connection's: paramiko's
transport, its threads, locks and events) wait for the scan's end instead of the next full
collection. This benchmark measures that on real connections: N SSH servers of
tests/sshserver.py on 127.0.0.1 (in a child process, mode ``empty``: the server reads the batch
and sends nothing, so each host is reached over paramiko with host key and password checks,
and its sections come back missing), scanned by ``scanner.scan.run`` with the real collection.

    python benchmarks/scan_gc_ssh.py [--hosts 300] [--concurrency 16] [--runs 2]
        [--tree OTHER_CHECKOUT ...] [--save benchmarks/results/scan_gc_ssh.json]

Each run is a fresh scanning process (after one warm-up scan of one host, so that imports and
caches are not counted): resident memory before, at the end of the scan and its peak, and how
many objects a full collection right after the scan frees (the cyclic garbage still held).
Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

SERVERS = """
import sys
from contextlib import ExitStack
from tests.sshserver import SSHServer, _ed25519, serving
key = _ed25519()
made = [SSHServer("empty", passwords={"root": "bench-pw"}, host_key=key) for _ in range(N)]
print(" ".join(str(s.port) for s in made))
print("|".join(s.known_hosts_line() for s in made), flush=True)
with ExitStack() as stack:
    for s in made:
        stack.enter_context(serving(s))
    sys.stdin.read()
"""


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(hosts: int, concurrency: int, folder: str) -> dict[str, Any]:
    import gc

    import scanner
    from scanner import inventory, scan
    from scanner.engine.options import Options
    from scanner.rules import baselines

    servers = subprocess.Popen(
        [sys.executable, "-c", SERVERS.replace("range(N)", f"range({hosts})")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert servers.stdout is not None and servers.stdin is not None
    try:
        ports = [int(p) for p in servers.stdout.readline().split()]
        Path(f"{folder}/known_hosts").write_text(
            servers.stdout.readline().strip().replace("|", "\n") + "\n")
        os.environ["UNDONE_BENCH_SSH_PW"] = "bench-pw"
        inv_hosts = {f"h{i:04d}": {"ansible_host": "127.0.0.1", "ansible_port": port,
                                   "user": "root", "password_env": "UNDONE_BENCH_SSH_PW",
                                   "known_hosts": f"{folder}/known_hosts"}
                     for i, port in enumerate(ports)}
        Path(f"{folder}/inventory.yaml").write_text(json.dumps({"all": {"hosts": inv_hosts}}))
        inv = inventory.load(f"{folder}/inventory.yaml")
        bls = baselines.load()
        opts = Options(concurrency=concurrency)
        scan.run(inv, bls, opts, host_filter=["h0000"])  # warm-up
        gc.collect()
        rss0 = _rss_mib()
        fds0 = len(os.listdir("/proc/self/fd"))
        t0, c0 = time.perf_counter(), time.process_time()
        doc = scan.run(inv, bls, opts)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rss1 = _rss_mib()
        fds1 = len(os.listdir("/proc/self/fd"))  # sockets a frozen, uncollected object holds
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        state = (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
        waiting = gc.collect()  # the cyclic garbage the scan's end still held
        return {"hosts": hosts, "reached": sum(1 for h in doc["hosts"] if h["reachable"]),
                "scan_s": wall, "scan_cpu_s": cpu, "rss_before_mib": rss0,
                "rss_end_mib": rss1, "maxrss_mib": peak, "growth_mib": rss1 - rss0,
                "garbage_at_end": waiting, "fds_before": fds0, "fds_end": fds1,
                "gc_state_after": state,
                "scanner": str(Path(scanner.__file__).parents[1])}
    finally:
        servers.stdin.close()
        servers.terminate()  # closing 300 servers one by one takes minutes; nothing to keep
        servers.wait(30)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--tree", action="append", default=[])
    ap.add_argument("--save")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--dir")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.hosts, a.concurrency, a.dir)))
        return 0
    trees = [str(ROOT), *(str(Path(t).resolve()) for t in a.tree)]
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in trees}
    for _ in range(a.runs):
        for tree in trees:
            with tempfile.TemporaryDirectory() as d:
                env = {**os.environ, "PYTHONPATH": f"{tree}:{ROOT}", "XDG_DATA_HOME": d}
                p = subprocess.run(
                    [sys.executable, __file__, "--child", "--hosts", str(a.hosts),
                     "--concurrency", str(a.concurrency), "--dir", d],
                    capture_output=True, text=True, check=False, env=env)
            if p.returncode:
                raise SystemExit(f"{tree}: the child failed:\n{p.stderr[-3000:]}")
            run = json.loads(p.stdout.strip().splitlines()[-1])
            if Path(run["scanner"]) != Path(tree):
                raise SystemExit(f"{tree}: the child ran {run['scanner']}'s code")
            runs[tree].append(run)
    medians = {}
    for tree in trees:
        med = {k: statistics.median(r[k] for r in runs[tree])
               for k in ("reached", "scan_s", "scan_cpu_s", "rss_before_mib", "rss_end_mib",
                         "maxrss_mib", "growth_mib", "garbage_at_end", "fds_before",
                         "fds_end")}
        medians[tree] = med
        print(f"{tree}: {a.hosts} SSH hosts on loopback ({med['reached']:.0f} reached), "
              f"concurrency {a.concurrency}, median of {a.runs} runs: {med['scan_s']:.1f} s "
              f"wall, {med['scan_cpu_s']:.2f} s CPU; RSS {med['rss_before_mib']:.1f} -> "
              f"{med['rss_end_mib']:.1f} MiB (+{med['growth_mib']:.1f}), peak "
              f"{med['maxrss_mib']:.1f} MiB; cyclic garbage still held at the end "
              f"{med['garbage_at_end']:.0f} objects; open files {med['fds_before']:.0f} -> "
              f"{med['fds_end']:.0f}; collector after "
              f"{runs[tree][0]['gc_state_after']}")
    for tree in trees[1:]:
        this, other = medians[trees[0]], medians[tree]
        print(f"{ROOT.name} - {Path(tree).name}: memory growth "
              f"{this['growth_mib'] - other['growth_mib']:+.1f} MiB "
              f"({(this['growth_mib'] - other['growth_mib']) * 1024 / a.hosts:+.0f} KiB a "
              f"host), garbage held {this['garbage_at_end'] - other['garbage_at_end']:+.0f} "
              f"objects ({(this['garbage_at_end'] - other['garbage_at_end']) / a.hosts:+.0f} "
              "a host)")
    if a.save:
        Path(a.save).write_text(json.dumps({
            "hosts": a.hosts, "concurrency": a.concurrency, "python": sys.version,
            "load": os.getloadavg(), "trees": {t: {"median": medians[t], "runs": runs[t]}
                                               for t in trees}}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
