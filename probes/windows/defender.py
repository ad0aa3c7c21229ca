"""windows.defender: anti-malware protection on Windows, in the same ``av.*`` facts as Linux
and macOS (the family :mod:`probes.malware`; see :mod:`probes.posix.malware`), plus Defender's
own state in ``defender.*``.

**Microsoft Defender Antivirus** (``Get-MpComputerStatus``, fields as documented for
``MSFT_MpComputerStatus``): real-time protection counts when ``AntivirusEnabled`` and
``RealTimeProtectionEnabled`` are on and ``AMRunningMode`` is "Normal" or "EDR Block Mode"; in
"Passive Mode" (or "SxS Passive Mode") Defender scans but does not block, which is only right when
another product protects the machine. The signature date is ``AntivirusSignatureLastUpdated``
(when the machine last updated them); without it, ``AntivirusSignatureAge`` in whole days.
``tamper_protection`` is ``IsTamperProtected``; ``managed`` is the Defender for Endpoint
onboarding state (``OnboardingState`` 1). ``updater_configured`` says whether anything is set to
bring signatures: Defender's own schedule (``SignatureScheduleDay`` 0-7 or
``SignatureUpdateInterval`` above 0, from ``Get-MpPreference``), or Windows Update, which delivers
them with its automatic updates unless a policy turns those off (``NoAutoUpdate`` 1, ``AUOptions``
2, notify only) or its service (wuauserv) is disabled. It is never derived from the signatures
being fresh today (``DefenderSignaturesOutOfDate`` is ``defender.signatures_out_of_date``): a
fresh signature set says nothing about tomorrow's.

**Other products** (client editions only: Windows Security Center, ``root\\SecurityCenter2``
``AntiVirusProduct``): the name and ``productState``, whose second byte says whether the product is
on (0x10, 0x11) and whose third whether its signatures are up to date (0x00) or not (0x10). These
bit meanings are not documented by Microsoft; they are the decoding used by monitoring tools for
years. Security Center gives no dates and no versions: those fields are errors saying so.

Facts (beside ``av.*``)::

    defender.installed true      defender.mode "normal"   ("passive", "edr block",
                                                            "sxs passive", "not running")
    defender.antivirus_enabled true   defender.realtime_enabled true
    defender.tamper_protected true    defender.signatures_out_of_date false
    defender.other_av_active false    (another product on, per Security Center; error on servers)

With Defender not installed (a server without the feature) or unreadable, ``defender.installed``
is false or an error, and the ``av.*`` facts come from Security Center alone.

What could not be read stays unknown: a WinDefend service that could not be read makes
``daemon_running`` an error (not "stopped"); a product type that could not be read makes
``defender.other_av_active`` an error (whether Security Center exists depends on the edition);
the versions Defender shows as "0.0.0.0" when nothing is loaded are no versions (null).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from probes import malware as family
from probes.base import Facts, RawSection, age_days, guard, iso
from probes.windows._json import document, error_type, listed, number, product_type, read, when

DEFENDER = "Microsoft Defender Antivirus"
PROVIDES = (
    *family.PROVIDES,
    "defender.installed",
    "defender.mode",
    "defender.antivirus_enabled",
    "defender.realtime_enabled",
    "defender.tamper_protected",
    "defender.signatures_out_of_date",
    "defender.other_av_active",
)
_PROTECTING = ("normal", "edr block")
_NOT_INSTALLED = ("CommandNotFoundException",)


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    doc = document(raw)
    now = raw.collected_at
    products: list[dict[str, Any]] = []
    defender = _defender(doc, now, facts)
    if defender is not None:
        products.append(defender)
    kind = product_type(doc)
    others, why_others = _security_center(doc, kind)
    server = kind in ("server", "domain-controller")
    services, why_services = _services(doc)
    if server:
        others = services
        why_others = why_services
    products.extend(others)
    if why_others is not None:
        facts.error("defender.other_av_active", why_others)
    else:
        facts.set("defender.other_av_active", any(p["realtime_enabled"] is True for p in others))
    facts.set("av.products", products)
    facts.set("av.installed", bool(products))
    facts.set("av.app_control_enabled", None)
    if not products:
        if "defender.installed" in facts.errors:
            # Defender could not be read: "no protection" would be a guess
            reason = facts.errors["defender.installed"]
            facts.error_all(("av.installed", *family.PRIMARY), reason)
            return
        if why_others is not None:
            # nothing found, and the place another product would show could not be read
            facts.error_all(
                ("av.installed", *family.PRIMARY), f"no anti-malware found, but {why_others}"
            )
            return
        family.set_none(facts)
        return
    if why_others is not None and not any(p["realtime_enabled"] is True for p in products):
        # the product protecting this machine may be the one that could not be seen
        reason = f"the protecting product is unknown: {why_others}"
        facts.error_all(family.PRIMARY, reason)
        return
    family.set_primary(facts, products)


def _defender(doc: dict[str, Any], now: datetime, facts: Facts) -> dict[str, Any] | None:
    names = (
        "defender.mode",
        "defender.antivirus_enabled",
        "defender.realtime_enabled",
        "defender.tamper_protected",
        "defender.signatures_out_of_date",
    )
    mp, why = read(doc, "mp", "Get-MpComputerStatus")
    svc, svc_why = read(doc, "service", "WinDefend service")
    if why is not None:
        etype = error_type(doc, "mp") or ""
        if etype.endswith(_NOT_INSTALLED) or (svc is None and svc_why is None):
            facts.set("defender.installed", False)
            for n in names:
                facts.set(n, None)
            return None
        if isinstance(svc, dict) and str(svc.get("state") or "").lower() != "running":
            # installed but stopped (another product turned it off, or it was disabled)
            facts.set("defender.installed", True)
            facts.set("defender.mode", "not running")
            facts.set("defender.antivirus_enabled", False)
            facts.set("defender.realtime_enabled", False)
            facts.error_all(names[3:], why)
            p = family.product(DEFENDER, verified=False)
            p["uses_signatures"] = True
            p["realtime_enabled"] = False
            p["daemon_running"] = False
            p["detail"]["service"] = svc
            for f in ("signature_date", "signature_age_days", "signature_version"):
                p["errors"][f] = f"Defender is not running ({why})"
            return p
        facts.error_all(("defender.installed", *names), why)
        return None
    if not isinstance(mp, dict):
        facts.error_all(("defender.installed", *names), "Get-MpComputerStatus: no result")
        return None
    facts.set("defender.installed", True)
    mode = str(mp.get("running_mode") or "").strip().lower().removesuffix(" mode") or None
    av_on = mp.get("antivirus_enabled")
    rt_on = mp.get("realtime_enabled")
    facts.set("defender.mode", mode)
    facts.set("defender.antivirus_enabled", av_on if isinstance(av_on, bool) else None)
    facts.set("defender.realtime_enabled", rt_on if isinstance(rt_on, bool) else None)
    tamper = mp.get("tamper_protected")
    facts.set("defender.tamper_protected", tamper if isinstance(tamper, bool) else None)
    stale = mp.get("signatures_out_of_date")
    facts.set("defender.signatures_out_of_date", stale if isinstance(stale, bool) else None)

    p = family.product(DEFENDER, verified=False)
    p["version"] = _version(mp.get("product_version"))
    p["engine_version"] = _version(mp.get("engine_version"))
    p["signature_version"] = _version(mp.get("signature_version"))
    p["uses_signatures"] = True
    updated = when(mp.get("signature_updated"))
    age = number(mp.get("signature_age"))
    if updated is None and age is not None and 0 <= age < 65535:
        updated = now - timedelta(days=age)  # whole days only: the date is approximate
        p["detail"]["signature_date_basis"] = "AntivirusSignatureAge (whole days)"
    if updated is None:
        p["errors"]["signature_date"] = "Defender reports no signature update date"
        p["errors"]["signature_age_days"] = "Defender reports no signature update date"
    else:
        p["signature_date"] = iso(updated)
        p["signature_age_days"] = age_days(updated, now)
        p["last_update_at"] = iso(updated)
    protecting = mode in _PROTECTING or mode is None
    if mode is not None and not protecting:
        p["realtime_enabled"] = False  # passive or not running: not protecting, whatever else
    elif av_on is False or rt_on is False:
        p["realtime_enabled"] = False
    elif av_on is None or rt_on is None:
        p["errors"]["realtime_enabled"] = (
            "Defender did not report whether antivirus and real-time protection are on"
        )
    else:
        p["realtime_enabled"] = True
    running = isinstance(svc, dict) and str(svc.get("state") or "").lower() == "running"
    if mp.get("am_service_enabled") is False or (svc_why is None and not running):
        p["daemon_running"] = False
    elif svc_why is not None:
        p["errors"]["daemon_running"] = svc_why  # unread is not "stopped"
    else:
        p["daemon_running"] = mp.get("am_service_enabled") is True
    _defender_updater(doc, p)
    scans = [
        d for d in (when(mp.get("quick_scan_end")), when(mp.get("full_scan_end"))) if d is not None
    ]
    p["last_scan_at"] = iso(max(scans)) if scans else None
    p["tamper_protection"] = tamper if isinstance(tamper, bool) else None
    onboarding, why_onb = read(doc, "onboarding", "Defender for Endpoint onboarding")
    if why_onb is not None:
        p["errors"]["managed"] = why_onb
    else:
        p["managed"] = number(onboarding) == 1
    p["detail"].update(
        {
            "running_mode": mp.get("running_mode"),
            "antivirus_enabled": av_on,
            "realtime_protection_enabled": rt_on,
            "behavior_monitor_enabled": mp.get("behavior_monitor_enabled"),
            "ioav_enabled": mp.get("ioav_enabled"),
            "on_access_enabled": mp.get("on_access_enabled"),
        }
    )
    return p


def _version(value: Any) -> str | None:
    """A version Defender reports; "0.0.0.0" is what it shows when nothing is loaded (its engine
    and signatures while it is not running): no version, not a version."""
    text = str(value or "").strip()
    return None if not text or text.strip("0.") == "" else text


def _defender_updater(doc: dict[str, Any], p: dict[str, Any]) -> None:
    """``updater_configured`` from what is set to bring signatures (never from their age)."""
    how: list[str] = []
    prefs, why_prefs = read(doc, "preferences", "Get-MpPreference")
    if isinstance(prefs, dict):
        interval = number(prefs.get("update_interval"))
        day = number(prefs.get("schedule_day"))
        if interval is not None and interval > 0:
            how.append(f"Defender checks for signatures every {interval} h")
        if day is not None and 0 <= day <= 7:
            how.append("Defender's scheduled signature update")
    au, why_au = read(doc, "au_policy", "Windows Update policy")
    service, why_svc = read(doc, "wu_service", "Windows Update service")
    wu_known = isinstance(au, dict) and why_svc is None
    if wu_known and isinstance(au, dict):
        off = number(au.get("NoAutoUpdate")) == 1 or number(au.get("AUOptions")) == 2
        disabled = str(service or "").lower() == "disabled"
        if not off and not disabled:
            how.append("Windows Update's automatic updates (they bring Defender's signatures)")
        p["detail"]["windows_update"] = {
            "no_auto_update": au.get("NoAutoUpdate"),
            "au_options": au.get("AUOptions"),
            "service_start_mode": service,
        }
    if how:
        p["updater_configured"] = True
        p["detail"]["updater"] = how
    elif wu_known and prefs is not None and why_prefs is None:
        p["updater_configured"] = False
        p["detail"]["updater"] = []
    else:
        reasons = [w for w in (why_prefs, why_au, why_svc) if w] or [
            "the section did not read Get-MpPreference and the Windows Update policy"
        ]
        p["errors"]["updater_configured"] = "; ".join(reasons)[:300]


def _security_center(
    doc: dict[str, Any], kind: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    if doc.get("security_center") is None:
        if kind == "workstation":  # a client edition has one: it should have been read
            return [], "Security Center: not in the section's output"
        if kind is None:  # the edition is unknown: so is whether Security Center exists
            _, why = read(doc, "product_type", "product type")
            reason = why or "no product type"
            return [], f"Security Center not read: the Windows edition is unknown ({reason})"
        return [], None
    items, why = read(doc, "security_center", "Security Center (root\\SecurityCenter2)")
    if why is not None:
        return [], why
    out: list[dict[str, Any]] = []
    for item in listed(items):
        if not isinstance(item, dict):
            continue
        name = str(item.get("name") or "").strip()
        low = name.lower()
        if not name or ("defender" in low and ("windows" in low or "microsoft" in low)):
            continue  # Defender itself, read above
        state = number(item.get("state"))
        p = family.product(name, verified=False)
        p["uses_signatures"] = True
        if state is None:
            p["errors"]["realtime_enabled"] = "Security Center gave no productState"
        else:
            p["realtime_enabled"] = ((state >> 8) & 0xFF) in (0x10, 0x11)
            p["detail"]["product_state"] = f"0x{state:06X}"
            p["detail"]["signatures_up_to_date"] = (state & 0xFF) == 0x00
            p["updater_configured"] = (state & 0xFF) == 0x00
        reason = "not reported by Windows Security Center"
        for f in ("signature_date", "signature_age_days", "signature_version", "engine_version"):
            p["errors"][f] = reason
        p["detail"]["security_center_timestamp"] = item.get("timestamp")
        out.append(p)
    return out, None


# Services of endpoint protection products (by service name, as their installers name them; not
# verified on live hosts): on Windows Server, where Security Center does not exist, a running
# service is taken as the product protecting in real time (``detail.basis`` says so).
_SERVICES = {
    "csfalconservice": "CrowdStrike Falcon",
    "sentinelagent": "SentinelOne",
    "savservice": "Sophos Anti-Virus",
    "sophosed": "Sophos Endpoint Defense",
    "ekrn": "ESET",
    "ds_agent": "Trend Micro Deep Security",
    "sepmasterservice": "Symantec Endpoint Protection",
    "mfemms": "Trellix (McAfee) Endpoint Security",
    "epsecurityservice": "Bitdefender Endpoint Security",
    "cbdefense": "VMware Carbon Black Cloud",
    "cylancesvc": "Cylance PROTECT",
    "wrsvc": "Webroot SecureAnywhere",
}
_NO_SIGNATURES = (
    "CrowdStrike Falcon",
    "SentinelOne",
    "VMware Carbon Black Cloud",
    "Cylance PROTECT",
)


def _services(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    items, why = read(doc, "av_services", "endpoint protection services")
    if why is not None:
        return [], why
    out = []
    for item in listed(items):
        if not isinstance(item, dict):
            continue
        name = _SERVICES.get(str(item.get("name") or "").lower())
        if name is None:
            continue
        p = family.product(name, verified=False)
        running = str(item.get("state") or "").lower() == "running"
        p["realtime_enabled"] = running
        p["daemon_running"] = running
        p["uses_signatures"] = name not in _NO_SIGNATURES
        reason = "not read: only the product's service was seen"
        for f in ("signature_date", "signature_age_days", "signature_version", "engine_version"):
            if p["uses_signatures"] or f == "engine_version":
                p["errors"][f] = reason
        p["detail"] = {"basis": "service", "service": item.get("name"), "state": item.get("state")}
        out.append(p)
    return out, None
