"""`undone scan FOLDER`: one estate per inventory, each with its own history, report and exit
code, an index of them all, and one estate's failure never stopping the others. These estates
are this machine under several names (the local transport); the estate-wide test is
tests/integration/test_many_estates.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from scanner.cli.app import main
from scanner.ops import estates as multi
from scanner.ops import lock
from tests.unit.scanner.ops import test_notify
from tests.unit.scanner.ops.test_notify import BASELINE, Hook
from tests.unit.scanner.ops.test_outputs import ROOT_ONLY, in_read_only, one_line

# the real HTTP receiver on 127.0.0.1 and the clean environment of the notification tests
receiver_fixture, env_fixture = test_notify.webhook, test_notify.env


def estate(folder: Path, key: str, client: str, family: str = "linux", hosts: int = 1) -> None:
    lines = "".join(f"    {key}-h{i}: {{transport: local}}\n" for i in range(1, hosts + 1))
    (folder / f"{key}.yaml").write_text(
        f"estate: {{client: {json.dumps(client)}}}\nparams: {{family: {family}}}\n"
        f"all:\n  hosts:\n{lines}")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    f = tmp_path / "clients"
    f.mkdir()
    estate(f, "acme", "Acme Dental", hosts=2)
    estate(f, "bravo", "Bravo & <Sons>", family="windows")
    estate(f, "charlie", "Charlie School")
    (f / "README.txt").write_text("not an inventory")
    (f / ".hidden.yaml").write_text("ignored: true")
    (tmp_path / "bl.yaml").write_text(BASELINE)
    return f


def run(folder: Path, *extra: str) -> tuple[int, Path]:
    out = folder.parent / "out"
    code = main(["scan", str(folder), "--output", str(out), "--db", str(folder.parent / "db"),
                 "-b", str(folder.parent / "bl.yaml"), "--concurrency", "3", *extra])
    return code, out


def index_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "index.json").read_text())
    return data


def test_every_estate_its_own_history_report_and_code_and_one_index(
        folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "delta.yaml").write_text("all:\n  hosts:\n    d1: {transport: local, prot: 22}\n")
    code, out = run(folder)
    stdout, err = capsys.readouterr()
    assert code == 2  # the worst: an invalid inventory, the rest scanned
    idx = index_of(out)
    assert idx["schema"] == "undone.index/1" and idx["exit_code"] == 2
    rows = {e["key"]: e for e in idx["estates"]}
    assert list(rows) == ["acme", "bravo", "charlie", "delta"]
    assert {k: (e["status"], e["exit_code"]) for k, e in rows.items()} == {
        "acme": ("scanned", 0), "bravo": ("scanned", 1), "charlie": ("scanned", 0),
        "delta": ("invalid", 2)}
    assert rows["delta"]["problems"] == [
        f"{folder}/delta.yaml: all.hosts.d1: unknown key 'prot' (did you mean 'port'?)"]
    assert rows["acme"]["name"] == "Acme Dental" and rows["acme"]["hosts"] == 2
    assert rows["bravo"]["controls"]["asset-management"] == {
        "compliance": 0.0, "pass": 0, "fail": 1, "overdue": 0}
    # acme runs its expected family: the rule is not judged there (test_notify's baseline)
    assert rows["acme"]["controls"]["asset-management"] == {
        "compliance": None, "pass": 0, "fail": 0, "overdue": 0}
    for key in ("acme", "bravo", "charlie"):
        assert rows[key]["report"] == f"{key}.html" and (out / f"{key}.html").is_file()
        doc = json.loads((out / f"{key}.json").read_text())
        assert {h["name"] for h in doc["hosts"]} == {f"{key}-h{i}" for i in
                                                     range(1, rows[key]["hosts"] + 1)}
        assert (folder.parent / "db" / f"{key}.sqlite").is_file()
        assert rows[key]["last_scan"] == doc["scan"]["finished_at"]
    assert not (out / "delta.html").exists() and not (folder.parent / "db" / "delta.sqlite"
                                                       ).exists()
    page = (out / "index.html").read_text()
    for key in ("acme", "bravo", "charlie"):
        assert f'<a href="{key}.html">' in page
    assert "Bravo &amp; &lt;Sons&gt;" in page and "<Sons>" not in page
    assert "invalid inventory: not scanned" in page and "did you mean" in page
    # standard output: a line per estate; standard error: a line per host and a summary
    lines = stdout.splitlines()
    assert lines[0].startswith("acme     exit 0  2 hosts (0 unreachable), 0 fail")
    assert lines[3].startswith("delta    exit 2  invalid inventory, not scanned: ")
    assert lines[-1] == f"index: {out}/index.html"
    assert "undone: acme: acme-h1 (localhost) ok" in err
    assert "undone: bravo: done: 1 hosts (0 unreachable), 0 pass, 1 fail" in err
    assert "undone: 4 estates: 3 scanned, 1 not scanned; exit 2" in err


def test_an_estate_that_is_busy_or_crashes_does_not_stop_the_others(
        folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(folder, "--quiet")  # a first run: every estate has a report
    assert code == 1
    from scanner import scan as scan_mod

    real = scan_mod.run

    def flaky(inv: Any, *a: Any, **k: Any) -> Any:
        if "charlie" in str(inv.path):
            raise RuntimeError("boom")
        return real(inv, *a, **k)

    monkeypatch.setattr(scan_mod, "run", flaky)
    capsys.readouterr()
    with lock.hold(str(folder.parent / "db" / "bravo.sqlite")):
        code, out = run(folder, "--quiet", "--format", "json")
    idx = json.loads(capsys.readouterr().out)
    assert idx == index_of(out)
    rows = {e["key"]: e for e in idx["estates"]}
    assert (rows["acme"]["status"], rows["acme"]["exit_code"]) == ("scanned", 0)
    assert (rows["bravo"]["status"], rows["bravo"]["exit_code"]) == ("busy", 5)
    assert rows["bravo"]["problems"][0].startswith("another scan of this estate is running")
    assert (rows["charlie"]["status"], rows["charlie"]["exit_code"]) == ("error", 4)
    assert rows["charlie"]["problems"] == ["internal error: RuntimeError: boom"]
    assert code == 4 == idx["exit_code"]
    # not scanned now, but the index still says when each was last scanned and links that report
    for key in ("bravo", "charlie"):
        assert rows[key]["last_scan"] and rows[key]["report"] == f"{key}.html"
    assert "(from the last scan)" in (out / "index.html").read_text()


def test_two_runs_of_one_folder_do_not_overlap(folder: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = folder.parent / "out"
    out.mkdir()
    with lock.hold(str(out / ".undone")):
        code, _ = run(folder)
    assert code == 5
    assert "another scan of this estate is running" in capsys.readouterr().err


def test_total_concurrency_is_shared_across_estates(folder: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.engine import collect

    real = collect.collect_host
    busy = [0, 0]
    guard = threading.Lock()

    def counted(*a: Any, **k: Any) -> Any:
        with guard:
            busy[0] += 1
            busy[1] = max(busy[1], busy[0])
        try:
            return real(*a, **k)
        finally:
            with guard:
                busy[0] -= 1

    monkeypatch.setattr(collect, "collect_host", counted)
    for i in range(4):
        estate(folder, f"extra{i}", f"Extra {i}", hosts=3)
    code, out = run(folder, "--quiet", "--concurrency", "2")
    assert code == 1 and len(index_of(out)["estates"]) == 7
    assert busy[1] == 2


@pytest.mark.parametrize(("extra", "needle"), [
    (["--format", "html"], "--format html: with a folder of inventories"),
    (["--hosts", "x"], "--hosts and --waivers are for one inventory"),
])
def test_folder_mode_input_errors(folder: Path, extra: list[str], needle: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(folder, *extra)
    assert code == 2 and needle in capsys.readouterr().err
    assert not out.exists()


def test_folder_needs_output_and_inventories(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["scan", str(empty), "--output", str(tmp_path / "o")]) == 2
    assert "no inventories here" in capsys.readouterr().err
    assert main(["scan", str(empty)]) == 2
    assert "needs --output FOLDER" in capsys.readouterr().err


def test_worst_exit_code_order() -> None:
    assert multi.worst([0, 3, 1]) == 1
    assert multi.worst([1, 5]) == 5
    assert multi.worst([5, 2, 1]) == 2
    assert multi.worst([2, 4, 0]) == 4
    assert multi.worst([0, 3]) == 3
    assert multi.worst([]) == 0


@pytest.mark.usefixtures("env_fixture")
def test_each_estate_notifies_on_its_own_changes(folder: Path,
                                                 receiver_fixture: tuple[Hook, int]) -> None:
    hook, port = receiver_fixture
    notify = f"notify: {{webhook: {{url: 'http://127.0.0.1:{port}/acme'}}}}\n"
    text = (folder / "acme.yaml").read_text()
    (folder / "acme.yaml").write_text(text + notify)
    assert run(folder, "--quiet")[0] == 1  # the baseline of every estate: nothing sent
    assert hook.posts == []
    (folder / "acme.yaml").write_text(text.replace("family: linux", "family: windows") + notify)
    (folder / "charlie.yaml").write_text(
        (folder / "charlie.yaml").read_text().replace("family: linux", "family: windows"))
    code, out = run(folder, "--quiet")
    assert code == 1
    assert len(hook.posts) == 1  # acme changed and has a notify section; charlie has none
    data = json.loads(hook.posts[0]["body"])
    assert data["undone"]["estate"]["client"] == "Acme Dental"
    assert data["undone"]["counts"]["new"] == 2
    acme = next(e for e in index_of(out)["estates"] if e["key"] == "acme")
    assert acme["notified"] == [f"webhook: webhook http://127.0.0.1:{port} answered HTTP 204"]
    assert run(folder, "--quiet")[0] == 1 and len(hook.posts) == 1  # no change: nothing


# -- issue 15: folder mode isolates estates ----------------------------------------------------

def test_an_internal_error_loading_one_estate_does_not_stop_the_others(
        folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug met while loading one inventory escaped the estate's boundary: every estate was
    abandoned and no index was written."""
    from scanner import inventory

    real = inventory.load

    def flaky(path: str, *a: Any, **k: Any) -> Any:
        if path.endswith("bravo.yaml"):
            raise ZeroDivisionError("a bug")
        return real(path, *a, **k)

    monkeypatch.setattr(inventory, "load", flaky)
    code, out = run(folder, "--quiet")
    idx = index_of(out)
    rows = {e["key"]: e for e in idx["estates"]}
    assert (rows["bravo"]["status"], rows["bravo"]["exit_code"]) == ("error", 4)
    assert rows["bravo"]["problems"] == ["internal error: ZeroDivisionError: a bug"]
    assert {k: rows[k]["status"] for k in ("acme", "charlie")} == {"acme": "scanned",
                                                                   "charlie": "scanned"}
    assert code == 4 and (out / "index.html").is_file() and (out / "acme.html").is_file()


def test_estates_that_would_share_a_history_and_a_report_are_refused(
        folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """acme.yaml and acme.yml were one estate key: one history, one report, each scan
    compared with the other's."""
    estate(folder, "charlie", "Charlie Two")
    (folder / "charlie.yaml").rename(folder / "charlie.yml")
    estate(folder, "charlie", "Charlie One")
    estate(folder, "index", "Not The Index")  # index.html is the folder's own
    code, out = run(folder, "--quiet")
    idx = index_of(out)
    charlies = [e for e in idx["estates"] if e["key"] == "charlie"]
    assert [(e["inventory_file"], e["status"], e["exit_code"]) for e in charlies] == [
        ("charlie.yaml", "invalid", 2), ("charlie.yml", "invalid", 2)]
    assert "estate key 'charlie' is also that of charlie.yml" in charlies[0]["problems"][0]
    assert not (folder.parent / "db" / "charlie.sqlite").exists()
    rows = {e["key"]: e for e in idx["estates"]}
    assert rows["index"]["status"] == "invalid" and "index.html" in rows["index"]["problems"][0]
    assert rows["acme"]["status"] == "scanned" and code == 2
    assert json.loads((out / "index.json").read_text())["schema"] == "undone.index/1"


def test_reports_index_and_histories_are_private(folder: Path) -> None:
    assert run(folder, "--quiet")[0] == 1  # bravo's family is not linux: a finding
    out = folder.parent / "out"
    db = folder.parent / "db"
    assert (out.stat().st_mode & 0o777) == 0o700 and (db.stat().st_mode & 0o777) == 0o700
    for p in [*out.iterdir(), *db.iterdir()]:
        assert (p.stat().st_mode & 0o777) == 0o600, p


@ROOT_ONLY
def test_an_output_folder_that_cannot_be_written_is_found_before_any_estate_is_scanned(
        folder: Path) -> None:
    """A read-only --output folder: every estate was scanned and recorded, then each failed to
    write its report (exit 4). Now: one line, exit 2, nothing scanned."""
    base = folder.parent
    (base / "bl.yaml").write_text(BASELINE)
    p = in_read_only(base, "scan", str(folder), "--output", str(base / "mnt" / "reports"),
                     "--db", str(base / "db"), "-b", str(base / "bl.yaml"))
    assert p.returncode == 2, p.stderr
    one_line(p.stderr, "Read-only file system")
    assert not (base / "db").exists()  # no history begun
