"""The rule engine's semantics: three-valued logic, operators, waivers, owners, exit codes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from scanner.inventory import Contract, Waiver
from scanner.result import exit_code
from scanner.rules.baselines import Rule
from scanner.rules.conditions import compile_condition
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.rules.scope import HostView


def state(cond: dict[str, Any], values: dict[str, Any], errors: dict[str, str] | None = None,
          params: dict[str, Any] | None = None) -> bool | None:
    return compile_condition(cond, params or {})(values, errors or {})[0]


@pytest.mark.parametrize(("cond", "values", "expected"), [
    ({"fact": "a.b", "eq": 1}, {"a.b": 1}, True),
    ({"fact": "a.b", "ne": 1}, {"a.b": 1}, False),
    ({"fact": "a.b", "in": ["x", "y"]}, {"a.b": "y"}, True),
    ({"fact": "a.b", "not_in": ["x", "y"]}, {"a.b": "y"}, False),
    ({"fact": "a.b", "le": 14}, {"a.b": 14.0}, True),
    ({"fact": "a.b", "lt": 14}, {"a.b": 14}, False),
    ({"fact": "a.b", "ge": 1}, {"a.b": 0}, False),
    ({"fact": "a.b", "gt": 1}, {"a.b": 2}, True),
    ({"fact": "a.b", "le": 14}, {"a.b": None}, False),  # no value (never happened) is not compliant
    ({"fact": "a.b", "contains": "x"}, {"a.b": ["x"]}, True),
    ({"fact": "a.b", "not_contains": "x"}, {"a.b": ["x"]}, False),
    ({"fact": "a.b", "empty": True}, {"a.b": []}, True),
    ({"fact": "a.b", "empty": True}, {"a.b": ["root2"]}, False),
    ({"fact": "a.b", "matches": "^7\\."}, {"a.b": "7.4p1"}, True),
    ({"fact": "a.b", "exists": True}, {}, False),
    ({"fact": "a.b", "le": 14}, {"a.b": "fourteen"}, None),  # wrong type: unknown, not a verdict
    ({"fact": "a.b", "empty": True}, {"a.b": 3}, None),
])
def test_operators(cond: dict[str, Any], values: dict[str, Any], expected: bool | None) -> None:
    assert state(cond, values) is expected


T = {"fact": "t.t", "eq": True}
F = {"fact": "f.f", "eq": True}
U = {"fact": "u.u", "eq": True}
VALS = {"t.t": True, "f.f": False}
ERRS = {"u.u": "could not read"}


@pytest.mark.parametrize(("cond", "expected"), [
    ({"all": [T, T]}, True), ({"all": [T, F]}, False), ({"all": [T, U]}, None),
    ({"all": [F, U]}, False),
    ({"any": [F, F]}, False), ({"any": [F, T]}, True), ({"any": [F, U]}, None),
    ({"any": [T, U]}, True),
    ({"none": [F, F]}, True), ({"none": [F, T]}, False), ({"none": [F, U]}, None),
    ({"none": [T, U]}, False),
])
def test_three_valued_logic(cond: dict[str, Any], expected: bool | None) -> None:
    assert state(cond, VALS, ERRS) is expected


def test_params_substituted() -> None:
    c = {"fact": "a.b", "le": {"param": "max"}}
    assert state(c, {"a.b": 20}, params={"max": 30}) is True
    assert state(c, {"a.b": 20}, params={"max": 14}) is False


def _rule(**kw: Any) -> Rule:
    base: dict[str, Any] = dict(
        id="T-X-001", title="Thing is fine", control="secure-configuration", severity="high",
        requires=("posix.x",), check={"fact": "x.ok", "eq": True}, rationale="because it is",
        remediation="fix the thing", references={}, baseline="t")
    base.update(kw)
    return Rule(**base)


def _host(facts: dict[str, Any], **kw: Any) -> HostView:
    base: dict[str, Any] = dict(name="h1", platform="linux", roles=("server",), reachable=True,
                                error=None, facts=facts, fact_errors={},
                                sections={"posix.x": {"status": "ok", "sha256": "a" * 64,
                                                      "collected_at": "2026-11-22T00:00:00Z"}})
    base.update(kw)
    return HostView(**base)


def run(rule: Rule, host: HostView, **kw: Any) -> dict[str, Any]:
    return evaluate_host(host, compile_rules([rule], {}), kw.pop("contract", Contract()), **kw)[0]


def test_result_fields_and_evidence() -> None:
    r = run(_rule(), _host({"x.ok": False}))
    assert r["status"] == "fail"
    assert r["observed"] == {"x.ok": False}
    assert r["expected"] == "x.ok equal to true"
    assert "x.ok is false" in r["message"]
    assert r["evidence"] == ["posix.x"]
    assert r["owner"] == "provider"


def test_when_false_is_not_applicable_and_unknown_when_is_error() -> None:
    rule = _rule(when={"fact": "x.installed", "eq": True})
    assert run(rule, _host({"x.installed": False}))["status"] == "not_applicable"
    assert run(rule, _host({}))["status"] == "error"


def test_platform_and_roles_scope_rules_and_the_rest_are_not_applicable() -> None:
    """A rule for another platform or role is not dropped: it is not_applicable with why."""
    r = run(_rule(platforms=("windows",)), _host({"x.ok": True}))
    assert (r["status"], r["na_reason"]) == ("not_applicable", "platform")
    assert r["message"] == "does not apply: a rule for Windows; this is a Linux host"
    assert r["observed"] == {} and r["evidence"] == []
    r = run(_rule(roles=("firewall",)), _host({"x.ok": True}))
    assert (r["status"], r["na_reason"]) == ("not_applicable", "role")
    assert "the inventory gives this host the role server" in r["message"]
    assert run(_rule(roles=("firewall", "server")), _host({"x.ok": True}))["status"] == "pass"


def test_owner_precedence() -> None:
    contract = Contract(owners={"secure-configuration": "client"}, default_owner="shared")
    assert run(_rule(), _host({"x.ok": True}), contract=contract)["owner"] == "client"
    assert run(_rule(), _host({"x.ok": True}, owner="provider"), contract=contract)["owner"] == "provider"
    assert run(_rule(owner="client"), _host({"x.ok": True}), contract=Contract())["owner"] == "client"


def test_waiver_applies_until_expiry_and_keeps_observed() -> None:
    w = Waiver(rule="T-X-001", hosts=("h1",), reason="legacy", approved_by="Head",
               expires=date(2027, 1, 1))
    r = run(_rule(), _host({"x.ok": False}), waivers=(w,), today=date(2026, 12, 1))
    assert r["status"] == "waived" and r["observed"] == {"x.ok": False}
    assert r["waiver"]["approved_by"] == "Head"
    r = run(_rule(), _host({"x.ok": False}), waivers=(w,), today=date(2027, 1, 2))
    assert r["status"] == "fail" and r["waiver_expired"]["expires"] == "2027-01-01"
    assert "expired" in r["message"]
    # a waiver never turns an unknown into anything else
    r = run(_rule(), _host({}), waivers=(w,), today=date(2026, 12, 1))
    assert r["status"] == "error"


def test_exit_codes() -> None:
    assert exit_code([{"status": "pass"}, {"status": "waived"}, {"status": "manual"}], 0) == 0
    assert exit_code([{"status": "pass"}, {"status": "fail"}, {"status": "error"}], 1) == 1
    assert exit_code([{"status": "pass"}, {"status": "error"}], 0) == 3
    assert exit_code([{"status": "pass"}], 1) == 3
