"""windows.hardening: AutoRun, SMB 1.0, Remote Desktop and BitLocker.

* **AutoRun** (Cyber Essentials A5.8: nothing runs from inserted media without the user's say):
  ``autorun.disabled`` is true when ``NoAutorun`` is 1 (no autorun.inf command is run) or
  ``NoDriveTypeAutoRun`` is 255 (AutoPlay off for every kind of drive). Neither set: Windows runs
  AutoRun commands from CD and DVD media by default.
* **SMB 1.0**: on when the server accepts it (``Get-SmbServerConfiguration EnableSMB1Protocol``)
  or the SMB 1.0 client driver (mrxsmb10) is not disabled; off for both when the SMB1Protocol
  optional feature is disabled or removed (``Win32_OptionalFeature`` InstallState 2 or 3).
* **Remote Desktop**: on when ``fDenyTSConnections`` is 0 (Group Policy's value wins over the
  local one; absent means off); Network Level Authentication required when ``UserAuthentication``
  is 1 (again the policy's value first), and ``SecurityLayer`` likewise. ``rdp.port`` is the
  RDP-Tcp listener's ``PortNumber``, which no policy sets: it is known whether or not the policy
  key could be read.
* **BitLocker**: ``Get-BitLockerVolume`` (administrators), else ``Win32_EncryptableVolume``.
  ``bitlocker.system_protected`` is the protection status of the system drive.

Facts::

    autorun.disabled true   autorun.no_autorun 1   autorun.no_drive_type_autorun 255
    smb.v1_enabled false    smb.v1_server_enabled false   smb.v1_client_enabled false
    smb.v1_feature "disabled"   ("enabled", "disabled", "removed", null when not listed)
    rdp.enabled true   rdp.nla_required true   rdp.security_layer 2   rdp.port 3389
    bitlocker.available true   bitlocker.system_protected true
    bitlocker.volumes [{mount, type, protection, status, percent, method}]
"""

from __future__ import annotations

from typing import Any

from probes.base import Facts, RawSection, guard
from probes.windows._json import document, listed, number, read

PROVIDES = (
    "autorun.disabled",
    "autorun.no_autorun",
    "autorun.no_drive_type_autorun",
    "smb.v1_enabled",
    "smb.v1_server_enabled",
    "smb.v1_client_enabled",
    "smb.v1_feature",
    "rdp.enabled",
    "rdp.nla_required",
    "rdp.security_layer",
    "rdp.port",
    "bitlocker.available",
    "bitlocker.system_protected",
    "bitlocker.volumes",
)
_FEATURE = {1: "enabled", 2: "disabled", 3: "removed"}
_PROTECTION = {
    "on": "on",
    "1": "on",
    "off": "off",
    "0": "off",
    "unknown": "unknown",
    "2": "unknown",
}


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    doc = document(raw)
    _autorun(doc, facts)
    _smb(doc, facts)
    _rdp(doc, facts)
    _bitlocker(doc, facts)


def _table(doc: dict[str, Any], key: str, what: str) -> tuple[dict[str, Any] | None, str | None]:
    value, why = read(doc, key, what)
    if why is not None:
        return None, why
    return (value if isinstance(value, dict) else {}), None


def _autorun(doc: dict[str, Any], facts: Facts) -> None:
    t, why = _table(doc, "autorun", "AutoRun policy")
    if t is None:
        facts.error_all(
            ("autorun.disabled", "autorun.no_autorun", "autorun.no_drive_type_autorun"),
            why or "AutoRun policy: unreadable",
        )
        return
    no_autorun = number(t.get("NoAutorun"))
    drive_types = number(t.get("NoDriveTypeAutoRun"))
    facts.set("autorun.no_autorun", no_autorun)
    facts.set("autorun.no_drive_type_autorun", drive_types)
    facts.set(
        "autorun.disabled",
        no_autorun == 1 or (drive_types is not None and drive_types & 0xFF == 0xFF),
    )


def _smb(doc: dict[str, Any], facts: Facts) -> None:
    server, server_why = read(doc, "smb_server", "Get-SmbServerConfiguration")
    server_on: bool | None = None
    if server_why is not None:
        facts.error("smb.v1_server_enabled", server_why)
    elif isinstance(server, dict) and isinstance(server.get("smb1"), bool):
        server_on = server["smb1"]
        facts.set("smb.v1_server_enabled", server_on)
    else:
        server_why = "Get-SmbServerConfiguration: no EnableSMB1Protocol"
        facts.error("smb.v1_server_enabled", server_why)
    feature_value, feature_why = read(doc, "smb1_feature", "SMB1Protocol optional feature")
    feature = _FEATURE.get(number(feature_value) or 0) if feature_why is None else None
    if feature_why is not None:
        facts.error("smb.v1_feature", feature_why)
    else:
        facts.set("smb.v1_feature", feature)
    client, client_why = _table(doc, "smb1_client", "SMB 1.0 client driver (mrxsmb10)")
    client_on: bool | None = None
    if client is None:
        facts.error("smb.v1_client_enabled", client_why or "mrxsmb10: unreadable")
    else:
        start = number(client.get("Start"))
        client_on = start is not None and start != 4
        facts.set("smb.v1_client_enabled", client_on)
    if feature in ("disabled", "removed"):
        facts.set("smb.v1_enabled", False)
        if server_on is None:
            facts.set("smb.v1_server_enabled", False)
        return
    if server_on or client_on:
        facts.set("smb.v1_enabled", True)
    elif server_on is False and client_on is False:
        facts.set("smb.v1_enabled", False)
    else:
        reasons = [r for r in (server_why, client_why, feature_why) if r]
        facts.error("smb.v1_enabled", "; ".join(reasons) or "SMB 1.0 state unknown")


def _rdp(doc: dict[str, Any], facts: Facts) -> None:
    """Each fact from what sets it: ``rdp.port`` from the RDP-Tcp listener's ``PortNumber``
    alone (no policy sets the port); the others from the Group Policy value when it is set, else
    the local one, so an unreadable policy key leaves them unknown but never the port."""
    local, why = _table(doc, "rdp", "Terminal Server settings")
    tcp, why_tcp = _table(doc, "rdp_tcp", "RDP-Tcp listener settings")
    policy, why_pol = _table(doc, "rdp_policy", "Remote Desktop policy")

    def overridden(name: str, base: dict[str, Any] | None, why_base: str | None
                   ) -> tuple[int | None, str | None]:
        """(the policy's value, else the local one's; None when neither sets it), or
        (None, why) when a key it depends on is unreadable."""
        if policy is None:
            return None, why_pol or "Remote Desktop policy: unreadable"
        value = number(policy.get(name))
        if value is not None:
            return value, None
        if base is None:
            return None, why_base or "Remote Desktop settings: unreadable"
        return number(base.get(name)), None

    deny, why_deny = overridden("fDenyTSConnections", local, why)
    if why_deny is not None:
        facts.error("rdp.enabled", why_deny)
    else:
        facts.set("rdp.enabled", deny == 0)  # absent: off
    nla, why_nla = overridden("UserAuthentication", tcp, why_tcp)
    if why_nla is not None:
        facts.error("rdp.nla_required", why_nla)
    else:
        facts.set("rdp.nla_required", nla == 1)
    layer, why_layer = overridden("SecurityLayer", tcp, why_tcp)
    if why_layer is not None:
        facts.error("rdp.security_layer", why_layer)
    else:
        facts.set("rdp.security_layer", layer)
    if tcp is None:
        facts.error("rdp.port", why_tcp or "RDP-Tcp listener settings: unreadable")
    else:
        facts.set("rdp.port", number(tcp.get("PortNumber")))


def _bitlocker(doc: dict[str, Any], facts: Facts) -> None:
    names = ("bitlocker.available", "bitlocker.system_protected", "bitlocker.volumes")
    items, why = read(doc, "bitlocker", "Get-BitLockerVolume")
    if why is not None and doc.get("bitlocker_cim") is not None:
        items, why_cim = read(doc, "bitlocker_cim", "Win32_EncryptableVolume")
        if why_cim is not None:
            if "namespace" in why_cim.lower() or "not found" in why_cim.lower():
                facts.set("bitlocker.available", False)
                facts.set("bitlocker.volumes", [])
                facts.set("bitlocker.system_protected", False)
                return
            facts.error_all(names, f"{why}; {why_cim}")
            return
    elif why is not None:
        facts.error_all(names, why)
        return
    volumes = []
    for v in listed(items):
        if not isinstance(v, dict):
            continue
        volumes.append(
            {
                "mount": str(v.get("mount") or "").rstrip("\\") or None,
                "type": v.get("type"),
                "protection": _PROTECTION.get(str(v.get("protection")).lower(), "unknown"),
                "status": v.get("status") if "status" in v else v.get("conversion"),
                "percent": v.get("percent"),
                "method": v.get("method"),
            }
        )
    facts.set("bitlocker.available", True)
    facts.set("bitlocker.volumes", volumes)
    system = str(doc.get("system_drive") or "C:").rstrip("\\").upper()
    match = [v for v in volumes if str(v["mount"] or "").upper() == system]
    if not match:
        facts.error("bitlocker.system_protected", f"no volume for the system drive {system}")
        return
    facts.set("bitlocker.system_protected", match[0]["protection"] == "on")
