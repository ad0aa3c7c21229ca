"""How long each report takes to render, for a large estate: a result document of 1,000 hosts ×
100 rules (100,000 results, 8 % failing with lifecycle fields, a year of history trend).

Reports are rendered from the result document only, so this measures the renderers alone;
collecting the same estate takes minutes. Run::

    python benchmarks/report_render.py [--hosts 1000] [--rules 100]

With ``PYTHONPATH=OTHER_CHECKOUT`` the renderers of that checkout are measured (this checkout is
only the fallback on the path), so a before/after comparison runs the same script. Each format
reports its best wall time and its best CPU time of ``--repeat`` runs (CPU time is the measure
on a shared machine). The figures are written down in docs/benchmarks.md; nothing here is
asserted by timing.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH

from reports import console, csvout, html, jsonout, junit, markdown

CONTROLS = ("firewalls", "secure-configuration", "security-update-management",
            "user-access-control", "malware-protection", "backup", "asset-management")
SEVERITIES = ("critical", "high", "medium", "low", "info")


def make_doc(hosts: int, rules: int, seed: int = 3) -> dict[str, Any]:
    rng = random.Random(seed)
    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    rule_ids = [f"BM-{CONTROLS[i % 7][:3].upper()}-{i:03d}" for i in range(rules)]
    rules_doc: dict[str, dict[str, str]] = {
        r: {"title": f"Benchmark rule {i} holds", "control": CONTROLS[i % 7],
            "severity": SEVERITIES[i % 5], "remediation": "Do what the rule asks. " * 4,
            "rationale": "A sentence on why this matters to the school. " * 3}
        for i, r in enumerate(rule_ids)}
    host_docs: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for h in range(hosts):
        name = f"host{h:04d}.example.org"
        host_docs.append({"name": name, "address": f"10.{h // 250}.{h % 250}.10",
                          "transport": "ssh", "platform": "linux", "reachable": h % 200 != 7,
                          "error": None if h % 200 != 7 else "connection timed out",
                          "facts": {"os.pretty_name": "Debian GNU/Linux 12 (bookworm)"}})
        for i, r in enumerate(rule_ids):
            roll = rng.random()
            status = "pass" if roll < 0.85 else "fail" if roll < 0.93 else (
                "not_applicable" if roll < 0.97 else "error")
            first = now - timedelta(days=rng.randint(0, 120)) if status == "fail" else None
            due = (first + timedelta(days=30)).date() if first else None
            results.append({
                "host": name, "rule": r, "title": rules_doc[r]["title"],
                "control": rules_doc[r]["control"], "severity": rules_doc[r]["severity"],
                "owner": "provider" if i % 5 else "client", "status": status,
                "observed": {"x.value": rng.randint(0, 99), "x.list": ["a", "b", "c"]},
                "expected": "x.value equal to 0", "message": f"x.value is {i}; expected 0",
                "evidence": [{"section": "posix.os", "sha256": "0" * 64}],
                "first_seen": first.strftime("%Y-%m-%dT%H:%M:%SZ") if first else None,
                "due": due.isoformat() if due else None,
                "overdue_days": max(0, (now.date() - due).days) if due else None})
    by_status: dict[str, int] = {}
    by_control: dict[str, dict[str, int]] = {}
    for res in results:
        by_status[res["status"]] = by_status.get(res["status"], 0) + 1
        c = by_control.setdefault(res["control"], {})
        c[res["status"]] = c.get(res["status"], 0) + 1
    return {
        "schema": "undone.scan/1", "tool": {"name": "undone", "version": "bench"},
        "scan": {"id": "bench", "started_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "finished_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "inventory": "bench.yaml",
                 "estate": {"name": "Benchmark Academy Trust", "provider": "Bench IT"},
                 "baselines": [{"name": "bench", "version": "1", "sha256": "0" * 64}]},
        "rules": rules_doc, "hosts": host_docs, "results": results, "errors": [],
        "summary": {"by_status": by_status, "by_control": by_control, "hosts_total": hosts,
                    "hosts_unreachable": sum(1 for h in host_docs if not h["reachable"]),
                    "exit_code": 1},
        "history": {"previous_scan": "x", "since_previous": {"new": [], "fixed": [],
                                                              "regressed": []},
                    "trend": [{"scan": f"s{d}", "at": (now - timedelta(days=365 - d)).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"), "complete": True, "hosts": hosts,
                        "open": 8000 + d % 40, "overdue": 100 + d} for d in range(365)]},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", action="append", help="this format only (repeatable)")
    args = ap.parse_args()
    doc = make_doc(args.hosts, args.rules)
    renderers: dict[str, Callable[[io.StringIO], None]] = {
        "html": lambda out: html.render(doc, out),
        "csv": lambda out: csvout.render(doc, out),
        "junit": lambda out: junit.render(doc, out),
        "markdown": lambda out: markdown.render(doc, out),
        "json": lambda out: jsonout.render(doc, out),
        "console": lambda out: console.render(doc, out, width=100, color=False),
    }
    report: dict[str, Any] = {"hosts": args.hosts, "rules": args.rules,
                              "results": len(doc["results"])}
    for name, fn in renderers.items():
        if args.only and name not in args.only:
            continue
        best = best_cpu = float("inf")
        size = 0
        for _ in range(args.repeat):
            buf = io.StringIO()
            t = time.perf_counter()
            c = time.process_time()
            fn(buf)
            best_cpu = min(best_cpu, time.process_time() - c)
            best = min(best, time.perf_counter() - t)
            size = len(buf.getvalue().encode())
        report[name] = {"seconds": round(best, 3), "cpu_seconds": round(best_cpu, 3),
                        "bytes": size}
        print(f"{name:9s} {best:7.3f} s  {best_cpu:7.3f} s CPU  {size / 1e6:7.2f} MB",
              file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
