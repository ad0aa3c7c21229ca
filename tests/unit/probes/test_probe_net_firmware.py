"""net.firmware: lifecycle lookups (tests/fixtures/net/firmware, derived from the shipped
catalogue) turned into facts at a fixed date; unknown products, versions and stale data are
errors, never values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from probes.base import RawSection
from probes.net import firmware

FIX = Path(__file__).parents[2] / "fixtures" / "net" / "firmware"
AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def facts(stem: str, max_age: int = 180, at: datetime = AT) -> tuple[dict[str, Any],
                                                                      dict[str, str]]:
    text = (FIX / f"{stem}.out").read_text()
    f = firmware.parse(RawSection("net.firmware", text, collected_at=at,
                                  config={"max_catalogue_age_days": max_age}))
    return f.values, f.errors


def test_old_routeros_is_unsupported_unpatched_and_predates_kev_entries() -> None:
    v, e = facts("routeros_6_40_7")
    assert set(e) <= set(firmware.HARDWARE)
    assert (v["firmware.product"], v["firmware.cycle"], v["firmware.supported"]) == (
        "routeros", "6.40", False)
    assert v["firmware.eol_date"] is None  # endoflife.date says ended, without a date
    assert v["firmware.latest_in_cycle"] == "6.40.9"
    assert v["firmware.newer_patch_available"] is True
    assert v["firmware.newer_patch_age_days"] > 3000
    assert v["firmware.kev_cves"] == ["CVE-2018-14847 (in KEV since 2021-12-01)",
                                      "CVE-2018-7445 (in KEV since 2022-09-08)"]
    assert v["lifecycle.snapshot_date"] == "2026-08-22" and v["lifecycle.catalogue_age_days"] == 92


def test_current_lts_routeros_is_supported_and_up_to_date() -> None:
    v, e = facts("routeros_7_21_5")
    assert set(e) <= set(firmware.HARDWARE)  # no sourced date for the RB5009's hardware
    assert v["firmware.supported"] is True and v["firmware.days_to_eol"] is None
    assert v["firmware.newer_patch_available"] is False
    assert v["firmware.newer_patch_age_days"] is None
    assert v["firmware.latest_release_date"] == "2026-07-06"
    assert v["firmware.latest_age_days"] == 139
    assert v["firmware.kev_cves"] == []
    assert v["firmware.lifecycle_source"] == "endoflife.date"


def test_ended_cycle_with_a_date_and_a_newer_patch() -> None:
    v, _ = facts("routeros_7_12_1")
    assert (v["firmware.eol_date"], v["firmware.supported"]) == ("2023-12-14", False)
    assert v["firmware.days_to_eol"] < 0
    assert v["firmware.latest_in_cycle"] == "7.12.2"
    assert v["firmware.newer_patch_age_days"] == (AT.date() - datetime(2023, 12, 20).date()).days


def test_no_patch_level_data_and_no_version_date_are_errors() -> None:
    v, e = facts("fortios_7_2_5")
    assert v["firmware.cycle"] == "7.2" and v["firmware.supported"] is False  # ended 2026-09-30
    assert "no patch-level data for fortios 7.2" in e["firmware.newer_patch_available"]
    assert "cannot tell whether fortios 7.2.5 predates" in e["firmware.kev_cves"]
    assert "CVE-2022-42475" in e["firmware.kev_cves"]


@pytest.mark.parametrize("stem, needle", [
    ("cisco_ios_15_0_2_se4", "version 15.0(2)SE4 of cisco-ios is not in the lifecycle catalogue"),
    ("routeros_9_9_unknown_version", "version 9.9 of routeros is not in the lifecycle catalogue"),
    ("unknown_device", "unknown device: sysDescr 'Acme WidgetOS"),
])
def test_what_the_catalogue_does_not_know_is_an_error(stem: str, needle: str) -> None:
    v, e = facts(stem)
    for name in ("firmware.supported", "firmware.newer_patch_available", "firmware.kev_cves",
                 "firmware.eol_date"):
        assert name not in v and needle in e[name], (name, e.get(name))


def test_ios_xe_version_maps_to_its_cycle() -> None:
    v, _ = facts("cisco_iosxe_16_12_04")
    assert (v["firmware.cycle"], v["firmware.eol_date"], v["firmware.supported"]) == (
        "16.12", "2023-07-31", False)


def test_hotfix_suffix_is_newer_than_the_plain_release() -> None:
    v, _ = facts("opnsense_20_7_8_4")
    assert v["firmware.latest_in_cycle"] == "20.7.8"
    assert v["firmware.newer_patch_available"] is False


def test_stale_catalogue_gives_errors_for_every_judgement() -> None:
    v, e = facts("routeros_7_21_5", max_age=30)
    assert v["firmware.cycle"] == "7.21"
    for name in ("firmware.supported", "firmware.newer_patch_available", "firmware.kev_cves",
                 "firmware.support_dates_exact"):
        assert "lifecycle data is stale (snapshot 2026-08-22, 92 days old)" in e[name]
    assert v["firmware.days_to_eol"] is None  # no end announced: nothing to count, no pass
    v, e = facts("routeros_9_9_unknown_version", max_age=30)
    assert "lifecycle data is stale" in e["firmware.supported"]


@pytest.mark.parametrize("a, b", [
    ("7.12", "7.12.1"), ("11.2.13", "11.2.13-h1"), ("20.7.8", "20.7.8_4"), ("6.9", "6.40"),
    ("15.0(2)SE4", "15.0(2)SE10"),
])
def test_version_order(a: str, b: str) -> None:
    assert firmware.version_key(a) < firmware.version_key(b)


def test_version_order_ignores_leading_zeros_and_v() -> None:
    assert firmware.version_key("16.09.03") == firmware.version_key("16.9.3")
    assert firmware.version_key("v7.2.5") == firmware.version_key("7.2.5")


def test_garbage_is_an_error() -> None:
    f = firmware.parse(RawSection("net.firmware", "{not json", collected_at=AT))
    assert "could not parse" in f.errors["firmware.supported"]
    assert json  # the module is used above


# ---------------------------------------------------------------------------------------------
# issue 13 §4: hardware end of support, the device overlay's classes, the local overlay
# ---------------------------------------------------------------------------------------------

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)  # the injected "now" of these cases


def test_regenerated_lookups_match_the_fixtures() -> None:
    """The fixtures are firmware_lookup() outputs of the shipped data: still current."""
    from tests.fixtures.net import firmware_lookup

    for stem in firmware_lookup.CASES:
        assert (FIX / f"{stem}.out").read_text() == firmware_lookup.render(stem), stem


def test_a_catalyst_2960_plus_past_its_last_day_of_support_fails() -> None:
    v, e = facts("cisco_c2960plus_15_0_2_se11", at=NOW)
    assert (v["hardware.family"], v["hardware.last_support_date"]) == ("Catalyst 2960-Plus",
                                                                     "2026-10-31")
    assert v["hardware.supported"] is False and v["hardware.days_to_end_of_support"] == -37
    assert v["hardware.lifecycle_class"] == "secondary"  # an unmerged endoflife.date PR ...
    assert "refs/pull/4708/head" in v["hardware.lifecycle_source"]
    assert "eos-eol-notice-c51-744423" in v["hardware.lifecycle_source"]  # ... citing Cisco
    # no release on hardware past its last day of support gets fixes, whatever it runs
    assert v["firmware.supported"] is False
    assert "past its last day of support, 2026-10-31" in v["firmware.support_basis"]
    assert "secondary" in e["hardware.support_dates_exact"]
    assert v["lifecycle.undated"] == []  # dated: as a failure


def test_a_secondary_date_still_ahead_never_passes() -> None:
    before = datetime(2026, 6, 1, tzinfo=UTC)
    v, e = facts("cisco_c2960plus_15_0_2_se11", at=before)
    assert "hardware.supported" not in v
    assert "supported until 2026-10-31 per only a secondary source" in e["hardware.supported"]
    assert v["hardware.days_to_end_of_support"] == 152  # the number, for the report ...
    assert "never a pass" in e["hardware.support_dates_exact"]  # ... which cannot pass PM-FWM-002
    assert "firmware.supported" not in v  # 15.0(2)SE has no sourced date either
    kinds = [u["kind"] for u in v["lifecycle.undated"]]
    assert kinds == ["firmware", "hardware"]
    v, e = facts("cisco_isr_15_9_3_m4", at=NOW)  # 15.9(3)M: fixes until 2029 per a PR only
    assert "firmware.supported" not in v and "2029-07-27" in e["firmware.supported"]
    assert v["firmware.days_to_eol"] > 900 and "firmware.support_dates_exact" in e


def test_a_secondary_date_that_has_passed_proves_a_failure() -> None:
    v, _ = facts("cisco_iosv_15_8_3_m2", at=NOW)  # 15.8(3)M: security fixes ended 2022-12-14
    assert (v["firmware.cycle"], v["firmware.eol_date"], v["firmware.supported"]) == (
        "15.8(3)M", "2022-12-14", False)
    assert v["firmware.lifecycle_class"] == "secondary"
    v, e = facts("cisco_c3850_iosxe_03_06_05e", at=NOW)  # 3850: last day 2025-10-31
    assert v["hardware.supported"] is False and v["hardware.family"] == "Catalyst 3850"
    assert "version 03.06.05E of cisco-ios-xe is not in the lifecycle catalogue" in e[
        "firmware.cycle"]


def test_a_catalyst_2960_on_12_2_55_se12_is_undated_and_says_what_to_ask() -> None:
    v, e = facts("cisco_c2960_12_2_55_se12", at=NOW)
    assert (v["firmware.product"], v["firmware.version"]) == ("cisco-ios", "12.2(55)SE12")
    assert "version 12.2(55)SE12 of cisco-ios is not in the lifecycle catalogue" in e[
        "firmware.supported"]
    assert "WS-C2960-24TT-L has no sourced last day of support" in e["hardware.supported"]
    fw, hw = v["lifecycle.undated"]
    assert (fw["kind"], fw["model"], fw["version"]) == ("firmware", "WS-C2960-24TT-L",
                                                        "12.2(55)SE12")
    assert "Cisco's end-of-life bulletin for Cisco IOS 12.2(55)SE" in fw["ask"]
    assert "End of Vulnerability/Security Support" in fw["ask"]
    assert "Last Date of Support" in hw["ask"] and "WS-C2960-24TT-L" in hw["ask"]
    assert fw["missing"] == "the end of security fixes for Cisco IOS 12.2(55)SE"
    assert hw["missing"] == "the last day of support for the Cisco WS-C2960-24TT-L"
    assert "3 years from its End-of-Sale date" in fw["policy"]  # Cisco's policy, shared data
    assert "blogs.cisco.com" in fw["policy"]  # ... with its source


def test_a_local_overlay_row_with_its_source_dates_it() -> None:
    v, _ = facts("cisco_c2960_12_2_55_se12_local", at=NOW)
    assert (v["firmware.cycle"], v["firmware.eol_date"], v["firmware.supported"]) == (
        "12.2(55)SE", "2019-01-31", False)
    assert v["firmware.lifecycle_class"] == "local"
    assert v["firmware.lifecycle_source"] == (
        "https://provider.example/bulletins/cisco-ios-12.2SE-end-of-life.pdf (local overlay, "
        "inventory.yaml: lifecycle[0])")
    assert v["hardware.supported"] is False and v["hardware.lifecycle_class"] == "local"
    assert v["hardware.support_dates_exact"] is True
    assert v["lifecycle.undated"] == []


def test_pfsense_release_list_proves_old_versions_unsupported_and_never_passes_new_ones() -> None:
    v, e = facts("pfsense_2_4_4_p2", at=NOW)
    assert v["firmware.supported"] is False  # "unsupported" in Netgate's list of 2020-07-09
    assert "listed as unsupported on 2020-07-09" in v["firmware.support_basis"]
    assert v["firmware.newer_patch_available"] is True
    assert v["firmware.newer_patch_age_days"] == (NOW.date() - datetime(2019, 5, 20).date()).days
    assert "ends 2020-07-09" in e["firmware.patch_dates_exact"]
    v, e = facts("pfsense_2_4_5_p1", at=NOW)
    assert "firmware.supported" not in v and "release dates only" in e["firmware.supported"]
    assert "no newer pfsense patch is known, but" in e["firmware.newer_patch_available"]
    assert v["lifecycle.undated"][0]["kind"] == "firmware"


def test_sophos_xg_hardware_from_a_primary_source() -> None:
    v, e = facts("sophos_sfos_19_5_1_xg86", at=NOW)
    assert (v["hardware.supported"], v["hardware.lifecycle_class"]) == (False, "primary")
    assert v["hardware.support_dates_exact"] is True
    assert v["firmware.supported"] is False  # both: 19.5 ended 2025-04-30, and the XG 86
    v, e = facts("sophos_sfos_21_0_1_xgs", at=NOW)
    assert "no end announced per only a secondary source" in e["firmware.supported"]
    assert "XGS 2100 has no sourced last day of support" in e["hardware.supported"]
