"""Differences between two scans: new, fixed, regressed, still overdue, and what an auditor asks
about: newly waived, no longer checked, rule changed (never counted as fixed)."""

from __future__ import annotations

import copy
import json
from typing import Any

from reports import diff
from tests.unit.reports.test_reports import doc


def scan(statuses: dict[str, str], **extra: dict[str, Any]) -> dict[str, Any]:
    d = doc()
    base = d["results"][0]
    d["results"] = []
    for host, status in statuses.items():
        r = copy.deepcopy(base)
        r.update(host=host, status=status, message="")
        r.update(extra.get(host, {}))
        d["results"].append(r)
    return d


def test_new_fixed_regressed_still_overdue() -> None:
    old = scan({"a": "fail", "b": "pass", "c": "pass", "d": "fail", "e": "error"})
    new = scan({"a": "pass", "b": "fail", "c": "fail", "d": "fail", "e": "fail", "f": "fail"},
               c={"first_seen": "2026-11-01T00:00:00Z", "reopened": True},
               b={"first_seen": "2026-11-01T00:00:00Z"},
               d={"first_seen": "2026-09-01T00:00:00Z", "overdue_days": 50})
    d = diff.build(old, new)
    got = {k: sorted(e["host"] for e in v) for k, v in d["changes"].items()}
    assert {k: v for k, v in got.items() if v} == {
        "fixed": ["a"], "regressed": ["c"], "new": ["b", "e", "f"], "still_overdue": ["d"]}
    assert {k: n for k, n in d["counts"].items() if n} == {
        "new": 3, "regressed": 1, "fixed": 1, "still_overdue": 1}
    json.dumps(d)


def test_without_history_a_pass_that_fails_is_a_regression() -> None:
    d = diff.build(scan({"a": "pass"}), scan({"a": "fail"}))
    assert d["counts"]["regressed"] == 1


def test_missing_in_the_new_scan_is_not_fixed() -> None:
    d = diff.build(scan({"a": "fail", "b": "fail"}), scan({"a": "fail"}))
    assert d["counts"]["fixed"] == 0
    assert [e["host"] for e in d["changes"]["no_longer_checked"]] == ["b"]


def test_waived_unchecked_and_rule_changes_are_not_fixes() -> None:
    old = scan({"w": "fail", "e": "fail", "r": "fail", "s": "fail", "x": "waived",
                "p": "fail", "o": "fail"},
               r={"expected": "updates.security_age_days at most 14"},
               o={"overdue_days": 0})
    new = scan({"w": "waived", "e": "error", "r": "pass", "s": "not_applicable", "x": "fail",
                "p": "not_applicable", "o": "fail"},
               w={"waiver": {"reason": "legacy", "approved_by": "Head",
                             "expires": "2027-01-31"}},
               e={"message": "host not scanned: connection refused"},
               r={"expected": "updates.security_age_days at most 30"},
               s={"na_reason": "role", "message": "does not apply: a rule for servers"},
               p={"na_reason": "precondition"},
               o={"overdue_days": 3})
    d = diff.build(old, new)
    got = {k: sorted(e["host"] for e in v) for k, v in d["changes"].items() if v}
    assert got == {"newly_waived": ["w"], "no_longer_checked": ["e", "s"],
                   "rule_changed": ["r"], "no_longer_waived": ["x"], "fixed": ["p"],
                   "became_overdue": ["o"]}
    changed = d["changes"]["rule_changed"][0]
    assert "at most 14" in changed["why"] and "at most 30" in changed["why"]
    why = {e["host"]: e["why"] for e in d["changes"]["no_longer_checked"]}
    assert why["e"] == "host not scanned: connection refused"
    for fmt in ("console", "markdown", "html"):
        text = diff.text(d, fmt)
        for title in ("Newly waived", "No longer checked", "Rule changed"):
            assert title in text, (fmt, title)
    assert "1 newly waived, 2 no longer checked, 1 rule changed, 1 fixed" in diff.text(d)


def test_a_finding_open_before_an_unchecked_scan_is_not_new() -> None:
    old = scan({"a": "error"})
    old["scan"]["started_at"] = "2026-11-20T00:00:00Z"
    new = scan({"a": "fail"}, a={"first_seen": "2026-11-01T00:00:00Z"})
    assert sum(diff.build(old, new)["counts"].values()) == 0


def test_hosts_unreachable_and_back() -> None:
    old, new = scan({"a": "pass"}), scan({"a": "pass"})
    old["hosts"].append({"name": "b", "reachable": False, "error": "timed out"})
    new["hosts"][0]["reachable"] = False
    new["hosts"][0]["error"] = "connection refused"
    new["hosts"].append({"name": "b", "reachable": True, "error": None})
    d = diff.build(old, new)
    assert [e["host"] for e in d["changes"]["unreachable"]] == ["web1"]
    assert [e["host"] for e in d["changes"]["reachable"]] == ["b"]


def test_renders_every_format_escaped() -> None:
    old = scan({"a": "pass"})
    new = scan({"<b>x</b>": "fail", "a": "fail"})
    d = diff.build(old, new)
    for fmt in ("console", "markdown", "html", "json"):
        text = diff.text(d, fmt)
        assert "<b>x</b>" not in text or fmt in ("console", "json")
    html = diff.text(d, "html")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<script" not in html
