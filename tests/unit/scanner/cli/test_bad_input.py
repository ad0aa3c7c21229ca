"""Bad input is exit 2 with one line, never exit 4 (issue 15), on the command line, report,
history and baseline side: click's usage errors, NaN and infinite numbers, `--hosts ,`, a
folder or a device as a baseline, dates out of range, --diff files that are not result
documents, damaged history databases, a bad --db, a reader that goes away, and baselines that
validate but could not be judged. A history on a read-only file system can still be read."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from scanner.cli.app import main
from tests.unit.scanner.ops.test_notify import BASELINE
from tests.unit.scanner.ops.test_outputs import ROOT_ONLY, in_read_only, one_line

ROOT = Path(__file__).resolve().parents[4]


def undone(*args: str, timeout: float = 120,
           **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDONE_")}
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout, env=env, **kw)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("UNDONE_DB", raising=False)
    (tmp_path / "inv.yaml").write_text("all:\n  hosts:\n    h1: {transport: local}\n")
    (tmp_path / "bl.yaml").write_text(BASELINE)
    return tmp_path


def scan_argv(here: Path, *args: str) -> list[str]:
    return ["scan", str(here / "inv.yaml"), "-b", str(here / "bl.yaml"), "-q", *args]


@pytest.fixture(scope="module")
def history_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real history of two scans of this machine."""
    d = tmp_path_factory.mktemp("hist")
    (d / "inv.yaml").write_text("all:\n  hosts:\n    h1: {transport: local}\n"
                                "    h2: {transport: local}\n")
    (d / "bl.yaml").write_text(BASELINE)
    for _ in range(2):
        assert main(["scan", str(d / "inv.yaml"), "-b", str(d / "bl.yaml"), "-q", "--db",
                     str(d / "h.sqlite"), "-o", str(d / "out.txt")]) == 0
    return d / "h.sqlite"


# -- the command line ----------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["scan", "--foo"], ["scan", "-j", "0"], ["validate"], ["nosuch"], ["report", "--format", "x"],
    ["schedule"], ["evidence", "verify"], ["scan", "--timeout"],
])
def test_click_usage_errors_are_one_line(argv: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("undone"), err  # was four lines
    assert "--help" in err


def test_a_nul_byte_in_an_argument_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """os.stat raised ValueError out of click's path check: a traceback."""
    assert main(["report", "--output", "a\x00b"]) == 2
    one_line(capsys.readouterr().err, "argument 3 holds a NUL byte")


@pytest.mark.parametrize(("option", "value"), [
    ("--timeout", "nan"), ("--timeout", "NaN"), ("--timeout", "inf"),
    ("--connect-timeout", "nan"), ("--max-rate", "nan"), ("--max-rate", "-inf")])
def test_not_a_number_is_refused(here: Path, option: str, value: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`--timeout nan` was accepted: every host "unreachable", exit 3, and a scheduled unit
    that failed silently every night."""
    assert main(scan_argv(here, "--no-history", option, value)) == 2
    one_line(capsys.readouterr().err, f"Invalid value for '{option}'")


@pytest.mark.parametrize("hosts", [",", " , ", ",,"])
def test_hosts_that_name_no_host_are_refused(here: Path, hosts: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(scan_argv(here, "--no-history", "--hosts", hosts)) == 2  # was: every host
    one_line(capsys.readouterr().err, "names no host")


@pytest.mark.parametrize("kind", ["folder", "zero", "fifo"])
def test_a_baseline_that_is_not_a_file_is_refused(here: Path, kind: str) -> None:
    path = {"folder": str(here), "zero": "/dev/zero", "fifo": str(here / "fifo")}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    t = time.monotonic()
    p = undone(*scan_argv(here, "--no-history", "-b", path), timeout=60)
    assert p.returncode == 2, p.stderr  # a folder was exit 4; a FIFO hung
    one_line(p.stderr, path)
    assert time.monotonic() - t < 30


@pytest.mark.parametrize("kind", ["zero", "fifo"])
def test_a_waivers_file_that_is_not_a_file_is_refused(here: Path, kind: str) -> None:
    """Issue 15: /dev/zero as a waivers file was read without limit; a FIFO would hang."""
    path = {"zero": "/dev/zero", "fifo": str(here / "fifo")}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    t = time.monotonic()
    p = undone(*scan_argv(here, "--no-history", "--waivers", path), timeout=60)
    assert p.returncode == 2, p.stderr
    one_line(p.stderr, path)
    assert time.monotonic() - t < 30


@pytest.mark.parametrize(("args", "needle"), [
    (["--to", "9999-12-31"], "expected a date from 1970-01-01 to 2199-12-31"),
    (["--from", "0001-01-01"], "expected a date from"),
    (["--from", "2026-02-30"], "expected a date, YYYY-MM-DD"),
    (["--from", "2026-05-01", "--to", "2026-04-01"], "is after"),
])
def test_report_dates_out_of_range(history_db: Path, args: list[str], needle: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--db", str(history_db), *args]) == 2  # 9999-12-31 was exit 4
    one_line(capsys.readouterr().err, needle)


def test_undone_rules_into_a_closed_pipe_ends_quietly() -> None:
    """`undone rules | head`: the reader went away; no traceback, 141 (128 + SIGPIPE)."""
    r, w = os.pipe()
    os.close(r)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("UNDONE_")}
        p = subprocess.run([sys.executable, "-m", "scanner", "rules"], stdout=w,
                           stderr=subprocess.PIPE, text=True, timeout=60, cwd=ROOT, env=env)
    finally:
        os.close(w)
    assert p.stderr == "" and p.returncode == 141, p.stderr


# -- report --diff -------------------------------------------------------------------------------

NOT_DOCUMENTS: list[Any] = [
    [], "text", 5, None, {}, {"schema": "undone.scan/2"},
    {"schema": "undone.scan/1", "results": {"a": 1}},
    {"schema": "undone.scan/1", "results": [1]},
    {"schema": "undone.scan/1", "results": [{"host": 1, "rule": "R", "status": "fail"}]},
    {"schema": "undone.scan/1", "results": [{"host": "h", "rule": "R", "status": "broken",
                                             "title": "t", "control": "c", "severity": "s"}]},
    {"schema": "undone.scan/1", "scan": [], "results": []},
    {"schema": "undone.scan/1", "scan": {"id": 5}, "results": []},
    {"schema": "undone.scan/1", "tool": {"version": [1]}, "results": []},
    {"schema": "undone.scan/1", "results": [{"host": "h", "rule": "R", "status": "fail",
                                             "title": "t", "control": "c", "severity": ["x"],
                                             "overdue_days": "x"}]},
]


def test_diff_of_files_that_are_not_result_documents(
        here: Path, history_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = here / "good.json"
    assert main(["report", "--db", str(history_db), "-f", "json", "-o", str(good)]) == 0
    assert main(["report", "--diff", str(good), str(good)]) == 0  # the control
    capsys.readouterr()
    files = []
    for i, doc in enumerate(NOT_DOCUMENTS):
        f = here / f"bad{i}.json"
        f.write_text(json.dumps(doc))
        files.append(f)
    (here / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (here / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    os.mkfifo(here / "fifo.json")
    files += [here / "deep.json", here / "binary.json", here / "fifo.json"]
    for f in files:
        for pair in ((f, good), (good, f)):
            assert main(["report", "--diff", str(pair[0]), str(pair[1])]) == 2, f.name
            one_line(capsys.readouterr().err, f"{f}: ")


# -- damaged histories ---------------------------------------------------------------------------

def _damage(src: Path, dst: Path, how: str) -> None:
    data = bytearray(src.read_bytes())
    if how == "truncated":
        dst.write_bytes(bytes(data[: len(data) // 3]))
        return
    if how == "garbage-page":
        page = 4096
        data[page * 2: page * 3] = os.urandom(page)
        dst.write_bytes(bytes(data))
        return
    dst.write_bytes(bytes(data))
    sql = {
        "dropped-table": "DROP TABLE findings",
        "dropped-column": "ALTER TABLE scan_hosts DROP COLUMN n_overdue",
        "meta-not-json": "UPDATE scans SET meta = '{not json'",
        "blob-garbage": "UPDATE blobs SET body = X'78DA0000FFFF'",
        "dangling-host": "DELETE FROM hosts",
        "text-in-int": "UPDATE scans SET started_at = 'yesterday'",
        "newer-migration": "INSERT INTO migrations VALUES ('9999_future', 'x')",
        "no-migrations": "DROP TABLE migrations",
    }[how]
    with sqlite3.connect(dst) as c:
        c.execute(sql)


DAMAGES = ["truncated", "garbage-page", "dropped-table", "dropped-column", "meta-not-json",
           "blob-garbage", "dangling-host", "text-in-int", "newer-migration", "no-migrations"]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_history_is_bad_input(here: Path, history_db: Path, how: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    db = here / "damaged.sqlite"
    _damage(history_db, db, how)
    codes = []
    for argv in (["report", "--db", str(db)], ["report", "--db", str(db), "--list"],
                 ["report", "--db", str(db), "--from", "2020-01-01", "-f", "json"],
                 ["report", "--db", str(db), "--diff", "previous", "latest"],
                 ["report", "--db", str(db), "-f", "html"],
                 scan_argv(here, "--db", str(db), "-o", str(here / "o.txt"))):
        code = main(argv)
        err = capsys.readouterr().err
        codes.append(code)
        assert code in (0, 2), (how, argv, err)  # a report it can still make, or one line
        if code == 2:
            one_line(err, str(db))
    assert 2 in codes[:1] or how == "garbage-page", codes  # the scan's report reads it all
    if how in ("truncated", "dropped-table", "dropped-column", "newer-migration",
               "no-migrations"):
        assert codes[-1] == 2  # found on opening, before anything is scanned


def test_a_bad_db_is_one_line_without_a_traceback_at_exit(here: Path) -> None:
    """The lock of a history that would not open was left held, and its generator printed a
    traceback as the interpreter shut down."""
    (here / "garbage.sqlite").write_bytes(os.urandom(5000))
    for db in (str(here / "garbage.sqlite"), str(here), "/dev/null"):
        p = undone(*scan_argv(here, "--db", db))
        assert p.returncode == 2, p.stderr
        one_line(p.stderr, db)
    assert not os.path.exists("/dev/null.lock")


@ROOT_ONLY
def test_a_history_on_a_read_only_file_system_can_be_read(here: Path) -> None:
    ro = here / "ro"
    ro.mkdir()
    for _ in range(2):
        assert main(scan_argv(here, "--db", str(ro / "h.sqlite"), "-o",
                              str(here / "o.txt"))) == 0
    listing = sorted(p.name for p in ro.iterdir())
    db = here / "mnt" / "h.sqlite"
    for argv in (["--list"], [], ["-f", "json"], ["--from", "2020-01-01"],
                 ["--diff", "previous", "latest"]):
        p = in_read_only(here, "report", "--db", str(db), *argv)
        assert p.returncode == 0, (argv, p.stderr)  # was: "unable to open database file"
        assert p.stderr == ""
    assert sorted(p.name for p in ro.iterdir()) == listing  # nothing written beside it


@ROOT_ONLY
def test_changes_a_read_only_history_cannot_show_are_refused_not_hidden(here: Path) -> None:
    """A -wal file without its -shm cannot be read on a read-only file system: the report says
    so rather than show the history without its latest changes."""
    ro = here / "ro"
    ro.mkdir()
    assert main(scan_argv(here, "--db", str(ro / "h.sqlite"), "-o", str(here / "o.txt"))) == 0
    change = "UPDATE scans SET inventory = 'changed'"
    code = "; ".join([
        "import sqlite3, shutil, os",
        f"db = sqlite3.connect({str(ro / 'h.sqlite')!r}, isolation_level=None)",
        "db.execute('PRAGMA wal_autocheckpoint=0')",
        f"db.execute({change!r})",
        f"shutil.copy({str(ro / 'h.sqlite')!r} + '-wal', {str(here / 'wal')!r})",
        "os._exit(0)"])
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    os.replace(here / "wal", ro / "h.sqlite-wal")
    for extra in ("h.sqlite-shm",):
        if (ro / extra).exists():
            (ro / extra).unlink()
    p = in_read_only(here, "report", "--db", str(here / "mnt" / "h.sqlite"), "-f", "json")
    assert p.returncode == 2 and "-wal" in p.stderr, p.stderr
    one_line(p.stderr, "copy the history")


# -- baselines that validate must not crash the scan ---------------------------------------------

def test_baseline_values_validate_accepts_the_scan_can_judge(
        here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def scan_with(baseline: Path) -> int:
        return main(["scan", str(here / "inv.yaml"), "-b", str(baseline), "-q",
                     "--no-history"])

    contains = here / "contains.yaml"
    contains.write_text(BASELINE.replace("when: {fact: os.family, ne: {param: family}}\n    check: {fact: os.family, in: []}",
                                         "check: {fact: os.family, contains: 5}"))
    assert "contains: 5" in contains.read_text()  # the notify baseline still has that rule
    assert main(["validate", str(contains)]) == 0
    assert scan_with(contains) == 3  # was 4: the rule is an error the report explains
    assert "os.family is 'linux', which cannot be compared (contains)" in \
        capsys.readouterr().out
    for value in (".nan", ".inf", "-.inf"):
        bad = here / "nan.yaml"
        bad.write_text(BASELINE.replace("default: linux", f"default: {value}"))
        assert main(["validate", str(bad)]) == 2
        one_line(capsys.readouterr().err, f"{bad}: params.family.default: ")
        assert scan_with(bad) == 2
        one_line(capsys.readouterr().err, "is not a finite number")
    threshold = here / "threshold.yaml"
    threshold.write_text(BASELINE.replace("when: {fact: os.family, ne: {param: family}}\n    check: {fact: os.family, in: []}",
                                          "check: {fact: os.family, lt: .nan}"))
    assert main(["validate", str(threshold)]) == 2
    one_line(capsys.readouterr().err, "rules[0].check.lt: nan is not a finite number")


@pytest.mark.parametrize("where", ["command", "folder estate"])
def test_an_internal_error_is_one_line_whatever_its_text(
        here: Path, where: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 15, L3: an exception whose text holds line breaks (a library quoting a file or a
    target, U+2028 included) forged extra lines in the journal through the "internal error"
    line of a command, or of one estate in a folder run."""
    forged = "boom\nundone: web01 (10.0.0.1) ok 1ms pass=99\r\u2028undone: done: 0 fail"

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(forged)

    if where == "command":
        monkeypatch.setattr("scanner.cli.app._rules", crash)
        argv = ["rules"]
    else:
        monkeypatch.setattr("scanner.inventory.load", crash)
        folder = here / "estates"
        folder.mkdir()
        (folder / "acme.yaml").write_text((here / "inv.yaml").read_text())
        argv = ["scan", str(folder), "-b", str(here / "bl.yaml"), "-o", str(here / "out"),
                "--db", str(here / "db")]
    assert main(argv) == 4
    err = capsys.readouterr().err
    crashed = [ln for ln in err.splitlines() if "internal error" in ln]
    assert len(crashed) == 1, err
    assert "RuntimeError: boom\\nundone: web01" in crashed[0] and "\\u2028" in crashed[0]
    assert not any(ln.startswith("undone: web01") or ln.startswith("undone: done: 0")
                   for ln in err.splitlines()), err


def test_hosts_names_an_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two inventory names for one machine reached the same way are one host, scanned under the
    first name (``aliases`` in `undone inventory`); `--hosts` with the second name selects it
    instead of refusing it as "no such host". The machine is loopback's closed port 1."""
    monkeypatch.delenv("UNDONE_DB", raising=False)
    (tmp_path / "inv.yaml").write_text(
        "all:\n  hosts:\n    web: {address: 127.0.0.1, port: 1}\n"
        "    www: {address: 127.0.0.1, port: 1}\n    other: {address: 127.0.0.1, port: 2}\n")
    (tmp_path / "bl.yaml").write_text(BASELINE)
    out = tmp_path / "out.json"
    code = main(["scan", str(tmp_path / "inv.yaml"), "-b", str(tmp_path / "bl.yaml"), "-q",
                 "--no-history", "--connect-timeout", "2", "--hosts", "www",
                 "--format", "json", "--output", str(out)])
    doc = json.loads(out.read_text())
    assert [h["name"] for h in doc["hosts"]] == ["web"]
    assert doc["hosts"][0]["reachable"] is False and code == 3
