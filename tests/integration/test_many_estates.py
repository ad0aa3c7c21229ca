"""Many estates in one run, against the test estate: ten client inventories (and one broken
one) in a folder, `undone scan FOLDER` inside the estate's scanner namespace, over real SSH.

Ten reports and an index come out; the broken inventory is reported in the index and in the exit
code (2), and every other estate is scanned to the end with its own history."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.estate import Estate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).parents[2]
HOSTS = ["web01", "db01", "app01", "legacy01", "ops01", "files01", "kiosk01", "gw01"]
# ten estates, one or two hosts each; some hosts belong to two clients (a shared server)
ESTATES = {f"client{i:02d}": [HOSTS[i % len(HOSTS)]] + ([HOSTS[(i + 3) % len(HOSTS)]]
                                                          if i % 3 == 0 else [])
           for i in range(1, 11)}


@pytest.fixture(scope="module")
def run(estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("many")
    folder = base / "clients"
    for key, hosts in ESTATES.items():
        extra = {"site": "office", "site_concurrency": 2} if key == "client03" else {}
        path = estate.write_inventory(folder / f"{key}.yaml", hosts, timeout=60, **extra)
        doc = yaml.safe_load(path.read_text())
        doc["estate"] = {"client": f"Client {key[-2:]} Ltd", "provider": "Example IT"}
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    (folder / "broken.yaml").write_text(
        "estate: {client: Broken Ltd}\nall:\n  hosts:\n    pc1: {address: 10.0.0.1, prot: 22}\n")
    out, db = base / "reports", base / "histories"
    env = dict(os.environ, HOME=str(base))  # keep the machine's own ~/.ssh out of it
    env.pop("UNDONE_DB", None)
    p = estate.run_in_scanner(
        [sys.executable, "-m", "scanner", "scan", str(folder), "--output", str(out), "--db",
         str(db), "--concurrency", "6", "--max-rate", "20", "--no-notify"],
        env=env, cwd=str(ROOT), timeout=900)
    return {"code": p.returncode, "stdout": p.stdout, "stderr": p.stderr, "out": out, "db": db,
            "folder": folder}


def test_ten_reports_and_an_index_with_the_broken_inventory_reported(run: dict[str, Any]
                                                                      ) -> None:
    assert "Traceback" not in run["stderr"], run["stderr"]
    assert run["code"] == 2, run["stderr"]  # the broken inventory; the rest completed
    out: Path = run["out"]
    assert sorted(p.name for p in out.glob("*.html")) == sorted(
        [f"{k}.html" for k in ESTATES] + ["index.html"])
    assert sorted(p.name for p in out.glob("*.json")) == sorted(
        [f"{k}.json" for k in ESTATES] + ["index.json"])
    index = json.loads((out / "index.json").read_text())
    rows = {e["key"]: e for e in index["estates"]}
    assert set(rows) == {*ESTATES, "broken"}
    assert index["exit_code"] == 2
    broken = rows["broken"]
    assert (broken["status"], broken["exit_code"], broken["report"]) == ("invalid", 2, None)
    assert broken["problems"] == [f"{run['folder']}/broken.yaml: all.hosts.pc1: unknown key "
                                  "'prot' (did you mean 'port'?)"]
    page = (out / "index.html").read_text()
    assert "did you mean &#39;port&#39;?" in page or "did you mean 'port'?" in page
    for key, hosts in ESTATES.items():
        row = rows[key]
        assert row["status"] == "scanned" and row["exit_code"] in (0, 1, 3), row
        assert row["name"] == f"Client {key[-2:]} Ltd"
        assert (row["hosts"], row["unreachable"]) == (len(hosts), 0), row
        assert row["controls"] and row["last_scan"] and row["overdue"] is not None
        assert f'<a href="{key}.html">' in page
        doc = json.loads((out / f"{key}.json").read_text())
        facts = {h["name"]: h["facts"].get("os.hostname") for h in doc["hosts"]}
        assert facts == {h: h for h in hosts}  # each estate scanned its own, real hosts
        assert doc["summary"]["exit_code"] == row["exit_code"]
        assert "Client" in (out / f"{key}.html").read_text()


def test_every_estate_has_its_own_history(run: dict[str, Any]) -> None:
    db: Path = run["db"]
    assert sorted(p.name for p in db.glob("*.sqlite")) == sorted(f"{k}.sqlite" for k in ESTATES)
    for key, hosts in ESTATES.items():
        with sqlite3.connect(db / f"{key}.sqlite") as con:
            assert con.execute("SELECT COUNT(*) FROM scans WHERE finished_at IS NOT NULL"
                               ).fetchone()[0] == 1
            assert sorted(n for (n,) in con.execute("SELECT name FROM hosts")) == sorted(hosts)


def test_log_has_a_line_per_host_and_a_summary_per_estate(run: dict[str, Any]) -> None:
    err = run["stderr"]
    for key, hosts in ESTATES.items():
        for h in hosts:
            assert f"undone: {key}: {h} (" in err
        assert f"undone: {key}: done: {len(hosts)} hosts (0 unreachable)" in err
    assert "undone: broken: " in err
    assert "undone: 11 estates: 10 scanned, 1 not scanned; exit 2" in err
    lines = run["stdout"].splitlines()
    assert len(lines) == 12 and lines[-1].startswith("index: ")
