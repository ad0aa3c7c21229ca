"""Parser bugs that public samples revealed (issue 13 §3, follow-up), each pinned on the smallest
recorded output that shows it. The samples themselves are tested in test_public_samples_*.py."""

from __future__ import annotations

import json

from tests.unit.probes._win import doc, parse

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
