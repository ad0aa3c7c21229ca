"""Stopping a scan (issue 15): SIGINT, SIGTERM and SIGHUP stop ``undone scan`` within about two
seconds, the hosts that finished are kept in the report and the history, no probe shell is left
running, and the report says the scan was interrupted (never "everything checked passed"); and a
host that stalls after authentication is in the document's ``errors`` summary.

The hosts are SSH servers on 127.0.0.1 (tests/sshserver.py): some run the real batch and finish,
some stall after authentication; one host is this machine over the local transport, whose
``sh`` is replaced (PATH) by a shell that sleeps, so that a local probe shell is running when
the signal comes. Before the fix: SIGINT waited for every running host (the whole time limit)
and then discarded them all; SIGTERM and SIGHUP killed undone at once, leaving the local shell
running, the report unwritten and the history holding an unfinished scan with no explanation.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.sshserver import SSHServer, serving

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "scanner" / "schema" / "scan.schema.json").read_text())
PW = "loopback-pw"


def inventory(d: Path, servers: dict[str, SSHServer], local: bool = False,
              **extra: Any) -> Path:
    kh = d / "known_hosts"
    kh.write_text("".join(s.known_hosts_line() + "\n" for s in servers.values()))
    hosts: dict[str, Any] = {
        name: {"ansible_host": "127.0.0.1", "ansible_port": s.port, "user": "root",
               "password_env": "UNDONE_TEST_SSH_PW", "known_hosts": str(kh), **extra}
        for name, s in servers.items()}
    if local:
        hosts["here"] = {"ansible_connection": "local"}
    inv = d / "inventory.yaml"
    inv.write_text(json.dumps({"all": {"hosts": hosts}}))
    return inv


@pytest.fixture
def servers() -> Iterator[dict[str, SSHServer]]:
    made = {"fast1": SSHServer("run", passwords={"root": PW}),
            "fast2": SSHServer("run", passwords={"root": PW}),
            **{f"slow{i}": SSHServer("stall", passwords={"root": PW}) for i in range(3)}}
    with ExitStack() as stack:
        for s in made.values():
            stack.enter_context(serving(s))
        yield made


def _marked(mark: str) -> list[int]:
    """Processes whose environment carries ``mark`` (children of the scanner)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if mark.encode() in env.split(b"\0"):
            out.append(int(pid))
    return out


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_scan_keeps_what_finished_and_leaves_no_shell(
        tmp_path: Path, servers: dict[str, SSHServer], sig: str) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sh").write_text("#!/bin/dash\n/bin/sleep 300\n")  # a probe shell that hangs
    (fake / "sh").chmod(0o755)
    inv = inventory(tmp_path, servers, local=True)
    out, db = tmp_path / "scan.json", tmp_path / "history.sqlite"
    mark = f"UNDONE_TEST_MARK={uuid.uuid4()}"
    env = dict(os.environ, HOME=str(tmp_path), UNDONE_TEST_SSH_PW=PW,
               PATH=f"{fake}:{os.environ['PATH']}", UNDONE_TEST_MARK=mark.split("=", 1)[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", str(inv), "--format", "json", "--output",
         str(out), "--db", str(db), "--timeout", "60", "--baseline", "cyber-essentials"],
        env=env, cwd=str(ROOT), stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        lines.extend(proc.stderr)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and not all(
                any(ln.startswith(f"undone: {n} ") for ln in lines) for n in ("fast1", "fast2")):
            time.sleep(0.1)
        assert _marked(mark), "the local probe shell should be running now"
        assert proc.poll() is None
        t0 = time.monotonic()
        proc.send_signal(getattr(signal, sig))
        code = proc.wait(10)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    print(f"{sig}: stopped {took:.2f}s after the signal")
    assert took < 2.5, took
    assert code == 128 + getattr(signal, sig)
    text = "".join(lines)
    assert "Traceback" not in text, text
    assert f"undone: interrupted by {sig}: 2 of 6 hosts finished" in text
    time.sleep(0.3)
    assert _marked(mark) == [], "a probe shell outlived the scan"
    doc = json.loads(out.read_text())
    import jsonschema

    jsonschema.validate(doc, SCHEMA)
    assert doc["scan"]["complete"] is False and doc["scan"]["interrupted"] == sig
    assert doc["summary"]["exit_code"] != 0
    hosts = {h["name"]: h for h in doc["hosts"]}
    assert hosts["fast1"]["reachable"] and hosts["fast1"]["facts"]
    for name in ("slow0", "slow1", "slow2", "here"):
        assert hosts[name]["error_kind"] == "interrupted"
        assert {"host": name, "kind": "interrupted",
                "error": "not scanned: the scan was interrupted"} in doc["errors"]
    assert {r["host"] for r in doc["results"]} == {"fast1", "fast2"}
    with sqlite3.connect(db) as c:
        (finished,) = c.execute("SELECT finished_at FROM scans").fetchone()
        recorded = {n for (n,) in c.execute(
            "SELECT h.name FROM scan_hosts s JOIN hosts h ON h.id = s.host")}
    assert finished is None  # the history says the scan did not finish
    assert recorded == {"fast1", "fast2"}
    # the console report says so too
    p = subprocess.run([sys.executable, "-m", "scanner", "report", "--db", str(db)],
                       env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=60,
                       check=False)
    assert "everything checked passed" not in p.stdout


def test_a_host_that_stalls_after_authentication_is_in_the_errors_summary(
        tmp_path: Path) -> None:
    with serving(SSHServer("stall", passwords={"root": PW})) as srv:
        inv = inventory(tmp_path, {"stalled": srv}, timeout=3)
        out = tmp_path / "scan.json"
        env = dict(os.environ, HOME=str(tmp_path), UNDONE_TEST_SSH_PW=PW)
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, "-m", "scanner", "scan", str(inv), "--no-history",
                            "--format", "json", "--output", str(out)], env=env, cwd=str(ROOT),
                           capture_output=True, text=True, timeout=60, check=False)
        assert time.monotonic() - t0 < 20
    assert p.returncode == 3, p.stderr
    doc = json.loads(out.read_text())
    rec = doc["hosts"][0]
    assert rec["reachable"] is True
    assert all(s["status"] == "error" for n, s in rec["sections"].items()
               if n.startswith("posix."))
    assert rec["error_kind"] == "timeout" and "time limit (3s)" in rec["error"]
    assert [e["host"] for e in doc["errors"]] == ["stalled"]
    assert doc["errors"][0]["kind"] == "timeout"


def test_a_signal_stops_a_folder_run_keeps_what_finished_and_writes_the_index(
        tmp_path: Path, servers: dict[str, SSHServer]) -> None:
    """Folder mode (scanner/ops/estates.py): before, SIGTERM killed undone at once (no report, no
    index, the estate's history holding an unfinished scan with no word why) and SIGINT waited
    for every running host. Now the estate under way keeps the host that finished, marked
    interrupted (history unfinished), the estate not started is listed as interrupted, the
    index is written, and undone exits 128 + the signal's number within about two seconds.
    ``--concurrency 1``: estates and hosts one at a time, in order (alpha: fast1, then slow0,
    which stalls; bravo waits)."""
    folder = tmp_path / "estates"
    folder.mkdir()
    for name, picked in (("alpha", ["fast1", "slow0"]), ("bravo", ["fast2"])):
        d = tmp_path / name
        d.mkdir()
        text = inventory(d, {n: servers[n] for n in picked}).read_text()
        (folder / f"{name}.yaml").write_text(  # each estate its own variable (L2)
            text.replace("UNDONE_TEST_SSH_PW", f"{name.upper()}_PW"))
    out, dbs = tmp_path / "out", tmp_path / "db"
    env = dict(os.environ, HOME=str(tmp_path), ALPHA_PW=PW, BRAVO_PW=PW)
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", str(folder), "--output", str(out), "--db",
         str(dbs), "--timeout", "60", "--concurrency", "1", "--baseline", "cyber-essentials"],
        env=env, cwd=str(ROOT), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True)
    reader.start()
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and proc.poll() is None and not any(
                ln.startswith("undone: alpha: fast1 ") for ln in lines):
            time.sleep(0.1)
        time.sleep(0.5)  # slow0 is being collected (it stalls)
        assert proc.poll() is None, "".join(lines)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    text = "".join(lines)
    print(f"folder run: stopped {took:.2f}s after SIGTERM")
    assert took < 2.5, took
    assert code == 128 + signal.SIGTERM, text
    assert "Traceback" not in text and "internal error" not in text, text
    assert "undone: interrupted by SIGTERM: 1 of 2 estates not started" in text, text
    index = json.loads((out / "index.json").read_text())
    rows = {e["key"]: e for e in index["estates"]}
    assert rows["bravo"]["status"] == "interrupted"
    assert rows["bravo"]["problems"] == ["not scanned: the scan was interrupted"]
    assert not (dbs / "bravo.sqlite").exists() or not sqlite3.connect(
        dbs / "bravo.sqlite").execute("SELECT count(*) FROM scans").fetchone()[0]
    assert rows["alpha"]["exit_code"] != 0
    doc = json.loads((out / "alpha.json").read_text())
    assert doc["scan"]["complete"] is False and doc["scan"]["interrupted"] == "SIGTERM"
    hosts = {h["name"]: h for h in doc["hosts"]}
    assert hosts["fast1"]["reachable"] and hosts["slow0"]["error_kind"] == "interrupted"
    assert "everything checked passed" not in (out / "alpha.html").read_text().lower()
    with sqlite3.connect(dbs / "alpha.sqlite") as c:
        (finished,) = c.execute("SELECT finished_at FROM scans").fetchone()
        recorded = {n for (n,) in c.execute(
            "SELECT h.name FROM scan_hosts s JOIN hosts h ON h.id = s.host")}
    assert finished is None and recorded == {"fast1"}
