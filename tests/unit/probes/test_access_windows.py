"""Windows local Administrators → access.* facts (probes/access/windows.py), on the outputs in
tests/fixtures/access/windows/ (where each format comes from: SOURCE.md there)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from probes.access import derive, windows
from probes.base import Facts

D = Path(__file__).resolve().parents[2] / "fixtures" / "access" / "windows"
AT = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def read(name: str) -> str:
    return (D / name).read_text(encoding="utf-8")


def admins(f: Facts) -> dict[str, dict[str, object]]:
    return {a["name"]: a for a in f.values["access.admins"]}


def test_workgroup_pc_with_local_admins() -> None:
    f = windows.parse(read("members_workgroup.json"),
                      {"client_admins": ["clientadmin"], "provider_admins": ["mspadmin"]},
                      AT, users=read("users_workgroup.json"))
    assert f.errors == {}
    a = admins(f)
    assert a["PC01\\clientadmin"]["owner"] == "client"
    assert a["PC01\\clientadmin"]["usable"] is True
    assert a["PC01\\clientadmin"]["last_login"] == "2026-11-20T09:14:02Z"
    assert a["PC01\\mspadmin"]["owner"] == "provider"
    assert a["PC01\\olduser"]["reasons"] == ["the account is disabled"]
    assert a["PC01\\tempadmin"]["expired"] is True
    assert a["PC01\\tempadmin"]["reasons"] == ["the account expired on 2026-07-01"]
    # the built-in Administrator (RID 500), disabled: not counted as unknown
    assert a["PC01\\Administrator"]["usable"] is False
    assert a["PC01\\Administrator"]["last_login"] == "2020-11-19T07:44:32Z"
    v = f.values
    assert v["access.unknown_admins"] == ["PC01\\olduser", "PC01\\tempadmin"]
    assert v["access.client_admin_usable"] is True and v["access.provider_only"] is False


def test_workgroup_pc_whose_client_account_is_disabled() -> None:
    f = windows.parse(read("members_workgroup.json"),
                      {"client_admins": ["OldUser"], "provider_admins": ["mspadmin"]},
                      AT, users=read("users_workgroup.json"))
    v = f.values
    assert v["access.client_admin_present"] is True  # case-blind, as Windows is
    assert v["access.client_admin_usable"] is False
    assert v["access.client_admin_problems"] == ["OldUser (PC01\\olduser): the account is disabled"]
    assert v["access.provider_only"] is True


def test_local_account_outside_administrators() -> None:
    f = windows.parse(read("members_workgroup.json"), {"client_admins": ["Guest"]}, AT,
                      users=read("users_workgroup.json"))
    assert f.values["access.client_admin_problems"] == [
        "Guest: the local account exists but is not in the Administrators group"]


def test_domain_server_with_visible_and_hidden_groups() -> None:
    f = windows.parse(
        read("members_domain_ps7.json"),
        {"client_admins": ["group:EXAMPLE\\IT Admins"],
         "provider_admins": ["EXAMPLE\\msp-support", "group:EXAMPLE\\Domain Admins",
                             "Administrator"]},
        AT, users=read("users_domain_ps7.json"),
        domain={"EXAMPLE\\IT Admins": read("domain_it_admins.json"),
                "EXAMPLE\\Domain Admins": read("domain_admins_not_visible.json")})
    a = admins(f)
    it = a["EXAMPLE\\IT Admins"]
    assert (it["kind"], it["owner"], it["usable"]) == ("group", "client", True)
    assert it["members"] == ["EXAMPLE\\alice", "EXAMPLE\\bob"]
    assert a["EXAMPLE\\alice"]["owner"] == "client" and a["EXAMPLE\\alice"]["usable"] is True
    assert a["EXAMPLE\\bob"]["reasons"] == ["the account is disabled in the domain"]
    assert a["EXAMPLE\\Domain Admins"]["usable"] is None
    assert "not recognized" in a["EXAMPLE\\Domain Admins"]["reasons"][0]
    assert a["SRV01\\Administrator"]["last_login"] == "2026-11-02T16:40:12Z"  # PS 7 dates
    v = f.values
    assert v["access.unknown_admins"] == []
    assert v["access.client_admin_usable"] is True
    assert v["access.provider_admin_usable"] is True  # the local Administrator
    assert v["access.provider_only"] is False


def test_domain_user_maybe_hidden_in_a_group_nobody_can_see_into() -> None:
    f = windows.parse(read("members_domain_ps7.json"), {"client_admins": ["EXAMPLE\\carol"]},
                      AT, users=read("users_domain_ps7.json"),
                      domain={"EXAMPLE\\IT Admins": read("domain_it_admins.json")})
    for name in ("access.client_admin_present", "access.client_admin_usable"):
        assert name not in f.values
        assert "EXAMPLE\\Domain Admins, whose members are not visible" in f.errors[name]


def test_domain_group_whose_members_cannot_be_seen_is_unknown() -> None:
    f = windows.parse(read("members_domain_ps7.json"),
                      {"client_admins": ["group:EXAMPLE\\Domain Admins"]}, AT,
                      users=read("users_domain_ps7.json"))
    assert "members are not visible" in f.errors["access.client_admin_usable"]
    assert f.values["access.client_admin_present"] is True


def test_single_member_object_and_no_user_list() -> None:
    f = windows.parse(read("members_single.json"), {"client_admins": ["clientadmin"]}, AT)
    assert list(admins(f)) == ["PC02\\Administrator"]
    assert admins(f)["PC02\\Administrator"]["usable"] is None
    assert f.values["access.client_admin_problems"] == [
        "clientadmin: not a member of the Administrators group"]
    assert "Get-LocalUser gave no entry" in f.errors["access.provider_only"]


def test_get_localgroupmember_failure_gives_errors_with_the_cause() -> None:
    f = windows.parse(read("members_error_2996.txt"), {"client_admins": ["clientadmin"]}, AT)
    assert f.values == {}
    assert set(f.errors) == set(derive.PROVIDES)
    assert "PowerShell issue #2996" in f.errors["access.client_admin_usable"]


def test_garbage_and_enum_names() -> None:
    f = windows.parse("{not json", {"client_admins": ["a"]}, AT)
    assert f.values == {} and "not JSON" in f.errors["access.admins"]
    f = windows.parse('[{"Name": "EXAMPLE\\\\x", "PrincipalSource": "ActiveDirectory", '
                      '"ObjectClass": "User", "SID": "S-1-5-21-1-2-3-1000"}]',
                      {"client_admins": ["EXAMPLE\\x"]}, AT)
    a = f.values["access.admins"][0]
    assert (a["source"], a["owner"], a["sid"]) == ("domain", "client", "S-1-5-21-1-2-3-1000")
    # an unresolved member as the ADSI fallback shows it: a bare SID
    f = windows.parse('[{"Name": null, "SID": "S-1-5-21-9-9-9-1107", "ObjectClass": "User"}]',
                      {"client_admins": ["a"]}, AT)
    assert f.values["access.admins"][0]["name"] == "S-1-5-21-9-9-9-1107"
    assert f.values["access.unknown_admins"] == ["S-1-5-21-9-9-9-1107"]
