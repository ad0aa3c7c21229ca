"""The contract-period report rendered from a history: every format, escaped."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from reports import period
from scanner.history.store import History
from tests.unit.scanner.history.test_history import T0, scan


def build(tmp_path: Path) -> dict[str, Any]:
    h = History(tmp_path / "h.sqlite")
    r = "CE-SU-001"
    facts = {"<i>a</i>": {"patch.recent": [{"at": "2026-01-20T10:00:00Z", "upgraded": 4}]}}
    for day in range(0, 90, 7):
        status = "fail" if day < 21 or day > 60 else "pass"
        scan(h, {("<i>a</i>", r): status, ("b", r): "pass", ("b", "CE-SC-001"): "fail"}, day,
             facts=facts)
    p = h.period(date(2026, 1, 1), date(2026, 3, 31), now=T0 + timedelta(days=90))
    h.close()
    return p


def test_period_renders_in_every_format(tmp_path: Path) -> None:
    p = build(tmp_path)
    out = {}
    for fmt in ("console", "markdown", "html", "json"):
        buf = io.StringIO()
        period.render(p, buf, fmt, color=False, width=120)
        out[fmt] = buf.getvalue()
    assert "Contract review" in out["html"] and "<i>a</i>" not in out["html"]
    assert "&lt;i&gt;a&lt;/i&gt;" in out["html"] and "<script" not in out["html"]
    assert out["html"].count("<svg") >= 3
    assert "| 2026-02 |" in out["markdown"]
    assert "Maintenance per host" in out["console"]
    assert "mostly reactive" in out["console"]  # a's only patch run came while a finding was open
    assert '"schema": "undone.period/1"' in out["json"]


def test_verdicts() -> None:
    assert period.verdict({}) == "no maintenance recorded"
    assert period.verdict({"patch": {"proactive": 4, "reactive": 1}}) == "mostly proactive"
    assert period.verdict({"patch": {"proactive": 1, "reactive": 1}}) == "mixed"


def test_overdue_is_counted_as_of_today_when_the_period_ends_later(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite")
    r = "CE-SU-001"  # medium: 30 days
    scan(h, {("a", r): "fail", ("b", r): "fail"}, 0)
    scan(h, {("a", r): "fail", ("b", r): "fail"}, 20)  # both due on day 30: not overdue yet
    now = T0 + timedelta(days=20)
    future = h.period(date(2026, 1, 1), date(2026, 12, 31), now=now)
    # on 31 December both would be overdue; that day has not come, so none is
    assert future["open_at_end"] == {"total": 2, "overdue": 0,
                                     "as_of": now.date().isoformat()}
    past = h.period(date(2026, 1, 1), date(2026, 1, 10), now=T0 + timedelta(days=90))
    assert past["open_at_end"]["as_of"] == "2026-01-10"  # a period in the past: its end
    assert past["open_at_end"]["overdue"] == 0
    later = h.period(date(2026, 1, 1), date(2026, 3, 1), now=T0 + timedelta(days=90))
    assert later["open_at_end"]["overdue"] == 2 and later["open_at_end"]["as_of"] == "2026-03-01"
    text = io.StringIO()
    period.render(future, text, "console", color=False, width=120)
    assert f"0 overdue on {now.day} {now:%b %Y}" in text.getvalue()
    h.close()


def test_rule_changes_and_scope_changes_are_not_fixes(tmp_path: Path) -> None:
    from tests.unit.scanner.history.test_history import doc

    h = History(tmp_path / "h.sqlite")
    r = "CE-SU-001"
    d0 = doc({("a", r): "fail", ("b", r): "fail", ("c", r): "fail"}, T0)
    h.begin(d0, None, 3, T0)
    for host in d0["hosts"]:
        h.record(host, [x for x in d0["results"] if x["host"] == host["name"]], T0)
    h.finish(d0, T0)
    t1 = T0 + timedelta(days=5)
    d1 = doc({("a", r): "pass", ("b", r): "pass", ("c", r): "not_applicable"}, t1)
    for x in d1["results"]:
        if x["host"] == "b":  # the threshold changed in the baseline: the check is not the same
            x["expected"] = "x.value at most 30"
        if x["host"] == "c":
            x["na_reason"] = "role"
            x["message"] = "does not apply: a rule for hosts with the role server"
    h.begin(d1, None, 3, t1)
    for host in d1["hosts"]:
        h.record(host, [x for x in d1["results"] if x["host"] == host["name"]], t1)
    h.finish(d1, t1)
    p = h.period(date(2026, 1, 1), date(2026, 1, 31), now=t1)
    assert [i["host"] for i in p["closed"]] == ["a"]  # the one real fix
    assert p["mttr"]["all"] == {"count": 1, "mean_days": 5.0}
    assert {(i["host"], i["why"]) for i in p["closed_not_fixed"]} == {
        ("b", "rule changed"), ("c", "no longer checked")}
    # the same two scans, as the diff and the document's own history block say it
    assert d1["history"]["changes"]["counts"]["fixed"] == 1
    assert d1["history"]["changes"]["counts"]["rule_changed"] == 1
    assert d1["history"]["changes"]["counts"]["no_longer_checked"] == 1
    for fmt in ("html", "markdown", "console"):
        out = io.StringIO()
        period.render(p, out, fmt, color=False, width=120)
        assert "rule changed" in out.getvalue() or fmt == "console"
        assert "Closed without a fix" in out.getvalue() or fmt == "markdown"
    # the list of findings opened never shows a closing that was not a fix as a day in its
    # "Fixed" column (it read as fixed on that day)
    out = io.StringIO()
    period.render(p, out, "html")
    opened = out.getvalue().split("<h2>Findings opened in the period</h2>")[1].split("<h2>")[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r"<tr><td>(\w+)</td>.*?<td>([^<]*)</td></tr>", opened)}
    assert rows == {"a": "10 Jan 2026", "b": "not fixed: rule changed (10 Jan 2026)",
                    "c": "not fixed: no longer checked (10 Jan 2026)"}, rows
    h.close()


def test_a_host_not_reached_is_not_run_never_its_old_passes(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite")
    r = "CE-SU-001"
    scan(h, {("a", r): "pass", ("b", r): "fail"}, 0)
    scan(h, {("a", r): "error", ("b", r): "fail"}, 7, unreachable=("a",))
    p = h.period(date(2026, 1, 1), date(2026, 1, 31), now=T0 + timedelta(days=7))
    pts = p["controls"]["security-update-management"]["points"]
    assert [(x["pass"], x["fail"], x["not_run"]) for x in pts] == [(1, 1, 0), (0, 1, 1)]
    assert [x["compliance"] for x in pts] == [50.0, 0.0]
    last = p["coverage"][-1]
    assert (last["hosts"], last["hosts_reached"], last["not_run"]) == (2, 1, 1)
    assert "on 1 of 2 computers; 1 check not run" in period.coverage_line(p)
    h.close()


def test_the_axis_never_repeats_a_date() -> None:
    from reports import charts

    same_day = [f"2026-03-02T{h:02d}:00:00Z" for h in (8, 9, 13, 17)]
    c = charts.lines([{"name": "x", "tone": "c", "points": [(t, 50) for t in same_day]}],
                     percent=True)
    labels = [t["label"] for t in c["xticks"]]
    assert len(labels) == len(set(labels)) and len(labels) >= 2
    two_days = ["2026-03-02T08:00:00Z", "2026-03-02T18:00:00Z", "2026-03-05T08:00:00Z"]
    c = charts.lines([{"name": "x", "tone": "c", "points": [(t, 50) for t in two_days]}],
                     percent=True)
    labels = [t["label"] for t in c["xticks"]]
    assert len(labels) == len(set(labels)), labels
    year = [f"2026-{m:02d}-01T00:00:00Z" for m in range(1, 13)]
    c = charts.lines([{"name": "x", "tone": "a", "points": [(t, 1) for t in year]}])
    labels = [t["label"] for t in c["xticks"]]
    assert len(labels) == len(set(labels)), labels
    # scans minutes apart: "7 Dec 13:10" then "13:10" would name one minute twice
    minutes = ["2026-12-07T13:10:38Z", "2026-12-07T13:11:02Z"]
    c = charts.lines([{"name": "x", "tone": "c", "points": [(t, 50) for t in minutes]}],
                     percent=True)
    assert [t["label"] for t in c["xticks"]] == ["7 Dec 13:10", "13:11"], c["xticks"]
