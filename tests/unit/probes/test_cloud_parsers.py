"""The cloud parsers (probes/cloud/) on the real response samples of tests/fixtures/cloud/samples
(Microsoft's and Google's published examples, other projects' fixtures: see SOURCE.md there).

A bundle is what scanner/engine/cloud/ writes for a tenant: the calls with their status, and what the
successful ones returned. Each test builds one from the samples (plus, where a sample needs a
companion no public sample shows, a hand-made one, said so) and checks the facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from probes import sections
from probes.base import RawSection
from probes.cloud import _common, entra, google

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "cloud" / "samples"
AT = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
GA = entra.GLOBAL_ADMIN


def sample(name: str) -> Any:
    data = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return data["body"] if "body" in data else data["file"]


def value(name: str) -> list[dict[str, Any]]:
    return list(sample(name)["value"])


def ok(data: Any, request: str = "GET /") -> tuple[dict[str, Any], Any]:
    return {"request": request, "at": "2026-11-22T00:30:00Z", "status": 200, "ok": True,
            "error": None}, data


def failed(status: int, kind: str, code: str, reason: str,
           request: str = "GET /") -> tuple[dict[str, Any], Any]:
    return {"request": request, "at": "2026-11-22T00:30:00Z", "status": status, "ok": False,
            "error": {"kind": kind, "code": code, "reason": reason}}, None


def bundle(platform: str, calls: dict[str, tuple[dict[str, Any], Any]],
           permissions: list[str] | None = None, **extra: Any) -> str:
    doc: dict[str, Any] = {
        "schema": _common.SCHEMA, "platform": platform, "collected_at": "2026-11-22T00:30:00Z",
        "token": {"kind": "application", "permissions": permissions or ["User.Read.All"]},
        "calls": {n: c for n, (c, _) in calls.items()},
        "data": {n: d for n, (c, d) in calls.items() if c["ok"]},
    }
    doc.update(extra)
    return json.dumps(doc)


def run(section: str, text: str, config: dict[str, Any] | None = None) -> tuple[dict[str, Any],
                                                                                dict[str, str]]:
    parsed = sections()[section].parse(RawSection(name=section, stdout=text, collected_at=AT,
                                                  config=config or {}))
    return parsed.values, parsed.errors


def empty_roles() -> dict[str, tuple[dict[str, Any], Any]]:
    """No assignment of any built-in administrator role, and no custom role marked privileged
    (hand-made: the role definitions list)."""
    return {"role_definitions": ok([]),
            **{f"role_assignments/{rid}": ok([]) for rid in entra.PRIVILEGED_ROLES}}


def test_sections_are_registered() -> None:
    secs = sections()
    assert secs["cloud.entra"].provides == entra.PROVIDES
    assert secs["cloud.google"].provides == google.PROVIDES
    assert not secs["cloud.entra"].on_target
    assert "userRegistrationDetails" in secs["cloud.entra"].script


def test_entra_role_assignments_sample_users_unreadable() -> None:
    """Microsoft's roleAssignments example (three Global Administrators, two of them guests),
    with the users list refused: the admins come from the expanded principals; everything about
    all users is an error naming the permission."""
    calls = {
        **empty_roles(),
        f"role_assignments/{GA}": ok(value("graph_roleAssignments_expand_principal.fixed.json")),
        "users": failed(403, "permission", "Authorization_RequestDenied",
                        "the app lacks the Microsoft Graph permission User.Read.All",
                        "GET /v1.0/users"),
        "subscribed_skus": ok(value("graph_subscribedSkus_list.json")),
        "security_defaults": ok(sample("graph_identitySecurityDefaultsEnforcementPolicy.json")),
        "ca_policies": ok(value("graph_conditionalAccess_policies_list.json")),
        "registration": ok(value("graph_userRegistrationDetails_list.json")),
    }
    facts, errors = run("cloud.entra", bundle("m365", calls),
                        {"client_admins": ["joeyc@contoso.com"]})
    assert facts["tenant.licences"] == {"entra_id_p1": False, "entra_id_p2": False,
                                        "skus": ["ENTERPRISEPREMIUM"]}
    assert facts["tenant.global_admin_count"] == 3
    assert [a["name"] for a in facts["access.admins"]] == [
        "Joey Cruz", "Kalyan Krishna", "Markie Downing"]
    assert facts["tenant.guest_admins"] == ["Kalyan Krishna (Global Administrator)",
                                            "Markie Downing (Global Administrator)"]
    # Joey answers to his mail address (the principal carries no UPN in this sample)
    assert facts["access.client_admin_usable"] is True
    assert facts["access.provider_only"] is False
    assert facts["tenant.security_defaults"] is True
    assert facts["tenant.mfa_enforced_for_all"] is True
    assert facts["tenant.mfa_enforcement"] == "security defaults"
    # SimplePolicy2 asks for MFA but is disabled: listed, and does not count
    assert [(p["name"], p["counts"], p["why_not"]) for p in facts["tenant.mfa_policies"]] == [
        ("SimplePolicy2", False, "state disabled")]
    # none of the three is in the registration report: unknown, never a pass
    assert "tenant.admins_without_mfa" in errors
    assert "not in the registration report" in errors["tenant.admins_without_mfa"]
    assert "access.client_admin_problems" in errors
    for name in ("tenant.users_without_mfa", "tenant.users_total", "tenant.longest_unused_days"):
        assert "User.Read.All" in errors[name], name


def _registration_users() -> list[dict[str, Any]]:
    """Hand-made: the users list of the tenant of Microsoft's registration-details example (the
    same ids, names and user types; the list itself is not in the example)."""
    out = []
    for r in value("graph_userRegistrationDetails_list.json"):
        out.append({"id": r["id"], "userPrincipalName": r["userPrincipalName"],
                    "displayName": r["userDisplayName"], "mail": None,
                    "userType": r["userType"].capitalize(), "accountEnabled": True,
                    "createdDateTime": "2023-01-01T00:00:00Z"})
    return out


def test_entra_registration_report_sample() -> None:
    calls = {
        **empty_roles(),
        "users": ok(_registration_users()),
        "subscribed_skus": ok(value("graph_subscribedSkus_list.json")),
        "security_defaults": ok({"isEnabled": False}),
        "ca_policies": ok(value("graph_conditionalAccess_policies_list.json")),
        "registration": ok(value("graph_userRegistrationDetails_list.json")),
        "sign_in_activity": failed(403, "licence", "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                                   "the tenant has no Entra ID P1 or P2 licence"),
    }
    facts, errors = run("cloud.entra", bundle("m365", calls))
    assert facts["tenant.mfa_registration_source"] == "registration report"
    assert facts["tenant.users_total"] == 2  # the guest is reported apart
    # no enforcement anywhere: both members fail, the registered one for enforcement only
    assert facts["tenant.mfa_enforcement"] == "none"
    assert facts["tenant.mfa_enforced_for_all"] is False
    lines = facts["tenant.users_without_mfa"]
    assert lines[0].startswith("AlexW@Contoso.com: MFA not required (")
    assert lines[1].startswith("BiancaP@Contoso.com: MFA not required (")
    assert facts["tenant.guests_without_mfa"] == [
        "AllanD@Contoso.com: MFA not required and not registered"]
    assert "Entra ID P1 or P2" in errors["tenant.longest_unused_days"]
    # no administrator at all: an empty list, judged as such
    assert facts["tenant.global_admin_count"] == 0
    assert facts["tenant.admins_without_mfa"] == []


def test_entra_role_definitions_unreadable_leave_admins_unknown() -> None:
    calls = {**empty_roles(), "users": ok(_registration_users()),
             "role_definitions": failed(403, "permission", "Authorization_RequestDenied",
                                        "the app lacks RoleManagement.Read.Directory")}
    facts, errors = run("cloud.entra", bundle("m365", calls))
    assert "access.admins" not in facts
    assert "RoleManagement.Read.Directory" in errors["access.admins"]
    assert "RoleManagement.Read.Directory" in errors["tenant.global_admin_count"]


def test_entra_eligible_assignments_need_p2_sample() -> None:
    """Microsoft's eligibility example (role 8424c6f0..., not one undone counts as privileged by
    default) on a P2 tenant whose role definitions mark that role privileged: it counts."""
    skus = value("graph_subscribedSkus_list.json")
    skus[0]["servicePlans"].append({"servicePlanId": "eec0eb4f-6444-4f95-aba0-50c24d67f998",
                                    "servicePlanName": "AAD_PREMIUM_P2",
                                    "provisioningStatus": "Success", "appliesTo": "User"})
    eligible = value("graph_roleEligibilityScheduleInstances_list.json")
    rid = eligible[0]["roleDefinitionId"]
    users = [{"id": eligible[0]["principalId"], "userPrincipalName": "pim@contoso.com",
              "userType": "Member", "accountEnabled": True}]  # hand-made: the eligible user
    calls = {**empty_roles(), f"role_assignments/{rid}": ok([]),
             "role_definitions": ok([{"id": rid, "displayName": "Some Admin",
                                      "isPrivileged": True}]),
             "users": ok(users), "subscribed_skus": ok(skus),
             "role_eligibility": ok(eligible)}
    facts, _ = run("cloud.entra", bundle("m365", calls))
    assert facts["tenant.licences"]["entra_id_p2"] is True
    (admin,) = facts["access.admins"]
    assert admin["roles"] == ["Some Admin (eligible)"]
    assert facts["tenant.global_admin_count"] == 0
    # the same tenant with the eligibility call refused: the admins are unknown, not "none"
    calls["role_eligibility"] = failed(403, "licence", "AadPremiumLicenseRequired",
                                       "the tenant has no Entra ID P2 licence")
    facts, errors = run("cloud.entra", bundle("m365", calls))
    assert "Entra ID P2" in errors["access.admins"]
    assert "Entra ID P2" in errors["tenant.global_admin_count"]


def _google_roles() -> list[dict[str, Any]]:
    """Hand-made: the roles list naming the role of the sample assignment as Super Admin."""
    return [{"kind": "admin#directory#role", "roleId": "13801188331880449",
             "roleName": "_SEED_ADMIN_ROLE", "isSystemRole": True, "isSuperAdminRole": True}]


def _google_policies() -> list[dict[str, Any]]:
    return [p for page in sample("google_cloudidentity_policies_list.scubagoggles_fixture.json")[
        "responses"] for p in page["policies"]]


def test_google_samples() -> None:
    user = sample("google_directory_user.json")
    assignments = sample("google_directory_roleAssignments_list.json")["items"]
    calls = {
        "users": ok([user]),
        "roles": ok(_google_roles()),
        "role_assignments": ok(assignments),
        "orgunits": ok([]),  # hand-made: a customer with no sub-units lists none
        "policies": ok(_google_policies()),
    }
    text = bundle("google-workspace", calls,
                  ["https://www.googleapis.com/auth/admin.directory.user.readonly"])
    facts, errors = run("cloud.google", text, {"client_admins": ["dummy@domain.io"]})
    assert not errors, errors
    assert facts["tenant.global_admins"] == ["dummy@domain.io"]
    (admin,) = facts["access.admins"]
    assert admin["roles"] == ["Super Admin", "_SEED_ADMIN_ROLE"]
    assert admin["owner"] == "client"
    # the super admin can administer, but without 2-step verification
    assert facts["access.client_admin_usable"] is True
    assert facts["access.client_admin_problems"] == [
        "dummy@domain.io: MFA not required and not registered"]
    assert facts["tenant.admins_without_mfa"][0].startswith(
        "dummy@domain.io: MFA not required and not registered")
    # the sample customer has 2SV enrolment allowed and no enforcement: not enforced at "/"
    assert facts["tenant.mfa_policy_by_ou"] == [
        {"ou": "/", "users": 1, "enforced": False, "enforced_from": None, "set_at": None,
         "methods": None}]
    assert facts["tenant.mfa_enforced_for_all"] is False
    # last login 2022-08-13T02:04:12Z, four years before the scan
    assert facts["tenant.longest_unused_days"] == pytest.approx(1561.9, abs=0.05)
    assert facts["tenant.app_write_permissions"] == []


def test_google_enforced_from_in_the_future_is_not_enforced() -> None:
    user = dict(sample("google_directory_user.json"), isEnforcedIn2Sv=True, isEnrolledIn2Sv=True)
    policies = [*_google_policies(), {
        "name": "policies/x", "customer": "customers/C03ymv5su",
        "policyQuery": {"orgUnit": "orgUnits/03ph8a2z2dvk5ts", "sortOrder": 201},
        "setting": {"type": "settings/security.two_step_verification_enforcement",
                    "value": {"enforcedFrom": "2027-01-01T00:00:00Z"}}, "type": "ADMIN"}]
    calls = {"users": ok([user]), "roles": ok(_google_roles()), "role_assignments": ok([]),
             "orgunits": ok([]), "policies": ok(policies)}
    facts, _ = run("cloud.google", bundle("google-workspace", calls))
    assert facts["tenant.mfa_policy_by_ou"][0]["enforced"] is False
    policies[-1]["setting"]["value"]["enforcedFrom"] = "2026-01-01T00:00:00Z"
    facts, _ = run("cloud.google", bundle("google-workspace", calls))
    assert facts["tenant.mfa_policy_by_ou"][0]["enforced"] is True
    assert facts["tenant.mfa_enforced_for_all"] is True
    assert facts["tenant.admins_without_mfa"] == []


@pytest.mark.parametrize("text", ["", "garbage {", json.dumps({"schema": "other"}),
                                  json.dumps({"schema": _common.SCHEMA, "platform": "m365"})])
@pytest.mark.parametrize("section", ["cloud.entra", "cloud.google"])
def test_garbage_is_error_for_every_fact(section: str, text: str) -> None:
    facts, errors = run(section, text)
    assert not facts
    assert set(errors) == set(sections()[section].provides)


def test_identity_grammar() -> None:
    assert _common.parse_identity("Head@School.example").value == "head@school.example"
    assert _common.parse_identity("domain:msp.example").kind == "domain"
    assert _common.parse_identity("id:6f87972e-2e7e-4b49-9980-eb3888bdcfe1").kind == "id"
    for bad in ["", " a@b.c", "alice", "domain:", "domain:x", "id:", "group:x@y.z", 3]:
        with pytest.raises(ValueError):
            _common.parse_identity(bad)
    assert entra.external_address("tech_msp.example#EXT#@school.onmicrosoft.com") == (
        "tech@msp.example")
    assert entra.external_address("head@school.example") is None
