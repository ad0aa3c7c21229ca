"""Parser bugs that public samples revealed (issue 13 §3, follow-up), each pinned on the smallest
recorded output that shows it. The samples themselves are tested in test_public_samples_*.py."""

from __future__ import annotations

import json

from probes import sections
from probes.base import Facts, RawSection
from tests.unit.probes._win import AT, doc, parse

CIM_FAILED = {"error": "WMI: Invalid class ", "error_type": "CimException"}


def test_firewall_service_unread_is_unknown_not_off() -> None:
    """Every profile on, the mpssvc read failed: whether the firewall is in force is unknown.
    It used to read as "not in force" (active false, inbound accepted)."""
    d = doc("firewall", "all_on_defaults")
    d["service"] = CIM_FAILED
    f = parse("firewall", stdout=json.dumps(d))
    for name in ("firewall.active", "firewall.default_inbound", "firewall.detail"):
        assert name not in f.values
        assert "in force is unknown" in f.errors[name] and "Invalid class" in f.errors[name]
    assert f.values["firewall.domain_enabled"] is True  # what was read is still reported
    # a profile that is off is off whatever the service does
    d["profiles"]["value"][2]["enabled"] = "False"
    off = parse("firewall", stdout=json.dumps(d)).values
    assert off["firewall.active"] is False and off["firewall.disabled_profiles"] == ["public"]
    # and the service read that works still decides as before
    on = parse("firewall", "all_on_defaults").values
    assert on["firewall.active"] is True and on["firewall.default_inbound"] == "drop"


def test_updates_policy_off_decides_without_the_pause_read() -> None:
    """AUOptions 3 (notify before installing) turns automatic installation off whatever a pause
    says; the pause key unread used to make auto_configured an error too."""
    d = doc("updates", "wsus_unrated_auto_off")
    d["ux"] = {"error": "Requested registry access is not allowed.",
               "error_type": "System.Security.SecurityException"}
    f = parse("updates", stdout=json.dumps(d))
    assert f.values["updates.auto_configured"] is False
    assert f.values["updates.auto_detail"] == (
        "policy AUOptions=3: download automatically, notify before installing")
    assert "registry access is not allowed" in f.errors["updates.paused_until"]
    # NoAutoUpdate=1 likewise
    d["policy_au"] = {**d["policy_au"], "NoAutoUpdate": 1, "AUOptions": 4}
    f = parse("updates", stdout=json.dumps(d))
    assert f.values["updates.auto_detail"] == "policy NoAutoUpdate=1: automatic updates are off"
    # a policy that installs automatically (4) could still be paused: unknown, never "on"
    d["policy_au"]["NoAutoUpdate"] = 0
    f = parse("updates", stdout=json.dumps(d))
    assert "updates.auto_configured" not in f.values
    assert "registry access is not allowed" in f.errors["updates.auto_configured"]


def test_apt_run_that_ended_with_an_error_is_not_a_patch_run() -> None:
    """apt's history says "Error: Sub-process /usr/bin/dpkg returned an error code (1)" for a run
    that did not complete (plaso's apt_history.log shows one): like a failed dnf transaction it
    proves nothing, and used to count as a patch run when it had an Upgrade line."""
    out = (
        "@@block tz\n+0000\n\n@@rc 0\n@@block apt_history:history.log\n"
        "Start-Date: 2026-11-20  06:10:00\nCommandline: apt-get -y upgrade\nUpgrade-Count: 3\n"
        "Error: Sub-process /usr/bin/dpkg returned an error code (1)\n"
        "End-Date: 2026-11-20  06:11:00\n"
        "Start-Date: 2026-10-01  06:10:00\nCommandline: apt-get -y upgrade\nUpgrade-Count: 1\n"
        "End-Date: 2026-10-01  06:10:30\n\n@@rc 0\n@@block end\n\n@@rc 0\n"
    )
    f = _patch(out)
    v = f.values
    assert v["patch.last_upgrade_at"] == "2026-10-01T06:10:00Z"
    assert v["patch.runs_30d"] == 0 and v["patch.runs_90d"] == 1
    failed = v["patch.recent"][0]
    assert failed["counted"] is False and failed["upgraded"] == 3
    assert failed["why"] == (
        "ended with an error (Sub-process /usr/bin/dpkg returned an error code (1)): not counted")


def _patch(stdout: str) -> Facts:
    section = sections()["posix.patch_history"]
    return section.parse(RawSection(name=section.name, stdout=stdout, collected_at=AT, config={}))


def test_updates_source_unknown_when_the_policy_is_unread() -> None:
    """With the WindowsUpdate policy keys unread, WSUS or Windows Update is unknown; it used to
    read as "windows-update" (found with a public AutoUpdate.Results sample that shows no
    policy)."""
    d = doc("updates", "wsus_unrated_auto_off")
    d["policy_wu"] = {"error": "Requested registry access is not allowed.",
                      "error_type": "System.Security.SecurityException"}
    f = parse("updates", stdout=json.dumps(d))
    assert "updates.auto_tool" not in f.values
    assert f.errors["updates.auto_tool"] == (
        "Windows Update or WSUS unknown: Windows Update policy: Requested registry access is "
        "not allowed.")
    assert all(p["source"] is None for p in f.values["updates.pending"])
    # read, the same policy says WSUS, as before
    whole = parse("updates", "wsus_unrated_auto_off").values
    assert whole["updates.auto_tool"] == "wsus"
    assert {p["source"] for p in whole["updates.pending"]} == {"wsus"}
