"""Roles from facts: what a host is (an endpoint, a server, a firewall...) when the inventory does
not say.

A rule may name the roles it is for (``applies_to: {roles: [endpoint, server]}``). A host whose
inventory entry gives no ``roles`` used to get none of those rules, silently; now its roles are
inferred from what was collected, by :func:`infer`, and recorded in the host's record:

``roles_inferred``       the roles the facts point to (always worked out, even when the inventory
                         declares roles, so that a person can compare the two)
``roles_inferred_from``  which facts, in words ("Windows ProductType workstation"), or why none
                         could be inferred
``roles_source``         where the host's roles came from: ``inventory`` (declared: they win,
                         and narrow the rules), ``inferred`` (none declared, inferred from facts:
                         recorded, but they never narrow scope; such a host is judged by every
                         rule for the roles in :data:`INFERABLE`, see scanner/rules/evaluate.py
                         ``scope``), ``none`` (none declared, none inferred)

The inference (a derivation over facts, like the lifecycle's ``os.supported``) runs on the
scanner side once a host has landed and before it is evaluated (scanner/scan.py); evaluation
(scanner/rules/evaluate.py) stays pure and reads only the record. Probes never classify: they
collect.

What is inferred (DESIGN.md §5, "Nothing silently out of scope"):

- Windows: ``os.product_type`` workstation → endpoint; server → server; domain controller →
  server and domain-controller (``os.id`` ``windows-server`` when the ProductType is missing).
- macOS → endpoint. Linux and BSD → server (a Linux router or firewall is declared with
  ``device: linux-gateway`` or ``roles``).
- Network devices → their kind, from what the device says it runs (``device.os``, the
  firmware product, the vendor and model): firewall, router, switch, nas, ups, wireless.
- Nothing known (an unreachable host of unknown platform, a Windows host whose ProductType could
  not be read): no role, and then no rule is left out for its roles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from scanner.result import HostRecord

SOURCES = ("inventory", "inferred", "none")
#: the roles :func:`infer` can give a host of each target family: what a host without declared
#: roles needs collected (scanner/engine/collect.py plans the sections of rules for these roles)
INFERABLE: dict[str, tuple[str, ...]] = {
    "posix": ("server", "endpoint"),
    "windows": ("endpoint", "server", "domain-controller"),
}

# Network devices, by what they run: (pattern over "vendor os product model", role). First match
# wins; the patterns are the names the identity parsers give (probes/device/identity.py,
# probes/netos/*) and the vendors' own product names.
_DEVICE_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), role) for p, role in (
        (r"fortios|fortigate|pfsense|opnsense|sonicwall|sonicos|watchguard|fireware|sophos|"
         r"\bsfos\b|pan-os|palo alto|checkpoint|gaia", "firewall"),
        (r"routeros|mikrotik|edgeos|edgerouter|vyos", "router"),
        (r"synology|\bdsm\b|qnap|\bqts\b|truenas|readynas", "nas"),
        (r"\bapc\b|powerchute|eaton|\bups\b", "ups"),
        (r"unifi ap|\bu6-|\buap\b|aironet|wireless|access point", "wireless"),
        (r"jetdirect|printer", "printer"),
        # Cisco: the Catalyst families (and their images) are switches, the rest routers
        (r"catalyst|cat\d+k|\bws-c\d|\bc(29[4-9]\d|3[5-8]\d\d|4[5-9]\d\d|9[2-6]\d\d|1000)"
         r"\b|\bie-?\d|switch|procurve|\baruba\b", "switch"),
        (r"cisco ios|\bisr\b|router", "router"),
    )
)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _windows(facts: Mapping[str, Any], errors: Mapping[str, str]) -> tuple[list[str], str]:
    ptype = facts.get("os.product_type")
    if ptype == "workstation":
        return ["endpoint"], "a Windows client edition (ProductType workstation)"
    if ptype == "server":
        return ["server"], "a Windows Server edition (ProductType server)"
    if ptype == "domain-controller":
        return ["server", "domain-controller"], "a Windows domain controller (ProductType 2)"
    if facts.get("os.id") == "windows-server":
        return ["server"], "a Windows Server edition"
    kind = _text(facts.get("os.installation_type"))
    if kind.lower() == "client":
        return ["endpoint"], "a Windows client edition (InstallationType Client)"
    if kind.lower().startswith("server"):
        return ["server"], f"a Windows Server edition (InstallationType {kind})"
    why = errors.get("os.product_type") or "not collected"
    return [], f"a Windows host, but not whether a client or a server (os.product_type: {why})"


def _device(facts: Mapping[str, Any]) -> tuple[list[str], str]:
    said = " ".join(
        _text(facts.get(k)) for k in ("device.vendor", "device.os", "firmware.product",
                                      "device.model", "snmp.sysdescr")
    ).strip()
    if not said:
        return [], "a network device that did not say what it is"
    for pattern, role in _DEVICE_KINDS:
        if pattern.search(said):
            return [role], f"a network device: {_brief(facts)}"
    return [], f"a network device of a kind undone does not know ({_brief(facts)})"


def _brief(facts: Mapping[str, Any]) -> str:
    vendor, system, model = (_text(facts.get(k)) for k in ("device.vendor", "device.os",
                                                           "device.model"))
    if vendor and system.lower().startswith(vendor.lower()):
        vendor = ""
    text = " ".join(p for p in (vendor, system, model) if p)
    text = text or _text(facts.get("snmp.sysdescr"))[:60]
    return " ".join(text.split())[:120] or "unknown"


def infer(rec: Mapping[str, Any]) -> tuple[list[str], str]:
    """The roles a host record's facts point to, and from what (or why none)."""
    facts: Mapping[str, Any] = rec.get("facts") or {}
    errors: Mapping[str, str] = rec.get("fact_errors") or {}
    platform = rec.get("platform")
    if platform is None and rec.get("transport") == "winrm":
        platform = "windows"
    if platform == "windows":
        return _windows(facts, errors)
    if platform == "macos":
        return ["endpoint"], "macOS, a client operating system"
    if platform in ("linux", "bsd"):
        kind = "a Linux system" if platform == "linux" else "a BSD system"
        name = " ".join(_text(facts.get("os.pretty_name")).split())[:80]
        return ["server"], f"{name}, {kind}" if name else kind
    if platform == "network":
        return _device(facts)
    if platform is None:
        if not rec.get("reachable"):
            return [], "the host was not scanned and the inventory gives no platform"
        fam = facts.get("os.family")
        why = (f"os.family {fam!r} is not one undone knows" if isinstance(fam, str)
               else f"os.family: {errors.get('os.family', 'not collected')}")
        return [], f"the operating system is not known ({why})"
    return [], f"not a machine (platform {platform}): no roles"


def assign(rec: HostRecord) -> None:
    """Record the inferred roles and where the roles that scope the rules come from."""
    inferred, because = infer(rec)
    rec["roles_inferred"] = inferred
    rec["roles_inferred_from"] = because
    if rec.get("roles"):
        rec["roles_source"] = "inventory"
    else:
        rec["roles_source"] = "inferred" if inferred else "none"


def effective(rec: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
    """(roles, source) that scope the rules for a host record: the inventory's when it declares
    any, else the inferred ones (a record written before inference existed: declared or none)."""
    declared = tuple(rec.get("roles") or ())
    source = rec.get("roles_source")
    if declared:
        return declared, "inventory"
    if source == "inferred" and rec.get("roles_inferred"):
        return tuple(rec["roles_inferred"]), "inferred"
    return (), "none"
