"""The rules of baselines/cloud.yaml on their cases (tests/rules/cloud.yaml), with the guarantees
tests/unit/scanner/rules/test_rules.py gives the other baselines: every rule passes and fails, no facts gives
`error`, facts in error give `error` with their reason, a section in error gives `error`, and
every fact a rule reads is one its section provides."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from probes import sections
from scanner import yamlio
from scanner.inventory import Contract
from scanner.rules import baselines
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.rules.scope import HostView

CASES = yamlio.load_file(Path(__file__).parents[3] / "rules" / "cloud.yaml")
CLOUD = str(resources.files("baselines") / "cloud.yaml")
BASELINE = next(b for b in baselines.load([CLOUD]) if b.name == "cloud")
RULES = {r.id: r for r in BASELINE.rules}
COMPILED = {cr.rule.id: cr for cr in compile_rules(list(RULES.values()), BASELINE.params)}


def tenant(rule_id: str, facts: dict[str, Any], errors: dict[str, str] | None = None) -> HostView:
    rule = RULES[rule_id]
    secs = {s: {"status": "ok", "sha256": "0" * 64, "collected_at": "2026-11-22T00:00:00Z"}
            for s in rule.requires}
    return HostView(name="school", platform=rule.platforms[0], roles=("tenant",),
                    reachable=True, error=None, facts=facts, fact_errors=errors or {},
                    sections=secs, transport="graph")


def judge(rule_id: str, facts: dict[str, Any], errors: dict[str, str] | None = None
          ) -> dict[str, Any]:
    res = evaluate_host(tenant(rule_id, facts, errors), [COMPILED[rule_id]], Contract())
    assert len(res) == 1
    return res[0]


def _cases() -> list[tuple[str, str, dict[str, Any], dict[str, str]]]:
    out = []
    for rule_id, by_status in CASES.items():
        for status, items in by_status.items():
            for item in items:
                if "facts" in item:
                    out.append((rule_id, status, item["facts"], item.get("fact_errors", {})))
                else:
                    out.append((rule_id, status, item, {}))
    return out


@pytest.mark.parametrize(("rule_id", "status", "facts", "errors"), _cases())
def test_case(rule_id: str, status: str, facts: dict[str, Any], errors: dict[str, str]) -> None:
    assert rule_id in RULES, f"case for unknown rule {rule_id}"
    res = judge(rule_id, facts, errors)
    assert res["status"] == status, res["message"]
    if status == "fail":
        assert res["message"]
        assert res["observed"]
    if status == "error":
        # the reason (the licence or permission) reaches the result
        assert next(iter(errors.values())) in res["message"]
    if status == "not_applicable":
        assert "inventory" in res["message"], "says what to declare"


def test_every_rule_has_cases() -> None:
    assert set(CASES) == set(RULES)
    for rule_id in RULES:
        for status in ("pass", "fail", "error"):
            assert CASES[rule_id].get(status), f"{rule_id} has no {status} case"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_no_facts_is_error(rule_id: str) -> None:
    assert judge(rule_id, {})["status"] == "error"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_facts_in_error_are_error(rule_id: str) -> None:
    for item in CASES[rule_id]["pass"]:
        res = judge(rule_id, {}, {k: "not licensed: Entra ID P1" for k in item})
        assert res["status"] == "error"
        assert "not licensed: Entra ID P1" in res["message"]


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_section_in_error_is_error(rule_id: str) -> None:
    h = tenant(rule_id, CASES[rule_id]["pass"][0])
    h.sections[RULES[rule_id].requires[0]] = {"status": "error", "error": "token refused"}
    res = evaluate_host(h, [COMPILED[rule_id]], Contract())[0]
    assert res["status"] == "error" and "token refused" in res["message"]


def test_rules_apply_only_to_their_platform() -> None:
    """Elsewhere a tenant's rule is not judged: it does not apply, and says why."""
    for rule_id, rule in RULES.items():
        other = "google-workspace" if rule.platforms == ("m365",) else "m365"
        h = tenant(rule_id, CASES[rule_id]["pass"][0])
        for platform in (other, "linux"):
            h.platform = platform
            (res,) = evaluate_host(h, [COMPILED[rule_id]], Contract())
            assert (res["status"], res["na_reason"]) == ("not_applicable", "platform"), res


def test_rules_read_only_facts_their_section_provides() -> None:
    secs = sections()

    def facts_of(cond: Any) -> list[str]:
        if not isinstance(cond, dict):
            return []
        if "fact" in cond:
            return [cond["fact"]]
        return [f for k in ("all", "any", "none") for c in cond.get(k, []) for f in facts_of(c)]

    for r in RULES.values():
        provided = {f for s in r.requires for f in secs[s].provides}
        for f in facts_of(r.check) + facts_of(r.when) + list(r.observe):
            assert f in provided, f"{r.id} uses {f}, which none of {r.requires} provides"
        assert not r.title.lower().startswith("ensure") and len(r.title) < 100
        assert r.references.get("cyber_essentials"), r.id


def test_mfa_rules_cite_danzell() -> None:
    cite = {rid: RULES[rid].references["cyber_essentials"] for rid in RULES}
    for rid in ("CL-ENT-006", "CL-GWS-006"):
        assert cite[rid] == "A7.16"
    for rid in ("CL-ENT-007", "CL-GWS-007"):
        assert cite[rid] == "A7.17"


def test_provider_only_says_it_plainly() -> None:
    res = judge("CL-ENT-003", {"access.client_declared": True, "access.provider_only": True})
    assert res["message"].startswith("Your provider can administer your tenant and you cannot")
