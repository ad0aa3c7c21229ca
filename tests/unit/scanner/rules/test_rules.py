"""Every rule judged on facts that pass and facts that fail (tests/rules/cases.yaml), and the
guarantees that hold for all rules: no facts gives `error`, facts in error give `error`, never a
pass on missing data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner import yamlio
from scanner.inventory import Contract
from scanner.rules import baselines
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.rules.scope import NOT_HOSTS, HostView

CASES = yamlio.load_file(Path(__file__).parents[3] / "rules" / "cases.yaml")
# the rules of baselines/applications.yaml have their own cases file
CASES.update(yamlio.load_file(Path(__file__).parents[3] / "rules" / "applications.yaml"))
# and those of baselines/cloud.yaml (tenants; tests/unit/scanner/rules/test_cloud_rules.py adds its own
# checks)
CASES.update(yamlio.load_file(Path(__file__).parents[3] / "rules" / "cloud.yaml"))
BASELINES = baselines.load()
RULES = {r.id: r for b in BASELINES for r in b.rules}
PARAMS: dict[str, Any] = {}
for _b in BASELINES:
    PARAMS.update(_b.params)
COMPILED = {cr.rule.id: cr for cr in compile_rules(list(RULES.values()), PARAMS)}


def host(facts: dict[str, Any], errors: dict[str, str] | None = None,
         platform: str = "linux", rule_id: str | None = None,
         basis: dict[str, dict[str, str]] | None = None,
         scope: dict[str, Any] | None = None) -> HostView:
    """A host the rule applies to (network devices, networks, gateways), or, with ``scope``
    (a case's ``host:``: platform, roles, roles_source), the host the case describes."""
    rule_sections = {s for r in RULES.values() for s in r.requires}
    sections = {s: {"status": "ok", "sha256": "0" * 64, "collected_at": "2026-11-22T00:00:00Z"}
                for s in rule_sections}
    roles: tuple[str, ...] = ("server",)
    source = ""
    if scope is not None:
        platform, roles = scope["platform"], tuple(scope.get("roles", ()))
        source = scope.get("roles_source", "")
    elif rule_id is not None:
        rule = RULES[rule_id]
        platform = rule.platforms[0] if rule.platforms else platform
        roles = rule.roles[:1] or roles
    return HostView(name="h1", platform=platform, roles=roles, reachable=True, error=None,
                    facts=facts, fact_errors=errors or {}, sections=sections,
                    fact_basis=basis or {}, roles_source=source)


def judge(rule_id: str, facts: dict[str, Any], errors: dict[str, str] | None = None,
          basis: dict[str, dict[str, str]] | None = None,
          scope: dict[str, Any] | None = None) -> dict[str, Any]:
    res = evaluate_host(host(facts, errors, rule_id=rule_id, basis=basis, scope=scope),
                        [COMPILED[rule_id]],
                        Contract())
    assert len(res) == 1
    return res[0]


def _item(item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], dict[str, Any],
                                         dict[str, Any] | None, str | None]:
    """A case: plain facts, or ``{facts, fact_errors, fact_basis, host, na_reason}``."""
    if "facts" in item:
        return (item["facts"], item.get("fact_errors", {}), item.get("fact_basis", {}),
                item.get("host"), item.get("na_reason"))
    return item, {}, {}, None, None


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    return [(rule_id, status, item) for rule_id, by_status in CASES.items()
            for status, items in by_status.items() for item in items]


@pytest.mark.parametrize(("rule_id", "status", "item"), _cases())
def test_case(rule_id: str, status: str, item: dict[str, Any]) -> None:
    assert rule_id in RULES, f"case for unknown rule {rule_id}"
    facts, errors, basis, scope, na_reason = _item(item)
    res = judge(rule_id, facts, errors, basis, scope)
    assert res["status"] == status, res["message"]
    if status == "fail":
        assert res["message"], "a failure says why"
    if status in ("pass", "fail"):
        assert res["observed"], "the observed facts are reported"
    if status == "not_applicable":
        assert res["na_reason"] == (na_reason or "precondition"), res
        assert res["message"].strip(), "a rule that does not apply says why"


def test_every_rule_has_pass_and_fail_cases() -> None:
    for rule_id, rule in RULES.items():
        assert rule_id in CASES, f"{rule_id} has no cases in tests/rules/cases.yaml"
        if rule.check == "manual":
            assert CASES[rule_id].get("manual"), rule_id
        else:
            assert CASES[rule_id].get("pass"), f"{rule_id} has no passing case"
            assert CASES[rule_id].get("fail"), f"{rule_id} has no failing case"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_no_facts_is_error_never_pass(rule_id: str) -> None:
    assert judge(rule_id, {})["status"] == "error"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_facts_in_error_are_error(rule_id: str) -> None:
    """Take each passing case and turn every fact into an error: the rule must be `error`."""
    for item in CASES[rule_id].get("pass", []) + CASES[rule_id].get("manual", []):
        errors = {k: "could not be read" for k in _item(item)[0]}
        res = judge(rule_id, {}, errors)
        assert res["status"] == "error", (rule_id, res)
        assert "could not be read" in res["message"]


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_section_in_error_is_error(rule_id: str) -> None:
    rule = RULES[rule_id]
    facts = _item((CASES[rule_id].get("pass") or CASES[rule_id].get("manual"))[0])[0]
    h = host(facts, rule_id=rule_id)
    h.sections[rule.requires[0]] = {"status": "error", "error": "timed out on the target"}
    res = evaluate_host(h, [COMPILED[rule_id]], Contract())[0]
    assert res["status"] == "error"
    assert "timed out on the target" in res["message"]


def test_unreachable_host_gives_error_for_every_rule() -> None:
    h = HostView(name="h1", platform=None, roles=(), reachable=False,
                 error="connection refused", facts={}, fact_errors={}, sections={})
    res = evaluate_host(h, list(COMPILED.values()), Contract())
    assert [r["rule"] for r in res] == list(COMPILED)  # every rule, none dropped
    # a host is never a declared network: those rules do not apply; every other is not checked
    networks = {r.id for r in RULES.values() if r.platforms and set(r.platforms) <= set(NOT_HOSTS)}
    assert networks
    for r in res:
        if r["rule"] in networks:
            assert (r["status"], r["na_reason"]) == ("not_applicable", "platform"), r
        else:
            assert r["status"] == "error", r
            assert "connection refused" in r["message"]


def test_rule_ids_unique_and_named() -> None:
    ids = [r.id for b in BASELINES for r in b.rules]
    assert len(ids) == len(set(ids))
    for b in BASELINES:
        for r in b.rules:
            assert not r.title.lower().startswith("ensure"), r.id
            assert len(r.title) < 100
            assert r.rationale and r.remediation and r.references


def test_every_fact_a_rule_uses_is_provided_by_its_sections() -> None:
    from probes import sections

    secs = sections()

    def facts_of(cond: Any) -> list[str]:
        if not isinstance(cond, dict):
            return []
        if "fact" in cond:
            return [cond["fact"]]
        return [f for k in ("all", "any", "none") for c in cond.get(k, []) for f in facts_of(c)]

    derived = {"os.supported", "os.eol_date", "os.days_to_eol", "os.extended_support",
               "os.eoes_date", "os.lifecycle_product", "lifecycle.snapshot_date"}  # added by scanner.lifecycle from posix.os facts
    # added by scanner.lifecycle.support from those (who still sends security fixes, until when)
    derived |= {"os.security_fixes", "os.security_fixes_until", "os.security_fixes_days_left",
                "os.support_summary"}
    # added by scanner.engine.dating before evaluation (security upgrades among the patch runs)
    derived |= {"patch.security_runs_30d", "patch.security_runs_90d",
                "patch.security_runs_365d"}
    # added by scanner.engine.collect from what the WinRM transport did about the host's certificate
    derived |= {"winrm.certificate_validation", "winrm.certificate_sha256",
                "winrm.certificate_not_after", "winrm.ntlm_over_http"}
    # added by scanner.lifecycle.applications from the applications and browsers sections' facts
    from scanner.lifecycle import applications

    derived |= set(applications.FACTS) | {"browsers.extension_allowlist_declared",
                                          "browsers.extensions_not_allowed"}
    for r in RULES.values():
        provided = {f for s in r.requires for f in secs[s].provides} | derived
        for f in facts_of(r.check) + facts_of(r.when) + list(r.observe):
            assert f in provided, f"{r.id} uses {f}, which none of {r.requires} provides"
