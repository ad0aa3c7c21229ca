"""windows.updates: pending updates with their release dates, restart pending, automatic updates.

The Windows Update Agent (WUA) is asked for the software updates that are not installed and not
hidden (``IsInstalled=0 and IsHidden=0 and Type='Software'``), from whichever service the machine
uses (Windows Update, or WSUS when a policy names one). For each it gives ``MsrcSeverity``
(Critical, Important, Moderate, Low, or none), its categories, KB numbers and
``LastDeploymentChangeTime``: when the update was published, in UTC, which is its release date
(a revision that republishes an update moves it later, so the age is a lower bound).

* An update is a **security update** when it has an ``MsrcSeverity`` or is in the "Security
  Updates" category. Definition updates (Defender's signatures) are left out of these facts:
  their freshness is judged from Defender itself (``av.*``).
* The 14-day rule of Cyber Essentials covers fixes rated critical or high risk, or not rated at
  all: ``updates.security_age_days`` is the age of the oldest pending security update whose
  ``MsrcSeverity`` is Critical, Important or none (``security_age_basis`` ``"release-date"``);
  Moderate and Low ones count in ``security_count`` but not in the age. Nothing in scope pending:
  0.0. A pending update in scope with no date: an error starting "age unknown".
* A search that did not finish in time, failed, or finished with errors (the list may be
  incomplete) makes the pending-update facts errors: never "nothing pending".

Facts::

    updates.manager "wua"        updates.auto_tool "windows-update"  ("wsus" with a WSUS policy)
    updates.pending_count 3      updates.security_count 2
    updates.pending [{package, kb, severity, categories, security, issued, source, cves}, ...]
    updates.security_packages ["KB5048685", ...]
    updates.security_age_days 23.4   updates.security_age_basis "release-date"
    updates.security_since "2026-10-30T17:00:00Z"
    updates.metadata_date "2026-11-22T03:10:00Z"   updates.metadata_age_days 0.4
                          (the agent's last successful search)
    updates.reboot_required true     updates.reboot_packages ["Windows Update"]  (what says so)
    updates.auto_configured true     updates.auto_timer_enabled true  (wuauserv not disabled)
    updates.auto_timers {"wuauserv": "Manual"}     updates.paused_until null
    updates.auto_detail "no policy: Windows client installs updates automatically"

Automatic updates: ``NoAutoUpdate=1`` or a pause in force means off; ``AUOptions`` 4 (download and
install on a schedule) means on, 2, 3 and 7 (notify) off, 5 defers to the local setting. With no
policy a client edition of Windows installs updates automatically; a server does so only when the
agent's own setting is "scheduled installation" (``NotificationLevel`` 4).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from probes import updates as family
from probes.base import Facts, RawSection, age_days, guard, iso
from probes.windows._json import document, listed, number, product_type, read, when

PROVIDES = (*family.PROVIDES, "updates.auto_detail", "updates.paused_until")

_PENDING = (
    "updates.pending_count",
    "updates.security_count",
    "updates.pending",
    "updates.security_packages",
)
_AGE = ("updates.security_age_days", "updates.security_age_basis", "updates.security_since")
_IN_SCOPE = ("critical", "important", "")
# update classifications by id (their names are in the machine's language)
_SECURITY_UPDATES = "0fa1201d-4330-4fa8-8ae9-b877473b6441"
_DEFINITION_UPDATES = "e0789628-ce08-4437-be74-2495b842f43b"
_RESULT = {
    0: "not started",
    1: "in progress",
    2: "succeeded",
    3: "succeeded with errors (the list may be incomplete)",
    4: "failed",
    5: "aborted",
}
_AU_OPTIONS = {
    2: "notify before download",
    3: "download automatically, notify before installing",
    4: "download and install automatically on a schedule",
    5: "the local administrator chooses",
    7: "download automatically, notify before installing and before restarting",
}


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    doc = document(raw)
    now = raw.collected_at
    facts.set("updates.manager", "wua")
    wsus, wsus_why = _wsus(doc)
    source = None if wsus is None else "wsus" if wsus else "windows-update"
    _pending(doc, source, now, facts)
    _metadata(doc, now, facts)
    _reboot(doc, facts)
    _auto(doc, source, now, facts)
    if wsus_why is not None:
        facts.error("updates.auto_tool", wsus_why)


def _wsus(doc: dict[str, Any]) -> tuple[bool | None, str | None]:
    """Whether a WSUS server is in force (UseWUServer=1 and a WUServer); None, and why, when a
    policy key could not be read."""
    au, au_why = read(doc, "policy_au", "Windows Update policy (AU)")
    wu, wu_why = read(doc, "policy_wu", "Windows Update policy")
    use = number((au or {}).get("UseWUServer")) if isinstance(au, dict) else None
    server = (wu or {}).get("WUServer") if isinstance(wu, dict) else None
    if au_why is not None or wu_why is not None:
        why = "; ".join(w for w in (au_why, wu_why) if w)
        return None, f"Windows Update or WSUS unknown: {why}"
    return use == 1 and bool(server), None


def _pending(doc: dict[str, Any], source: str | None, now: datetime, facts: Facts) -> None:
    found, why = read(doc, "search", "Windows Update search")
    if why is not None:
        if "did not finish" in why:
            why = why.replace("Windows Update search: ", "Windows Update search timed out: ")
        facts.error_all((*_PENDING, *_AGE), why)
        return
    if not isinstance(found, dict):
        facts.error_all((*_PENDING, *_AGE), "Windows Update search: no result")
        return
    code = number(found.get("result_code"))
    if code != 2:
        text = _RESULT.get(code or -1, f"result code {found.get('result_code')!r}")
        facts.error_all((*_PENDING, *_AGE), f"Windows Update search {text}")
        return
    pending: list[dict[str, Any]] = []
    for u in listed(found.get("updates")):
        if not isinstance(u, dict):
            continue
        cats = [str(c) for c in listed(u.get("categories"))]
        ids = {str(c).lower() for c in listed(u.get("category_ids"))}
        if _DEFINITION_UPDATES in ids or "Definition Updates" in cats:
            continue
        severity = str(u.get("msrc_severity") or "").strip()
        kbs = [str(k) for k in listed(u.get("kb"))]
        released = when(u.get("released"))
        pending.append(
            {
                "package": str(u.get("title") or ""),
                "kb": kbs,
                "severity": severity.lower() or None,
                "categories": cats,
                "security": bool(severity)
                or _SECURITY_UPDATES in ids
                or "Security Updates" in cats,
                "issued": iso(released),
                "source": source,
                "cves": [str(c) for c in listed(u.get("cves"))],
            }
        )
    sec = [p for p in pending if p["security"]]
    facts.set("updates.pending", pending)
    facts.set("updates.pending_count", len(pending))
    facts.set("updates.security_count", len(sec))
    facts.set(
        "updates.security_packages",
        sorted({(p["kb"][0] if p["kb"] else p["package"]) for p in sec}),
    )
    scoped = [p for p in sec if (p["severity"] or "") in _IN_SCOPE]
    if not scoped:
        facts.set("updates.security_age_days", 0.0)
        facts.set("updates.security_age_basis", None)
        facts.set("updates.security_since", None)
        return
    undated = [p for p in scoped if p["issued"] is None]
    if undated:
        names = ", ".join((p["kb"][0] if p["kb"] else p["package"]) for p in undated)
        facts.error_all(_AGE, f"age unknown: no release date from Windows Update for {names[:150]}")
        return
    oldest = min(d for d in (when(p["issued"]) for p in scoped) if d is not None)
    facts.set("updates.security_age_days", age_days(oldest, now))
    facts.set("updates.security_age_basis", "release-date")
    facts.set("updates.security_since", iso(oldest))


def _metadata(doc: dict[str, Any], now: datetime, facts: Facts) -> None:
    names = ("updates.metadata_date", "updates.metadata_age_days")
    agent, why = read(doc, "agent", "Microsoft.Update.AutoUpdate")
    if not isinstance(agent, dict):
        facts.error_all(names, why or "Microsoft.Update.AutoUpdate: no result")
        return
    last = when(agent.get("last_search_success"))
    if last is None:
        facts.error_all(names, "the Windows Update Agent has no successful search on record")
        return
    facts.set("updates.metadata_date", iso(last))
    facts.set("updates.metadata_age_days", age_days(last, now))


def _reboot(doc: dict[str, Any], facts: Facts) -> None:
    names = ("updates.reboot_required", "updates.reboot_packages")
    rb = doc.get("reboot")
    if not isinstance(rb, dict):
        facts.error_all(names, "restart state: not in the section's output")
        return
    said: list[str] = []
    errors: list[str] = []
    for key, label in (
        ("system_info", "Windows Update"),
        ("wu_key", "Windows Update (RebootRequired key)"),
        ("cbs_key", "Component Based Servicing"),
    ):
        value, why = read(rb, key, label)
        if why is not None:
            errors.append(why)
        elif value is True:
            said.append(label)
    if errors and not said:
        facts.error_all(names, "; ".join(errors)[:300])
        return
    renames, _ = read(rb, "file_renames", "PendingFileRenameOperations")
    if said and renames is True:
        said.append("pending file renames")
    facts.set("updates.reboot_required", bool(said))
    facts.set("updates.reboot_packages", said)


def _auto(doc: dict[str, Any], source: str | None, now: datetime, facts: Facts) -> None:
    facts.set("updates.auto_tool", source)
    svc, why = read(doc, "service", "wuauserv service")
    if isinstance(svc, dict):
        mode = str(svc.get("start_mode") or "")
        facts.set("updates.auto_timers", {"wuauserv": mode or None})
        facts.set("updates.auto_timer_enabled", mode.lower() not in ("disabled", ""))
    else:
        reason = why or "wuauserv service: not found"
        facts.error_all(("updates.auto_timers", "updates.auto_timer_enabled"), reason)
    paused, paused_why = _paused(doc, now)
    if paused_why is not None:
        facts.error("updates.paused_until", paused_why)
        off = _policy_off(doc)
        if off is not None:
            # a pause can only stop updates: a policy that turns them off decides alone
            facts.set("updates.auto_configured", False)
            facts.set("updates.auto_detail", off)
        else:
            facts.error_all(("updates.auto_configured", "updates.auto_detail"), paused_why)
        return
    facts.set("updates.paused_until", iso(paused))
    au, au_why = read(doc, "policy_au", "Windows Update policy")
    if not isinstance(au, dict):
        facts.error_all(("updates.auto_configured", "updates.auto_detail"), au_why or "no policy")
        return
    no_auto = number(au.get("NoAutoUpdate"))
    option = number(au.get("AUOptions"))
    agent, agent_why = read(doc, "agent", "Microsoft.Update.AutoUpdate")
    level = number(agent.get("notification_level")) if isinstance(agent, dict) else None
    kind = product_type(doc)
    on: bool | None
    if paused is not None:
        on, detail = False, f"updates are paused until {iso(paused)}"
    elif no_auto == 1:
        on, detail = False, "policy NoAutoUpdate=1: automatic updates are off"
    elif option is not None and option != 5:
        on = option == 4
        detail = f"policy AUOptions={option}: {_AU_OPTIONS.get(option, 'unknown value')}"
    elif option == 5 or kind in ("server", "domain-controller"):
        if level is None:
            facts.error_all(
                ("updates.auto_configured", "updates.auto_detail"),
                agent_why or "the agent's automatic-update setting could not be read",
            )
            return
        on = level == 4
        what = "policy AUOptions=5, local setting" if option == 5 else "no policy, agent setting"
        detail = f"{what}: NotificationLevel={level}" + (
            " (scheduled installation)" if on else " (not installed automatically)"
        )
    elif kind == "workstation":
        on, detail = True, "no policy: Windows client installs updates automatically"
    else:
        facts.error_all(
            ("updates.auto_configured", "updates.auto_detail"),
            "edition unknown (client or server), so the default cannot be told",
        )
        return
    facts.set("updates.auto_configured", on)
    facts.set("updates.auto_detail", detail)


def _policy_off(doc: dict[str, Any]) -> str | None:
    """Why the policy alone turns automatic installation off (NoAutoUpdate=1, or AUOptions 2, 3
    or 7), or None when it does not say so."""
    au, _ = read(doc, "policy_au", "Windows Update policy")
    if not isinstance(au, dict):
        return None
    option = number(au.get("AUOptions"))
    if number(au.get("NoAutoUpdate")) == 1:
        return "policy NoAutoUpdate=1: automatic updates are off"
    if option in (2, 3, 7):
        return f"policy AUOptions={option}: {_AU_OPTIONS[option]}"
    return None


def _paused(doc: dict[str, Any], now: datetime) -> tuple[datetime | None, str | None]:
    ux, why = read(doc, "ux", "Windows Update settings (pause)")
    if why is not None:
        return None, why
    if not isinstance(ux, dict):
        return None, None
    ends = [
        when(str(ux.get(k) or "")) for k in ("PauseUpdatesExpiryTime", "PauseQualityUpdatesEndTime")
    ]
    future = [e for e in ends if e is not None and e > now]
    return (max(future) if future else None), None
