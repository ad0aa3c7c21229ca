"""scanner/ops/run.py: the scan use case (lock, history, scan, notify, reports, evidence) written
once, for ``undone scan INVENTORY`` and for each estate of ``undone scan FOLDER``.

The first tests scan one estate both ways, through the command line, and check that the two
paths agree: the same result document (apart from times and ids), the same history, the same
notification, the same log lines. They fail if either path grows a step of its own again. The
others drive :func:`run_estate` directly. The estates are this machine under two host names
(the local transport) and test_notify's one-rule baseline, whose verdict an inventory parameter
turns on and off.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from scanner import inventory
from scanner.cli.app import main
from scanner.engine.options import Options
from scanner.errors import BusyError, InputError
from scanner.history import store as history
from scanner.ops import lock
from scanner.ops import run as run_mod
from scanner.rules import baselines
from tests.unit.scanner.ops import test_notify
from tests.unit.scanner.ops.test_notify import BASELINE, Hook

receiver_fixture, env_fixture = test_notify.webhook, test_notify.env

# an ISO time, or one as a message shows it (reports.model.when: "7 Dec 2026 19:34 UTC"; two
# scans a second apart may straddle a minute)
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"
                   r"|\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d UTC")
_SCAN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
# what differs between two scans of one machine a second apart: the machine's own clock (in
# the raw section output and its digest), and how long things took
_VOLATILE = {"duration_ms", "clock_skew_seconds", "stdout", "sha256"}


def _same(value: Any) -> Any:
    """``value`` with times, scan ids and durations replaced by placeholders."""
    if isinstance(value, dict):
        return {k: "<volatile>" if k.rsplit(".", 1)[-1] in _VOLATILE else _same(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_same(v) for v in value]
    if isinstance(value, str):
        return _SCAN_ID.sub("<scan>", _TIME.sub("<time>", value))
    return value


def _estate(path: Path, family: str, hook_port: int | None = None) -> Path:
    text = ("estate: {client: Acme Dental, provider: Example IT}\n"
            f"params: {{family: {family}}}\n"
            "all:\n  hosts:\n    acme-h1: {transport: local}\n    acme-h2: {transport: local}\n")
    if hook_port is not None:
        text += f"notify: {{webhook: {{url: 'http://127.0.0.1:{hook_port}/acme'}}}}\n"
    path.write_text(text)
    return path


def _log(err: str, prefix: str) -> list[str]:
    """The run's own lines on standard error, without the prefix, durations and file names."""
    out = []
    for line in err.splitlines():
        if not line.startswith(prefix):
            continue
        line = re.sub(r"\d+ms\b", "<ms>", line[len(prefix):])
        line = re.sub(r" in \d+s\b", " in <s>", line)
        out.append(re.sub(r"; report \S+$", "; report <file>", line))
    return out


@pytest.fixture
def both(tmp_path: Path, receiver_fixture: tuple[Hook, int], env_fixture: None
         ) -> dict[str, Any]:
    """One estate scanned twice as a single inventory and twice as a folder of one estate
    (the second scan after a change that turns the rule's verdict on): what each path left."""
    hook, port = receiver_fixture
    (tmp_path / "bl.yaml").write_text(BASELINE)
    folder = tmp_path / "clients"
    folder.mkdir()
    inv = folder / "acme.yaml"
    got: dict[str, Any] = {}

    def single() -> int:
        return main(["scan", str(inv), "-b", str(tmp_path / "bl.yaml"), "--db",
                     str(tmp_path / "single.sqlite"), "--concurrency", "1", "--format", "json",
                     "--format", "html", "--output", str(tmp_path / "single") + "/"])

    def folder_run() -> int:
        return main(["scan", str(folder), "-b", str(tmp_path / "bl.yaml"), "--db",
                     str(tmp_path / "dbs"), "--concurrency", "1", "--output",
                     str(tmp_path / "out")])

    for name, fn in (("single", single), ("folder", folder_run)):
        posts = len(hook.posts)
        _estate(inv, "linux", port)  # the baseline: the rule is not judged on linux
        first = fn()
        assert hook.posts[posts:] == []  # an estate's first scan is its baseline: nothing sent
        _estate(inv, "windows", port)  # now it fails on both hosts: two new findings
        got[name] = {"codes": (first, fn()), "posts": hook.posts[posts:]}
    got["single_doc"] = json.loads((tmp_path / "single" / "result.json").read_text())
    got["folder_doc"] = json.loads((tmp_path / "out" / "acme.json").read_text())
    got["single_db"] = tmp_path / "single.sqlite"
    got["folder_db"] = tmp_path / "dbs" / "acme.sqlite"
    got["tmp"] = tmp_path
    return got


def test_one_estate_scanned_alone_or_in_a_folder_gives_the_same_document(
        both: dict[str, Any]) -> None:
    assert both["single"]["codes"] == both["folder"]["codes"] == (0, 1)
    single, folder = both["single_doc"], both["folder_doc"]
    assert single["summary"]["by_status"]["fail"] == 2  # a real verdict, not two empty scans
    assert _same(single) == _same(folder)
    # both wrote the HTML report beside it (its trend chart is drawn to the scans' times)
    tmp = both["tmp"]
    for page in (tmp / "single" / "report.html", tmp / "out" / "acme.html"):
        assert "NT-OS-001" in page.read_text()


def test_one_estate_scanned_alone_or_in_a_folder_leaves_the_same_history(
        both: dict[str, Any]) -> None:
    views = []
    for db in (both["single_db"], both["folder_db"]):
        with history.open_history(str(db), create=False, readonly=True) as h:
            scans = h.scans()
            views.append({"scans": _same(scans), "latest": _same(h.document()),
                          "first": _same(h.document(scans[0]["id"]))})
    assert [s["complete"] for s in views[0]["scans"]] == [True, True]
    assert views[0]["latest"]["history"]["changes"]  # what changed, as recorded
    assert views[0] == views[1]


def test_one_estate_scanned_alone_or_in_a_folder_notifies_the_same(
        both: dict[str, Any]) -> None:
    single, folder = both["single"]["posts"], both["folder"]["posts"]
    assert len(single) == len(folder) == 1
    bodies = [_same(json.loads(p["body"])) for p in (single[0], folder[0])]
    assert bodies[0]["undone"]["counts"]["new"] == 2
    assert bodies[0] == bodies[1]
    assert single[0]["path"] == folder[0]["path"] == "/acme"


def test_one_estate_scanned_alone_or_in_a_folder_logs_the_same_lines(
        tmp_path: Path, receiver_fixture: tuple[Hook, int], env_fixture: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, port = receiver_fixture
    (tmp_path / "bl.yaml").write_text(BASELINE)
    folder = tmp_path / "clients"
    folder.mkdir()
    inv = _estate(folder / "acme.yaml", "windows", port)
    logs = []
    for args, prefix in (([str(inv), "--db", str(tmp_path / "one.sqlite"), "--format", "html",
                           "--output", str(tmp_path / "one.html")], "undone: "),
                         ([str(folder), "--db", str(tmp_path / "dbs"), "--output",
                           str(tmp_path / "out")], "undone: acme: ")):
        for family in ("linux", "windows"):  # a baseline, then a change to tell of
            _estate(inv, family, port)
            capsys.readouterr()
            main(["scan", *args, "-b", str(tmp_path / "bl.yaml"), "--concurrency", "1"])
        logs.append(_log(capsys.readouterr().err, prefix))
    single, in_folder = logs
    assert single[0] == "acme-h1 (localhost) ok <ms> fail=1 not_applicable=2"
    assert single[2].startswith("done: 2 hosts (0 unreachable), 0 pass, 2 fail")
    assert single[3].startswith("notified: webhook http://127.0.0.1")
    assert single == in_folder


# -- run_estate itself --------------------------------------------------------------------------

@pytest.fixture
def estate(tmp_path: Path) -> tuple[inventory.Inventory, list[baselines.Baseline]]:
    (tmp_path / "bl.yaml").write_text(BASELINE)
    inv = inventory.load(str(_estate(tmp_path / "acme.yaml", "windows", 9)))
    return inv, baselines.load([str(tmp_path / "bl.yaml")])


class Watch:
    def __init__(self) -> None:
        self.planned: list[int] = []
        self.hosts: list[str] = []
        self.stopped = 0

    def start(self, planned: int) -> None:
        self.planned.append(planned)

    def host(self, rec: dict[str, Any], results: list[dict[str, Any]]) -> None:
        self.hosts.append(rec["name"])

    def stop(self) -> None:
        self.stopped += 1


def test_a_run_records_writes_and_tells_its_outcome(
        tmp_path: Path, estate: tuple[inventory.Inventory, list[baselines.Baseline]]) -> None:
    inv, bls = estate
    watch, said, chat, printed = Watch(), [], [], []
    out = run_mod.run_estate(
        run_mod.Request(inv, bls, Options(concurrency=1), str(tmp_path / "h.sqlite"),
                        notify=False,
                        reports=(run_mod.Report("json", str(tmp_path / "r.json")),
                                 run_mod.Report("markdown"))),
        run_mod.Hooks(log=said.append, chatter=chat.append, watcher=watch,
                      stdout=printed.append))
    assert out.exit_code == 1 == out.document["summary"]["exit_code"]
    assert out.interrupted is None and out.interruption is None and out.hosts_finished == 2
    assert out.history.path == str(tmp_path / "h.sqlite") and out.history.finished
    assert not out.notify.compared and out.notify.sent == []  # --no-notify
    assert [(r.fmt, r.path) for r in out.written] == [("json", str(tmp_path / "r.json")),
                                                       ("markdown", None)]
    assert json.loads((tmp_path / "r.json").read_text()) == out.document
    assert len(printed) == 1 and "NT-OS-001" in printed[0]
    assert watch.planned == [2] and sorted(watch.hosts) == ["acme-h1", "acme-h2"]
    assert watch.stopped == 1
    assert said == [] and chat[0].startswith("done: 2 hosts") and len(chat) == 1
    with lock.hold(str(tmp_path / "h.sqlite")):  # released at the end of the run
        pass
    with history.open_history(str(tmp_path / "h.sqlite"), create=False, readonly=True) as h:
        assert [s["complete"] for s in h.scans()] == [True]


def test_an_interrupted_run_keeps_the_scan_unfinished_and_tells_nobody(
        tmp_path: Path, estate: tuple[inventory.Inventory, list[baselines.Baseline]]) -> None:
    inv, bls = estate
    stop = threading.Event()
    stop.set()  # the signal came before any host finished
    said: list[str] = []
    out = run_mod.run_estate(
        run_mod.Request(inv, bls, Options(concurrency=1, cancel=stop),
                        str(tmp_path / "h.sqlite"), stopped_by=lambda: "SIGTERM",
                        reports=(run_mod.Report("json", str(tmp_path / "r.json")),)),
        run_mod.Hooks(log=said.append))
    assert out.interrupted == "SIGTERM" and out.exit_code >= 3
    assert out.document["scan"]["complete"] is False
    assert out.document["scan"]["interrupted"] == "SIGTERM"
    assert not out.history.finished and not out.notify.compared  # a notify section, unused
    assert out.interruption == said[-1] == (
        "interrupted by SIGTERM: 0 of 2 hosts finished and were recorded; the rest were not "
        "scanned")
    assert json.loads((tmp_path / "r.json").read_text())["scan"]["complete"] is False
    with history.open_history(str(tmp_path / "h.sqlite"), create=False, readonly=True) as h:
        assert [s["complete"] for s in h.scans()] == [False]


def test_notify_insists_on_a_history_and_a_notify_section(
        tmp_path: Path, estate: tuple[inventory.Inventory, list[baselines.Baseline]]) -> None:
    inv, bls = estate
    bare = inventory.load(str(_estate(tmp_path / "bare.yaml", "windows")))
    for req in (run_mod.Request(inv, bls, Options(), None, notify=True),
                run_mod.Request(bare, bls, Options(), str(tmp_path / "h.sqlite"), notify=True)):
        with pytest.raises(InputError, match="--notify: needs the history"):
            run_mod.run_estate(req)
    assert not (tmp_path / "h.sqlite").exists()  # nothing begun


def test_a_busy_estate_is_refused_before_anything_is_scanned(
        tmp_path: Path, estate: tuple[inventory.Inventory, list[baselines.Baseline]]) -> None:
    inv, bls = estate
    watch = Watch()
    db = str(tmp_path / "h.sqlite")
    with lock.hold(db), pytest.raises(BusyError):
        run_mod.run_estate(run_mod.Request(inv, bls, Options(), db),
                           run_mod.Hooks(watcher=watch))
    assert watch.planned == [] and not (tmp_path / "h.sqlite").exists()


def test_a_history_named_by_the_user_must_work_the_default_one_is_skipped_with_a_warning(
        tmp_path: Path, estate: tuple[inventory.Inventory, list[baselines.Baseline]]) -> None:
    inv, bls = estate
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    with pytest.raises(InputError, match="not a history file"):
        run_mod.run_estate(run_mod.Request(inv, bls, Options(), str(folder)))
    said: list[str] = []
    out = run_mod.run_estate(run_mod.Request(inv, bls, Options(), str(folder),
                                             history_named=False),
                             run_mod.Hooks(log=said.append))
    assert out.history.path is None and not out.history.finished
    assert out.history.warnings == said
    assert said[0].startswith("warning: not recording history: ")
    assert out.exit_code == 1  # scanned all the same


# -- what the folder run now does as the single scan does ---------------------------------------

def _folder(tmp_path: Path, port: int | None = None) -> Path:
    (tmp_path / "bl.yaml").write_text(BASELINE)
    folder = tmp_path / "clients"
    folder.mkdir()
    _estate(folder / "acme.yaml", "windows", port)
    (folder / "bravo.yaml").write_text(
        "params: {family: windows}\nall:\n  hosts:\n    b1: {transport: local}\n"
        "    b2: {ansible_connection: community.docker.docker}\n")
    return folder


def _index(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "out" / "index.json").read_text())
    return {e["key"]: e for e in data["estates"]}


def test_notify_insists_in_a_folder_run_too(tmp_path: Path,
                                             receiver_fixture: tuple[Hook, int],
                                             env_fixture: None,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """``--notify`` insists (docs/operations.md): an estate with no notify section is refused
    (exit 2), as a single inventory is, instead of being scanned without a word."""
    _, port = receiver_fixture
    folder = _folder(tmp_path, port)
    code = main(["scan", str(folder), "--output", str(tmp_path / "out"), "--db",
                 str(tmp_path / "dbs"), "-b", str(tmp_path / "bl.yaml"), "--notify", "--quiet"])
    rows = _index(tmp_path)
    assert code == 2
    assert (rows["acme"]["status"], rows["acme"]["exit_code"]) == ("scanned", 1)
    assert (rows["bravo"]["status"], rows["bravo"]["exit_code"]) == ("invalid", 2)
    assert rows["bravo"]["problems"][0].startswith("--notify: needs the history")
    # --quiet hides progress, never a problem
    err = capsys.readouterr().err
    assert "undone: bravo: --notify: needs the history" in err and " ok " not in err


def test_a_folder_run_lists_the_hosts_it_will_not_scan(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    folder = _folder(tmp_path)
    main(["scan", str(folder), "--output", str(tmp_path / "out"), "--db", str(tmp_path / "dbs"),
          "-b", str(tmp_path / "bl.yaml"), "--quiet"])
    assert "undone: bravo: b2: not scanned: connection community.docker.docker" in (
        capsys.readouterr().err)


def test_debug_shows_an_estates_traceback_in_a_folder_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """One switch for tracebacks: --debug (the folder run read $UNDONE_DEBUG instead)."""
    folder = _folder(tmp_path)
    from scanner import scan as scan_mod

    def crash(*a: Any, **k: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(scan_mod, "run", crash)
    monkeypatch.setenv("UNDONE_DEBUG", "1")  # no longer a switch
    args = ["scan", str(folder), "--output", str(tmp_path / "out"), "--db",
            str(tmp_path / "dbs"), "-b", str(tmp_path / "bl.yaml"), "--quiet"]
    assert main(args) == 4
    err = capsys.readouterr().err
    assert "undone: acme: internal error: ZeroDivisionError: a bug" in err
    assert "Traceback" not in err
    assert main([*args, "--debug"]) == 4
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: a bug" in err


def test_a_signal_after_the_scan_stops_the_run_before_its_next_slow_step(
        tmp_path: Path, estate: tuple[inventory.Inventory, list[baselines.Baseline]]) -> None:
    """SIGTERM while the reports are written (here: as one is printed): the scan is
    finished and recorded, the reports are written, but no evidence is sealed and the outcome
    carries the signal (so the exit code is 128 + n, not the document's)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    inv, bls = estate
    stop = threading.Event()
    said: list[str] = []

    def print_report(text: str) -> None:  # the signal lands while a report is printed
        stop.set()
    out = run_mod.run_estate(
        run_mod.Request(inv, bls, Options(concurrency=1, cancel=stop),
                        str(tmp_path / "h.sqlite"), notify=False,
                        stopped_by=lambda: "SIGTERM",
                        reports=(run_mod.Report("json", str(tmp_path / "r.json")),
                                 run_mod.Report("markdown")),
                        evidence=run_mod.Evidence(str(tmp_path / "ev.zip"),
                                                  Ed25519PrivateKey.generate())),
        run_mod.Hooks(log=said.append, stdout=print_report))
    assert out.history.finished and "interrupted" not in out.document["scan"]
    assert (tmp_path / "r.json").exists() and not (tmp_path / "ev.zip").exists()
    assert out.interrupted == "SIGTERM" and out.evidence_files is None
    assert said[-1] == ("interrupted by SIGTERM after the scan finished (it is recorded and its "
                        "reports written); no evidence was sealed")
