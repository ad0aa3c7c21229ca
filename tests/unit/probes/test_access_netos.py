"""Network-device administrator users → access.* facts (probes/access/netos.py), on the outputs
in tests/fixtures/access/netos/ (where each format comes from: SOURCE.md there)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from probes.access import derive, netos
from probes.base import Facts

D = Path(__file__).resolve().parents[2] / "fixtures" / "access" / "netos"
AT = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
CFG = {"client_admins": ["clientadmin"], "provider_admins": ["msp", "admin"]}


def read(name: str) -> str:
    return (D / name).read_text(encoding="utf-8")


def admins(f: Facts) -> dict[str, dict[str, object]]:
    return {a["name"]: a for a in f.values["access.admins"]}


def test_routeros7_with_groups() -> None:
    f = netos.parse_routeros(read("routeros7_user_print_terse.txt"), CFG, AT,
                             groups=read("routeros7_user_group_print_terse.txt"))
    assert f.errors == {}
    a = admins(f)
    # monitor (read) and helpdesk (limited-write: !policy) are not administrators
    assert list(a) == ["admin", "clientadmin", "olduser", "msp"]
    assert a["clientadmin"]["last_login"] == "2026-11-18T09:30:05"  # device time, no zone
    assert a["clientadmin"]["via"] == ["device-admin", "group:full"]
    assert a["olduser"]["enabled"] is False and a["olduser"]["usable"] is False
    assert a["msp"]["rights"] == "full" and a["msp"]["owner"] == "provider"
    v = f.values
    assert v["access.unknown_admins"] == ["olduser"]
    assert v["access.client_admin_usable"] is True and v["access.provider_only"] is False


def test_routeros7_without_groups_custom_group_rights_are_unknown() -> None:
    f = netos.parse_routeros(read("routeros7_user_print_terse.txt"),
                             {"client_admins": ["helpdesk"], "provider_admins": ["msp"]}, AT)
    a = admins(f)
    assert a["helpdesk"]["rights"] == "unknown" and a["helpdesk"]["password_expired"] is True
    assert "limited-write are unknown" in f.errors["access.client_admin_usable"]


def test_routeros6_print_with_comment_lines() -> None:
    f = netos.parse_routeros(read("routeros6_user_print.txt"),
                             {"client_admins": ["device:joe"], "provider_admins": ["admin"]}, AT)
    a = admins(f)
    assert list(a) == ["admin", "clientadmin"]
    assert a["admin"]["last_login"] == "2020-07-02T16:18:29"
    v = f.values
    assert v["access.unknown_admins"] == ["clientadmin"]
    assert v["access.client_admin_problems"] == [
        "device:joe: the device user exists but has no administrator rights"]
    assert v["access.provider_only"] is True


def test_fortios_show_system_admin() -> None:
    f = netos.parse_fortios(read("fortios_show_system_admin.txt"),
                            {"client_admins": ["clientadmin"],
                             "provider_admins": ["device:msp-noc", "admin"]}, AT)
    a = admins(f)
    assert list(a) == ["admin", "clientadmin", "msp-noc", "auditor", "netops"]
    assert a["clientadmin"]["credential"] == "password+key"
    assert a["msp-noc"]["kind"] == "all" and a["msp-noc"]["credential"] == "remote"
    assert a["msp-noc"]["remote_group"] == "MSP-RADIUS"
    assert a["auditor"]["usable"] is False
    assert a["netops"]["two_factor"] is True and a["netops"]["usable"] is True
    assert all("ENC" not in str(x) for x in f.values["access.admins"])
    v = f.values
    assert v["access.unknown_admins"] == ["auditor", "netops"]
    assert v["access.client_admin_usable"] is True
    # the provider's wildcard RADIUS admin cannot be judged from the device; admin can
    assert v["access.provider_admin_usable"] is True


def test_fortios_client_only_read_only() -> None:
    f = netos.parse_fortios(read("fortios_show_system_admin.txt"),
                            {"client_admins": ["auditor"], "provider_admins": ["admin"]}, AT)
    v = f.values
    assert v["access.client_admin_present"] is True
    assert v["access.client_admin_problems"] == [
        "auditor: its profile super_admin_readonly can change nothing"]
    assert v["access.provider_only"] is True


def test_fortios_get_list_gives_names_only() -> None:
    f = netos.parse_fortios(read("fortios_get_system_admin.txt"), CFG, AT)
    assert "not in the get system admin list" in f.errors["access.client_admin_usable"]
    assert f.values["access.unknown_admins"] == []


def test_ios_usernames() -> None:
    f = netos.parse_ios(read("ios_username.txt"), CFG, AT)
    a = admins(f)
    assert list(a) == ["admin", "backdoor", "clientadmin"]  # ops has privilege 1
    assert a["backdoor"]["credential"] == "none-required"
    assert a["clientadmin"]["password_type"] == 8
    assert f.values["access.unknown_admins"] == ["backdoor"]
    assert f.values["access.client_admin_usable"] is True
    f = netos.parse_ios(read("ios_username.txt"), {"client_admins": ["ops"]}, AT)
    assert f.values["access.client_admin_problems"] == [
        "ops: the device user exists but has no administrator rights"]


def test_redact_masks_every_secret() -> None:
    ios = netos.redact(read("ios_username.txt"))
    assert "$9$" not in ios and "$8$" not in ios and "0822455D0A16" not in ios
    assert "username admin privilege 15 secret 9 <redacted>" in ios
    forti = netos.redact(read("fortios_show_system_admin.txt"))
    assert "SH2FAKE" not in forti and "set password <redacted>" in forti
    assert 'set accprofile "super_admin"' in forti


@pytest.mark.parametrize(("parser", "text"), [
    (netos.parse_routeros, "bad command name print (line 1 column 7)"),
    (netos.parse_routeros, ""),
    (netos.parse_fortios, "Unknown action 0\nCommand fail. Return code -1"),
    (netos.parse_fortios, "garbage"),
    (netos.parse_ios, "              ^\n% Invalid input detected at '^' marker."),
])
def test_errors_not_guesses(parser: object, text: str) -> None:
    f = parser(text, CFG, AT)  # type: ignore[operator]
    assert f.values == {}
    assert set(f.errors) == set(derive.PROVIDES)


def test_routeros_user_print_in_columns_public() -> None:
    """Known wrong before: ``/user print`` in its column form (ntc-templates' real capture) gave
    "no users in the output"."""
    f = netos.parse_routeros(read("public_ntc_routeros_user_print.txt"),
                             {"client_admins": ["user1"], "provider_admins": ["admin"]}, AT)
    assert f.errors == {}
    a = admins(f)
    assert list(a) == ["admin", "user1"]
    assert a["admin"]["rights"] == "full" and a["admin"]["last_login"] == "2023-06-30T01:08:59"
    assert a["user1"]["enabled"] is True and a["user1"]["owner"] == "client"


# ------------------------------------------- public outputs, second round (SOURCE.md, issue 13 §3)


def test_fortigate_config_admin_block_of_a_real_backup() -> None:
    """The `config system admin` block of a published FortiGate configuration (what `show system
    admin` prints): one super_admin with a GUI dashboard nested inside its entry."""
    f = netos.parse_fortios(read("public_fortigate_config_admin.txt"),
                            {"client_admins": ["clientadmin"], "provider_admins": ["admin"]}, AT)
    assert f.errors == {}
    a = admins(f)
    assert list(a) == ["admin"]
    assert a["admin"]["rights"] == "full" and a["admin"]["credential"] == "password"
    assert a["admin"]["owner"] == "provider" and a["admin"]["usable"] is True
    v = f.values
    assert v["access.provider_only"] is True
    assert v["access.client_admin_problems"] == ["clientadmin: no such user on this device"]


def test_ios_username_lines_of_real_configurations() -> None:
    cfg = {"client_admins": ["clientadmin"], "provider_admins": ["admin"]}
    one = netos.parse_ios(read("public_ios152_switch_username.txt"), cfg, AT)
    assert one.errors == {} and list(admins(one)) == ["admin"]
    assert admins(one)["admin"]["credential"] == "secret" and admins(one)["admin"]["usable"]
    two = netos.parse_ios(read("public_asr1002x_usernames.txt"), cfg, AT)
    assert list(admins(two)) == ["admin", "master"]
    assert two.values["access.unknown_admins"] == ["master"]  # privilege 15, declared by nobody
