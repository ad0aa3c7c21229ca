"""windows.defender, windows.firewall, windows.accounts, windows.hardening and windows.backup on
recorded outputs (tests/fixtures/windows, see SOURCE.md)."""

from __future__ import annotations

import json
from datetime import datetime

from tests.unit.probes._win import doc, parse


def test_defender_normal() -> None:
    v = parse("defender", "normal").values
    assert v["av.installed"] and v["av.product"] == "Microsoft Defender Antivirus"
    assert v["av.realtime_enabled"] is True and v["av.signature_age_days"] == 0.0
    assert v["av.signature_date"] == "2026-11-21T23:40:10Z"
    assert v["av.tamper_protection"] is True and v["av.managed"] is True
    assert v["defender.mode"] == "normal" and v["defender.other_av_active"] is False


def test_defender_passive_with_another_product() -> None:
    v = parse("defender", "passive_with_sophos").values
    assert v["defender.mode"] == "passive" and v["defender.other_av_active"] is True
    assert v["av.product"] == "Sophos Anti-Virus" and v["av.realtime_enabled"] is True
    alone = parse("defender", "passive_alone").values
    assert alone["defender.other_av_active"] is False and alone["av.realtime_enabled"] is False


def test_defender_null_fields_and_stale_signatures() -> None:
    f = parse("defender", "server2016_null_fields_stale")
    v = f.values
    assert v["defender.mode"] is None and v["defender.tamper_protected"] is None
    assert v["av.signature_age_days"] == 12.8 and v["av.realtime_enabled"] is True
    assert "Security Center" not in f.errors.get("defender.other_av_active", "")


def test_server_without_defender() -> None:
    v = parse("defender", "server_not_installed").values
    assert v["defender.installed"] is False and v["av.installed"] is False
    cs = parse("defender", "server_crowdstrike_no_defender").values
    assert cs["av.installed"] and cs["av.product"] == "CrowdStrike Falcon"
    assert cs["av.uses_signatures"] is False and cs["av.realtime_enabled"] is True


def test_defender_turned_off_by_another_product() -> None:
    f = parse("defender", "disabled_by_eset")
    assert f.values["defender.mode"] == "not running"
    assert f.values["av.product"] == "ESET Security" and f.values["av.realtime_enabled"] is True
    assert "not reported by Windows Security Center" in f.errors["av.signature_age_days"]


def test_firewall_profiles() -> None:
    v = parse("firewall", "all_on_defaults").values
    assert v["firewall.active"] is True and v["firewall.default_inbound"] == "drop"
    assert v["firewall.profiles"]["public"]["default_inbound"] == "block"
    off = parse("firewall", "public_off").values
    assert off["firewall.active"] is False and off["firewall.disabled_profiles"] == ["public"]
    allow = parse("firewall", "domain_allows_inbound_server").values
    assert allow["firewall.active"] is True and allow["firewall.default_inbound"] == "accept"
    third = parse("firewall", "third_party_eset")
    assert third.values["firewall.active"] is True and third.values["firewall.kind"] == "ESET Firewall"
    assert "cannot be read" in third.errors["firewall.default_inbound"]


def test_accounts_hardened_workstation() -> None:
    v = parse("accounts", "workstation_hardened").values
    assert v["accounts.admins"] == ["CORP\\Domain Admins", "PC042\\Administrator"]
    assert v["accounts.guest_enabled"] is False and v["accounts.enabled_users"] == ["alice"]
    assert v["password.min_length"] == 12 and v["password.lockout_threshold"] == 10
    assert v["password.max_age_days"] is None and v["uac.prompts_admin"] is True


def test_accounts_orphaned_sid_and_german_output() -> None:
    v = parse("accounts", "orphaned_sid_german").values
    assert v["accounts.admin_groups"] == {"Administratoren": ["BUERO-PC3\\Administrator",
                                                              "BUERO-PC3\\chef"]}
    assert v["accounts.admins_unresolved"] == ["S-1-12-1-1845124735-1176832339-2461434284-3092215093"]
    assert v["accounts.guest_enabled"] is True  # "Gast", found by its RID 501
    assert v["accounts.password_not_required_users"] == ["Gast", "chef"]
    assert v["password.min_length"] == 0 and v["password.lockout_threshold"] == 0  # "Nie"
    assert v["password.history"] == 0 and v["password.max_age_days"] == 42
    assert v["uac.prompts_admin"] is False and v["uac.remote_token_filter_disabled"] is True


def test_accounts_domain_controller() -> None:
    v = parse("accounts", "domain_controller").values
    assert v["accounts.enabled_users"] == ["Administrator"]  # from Win32_UserAccount
    assert v["password.computer_role"] == "PRIMARY" and v["password.deny_list"] is True
    assert v["password.filters"] == ["AzureADPasswordProtectionDCAgent"]


def test_hardening() -> None:
    v = parse("hardening", "hardened_laptop").values
    assert v["autorun.disabled"] and v["smb.v1_enabled"] is False
    assert v["rdp.enabled"] is False and v["bitlocker.system_protected"] is True
    bad = parse("hardening", "server_defaults_smb1_rdp_no_nla").values
    assert bad["autorun.disabled"] is False and bad["smb.v1_enabled"] is True
    assert bad["rdp.enabled"] is True and bad["rdp.nla_required"] is False
    assert bad["bitlocker.available"] is False
    pol = parse("hardening", "policy_overrides_cim_bitlocker").values
    assert pol["rdp.enabled"] is True and pol["rdp.nla_required"] is True  # policy wins
    assert pol["smb.v1_enabled"] is False  # feature removed, server unreadable
    assert pol["bitlocker.system_protected"] is False
    assert [x["protection"] for x in pol["bitlocker.volumes"]] == ["off", "on"]


def test_backup_windows_server_backup() -> None:
    v = parse("backup", "wsb_ok").values
    assert v["backup.count"] == 1 and v["backup.last_success_at"] == "2026-11-21T23:00:41Z"
    failing = parse("backup", "wsb_failing").values
    repo = failing["backup.repositories"][0]
    assert repo["last_attempt_result"] == "failed (0x80070070)"
    assert failing["backup.last_success_age_days"] == 13.1


def test_backup_declared_and_unreadable() -> None:
    cfg = {"backups": [{"kind": "windows-server-backup", "name": "nightly", "isolation": "offline",
                        "restore_test": {"date": "2026-10-01", "evidence": "ticket 42"}}]}
    v = parse("backup", "wsb_ok", config=cfg).values
    assert v["backup.declared"] == 1 and v["backup.discovered"] == 0
    assert v["backup.restore_tested_at"] == "2026-10-01" and v["backup.isolated_copy"] is True
    denied = parse("backup", "wsb_access_denied")
    assert "permission" in denied.errors["backup.count"]
    missing = parse("backup", "none", config=cfg)
    assert "not installed" in missing.errors["backup.last_success_at"]


def test_backup_veeam_jobs() -> None:
    v = parse("backup", "veeam_br").values
    assert v["backup.count"] == 2 and v["backup.last_success_at"] == "2026-11-21T22:41:00Z"
    cfg = {"backups": [{"kind": "veeam", "name": "Offsite copy"}]}
    one = parse("backup", "veeam_br", config=cfg).values
    declared = one["backup.repositories"][0]
    assert declared["source"] == "declared" and declared["last_attempt_result"] == "failed"
    assert one["backup.count"] == 2  # the other job is still found


def test_defender_updater_comes_from_configuration_not_from_fresh_signatures() -> None:
    """Known wrong before: "updater configured" was "signatures not out of date", so a machine
    whose updates were switched off read as configured as long as its last signatures were
    fresh, and one with stale signatures read as having no updater at all."""
    base = doc("defender", "normal")
    v = parse("defender", "normal").values
    assert v["av.updater_configured"] is True  # Windows Update's automatic updates, by default
    off = json.loads(json.dumps(base))
    off["au_policy"] = {"NoAutoUpdate": 1, "AUOptions": None}
    f = parse("defender", stdout=json.dumps(off))
    assert f.values["av.signature_age_days"] == 0.0  # fresh today...
    assert f.values["av.updater_configured"] is False  # ...but nothing will bring tomorrow's
    off["preferences"]["value"]["update_interval"] = 4  # Defender's own interval: configured
    assert parse("defender", stdout=json.dumps(off)).values["av.updater_configured"] is True
    stale = json.loads(json.dumps(base))
    stale["mp"]["value"]["signatures_out_of_date"] = True
    assert parse("defender", stdout=json.dumps(stale)).values["av.updater_configured"] is True
    unknown = {k: v for k, v in base.items() if k not in ("preferences", "au_policy", "wu_service")}
    g = parse("defender", stdout=json.dumps(unknown))
    assert "av.updater_configured" not in g.values
    assert "Get-MpPreference" in g.errors["av.updater_configured"]


# ------------------------------------------------ public Get-MpComputerStatus outputs (SOURCE.md)


def _at(name: str) -> datetime:
    return datetime.fromisoformat(doc("defender", name)["collected_at"].replace("Z", "+00:00"))


def test_public_get_mpcomputerstatus_outputs() -> None:
    f = parse("defender", "public_msdocs_example", at=_at("public_msdocs_example"))
    v = f.values
    assert v["defender.mode"] == "normal" and v["av.signature_version"] == "1.377.418.0"
    assert v["av.engine_version"] == "1.1.19700.3" and v["av.signature_age_days"] == 0.0
    # RealTimeProtectionEnabled is not in the quoted part: unknown, never "off" or "on"
    assert "av.realtime_enabled" not in v and "did not report" in f.errors["av.realtime_enabled"]
    off = parse("defender", "public_writeup_realtime_off", at=_at("public_writeup_realtime_off"))
    assert off.values["av.realtime_enabled"] is False


def test_signatures_a_year_old_yet_not_out_of_date_mean_no_updater() -> None:
    """A real Get-MpComputerStatus: signatures 352 days old with DefenderSignaturesOutOfDate
    False. The updater used to be "not out of date", so this machine read as updated."""
    name = "public_writeup_352_days_not_out_of_date"
    f = parse("defender", name, at=_at(name))
    assert f.values["av.signature_age_days"] > 350
    assert f.values["defender.signatures_out_of_date"] is False
    assert "av.updater_configured" not in f.values  # nothing says what would update them
