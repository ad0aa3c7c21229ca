"""A whole scan's evaluation, the way a real scan runs it, and what the garbage collector costs.

benchmarks/eval_render.py evaluates N hosts × M rules in one loop and streams the results out,
so none is kept. A real scan (scanner/scan.py's ``run``) keeps every host's record and results
until the document is built, so the collector walks them again and again. This benchmark drives
``scanner.scan.run`` itself, with the real ``scanner.engine.collect.collect`` (its worker
threads, queue, cost guard and plans), and only the network replaced: each host's collection
returns a synthetic record built from tests/fixtures/scan/facts-estate-server.json (a real
scan of a test-estate Debian 12 server), varied per host as eval_render.py varies it, its facts
decoded afresh per host (``marshal``, as probes parse fresh objects). Then the document is
rendered to JSON by reports/jsonout.py, as ``undone scan --format json`` writes it.

    python benchmarks/scan_gc.py [--hosts 10000] [--rules 100] [--runs 3] [--repeat 1]
        [--tree OTHER_CHECKOUT ...] [--save benchmarks/results/scan_gc.json]

Each run is a fresh child process (peak RSS is that run's alone); with ``--tree`` the same runs
are made with another checkout's code, interleaved run by run, so that a before/after ratio is
measured under the same load. ``gc.callbacks`` count the collector's passes and time them per
generation. ``--repeat N`` runs the scan N times in one child (as a folder scan or a schedule
does in one process) and reports, after each, the collector's state (thresholds, freeze count,
whether it is enabled) and the resident memory once the document is dropped.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
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

FACTS = ROOT / "tests" / "fixtures" / "scan" / "facts-estate-server.json"


def _rss_mib() -> float:
    """The resident memory now (not the peak)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(hosts: int, nrules: int, out_path: str, repeat: int) -> dict[str, Any]:
    import gc
    import marshal
    from datetime import UTC, datetime

    import scanner
    from reports import jsonout
    from scanner import scan
    from scanner.engine import collect as collect_mod
    from scanner.engine.options import Options
    from scanner.engine.records import host_stub
    from scanner.inventory.model import Host, Inventory
    from scanner.result import as_json
    from scanner.rules import baselines

    base = json.loads(FACTS.read_text())
    facts_bytes = marshal.dumps(base["facts"])
    bls = baselines.load()
    params: dict[str, Any] = {}
    for b in bls:
        params.update(b.params)
    # the rules that apply to a Linux server, and copies of them under new ids (eval_render.py)
    shipped = [r for b in bls for r in b.rules
               if (not r.platforms or "linux" in r.platforms)
               and (not r.roles or "server" in r.roles)]
    rules = list(shipped)
    i = 0
    while len(rules) < nrules:
        r = shipped[i % len(shipped)]
        rules.append(dataclasses.replace(r, id=f"BX-CL-{len(rules):03d}"))
        i += 1
    one = dataclasses.replace(bls[0], name="bench", rules=tuple(rules[:nrules]), params=params)
    sections = sorted({s for r in rules[:nrules] for s in r.requires})
    inv = Inventory(path="bench.yaml", hosts=tuple(
        Host(name=f"host{n:05d}", address=f"10.0.{n // 250}.{n % 250}", platform="linux",
             roles=("server",)) for n in range(hosts)))

    def collect_host(host: Host, needed: Any, opts: Any, connector: Any = None) -> Any:
        """A host's collection without the network: the record a probe run would give."""
        n = int(host.name[4:])
        rec = host_stub(host)
        # fresh objects, as parsed from a host's output; the bytes are our own marshal.dumps
        facts = marshal.loads(facts_bytes)  # noqa: S302
        facts["updates.security_count"] = n % 7
        facts["updates.security_age_days"] = float(n % 30)
        facts["sshd.permitrootlogin"] = "yes" if n % 11 == 0 else "prohibit-password"
        rec["reachable"] = True
        rec["facts"] = facts
        if n % 13 == 0:
            rec["fact_errors"] = {"firewall.active": "needs root"}
        rec["sections"] = {s: {"status": "ok", "error": None, "sha256": "0" * 64,
                               "collected_at": "2026-12-07T09:00:00Z", "truncated": False}
                           for s in sections}
        return rec

    collect_mod.collect_host = collect_host  # the network, and only it, replaced
    midway = [0]
    judged = [0]
    evaluate_host = vars(scan)["evaluate_host"]

    def judging(*args: Any, **kwargs: Any) -> Any:
        """scanner.scan's own evaluate_host, and how much is frozen when half the hosts are
        judged (counting walks the frozen objects: once per scan)."""
        judged[0] += 1
        if judged[0] == hosts // 2:
            midway[0] = gc.get_freeze_count()
        return evaluate_host(*args, **kwargs)

    vars(scan)["evaluate_host"] = judging
    fixed = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    passes = [0, 0, 0]
    gc_s = [0.0, 0.0, 0.0]
    collected = [0]
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        # the collecting thread's CPU time: a pass holds the GIL, so it is the pass's alone
        if phase == "start":
            started[0] = time.thread_time()
        else:
            g = info["generation"]
            passes[g] += 1
            gc_s[g] += time.thread_time() - started[0]
            collected[0] += info["collected"]

    rounds: list[dict[str, Any]] = []
    for _ in range(repeat):
        state_before = (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
        passes[:] = [0, 0, 0]
        gc_s[:] = [0.0, 0.0, 0.0]
        collected[0] = 0
        midway[0] = judged[0] = 0
        gc.callbacks.append(on_gc)
        t0, c0 = time.perf_counter(), time.process_time()
        doc = scan.run(inv, [one], Options(), clock=lambda: fixed)
        scan_wall, scan_cpu = time.perf_counter() - t0, time.process_time() - c0
        scan_passes, scan_gc = list(passes), list(gc_s)
        doc["scan"]["id"] = "bench"  # the one random part of a scan's document
        t1, c1 = time.perf_counter(), time.process_time()
        with open(out_path, "w", encoding="utf-8") as f:
            jsonout.render(as_json(doc), f)
        render_wall, render_cpu = time.perf_counter() - t1, time.process_time() - c1
        gc.callbacks.remove(on_gc)
        # one full pass with the document alive: what the next full collection after the scan
        # costs (it comes sooner once a scan unfroze: see docs/benchmarks.md)
        c2 = time.process_time()
        gc.collect()
        full_pass = time.process_time() - c2
        nres = len(doc["results"])
        del doc
        gc.collect()
        objects_after = len(gc.get_objects())
        digest = hashlib.sha256()
        with open(out_path, "rb") as fb:  # after the timing: every tree writes the same bytes
            while block := fb.read(1 << 20):
                digest.update(block)
        rounds.append({
            "results": nres,
            "scan_s": scan_wall,
            "scan_cpu_s": scan_cpu,
            "scan_cpu_us_per_host": scan_cpu / hosts * 1e6,
            "scan_gc_s": sum(scan_gc),
            "scan_gc_s_by_generation": scan_gc,
            "scan_gc_passes_by_generation": scan_passes,
            "render_s": render_wall,
            "render_cpu_s": render_cpu,
            "render_gc_s": sum(gc_s) - sum(scan_gc),
            "render_gc_passes_by_generation": [p - s for p, s in zip(passes, scan_passes,
                                                                     strict=True)],
            "total_cpu_s": scan_cpu + render_cpu,
            "full_pass_after_cpu_s": full_pass,
            "gc_collected": collected[0],
            "frozen_midway": midway[0],
            "gc_state_before": state_before,
            "gc_state_after": (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()),
            "rss_after_mib": _rss_mib(),
            "objects_after": objects_after,  # tracked by the collector, the document dropped
            "sha256": digest.hexdigest(),
            "bytes": os.path.getsize(out_path),
        })
    first: dict[str, Any] = dict(rounds[0])
    first["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first["scanner"] = str(Path(scanner.__file__).parents[1])  # which tree's code ran
    if repeat > 1:
        first["rounds"] = rounds
    return first


def _load() -> str:
    """What else runs on the machine: load average and the busiest other processes."""
    la = os.getloadavg()
    top = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"],
                         capture_output=True, text=True, check=False).stdout.splitlines()[:5]
    return (f"load average {la[0]:.1f} {la[1]:.1f} {la[2]:.1f} on {os.cpu_count()} CPUs; "
            "busiest: " + ", ".join(" ".join(t.split()) for t in top))


NUMERIC = ("results", "scan_s", "scan_cpu_s", "scan_cpu_us_per_host", "scan_gc_s", "render_s",
           "render_cpu_s", "render_gc_s", "total_cpu_s", "full_pass_after_cpu_s",
           "rss_after_mib", "maxrss_mib", "bytes")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=10000)
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1,
                    help="scans in one process (a folder scan, a schedule)")
    ap.add_argument("--tree", action="append", default=[],
                    help="another checkout to measure the same way (interleaved)")
    ap.add_argument("--save", help="write every run and the medians to this JSON file")
    ap.add_argument("--dir", help="write the document in this folder (default: a temporary one)")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.hosts, a.rules, a.out, a.repeat)))
        return 0
    trees = [str(ROOT), *(str(Path(t).resolve()) for t in a.tree)]
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in trees}
    loads = []
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        # no advisory or lifecycle catalogue of this machine's user: every run reads the same
        env = {**os.environ, "XDG_DATA_HOME": f"{d}/data", "UNDONE_ADVISORIES_DIR": f"{d}/adv"}
        for _ in range(a.runs):
            for tree in trees:
                loads.append(_load())
                Path(f"{d}/doc.json").unlink(missing_ok=True)
                p = subprocess.run(
                    [sys.executable, __file__, "--child", "--hosts", str(a.hosts),
                     "--rules", str(a.rules), "--repeat", str(a.repeat),
                     "--out", f"{d}/doc.json"],
                    capture_output=True, text=True, check=True,
                    env={**env, "PYTHONPATH": tree},
                )
                run = json.loads(p.stdout)
                if Path(run["scanner"]) != Path(tree):
                    raise SystemExit(f"{tree}: the child ran {run['scanner']}'s code")
                runs[tree].append(run)
    medians = {}
    for tree in trees:
        med = {k: statistics.median(r[k] for r in runs[tree]) for k in NUMERIC}
        medians[tree] = med
        passes = [statistics.median(r["scan_gc_passes_by_generation"][g] for r in runs[tree])
                  for g in range(3)]
        by_gen = [statistics.median(r["scan_gc_s_by_generation"][g] for r in runs[tree])
                  for g in range(3)]
        print(f"{tree}: {a.hosts} hosts x {a.rules} rules = {int(med['results'])} results, "
              f"median of {a.runs} runs")
        print(f"  scan.run: {med['scan_s']:.2f} s wall, {med['scan_cpu_s']:.2f} s CPU "
              f"({med['scan_cpu_us_per_host']:.0f} us a host), of which collector "
              f"{med['scan_gc_s']:.2f} s; passes by generation {passes}, "
              f"seconds {[round(s, 3) for s in by_gen]}")
        print(f"  render JSON: {med['render_s']:.2f} s wall, {med['render_cpu_s']:.2f} s CPU, "
              f"of which collector {med['render_gc_s']:.2f} s; scan + render "
              f"{med['total_cpu_s']:.2f} s CPU; one full pass after, document alive "
              f"{med['full_pass_after_cpu_s']:.2f} s CPU")
        print(f"  peak RSS {med['maxrss_mib']:.0f} MiB; after the scan, document dropped: "
              f"{med['rss_after_mib']:.0f} MiB; JSON {med['bytes'] / 2**20:.0f} MiB")
        for r in runs[tree][:1]:
            for k, rd in enumerate(r.get("rounds", [r])):
                print(f"  scan {k + 1} in one process: CPU {rd['scan_cpu_s']:.2f} s, collector "
                      f"{rd['scan_gc_s']:.2f} s, frozen half-way {rd['frozen_midway']}, "
                      f"collector before {rd['gc_state_before']}, after "
                      f"{rd['gc_state_after']}, RSS after {rd['rss_after_mib']:.0f} MiB, "
                      f"{rd['objects_after']} objects")
    digests = {rd["sha256"] for t in trees for r in runs[t] for rd in r.get("rounds", [r])}
    print("documents: " + ("identical in every run and tree" if len(digests) == 1 else
                           f"DIFFER ({len(digests)} different SHA-256)"))
    this = medians[trees[0]]
    for tree in trees[1:]:
        other = medians[tree]
        print(f"ratio {ROOT.name} / {Path(tree).name}: scan CPU "
              f"{this['scan_cpu_s'] / other['scan_cpu_s']:.2f}, scan wall "
              f"{this['scan_s'] / other['scan_s']:.2f}, scan + render CPU "
              f"{this['total_cpu_s'] / other['total_cpu_s']:.2f}, peak RSS "
              f"{this['maxrss_mib'] / other['maxrss_mib']:.2f}")
    report = {"hosts": a.hosts, "rules": a.rules, "repeat": a.repeat, "python": sys.version,
              "cpus": os.cpu_count(), "load": loads, "identical": len(digests) == 1,
              "trees": {t: {"median": medians[t], "runs": runs[t]} for t in trees}}
    if a.save:
        Path(a.save).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
