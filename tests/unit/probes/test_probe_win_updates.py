"""windows.updates and windows.patch_history on recorded outputs (tests/fixtures/windows)."""

from __future__ import annotations

import json

from probes.windows._json import qfe_date
from tests.unit.probes._win import doc, parse, text


def test_pending_security_updates_dated_by_release() -> None:
    f = parse("updates", "win11_pending_security")
    v = f.values
    # the Defender definition update is left out; MSRT (no severity, not security) is pending
    assert v["updates.pending_count"] == 3 and v["updates.security_count"] == 2
    assert v["updates.security_packages"] == ["KB5066793", "KB5068001"]
    assert v["updates.security_age_basis"] == "release-date"
    assert v["updates.security_since"] == "2026-10-14T17:00:00Z"
    assert v["updates.security_age_days"] == 38.3
    cu = next(p for p in v["updates.pending"] if p["kb"] == ["KB5066793"])
    assert cu["severity"] == "critical" and cu["security"] and cu["issued"] == "2026-10-14T17:00:00Z"
    assert cu["cves"] == ["CVE-2026-40001", "CVE-2026-40017"]
    assert v["updates.reboot_required"] is True
    assert "pending file renames" in v["updates.reboot_packages"]
    assert v["updates.auto_configured"] is True and v["updates.auto_timer_enabled"] is True
    assert v["updates.metadata_date"] == "2026-11-21T19:02:33Z"


def test_no_pending_updates() -> None:
    v = parse("updates", "win11_none_pending").values
    assert v["updates.pending_count"] == 0 and v["updates.security_count"] == 0
    assert v["updates.security_age_days"] == 0.0 and v["updates.security_age_basis"] is None
    assert v["updates.reboot_required"] is False  # pending file renames alone are not updates


def test_wua_search_timeout_is_an_error_not_nothing_pending() -> None:
    f = parse("updates", "wua_search_timeout")
    for name in ("updates.security_count", "updates.security_age_days", "updates.pending_count"):
        assert name not in f.values
        assert "timed out" in f.errors[name]
    assert f.values["updates.auto_configured"] is True  # the rest is still collected


def test_unrated_security_update_is_in_scope_moderate_is_not() -> None:
    v = parse("updates", "wsus_unrated_auto_off").values
    assert v["updates.security_count"] == 2
    # the Moderate one (2026-09-09) is older, but only the unrated one counts for the age
    assert v["updates.security_since"] == "2026-10-30T16:30:00Z"
    assert v["updates.auto_tool"] == "wsus" and v["updates.auto_configured"] is False
    assert "AUOptions=3" in v["updates.auto_detail"]


def test_server_without_policy_uses_the_agent_setting() -> None:
    v = parse("updates", "server_no_policy_scheduled").values
    assert v["updates.auto_configured"] is True and "NotificationLevel=4" in v["updates.auto_detail"]
    d = doc("updates", "server_no_policy_scheduled")
    d["agent"]["value"]["notification_level"] = 3
    v2 = parse("updates", stdout=json.dumps(d)).values
    assert v2["updates.auto_configured"] is False


def test_failed_search_and_pause() -> None:
    f = parse("updates", "paused_search_failed")
    assert "search failed" in f.errors["updates.security_count"]
    assert f.values["updates.auto_configured"] is False
    assert f.values["updates.paused_until"] == "2026-12-20T10:00:00Z"
    assert "0x8024001E" in f.errors["updates.metadata_date"]


def test_search_with_errors_and_undated_update() -> None:
    d = doc("updates", "win11_pending_security")
    d["search"]["value"]["result_code"] = 3
    assert "incomplete" in parse("updates", stdout=json.dumps(d)).errors["updates.security_count"]
    d["search"]["value"]["result_code"] = 2
    d["search"]["value"]["updates"][1]["released"] = None
    f = parse("updates", stdout=json.dumps(d))
    assert f.errors["updates.security_age_days"].startswith("age unknown")
    assert f.values["updates.security_count"] == 2


def test_windows_powershell_date_form_is_read() -> None:
    d = doc("updates", "win11_none_pending")
    d["agent"]["value"]["last_search_success"] = "/Date(1795287753000)/"
    v = parse("updates", stdout=json.dumps(d)).values
    assert v["updates.metadata_date"] == "2026-11-21T19:02:33Z"


def test_patch_history_from_the_update_agent() -> None:
    v = parse("patch_history", "wua_history").values
    assert v["patch.source"] == "wua-history"
    assert v["patch.last_install_at"] == "2026-11-12T03:04:05Z"  # not the signature update
    assert (v["patch.runs_30d"], v["patch.runs_90d"], v["patch.runs_365d"]) == (1, 3, 4)
    assert v["patch.recent"][0]["installed"] == 2  # two updates that day, one run


def test_patch_history_from_hot_fixes_on_a_german_host() -> None:
    # InstalledOn is month/day/year on every locale (WMI's text, and PowerShell's [string] of its
    # own InstalledOn DateTime): the host's dd.MM.yyyy culture plays no part
    v = parse("patch_history", "qfe_german_dates").values
    assert v["patch.source"] == "hotfix"
    assert v["patch.last_install_at"] == "2026-11-12T00:00:00Z"  # 11/12/2026 is 12 November
    assert v["patch.history_since"] == "2022-04-05T00:00:00Z"  # 4/5/2022 is 5 April
    v2 = parse("patch_history", "qfe_us_and_filetime").values
    assert v2["patch.last_install_at"] == "2026-11-13T00:00:00Z"
    assert v2["patch.history_since"] == "2017-04-11T00:00:00Z"  # 4/11/2017 is 11 April


def test_hotfix_dates_are_invariant_month_day_year() -> None:
    def day(text: str) -> str | None:
        d = qfe_date(text)
        return None if d is None else d.date().isoformat()

    assert day("3/4/2026") == "2026-03-04"  # 4 March, whatever the host's culture
    assert day("03/04/2026 00:00:00") == "2026-03-04"  # PowerShell's [string] of a DateTime
    assert day("10/15/2026") == "2026-10-15"
    assert day("20260304") == "2026-03-04"
    assert day("2026-03-04") == "2026-03-04"
    assert day("01d2b9c1a8f3e000") is not None and day("01d2b9c1a8f3e000").startswith("2017")
    # a date in some locale's own order is unknown, never a guess
    assert day("15.10.2026") is None and day("15/10/2026") is None
    assert day("") is None and day("n/a") is None


def test_an_en_gb_host_does_not_turn_november_into_december() -> None:
    """Known wrong before: a hot fix of 12 November on an en-GB host (short date dd/MM/yyyy)
    read as 11 December, because InstalledOn was read in the host's culture."""
    doc = json.loads(text("patch_history", "wua_history"))
    doc["history"] = {"error": "Exception from HRESULT: 0x80240FFF", "error_type": "COMException"}
    v = parse("patch_history", stdout=json.dumps(doc)).values
    assert v["patch.source"] == "hotfix"
    assert v["patch.last_install_at"] == "2026-11-12T00:00:00Z"
