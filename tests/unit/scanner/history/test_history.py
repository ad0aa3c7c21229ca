"""History: findings' lives over several scans with an injected clock, compact storage,
reconstructed documents, the contract-period document, migrations."""

from __future__ import annotations

import copy
import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scanner.errors import InputError
from scanner.history.store import DEFAULT_DAYS, History, maintenance_events, record_all

ROOT = Path(__file__).parents[4]
SCHEMA = json.loads((ROOT / "scanner" / "schema" / "scan.schema.json").read_text())
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RULES = {
    "CE-SC-001": ("SSH does not accept root logins", "secure-configuration", "high"),
    "CE-SU-001": ("Security updates are installed within 14 days", "security-update-management",
                  "medium"),
    "CE-BK-001": ("Backups ran in the last day", "backup", "low"),
}


def result(host: str, rule: str, status: str, observed: Any = None,
           owner: str = "provider") -> dict[str, Any]:
    title, control, severity = RULES[rule]
    return {"host": host, "rule": rule, "title": title, "control": control,
            "severity": severity, "owner": owner, "status": status,
            "observed": {"x.value": observed}, "expected": "x.value equal to 1",
            "message": "" if status == "pass" else f"x.value is {observed!r}",
            "evidence": [], "first_seen": None, "due": None, "overdue_days": None}


def doc(statuses: dict[tuple[str, str], str], when: datetime, scan_id: str | None = None,
        facts: dict[str, dict[str, Any]] | None = None,
        unreachable: tuple[str, ...] = ()) -> dict[str, Any]:
    hosts = sorted({h for h, _ in statuses})
    results = [result(h, r, s, observed=0 if s == "fail" else 1)
               for (h, r), s in sorted(statuses.items())]
    return {
        "schema": "undone.scan/1", "tool": {"name": "undone", "version": "0.1.0"},
        "scan": {"id": scan_id or f"{when:%Y%m%dT%H%M%SZ}-000000",
                 "started_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "finished_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "inventory": "inv.yaml",
                 "estate": {"name": "School", "provider": "MSP"},
                 "baselines": [{"name": "cyber-essentials", "version": "1", "sha256": "0" * 64}]},
        "rules": {r: {"title": t, "control": c, "severity": s, "remediation": f"fix {r}",
                      "rationale": f"because {r}"} for r, (t, c, s) in RULES.items()},
        "hosts": [{"name": h, "address": f"192.0.2.{i + 1}", "transport": "ssh",
                   "platform": "linux", "reachable": h not in unreachable,
                   "error": "connection refused" if h in unreachable else None,
                   "facts": (facts or {}).get(h, {})} for i, h in enumerate(hosts)],
        "results": results,
        "summary": {"by_status": {}, "by_control": {}, "hosts_total": len(hosts),
                    "hosts_unreachable": len(unreachable), "exit_code": 1},
    }


def scan(h: History, statuses: dict[tuple[str, str], str], day: int,
         days: dict[str, int] | None = None, **kw: Any) -> dict[str, Any]:
    when = T0 + timedelta(days=day)
    d = doc(statuses, when, **kw)
    given = copy.deepcopy(d)
    out = record_all(h, d, when, days)
    assert d == given  # the results are dated in a new document, never edited in place
    return out


def by_pair(d: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["host"], r["rule"]): r for r in d["results"]}


@pytest.fixture()
def hist(tmp_path: Path) -> History:
    return History(tmp_path / "h.sqlite")


def test_lifecycle_fixed_and_regressed_over_several_scans(hist: History) -> None:
    """web1 fails then is fixed then fails again (reopened); web2 passes then regresses."""
    r = "CE-SC-001"  # high: 14 days in the contract below
    days = {"high": 14}
    plan = [  # day, web1, web2
        (0, "fail", "pass"), (1, "fail", "pass"), (3, "pass", "pass"),
        (5, "fail", "pass"), (6, "fail", "fail"), (21, "fail", "fail"),
    ]
    docs = {}
    for day, s1, s2 in plan:
        docs[day] = by_pair(scan(hist, {("web1", r): s1, ("web2", r): s2}, day, days))
    first = docs[0][("web1", r)]
    assert first["first_seen"] == "2026-01-05T09:00:00Z"
    assert first["due"] == "2026-01-19" and first["overdue_days"] == 0
    assert "reopened" not in first
    assert docs[1][("web1", r)]["first_seen"] == "2026-01-05T09:00:00Z"  # same episode
    assert docs[3][("web1", r)]["first_seen"] is None  # resolved
    again = docs[5][("web1", r)]
    assert again["first_seen"] == "2026-01-10T09:00:00Z" and again["reopened"] is True
    assert again["due"] == "2026-01-24"
    regressed = docs[6][("web2", r)]
    assert regressed["first_seen"] == "2026-01-11T09:00:00Z" and "reopened" not in regressed
    # day 21 = 26 Jan: web1 (due 24 Jan) is 2 days overdue, web2 (due 25 Jan) 1 day
    assert docs[21][("web1", r)]["overdue_days"] == 2
    assert docs[21][("web2", r)]["overdue_days"] == 1

    rows = hist.db.execute("SELECT h.name, f.episode, f.opened_at, f.closed_at FROM findings f "
                           "JOIN hosts h ON h.id = f.host ORDER BY f.id").fetchall()
    assert [(n, e, c is not None) for n, e, _, c in rows] == [
        ("web1", 1, True), ("web1", 2, False), ("web2", 1, False)]
    last_seen = hist.db.execute("SELECT last_seen_at FROM findings WHERE episode = 2"
                                ).fetchone()[0]
    assert datetime.fromtimestamp(last_seen, UTC) == T0 + timedelta(days=21)


def test_overdue_with_injected_clock_and_default_days(hist: History) -> None:
    pair = ("pc1", "CE-SU-001")  # medium: the contract says nothing, so 30 days
    assert DEFAULT_DAYS == {"critical": 14, "high": 14, "medium": 30, "low": 90, "info": 180}
    seen = {}
    for day in (0, 29, 30, 31, 45):
        seen[day] = by_pair(scan(hist, {pair: "fail"}, day))[pair]
    assert {d: r["overdue_days"] for d, r in seen.items()} == {0: 0, 29: 0, 30: 0, 31: 1, 45: 15}
    assert seen[45]["due"] == "2026-02-04"
    assert all(r["first_seen"] == "2026-01-05T09:00:00Z" for r in seen.values())


def test_unknown_is_not_fixed_and_waiver_hides_nothing(hist: History) -> None:
    pair = ("nas", "CE-SC-001")
    scan(hist, {pair: "fail"}, 0)
    err = by_pair(scan(hist, {pair: "error"}, 2))[pair]
    assert err["first_seen"] is None  # an error result carries no lifecycle
    scan(hist, {("nas", "CE-SU-001"): "pass"}, 3)  # CE-SC-001 not evaluated at all
    waived_doc = doc({pair: "fail"}, T0 + timedelta(days=20))
    waived_doc["results"][0]["status"] = "waived"
    waived_doc["results"][0]["waiver"] = {"reason": "r", "approved_by": "Head", "expires":
                                          "2026-02-01"}
    w = record_all(hist, waived_doc, T0 + timedelta(days=20))["results"][0]
    assert w["first_seen"] == "2026-01-05T09:00:00Z"  # still the same finding
    assert w["overdue_days"] is None and w["observed"] == {"x.value": 0}
    back = by_pair(scan(hist, {pair: "fail"}, 30))[pair]  # the waiver expired
    assert back["first_seen"] == "2026-01-05T09:00:00Z" and back["overdue_days"] == 16
    assert hist.db.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 1


def test_only_changes_are_stored(hist: History) -> None:
    pairs = {(f"h{i}", r): ("fail" if i % 2 else "pass") for i in range(5) for r in RULES}
    for day in range(10):
        scan(hist, pairs, day)
    assert hist.db.execute("SELECT COUNT(*) FROM changes").fetchone()[0] == len(pairs)
    assert hist.db.execute("SELECT COUNT(*) FROM scan_hosts").fetchone()[0] == 50
    flipped = dict(pairs)
    flipped[("h0", "CE-SC-001")] = "fail"
    scan(hist, flipped, 10)
    assert hist.db.execute("SELECT COUNT(*) FROM changes").fetchone()[0] == len(pairs) + 1
    # identical observed values are stored once
    assert hist.db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] < len(pairs)


def test_facts_are_not_stored(hist: History, tmp_path: Path) -> None:
    marker = "do-not-store-7f3a9c"
    scan(hist, {("pc1", "CE-SC-001"): "fail"}, 0,
         facts={"pc1": {"os.secretish": marker, "patch.recent": []}})
    hist.close()
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert marker.encode() not in data


def test_documents_validate_and_rebuild_from_history(hist: History) -> None:
    d1 = scan(hist, {("a", "CE-SC-001"): "fail", ("a", "CE-SU-001"): "pass",
                     ("b", "CE-SC-001"): "pass"}, 0, scan_id="S1")
    d2 = scan(hist, {("a", "CE-SC-001"): "pass", ("a", "CE-SU-001"): "pass",
                     ("b", "CE-SC-001"): "fail"}, 20, scan_id="S2")
    for d in (d1, d2):
        jsonschema.validate(d, SCHEMA)
    assert d2["history"]["previous_scan"] == "S1"
    assert [p["open"] for p in d2["history"]["trend"]] == [1, 1]
    assert d2["history"]["since_previous"] == {
        "new": [{"host": "b", "rule": "CE-SC-001"}], "fixed": [{"host": "a", "rule": "CE-SC-001"}],
        "regressed": []}
    rebuilt = hist.document("S1")
    jsonschema.validate(rebuilt, SCHEMA)
    assert rebuilt["scan"]["reconstructed"] is True
    assert {(r["host"], r["rule"]): r["status"] for r in rebuilt["results"]} == {
        ("a", "CE-SC-001"): "fail", ("a", "CE-SU-001"): "pass", ("b", "CE-SC-001"): "pass"}
    fail = next(r for r in rebuilt["results"] if r["status"] == "fail")
    assert fail["first_seen"] == "2026-01-05T09:00:00Z" and fail["observed"] == {"x.value": 0}
    assert rebuilt["rules"]["CE-SC-001"]["remediation"] == "fix CE-SC-001"
    latest = hist.document(None)
    assert latest["scan"]["id"] == "S2" and hist.document("previous")["scan"]["id"] == "S1"
    with pytest.raises(InputError, match="matches 2 scans"):
        hist.document("S")
    with pytest.raises(InputError, match="no scan 'nope'"):
        hist.document("nope")


def test_unreachable_host_keeps_its_findings_open(hist: History) -> None:
    pair = ("far", "CE-SC-001")
    scan(hist, {pair: "fail"}, 0)
    d = scan(hist, {pair: "error"}, 1, unreachable=("far",))
    assert d["results"][0]["first_seen"] is None
    row = hist.db.execute("SELECT reachable, error FROM scan_hosts ORDER BY scan DESC").fetchone()
    assert row[0] == 0 and row[1] is not None
    # no change rows for an unreachable host: nothing new is known about it
    assert hist.db.execute("SELECT COUNT(*) FROM changes").fetchone()[0] == 1
    rebuilt = hist.document("latest")
    # the rows the scan gave the unreachable host, as they were (not rebuilt from older state)
    assert [(r["status"], r["message"]) for r in rebuilt["results"]] == [
        (r["status"], r["message"]) for r in d["results"]]
    again = by_pair(scan(hist, {pair: "fail"}, 2))[pair]
    assert again["first_seen"] == "2026-01-05T09:00:00Z" and "reopened" not in again


def test_period_document(hist: History) -> None:
    r = "CE-SU-001"  # medium, 30 days by default
    patched = {"patch.recent": [{"at": "2026-01-20T10:00:00Z", "upgraded": 12},
                                {"at": "2026-01-01T10:00:00Z", "upgraded": 3},
                                {"at": "2026-01-02T10:00:00Z", "upgraded": 0}],
               "av.last_update_at": "2026-01-04T00:00:00Z"}
    scan(hist, {("a", r): "fail", ("b", r): "pass"}, 0, facts={"a": patched})
    scan(hist, {("a", r): "pass", ("b", r): "fail"}, 20, facts={"a": patched})  # a fixed in 20 d
    scan(hist, {("a", r): "pass", ("b", r): "fail"}, 60)  # b: due 24 Feb, still open
    p = hist.period(date(2026, 1, 1), date(2026, 3, 31), now=T0 + timedelta(days=60))
    assert p["schema"] == "undone.period/1" and p["scans"]["total"] == 3
    assert [(i["host"], i["rule"]) for i in p["opened"]] == [("a", r), ("b", r)]
    assert [(i["host"], i["days_open"]) for i in p["closed"]] == [("a", 20.0)]
    assert p["mttr"]["all"] == {"count": 1, "mean_days": 20.0}
    assert p["mttr"]["by_severity"] == {"medium": {"count": 1, "mean_days": 20.0}}
    assert [(b["host"], b["due"], b["days_late"]) for b in p["breaches"]] == [
        ("b", "2026-02-24", 10)]  # 6 March is 10 days past 24 February
    months = {m["month"]: m for m in p["months"]}
    assert months["2026-01"]["opened"] == 2 and months["2026-01"]["closed"] == 1
    assert months["2026-02"]["breaches"] == 1 and months["2026-03"]["breaches"] == 0
    assert p["open_at_end"] == {"total": 1, "overdue": 1, "as_of": "2026-03-06"}
    sec = p["controls"]["security-update-management"]
    assert [pt["compliance"] for pt in sec["points"]] == [50.0, 50.0, 50.0]
    a = next(m for m in p["maintenance"] if m["host"] == "a")
    kinds = [(e["kind"], e["at"][:10], e["proactive"]) for e in a["events"]]
    # the 20 Jan patch run came while a's security-update finding was open: reactive
    assert kinds == [("patch", "2026-01-01", True), ("signatures", "2026-01-04", True),
                     ("patch", "2026-01-20", False)]
    assert a["summary"]["patch"]["longest_gap_days"] == 19.0
    json.dumps(p)  # plain data


def test_maintenance_events_from_facts() -> None:
    ev = maintenance_events({
        "patch.recent": [{"at": "2026-01-02T00:00:00Z", "upgraded": 2}, {"at": "bad"},
                         {"at": "2026-01-01T00:00:00Z", "upgraded": 0}],  # an install only
        "patch.last_upgrade_at": "2026-01-02T00:00:00Z",
        "patch.history_since": "2025-01-01T00:00:00Z",
        "backup.last_success_at": "2026-01-03T01:00:00Z",
        "backup.restore_tested_at": "2025-12-01T00:00:00Z",  # not a backup taken
        "backup.repositories": [{"name": "nas-restic", "last_success_at": "2026-01-01"},
                                {"name": "broken", "last_success_at": None}],
        "av.signature_date": "2026-01-03T20:00:00Z",  # only used without an update time
        "av.last_update_at": "2026-01-03T22:00:00Z",
        "av.last_scan_at": "2026-01-03T23:00:00Z",
    })
    assert [(k, d) for k, _, d in ev] == [
        ("backup", "nas-restic"), ("patch", "2 packages upgraded"), ("backup", ""),
        ("signatures", "")]
    assert maintenance_events({"av.signature_date": "2026-01-03"}) == [
        ("signatures", 1767398400, "")]


def test_migrations_are_named_and_a_newer_history_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    History(path).close()
    with sqlite3.connect(path) as db:
        assert [r[0] for r in db.execute("SELECT name FROM migrations")] == [
            "0001_initial", "0002_pending_updates", "0003_finding_closed_why",
            "0004_codes_v1"]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    History(path).close()  # reopening applies nothing twice
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO migrations VALUES ('0099_future', '2030-01-01')")
    with pytest.raises(InputError, match="newer undone"):
        History(path)
    bad = tmp_path / "not.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="not a usable undone history"):
        History(bad)
    with pytest.raises(InputError, match="no history here yet"):
        History(tmp_path / "missing.sqlite", create=False)
    assert (path.stat().st_mode & 0o777) == 0o600
