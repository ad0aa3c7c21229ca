"""Windows: who is in the local Administrators group, and whose they are (``access.*`` facts).

A pure parser of recorded outputs, for the Windows section (``probes/windows/*``) to call. It
reads three PowerShell outputs, each made with ``ConvertTo-Json`` (Windows PowerShell 5.1 or
PowerShell 7; fixtures and their sources in ``tests/fixtures/access/``):

``members``  (required) the members of the local Administrators group, by its well-known SID so
             that it works in every language::

                 ConvertTo-Json -Depth 3 -InputObject @(Get-LocalGroupMember -SID S-1-5-32-544 |
                     Select-Object Name, SID, PrincipalSource, ObjectClass)

             ``PrincipalSource`` is the number of the enumeration (0 Unknown, 1 Local,
             2 ActiveDirectory, 3 AzureAD, 4 MicrosoftAccount) or its name; ``SID`` the
             serialised SecurityIdentifier (``{"Value": "S-1-5-..."}``) or a string. A single
             member may come as an object instead of a list. Get-LocalGroupMember fails on a
             member whose SID cannot be resolved (an orphaned domain account: PowerShell issue
             #2996, "Failed to compare two elements in the array"): pass that error text as the
             output and the facts are errors saying so (the section may fall back to
             ``[ADSI]"WinNT://./Administrators,group"`` and give the same fields; a member whose
             name is a bare SID is then an account nobody can name).
``users``    (optional) ``ConvertTo-Json -Depth 3 -InputObject @(Get-LocalUser)``: Enabled,
             AccountExpires, LastLogon, PasswordRequired for local members. Without it a local
             member's state is unknown.
``domain``   (optional) per domain group in Administrators (key: the member's Name, e.g.
             ``EXAMPLE\\IT Admins``), what could be seen of its members, as JSON: a list of
             ``Get-ADGroupMember -Recursive`` objects (``SamAccountName``, ``Name``, ``SID``,
             ``objectClass``) with, where ``Get-ADUser`` could add them, ``Enabled``,
             ``LockedOut``, ``AccountExpirationDate``, ``LastLogonDate``; or an object
             ``{"error": "why not"}`` (no ActiveDirectory module; the WinRM double hop). A group
             with no entry is "members not visible".

Dates come as ``"\\/Date(1605771872777)\\/"`` (5.1) or ISO 8601 (7); a date before 1970 (the
``-11644387200000`` of FILETIME 0) means never. A local account is usable when it is enabled and
not expired (Windows has no "locked password plus key" state; lockout is not in Get-LocalUser).
The built-in Administrator (RID 500) disabled is not an unknown admin (every Windows has it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from probes.access import derive as access
from probes.access.identity import Identity
from probes.base import Facts, iso, parse_utc
from probes.base import lines as text_lines

SOURCES = {0: "unknown", 1: "local", 2: "domain", 3: "azuread", 4: "microsoft"}
_SOURCE_NAMES = {
    "unknown": "unknown",
    "local": "local",
    "activedirectory": "domain",
    "azuread": "azuread",
    "microsoftaccount": "microsoft",
}
_MS_DATE = re.compile(r"^/Date\((-?\d+)\)/$")
_SID = re.compile(r"^S-1-\d+(-\d+)+$")


def _json(text: str, what: str) -> Any:
    t = text.strip().lstrip("\ufeff")
    if not t:
        return []
    try:
        return json.loads(t)
    except ValueError:
        first = next((ln.strip() for ln in text_lines(t) if ln.strip()), "")
        hint = ""
        if "Failed to compare two elements" in t or "1789" in t:
            hint = (
                " (a member's SID cannot be resolved, PowerShell issue #2996: remove the "
                "orphaned member or list the group through ADSI)"
            )
        raise ValueError(f"{what}: not JSON: {first[:160]}{hint}") from None


def _items(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError("expected a JSON list of objects")
    return [d for d in data if isinstance(d, dict)]


def _sid(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("Value")
    return value if isinstance(value, str) and _SID.match(value) else None


def _source(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return SOURCES.get(value, "unknown")
    if isinstance(value, str):
        return _SOURCE_NAMES.get(value.replace(" ", "").lower(), "unknown")
    return "unknown"


def _date(value: Any) -> datetime | None:
    """A PowerShell date as ConvertTo-Json writes it; None for null or 'never'."""
    if value is None:
        return None
    if isinstance(value, dict):  # -Depth > 1 on PS 5.1 may give {"value": ..., "DateTime": ...}
        value = value.get("value", value.get("DateTime"))
    if isinstance(value, str):
        m = _MS_DATE.match(value.replace("\\/", "/"))
        if m:
            ms = int(m.group(1))
            return None if ms < 0 else datetime.fromtimestamp(ms / 1000, UTC)
        dt = parse_utc(value)
        return None if dt is None or dt.year < 1970 else dt
    return None


def parse(
    members: str,
    config: Mapping[str, Any],
    collected_at: datetime,
    users: str | None = None,
    domain: Mapping[str, str] | None = None,
) -> Facts:
    """The ``access.*`` facts from the recorded outputs (see the module docstring). Never
    raises: output it cannot read gives errors with the reason."""
    facts = Facts()
    try:
        _parse(facts, members, config, collected_at, users, domain or {})
    except Exception as exc:  # noqa: BLE001 - whatever the output, a parser returns facts
        reason = f"Windows administrators: {type(exc).__name__}: {exc}"[:400]
        if isinstance(exc, ValueError):
            reason = f"Windows administrators: {exc}"[:400]
        for name in access.PROVIDES:
            if name not in facts.values and name not in facts.errors:
                facts.error(name, reason)
    return facts


def _local_user_state(
    user: dict[str, Any] | None, now: datetime
) -> tuple[bool | None, bool | None, str | None, list[str]]:
    """(enabled, expired, last login, reasons) of a local user from Get-LocalUser."""
    if user is None:
        return None, None, None, ["its state is unknown (Get-LocalUser gave no entry for it)"]
    reasons: list[str] = []
    enabled = user.get("Enabled") if isinstance(user.get("Enabled"), bool) else None
    if enabled is False:
        reasons.append("the account is disabled")
    expires = _date(user.get("AccountExpires"))
    expired = expires is not None and expires <= now
    if expired and expires is not None:
        reasons.append(f"the account expired on {expires.date().isoformat()}")
    return enabled, expired, iso(_date(user.get("LastLogon"))), reasons


def _domain_user(
    m: dict[str, Any], now: datetime
) -> tuple[bool | None, bool | None, bool | None, str | None, list[str]]:
    """(enabled, locked, expired, last login, reasons) of a domain account, where visible."""
    reasons: list[str] = []
    enabled = m.get("Enabled") if isinstance(m.get("Enabled"), bool) else None
    locked = m.get("LockedOut") if isinstance(m.get("LockedOut"), bool) else None
    expires = _date(m.get("AccountExpirationDate"))
    expired: bool | None = expires is not None and expires <= now
    if enabled is None:
        reasons.append("whether it is enabled is not visible from this host (Get-ADUser)")
        expired = None if expires is None else expired
    elif enabled is False:
        reasons.append("the account is disabled in the domain")
    if locked:
        reasons.append("the account is locked out")
    if expired and expires is not None:
        reasons.append(f"the account expired on {expires.date().isoformat()}")
    return enabled, locked, expired, iso(_date(m.get("LastLogonDate"))), reasons


def _parse(
    facts: Facts,
    members_text: str,
    config: Mapping[str, Any],
    now: datetime,
    users_text: str | None,
    domain: Mapping[str, str],
) -> None:
    members = _items(_json(members_text, "Get-LocalGroupMember"))
    local_users: dict[str, dict[str, Any]] = {}
    users_problem = None
    if users_text is not None:
        try:
            for u in _items(_json(users_text, "Get-LocalUser")):
                sid = _sid(u.get("SID"))
                if sid:
                    local_users[sid] = u
                if isinstance(u.get("Name"), str):
                    local_users[u["Name"].lower()] = u
        except ValueError as e:
            users_problem = str(e)
    accounts: list[access.Account] = []
    hidden: list[str] = []  # domain groups whose members cannot be seen
    for m in members:
        name = m.get("Name") if isinstance(m.get("Name"), str) else None
        sid = _sid(m.get("SID"))
        shown = name or sid or "?"
        source = _source(m.get("PrincipalSource"))
        klass = str(m.get("ObjectClass") or "").lower()
        extra: dict[str, Any] = {"sid": sid}
        if klass == "group":
            accounts.extend(_group(shown, source, sid, domain.get(shown), now, hidden))
            continue
        if name is None:  # an unresolvable SID (ADSI fallback)
            accounts.append(
                access.Account(
                    name=shown,
                    source="unknown",
                    via=["administrators"],
                    exists=None,
                    reasons=["a member whose SID does not resolve to an account"],
                    extra=extra,
                )
            )
            continue
        if source == "local":
            short = name.rsplit("\\", 1)[-1]
            user = local_users.get(sid or "") or local_users.get(short.lower())
            if users_text is None or users_problem:
                user = None
            enabled, expired, last, reasons = _local_user_state(user, now)
            if user is None and users_problem:
                reasons = [f"its state is unknown: {users_problem}"]
            usable = access.all3([enabled, None if expired is None else not expired])
            accounts.append(
                access.Account(
                    name=name,
                    source="local",
                    via=["administrators"],
                    exists=True,
                    enabled=access.all3([enabled, None if expired is None else not expired]),
                    locked=False if user is not None else None,
                    expired=expired,
                    credential="password" if user is not None else None,
                    usable=usable,
                    last_login=last,
                    reasons=[] if usable else reasons,
                    inherent=bool(sid and sid.endswith("-500")),
                    extra=extra,
                )
            )
            continue
        accounts.append(
            access.Account(
                name=name,
                source=source,
                via=["administrators"],
                exists=True,
                reasons=[
                    f"a {source if source != 'unknown' else 'non-local'} account: whether it is "
                    "enabled is not visible from this host"
                ],
                extra=extra,
            )
        )

    def explain(ident: Identity) -> str:
        if ident.kind == "user":
            if ident.name.lower() in local_users:
                return "the local account exists but is not in the Administrators group"
            if users_text is None or users_problem:
                return "not a member of the Administrators group"
            return "no such local account on this system"
        if ident.kind == "device":
            return "a network-device identity: it does not apply to this system"
        if ident.kind == "group":
            return "no such local group in the Administrators group"
        return "not a member of the Administrators group (directly or through a visible group)"

    def maybe_hidden(ident: Identity) -> str | None:
        if ident.kind == "domain-user" and hidden:
            return f"it may be a member of {', '.join(hidden)}, whose members are not visible"
        return None

    access.derive(facts, accounts, config, "windows", None, explain, maybe_hidden)


def _group(
    name: str,
    source: str,
    sid: str | None,
    visible: str | None,
    now: datetime,
    hidden: list[str],
) -> list[access.Account]:
    """A group in Administrators, and its members where they can be seen."""
    group = access.Account(
        name=name, kind="group", source=source, via=["administrators"], extra={"sid": sid}
    )
    why = "its members are not visible from this host"
    data: Any = None
    if visible is not None:
        try:
            data = _json(visible, f"members of {name}")
        except ValueError as e:
            why = str(e)
    if isinstance(data, dict) and "error" in data:
        why = f"its members are not visible: {str(data['error'])[:200]}"
        data = None
    if data is None:
        group.reasons = [why]
        hidden.append(name)
        return [group]
    members: list[access.Account] = []
    for m in _items(data):
        klass = str(m.get("objectClass") or m.get("ObjectClass") or "").lower()
        if klass not in ("user", ""):
            continue  # computers; nested groups are already flattened by -Recursive
        sam = m.get("SamAccountName") or m.get("Name")
        domain = name.split("\\", 1)[0] if "\\" in name else ""
        member_name = f"{domain}\\{sam}" if domain else str(sam)
        enabled, locked, expired, last, reasons = _domain_user(m, now)
        usable = access.all3(
            [
                enabled,
                None if locked is None else not locked,
                None if expired is None else not expired,
            ]
        )
        members.append(
            access.Account(
                name=member_name,
                source="domain" if source == "local" else source,
                via=[f"group:{name}"],
                member_of=name,
                exists=True,
                enabled=access.all3([enabled, None if expired is None else not expired]),
                locked=locked,
                expired=expired,
                credential="password",
                usable=usable,
                last_login=last,
                reasons=[] if usable else reasons,
                extra={"sid": _sid(m.get("SID"))},
            )
        )
    group.extra["members"] = [a.name for a in members]
    group.exists = True
    group.usable = access.any3([a.usable for a in members]) if members else False
    group.enabled = group.usable
    if group.usable is False:
        group.reasons = ["it has no enabled member" if members else "it has no members"]
    elif group.usable is None:
        group.reasons = ["whether any member is enabled is not visible"]
    return [group, *members]
