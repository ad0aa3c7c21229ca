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
