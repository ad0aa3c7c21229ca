"""Evaluation and JSON rendering alone, at scale: N hosts × M rules from recorded facts, no
network. Target (issue 3): 10,000 hosts × 100 rules evaluated and rendered to JSON in under 5 s
and under 1 GiB of memory.

    python benchmarks/eval_render.py [--hosts 10000] [--rules 100] [--runs 3] [--mixed]
        [--tree OTHER_CHECKOUT ...] [--save benchmarks/results/eval_render.json]

With ``--tree``, the same runs are made with the code of each other checkout too (e.g. main
before a change: ``git worktree add /tmp/before main``), interleaved run by run, so that a
before/after ratio is measured under the same load on a shared machine.

Each run is a fresh child process, so peak RSS (ru_maxrss) is that run's alone. Facts come from
tests/fixtures/scan/facts-estate-server.json (a real scan of a test-estate Debian 12 server: six
pending updates, borg backup, ClamAV), varied per host so that rules pass, fail and error in
realistic proportions. The 100 rules are the shipped rules that apply to a Linux server plus
copies of them under new ids; with ``--mixed``, every shipped rule (and copies), as a scan selects
them: those for other platforms and roles come out ``not_applicable`` with their reason, as every
selected rule appears for every host.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FACTS = ROOT / "tests" / "fixtures" / "scan" / "facts-estate-server.json"


def child(hosts: int, nrules: int, out_path: str, mixed: bool = False) -> dict[str, float]:
    import dataclasses

    from reports import jsonout
    from scanner.inventory import Contract
    from scanner.rules import baselines, evaluate
    from scanner.rules.evaluate import compile_rules, evaluate_host
    from scanner.rules.scope import HostView

    base = json.loads(FACTS.read_text())
    bls = baselines.load()
    params: dict[str, object] = {}
    for b in bls:
        params.update(b.params)
    # the rules that apply to a Linux server (Windows-only rules would not be judged here)
    shipped = [r for b in bls for r in b.rules
               if mixed or ((not r.platforms or "linux" in r.platforms)
                            and (not r.roles or "server" in r.roles))]
    rules = list(shipped)
    i = 0
    while len(rules) < nrules:
        r = shipped[i % len(shipped)]
        rules.append(dataclasses.replace(r, id=f"BX-CL-{len(rules):03d}"))
        i += 1
    t0 = time.perf_counter()
    c0 = time.process_time()
    compiled = compile_rules(rules[:nrules], params)
    sections = {
        s: {"status": "ok", "sha256": "0" * 64, "collected_at": "2026-11-22T00:00:00Z"}
        for s in sorted({s for r in rules for s in r.requires})  # sorted: the same document
        # in every run (a set's order follows the process's string hashing)
    }
    host_recs = []
    for n in range(hosts):
        facts = dict(base["facts"])
        facts["updates.security_count"] = n % 7
        facts["updates.security_age_days"] = float(n % 30)
        facts["sshd.permitrootlogin"] = "yes" if n % 11 == 0 else "prohibit-password"
        errors = dict(base.get("fact_errors", {}))
        if n % 13 == 0:
            errors["firewall.active"] = "needs root"
        host_recs.append(
            {
                "name": f"host{n:05d}",
                "address": f"10.0.{n // 250}.{n % 250}",
                "transport": "ssh",
                "platform": "linux",
                "reachable": True,
                "error": None,
                "facts": facts,
                "fact_errors": errors,
                "sections": sections,
            }
        )
    t_setup = time.perf_counter() - t0
    t1 = time.perf_counter()
    c1 = time.process_time()
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    contract = Contract()
    # one memo for the scan, as scanner/scan.py passes (main before issue 17: a module global)
    kw = {"memo": evaluate.Memo()} if hasattr(evaluate, "Memo") else {}
    by_status: dict[str, int] = {}
    by_control: dict[str, dict[str, int]] = {}
    count = 0

    def per_host():
        for h in host_recs:
            view = HostView(
                name=h["name"],
                platform="linux",
                roles=("server",),
                reachable=True,
                error=None,
                facts=h["facts"],
                fact_errors=h["fact_errors"],
                sections=h["sections"],
            )
            res = evaluate_host(view, compiled, contract, **kw)
            nonlocal count
            count += len(res)
            for r in res:  # the summary, counted as results stream out (none is kept)
                st = r["status"]
                by_status[st] = by_status.get(st, 0) + 1
                c = by_control.setdefault(r["control"], {})
                c[st] = c.get(st, 0) + 1
            yield res

    doc = {
        "schema": "undone.scan/1",
        "tool": {"name": "undone", "version": "bench"},
        "scan": {"id": "bench"},
        "hosts": host_recs,
        # streamed as a scan's list is read (item by item in C), a host's results at a time
        "results": itertools.chain.from_iterable(per_host()),
    }
    with open(out_path, "w", encoding="utf-8") as f:
        jsonout.render(doc, f)
        f.write(json.dumps({"summary": {"by_status": by_status, "by_control": by_control,
                                        "hosts_total": len(host_recs)}}) + "\n")
    wall = time.perf_counter() - t1
    cpu = time.process_time() - c0
    eval_render_cpu = time.process_time() - c1
    ru2 = resource.getrusage(resource.RUSAGE_SELF)
    digest = hashlib.sha256()
    with open(out_path, "rb") as f:  # after the timing: the trees must write the same bytes
        while block := f.read(1 << 20):
            digest.update(block)
    return {
        "results": count,
        "eval_render_s": wall,
        "eval_render_cpu_s": eval_render_cpu,
        # of which in the kernel (mostly writing the document: page cache or tmpfs pages)
        "eval_render_user_s": ru2.ru_utime - ru1.ru_utime,
        "eval_render_sys_s": ru2.ru_stime - ru1.ru_stime,
        "sha256": digest.hexdigest(),
        "setup_s": t_setup,
        "cpu_s": cpu,
        "bytes": os.path.getsize(out_path),
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _load() -> str:
    """What else runs on the machine: load average and the busiest other processes."""
    la = os.getloadavg()
    top = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"],
                         capture_output=True, text=True, check=False).stdout.splitlines()[:5]
    return (f"load average {la[0]:.1f} {la[1]:.1f} {la[2]:.1f} on {os.cpu_count()} CPUs; "
            "busiest: " + ", ".join(" ".join(t.split()) for t in top))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=10000)
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mixed", action="store_true",
                    help="every shipped rule, not only those for a Linux server")
    ap.add_argument("--tree", action="append", default=[],
                    help="another checkout to measure the same way (interleaved)")
    ap.add_argument("--save", help="write every run and the medians to this JSON file")
    ap.add_argument("--dir", help="write the document in this folder (default: a temporary "
                    "one; /dev/shm keeps a busy disk out of the wall time)")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.hosts, a.rules, a.out, a.mixed)))
        return 0
    trees = [str(ROOT), *(str(Path(t).resolve()) for t in a.tree)]
    runs: dict[str, list[dict[str, float]]] = {t: [] for t in trees}
    loads = []
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        for _ in range(a.runs):
            for tree in trees:
                loads.append(_load())
                # every run writes a new file (freeing the last run's 650 MiB is not its work)
                Path(f"{d}/doc.json").unlink(missing_ok=True)
                p = subprocess.run(
                    [sys.executable, __file__, "--child", "--hosts", str(a.hosts),
                     "--rules", str(a.rules), "--out", f"{d}/doc.json",
                     *(["--mixed"] if a.mixed else [])],
                    capture_output=True, text=True, check=True,
                    env={**os.environ, "PYTHONPATH": tree},
                )
                runs[tree].append(json.loads(p.stdout))
    medians = {}
    for tree in trees:
        med = {k: statistics.median(r[k] for r in runs[tree]) for k in runs[tree][0]
               if k != "sha256"}
        medians[tree] = med
        print(f"{tree}: {a.hosts} hosts x {a.rules} rules = {int(med['results'])} results, "
              f"median of {a.runs} runs")
        print(f"  evaluate + render JSON: {med['eval_render_s']:.2f} s wall, "
              f"{med.get('eval_render_cpu_s', float('nan')):.2f} s CPU (setup of synthetic "
              f"facts {med['setup_s']:.2f} s; CPU with setup {med['cpu_s']:.2f} s)")
        if "eval_render_sys_s" in med:
            print(f"  of the CPU: {med['eval_render_user_s']:.2f} s user, "
                  f"{med['eval_render_sys_s']:.2f} s system; best run "
                  f"{min(r['eval_render_cpu_s'] for r in runs[tree]):.2f} s")
        print(f"  JSON written: {med['bytes'] / 2**20:.0f} MiB; "
              f"peak RSS {med['maxrss_mib']:.0f} MiB")
    digests = {r.get("sha256") for t in trees for r in runs[t]}
    print("documents: " + ("identical in every run and tree" if len(digests) == 1 else
                           f"DIFFER ({len(digests)} different SHA-256)"))
    this = medians[trees[0]]
    for tree in trees[1:]:
        other = medians[tree]
        print(f"ratio {ROOT.name} / {Path(tree).name}: wall "
              f"{this['eval_render_s'] / other['eval_render_s']:.2f}, "
              f"CPU {this['eval_render_cpu_s'] / other['eval_render_cpu_s']:.2f}")
    report = {"hosts": a.hosts, "rules": a.rules, "mixed": a.mixed, "python": sys.version,
              "dir": a.dir or tempfile.gettempdir(),
              "cpus": os.cpu_count(), "load": loads, "identical": len(digests) == 1,
              "trees": {t: {"median": medians[t], "runs": runs[t]} for t in trees}}
    if a.save:
        Path(a.save).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
