"""Windows sections on public outputs (issue 13 §3): cmdlet, registry and `net accounts` outputs
that real machines printed, transcribed into each section's JSON (tests/fixtures/windows/SOURCE.md,
"Public outputs transcribed"). Reads a source does not show are error records, so each test
asserts what the source shows and that nothing it does not show turns into a value."""

from __future__ import annotations

from datetime import datetime

from probes.base import Facts
from tests.unit.probes._win import doc, parse

NOT_SHOWN = "not shown in the public output"


def _parse(topic: str, name: str) -> Facts:
    at = datetime.fromisoformat(doc(topic, name)["collected_at"].replace("Z", "+00:00"))
    return parse(topic, name, at=at)


# ----------------------------------------------------------------------------------- windows.os


def test_os_registry_dumps_of_real_machines() -> None:
    cases = {
        # name: (build, ubr, build_full, edition, installation type, version_id)
        "public_server2022_core_reg": (
            20348,
            2113,
            "20348.2113",
            "ServerStandard",
            "Server Core",
            "21H2",
        ),
        "public_server2016_reg": (14393, 7876, "14393.7876", "ServerStandard", "Server", "1607"),
        "public_server2025_core_reg": (
            26100,
            4349,
            "26100.4349",
            "ServerDatacenter",
            "Server Core",
            "24H2",
        ),
        "public_win10_1703_msdocs_reg": (15063, 726, "15063.726", "Enterprise", "Client", "1703"),
        "public_win10_1803_reg": (17134, 285, "17134.285", "Professional", "Client", "1803"),
        "public_win10_21h2_reg": (19044, 3086, "19044.3086", "Professional", "Client", "21H2"),
        "public_win11_25h2_noubr_reg": (26200, None, None, "Professional", "Client", "25H2"),
    }
    for name, (build, ubr, full, edition, itype, vid) in cases.items():
        f = _parse("os", name)
        v = f.values
        got = (
            v["os.build"],
            v["os.ubr"],
            v["os.build_full"],
            v["os.edition"],
            v["os.installation_type"],
            v["os.version_id"],
        )
        assert got == (build, ubr, full, edition, itype, vid), name
        # Win32_OperatingSystem is not in these sources: no name, no server/workstation guess
        assert "os.name" not in v and NOT_SHOWN in f.errors["os.id"], name
        assert "os.product_type" not in v and "os.arch" not in v, name


def test_os_win32_operatingsystem_of_a_real_machine() -> None:
    f = _parse("os", "public_win11_enterprise_22621_cim")
    v = f.values
    assert v["os.name"] == "Microsoft Windows 11 Enterprise" and v["os.build"] == 22621
    assert v["os.version"] == "10.0.22621" and v["os.product_type"] == "workstation"
    assert v["os.id"] == "windows" and v["os.boot_time"] == "2023-03-08T22:19:03Z"
    assert v["os.uptime_days"] == 3.83 and v["os.install_date"] == "2022-09-21T05:56:02Z"
    assert NOT_SHOWN in f.errors["os.edition"] and NOT_SHOWN in f.errors["os.hostname"]


def test_os_architecture_unreported_is_an_error_not_null() -> None:
    f = _parse("os", "public_win11_enterprise_22621_cim")
    assert "os.arch" not in f.values and "PROCESSOR_ARCHITECTURE" in f.errors["os.arch"]


# ----------------------------------------------------------------------------- windows.defender


def test_defender_not_running_reports_no_versions() -> None:
    """Microsoft's own "Not running" example: engine and signatures 0.0.0.0, age 4294967295.
    0.0.0.0 is "nothing loaded", never a version a rule could compare."""
    f = _parse("defender", "public_msdocs_not_running")
    v = f.values
    assert v["defender.mode"] == "not running" and v["defender.realtime_enabled"] is False
    defender = v["av.products"][0]
    assert defender["realtime_enabled"] is False
    assert defender["signature_version"] is None and defender["engine_version"] is None
    assert "no signature update date" in defender["errors"]["signature_age_days"]
    assert v["defender.tamper_protected"] is False
    # Defender does not protect, and the place another product would show was not read
    assert "protecting product is unknown" in f.errors["av.realtime_enabled"]


def test_defender_real_signature_dates_and_ages() -> None:
    cases = {
        "public_lab_278_days": ("1.409.717.0", "2024-05-06T01:09:46Z", 278.9),
        "public_msdocs_2024_example": ("1.413.102.0", "2024-06-04T08:06:27Z", 1.0),
        "public_htb_2022": ("1.361.414.0", "2022-03-21T04:06:16Z", 0.3),
        "public_msdocs_2023_ddmm": ("1.397.1940.0", "2023-10-02T12:11:37Z", 0.2),
    }
    for name, (version, date, age) in cases.items():
        v = _parse("defender", name).values
        assert v["defender.mode"] == "normal", name
        defender = v["av.products"][0]
        assert (defender["signature_version"], defender["signature_date"]) == (version, date), name
        assert defender["signature_age_days"] == age, name
    lab = _parse("defender", "public_lab_278_days").values
    assert (
        lab["av.signature_age_days"] == 278.9
        and lab["av.realtime_enabled"] is True
        and lab["av.tamper_protection"] is True
    )
    assert lab["defender.signatures_out_of_date"] is False  # Defender's word, 278 days on
    assert lab["av.last_scan_at"] == "2024-05-06T06:03:03Z"


def test_defender_unread_service_and_edition_are_errors_not_false() -> None:
    """The WinDefend service and the product type were not read: "the service is stopped" and
    "no other anti-virus" would be guesses (they were, before)."""
    f = _parse("defender", "public_lab_278_days")
    assert "av.daemon_running" not in f.values and NOT_SHOWN in f.errors["av.daemon_running"]
    assert "defender.other_av_active" not in f.values
    assert "edition is unknown" in f.errors["defender.other_av_active"]


# ------------------------------------------------------------------------------- windows.backup


def test_backup_windows_server_backup_summaries() -> None:
    v = _parse("backup", "public_wsb_server2022_101_versions").values
    repo = v["backup.repositories"][0]
    assert v["backup.last_success_at"] == "2024-03-15T11:16:38Z"
    assert repo["snapshots"] == 101 and repo["last_attempt_result"] == "success"
    assert repo["repository"] == "Toothle 2023_11_18 13:54 DISK_01"
    fr = _parse("backup", "public_wsb_fr_device_missing").values
    repo = fr["backup.repositories"][0]
    # LastBackupResultHR is a UInt32 (2155348165): the failure code reads as Windows writes it
    assert repo["last_attempt_result"] == "failed (0x807800C5)"
    assert repo["last_attempt_at"] == "2026-03-11T01:12:26Z"
    assert fr["backup.last_success_at"] == "2026-03-10T20:16:00Z"


# ------------------------------------------------------------------------ windows.patch_history


def test_patch_history_from_real_hotfix_lists() -> None:
    cases = {
        # name: (last install, oldest, runs in 365 days)
        "public_msdocs_gethotfix": ("2019-05-16T00:00:00Z", "2019-01-22T00:00:00Z", 3),
        "public_es_co_gethotfix": ("2020-02-10T00:00:00Z", "2019-09-21T00:00:00Z", 6),
        "public_es_security_only": ("2020-03-13T00:00:00Z", "2019-09-18T00:00:00Z", 9),
        "public_ja_qfe": ("2020-06-12T00:00:00Z", "2020-02-14T00:00:00Z", 5),
        "public_pt_br_gethotfix": ("2020-02-12T00:00:00Z", "2019-01-28T00:00:00Z", 8),
    }
    for name, (last, oldest, runs) in cases.items():
        v = _parse("patch_history", name).values
        assert v["patch.source"] == "hotfix", name
        assert (v["patch.last_install_at"], v["patch.history_since"]) == (last, oldest), name
        assert v["patch.runs_365d"] == runs, name


# ------------------------------------------------------------------------------ windows.accounts


def test_net_accounts_outputs_of_real_machines() -> None:
    cases = {
        # name: min len, max age, min age, history, threshold, duration, window, role
        "public_net_accounts_nyffenegger": (0, 42, 0, 0, 0, 30, 30, "WORKSTATION"),
        "public_net_accounts_2003_primary": (0, 42, 0, 18, 0, 30, 30, "PRIMARY"),
        "public_net_accounts_thm_unlimited": (0, None, 0, 0, 0, 30, 30, "PRIMARY"),
        "public_net_accounts_htb_server": (8, None, 1, 24, 5, 30, 30, "SERVER"),
        "public_net_accounts_lockout_never": (14, 45, 1, 24, 5, None, 5, "WORKSTATION"),
    }
    names = (
        "password.min_length",
        "password.max_age_days",
        "password.min_age_days",
        "password.history",
        "password.lockout_threshold",
        "password.lockout_duration_minutes",
        "password.lockout_window_minutes",
        "password.computer_role",
    )
    for name, expected in cases.items():
        v = _parse("accounts", name).values
        assert tuple(v[n] for n in names) == expected, name


# ---------------------------------------------------------------- windows.hardening and firewall


def test_bitlocker_volumes_of_real_machines() -> None:
    v = _parse("hardening", "public_msdocs_bitlocker").values
    assert v["bitlocker.system_protected"] is True
    assert [(x["mount"], x["protection"], x["status"]) for x in v["bitlocker.volumes"]] == [
        ("C:", "on", "FullyEncrypted"),
        ("E:", "off", "FullyDecrypted"),
    ]
    dell = _parse("hardening", "public_bitlocker_dell7390").values
    assert dell["bitlocker.system_protected"] is True
    assert dell["bitlocker.volumes"][0]["method"] == "XtsAes128"


def test_firewall_all_profiles_turned_off() -> None:
    f = _parse("firewall", "public_all_profiles_disabled")
    v = f.values
    assert v["firewall.active"] is False and v["firewall.default_inbound"] == "accept"
    assert v["firewall.disabled_profiles"] == ["domain", "private", "public"]
    # the edition was not read: whether a third-party firewall is registered is unknown
    assert "edition is unknown" in f.errors["firewall.third_party"]
