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

FIX = Path(__file__).parents[1] / "fixtures" / "net" / "firmware"
AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def facts(stem: str, max_age: int = 180, at: datetime = AT) -> tuple[dict[str, Any],
                                                                      dict[str, str]]:
    text = (FIX / f"{stem}.out").read_text()
    f = firmware.parse(RawSection("net.firmware", text, collected_at=at,
                                  config={"max_catalogue_age_days": max_age}))
    return f.values, f.errors


def test_old_routeros_is_unsupported_unpatched_and_predates_kev_entries() -> None:
    v, e = facts("routeros_6_40_7")
    assert not e
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
    assert not e
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
    ("cisco_ios_15_0_2_se4", "cisco-ios is not in the lifecycle catalogue"),
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
                 "firmware.days_to_eol"):
        assert e[name] == "lifecycle data is stale (snapshot 2026-08-22, 92 days old)"
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
