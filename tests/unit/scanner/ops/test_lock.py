"""One scan of an estate at a time: a second scan of the same estate exits 5 with one line, and
a lock whose holder died (even by SIGKILL) is free again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanner.cli.app import main
from scanner.errors import BusyError
from scanner.ops import lock
from tests.unit.scanner.ops.test_notify import BASELINE

ROOT = Path(__file__).parents[4]
HOLD = """
import sys, time
from scanner.ops import lock
with lock.hold(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    db = tmp_path / "acme.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc, db
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_second_holder_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite")
    with lock.hold(db) as path:
        assert path == db + ".lock" and os.path.exists(path)
        with pytest.raises(BusyError) as e, lock.hold(db):
            pass
        msg = str(e.value)
        assert msg.startswith("another scan of this estate is running (pid ")
        assert f"pid {os.getpid()}, since 20" in msg and msg.endswith("; nothing scanned")
        assert "\n" not in msg
    with lock.hold(db):  # released: free again
        pass
    with lock.hold(str(tmp_path / "other.sqlite")), lock.hold(db):  # another estate's lock
        pass


def test_a_second_scan_of_the_same_estate_exits_5_in_one_line(
        holder: tuple[subprocess.Popen[str], Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    proc, db = holder
    inv = tmp_path / "inv.yaml"
    inv.write_text("all:\n  hosts:\n    h1: {transport: local}\n")
    t0 = time.monotonic()
    code = main(["scan", str(inv), "--db", str(db), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 5 == lock.EXIT_BUSY
    assert time.monotonic() - t0 < 10  # refused at once, not after waiting
    assert out == ""  # nothing scanned, no report
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"undone: another scan of this estate is running (pid {proc.pid}")
    assert f"lock {db}.lock" in lines[0]
    assert not db.exists()  # the history was not even opened


def test_a_killed_holder_leaves_no_stale_lock(holder: tuple[subprocess.Popen[str], Path],
                                             tmp_path: Path) -> None:
    proc, db = holder
    with pytest.raises(BusyError), lock.hold(str(db)):
        pass
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    inv = tmp_path / "inv.yaml"
    inv.write_text("all:\n  hosts:\n    h1: {transport: local}\n")
    (tmp_path / "bl.yaml").write_text(BASELINE)
    code = main(["scan", str(inv), "--db", str(db), "--format", "json", "--quiet",
                 "--output", str(tmp_path / "out.json"), "-b", str(tmp_path / "bl.yaml")])
    assert code in (0, 1, 3)
    assert db.exists()


def test_no_history_takes_no_lock(holder: tuple[subprocess.Popen[str], Path],
                                  tmp_path: Path) -> None:
    _, db = holder
    inv = tmp_path / "inv.yaml"
    inv.write_text("all:\n  hosts:\n    h1: {transport: local}\n")
    (tmp_path / "bl.yaml").write_text(BASELINE)
    code = main(["scan", str(inv), "--no-history", "--db", str(db), "--format", "json", "--quiet", "--output",
                 str(tmp_path / "out.json"), "-b", str(tmp_path / "bl.yaml")])
    assert code in (0, 1, 3)
