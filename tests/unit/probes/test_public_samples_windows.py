"""windows.firewall and windows.hardening on cmdlet and registry outputs that real machines printed
(issue 13 §3, follow-up), transcribed into each section's JSON (tests/fixtures/windows/SOURCE.md,
"Public outputs transcribed, third round"). Reads a source does not show are error records: each
test asserts what the source shows and that nothing it does not show becomes a value."""

from __future__ import annotations

import json
from datetime import datetime

from probes.base import Facts
from tests.unit.probes._win import doc, parse

NOT_SHOWN = "not shown in the public output"


def _parse(topic: str, name: str) -> Facts:
    at = datetime.fromisoformat(doc(topic, name)["collected_at"].replace("Z", "+00:00"))
    return parse(topic, name, at=at)


# --------------------------------------------------------------------------- windows.firewall


def test_firewall_all_on_with_notconfigured_actions() -> None:
    """A domain controller's Get-NetFirewallProfile: every profile Enabled True, every action
    NotConfigured, which is Windows' default (inbound blocked, outbound allowed)."""
    f = _parse("firewall", "public_dc_all_on_notconfigured")
    v = f.values
    assert v["firewall.disabled_profiles"] == []
    assert all(v[f"firewall.{p}_enabled"] is True for p in ("domain", "private", "public"))
    assert v["firewall.profiles"]["public"] == {
        "enabled": True, "default_inbound": "block", "default_outbound": "allow"}
    # the service that enforces the profiles is not in the source: in force or not is unknown
    for name in ("firewall.active", "firewall.default_inbound", "firewall.detail"):
        assert name not in v and "in force is unknown" in f.errors[name]
        assert NOT_SHOWN in f.errors[name]


def test_firewall_domain_profile_allows_inbound() -> None:
    """A Russian admin guide's SRV2.SPB.wse after `Set-NetFirewallProfile -Profile Domain
    -DefaultInboundAction Allow -DefaultOutboundAction Allow`: the Domain profile lets inbound
    connections in; the two others keep the default."""
    v = _parse("firewall", "public_srv2_domain_inbound_allow").values
    assert v["firewall.profiles"]["domain"] == {
        "enabled": True, "default_inbound": "allow", "default_outbound": "allow"}
    assert v["firewall.profiles"]["private"]["default_inbound"] == "block"
    assert v["firewall.disabled_profiles"] == []


def test_firewall_blocking_outbound_too() -> None:
    """An HTB write-up (Fighter): every profile on, inbound and outbound Block."""
    v = _parse("firewall", "public_htb_fighter_block_both").values
    assert {p: (x["default_inbound"], x["default_outbound"])
            for p, x in v["firewall.profiles"].items()} == {
        "domain": ("block", "block"), "private": ("block", "block"), "public": ("block", "block")}


def test_firewall_every_profile_off() -> None:
    """A Chinese PowerShell notes page: Domain, Private and Public Enabled False."""
    f = _parse("firewall", "public_cn_all_profiles_off")
    v = f.values
    assert v["firewall.active"] is False and v["firewall.default_inbound"] == "accept"
    assert v["firewall.disabled_profiles"] == ["domain", "private", "public"]
    assert v["firewall.detail"] == (
        "Windows Defender Firewall not in force: profiles off: domain, private, public")
    assert "edition is unknown" in f.errors["firewall.third_party"]


# -------------------------------------------------------------------------- windows.hardening


def test_smb_server_configuration_from_the_reference() -> None:
    """Microsoft's Get-SmbServerConfiguration reference, Example 1: EnableSMB1Protocol True."""
    f = _parse("hardening", "public_msdocs_smb_server_smb1_on")
    v = f.values
    assert v["smb.v1_server_enabled"] is True and v["smb.v1_enabled"] is True
    assert NOT_SHOWN in f.errors["smb.v1_feature"]
    assert NOT_SHOWN in f.errors["smb.v1_client_enabled"]
    assert NOT_SHOWN in f.errors["bitlocker.system_protected"]


def test_bitlocker_outputs_of_two_more_machines() -> None:
    """A status script's sample (WIN10-BOOK-2: C: FullyDecrypted, Off, 0 %, method None) and
    Microsoft Learn's BitLocker operations guide (DESKTOP: C: FullyEncrypted, On, XtsAes128)."""
    off = _parse("hardening", "public_win10_book_bitlocker_off").values
    assert off["bitlocker.system_protected"] is False
    assert off["bitlocker.volumes"] == [{
        "mount": "C:", "type": "OperatingSystem", "protection": "off",
        "status": "FullyDecrypted", "percent": 0.0, "method": "None"}]
    on = _parse("hardening", "public_mslearn_bitlocker_desktop").values
    assert on["bitlocker.system_protected"] is True
    assert on["bitlocker.volumes"][0]["method"] == "XtsAes128"


def test_rdp_listener_values_without_the_policy_key() -> None:
    """An RDP troubleshooting write-up: fDenyTSConnections 0, UserAuthentication 1, SecurityLayer
    2, port 3389. The Group Policy key, which overrides the first three, is not shown: none of
    them is guessed from the local values. No policy sets the port: it is the listener's
    PortNumber, read (before: an error, for want of the policy key)."""
    f = _parse("hardening", "public_rdp_troubleshoot_nla_tls")
    for name in ("rdp.enabled", "rdp.nla_required", "rdp.security_layer"):
        assert name not in f.values
        assert "Remote Desktop policy" in f.errors[name] and NOT_SHOWN in f.errors[name]
    assert f.values["rdp.port"] == 3389 and "rdp.port" not in f.errors
    # with the policy key read and empty (no policy), the same values are read plainly
    d = doc("hardening", "public_rdp_troubleshoot_nla_tls")
    d["rdp_policy"] = {}
    v = parse("hardening", stdout=json.dumps(d)).values
    assert (v["rdp.enabled"], v["rdp.nla_required"], v["rdp.security_layer"], v["rdp.port"]) == (
        True, True, 2, 3389)


def test_rdp_facts_depend_only_on_the_keys_that_set_them() -> None:
    """**Hand-made** from the captured ``policy_overrides_cim_bitlocker`` (policy sets
    fDenyTSConnections 0, UserAuthentication 1, SecurityLayer 2; no public sample shows a key
    unreadable beside a readable policy): each RDP fact is an error only when a key it is read
    from is unreadable."""
    unreadable = {"error": "Requested registry access is not allowed.",
                  "error_type": "System.Security.SecurityException"}
    d = doc("hardening", "policy_overrides_cim_bitlocker")
    d["rdp_tcp"] = unreadable  # the listener: only the port is lost, the policy sets the rest
    f = parse("hardening", stdout=json.dumps(d))
    assert (f.values["rdp.enabled"], f.values["rdp.nla_required"],
            f.values["rdp.security_layer"]) == (True, True, 2)
    assert "rdp.port" not in f.values and "registry access" in f.errors["rdp.port"]
    d = doc("hardening", "policy_overrides_cim_bitlocker")
    d["rdp"] = unreadable  # Terminal Server: the policy's fDenyTSConnections decides
    assert parse("hardening", stdout=json.dumps(d)).values["rdp.enabled"] is True
    d["rdp_policy"] = {"fDenyTSConnections": None, "UserAuthentication": None,
                       "SecurityLayer": None}  # no policy: the local value is needed
    f = parse("hardening", stdout=json.dumps(d))
    assert "rdp.enabled" not in f.values and "registry access" in f.errors["rdp.enabled"]
    assert (f.values["rdp.nla_required"], f.values["rdp.security_layer"],
            f.values["rdp.port"]) == (False, 1, 3389)  # the listener's own values
