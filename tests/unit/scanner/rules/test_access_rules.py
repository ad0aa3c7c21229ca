"""The client-access rules (baselines/client-access.yaml): plain-language messages, not
applicable until identities are declared, and judged on the facts the accounts parser derives
from recorded outputs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from probes.base import RawSection
from probes.posix import accounts
from scanner.errors import BaselineError
from scanner.inventory import Contract
from scanner.rules import baselines
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.rules.scope import HostView

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "posix" / "accounts"
AT = datetime(2026, 11, 22, 0, 55, 39, tzinfo=UTC)
BASELINE = next(b for b in baselines.load() if b.name == "client-access")
RULES = compile_rules(list(BASELINE.rules), {})


def judge(case: str, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = RawSection("posix.accounts", (FIXTURES / f"{case}.out").read_text(),
                     collected_at=AT, config=config)
    facts = accounts.parse(raw)
    host = HostView(name="h1", platform="linux", roles=("server",), reachable=True, error=None,
                    facts=facts.values, fact_errors=facts.errors,
                    sections={"posix.accounts": {"status": "ok"}})
    return {r["rule"]: r for r in evaluate_host(host, RULES, Contract())}


def test_shipped_and_in_the_default_set() -> None:
    assert "client-access" in baselines.DEFAULT
    assert [r.id for r in BASELINE.rules] == ["CA-ACC-001", "CA-ACC-002", "CA-ACC-003"]
    assert {(r.control, r.owner) for r in BASELINE.rules} == {("user-access-control", "provider")}
    assert [r.severity for r in BASELINE.rules] == ["high", "medium", "high"]


def test_client_can_administer() -> None:
    r = judge("debian12_root_access", {"client_admins": ["clientadmin"],
                                       "provider_admins": ["msp", "root", "toor", "leaver",
                                                           "contractor", "helpdesk", "%itadmins"]})
    assert {k: v["status"] for k, v in r.items()} == {
        "CA-ACC-001": "pass", "CA-ACC-002": "pass", "CA-ACC-003": "pass"}


def test_provider_only_in_plain_words() -> None:
    r = judge("debian12_root_access", {"client_admins": ["leaver"], "provider_admins": ["msp"]})
    one, three = r["CA-ACC-001"], r["CA-ACC-003"]
    assert one["status"] == "fail" and three["status"] == "fail"
    assert one["message"].startswith(
        "You cannot administer this system with an account of your own (")
    assert "leaver: the account is locked" in one["message"]
    assert three["message"].startswith("Your provider can administer this system and you cannot")
    assert three["severity"] == "high" and three["owner"] == "provider"
    assert r["CA-ACC-002"]["status"] == "fail"
    assert "toor" in r["CA-ACC-002"]["observed"]["access.unknown_admins"]


def test_not_declared_tells_how_to_declare() -> None:
    r = judge("debian12_root_access", {})
    for rule in ("CA-ACC-001", "CA-ACC-002", "CA-ACC-003"):
        assert r[rule]["status"] == "not_applicable"
        assert "estate.client_admins" in r[rule]["message"]


def test_without_root_error_never_pass() -> None:
    r = judge("debian12_nobody_access", {"client_admins": ["clientadmin"],
                                         "provider_admins": ["msp"]})
    for rule in ("CA-ACC-001", "CA-ACC-002", "CA-ACC-003"):
        assert r[rule]["status"] == "error", r[rule]
        assert "not readable" in r[rule]["message"]


def test_messages_are_validated_by_the_schema() -> None:
    text = (Path(baselines.__file__).parents[2] / "baselines" / "client-access.yaml").read_text()
    bad = text.replace("      fail: Your provider", "      failed: Your provider", 1)
    with pytest.raises(BaselineError, match="messages"):
        baselines.parse(bad, "x.yaml")
