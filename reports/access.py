"""The "access" view: per system, who can administer it, the client or the provider.

:func:`access_view` is a pure function over the result document (the hosts' ``access.*`` facts,
see ``probes/access/derive.py``); every renderer may show its rows. :func:`print_console` is the
console's rendering of it (rich ``Text`` only, cleaned of control characters).

Each row::

    {"host": "web01", "verdict": "shared", "text": "You and your provider can both administer it",
     "client": [{"name": "clientadmin", "usable": true, "via": ["sudo-group"], "last_login": ...}],
     "provider": [...], "unknown": [...],     (each: the administrators of that side)
     "problems": ["clientadmin: the account is locked ..."],   (why the client cannot)
     "complete": true, "reason": null}        (false: the list could not be read, and why)

Verdicts: ``client`` (only the client), ``shared`` (both), ``provider-only`` (the provider, or
someone else, can and the client cannot), ``nobody`` (no one named can), ``not-declared`` (no
client identities declared for the host), ``unknown`` (could not be told, with the reason),
``not-scanned`` (the host was not reached).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from reports import clean
from scanner.result import HostRecord, ResultDocument

VERDICT_TEXT = {
    "client": "You can administer it (your provider cannot)",
    "shared": "You and your provider can both administer it",
    "provider-only": "Your provider can administer this system and you cannot",
    "nobody": "Nobody you or your provider named can administer it",
    "not-declared": "Your own administrator accounts are not declared for this system",
    "unknown": "Could not be checked",
    "not-scanned": "Not scanned",
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


class Admin(TypedDict):
    """One administrator in a row: an ``access.admins`` entry (probes/access/derive.py)."""

    name: str | None
    usable: bool | None  # None: unknown
    via: list[str]
    last_login: str | None
    reasons: list[str]


class AccessRow(TypedDict):
    """Who can administer one host (:func:`host_access`)."""

    host: str | None
    verdict: str  # a key of VERDICT_TEXT
    text: str
    client: list[Admin]
    provider: list[Admin]
    unknown: list[Admin]
    problems: list[str]
    complete: bool
    reason: str | None


def _entry(a: Mapping[str, Any]) -> Admin:
    return {
        "name": a.get("name"),
        "usable": a.get("usable"),
        "via": list(a.get("via") or []),
        "last_login": a.get("last_login"),
        "reasons": list(a.get("reasons") or []),
    }


def access_verdict(facts: Mapping[str, Any], errors: Mapping[str, str],
                   reason: str | None) -> tuple[str, str | None]:
    """Who can administer a machine or a tenant, from its ``access.*`` facts (the same for
    both views: reports/tenants.py words it for tenants), and the reason to show when that
    cannot be told (``reason`` as given, or the fact error that explains it)."""
    declared = facts.get("access.client_declared")
    usable = facts.get("access.client_admin_usable")
    provider_only = facts.get("access.provider_only")
    if declared is False:
        return "not-declared", reason
    if declared is None:
        return "unknown", reason or errors.get("access.client_declared")
    if usable is True:
        return ("shared" if facts.get("access.provider_admin_usable") is True
                else "client"), reason
    if provider_only is True:
        return "provider-only", reason
    if provider_only is False and usable is False:
        return "nobody", reason
    return "unknown", (errors.get("access.provider_only")
                       or errors.get("access.client_admin_usable") or reason)


def host_access(host: HostRecord) -> AccessRow:
    """The access row of one host record of the result document."""
    name = host.get("name")
    row: AccessRow = {
        "host": name,
        "verdict": "unknown",
        "text": VERDICT_TEXT["unknown"],
        "client": [],
        "provider": [],
        "unknown": [],
        "problems": [],
        "complete": False,
        "reason": None,
    }
    if not host.get("reachable"):
        row["verdict"] = "not-scanned"
        row["text"] = VERDICT_TEXT["not-scanned"]
        row["reason"] = host.get("error") or "unreachable"
        return row
    facts = host.get("facts") or {}
    errors = host.get("fact_errors") or {}
    admins = facts.get("access.admins")
    if isinstance(admins, list):
        row["complete"] = True
        sides = {"client": row["client"], "provider": row["provider"], "unknown": row["unknown"]}
        for a in admins:
            if isinstance(a, dict):
                owner = a.get("owner")
                side = owner if owner in ("client", "provider") else "unknown"
                sides[str(side)].append(_entry(a))
        unknown = facts.get("access.unknown_admins")
        if isinstance(unknown, list):  # the parser's own list (root nobody can use is left out)
            row["unknown"] = [e for e in row["unknown"] if e["name"] in unknown]
    else:
        row["reason"] = errors.get("access.admins") or "the administrators were not collected"
    problems = facts.get("access.client_admin_problems")
    if isinstance(problems, list):
        row["problems"] = [str(p) for p in problems]
    verdict, row["reason"] = access_verdict(facts, errors, row["reason"])
    row["verdict"] = verdict
    row["text"] = VERDICT_TEXT[verdict]
    return row


TENANT_PLATFORMS = ("m365", "google-workspace")  # reports/tenants.py has their view


def access_view(doc: ResultDocument) -> list[AccessRow]:
    """One row per host of the result document, in the document's order (cloud tenants are
    reports/tenants.py's, beside it)."""
    return [host_access(h) for h in doc.get("hosts") or []
            if isinstance(h, dict) and h.get("platform") not in TENANT_PLATFORMS]


def in_use(doc: ResultDocument) -> bool:
    """Whether any host has client or provider identities declared (else the view is noise)."""
    return any(
        (h.get("facts") or {}).get("access.identities_declared") is True
        for h in doc.get("hosts") or []
        if isinstance(h, dict) and h.get("platform") not in TENANT_PLATFORMS
    )


def _names(entries: list[Admin]) -> str:
    shown = []
    for e in entries[:6]:
        usable = e["usable"]
        mark = "" if usable is True else (" (cannot log in)" if usable is False else " (?)")
        shown.append(f"{clean(e['name'])}{mark}")
    more = len(entries) - 6
    return ", ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def print_console(doc: ResultDocument, console: Any) -> None:
    """The view on a rich console: one line per host, then who is whose."""
    from rich.text import Text

    if not in_use(doc):
        return
    console.print()
    console.print(Text("Who can administer each system", style="bold underline"))
    rows = access_view(doc)
    width = max((len(clean(r["host"])) for r in rows), default=4)
    for r in rows:
        line = Text("  ")
        line.append(f"{clean(r['host']):<{width}}  ", style="bold")
        line.append(r["text"], style=VERDICT_STYLE[r["verdict"]])
        console.print(line)
        details = []
        if r["client"]:
            details.append(f"yours: {_names(r['client'])}")
        if r["provider"]:
            details.append(f"provider's: {_names(r['provider'])}")
        if r["unknown"]:
            details.append(f"unknown: {_names(r['unknown'])}")
        if details:
            console.print(Text(f"  {'':<{width}}  " + "; ".join(details), style="dim"))
        if r["verdict"] in ("provider-only", "nobody") and r["problems"]:
            why = clean("; ".join(r["problems"]))
            console.print(Text(f"  {'':<{width}}  why: {why[:300]}"))
        elif r["verdict"] in ("unknown", "not-scanned") and r["reason"]:
            console.print(Text(f"  {'':<{width}}  why: {clean(r['reason'])[:300]}", style="dim"))
