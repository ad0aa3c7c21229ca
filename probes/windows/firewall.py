"""windows.firewall: whether the host firewall is on, and what it does with unrequested inbound
connections (the ``firewall.*`` facts of :mod:`probes.firewall`, plus one per profile).

Windows Defender Firewall has three profiles, Domain, Private and Public; a network is in one of
them, and a laptop moves between them, so all three must be on with a default of blocking
inbound connections. The profiles are read from the *active* policy store (local settings merged
with Group Policy: what is in force). An ``Enabled`` or ``DefaultInboundAction`` of
"NotConfigured" there means no store sets it, and Windows' default applies: on, and Block.

* ``firewall.active`` is true when every profile is on and the firewall service (mpssvc) runs;
  a third-party firewall registered with Security Center and on also counts (client editions).
* ``firewall.default_inbound`` is ``"drop"`` (the POSIX word for Windows' Block) when every
  profile blocks by default, else ``"accept"``. With only a third-party firewall on, its default
  cannot be read: the fact is an error saying so.

Facts::

    firewall.kind "windows-firewall"   firewall.active true   firewall.default_inbound "drop"
    firewall.profiles {"domain": {"enabled": true, "default_inbound": "block",
                                  "default_outbound": "allow"}, "private": {...}, "public": {...}}
    firewall.domain_enabled true   firewall.private_enabled true   firewall.public_enabled true
    firewall.disabled_profiles []  firewall.services {"mpssvc": "running"}
    firewall.detail "Domain, Private, Public on; inbound blocked by default"
    firewall.third_party []        (firewalls registered with Security Center, on or off)
    firewall.networks [{"name": "corp.example.org", "category": "DomainAuthenticated"}]
"""

from __future__ import annotations

from typing import Any

from probes import firewall as family
from probes.base import Facts, RawSection, guard
from probes.windows._json import document, listed, number, product_type, read

PROVIDES = (
    *family.PROVIDES,
    "firewall.profiles",
    "firewall.domain_enabled",
    "firewall.private_enabled",
    "firewall.public_enabled",
    "firewall.disabled_profiles",
    "firewall.third_party",
    "firewall.networks",
)
_PROFILES = ("domain", "private", "public")
_BOOL = {"true": True, "1": True, "false": False, "0": False}
_ACTION = {"block": "block", "4": "block", "allow": "allow", "2": "allow"}


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _enabled(value: Any) -> bool | None:
    text = str(value).strip().lower()
    if text in ("notconfigured", "", "none"):
        return True  # Windows' default: on
    return _BOOL.get(text)


def _action(value: Any) -> str | None:
    text = str(value).strip().lower()
    if text in ("notconfigured", "", "none", "0"):
        return "block"  # Windows' default for inbound
    return _ACTION.get(text)


def _parse(raw: RawSection, facts: Facts) -> None:
    doc = document(raw)
    facts.set("firewall.kind", "windows-firewall")
    items, why = read(doc, "profiles", "Get-NetFirewallProfile")
    third, third_why = _third_party(doc, product_type(doc))
    if third_why is not None:
        facts.error("firewall.third_party", third_why)
    else:
        facts.set("firewall.third_party", third)
    nets, nets_why = read(doc, "networks", "Get-NetConnectionProfile")
    if nets_why is not None:
        facts.error("firewall.networks", nets_why)
    else:
        facts.set(
            "firewall.networks",
            [
                {"name": n.get("name"), "category": n.get("category")}
                for n in listed(nets)
                if isinstance(n, dict)
            ],
        )
    svc, svc_why = read(doc, "service", "firewall service (mpssvc)")
    state = str(svc.get("state") or "").lower() if isinstance(svc, dict) else None
    if svc_why is not None:
        facts.error("firewall.services", svc_why)
    else:
        facts.set("firewall.services", {"mpssvc": state or "absent"})
    profile_facts = (
        "firewall.profiles",
        *(f"firewall.{p}_enabled" for p in _PROFILES),
        "firewall.disabled_profiles",
        "firewall.active",
        "firewall.default_inbound",
        "firewall.default_inbound_v6",
        "firewall.detail",
    )
    if why is not None:
        facts.error_all(profile_facts, why)
        return
    profiles: dict[str, dict[str, Any]] = {}
    for item in listed(items):
        if not isinstance(item, dict):
            continue
        name = str(item.get("name") or "").strip().lower()
        if name in _PROFILES:
            profiles[name] = {
                "enabled": _enabled(item.get("enabled")),
                "default_inbound": _action(item.get("default_inbound")),
                "default_outbound": _action_out(item.get("default_outbound")),
            }
    missing = [p for p in _PROFILES if p not in profiles]
    odd = [p for p, v in profiles.items() if v["enabled"] is None or v["default_inbound"] is None]
    if missing or odd:
        what = f"profiles missing: {', '.join(missing)}" if missing else ""
        what += ("; " if what and odd else "") + (f"unreadable: {', '.join(odd)}" if odd else "")
        facts.error_all(profile_facts, f"Get-NetFirewallProfile: {what}")
        return
    facts.set("firewall.profiles", profiles)
    for p in _PROFILES:
        facts.set(f"firewall.{p}_enabled", profiles[p]["enabled"])
    off = [p for p in _PROFILES if not profiles[p]["enabled"]]
    facts.set("firewall.disabled_profiles", off)
    service_up = state == "running"
    windows_on = not off and service_up
    others_on = [t["name"] for t in third if t.get("enabled")]
    allow = [p for p in _PROFILES if profiles[p]["default_inbound"] != "block"]
    if not off and svc_why is not None and not others_on:
        # every profile is on, but whether the service that enforces them runs is unknown:
        # neither "in force" nor "not in force" can be said
        reason = f"whether the firewall is in force is unknown: {svc_why}"
        facts.error_all(("firewall.active", "firewall.default_inbound",
                         "firewall.default_inbound_v6", "firewall.detail"), reason)
        return
    if windows_on:
        facts.set("firewall.active", True)
        default = "accept" if allow else "drop"
        facts.set("firewall.default_inbound", default)
        facts.set("firewall.default_inbound_v6", default)
        text = "Domain, Private, Public on; " + (
            f"inbound allowed by default on {', '.join(allow)}"
            if allow
            else "inbound blocked by default"
        )
        facts.set("firewall.detail", text)
        return
    why_off = (
        f"profiles off: {', '.join(off)}"
        if off
        else f"the firewall service (mpssvc) is {state or 'not found'}"
    )
    if others_on:
        facts.set("firewall.kind", others_on[0])
        facts.set("firewall.active", True)
        reason = (
            f"Windows Defender Firewall is not in force ({why_off}); {others_on[0]} is on, and "
            "its default for inbound connections cannot be read from here"
        )
        facts.error_all(("firewall.default_inbound", "firewall.default_inbound_v6"), reason)
        facts.set("firewall.detail", reason)
        return
    facts.set("firewall.active", False)
    facts.set("firewall.default_inbound", "accept")
    facts.set("firewall.default_inbound_v6", "accept")
    facts.set("firewall.detail", f"Windows Defender Firewall not in force: {why_off}")


def _action_out(value: Any) -> str | None:
    text = str(value).strip().lower()
    if text in ("notconfigured", "", "none", "0"):
        return "allow"  # Windows' default for outbound
    return _ACTION.get(text)


def _third_party(doc: dict[str, Any], kind: str | None) -> tuple[list[dict[str, Any]], str | None]:
    if doc.get("security_center") is None:
        if kind == "workstation":
            return [], "Security Center: not in the section's output"
        if kind is None:  # the edition is unknown: so is whether Security Center exists
            _, why = read(doc, "product_type", "product type")
            reason = why or "no product type"
            return [], f"Security Center not read: the Windows edition is unknown ({reason})"
        return [], None
    items, why = read(doc, "security_center", "Security Center (root\\SecurityCenter2)")
    if why is not None:
        return [], why
    out = []
    for item in listed(items):
        if not isinstance(item, dict):
            continue
        state = number(item.get("state"))
        enabled = None if state is None else ((state >> 8) & 0xFF) in (0x10, 0x11)
        out.append({"name": str(item.get("name") or ""), "enabled": enabled})
    return out, None
