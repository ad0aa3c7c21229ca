"""What the Entra and Google parsers share: the bundle, declared identities, three-valued logic,
and the derivation of the ``access.*`` and ``tenant.*`` facts from a list of accounts.

**The bundle** (written by ``scanner/engine/cloud/``, one per tenant)::

    {"schema": "undone.cloud/1", "platform": "m365" | "google-workspace",
     "collected_at": "2026-11-22T00:30:00Z",
     "token": {"kind": "application" | "delegated", "permissions": ["User.Read.All", ...]},
     "calls": {NAME: {"request": "GET https://graph.microsoft.com/v1.0/users?...",
                      "at": "...Z", "status": 200, "ok": true, "pages": 2, "items": 120,
                      "error": null | {"kind": KIND, "code": "Authorization_RequestDenied",
                                        "reason": "one line a person can act on"}}},
     "data": {NAME: <what the call returned: the items of every page, or the object>}}

``KIND`` is ``permission`` (the app or the signed-in user lacks a permission: the reason names
it), ``licence`` (the tenant lacks a licence: the reason names it), ``not-found``,
``throttled``, ``server``, ``network``, ``auth``, ``bad-response``, ``cap`` (not read: more than
the configured number of per-user requests) or ``skipped`` (not needed, with why).

**Declared identities** (the inventory's ``client_admins``, ``provider_admins`` and
``break_glass`` of a tenant; ``RawSection.config`` holds them as lists of strings)::

    head@school.example       an account, by its sign-in name (UPN or primary e-mail), its
                              e-mail address, or (for a Microsoft guest) its home address
    domain:msp.example        every account whose sign-in name or e-mail is in that domain
    id:6f87972e-2e7e-...      an account by its object id (Entra) or user id (Google)

Matching is case-insensitive. A name or id is more specific than a domain: an account named in
one list belongs to that side even when its domain is in the other's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from probes.base import Facts, RawSection, age_days, parse_utc

#: the ``tenant.*`` facts every tenant kind gives (each section adds its own after them, and the
#: ``access.*`` facts of :mod:`probes.access.derive` before them)
TENANT = (
    "tenant.name",
    "tenant.global_admins",
    "tenant.global_admin_count",
    "tenant.mfa_enforcement",
    "tenant.mfa_enforced_for_all",
    "tenant.mfa_registration_source",
    "tenant.admins_without_mfa",
    "tenant.admins_mfa_unknown",
    "tenant.users_without_mfa",
    "tenant.users_mfa_unknown",
    "tenant.users_total",
    "tenant.guests_without_mfa",
    "tenant.longest_unused_days",
    "tenant.unused_accounts",
    "tenant.break_glass_declared",
    "tenant.break_glass",
    "tenant.break_glass_problems",
    "tenant.app_permissions",
    "tenant.app_write_permissions",
)

SCHEMA = "undone.cloud/1"
FORMS = "NAME@DOMAIN, domain:DOMAIN or id:OBJECT-ID"

_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,128}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")
_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")

Tri = bool | None


def all3(values: Iterable[Tri]) -> Tri:
    """Three-valued AND: False if any is False, else None if any is None, else True."""
    vals = list(values)
    if False in vals:
        return False
    return None if None in vals else True


def any3(values: Iterable[Tri]) -> Tri:
    """Three-valued OR: True if any is True, else None if any is None, else False."""
    vals = list(values)
    if True in vals:
        return True
    return None if None in vals else False


def not3(value: Tri) -> Tri:
    return None if value is None else not value


# -- the bundle ---------------------------------------------------------------------------------


class BadBundle(ValueError):
    """The section's output is not a bundle of the expected platform."""


def load_bundle(text: str, platform: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise BadBundle(f"not a tenant bundle (JSON: {e})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BadBundle(f"not a tenant bundle (expected schema {SCHEMA})")
    if data.get("platform") != platform:
        raise BadBundle(f"a bundle of platform {data.get('platform')!r}, expected {platform}")
    if not isinstance(data.get("calls"), dict) or not isinstance(data.get("data"), dict):
        raise BadBundle("a tenant bundle without calls or data")
    return data


def parse_bundle(raw: RawSection, facts: Facts, provides: Iterable[str], platform: str,
                 derive: Callable[[Mapping[str, Any], Mapping[str, Any], datetime, Facts], None]
                 ) -> None:
    """The one way a tenant section is read (Entra and Google alike): the collector's bundle
    loaded (a bad one leaves every provided fact in error), then ``derive(bundle, config, now,
    facts)`` with "now" the moment the bundle was collected."""
    try:
        bundle = load_bundle(raw.stdout, platform)
    except BadBundle as e:
        facts.error_all(tuple(provides), f"{raw.name}: {e}")
        return
    now = parse_utc(str(bundle.get("collected_at") or "")) or raw.collected_at.astimezone(UTC)
    derive(bundle, raw.config, now, facts)


class Calls:
    """The calls of a bundle: whether each worked and, when not, why in one line."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self.calls: Mapping[str, Any] = bundle.get("calls") or {}
        self.data: Mapping[str, Any] = bundle.get("data") or {}

    def ok(self, name: str) -> bool:
        call = self.calls.get(name)
        return isinstance(call, dict) and call.get("ok") is True and name in self.data

    def get(self, name: str) -> Any:
        """The data of a call that worked (None otherwise)."""
        return self.data.get(name) if self.ok(name) else None

    def items(self, name: str) -> list[dict[str, Any]] | None:
        """The list a call returned, keeping only objects (None if the call did not work)."""
        got = self.get(name)
        if not isinstance(got, list):
            return None
        return [x for x in got if isinstance(x, dict)]

    def kind(self, name: str) -> str | None:
        call = self.calls.get(name)
        if not isinstance(call, dict) or call.get("ok") is True:
            return None
        err = call.get("error")
        return str(err.get("kind")) if isinstance(err, dict) else "error"

    def why(self, name: str) -> str:
        """Why a call's data is missing: the request and the reason, in one line."""
        call = self.calls.get(name)
        if not isinstance(call, dict):
            return f"{name}: not collected"
        request = str(call.get("request") or name)
        if call.get("ok") is True:
            return f"{request}: the response was not the expected shape"
        got = call.get("error")
        err: dict[str, Any] = got if isinstance(got, dict) else {}
        reason = str(err.get("reason") or err.get("code") or "failed")
        status = call.get("status")
        head = f"{request} (HTTP {status})" if status else request
        return f"{head}: {reason}"[:400]


# -- declared identities ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ident:
    text: str
    kind: str  # user | domain | id
    value: str  # lower case


def parse_identity(text: object) -> Ident:
    """One declared tenant identity; ``ValueError`` says what is wrong with it."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not text; expected {FORMS}")
    if not text or text != text.strip() or len(text) > 256:
        raise ValueError(f"{text!r} is empty, too long or has spaces at an end; expected {FORMS}")
    if text.startswith("domain:"):
        dom = text[len("domain:"):]
        if not _DOMAIN.match(dom):
            raise ValueError(f"{text!r}: {dom!r} is not a domain name")
        return Ident(text, "domain", dom.lower())
    if text.startswith("id:"):
        oid = text[len("id:"):]
        if not _ID.match(oid):
            raise ValueError(f"{text!r}: {oid!r} is not an object id (letters, digits, -)")
        return Ident(text, "id", oid.lower())
    if not _EMAIL.match(text):
        raise ValueError(f"{text!r} is not an account name; expected {FORMS}")
    return Ident(text, "user", text.lower())


def parse_identities(items: object) -> list[Ident]:
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected a list of identities ({FORMS})")
    out: list[Ident] = []
    for i, item in enumerate(items):
        try:
            out.append(parse_identity(item))
        except ValueError as e:
            raise ValueError(f"[{i}]: {e}") from None
    return out


def declared(config: Mapping[str, Any], key: str) -> list[Ident] | None:
    raw = config.get(key)
    if raw is None:
        return None
    return parse_identities(list(raw))


# -- accounts -----------------------------------------------------------------------------------


@dataclass
class Account:
    """One account of the tenant (a user, or an application holding a role)."""

    id: str
    name: str  # sign-in name (UPN or primary e-mail); an app's display name
    kind: str = "user"  # user | app
    addresses: frozenset[str] = frozenset()  # lower-case names it answers to (UPN, mail, ...)
    guest: bool = False
    enabled: Tri = None
    created: str | None = None
    # roles: [{"role": "Global Administrator", "full": True, "scope": "/", "via": "direct" |
    #          "group:IT Admins", "eligible": False}]
    roles: list[dict[str, Any]] = field(default_factory=list)
    mfa_enforced: Tri = None
    mfa_enforced_by: list[str] = field(default_factory=list)
    mfa_registered: Tri = None
    mfa_methods: list[str] | None = None
    mfa_reasons: list[str] = field(default_factory=list)  # why not enforced/registered/unknown
    last_sign_in: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def admin(self) -> bool:
        return bool(self.roles)

    @property
    def full_admin(self) -> bool:
        """Holds a full administrator role over the whole tenant (Global Administrator, super
        administrator), active or eligible."""
        return any(r.get("full") and r.get("scope") in (None, "/") for r in self.roles)

    @property
    def domains(self) -> set[str]:
        return {a.rsplit("@", 1)[1] for a in self.addresses if "@" in a}

    @property
    def protected(self) -> Tri:
        return all3([self.mfa_enforced, self.mfa_registered])

    def mfa_text(self) -> str:
        p = self.protected
        if p is True:
            return "protected"
        if p is None:
            return "unknown"
        if self.mfa_enforced is False and self.mfa_registered is False:
            return "not required and not registered"
        return "not required" if self.mfa_enforced is False else "not registered"


def match(acct: Account, ident: Ident) -> int:
    """How specifically ``ident`` names ``acct``: 2 by name or id, 1 by domain, 0 not at all."""
    if ident.kind == "id":
        return 2 if acct.id.lower() == ident.value else 0
    if ident.kind == "user":
        return 2 if ident.value in acct.addresses else 0
    return 1 if ident.value in acct.domains else 0


def owner_of(acct: Account, client: list[Ident] | None, provider: list[Ident] | None) -> str:
    c = max((match(acct, i) for i in client or ()), default=0)
    p = max((match(acct, i) for i in provider or ()), default=0)
    if c == 0 and p == 0:
        return "unknown"
    return "client" if c >= p else "provider"


def _role_names(acct: Account) -> list[str]:
    out: list[str] = []
    for r in acct.roles:
        label = str(r.get("role"))
        if r.get("eligible"):
            label += " (eligible)"
        if r.get("scope") not in (None, "/"):
            label += f" (scope {r.get('scope')})"
        via = r.get("via")
        if via and via != "direct":
            label += f" (via {via})"
        if label not in out:
            out.append(label)
    return out


def admin_row(acct: Account, owner: str, break_glass: bool) -> dict[str, Any]:
    """An administrator as the ``access.admins`` fact holds it (the keys reports/access.py reads,
    and the tenant's own)."""
    usable = all3([acct.enabled, acct.full_admin])
    reasons: list[str] = []
    if acct.enabled is False:
        reasons.append("the account is disabled")
    elif acct.enabled is None:
        reasons.append("whether the account is enabled is unknown")
    if not acct.full_admin:
        reasons.append("holds no full administrator role over the whole tenant")
    return {
        "name": acct.name,
        "id": acct.id,
        "kind": acct.kind,
        "source": "tenant",
        "owner": owner,
        "guest": acct.guest,
        "enabled": acct.enabled,
        "roles": _role_names(acct),
        "full_admin": acct.full_admin,
        "via": sorted({str(r.get("via") or "direct") for r in acct.roles}),
        "usable": usable,
        "mfa": acct.mfa_text() if acct.kind == "user" else "not applicable (an application)",
        "mfa_enforced_by": list(acct.mfa_enforced_by),
        "mfa_methods": acct.mfa_methods,
        "mfa_reasons": list(acct.mfa_reasons),
        "last_login": acct.last_sign_in,
        "break_glass": break_glass,
        "reasons": reasons,
    }


def derive_access(
    facts: Facts,
    accounts: list[Account],
    admins: list[Account] | None,
    config: Mapping[str, Any],
    incomplete: str | None,
    full_role: str,
) -> None:
    """The ``access.*`` facts of a tenant (the same names and meaning as a machine's, see
    probes/access/derive.py): ``admins`` holds every holder of an administrator role (None with
    ``incomplete`` saying why when the role assignments could not all be read).

    The client *can administer* the tenant when one of its declared accounts is enabled and
    holds ``full_role`` over the whole tenant; ``access.client_admin_problems`` is empty only
    when such an account is also protected by MFA (required and registered)."""
    client = declared(config, "client_admins")
    provider = declared(config, "provider_admins")
    glass = declared(config, "break_glass") or []
    facts.set(
        "access.declared",
        {
            "client": [i.text for i in client or ()],
            "provider": [i.text for i in provider or ()],
            "break_glass": [i.text for i in glass],
        },
    )
    facts.set("access.client_declared", bool(client))
    facts.set("access.identities_declared", bool(client) or bool(provider))
    if admins is None:
        why = incomplete or "the administrators could not be read"
        for name in (
            "access.admins",
            "access.unknown_admins",
            "access.provider_admin_usable",
        ):
            if name != "access.provider_admin_usable" or provider:
                facts.error(name, why)
        if client:
            for name in (
                "access.client_admin_present",
                "access.client_admin_enabled",
                "access.client_admin_usable",
                "access.client_admin_problems",
                "access.provider_only",
            ):
                facts.error(name, why)
        return
    is_glass = {a.id: any(match(a, g) == 2 for g in glass) for a in admins}
    # a declared break-glass account is known (not "unknown"), though neither side's unless a
    # list names it: it counts for neither the client's own access nor the provider's
    owners = {a.id: owner_of(a, client, provider) for a in admins}
    for a in admins:
        if owners[a.id] == "unknown" and is_glass[a.id]:
            owners[a.id] = "break-glass"
    facts.set("access.admins", [admin_row(a, owners[a.id], is_glass[a.id]) for a in admins])
    facts.set("access.unknown_admins", [a.name for a in admins if owners[a.id] == "unknown"])
    mine = [a for a in admins if owners[a.id] == "client" and a.full_admin]
    theirs = [a for a in admins if owners[a.id] not in ("client", "break-glass") and a.full_admin]
    if provider:
        prov = [a for a in theirs if owners[a.id] == "provider"]
        value = any3(all3([a.enabled, True]) for a in prov)
        if value is None:
            facts.error("access.provider_admin_usable", _unknown_enabled(prov))
        else:
            facts.set("access.provider_admin_usable", value)
    if not client:
        return
    facts.set("access.client_admin_present", bool(mine))
    enabled = any3(a.enabled for a in mine)
    if enabled is None:
        for name in ("access.client_admin_enabled", "access.client_admin_usable"):
            facts.error(name, _unknown_enabled(mine))
    else:
        facts.set("access.client_admin_enabled", enabled)
        facts.set("access.client_admin_usable", enabled)
    safe = any3(all3([a.enabled, a.protected]) for a in mine)
    if safe is True:
        facts.set("access.client_admin_problems", [])
    elif safe is False:
        facts.set(
            "access.client_admin_problems",
            _client_problems(client, accounts, admins, owners, full_role),
        )
    else:
        unsure = [a for a in mine if all3([a.enabled, a.protected]) is None]
        facts.error(
            "access.client_admin_problems",
            "; ".join(f"{a.name}: {'; '.join(a.mfa_reasons) or 'MFA state unknown'}"
                      for a in unsure)[:500] or "unknown",
        )
    if enabled is True:
        facts.set("access.provider_only", False)
    elif enabled is None:
        facts.error("access.provider_only", _unknown_enabled(mine))
    else:
        others = any3(a.enabled for a in theirs)
        if others is None:
            facts.error("access.provider_only", _unknown_enabled(theirs))
        else:
            facts.set("access.provider_only", others)


def _unknown_enabled(accounts: list[Account]) -> str:
    names = [a.name for a in accounts if a.enabled is None]
    return (f"whether {', '.join(names[:5])} is enabled could not be read" if names
            else "unknown")


def _client_problems(
    client: list[Ident],
    accounts: list[Account],
    admins: list[Account],
    owners: dict[str, str],
    full_role: str,
) -> list[str]:
    """Why no declared client account is an enabled, MFA-protected full administrator: one
    line per declared identity, in plain words."""
    out: list[str] = []
    for ident in client:
        hits = [a for a in admins if match(a, ident) and owners[a.id] == "client"]
        if not hits:
            taken = [a for a in admins if match(a, ident)]
            known = [a for a in accounts if match(a, ident)]
            if taken:
                out.append(f"{ident.text}: is also declared as the provider's ({taken[0].name})")
            elif known:
                names = ", ".join(a.name for a in known[:3])
                same = names.lower() == ident.value
                out.append(f"{ident.text}: " + ("" if same else f"{names} ")
                           + "holds no administrator role")
            else:
                out.append(f"{ident.text}: no such account in the tenant")
            continue
        for a in hits:
            why: list[str] = []
            if not a.full_admin:
                why.append(f"is not a {full_role} (holds {', '.join(_role_names(a))})")
            if a.enabled is False:
                why.append("the account is disabled")
            if a.protected is False:
                why.append(f"MFA {a.mfa_text()}")
            label = a.name if a.name.lower() == ident.value else f"{ident.text} ({a.name})"
            out.append(f"{label}: {'; '.join(why) or 'cannot be used'}")
    return out


def derive_mfa_lists(facts: Facts, users: list[Account], admins: list[Account] | None,
                     admins_why: str | None) -> None:
    """``tenant.admins_without_mfa`` (every enabled administrator, A7.16) and
    ``tenant.users_without_mfa`` (every enabled member account, A7.17): one line per account
    whose MFA is not both required and registered. A failure already proven is listed even
    when others are unknown (they are in ``..._mfa_unknown``); with no proven failure and some
    unknown, the fact is an error naming why."""
    enabled_members = [u for u in users if u.enabled is not False and not u.guest]
    _mfa_list(facts, "tenant.users_without_mfa", "tenant.users_mfa_unknown", enabled_members)
    facts.set("tenant.users_total", len(enabled_members))
    guests = [u for u in users if u.enabled is not False and u.guest]
    facts.set("tenant.guests_without_mfa",
              [f"{u.name}: MFA {u.mfa_text()}" for u in guests if u.protected is not True])
    if admins is None:
        why = admins_why or "the administrators could not be read"
        facts.error("tenant.admins_without_mfa", why)
        facts.error("tenant.admins_mfa_unknown", why)
        return
    people = [a for a in admins if a.kind == "user" and a.enabled is not False]
    _mfa_list(facts, "tenant.admins_without_mfa", "tenant.admins_mfa_unknown", people,
              guests_too=True)


def _line(a: Account, glass: set[str]) -> str:
    tag = " (declared break-glass account)" if a.id in glass else ""
    why = "; ".join(a.mfa_reasons)
    return f"{a.name}{tag}: MFA {a.mfa_text()}" + (f" ({why})" if why else "")


def _mfa_list(facts: Facts, name: str, unknown_name: str, accounts: list[Account],
              guests_too: bool = False) -> None:
    glass = {a.id for a in accounts if a.extra.get("break_glass")}
    failed = [a for a in accounts if a.protected is False]
    unsure = [a for a in accounts if a.protected is None]
    facts.set(unknown_name, [f"{a.name}: {'; '.join(a.mfa_reasons) or 'unknown'}"
                             for a in unsure])
    if failed or not unsure:
        facts.set(name, [_line(a, glass) for a in failed])
    else:
        reasons = sorted({r for a in unsure for r in a.mfa_reasons}) or ["unknown"]
        facts.error(name, f"MFA of {len(unsure)} account(s) unknown: " + "; ".join(reasons)[:400])


def derive_unused(facts: Facts, users: list[Account], now: datetime,
                  unavailable: str | None) -> None:
    """``tenant.longest_unused_days``: the most days any enabled account has gone without
    signing in (since its creation when it never has), and ``tenant.unused_accounts``: every
    enabled account with its days and their basis, longest first. ``unavailable`` is why sign-in
    times could not be read (a licence, a permission): both facts are then errors."""
    names = ("tenant.longest_unused_days", "tenant.unused_accounts")
    if unavailable:
        facts.error_all(names, unavailable)
        return
    rows: list[tuple[float, str]] = []
    unknown: list[str] = []
    for u in users:
        if u.enabled is False or u.kind != "user":
            continue
        last = parse_utc(u.last_sign_in) if u.last_sign_in else None
        if last is not None:
            days = age_days(last, now)
            rows.append((days, f"{u.name}: {days:g} days since the last sign-in"))
            continue
        created = parse_utc(u.created) if u.created else None
        if created is None:
            unknown.append(u.name)
            continue
        days = age_days(created, now)
        rows.append((days, f"{u.name}: never signed in; created {days:g} days ago"))
    if unknown:
        facts.error_all(names, f"neither a sign-in nor a creation time for "
                               f"{', '.join(unknown[:5])}" + (" ..." if len(unknown) > 5 else ""))
        return
    rows.sort(key=lambda r: -r[0])
    facts.set("tenant.longest_unused_days", rows[0][0] if rows else 0.0)
    facts.set("tenant.unused_accounts", [text for _, text in rows[:200]])


def derive_break_glass(facts: Facts, users: list[Account], config: Mapping[str, Any],
                       users_why: str | None, full_role: str,
                       extra: Mapping[str, list[str]] | None = None,
                       roles_why: str | None = None) -> None:
    """``tenant.break_glass_declared``, ``tenant.break_glass`` (each declared account as found)
    and ``tenant.break_glass_problems``: a declared break-glass account that does not exist, is
    disabled, is not a full administrator, or has no MFA method registered (an emergency
    account still signs in with a strong method: Microsoft has required MFA for its admin
    portals since 2024). ``extra`` adds, per account id, facts worth reading (the policies that
    exclude it); ``roles_why`` is why the role assignments are not all known (then "not a full
    administrator" is unknown, not a problem)."""
    glass = declared(config, "break_glass") or []
    facts.set("tenant.break_glass_declared", bool(glass))
    if not glass:
        facts.set("tenant.break_glass", [])
        facts.set("tenant.break_glass_problems", [])
        return
    if users_why:
        facts.error_all(("tenant.break_glass", "tenant.break_glass_problems"), users_why)
        return
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    unknown: list[str] = []
    for ident in glass:
        hits = [u for u in users if match(u, ident) == 2]
        if not hits:
            rows.append({"declared": ident.text, "exists": False})
            problems.append(f"{ident.text}: no such account in the tenant")
            continue
        for u in hits:
            row = {
                "declared": ident.text,
                "name": u.name,
                "exists": True,
                "enabled": u.enabled,
                "full_admin": u.full_admin,
                "roles": _role_names(u),
                "mfa_registered": u.mfa_registered,
                "mfa_methods": u.mfa_methods,
                "mfa_enforced_by": list(u.mfa_enforced_by),
                "last_sign_in": u.last_sign_in,
            }
            if extra and u.id in extra:
                row["excluded_from"] = list(extra[u.id])
            rows.append(row)
            why: list[str] = []
            if u.enabled is False:
                why.append("disabled")
            if roles_why and not u.full_admin:
                unknown.append(f"{u.name}: whether it is a {full_role} is unknown ({roles_why})")
            elif not u.full_admin:
                why.append(f"not a {full_role}")
            if u.mfa_registered is False:
                why.append("no MFA method registered")
            elif u.mfa_registered is None:
                why_not = "; ".join(u.mfa_reasons) or "MFA registration unknown"
                unknown.append(f"{u.name}: {why_not}")
            if u.enabled is None:
                unknown.append(f"{u.name}: whether it is enabled is unknown")
            if why:
                problems.append(f"{u.name}: {', '.join(why)}")
    facts.set("tenant.break_glass", rows)
    if problems or not unknown:
        facts.set("tenant.break_glass_problems", problems)
    else:
        facts.error("tenant.break_glass_problems", "; ".join(unknown)[:400])


def derive_counts(facts: Facts, admins: list[Account] | None, why: str | None) -> None:
    """``tenant.global_admins`` (enabled people holding a full administrator role, active or
    eligible; an application holding one is an administrator, listed in ``access.admins``, but
    not one of the people counted here) and their count."""
    if admins is None:
        facts.error_all(("tenant.global_admins", "tenant.global_admin_count"),
                        why or "the administrators could not be read")
        return
    full = [a for a in admins if a.full_admin and a.enabled is not False and a.kind == "user"]
    unsure = [a for a in full if a.enabled is None]
    if unsure:
        facts.error_all(("tenant.global_admins", "tenant.global_admin_count"),
                        _unknown_enabled(unsure))
        return
    facts.set("tenant.global_admins", sorted(a.name for a in full))
    facts.set("tenant.global_admin_count", len(full))


def guests_with_roles(admins: list[Account]) -> list[str]:
    return [f"{a.name} ({', '.join(_role_names(a))})" for a in admins if a.guest]
