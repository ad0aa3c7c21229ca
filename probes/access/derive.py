"""From a system's administrative accounts and the declared identities to the ``access.*`` facts.

A platform parser lists every account (or group) with administrative rights as an
:class:`Account`, says whether that list is complete (``incomplete``: the reason it may not be),
and calls :func:`derive` with the identities declared for the host (``RawSection.config``:
``client_admins`` and ``provider_admins``, lists of strings in the grammar of
:mod:`probes.access.identity`; ``None`` when not declared).

Facts (three-valued: a fact that cannot be known is an error with the reason, never a guess)::

    access.declared            {"client": ["alice", "%it"], "provider": ["msp"]}
    access.client_declared     true          (client identities declared for this host)
    access.identities_declared true          (client or provider identities declared)
    access.admins              [{name, kind, source, via, owner, exists, enabled, locked,
                                 expired, credential, usable, last_login, reasons, ...}]
                               owner: client | provider | unknown; via: uid0, sudo-group,
                               wheel, admin-group, sudoers, administrators, group:NAME,
                               device-admin ...; usable: true/false/null (null: unknown)
    access.unknown_admins      ["toor"]      (admins that are neither the client's nor the
                                             provider's; root that nobody can log in as is
                                             not counted: every system has one)
    access.client_admin_present  true        (a client identity has an administrator account)
    access.client_admin_enabled  true        (... that is enabled: not locked, not expired)
    access.client_admin_usable   true        (... that has a usable credential: the client
                                             can administer this system)
    access.client_admin_problems []          (why not, in plain words; [] when usable)
    access.provider_admin_usable true        (the provider can administer this system)
    access.provider_only       false         (someone else can administer it and the client
                                             cannot: "your provider can administer this system
                                             and you cannot")

The client facts and ``access.provider_only`` are left out (neither a value nor an error) when no
client identity is declared for the host, and ``access.provider_admin_usable`` when no provider
identity is: the rules that need them are then not applicable, and the host's record does not
fill up with errors for a feature nobody asked for.

An owner is decided by the most specific match: an account named in a list (``alice``,
``EXAMPLE\\alice``, ``device:admin``) belongs to that side even when it is also in the other
side's group; a group match (``%sudo``, ``group:EXAMPLE\\IT Admins``) counts next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from probes.access.identity import Identity
from probes.access.identity import parse_all as parse_identities
from probes.base import Facts

PROVIDES = (
    "access.declared",
    "access.client_declared",
    "access.identities_declared",
    "access.admins",
    "access.unknown_admins",
    "access.client_admin_present",
    "access.client_admin_enabled",
    "access.client_admin_usable",
    "access.client_admin_problems",
    "access.provider_admin_usable",
    "access.provider_only",
)
CLIENT_FACTS = (
    "access.client_admin_present",
    "access.client_admin_enabled",
    "access.client_admin_usable",
    "access.client_admin_problems",
)
PLATFORMS = ("posix", "windows", "device")
# the identity kinds that can name an account on each kind of system
APPLIES = {
    "posix": ("user", "group"),
    "windows": ("user", "group", "domain-user", "domain-group"),
    "device": ("user", "device"),
}

Tri = bool | None


@dataclass
class Account:
    """One account (or group) with administrative rights on a system."""

    name: str  # as the system shows it: alice, HOST\\alice, EXAMPLE\\IT Admins, %admins, ALL
    kind: str = "user"  # user | group | all (a rule that names every user)
    source: str = "local"  # local | domain | azuread | microsoft | device | unknown
    via: list[str] = field(default_factory=list)
    groups: frozenset[str] = frozenset()  # local groups it belongs to (POSIX %group matching)
    member_of: str | None = None  # an expanded group member: the group's name (as above)
    exists: Tri = True
    enabled: Tri = None
    locked: Tri = None
    expired: Tri = None
    credential: str | None = None  # password | key | password+key | remote | none | None
    usable: Tri = None
    last_login: str | None = None
    reasons: list[str] = field(default_factory=list)  # why not usable / what is unknown
    inherent: bool = False  # the built-in superuser: not "unknown" when nobody can use it
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def short(self) -> str:
        return self.name.rsplit("\\", 1)[-1]

    def as_fact(self, owner: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "via": list(self.via),
            "owner": owner,
            "exists": self.exists,
            "enabled": self.enabled,
            "locked": self.locked,
            "expired": self.expired,
            "credential": self.credential,
            "usable": self.usable,
            "last_login": self.last_login,
            "reasons": list(self.reasons),
        }
        if self.member_of:
            out["member_of"] = self.member_of
        out.update(self.extra)
        return out


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


def declared(config: Mapping[str, Any], key: str) -> list[Identity] | None:
    """The identities declared under ``key`` (None when not declared). The inventory validated
    them; a bad one here (a hand-made config) raises ValueError, which the parser's guard turns
    into errors."""
    raw = config.get(key)
    if raw is None:
        return None
    return parse_identities(list(raw))


def _eq(a: str, b: str, platform: str) -> bool:
    return a.lower() == b.lower() if platform == "windows" else a == b


def match(acct: Account, ident: Identity, platform: str) -> int:
    """How specifically ``ident`` names ``acct``: 2 by name, 1 through a group, 0 not at all."""
    kind = ident.kind
    # a device's wildcard admin (every user of a RADIUS group) is still named on the device
    named = acct.kind == "user" or (acct.kind == "all" and acct.source == "device")
    if kind == "user":
        if named and acct.source in ("local", "device"):
            return 2 if _eq(acct.short, ident.name, platform) else 0
        return 0
    if kind == "device":
        return 2 if platform == "device" and named and acct.name == ident.name else 0
    if kind == "domain-user":
        ok = (
            acct.kind == "user"
            and acct.source != "local"
            and _eq(acct.name, ident.qualified, platform)
        )
        return 2 if ok else 0
    if kind == "domain-group":
        if acct.kind == "group" and _eq(acct.name, ident.qualified, platform):
            return 2
        if acct.member_of and _eq(acct.member_of, ident.qualified, platform):
            return 1
        return 0
    # a local group
    if platform == "posix":
        if acct.kind == "group" and acct.name == "%" + ident.name:
            return 2
        return 1 if ident.name in acct.groups else 0
    if platform == "windows":
        local_group = acct.kind == "group" and acct.source == "local"
        if local_group and _eq(acct.short, ident.name, platform):
            return 2
        if acct.member_of and _eq(acct.member_of.rsplit("\\", 1)[-1], ident.name, platform):
            return 1
        return 0
    return 1 if ident.name in acct.groups else 0


def owner_of(
    acct: Account,
    client: list[Identity] | None,
    provider: list[Identity] | None,
    platform: str,
) -> str:
    c = max((match(acct, i, platform) for i in client or ()), default=0)
    p = max((match(acct, i, platform) for i in provider or ()), default=0)
    if c == 0 and p == 0:
        return "unknown"
    return "client" if c >= p else "provider"


def derive(
    facts: Facts,
    accounts: list[Account],
    config: Mapping[str, Any],
    platform: str,
    incomplete: str | None = None,
    explain_missing: Callable[[Identity], str] | None = None,
    maybe_hidden: Callable[[Identity], str | None] | None = None,
) -> None:
    """Set every ``access.*`` fact from ``accounts`` (the system's administrators) and the
    identities declared in ``config``. ``incomplete`` is the reason the list may lack some
    administrators (then whatever depends on the whole list is an error with that reason);
    ``explain_missing`` says, for a client identity that matched no administrator, why (for
    instance "alice exists but has no administrator rights"); ``maybe_hidden`` says, for an
    identity that matched nothing, why it may still be an administrator unseen (a member of a
    domain group whose members are not visible), which makes "no" unknown."""
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}")
    client = declared(config, "client_admins")
    provider = declared(config, "provider_admins")
    facts.set(
        "access.declared",
        {
            "client": [i.text for i in client or ()],
            "provider": [i.text for i in provider or ()],
        },
    )
    facts.set("access.client_declared", bool(client))
    facts.set("access.identities_declared", bool(client) or bool(provider))
    owners = {id(a): owner_of(a, client, provider, platform) for a in accounts}
    # an expanded member that no identity names directly belongs with its group
    by_name = {a.name.lower(): a for a in accounts if a.kind == "group"}
    for a in accounts:
        if owners[id(a)] == "unknown" and a.member_of:
            group = by_name.get(a.member_of.lower())
            if group is not None:
                owners[id(a)] = owners[id(group)]
    rows = [a.as_fact(owners[id(a)]) for a in accounts]
    if incomplete:
        facts.error("access.admins", incomplete)
        facts.error("access.unknown_admins", incomplete)
    else:
        facts.set("access.admins", rows)
        facts.set(
            "access.unknown_admins",
            [
                a.name
                for a in accounts
                if owners[id(a)] == "unknown"
                and not a.member_of
                and not (a.inherent and a.usable is False)
            ],
        )
    mine = [a for a in accounts if owners[id(a)] == "client"]
    theirs = [a for a in accounts if owners[id(a)] != "client"]
    gap: Tri = None if incomplete else False  # what an incomplete list may still hold

    def unseen(idents: list[Identity] | None, side: list[Account]) -> str | None:
        """Why some of ``idents`` may be administrators this list does not show."""
        if maybe_hidden is None:
            return incomplete
        why = [
            r
            for i in idents or ()
            if not any(match(a, i, platform) for a in side) and (r := maybe_hidden(i))
        ]
        return "; ".join(filter(None, [incomplete, *why])) or None

    client_unseen = unseen(client, mine)
    cgap: Tri = None if client_unseen else False
    client_usable: Tri = None
    if client:
        present = any3([*(a.exists for a in mine), cgap])
        enabled = any3([*(all3([a.exists, a.enabled]) for a in mine), cgap])
        client_usable = any3([*(a.usable for a in mine), cgap])
        _set3(facts, "access.client_admin_present", present, mine, client_unseen)
        _set3(facts, "access.client_admin_enabled", enabled, mine, client_unseen)
        _set3(facts, "access.client_admin_usable", client_usable, mine, client_unseen)
        if client_usable is True:
            facts.set("access.client_admin_problems", [])
        elif client_usable is False:
            facts.set(
                "access.client_admin_problems",
                _problems(client, mine, accounts, owners, platform, explain_missing),
            )
        else:
            facts.error("access.client_admin_problems", _unknown(mine, client_unseen))
    if provider:
        prov = [a for a in accounts if owners[id(a)] == "provider"]
        provider_unseen = unseen(provider, prov)
        _set3(
            facts,
            "access.provider_admin_usable",
            any3([*(a.usable for a in prov), None if provider_unseen else False]),
            prov,
            provider_unseen,
        )
    if not client:
        pass  # nothing to judge: the rules are not applicable (access.client_declared)
    elif client_usable is True:
        facts.set("access.provider_only", False)
    elif client_usable is None:
        facts.error("access.provider_only", _unknown(mine, client_unseen))
    else:
        others = any3([*(a.usable for a in theirs), gap])
        if others is None:
            facts.error("access.provider_only", _unknown(theirs, incomplete))
        else:
            facts.set("access.provider_only", others)


def _unknown(accounts: list[Account], incomplete: str | None) -> str:
    parts = [f"{a.name}: {'; '.join(a.reasons) or 'unknown'}" for a in accounts if a.usable is None]
    if incomplete:
        parts.append(incomplete)
    return "; ".join(parts)[:500] or "unknown"


def _set3(
    facts: Facts, name: str, value: Tri, accounts: list[Account], incomplete: str | None
) -> None:
    if value is None:
        facts.error(name, _unknown(accounts, incomplete))
    else:
        facts.set(name, value)


def _problems(
    client: list[Identity],
    mine: list[Account],
    accounts: list[Account],
    owners: dict[int, str],
    platform: str,
    explain_missing: Callable[[Identity], str] | None,
) -> list[str]:
    """Why no client identity gives a usable administrator account, one line per identity
    (identities that cannot exist on this kind of system are left out while others can)."""
    out: list[str] = []
    fitting = [i for i in client if i.kind in APPLIES[platform]]
    if not fitting:
        kinds = ", ".join(sorted({i.kind for i in client}))
        names = ", ".join(i.text for i in client)
        return [f"{names}: no declared identity can exist on this system ({kinds})"]
    for ident in fitting:
        hits = [a for a in mine if match(a, ident, platform)]
        if not hits:
            taken = [a for a in accounts if match(a, ident, platform) and owners[id(a)] != "client"]
            if taken:
                out.append(f"{ident.text}: is also the provider's ({taken[0].name})")
            elif explain_missing is not None:
                out.append(f"{ident.text}: {explain_missing(ident)}")
            else:
                out.append(f"{ident.text}: no administrator account matches it here")
            continue
        for a in hits:
            why = "; ".join(a.reasons) or "not usable"
            label = a.name if a.name == ident.text else f"{ident.text} ({a.name})"
            out.append(f"{label}: {why}")
    return out
