"""The history's stored codes: literal, versioned, recorded in the file and checked on open; a
history written by undone 0.2.0 (tests/fixtures/history/, made through its real CLI) reads
exactly as that release read it, before and after today's undone has added a scan's migrations
to it; and reordering any vocabulary tuple changes the meaning of no stored row."""

from __future__ import annotations

import ast
import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scanner import clock
from scanner.cli.app import main
from scanner.errors import InputError
from scanner.history import store as history
from scanner.history.store import History, record_all

ROOT = Path(__file__).resolve().parents[4]
FIXTURE = ROOT / "tests" / "fixtures" / "history"
GOLDEN = FIXTURE / "golden"
REPORT_AT = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)  # make_fixture.py's REPORT_AT

# What each stored integer has meant since codes version 1 (undone 0.2.0 numbered its tuples in
# this order). Written out here on purpose: never edit a line; a new code is a new line.
V1 = {
    "status": {"pass": 0, "fail": 1, "error": 2, "not_applicable": 3, "waived": 4, "manual": 5,
               "absent": 6},
    "severity": {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4},
    "owner": {"provider": 0, "client": 1, "shared": 2},
    "event": {"patch": 0, "backup": 1, "signatures": 2},
    "closed_why": {"rule changed": 1, "no longer checked": 2},
}


def _scan_ids() -> list[tuple[str, str]]:
    rows = json.loads((GOLDEN / "list.json").read_text())
    return [(f"scan{r['row']}.json", r["id"]) for r in rows]


REPORTS: list[tuple[str, list[str]]] = [
    ("list.json", ["--list"]),
    ("latest.json", []),
    ("period.json", ["--from", "2026-09-01", "--to", "2026-11-30"]),
    ("diff.json", ["--diff", "previous", "latest"]),
    *((name, [uid]) for name, uid in _scan_ids()),
]


def _versionless(value: Any) -> Any:
    """The document without the tool's version (the fixture's 0.2.0 is not today's)."""
    if isinstance(value, dict):
        return {k: ("*" if k == "version" and value.get("name") == "undone" else _versionless(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_versionless(v) for v in value]
    return value


@pytest.fixture
def still_clock() -> Iterator[None]:
    clock.use(lambda: REPORT_AT)
    try:
        yield
    finally:
        clock.use(None)


def _report(db: Path, out: Path, args: list[str]) -> Any:
    code = main(["report", *args, "--format", "json", "--db", str(db), "--output", str(out)])
    assert code == 0
    return json.loads(out.read_text())


def _fixture_copy(tmp_path: Path) -> Path:
    db = tmp_path / "history.sqlite"
    shutil.copyfile(FIXTURE / "history.sqlite", db)
    return db


def _assert_reads_as_golden(db: Path, tmp_path: Path) -> None:
    for name, args in REPORTS:
        got = _report(db, tmp_path / f"out-{name}", args)
        want = json.loads((GOLDEN / name).read_text())
        assert _versionless(got) == _versionless(want), name


def test_the_fixture_was_written_before_the_codes_table() -> None:
    """So that reading it tests the old encoding, not the new one."""
    db = sqlite3.connect(f"file:{FIXTURE / 'history.sqlite'}?mode=ro", uri=True)
    try:
        assert [r[0] for r in db.execute("SELECT name FROM migrations ORDER BY name")] == [
            "0001_initial", "0002_pending_updates", "0003_finding_closed_why"]
        # it holds every status, severity and owner code, so each one's meaning is read
        assert {r[0] for r in db.execute("SELECT status FROM changes")} == set(range(7))
        assert {r[0] for r in db.execute("SELECT severity FROM findings")} == set(range(5))
        assert {r[0] for r in db.execute("SELECT owner FROM findings")} == {0, 1, 2}
        assert {r[0] for r in db.execute("SELECT closed_why FROM findings")} == {None, 1, 2}
        assert {r[0] for r in db.execute("SELECT kind FROM events")} == {0}
    finally:
        db.close()


@pytest.mark.usefixtures("still_clock")
def test_a_history_of_the_release_before_reads_identically_read_only(tmp_path: Path) -> None:
    db = _fixture_copy(tmp_path)
    before = db.read_bytes()
    _assert_reads_as_golden(db, tmp_path)
    assert db.read_bytes() == before  # reports write nothing, not even the codes table


@pytest.mark.usefixtures("still_clock")
def test_it_reads_identically_after_todays_undone_migrated_it(tmp_path: Path) -> None:
    db = _fixture_copy(tmp_path)
    History(db).close()  # what `undone scan --db` does first: the codes migration
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT 1 FROM migrations WHERE name = ?",
                         (history.CODES_MIGRATION,)).fetchone()
        stored = {(k, n): code for k, code, n in c.execute("SELECT kind, code, name FROM codes")}
    assert stored == {(k, n): code for k, m in V1.items() for n, code in m.items()}
    _assert_reads_as_golden(db, tmp_path)


def test_the_maps_are_literal_versioned_and_never_renumbered() -> None:
    """Each map is a literal of name: integer in scanner/history/codes.py, not derived from a tuple's
    order, and every code of version 1 keeps its meaning."""
    tree = ast.parse((ROOT / "scanner" / "history" / "codes.py").read_text())
    literal: dict[str, dict[str, int]] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                node.target.id.endswith("_CODES") and node.value is not None:
            call = node.value
            assert isinstance(call, ast.Call) and len(call.args) == 1, node.target.id
            d = call.args[0]
            assert isinstance(d, ast.Dict), f"{node.target.id} is not a literal map"
            literal[node.target.id] = ast.literal_eval(d)
    assert set(literal) == {"STATUS_CODES", "SEVERITY_CODES", "OWNER_CODES", "EVENT_CODES",
                            "CLOSED_WHY_CODES"}
    assert isinstance(history.CODES_VERSION, int) and history.CODES_VERSION >= 1
    for kind, codes in history.CODES.items():
        assert dict(codes) in literal.values()
        assert len(set(codes.values())) == len(codes), kind
        for name, code in V1[kind].items():
            assert codes[name] == code, (kind, name)  # never renumbered, never removed
    # the migration that records version 1 in a file records exactly these
    mem = sqlite3.connect(":memory:")
    for _, sql in history.MIGRATIONS:
        for stmt in sql.split(";"):
            if stmt.strip():
                mem.execute(stmt)
    assert {(k, n): c for k, c, n, v in mem.execute("SELECT kind, code, name, version "
                                                    "FROM codes") if v <= 1} == {
        (k, n): c for k, m in V1.items() for n, c in m.items()}
    # the vocabularies the rest of undone writes all have a code
    from scanner import vocab
    assert set(vocab.STATUSES) | {"absent"} == set(history.STATUS_CODES)
    assert set(vocab.SEVERITIES) == set(history.SEVERITY_CODES)
    assert set(vocab.OWNERS) == set(history.OWNER_CODES)
    from scanner.history import events
    assert set(events.EVENT_KINDS) == set(history.EVENT_CODES)


def _reorder_every_vocabulary(monkeypatch: pytest.MonkeyPatch) -> int:
    """Reverse every tuple of statuses, severities, owners, controls and event kinds that
    undone's modules hold (what a refactor that "tidies" a vocabulary would do)."""
    import reports.diff
    import reports.model
    import scanner.history.events
    import scanner.history.period
    import scanner.history.write
    import scanner.inventory
    import scanner.scan
    import scanner.vocab

    n = 0
    for module in (history, scanner.history.write, scanner.history.period, scanner.vocab,
                   scanner.scan, scanner.inventory, reports.model, reports.diff):
        for name in ("STATUSES", "SEVERITIES", "OWNERS", "CONTROLS", "EVENT_NAMES"):
            value = getattr(module, name, None)
            if isinstance(value, tuple) and len(value) > 1:
                monkeypatch.setattr(module, name, tuple(reversed(value)))
                n += 1
    events = scanner.history.events
    kinds = dict(reversed(list(events.EVENT_KINDS.items())))
    monkeypatch.setattr(events, "EVENT_KINDS", kinds)
    monkeypatch.setattr(scanner.history.period, "EVENT_KINDS", kinds)
    return n


@pytest.mark.usefixtures("still_clock")
def test_reordering_the_tuples_changes_nothing_stored_or_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _reorder_every_vocabulary(monkeypatch) >= 4
    # an old file still reads as it did
    _assert_reads_as_golden(_fixture_copy(tmp_path), tmp_path)
    # and a new one stores the codes of V1, whatever the tuples' order
    now = datetime(2026, 12, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    for i, (status, severity, owner) in enumerate([
            ("fail", "high", "client"), ("waived", "critical", "shared"),
            ("fail", "info", "provider"), ("manual", "low", "provider"),
            ("not_applicable", "medium", "client"), ("error", "medium", "shared")]):
        rows.append({"host": "h1", "rule": f"T-{i}", "title": "t", "control": "backup",
                     "severity": severity, "owner": owner, "status": status,
                     "observed": {}, "expected": "x", "message": "m", "evidence": []})
    doc: dict[str, Any] = {"scan": {"id": "s1", "started_at": "2026-12-01T00:00:00Z"},
           "tool": {"version": "test"}, "summary": {}, "rules": {},
           "hosts": [{"name": "h1", "address": "10.0.0.1", "transport": "ssh",
                      "platform": "linux", "reachable": True,
                      "facts": {"backup.last_success_at": "2026-11-30T01:00:00Z"}}],
           "results": rows}
    path = tmp_path / "new.sqlite"
    with History(path) as h:
        record_all(h, doc, now=now)
        back = {res["rule"]: res for res in h.document("s1")["results"]}
    with sqlite3.connect(path) as c:
        stored = {rule: code for rule, code in c.execute(
            "SELECT r.rule, c.status FROM changes c JOIN rules r ON r.id = c.rule")}
        findings = {rule: (sev, own) for rule, sev, own in c.execute(
            "SELECT r.rule, f.severity, f.owner FROM findings f JOIN rules r ON r.id = f.rule")}
        kinds = {k for (k,) in c.execute("SELECT kind FROM events")}
    for r in rows:
        assert stored[r["rule"]] == V1["status"][r["status"]], r
        assert back[r["rule"]]["status"] == r["status"]
        if r["status"] in ("fail", "waived"):
            assert findings[r["rule"]] == (V1["severity"][r["severity"]],
                                           V1["owner"][r["owner"]]), r
    assert kinds == {V1["event"]["backup"]}


def _with_codes(tmp_path: Path, sql: str) -> Path:
    db = _fixture_copy(tmp_path)
    History(db).close()
    with sqlite3.connect(db) as c:
        c.execute(sql)
    return db


@pytest.mark.parametrize(("sql", "message"), [
    ("UPDATE codes SET name = 'client' WHERE kind = 'owner' AND code = 2",
     "its stored owner code 2 means 'client', here 'shared'"),
    ("INSERT INTO codes VALUES ('status', 7, 'skipped', 2)",
     "written by a newer undone (stored codes version 2: status 7 is 'skipped')"),
    ("INSERT INTO codes VALUES ('status', 7, 'skipped', 1)",
     "its stored status code 7 means 'skipped', here nothing"),
    ("DELETE FROM codes WHERE kind = 'severity' AND code = 4",
     "its codes table lacks severity 4"),
    ("DROP TABLE codes", "table codes is missing"),
])
def test_a_file_whose_codes_differ_is_refused_not_misread(
        tmp_path: Path, sql: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = _with_codes(tmp_path, sql)
    for readonly in (True, False):
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            History(db, readonly=readonly)
    assert main(["report", "--list", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(db) in err and "Traceback" not in err
