"""The "tenants" view: per cloud tenant, who can administer it, the client or the provider, and
whether MFA protects its administrators and users. It sits beside reports/access.py's view of
the machines and reads only the result document (the tenant records' ``access.*`` and
``tenant.*`` facts, see probes/cloud/); it imports nothing of ``scanner``.

Each row::

    {"tenant": "school-m365", "platform": "m365", "platform_text": "Microsoft 365",
     "address": "7c1e...", "verdict": "shared",
     "text": "You and your provider can both administer it",
     "client": [ADMIN], "provider": [ADMIN], "break_glass": [ADMIN], "unknown": [ADMIN],
     "full_admins": 3,                           (Global / super administrators, or None)
     "mfa": {"enforcement": "security defaults", "admins_without_mfa": 0,
             "users_without_mfa": 0, "users_total": 120},   (None where not known)
     "problems": ["head@...: MFA not registered"],  (why the client's own access falls short)
     "reason": None}                              (why the row could not be worked out)

    ADMIN = {"name", "roles": [...], "full_admin", "enabled", "mfa", "guest"}

Verdicts are those of reports/access.py (``client``, ``shared``, ``provider-only``, ``nobody``,
``not-declared``, ``unknown``, ``not-scanned``), with the tenant's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from reports import clean
from reports.access import access_verdict
from scanner.result import HostRecord, ResultDocument

PLATFORMS = {"m365": "Microsoft 365", "google-workspace": "Google Workspace"}
VERDICT_TEXT = {
    "client": "You can administer it (your provider cannot)",
    "shared": "You and your provider can both administer it",
    "provider-only": "Your provider can administer your tenant and you cannot",
    "nobody": "Nobody you or your provider named can administer it",
    "not-declared": "Your own administrator accounts are not declared for this tenant",
    "unknown": "Could not be checked",
    "not-scanned": "Not read",
}
VERDICT_STYLE = {
    "client": "green",
    "shared": "green",
    "provider-only": "bold red",
    "nobody": "red",
    "not-declared": "dim",
    "unknown": "yellow",
    "not-scanned": "yellow",
}


class TenantAdmin(TypedDict):
    """One administrator of a tenant: an ``access.admins`` entry (probes/cloud/)."""

    name: str | None
    roles: list[str]
    full_admin: bool | None
    enabled: bool | None
    mfa: str | None
    guest: bool | None


class Mfa(TypedDict):
    enforcement: str | None
    admins_without_mfa: int | None
    users_without_mfa: int | None
    users_total: int | None


class TenantRow(TypedDict):
    """Who can administer one tenant, and MFA (:func:`tenant_row`; the module's docstring)."""

    tenant: str | None
    platform: str
    platform_text: str
    address: str | None
    verdict: str  # a key of VERDICT_TEXT
    text: str
    client: list[TenantAdmin]
    provider: list[TenantAdmin]
    break_glass: list[TenantAdmin]
    unknown: list[TenantAdmin]
    full_admins: int | None
    mfa: Mfa | None
    problems: list[str]
    reason: str | None


def is_tenant(host: HostRecord) -> bool:
    return host.get("platform") in PLATFORMS


def _admin(a: Mapping[str, Any]) -> TenantAdmin:
    return {
        "name": a.get("name"),
        "roles": [str(r) for r in a.get("roles") or ()],
        "full_admin": a.get("full_admin"),
        "enabled": a.get("enabled"),
        "mfa": a.get("mfa"),
        "guest": a.get("guest"),
    }


def _count(facts: Mapping[str, Any], name: str) -> int | None:
    value = facts.get(name)
    if isinstance(value, list):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def tenant_row(host: HostRecord) -> TenantRow:
    """The row of one tenant record of the result document."""
    platform = str(host.get("platform"))
    row: TenantRow = {
        "tenant": host.get("name"),
        "platform": platform,
        "platform_text": PLATFORMS.get(platform, platform),
        "address": host.get("address"),
        "verdict": "unknown",
        "text": VERDICT_TEXT["unknown"],
        "client": [],
        "provider": [],
        "break_glass": [],
        "unknown": [],
        "full_admins": None,
        "mfa": None,
        "problems": [],
        "reason": None,
    }
    if not host.get("reachable"):
        row["verdict"] = "not-scanned"
        row["text"] = VERDICT_TEXT["not-scanned"]
        row["reason"] = host.get("error") or "not read"
        return row
    facts = host.get("facts") or {}
    errors = host.get("fact_errors") or {}
    admins = facts.get("access.admins")
    if isinstance(admins, list):
        sides = {"client": row["client"], "provider": row["provider"],
                 "break-glass": row["break_glass"]}
        for a in admins:
            if isinstance(a, dict):
                sides.get(str(a.get("owner")), row["unknown"]).append(_admin(a))
    else:
        row["reason"] = errors.get("access.admins") or "the administrators were not read"
    row["full_admins"] = _count(facts, "tenant.global_admin_count")
    row["mfa"] = {
        "enforcement": facts.get("tenant.mfa_enforcement"),
        "admins_without_mfa": _count(facts, "tenant.admins_without_mfa"),
        "users_without_mfa": _count(facts, "tenant.users_without_mfa"),
        "users_total": _count(facts, "tenant.users_total"),
    }
    problems = facts.get("access.client_admin_problems")
    if isinstance(problems, list):
        row["problems"] = [str(p) for p in problems]
    verdict, row["reason"] = access_verdict(facts, errors, row["reason"])
    row["verdict"] = verdict
    row["text"] = VERDICT_TEXT[verdict]
    return row


def tenant_view(doc: ResultDocument) -> list[TenantRow]:
    """One row per tenant of the result document, in the document's order."""
    return [tenant_row(h) for h in doc.get("hosts") or []
            if isinstance(h, dict) and is_tenant(h)]


def in_use(doc: ResultDocument) -> bool:
    return any(isinstance(h, dict) and is_tenant(h) for h in doc.get("hosts") or [])


def _names(entries: list[TenantAdmin]) -> str:
    shown = []
    for e in entries[:6]:
        marks = []
        if not e.get("full_admin"):
            marks.append("limited role")
        if e.get("enabled") is False:
            marks.append("disabled")
        if e.get("mfa") not in ("protected", None):
            marks.append(f"MFA {e['mfa']}")
        shown.append(clean(str(e.get("name"))) + (f" ({', '.join(marks)})" if marks else ""))
    more = len(entries) - 6
    return ", ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def print_console(doc: ResultDocument, console: Any) -> None:
    """The view on a rich console: one line per tenant, then who is whose and MFA."""
    from rich.text import Text

    rows = tenant_view(doc)
    if not rows:
        return
    console.print()
    console.print(Text("Who can administer each cloud tenant", style="bold underline"))
    width = max(len(clean(str(r["tenant"]))) for r in rows)
    for r in rows:
        line = Text("  ")
        line.append(f"{clean(str(r['tenant'])):<{width}}  ", style="bold")
        line.append(r["text"], style=VERDICT_STYLE[r["verdict"]])
        line.append(f"  ({r['platform_text']})", style="dim")
        console.print(line)
        pad = f"  {'':<{width}}  "
        details = []
        for entries, label in ((r["client"], "yours"), (r["provider"], "provider's"),
                               (r["break_glass"], "break-glass"), (r["unknown"], "unknown")):
            if entries:
                details.append(f"{label}: {_names(entries)}")
        if details:
            console.print(Text(pad + "; ".join(details), style="dim"))
        mfa = r["mfa"]
        if mfa is not None and (mfa["admins_without_mfa"] or mfa["users_without_mfa"]):
            console.print(Text(pad + f"without MFA: {mfa['admins_without_mfa'] or 0} "
                                     f"admin(s), {mfa['users_without_mfa'] or 0} of "
                                     f"{mfa['users_total'] or '?'} user(s)", style="red"))
        if r["problems"] and r["verdict"] != "not-declared":
            console.print(Text(pad + "why: " + clean("; ".join(r["problems"]))[:300]))
        elif r["reason"] and r["verdict"] in ("unknown", "not-scanned"):
            console.print(Text(pad + "why: " + clean(str(r["reason"]))[:300], style="dim"))
