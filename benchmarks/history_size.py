"""How big the history grows: a year of simulated daily scans of 1,000 hosts × 100 rules.

Each simulated day opens the history afresh (as a new ``undone scan`` process would), records
every host through the same calls a real scan makes (``begin``, ``record`` per host with one
commit each, ``finish``), with an injected clock, then closes it. The estate churns the way a
managed estate does:

- most pairs are stable (about 85 % pass, 8 % fail for months);
- each day a pair changes status with probability ``--churn`` (default 0.3 %: about 300 fixes
  and regressions a day across the estate), and failing results carry observed values that differ
  per host (lists of package names, counts);
- on any day 0.5 % of hosts are unreachable (every rule ``error``), then come back;
- hosts report their own patch runs (weekly; each scan sees the last three) and backups (daily)
  as maintenance events.

It prints the file size, the rows and bytes per table, what storing every result every day would
take instead, and the time taken. Run::

    python benchmarks/history_size.py                  # the full year (a few minutes)
    python benchmarks/history_size.py --hosts 100 --days 30   # a quick look

The figure is written down in docs/benchmarks.md; nothing here is asserted by timing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scanner.history.store import History

CONTROLS = ("firewalls", "secure-configuration", "security-update-management",
            "user-access-control", "malware-protection", "backup", "asset-management")
SEVERITIES = ("critical", "high", "medium", "medium", "low", "low", "info")
PACKAGES = [f"lib{w}{n}" for w in ("ssl", "curl", "xml", "png", "krb", "sqlite", "z", "c")
            for n in range(1, 30)]


def make_rules(n: int) -> list[dict[str, Any]]:
    rules = []
    for i in range(n):
        control = CONTROLS[i % len(CONTROLS)]
        rules.append({"rule": f"BM-{control[:3].upper()}-{i:03d}",
                      "title": f"Benchmark rule {i} holds", "control": control,
                      "severity": SEVERITIES[i % len(SEVERITIES)]})
    return rules


def observed(rng: random.Random, failing: bool, i: int) -> dict[str, Any]:
    if not failing:
        return {"x.ok": True}
    if i % 4 == 0:
        return {"updates.security_packages": rng.sample(PACKAGES, rng.randint(1, 25)),
                "updates.security_count": rng.randint(1, 60)}
    return {"x.ok": False, "x.value": rng.choice(("yes", "no", "prohibit-password", None)),
            "x.count": rng.randint(0, 9)}


def simulate(path: Path, hosts: int, rules_n: int, days: int, churn: float,
             seed: int, na: float | None = None) -> dict[str, Any]:
    rng = random.Random(seed)
    rules = make_rules(rules_n)
    rules_doc = {r["rule"]: {"title": r["title"], "control": r["control"],
                             "severity": r["severity"],
                             "remediation": "Do the thing the rule asks for.",
                             "rationale": "Because a benchmark says so."} for r in rules}
    names = [f"host{h:04d}.example.org" for h in range(hosts)]
    # per host: a list of result dicts reused every day (statuses flip in place)
    state: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        rs: list[dict[str, Any]] = []
        for i, r in enumerate(rules):
            roll = rng.random()
            status = "pass" if roll < 0.85 else "fail" if roll < 0.93 else (
                "not_applicable" if roll < 0.98 else "manual")
            if na is not None:  # --not-applicable: the rules of a host's own kind, the rest n/a
                status = "not_applicable" if i < rules_n * na else (
                    "pass" if roll < 0.85 / 0.95 else "fail" if roll < 0.93 / 0.95
                    else "manual")
            rs.append({"host": name, **r, "owner": "provider", "status": status,
                       "observed": {} if status == "not_applicable"
                       else observed(rng, status == "fail", i),
                       "expected": "x.ok equal to true", "message": "",
                       "evidence": [], "first_seen": None, "due": None, "overdue_days": None})
            if na is not None and status == "not_applicable":
                rs[-1].update(na_reason="platform", message="does not apply: a rule for "
                              "Windows; this is a Linux host")
        state[name] = rs
    start = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    t0 = time.perf_counter()
    record_seconds = 0.0
    for day in range(days):
        now = start + timedelta(days=day)
        doc: dict[str, Any] = {
            "schema": "undone.scan/1", "tool": {"name": "undone", "version": "bench"},
            "scan": {"id": f"{now:%Y%m%dT%H%M%SZ}-bench", "started_at":
                     now.strftime("%Y-%m-%dT%H:%M:%SZ"), "finished_at": None,
                     "inventory": "estate.yaml", "estate": {"name": "Benchmark estate"},
                     "baselines": [{"name": "bench", "version": "1", "sha256": "0" * 64}]},
            "rules": rules_doc}
        flips = 0
        for name in names:
            for i, r in enumerate(state[name]):
                if r["status"] in ("pass", "fail") and rng.random() < churn:
                    r["status"] = "fail" if r["status"] == "pass" else "pass"
                    r["observed"] = observed(rng, r["status"] == "fail", i)
                    flips += 1
        down = set(rng.sample(names, max(0, int(hosts * 0.005))))
        started = time.perf_counter()
        h = History(path)
        h.begin(doc, {"high": 14}, hosts, now)
        for k, name in enumerate(names):
            landed = now + timedelta(seconds=2 * k // 16)
            last_patch = now - timedelta(days=(day + k) % 7)  # weekly, on the host's own day
            facts = {"patch.recent": [{"at": (last_patch - timedelta(days=7 * w))
                                       .strftime("%Y-%m-%dT04:00:00Z"), "upgraded": 3}
                                      for w in range(3)],
                     "backup.last_snapshot_at": now.strftime("%Y-%m-%dT01:00:00Z")}
            if name in down:
                rec = {"name": name, "address": name, "transport": "ssh", "platform": "linux",
                       "reachable": False, "error": "connection timed out", "facts": {}}
                results = [{**r, "status": "error", "observed": {},
                            "message": "host not scanned: connection timed out"}
                           for r in state[name]]
            else:
                rec = {"name": name, "address": name, "transport": "ssh", "platform": "linux",
                       "reachable": True, "error": None, "facts": facts}
                results = state[name]
            h.record(rec, results, landed)
        # changes=False: what changed since the previous scan (a rebuilt document and a diff,
        # scanner/history/store.py) costs reading, not storage, which is what this measures
        h.finish({**doc, "summary": {"exit_code": 1}}, now + timedelta(minutes=3),
                 changes=False)
        h.close()
        record_seconds += time.perf_counter() - started
        if day % 30 == 0 or day == days - 1:
            size = path.stat().st_size
            print(f"day {day + 1:4d}: {size / 1e6:7.2f} MB  ({flips} flips, {len(down)} down)",
                  file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t0
    return {"elapsed_s": round(elapsed, 1), "record_s": round(record_seconds, 1)}


def table_sizes(path: Path) -> dict[str, dict[str, int]]:
    con = sqlite3.connect(path)
    out: dict[str, dict[str, int]] = {}
    tables = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    try:
        sizes = dict(con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
    except sqlite3.OperationalError:
        sizes = {}
    for t in tables:
        out[t] = {"rows": con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0],  # noqa: S608
                  "bytes": int(sizes.get(t, 0))}
    for name, size in sizes.items():
        if name not in out:
            out[name] = {"rows": -1, "bytes": int(size)}
    con.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--churn", type=float, default=0.003)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--not-applicable", type=float, default=None, metavar="SHARE",
                    help="this share of each host's rules do not apply to it, for good (as "
                         "with every rule of other platforms listed for every host)")
    ap.add_argument("--keep", help="write the history here instead of a temporary file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "history.sqlite"
        if path.exists():
            path.unlink()
        timing = simulate(path, args.hosts, args.rules, args.days, args.churn, args.seed,
                          args.not_applicable)
        size = path.stat().st_size
        wal = Path(str(path) + "-wal")
        tables = table_sizes(path)
        results = args.hosts * args.rules * args.days
        # what a naive store would hold: every result every day, as the compact JSON of the
        # result (host, rule, status, observed, message, lifecycle) without evidence
        sample = {"host": "host0000.example.org", "rule": "BM-SEC-001", "status": "pass",
                  "observed": {"x.ok": True}, "message": "", "first_seen": None, "due": None,
                  "overdue_days": None}
        naive = results * len(json.dumps(sample, separators=(",", ":")))
        report = {
            "hosts": args.hosts, "rules": args.rules, "days": args.days, "churn": args.churn,
            "results_judged": results, "file_bytes": size,
            "wal_bytes": wal.stat().st_size if wal.exists() else 0,
            "bytes_per_result": round(size / results, 3),
            "naive_every_result_bytes": naive, "ratio_to_naive": round(naive / size, 1),
            "tables": tables, **timing,
        }
        print(json.dumps(report, indent=2))
        print(f"\n{args.hosts} hosts x {args.rules} rules x {args.days} daily scans: "
              f"{size / 1e6:.1f} MB ({report['bytes_per_result']} bytes per result judged; "
              f"storing every result would take about {naive / 1e9:.1f} GB)", file=sys.stderr)
        if os.environ.get("UNDONE_BENCH_VACUUM"):
            con = sqlite3.connect(path)
            con.execute("VACUUM")
            con.close()
            print(f"after VACUUM: {path.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
