"""A bound or an estimate never passes (DESIGN §5, docs/rules.md "Basis"). Every rule of every
shipped baseline is walked over its passing facts (tests/rules/cases.yaml) with those facts
marked as only bounded (either way) or estimated: none passes. And the mechanism itself: what a
bound proves, on which side, under ``none`` and in ``when``."""

from __future__ import annotations

from typing import Any

import pytest

from probes.base import INEXACT
from scanner.rules.conditions import compile_condition
from tests.unit.scanner.rules.test_rules import CASES, RULES, judge


def _passing() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for rule_id, by_status in CASES.items():
        for item in by_status.get("pass", []):
            facts = item.get("facts", item)
            out.append((rule_id, facts))
    return out


PASSING = _passing()


def test_the_walk_covers_every_judged_rule() -> None:
    judged = {r for r, rule in RULES.items() if rule.check != "manual"}
    assert {r for r, _ in PASSING} == judged


@pytest.mark.parametrize("kind", INEXACT)
@pytest.mark.parametrize(("rule_id", "facts"), PASSING,
                         ids=[f"{r}-{i}" for i, (r, _) in enumerate(PASSING)])
def test_no_rule_passes_on_inexact_facts(rule_id: str, facts: dict[str, Any], kind: str) -> None:
    assert judge(rule_id, facts)["status"] == "pass"  # exact, it passes
    basis = {name: {"basis": kind} for name in facts}
    res = judge(rule_id, facts, basis=basis)
    assert res["status"] != "pass", (rule_id, kind, res)
    if res["status"] == "error":
        assert res["message"], "an error says why"


def run(cond: Any, value: Any, kind: str | None) -> bool | None:
    bases = {"x": {"basis": kind}} if kind else {}
    return compile_condition(cond, {})({"x": value}, {}, bases)[0]


def test_a_lower_bound_proves_only_the_failure() -> None:
    le = {"fact": "x", "le": 14}
    assert run(le, 30, "lower-bound") is False  # at least 30: more than 14
    assert run(le, 2, "lower-bound") is None  # at least 2: could be anything
    assert run(le, 2, None) is True
    ge = {"fact": "x", "ge": 3}
    assert run(ge, 5, "lower-bound") is None  # true, but a bound never passes
    assert run(ge, 1, "lower-bound") is None
    # under `none`, true is the failing side: "not (x > 14)" fails on a lower bound of 30
    assert run({"none": [{"fact": "x", "gt": 14}]}, 30, "lower-bound") is False
    assert run({"none": [{"fact": "x", "gt": 14}]}, 2, "lower-bound") is None


def test_an_upper_bound_mirrors_it_and_an_estimate_proves_nothing() -> None:
    assert run({"fact": "x", "ge": 3}, 1, "upper-bound") is False  # at most 1: less than 3
    assert run({"fact": "x", "ge": 3}, 5, "upper-bound") is None
    assert run({"fact": "x", "le": 14}, 2, "upper-bound") is None  # true, never a pass
    for value in (1, 30):
        assert run({"fact": "x", "le": 14}, value, "estimate") is None
        assert run({"fact": "x", "eq": value}, value, "estimate") is None


def test_an_inexact_precondition_is_unknown() -> None:
    strict = compile_condition({"fact": "x", "le": 14}, {}, strict=True)
    assert strict({"x": 30}, {}, {"x": {"basis": "lower-bound"}})[0] is None


def test_the_reason_says_what_is_unknown_and_what_would_date_it() -> None:
    fresh = {"updates.manager": "apt", "updates.security_metadata_age_days": 1.0}
    res = judge("CE-SU-002", {**fresh, "updates.security_count": 12,
                              "updates.security_age_days": 2.0},
                basis={"updates.security_age_days": {
                    "basis": "lower-bound",
                    "why": "release dates of 12 pending security updates unknown ({bound})",
                    "fix": "run `undone advisories refresh`"}})
    assert res["status"] == "error"
    assert res["message"] == ("release dates of 12 pending security updates unknown (at least "
                              "2 days); run `undone advisories refresh`")
    res = judge("CE-SU-002", {**fresh, "updates.security_count": 12,
                              "updates.security_age_days": 20.0},
                basis={"updates.security_age_days": {"basis": "lower-bound"}})
    assert res["status"] == "fail"
    assert "updates.security_age_days is at least 20 days (lower-bound); expected at most 14" in (
        res["message"])
