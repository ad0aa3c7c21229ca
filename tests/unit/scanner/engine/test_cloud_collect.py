"""Cloud tenants end to end without a tenant: the tenants section of an inventory is loaded,
each tenant is read by scanner/engine/cloud/ from the HTTPS server of tests/cloud_server.py (MSAL and
google-auth signing in to it for real), parsed, and judged by the rules of baselines/cloud.yaml
through scanner.rules.evaluate, as a scan does. The tenants are data: tests/fixtures/cloud/tenants."""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.engine.cloud.collect import Options, collect_tenant
from scanner.errors import InventoryError
from scanner.inventory import Contract
from scanner.inventory.tenants import TenantConfig, parse_tenants
from scanner.rules import baselines
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.rules.scope import HostView
from tests import cloud_server as cs

ENTRA = ("school-sd", "msp-only", "ca-excluded", "no-p1-perms")
GOOGLE = ("google-pass", "google-fail")
AT = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
CLOUD = str(resources.files("baselines") / "cloud.yaml")
BASELINE = next(b for b in baselines.load([CLOUD]) if b.name == "cloud")
COMPILED = compile_rules(list(BASELINE.rules), BASELINE.params)
TOKEN_PATHS = re.compile(r"^(/[^/]+/oauth2/v2\.0/(token|devicecode)|/google/token)$")
DISCOVERY = re.compile(r"^/[^/]+/v2\.0/\.well-known/openid-configuration$")


class Env:
    def __init__(self, server: cs.Server, folder: Path) -> None:
        self.server = server
        self.folder = folder
        self.sleeps: list[float] = []
        self.section: dict[str, Any] = {}
        self.worlds: dict[str, dict[str, Any]] = {}

    def options(self, **kw: Any) -> Options:
        base: dict[str, Any] = {
            "login_url": self.server.url, "graph_url": self.server.url,
            "google_admin_url": self.server.url, "google_policy_url": self.server.url,
            "google_token_uris": (self.server.google_token_uri,),
            "ca_bundle": str(self.server.tls.ca), "sleep": self.sleeps.append,
            "clock": lambda: AT,
        }
        base.update(kw)
        return Options(**base)

    def tenants(self, section: dict[str, Any] | None = None) -> dict[str, TenantConfig]:
        got = parse_tenants(section or self.section, str(self.folder / "inventory.yaml"))
        return {t.name: t for t in got}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    folder = tmp_path_factory.mktemp("cloud")
    (folder / "inventory.yaml").write_text("all: {hosts: {}}\n", encoding="utf-8")
    server = cs.Server(cs.make_tls(folder)).start()
    e = Env(server, folder)
    try:
        for name in ENTRA:
            world = cs.load_world(name)
            cert, key = cs.make_app_certificate(folder, name)
            server.add_tenant(world, cert)
            e.worlds[name] = world
            e.section[name] = {"platform": "m365", "tenant_id": world["tenant_id"],
                               "client_id": world["app"]["client_id"],
                               "certificate_file": cert.name, "private_key_file": key.name,
                               **world["inventory"]}
        for name in GOOGLE:
            world = cs.load_world(name)
            key_file, public = cs.make_service_account(folder, name, world["service_account"],
                                                       server.google_token_uri)
            server.add_customer(world, public)
            e.worlds[name] = world
            e.section[name] = {"platform": "google-workspace",
                               "service_account_file": key_file.name,
                               "admin_email": world["admin_email"], **world["inventory"]}
        yield e
    finally:
        server.stop()


@pytest.fixture(scope="module")
def records(env: Env) -> dict[str, dict[str, Any]]:
    tenants = env.tenants()
    return {name: collect_tenant(t, env.options()) for name, t in tenants.items()}


def judge(rec: dict[str, Any]) -> dict[str, str]:
    """The status of each rule of the tenant's platform (the other platform's rules are there
    too, as not applicable for that reason)."""
    view = HostView(name=rec["name"], platform=rec["platform"], roles=tuple(rec["roles"]),
                    reachable=rec["reachable"], error=rec["error"], facts=rec["facts"],
                    fact_errors=rec["fact_errors"], sections=rec["sections"],
                    owner=rec["owner"], transport=rec["transport"])
    res = evaluate_host(view, COMPILED, Contract())
    assert len(res) == len(COMPILED)
    return {r["rule"]: r["status"] for r in res if r.get("na_reason") != "platform"}


def results(rec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    view = HostView(name=rec["name"], platform=rec["platform"], roles=tuple(rec["roles"]),
                    reachable=rec["reachable"], error=rec["error"], facts=rec["facts"],
                    fact_errors=rec["fact_errors"], sections=rec["sections"],
                    transport=rec["transport"])
    return {r["rule"]: r for r in evaluate_host(view, COMPILED, Contract())}


P, F, E, NA = "pass", "fail", "error", "not_applicable"
EXPECTED = {
    # a Business Standard school with Security Defaults: passes; no P1 for sign-in times
    "school-sd": {"CL-ENT-001": P, "CL-ENT-002": P, "CL-ENT-003": P, "CL-ENT-004": P,
                  "CL-ENT-005": P, "CL-ENT-006": P, "CL-ENT-007": P, "CL-ENT-008": P,
                  "CL-ENT-009": P, "CL-ENT-010": E, "CL-ENT-011": P, "CL-ENT-012": P},
    # only the provider can administer: fails everything
    "msp-only": {"CL-ENT-001": F, "CL-ENT-002": F, "CL-ENT-003": F, "CL-ENT-004": F,
                 "CL-ENT-005": F, "CL-ENT-006": F, "CL-ENT-007": F, "CL-ENT-008": NA,
                 "CL-ENT-009": F, "CL-ENT-010": F, "CL-ENT-011": F, "CL-ENT-012": F},
    # Conditional Access with an excluded break-glass group
    "ca-excluded": {"CL-ENT-001": P, "CL-ENT-002": P, "CL-ENT-003": P, "CL-ENT-004": P,
                    "CL-ENT-005": F, "CL-ENT-006": F, "CL-ENT-007": F, "CL-ENT-008": F,
                    "CL-ENT-009": P, "CL-ENT-010": P, "CL-ENT-011": P, "CL-ENT-012": P},
    # no P1, permissions missing: errors where the hidden facts matter, never pass or fail
    "no-p1-perms": {"CL-ENT-001": E, "CL-ENT-002": P, "CL-ENT-003": P, "CL-ENT-004": P,
                    "CL-ENT-005": P, "CL-ENT-006": E, "CL-ENT-007": E, "CL-ENT-008": NA,
                    "CL-ENT-009": P, "CL-ENT-010": E, "CL-ENT-011": P, "CL-ENT-012": P},
    "google-pass": {f"CL-GWS-00{i}": P for i in range(1, 10)},
    "google-fail": {f"CL-GWS-00{i}": F for i in range(1, 10)},
}


@pytest.mark.parametrize("name", [*ENTRA, *GOOGLE])
def test_every_rule_on_every_tenant(records: dict[str, dict[str, Any]], name: str) -> None:
    rec = records[name]
    assert rec["reachable"], rec["error"]
    got = judge(rec)
    assert got == EXPECTED[name], {k: (v, results(rec)[k]["message"]) for k, v in got.items()
                                   if EXPECTED[name].get(k) != v}


def test_the_reasons_a_person_reads(records: dict[str, dict[str, Any]]) -> None:
    msp = results(records["msp-only"])
    assert msp["CL-ENT-003"]["message"].startswith(
        "Your provider can administer your tenant and you cannot")
    assert "office@bridgestreet.example: " in msp["CL-ENT-001"]["message"]
    assert "old-it@bridgestreet.example" in msp["CL-ENT-002"]["message"]
    assert "Directory.ReadWrite.All" in msp["CL-ENT-012"]["message"]
    ca = results(records["ca-excluded"])
    # the exclusion is named, with the group's members
    assert "group Break glass (bg1@oakfieldacademy.onmicrosoft.com)" in str(
        ca["CL-ENT-005"]["observed"])
    # the break-glass account is not excused: listed as such in the admins without MFA (the
    # result's message shortens long values: the facts hold them whole)
    facts = records["ca-excluded"]["facts"]
    assert facts["tenant.admins_without_mfa"] == [
        "bg1@oakfieldacademy.onmicrosoft.com (declared break-glass account): MFA not required "
        "(excluded from 'Require MFA for everyone' by group Break glass)"]
    assert ca["CL-ENT-006"]["message"].startswith("Some administrators can sign in without MFA")
    assert facts["tenant.users_without_mfa"] == [
        "bg1@oakfieldacademy.onmicrosoft.com (declared break-glass account): MFA not required "
        "(excluded from 'Require MFA for everyone' by group Break glass)",
        "staff2@oakfield.example: MFA not registered (no second factor registered)"]
    assert facts["tenant.break_glass_problems"] == [
        "bg2@oakfieldacademy.onmicrosoft.com: no such account in the tenant"]
    (bg1,) = [r for r in facts["tenant.break_glass"] if r.get("name")]
    assert bg1["excluded_from"] == ["'Require MFA for everyone'"]
    assert bg1["mfa_methods"] == ["fido2"]
    policies = records["ca-excluded"]["facts"]["tenant.mfa_policies"]
    assert [(p["name"], p["counts"], p["why_not"]) for p in policies] == [
        ("Require MFA for everyone", True, None),
        ("Phishing-resistant MFA for admins (trial)", False, "report-only (not enforced)")]


def test_missing_licence_and_permission_are_named(records: dict[str, dict[str, Any]]) -> None:
    res = results(records["no-p1-perms"])
    for rule in ("CL-ENT-006", "CL-ENT-007", "CL-ENT-001"):
        msg = res[rule]["message"]
        assert "UserAuthenticationMethod.Read.All" in msg, (rule, msg)
        assert "Entra ID P1 or P2" in msg, (rule, msg)
    assert "Entra ID P1 or P2" in res["CL-ENT-010"]["message"]
    errors = records["no-p1-perms"]["fact_errors"]
    assert "Organization.Read.All" in errors["tenant.licences"]
    school = results(records["school-sd"])
    assert "no Entra ID P1 or P2 licence" in school["CL-ENT-010"]["message"]


def test_only_get_requests_leave_for_a_tenant(env: Env,
                                              records: dict[str, dict[str, Any]]) -> None:
    """Everything undone sent: GETs, and POSTs only to the token endpoints (which carry the
    signed assertion, no tenant data). The server answers any other method, so a write would
    have been seen here."""
    assert records
    methods = {m for m, _ in env.server.log}
    assert methods <= {"GET", "POST"}, methods
    posts = {p for m, p in env.server.log if m == "POST"}
    assert posts and all(TOKEN_PATHS.match(p) for p in posts), posts
    gets = [p for m, p in env.server.log if m == "GET"]
    assert any(p.startswith("/v1.0/") for p in gets)
    assert any(p.startswith("/admin/directory/v1/") for p in gets)
    assert any(p == "/v1/policies" for p in gets)


def test_a_write_never_leaves_the_session() -> None:
    from scanner.engine.cloud.http import ReadOnlySession, ReadOnlyViolation

    s = ReadOnlySession(["https://graph.microsoft.com"])
    for method in ("POST", "PATCH", "PUT", "DELETE", "post"):
        with pytest.raises(ReadOnlyViolation):
            s.request(method, "https://graph.microsoft.com/v1.0/users")
    with pytest.raises(ReadOnlyViolation):  # the token never goes to another origin
        s.get("https://graph.microsoft.com.evil.example/v1.0/users")
    with pytest.raises(ReadOnlyViolation):
        s.post("https://graph.microsoft.com/v1.0/users", json={})


def test_paging_throttling_and_retries(env: Env, records: dict[str, dict[str, Any]]) -> None:
    school = collect_tenant(env.tenants()["school-sd"], env.options(keep_bundle=True))
    calls = school["bundle"]["calls"]
    assert (calls["users"]["pages"], calls["users"]["items"]) == (5, 9)  # 2 a page
    assert len(school["bundle"]["data"]["users"]) == 9
    google = collect_tenant(env.tenants()["google-pass"], env.options(keep_bundle=True))
    assert (google["bundle"]["calls"]["users"]["pages"],
            google["bundle"]["calls"]["users"]["items"]) == (3, 6)
    rec = records["no-p1-perms"]
    assert 2.0 in env.sleeps  # the 429's Retry-After was waited for ...
    assert rec["sections"]["cloud.entra"]["throttled_seconds"] >= 2.0
    assert rec["facts"]["tenant.users_total"] == 3  # ... and the users were read
    assert "tenant.global_admin_count" in rec["facts"]  # the 503 was retried


def test_select_is_needed_for_the_properties_undone_judges(env: Env) -> None:
    """The server leaves out what Graph returns only on $select: a collector that forgot it
    would get no accountEnabled (the facts would be errors, never passes)."""
    import requests

    world = env.worlds["school-sd"]
    token = env.server.issue("app", world, ["User.Read.All"])
    got = requests.get(f"{env.server.url}/v1.0/users", headers={"Authorization": f"Bearer {token}"},
                       verify=str(env.server.tls.ca), timeout=10).json()
    assert "accountEnabled" not in got["value"][0]
    assert "@odata.nextLink" in got


def test_nothing_secret_in_a_record(env: Env, records: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(records)
    for token in env.server.tokens:
        assert token not in text
    assert "PRIVATE KEY" not in text
    rec = records["school-sd"]
    assert rec["connection"]["permissions"] == sorted(
        env.worlds["school-sd"]["app"]["permissions"])
    assert rec["transport"] == "graph" and rec["platform"] == "m365"
    assert rec["address"] == env.worlds["school-sd"]["tenant_id"]


def test_record_has_the_host_shape(records: dict[str, dict[str, Any]]) -> None:
    import jsonschema

    schema = json.loads((resources.files("scanner") / "schema" / "scan.schema.json").read_text())
    host = copy.deepcopy(schema["properties"]["hosts"]["items"])
    assert {"graph", "google"} <= set(host["properties"]["transport"]["enum"])
    host["$defs"] = schema["$defs"]
    for rec in records.values():
        jsonschema.validate(json.loads(json.dumps(rec)), host)


def test_wrong_certificate_is_an_auth_error(env: Env) -> None:
    cert, key = cs.make_app_certificate(env.folder, "stranger")
    section = copy.deepcopy(env.section)
    section["school-sd"].update(certificate_file=cert.name, private_key_file=key.name)
    rec = collect_tenant(env.tenants(section)["school-sd"], env.options())
    assert not rec["reachable"] and rec["error_kind"] == "auth"
    assert "AADSTS700027" in rec["error"]
    view = judge(rec)
    assert set(view.values()) == {"error"}


def test_device_code_sign_in(env: Env) -> None:
    section = {"school-sd": {k: v for k, v in env.section["school-sd"].items()
                             if k not in ("certificate_file", "private_key_file")}}
    section["school-sd"]["auth"] = "device-code"
    tenant = env.tenants(section)["school-sd"]
    shown: list[str] = []
    rec = collect_tenant(tenant, env.options(device_prompt=shown.append))
    assert rec["reachable"], rec["error"]
    assert "ABCD-EFGH" in shown[0]
    assert rec["connection"]["token_kind"] == "delegated"
    assert judge(rec)["CL-ENT-001"] == "pass"
    unattended = collect_tenant(tenant, env.options())
    assert unattended["error_kind"] == "error" and "person at the terminal" in (
        unattended["error"])


def test_google_delegation_not_granted(env: Env) -> None:
    world = env.worlds["google-pass"]
    world["dwd_scopes"] = [s for s in cs.GOOGLE_SCOPES.values() if "orgunit" not in s]
    try:
        rec = collect_tenant(env.tenants()["google-pass"], env.options())
    finally:
        del world["dwd_scopes"]
    assert rec["error_kind"] == "auth"
    assert "unauthorized_client" in rec["error"] and "Domain-wide delegation" in rec["error"]


def test_google_api_not_enabled_is_an_error_naming_it(env: Env) -> None:
    world = env.worlds["google-pass"]
    world["faults"] = {"/v1/policies": {
        "status": 403, "code": "forbidden", "state": "PERMISSION_DENIED",
        "message": "Cloud Identity API has not been used in project 1234 before or it is "
                   "disabled."}}
    try:
        rec = collect_tenant(env.tenants()["google-pass"], env.options())
    finally:
        del world["faults"]
    res = results(rec)
    assert res["CL-GWS-005"]["status"] == "error"
    assert "not enabled in the service account's Google Cloud project" in (
        res["CL-GWS-005"]["message"])
    assert res["CL-GWS-007"]["status"] == "pass"  # per-user 2SV is read all the same


def test_google_token_uri_must_be_googles(env: Env) -> None:
    rec = collect_tenant(env.tenants()["google-pass"],
                         env.options(google_token_uris=("https://oauth2.googleapis.com/token",)))
    assert rec["error_kind"] == "error" and "is not Google's token endpoint" in rec["error"]


def test_per_user_requests_are_capped(env: Env) -> None:
    section = copy.deepcopy(env.section)
    section["school-sd"]["max_user_requests"] = 4
    rec = collect_tenant(env.tenants(section)["school-sd"], env.options())
    res = results(rec)
    # the four administrators are read first: A7.16 is still judged
    assert res["CL-ENT-006"]["status"] == "pass"
    assert res["CL-ENT-007"]["status"] == "error"
    assert "max_user_requests (4)" in res["CL-ENT-007"]["message"]
    section["school-sd"]["max_user_requests"] = 3  # one administrator left unread
    rec = collect_tenant(env.tenants(section)["school-sd"], env.options())
    assert results(rec)["CL-ENT-006"]["status"] == "error"


def test_missing_extra_is_named(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msal", None)
    rec = collect_tenant(env.tenants()["school-sd"], env.options())
    assert rec["error"].startswith("cloud tenants need the optional dependencies")
    assert "pip install 'undone[cloud]'" in rec["error"]


def test_tenants_section_validation(tmp_path: Path) -> None:
    label = str(tmp_path / "inventory.yaml")
    good = {"school": {"platform": "m365", "tenant_id": "school.example",
                       "client_id": "0f6e2d41-1111-4a5b-8c9d-000000000001",
                       "certificate_file": "k.crt", "private_key_file": "k.key"}}
    (t,) = parse_tenants(good, label)
    assert t.auth == "certificate" and t.client_admins is None
    assert t.certificate_file == str(tmp_path / "k.crt") or t.certificate_file == "k.crt"
    cases = {
        "tenants.school: unknown key 'clinet_id' (did you mean 'client_id'?)":
            {"school": {**good["school"], "clinet_id": "x"}},
        "tenants.school.client_secret: secrets are never written in the inventory":
            {"school": {**good["school"], "client_secret": "hunter2"}},
        "tenants.school.platform: is 'm356' (did you mean 'm365'?)":
            {"school": {**good["school"], "platform": "m356"}},
        "tenants.school: 'private_key_file' is missing":
            {"school": {k: v for k, v in good["school"].items() if k != "private_key_file"}},
        "tenants.school.client_admins[0]: 'head' is not an account name":
            {"school": {**good["school"], "client_admins": ["head"]}},
        "in both client_admins and provider_admins":
            {"school": {**good["school"], "client_admins": ["a@b.example"],
                        "provider_admins": ["A@b.example"]}},
        "tenants.acme: 'admin_email' is missing":
            {"acme": {"platform": "google-workspace", "service_account_file": "sa.json"}},
        "tenants.school.tenant_id: is 'not a tenant!'":
            {"school": {**good["school"], "tenant_id": "not a tenant!"}},
    }
    for expected, section in cases.items():
        with pytest.raises(InventoryError) as exc:
            parse_tenants(section, label)
        assert any(line.startswith(f"{label}: ") and expected in line
                   for line in exc.value.problems), (expected, exc.value.problems)
        assert "hunter2" not in str(exc.value)
    with pytest.raises(InventoryError):
        parse_tenants(["school"], label)
    with pytest.raises(InventoryError) as exc:
        parse_tenants(good, label, taken={"school"})
    assert "same name as a host" in str(exc.value)


def test_the_shipped_example_section_loads(tmp_path: Path) -> None:
    """docs/cloud.md's example tenants section is valid as written."""
    doc = (Path(__file__).resolve().parents[4] / "docs" / "cloud.md").read_text(encoding="utf-8")
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    data = yaml.safe_load(block)
    got = parse_tenants(data["tenants"], str(tmp_path / "inventory.yaml"))
    assert {t.platform for t in got} == {"m365", "google-workspace"}


def test_who_can_administer_each_tenant(records: dict[str, dict[str, Any]]) -> None:
    """reports/tenants.py on a result document holding the tenants and a machine."""
    import io

    from rich.console import Console

    from reports import access, tenants

    machine = {"name": "web01", "platform": "linux", "reachable": True, "facts": {
        "access.identities_declared": True, "access.client_declared": True,
        "access.client_admin_usable": True, "access.admins": []}, "fact_errors": {}}
    down = {**collect_tenant_stub("offline-tenant"), "error": "sign-in refused"}
    doc = {"hosts": [machine, *records.values(), down]}
    rows = {r["tenant"]: r for r in tenants.tenant_view(doc)}
    assert list(rows) == [*ENTRA, *GOOGLE, "offline-tenant"]  # machines are not tenants
    assert rows["school-sd"]["verdict"] == "shared"
    assert [a["name"] for a in rows["school-sd"]["client"]] == [
        "bursar@greenfield.example", "head@greenfield.example"]
    assert [a["name"] for a in rows["school-sd"]["break_glass"]] == [
        "emergency@greenfieldschool.onmicrosoft.com"]
    assert rows["school-sd"]["mfa"] == {"enforcement": "security defaults",
                                        "admins_without_mfa": 0, "users_without_mfa": 0,
                                        "users_total": 7}
    assert rows["msp-only"]["verdict"] == "provider-only"
    assert rows["msp-only"]["text"] == "Your provider can administer your tenant and you cannot"
    assert [a["name"] for a in rows["msp-only"]["unknown"]] == ["old-it@bridgestreet.example"]
    assert rows["google-fail"]["verdict"] == "provider-only"
    assert rows["google-pass"]["verdict"] == "shared"
    assert rows["no-p1-perms"]["verdict"] == "shared"
    assert rows["no-p1-perms"]["mfa"]["admins_without_mfa"] is None  # unknown, not 0
    assert rows["offline-tenant"]["verdict"] == "not-scanned"
    # the machines' view reads the machines only: tenants have their own view beside it
    assert [r["verdict"] for r in access.access_view(doc)] == ["client"]
    out = io.StringIO()
    tenants.print_console(doc, Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    assert "Who can administer each cloud tenant" in text
    assert "msp-only" in text and "Your provider can administer your tenant and you cannot" in text
    assert "without MFA: 1 admin(s), 2 of 5 user(s)" in text  # ca-excluded


def collect_tenant_stub(name: str) -> dict[str, Any]:
    from scanner.engine.cloud.collect import stub

    return stub(TenantConfig(name=name, platform="m365", auth="certificate",
                             tenant_id="offline.example"))


def _with_faults(env: Env, name: str, faults: dict[str, Any], **kw: Any) -> dict[str, Any]:
    world = env.worlds[name]
    world["faults"] = faults
    env.server.hits.clear()
    try:
        return collect_tenant(env.tenants()[name], env.options(**kw))
    finally:
        del world["faults"]
        env.server.hits.clear()


def test_faults_per_route_are_errors_never_verdicts(env: Env) -> None:
    # a deleted group still holding a role: 404 on its members
    group = "/v1.0/groups/d0000003-0000-4000-8000-0000000000b9/transitiveMembers"
    rec = _with_faults(env, "ca-excluded", {group: {"status": 404,
                                                    "code": "Request_ResourceNotFound",
                                                    "message": "Resource does not exist."}})
    res = results(rec)
    # who is excluded is unknown, so whether MFA is required of anyone is: errors, not fails
    for rule in ("CL-ENT-006", "CL-ENT-001"):
        assert res[rule]["status"] == "error", (rule, res[rule]["message"])
        assert "members of excluded group Break glass unread" in res[rule]["message"]
    # ... but a user with no second factor at all fails whatever the policies say
    assert res["CL-ENT-007"]["status"] == "fail"
    assert "not found (Request_ResourceNotFound" in rec["sections"]["cloud.entra"]["stdout"]
    # the exclusion itself is certain: the policy rule still fails
    assert res["CL-ENT-005"]["status"] == "fail"
    assert res["CL-ENT-002"]["status"] == "pass"
    # the server keeps failing: retried within bounds, then an error naming the failure
    rec = _with_faults(env, "school-sd", {"/v1.0/policies/identitySecurityDefaultsEnforcementPolicy":
                                          {"status": 503, "code": "ServiceUnavailable",
                                           "message": "busy"}})
    assert results(rec)["CL-ENT-005"]["status"] == "error"
    assert "Microsoft Graph failed (HTTP 503" in results(rec)["CL-ENT-005"]["message"]
    # throttled for longer than undone waits: an error, nothing waited for
    before = len(env.sleeps)
    rec = _with_faults(env, "school-sd", {"/v1.0/identity/conditionalAccess/policies":
                                          {"status": 429, "retry_after": 3600,
                                           "code": "TooManyRequests", "message": "slow down"}})
    assert 3600.0 not in env.sleeps[before:]
    assert "throttled by the API" in rec["fact_errors"]["tenant.mfa_policies"]
    # a 403 "no premium licence" where the licence list said otherwise is named as a licence
    rec = _with_faults(env, "ca-excluded", {
        "/v1.0/reports/authenticationMethods/userRegistrationDetails": {
            "status": 403, "code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "message": "Neither tenant is B2C or tenant doesn't have premium license"}})
    assert rec["facts"]["tenant.mfa_registration_source"] == "per-user methods"


def test_error_bodies_of_the_samples_are_classified() -> None:
    """The error bodies quoted in public issues (tests/fixtures/cloud/samples/
    graph_error_samples.md) map to the licence or permission a person must fix."""
    from scanner.engine.cloud import entra as reader
    from scanner.engine.cloud import google as greader

    text = (Path(__file__).resolve().parents[3] / "fixtures" / "cloud" / "samples"
            / "graph_error_samples.md").read_text(encoding="utf-8")
    no_dir = json.loads(text.split("    {", 1)[1].rsplit("    }", 1)[0].join(("{", "}")))
    kind, code, reason = reader.classify("AuditLog.Read.All", "Entra ID P1 or P2")(403, no_dir)
    assert (kind, code) == ("permission", "Authentication_ApplicationHasNoDirectoryReadAccess")
    assert "Directory.Read.All" in reason
    for code in ("Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                 "AadPremiumLicenseRequired"):
        assert code in text
        kind, _, reason = reader.classify("X", "Entra ID P2")(403, {"error": {"code": code}})
        assert kind == "licence" and "Entra ID P2" in reason
    kind, _, reason = reader.classify("AuditLog.Read.All", None)(
        403, {"error": {"code": "Authorization_RequestDenied"}})
    assert kind == "permission" and "AuditLog.Read.All" in reason
    kind, _, reason = greader.classify("https://x/auth/admin.directory.user.readonly")(
        403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "Request had "
                        "insufficient authentication scopes.",
                        "errors": [{"reason": "insufficientPermissions"}]}})
    assert kind == "permission" and "admin.directory.user.readonly" in reason


def _judge_bundle(rec: dict[str, Any], bundle: dict[str, Any], tenant: TenantConfig
                  ) -> dict[str, str]:
    from probes import sections
    from probes.base import RawSection

    name = "cloud.entra" if rec["platform"] == "m365" else "cloud.google"
    parsed = sections()[name].parse(RawSection(name=name, stdout=json.dumps(bundle),
                                               collected_at=AT, config=tenant.probe_config()))
    view = dict(rec, facts=parsed.values,
                fact_errors={k: v for k, v in parsed.errors.items() if k not in parsed.values})
    return judge(view)


@pytest.mark.parametrize("name", [*ENTRA, *GOOGLE])
def test_hiding_any_call_never_makes_a_verdict(env: Env, name: str) -> None:
    """Whatever single call is refused (a permission or licence missing), every rule keeps its
    verdict or becomes `error`: hidden data never makes a pass, and never makes a fail."""
    tenant = env.tenants()[name]
    rec = collect_tenant(tenant, env.options(keep_bundle=True))
    bundle = rec.pop("bundle")
    before = _judge_bundle(rec, bundle, tenant)
    assert before == EXPECTED[name]
    for call in sorted(bundle["calls"]):
        if not bundle["calls"][call]["ok"]:
            continue
        hidden = copy.deepcopy(bundle)
        hidden["calls"][call].update(ok=False, status=403, error={
            "kind": "permission", "code": "Authorization_RequestDenied",
            "reason": f"the app lacks the permission for {call}"})
        hidden["data"].pop(call, None)
        after = _judge_bundle(rec, hidden, tenant)
        changed = {r: (before[r], s) for r, s in after.items() if s not in (before[r], "error")}
        assert not changed, (call, changed)


def test_a_next_link_elsewhere_never_gets_the_token() -> None:
    """A page whose @odata.nextLink points at another origin: the call stops there, recorded as
    refused, and no request (with the bearer token) goes to that origin."""
    from scanner.engine.cloud.http import Reader, ReadOnlySession

    session = ReadOnlySession(["https://graph.microsoft.com"])
    sent: list[str] = []

    def fake_send(request: Any, **kw: Any) -> Any:
        sent.append(request.url)
        raise AssertionError("nothing may be sent")

    session.send = fake_send  # type: ignore[method-assign]
    reader = Reader(session, "secret-token", classify=lambda s, b: ("error", None, "x"))
    pages = iter([(200, {"value": [{"id": "1"}],
                         "@odata.nextLink": "https://graph.evil.example/v1.0/users?$skiptoken=2"})])
    reader._get = lambda url: next(pages) if "evil" not in url else session.get(url)  # type: ignore[method-assign]
    assert reader.call("users", "https://graph.microsoft.com/v1.0/users", items="value",
                       paging="odata") is None
    assert reader.calls["users"]["error"]["kind"] == "refused"
    assert "graph.evil.example" in reader.calls["users"]["error"]["reason"]
    assert sent == [] and "users" not in reader.data
