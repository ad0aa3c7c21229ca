"""Differences between two scans: new, fixed, regressed, still overdue."""

from __future__ import annotations

import copy
import json
from typing import Any

from reports import diff
from tests.unit.test_reports import doc


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
    assert got == {"fixed": ["a"], "regressed": ["c"], "new": ["b", "e", "f"],
                   "still_overdue": ["d"]}
    assert d["counts"] == {"new": 3, "regressed": 1, "fixed": 1, "still_overdue": 1}
    json.dumps(d)


def test_without_history_a_pass_that_fails_is_a_regression() -> None:
    d = diff.build(scan({"a": "pass"}), scan({"a": "fail"}))
    assert d["counts"]["regressed"] == 1


def test_missing_in_the_new_scan_is_not_fixed() -> None:
    d = diff.build(scan({"a": "fail", "b": "fail"}), scan({"a": "fail"}))
    assert d["counts"]["fixed"] == 0


def test_renders_every_format_escaped() -> None:
    old = scan({"a": "pass"})
    new = scan({"<b>x</b>": "fail", "a": "fail"})
    d = diff.build(old, new)
    for fmt in ("console", "markdown", "html", "json"):
        text = diff.text(d, fmt)
        assert "<b>x</b>" not in text or fmt in ("console", "json")
    html = diff.text(d, "html")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<script" not in html
