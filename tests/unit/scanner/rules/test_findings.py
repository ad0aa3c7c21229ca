"""Findings in words (scanner/rules/findings.py): every shipped rule says what is wrong as a sentence
about the machine, filled from its facts, with the rule logic kept apart in ``message``."""

from __future__ import annotations

import time
from typing import Any

import pytest

from scanner.errors import InputError
from scanner.inventory import Contract
from scanner.rules import baselines, findings
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.rules.scope import HostView
from tests.unit.scanner.rules import test_cloud_rules, test_rules

ALL = [r for b in baselines.load(list(baselines.SHIPPED)) for r in b.rules]  # cloud included


def _fail_cases() -> list[tuple[str, int, dict[str, Any]]]:
    out = []
    for rule_id, by_status in test_rules.CASES.items():
        for i, item in enumerate(by_status.get("fail", []) + by_status.get("manual", [])):
            out.append((rule_id, i, item))
    return out  # test_rules.CASES holds the cloud baseline's cases too


def test_every_shipped_rule_has_a_finding() -> None:
    missing = [r.id for r in ALL if not r.finding]
    assert missing == []
    for r in ALL:
        title = r.finding["title"]
        # the heading says what is wrong; it is never the compliant state with "Not done:"
        assert not title.lower().startswith(("not done", "ensure")), r.id
        assert title != r.title, r.id


@pytest.mark.parametrize(("rule_id", "i", "item"), _fail_cases())
def test_a_failing_case_reads_as_a_sentence(rule_id: str, i: int, item: dict[str, Any]) -> None:
    if rule_id in test_rules.RULES:
        facts, errors, basis, scope, _ = test_rules._item(item)
        res = test_rules.judge(rule_id, facts, errors, basis, scope)
    else:
        facts = item.get("facts", item)
        res = test_cloud_rules.judge(rule_id, facts, item.get("fact_errors", {}))
    text = res.get("finding")
    assert text, f"{rule_id} case {i}: no finding from {facts}"
    assert "{" not in text and "}" not in text, text
    assert " None" not in text and "unknown" not in text.lower().replace("unknown to", ""), text
    assert text[0].isupper() or text[0].isdigit() or text.startswith(("sudo", "undone")), text
    assert text.endswith("."), text
    assert " 1 updates" not in text and " 1 devices" not in text  # counts agree with nouns
    # the rule logic stays beside it, as the technical detail
    assert res["message"] and res["message"] != text


def test_the_pending_updates_finding_lists_packages_advisories_and_ages() -> None:
    pending = [
        {"package": "openssl", "source_package": "openssl", "security": True,
         "advisory": "DSA-5678-1", "issued": "2026-10-12T00:00:00Z", "basis": "advisory"},
        {"package": "libssl3", "source_package": "openssl", "security": True,
         "advisory": "DSA-5678-1", "issued": "2026-10-12T00:00:00Z", "basis": "advisory"},
        {"package": "curl", "source_package": "curl", "security": True,
         "advisory": "DSA-5701-1", "issued": "2026-11-02T00:00:00Z", "basis": "advisory"},
        {"package": "jq", "source_package": "jq", "security": True, "advisory": None,
         "issued": "2026-11-20T03:00:00Z", "basis": "lower-bound"},
        {"package": "base-files", "security": False, "advisory": None, "issued": None},
    ]
    facts = {"updates.security_count": 4, "updates.security_since": "2026-10-12T00:00:00Z",
             "updates.pending": pending, "updates.security_packages": ["openssl"]}
    res = test_rules.judge("PM-UPD-001", facts)
    assert res["status"] == "fail"
    assert res["finding"] == (
        "4 security updates are waiting, the oldest since 12 Oct 2026: openssl (DSA-5678-1, "
        "released 12 Oct 2026, 2 packages); curl (DSA-5701-1, released 2 Nov 2026); jq (no "
        "advisory found; waiting since at least 20 Nov 2026).")
    assert "base-files" not in res["finding"]  # not a security update
    # a bound says so
    bound = test_rules.judge("PM-UPD-001", facts, basis={
        "updates.security_since": {"basis": "lower-bound", "why": "x", "fix": "y"}})
    assert "the oldest since at least 12 Oct 2026" in bound["finding"]


def test_filters() -> None:
    def fill(text: str, facts: dict[str, Any], bases: dict[str, Any] | None = None) -> Any:
        return findings.fill(findings.parse(text), facts, bases or {})

    assert fill("{a.n|of:update is} waiting", {"a.n": 1}) == "1 update is waiting"
    assert fill("{a.n|of:update is} waiting", {"a.n": 3}) == "3 updates are waiting"
    assert fill("{a.n|of:vulnerability}", {"a.n": [1, 2]}) == "2 vulnerabilities"
    assert fill("{a.n|of:device answers}", {"a.n": 2}) == "2 devices answer"
    assert fill("{a.d|day}", {"a.d": "2026-10-12T05:00:00Z"}) == "12 Oct 2026"
    assert fill("{a.d|days}", {"a.d": 2.345},
                {"a.d": {"basis": "lower-bound"}}) == "at least 2.3 days"
    assert fill("{a.d|ago}", {"a.d": -37}) == "37 days ago"
    assert fill("{a.l|list}", {"a.l": list("abcdefgh")}) == "a, b, c, d, e, f and 2 more"
    assert fill("{a.l|list}", {"a.l": []}) == "none"
    assert fill("{a.l|names}", {"a.l": [{"name": "x"}, "y"]}) == "x and y"
    assert fill("{a.b}", {"a.b": False}) == "no"
    assert fill("{a.b} and {a.c}", {"a.b": 1}) is None  # a missing value: not this alternative


def test_first_alternative_that_fits_is_used() -> None:
    spec = {"title": "Something is wrong", "text": [
        {"when": {"fact": "x.on", "eq": False}, "text": "It is off ({x.why})."},
        {"text": "It is on but {x.what}."}]}
    comp = findings.compile_finding(spec, lambda c: compile_rules_condition(c))
    assert comp is not None
    assert comp.text({"x.on": False, "x.why": "no rules"}, {}, {}) == "It is off (no rules)."
    assert comp.text({"x.on": False, "x.what": "open"}, {}, {}) == "It is on but open."
    assert comp.text({"x.on": True, "x.what": "open"}, {}, {}) == "It is on but open."
    assert comp.text({"x.on": True}, {}, {}) is None


def compile_rules_condition(cond: Any) -> Any:
    from scanner.rules.conditions import compile_condition

    return compile_condition(cond, {})


def test_hostile_values_are_cut_short_and_filling_is_linear() -> None:
    t = findings.parse("Accounts: {a.l|list}; {a.s}.")
    huge = ["x" * 100_000] * 50_000
    started = time.perf_counter()
    text = findings.fill(t, {"a.l": huge, "a.s": "{" * 1_000_000}, {})
    took = time.perf_counter() - started
    assert text is not None and len(text) <= findings.MAX_TEXT
    assert took < 1.0


def _baseline(finding: dict[str, Any], platforms: str = "[linux]") -> str:
    import json

    return f"""
baseline: {{name: t, version: "1", title: T}}
rules:
  - id: T-X-001
    title: Something is as it should be
    control: backup
    severity: low
    applies_to: {{platforms: {platforms}}}
    requires: [posix.backup]
    check: {{fact: backup.count, ge: 1}}
    rationale: Because it matters a lot.
    remediation: Do the right thing now.
    references: {{}}
    finding: {json.dumps(finding)}
"""


def test_baselines_check_finding_templates() -> None:
    from probes import sections

    known = set(sections())
    ok = baselines.parse(_baseline({"title": "Something is wrong here",
                                    "text": "{backup.count|of:backup is} there."}), "t.yaml",
                         known)
    assert ok.rules[0].finding["title"] == "Something is wrong here"
    bad: list[tuple[dict[str, Any], str]] = [
        ({"title": "Something is wrong", "text": "{backup.count|shout} backups."},
         "unknown filter 'shout'"),
        ({"title": "Something is wrong", "text": "{backup.count|list:x} backups."},
         "takes no argument"),
        ({"title": "Something is wrong", "text": "{backup count} backups."},
         "a brace that is not a placeholder"),
        ({"title": "Something is wrong", "text": "Backups.",
          "advice": {"windows": "Use Windows Server Backup."}},
         "advice.windows: the rule is for linux only"),
        ({"title": "Something is wrong",
          "text": [{"when": {"fact": "backup.count", "lt": {"param": "nope"}}, "text": "x y z."}]},
         "parameter 'nope' is not declared"),
        ({"text": "Backups are missing."}, "'title' is a required property"),
    ]
    for finding, words in bad:
        with pytest.raises(InputError) as e:
            baselines.parse(_baseline(finding), "t.yaml", known)
        assert any(words in p for p in e.value.problems), (words, e.value.problems)


def test_advice_is_for_the_hosts_own_platform() -> None:
    from scanner import scan

    rule = next(r for r in ALL if r.id == "CE-FW-001")
    doc = scan.rule_doc(rule)
    assert set(doc["advice"]) == {"linux", "windows"}
    assert "Set-NetFirewallProfile" in doc["advice"]["windows"]
    assert "Set-NetFirewallProfile" not in doc["advice"]["linux"]
    assert "ufw" not in doc["advice"]["windows"]
    assert doc["problem"] == rule.finding["title"]


def test_waived_and_passing_results() -> None:
    cr = compile_rules([r for r in ALL if r.id == "PM-UPD-001"], {})
    host = HostView(name="h", platform="linux", roles=("server",), reachable=True, error=None,
                    facts={"updates.security_count": 0}, fact_errors={},
                    sections={"posix.updates": {"status": "ok"}})
    res = evaluate_host(host, cr, Contract())
    assert res[0]["status"] == "pass" and "finding" not in res[0]
