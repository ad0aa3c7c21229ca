"""A scan killed halfway with SIGKILL keeps every host it had finished, and the next scan carries
the history on.

Twenty hosts over the local transport (each a real scan of this machine under its own name),
two at a time, so the scan takes several seconds; it is killed once a few hosts have landed.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
HOSTS = [f"h{i:02d}" for i in range(1, 21)]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def env(db: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("UNDONE_")}
    e["UNDONE_DB"] = str(db)
    return e


def test_sigkill_halfway_keeps_finished_hosts_and_the_next_scan_continues(tmp_path: Path
                                                                          ) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("all:\n  hosts:\n" + "".join(f"    {h}: {{transport: local}}\n"
                                                 for h in HOSTS))
    db = tmp_path / "history.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", str(inv), "--concurrency", "2"],
        cwd=ROOT, env=env(db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    landed: list[str] = []
    deadline = time.monotonic() + 240
    try:
        assert proc.stderr is not None
        while len(landed) < 6 and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            if line.startswith("undone: h"):  # printed after the host is committed
                landed.append(line.split()[1])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert len(landed) == 6, f"the scan did not get far enough: {landed}"

    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        scans = con.execute("SELECT id, finished_at FROM scans").fetchall()
        assert len(scans) == 1 and scans[0][1] is None  # interrupted
        recorded = {n for (n,) in con.execute(
            "SELECT h.name FROM scan_hosts sh JOIN hosts h ON h.id = sh.host")}
        assert set(landed) <= recorded and len(recorded) < len(HOSTS)
        per_host = dict(con.execute(
            "SELECT h.name, COUNT(*) FROM changes c JOIN hosts h ON h.id = c.host GROUP BY 1"))
        assert set(per_host) == recorded and min(per_host.values()) > 5
        opened = dict(con.execute(
            "SELECT h.name || ' ' || r.rule, f.opened_at FROM findings f "
            "JOIN hosts h ON h.id = f.host JOIN rules r ON r.id = f.rule"))

    done, todo = sorted(recorded)[0], sorted(set(HOSTS) - recorded)[0]
    p = subprocess.run(
        [sys.executable, "-m", "scanner", "scan", str(inv), "--hosts", f"{done},{todo}",
         "--format", "json", "--quiet"],
        cwd=ROOT, env=env(db), capture_output=True, text=True, timeout=240)
    assert p.returncode in (1, 3), p.stderr
    doc = json.loads(p.stdout)
    fails = [r for r in doc["results"] if r["status"] == "fail"]
    assert fails, "expected findings on this machine"
    carried = [r for r in fails if r["host"] == done]
    assert carried
    for r in carried:  # the finding began in the killed scan
        started = opened[f"{done} {r['rule']}"]
        assert r["first_seen"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
    assert all(r["first_seen"] >= doc["scan"]["started_at"] for r in fails if r["host"] == todo)
    assert doc["history"]["trend"][0]["complete"] is False

    lst = subprocess.run([sys.executable, "-m", "scanner", "report", "--list"], cwd=ROOT,
                         env=env(db), capture_output=True, text=True, timeout=60)
    lines = lst.stdout.splitlines()
    assert len(lines) == 2 and "INTERRUPTED" in lines[0] and "complete" in lines[1]
    per = subprocess.run([sys.executable, "-m", "scanner", "report", "--from", "2000-01-01",
                          "--format", "json"], cwd=ROOT, env=env(db), capture_output=True,
                         text=True, timeout=60)
    assert per.returncode == 0, per.stderr
    assert json.loads(per.stdout)["scans"] == {**json.loads(per.stdout)["scans"],
                                                "total": 2, "interrupted": 1}
