"""Every score says what it stands on, and what was not assessed is said, per computer: the
console, HTML and Markdown print the one coverage sentence, list a control no computer could be
judged on and, per computer, the controls that could not run there (an unreachable one: every
control), and say "every check ran" only when it did."""

from __future__ import annotations

import copy
import io
from typing import Any

from reports import console, html, markdown, model
from scanner.result import summarise
from tests.unit.reports.test_reports import doc as one_host


def _result(host: str, rule: str, control: str, status: str, message: str = "",
            na_reason: str | None = None) -> dict[str, Any]:
    r = {"host": host, "rule": rule, "title": f"{rule} holds", "control": control,
         "severity": "high", "owner": "provider", "status": status, "observed": {},
         "expected": "x", "message": message, "evidence": [], "first_seen": None, "due": None,
         "overdue_days": None}
    if na_reason:
        r["na_reason"] = na_reason
    return r


def estate() -> dict[str, Any]:
    """Three computers: a passes its firewall check but its backup could not be read, b fails
    its firewall check and passes its backup, c was not reached; asset management applies
    nowhere."""
    d = one_host()
    base = d["hosts"][0]
    d["hosts"] = [{**copy.deepcopy(base), "name": n, "facts": {}} for n in ("a", "b", "c")]
    d["hosts"][2].update(reachable=False, error="connection timed out", error_kind="timeout")
    d["results"] = [
        _result("a", "FW-1", "firewalls", "pass"),
        _result("a", "BK-1", "backup", "error", "backup.last_success_at: could not be read"),
        _result("b", "FW-1", "firewalls", "fail", "firewall.active is false"),
        _result("b", "BK-1", "backup", "pass"),
        _result("c", "FW-1", "firewalls", "error", "host not scanned: connection timed out"),
        _result("c", "BK-1", "backup", "error", "host not scanned: connection timed out"),
        *(_result(h, "AM-1", "asset-management", "not_applicable",
                  "does not apply: a rule for network devices; this is a Linux host", "platform")
          for h in ("a", "b", "c"))]
    d["rules"] = {}
    d["summary"] = summarise(d["hosts"], d["results"])
    return d


def _outputs(d: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, render in (("console", lambda x, b: console.render(x, b, width=200, color=False)),
                         ("html", html.render), ("markdown", markdown.render)):
        buf = io.StringIO()
        render(d, buf)
        out[name] = buf.getvalue().replace("&#39;", "'")
    return out


def test_the_score_carries_its_coverage_everywhere() -> None:
    d = estate()
    cov = model.coverage(d)
    assert cov["text"] == ("66.7% of the checks that could run passed (2 of 3), on 2 of 3 "
                           "computers; 3 checks not run")
    for name, text in _outputs(d).items():
        assert cov["text"] in text, name
        assert "every check ran" not in text and "Every check that applies ran" not in text, name


def test_what_was_not_assessed_is_listed_per_computer_with_why() -> None:
    d = estate()
    na = model.not_assessed(d)
    assert not na["complete"]
    assert [(c["title"], c["why"]) for c in na["controls"]] == [
        ("Asset management", "does not apply (3 for other systems)")]
    by_host = {h["host"]: h for h in na["hosts"]}
    assert set(by_host) == {"a", "c"}  # b had every control it has judged
    assert [c["title"] for c in by_host["a"]["controls"]] == ["Backups"]
    assert "could not be read" in by_host["a"]["controls"][0]["why"]
    assert by_host["c"]["unreachable"] and by_host["c"]["why"] == "connection timed out"
    out = _outputs(d)
    assert "Not assessed on a: Backups (could not run: backup.last_success_at" in out["console"]
    assert "Not assessed on c: not reached, nothing checked (connection timed out)" \
        in out["console"]
    assert "Not assessed: Asset management on every system: does not apply" in out["console"]
    assert "| a | Backups | could not run: backup.last\\_success\\_at" in out["markdown"]
    assert "| c | every control | not reached: connection timed out |" in out["markdown"]
    assert "<strong>c</strong>: not reached (connection timed out)" in out["html"]
    assert "3 computers · 1 not reached" in out["html"]  # under the title, as Markdown says it


def test_every_check_ran_is_said_only_when_true() -> None:
    d = estate()
    d["hosts"] = d["hosts"][1:2]  # b alone: every check that applies to it ran
    d["results"] = [r for r in d["results"] if r["host"] == "b"]
    d["summary"] = summarise(d["hosts"], d["results"])
    assert model.not_assessed(d)["hosts"] == []
    assert model.coverage(d)["text"].endswith("; every check ran")
    out = _outputs(d)
    assert "Not assessed on" not in out["console"]
    for name, text in out.items():
        assert "every check ran" in text, name
