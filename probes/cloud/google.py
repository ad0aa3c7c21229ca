"""Google Workspace: super and delegated administrators, whose they are, and 2-Step Verification
for every admin and user.

The section's output is the customer's bundle (``probes/cloud/_common.py``), collected by
``scanner/engine/cloud/google.py`` with GET requests only, as a service account with domain-wide
delegation and read-only scopes. :data:`CALLS` is what is read, with the scope each call needs.

Facts: the same names as :mod:`probes.cloud.entra` where they mean the same (``access.*``,
``tenant.global_admins`` are the super administrators, ``tenant.admins_without_mfa``,
``tenant.users_without_mfa``, ``tenant.longest_unused_days``, break-glass, ...), plus::

    tenant.mfa_policy_by_ou     [{"ou": "/Staff", "enforced": true, "enforced_from": "...",
                                  "users": 40, "methods": "NO_TELEPHONY", "set_at": "/"}]

**2SV per user** is Google's own view of each account: ``isEnforcedIn2Sv`` (2-Step Verification
is required of the user, whatever set it: an organisational unit's or a group's policy) and
``isEnrolledIn2Sv`` (the user has set up a second step). **2SV per organisational unit** comes
from the Cloud Identity Policy API: the ``security.two_step_verification_enforcement`` setting
nearest up the tree; enforced when its ``enforcedFrom`` time is set (not the epoch) and past (as
ScubaGoggles and prowler read it). A unit with no setting anywhere above it is not enforced
(Google's default).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from probes.access import derive as access
from probes.base import Facts, RawSection, guard, parse_utc
from probes.cloud import _common as c

PLATFORM = "google-workspace"
ADMIN_API = "https://admin.googleapis.com"
POLICY_API = "https://cloudidentity.googleapis.com"
EPOCH = "1970-01-01T00:00:00"
SUPER_ADMIN = "Super Admin"

SCOPES = {
    "users": "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "roles": "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly",
    "members": "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
    "orgunits": "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
    "policies": "https://www.googleapis.com/auth/cloud-identity.policies.readonly",
}
#: What undone reads: name -> (API root, request path, the read-only scope it needs). A name
#: ending in ``/`` is a family of per-object calls; ``{customer}`` is the customer id.
CALLS: dict[str, tuple[str, str, str]] = {
    "users": (ADMIN_API, "/admin/directory/v1/users?customer={customer}&maxResults=500"
              "&projection=basic&orderBy=email", SCOPES["users"]),
    "roles": (ADMIN_API, "/admin/directory/v1/customer/{customer}/roles?maxResults=100",
              SCOPES["roles"]),
    "role_assignments": (ADMIN_API, "/admin/directory/v1/customer/{customer}/roleassignments"
                         "?maxResults=200", SCOPES["roles"]),
    "group_members/": (ADMIN_API, "/admin/directory/v1/groups/{id}/members"
                       "?includeDerivedMembership=true&maxResults=200", SCOPES["members"]),
    "orgunits": (ADMIN_API, "/admin/directory/v1/customer/{customer}/orgunits?type=all",
                 SCOPES["orgunits"]),
    "policies": (POLICY_API, "/v1/policies?filter=setting.type.matches('security.*')"
                 "&pageSize=100", SCOPES["policies"]),
}
QUERY = "Google Admin SDK Directory and Cloud Identity Policy APIs (GET only): " + "; ".join(
    f"{name.rstrip('/')}: GET {root}{path} [{scope.rsplit('/', 1)[1]}]"
    for name, (root, path, scope) in CALLS.items()
)

PROVIDES = (
    *access.PROVIDES,
    *c.TENANT,
    "tenant.mfa_policy_by_ou",
)


def request_path(name: str, customer: str, object_id: str | None = None) -> tuple[str, str]:
    """(API root, path) of a call of :data:`CALLS`."""
    root, path, _ = CALLS[name if object_id is None else name + "/"]
    path = path.replace("{customer}", customer)
    if object_id is not None:
        path = path.replace("{id}", object_id)
    return root, path


def _time(text: object) -> str | None:
    """A Directory API time, or None for none and for the epoch (Google's "never")."""
    if not isinstance(text, str) or text.startswith(EPOCH):
        return None
    dt = parse_utc(text)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def _account(u: Mapping[str, Any]) -> c.Account:
    primary = str(u.get("primaryEmail") or u.get("id"))
    addresses = {primary.lower()}
    for alias in u.get("aliases") or ():
        if isinstance(alias, str):
            addresses.add(alias.lower())
    for e in u.get("emails") or ():
        if isinstance(e, dict) and isinstance(e.get("address"), str):
            addresses.add(e["address"].lower())
    suspended, archived = u.get("suspended"), u.get("archived")
    enabled: c.Tri = None
    if isinstance(suspended, bool):
        enabled = not suspended and archived is not True
    acct = c.Account(
        id=str(u.get("id")),
        name=primary,
        addresses=frozenset(addresses),
        guest=u.get("isGuestUser") is True,
        enabled=enabled,
        created=_time(u.get("creationTime")),
        last_sign_in=_time(u.get("lastLoginTime")),
    )
    acct.extra["ou"] = str(u.get("orgUnitPath") or "/")
    enforced, enrolled = u.get("isEnforcedIn2Sv"), u.get("isEnrolledIn2Sv")
    acct.mfa_enforced = enforced if isinstance(enforced, bool) else None
    acct.mfa_registered = enrolled if isinstance(enrolled, bool) else None
    if acct.mfa_enforced:
        acct.mfa_enforced_by.append("2-step verification enforced")
    elif acct.mfa_enforced is False:
        acct.mfa_reasons.append("2-step verification is not enforced for this user")
    else:
        acct.mfa_reasons.append("isEnforcedIn2Sv missing from the user record")
    if acct.mfa_registered is False:
        acct.mfa_reasons.append("not enrolled in 2-step verification")
    elif acct.mfa_registered is None:
        acct.mfa_reasons.append("isEnrolledIn2Sv missing from the user record")
    acct.extra["is_admin"] = u.get("isAdmin") is True
    acct.extra["is_delegated_admin"] = u.get("isDelegatedAdmin") is True
    return acct


def _admins(users: dict[str, c.Account], calls: c.Calls,
            ou_paths: dict[str, str]) -> tuple[list[c.Account] | None, str | None]:
    problems: list[str] = []
    roles = calls.items("roles")
    assignments = calls.items("role_assignments")
    role_of: dict[str, dict[str, Any]] = {}
    if roles is None:
        problems.append(calls.why("roles"))
    else:
        role_of = {str(r.get("roleId")): r for r in roles}
    if assignments is None:
        problems.append(calls.why("role_assignments"))
    admins: dict[str, c.Account] = {}
    others: dict[str, c.Account] = {}

    def grant(acct: c.Account, role: str, full: bool, scope: str, via: str) -> None:
        entry = {"role": role, "full": full, "scope": scope, "via": via, "eligible": False}
        if entry not in acct.roles:
            acct.roles.append(entry)
        admins[acct.id] = acct

    for acct in users.values():
        if acct.extra.get("is_admin"):
            grant(acct, SUPER_ADMIN, True, "/", "direct")
    for ra in assignments or ():
        role = role_of.get(str(ra.get("roleId")), {})
        name = str(role.get("roleName") or ra.get("roleId"))
        full = role.get("isSuperAdminRole") is True
        scope = "/"
        if str(ra.get("scopeType") or "CUSTOMER").upper() == "ORG_UNIT":
            oid = str(ra.get("orgUnitId") or "")
            scope = ou_paths.get(oid, ou_paths.get(f"id:{oid}", f"orgUnit {oid}"))
        if ra.get("condition"):
            name += " (conditional)"
        assignee = str(ra.get("assignedTo"))
        kind = str(ra.get("assigneeType") or "user").lower()  # absent in older responses: user
        if kind == "group":
            members = calls.items(f"group_members/{assignee}")
            if members is None:
                problems.append(calls.why(f"group_members/{assignee}"))
                continue
            for m in members:
                if str(m.get("type") or "USER").upper() != "USER":
                    continue
                member = users.get(str(m.get("id")))
                if member is None:
                    problems.append(f"group {assignee} holds member {m.get('email')}, "
                                    "who is not in the users list")
                    continue
                grant(member, name, full, scope, f"group:{assignee}")
            continue
        holder = users.get(assignee) or others.get(assignee)
        if holder is None:
            # not a user of the customer: a service account holding an administrator role
            holder = others[assignee] = c.Account(id=assignee, name=f"service account {assignee}",
                                                  kind="app", enabled=True)
        grant(holder, name, full, scope, "direct")
    # a delegated administrator whose role assignment was not seen is still an administrator
    for acct in users.values():
        if acct.extra.get("is_delegated_admin") and acct.id not in admins:
            grant(acct, "delegated administrator", False, "/", "direct")
    if problems:
        return None, "; ".join(dict.fromkeys(problems))[:500]
    return sorted(admins.values(), key=lambda a: a.name.lower()), None


def _ou_paths(calls: c.Calls) -> tuple[dict[str, str], str | None]:
    """Organisational unit id (``id:...`` and bare) -> path, and the root unit's id if seen."""
    units = calls.items("orgunits") or []
    paths: dict[str, str] = {}
    root: str | None = None
    for u in units:
        oid = str(u.get("orgUnitId") or "")
        path = str(u.get("orgUnitPath") or "")
        if oid and path:
            paths[oid] = path
            paths[oid.removeprefix("id:")] = path
        if u.get("parentOrgUnitPath") == "/" and u.get("parentOrgUnitId"):
            root = str(u["parentOrgUnitId"]).removeprefix("id:")
    if root:
        paths[root] = "/"
        paths[f"id:{root}"] = "/"
    return paths, root


def _collect(policies: list[dict[str, Any]], paths: Mapping[str, str]) -> tuple[
        dict[str, tuple[float, dict[str, Any]]], dict[str, str], set[str]]:
    """The 2SV enforcement and allowed-methods settings per unit path (the highest sortOrder
    wins where a unit holds several), and the unit ids no path is known for."""
    enforcement: dict[str, tuple[float, dict[str, Any]]] = {}
    methods: dict[str, str] = {}
    unmapped: set[str] = set()
    for p in policies:
        setting = p.get("setting") or {}
        stype = str(setting.get("type") or "")
        query = p.get("policyQuery") or {}
        if query.get("group") or not stype.startswith("settings/security.two_step"):
            continue  # a group's policy shows in each member's isEnforcedIn2Sv
        ou = str(query.get("orgUnit") or "").removeprefix("orgUnits/")
        path = paths.get(ou)
        if path is None:
            unmapped.add(ou)
            continue
        order = float(query.get("sortOrder") or 0)
        value = setting.get("value") or {}
        if stype.endswith("security.two_step_verification_enforcement"):
            if path not in enforcement or order >= enforcement[path][0]:
                enforcement[path] = (order, value)
        elif stype.endswith("security.two_step_verification_enforcement_factor"):
            methods[path] = str(value.get("allowedSignInFactorSet") or "")
    return enforcement, methods, unmapped


def _ou_policy(calls: c.Calls, users: list[c.Account], now: datetime,
               facts: Facts) -> None:
    names = ("tenant.mfa_policy_by_ou", "tenant.mfa_enforced_for_all")
    policies = calls.items("policies")
    if policies is None:
        facts.error_all(names, calls.why("policies"))
        return
    if not calls.ok("orgunits"):
        facts.error_all(names, calls.why("orgunits"))
        return
    paths, _ = _ou_paths(calls)
    enforcement, methods, unmapped = _collect(policies, paths)
    if len(unmapped) == 1 and "/" not in paths.values():
        # no sub-unit names the root's id: the one unit the policies name that the list does
        # not hold is the root (a customer without sub-units lists none)
        paths[next(iter(unmapped))] = "/"
        enforcement, methods, unmapped = _collect(policies, paths)
    if unmapped:
        facts.error_all(names, "policies name organisational units not in the list read: "
                               + ", ".join(sorted(unmapped))[:200])
        return
    _ou_rows(enforcement, methods, users, now, facts)


def _nearest(path: str, table: Mapping[str, Any]) -> str | None:
    p = path
    while True:
        if p in table:
            return p
        if p in ("/", ""):
            return None
        p = p.rsplit("/", 1)[0] or "/"


def _ou_rows(enforcement: dict[str, tuple[float, dict[str, Any]]], methods: dict[str, str],
             users: list[c.Account], now: datetime, facts: Facts) -> None:
    counts: dict[str, int] = {}
    for u in users:
        if u.enabled is not False:
            ou = str(u.extra.get("ou") or "/")
            counts[ou] = counts.get(ou, 0) + 1
    rows: list[dict[str, Any]] = []
    for ou in sorted(counts):
        at = _nearest(ou, enforcement)
        value = enforcement[at][1] if at else {}
        since = value.get("enforcedFrom")
        dt = parse_utc(str(since)) if isinstance(since, str) and not str(since).startswith(
            EPOCH) else None
        mat = _nearest(ou, methods)
        rows.append({
            "ou": ou,
            "users": counts[ou],
            "enforced": dt is not None and dt <= now,
            "enforced_from": since if isinstance(since, str) else None,
            "set_at": at,
            "methods": methods[mat] if mat else None,
        })
    facts.set("tenant.mfa_policy_by_ou", rows)
    facts.set("tenant.mfa_enforced_for_all", all(r["enforced"] for r in rows))


def _token_facts(bundle: Mapping[str, Any], facts: Facts) -> None:
    token = bundle.get("token")
    perms = token.get("permissions") if isinstance(token, dict) else None
    if not isinstance(perms, list):
        facts.error_all(("tenant.app_permissions", "tenant.app_write_permissions"),
                        "the scopes of undone's token were not recorded")
        return
    names = sorted(str(p) for p in perms)
    facts.set("tenant.app_permissions", names)
    facts.set("tenant.app_write_permissions", [p for p in names if not p.endswith(".readonly")])


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    c.parse_bundle(raw, facts, PROVIDES, PLATFORM, facts_from_bundle)


def facts_from_bundle(bundle: Mapping[str, Any], config: Mapping[str, Any], now: datetime,
                      facts: Facts) -> None:
    calls = c.Calls(bundle)
    _token_facts(bundle, facts)
    raw_users = calls.items("users")
    if raw_users is None:
        why = calls.why("users")
        facts.error_all(PROVIDES, why)
        c.derive_access(facts, [], None, config, why, SUPER_ADMIN)
        c.derive_break_glass(facts, [], config, why, SUPER_ADMIN)
        _token_facts(bundle, facts)
        return
    customer = bundle.get("customer")
    domains = {str(u.get("primaryEmail") or "").rsplit("@", 1)[-1].lower() for u in raw_users}
    facts.set("tenant.name", str(customer or ", ".join(sorted(d for d in domains if d))))
    users = {a.id: a for a in (_account(u) for u in raw_users)}
    glass = c.declared(config, "break_glass") or []
    for a in users.values():
        if any(c.match(a, g) == 2 for g in glass):
            a.extra["break_glass"] = True
    paths, _ = _ou_paths(calls)
    admins, admins_why = _admins(users, calls, paths)
    accounts = list(users.values())
    facts.set("tenant.mfa_registration_source", "directory (isEnrolledIn2Sv)")
    enforced = [a for a in accounts if a.enabled is not False]
    on = sum(1 for a in enforced if a.mfa_enforced)
    facts.set("tenant.mfa_enforcement",
              "2-step verification enforced" if enforced and on == len(enforced)
              else ("2-step verification enforced for some users" if on else "none"))
    _ou_policy(calls, accounts, now, facts)
    c.derive_access(facts, accounts, admins, config, admins_why, SUPER_ADMIN)
    c.derive_counts(facts, admins, admins_why)
    c.derive_mfa_lists(facts, accounts, admins, admins_why)
    c.derive_unused(facts, accounts, now, None)
    c.derive_break_glass(facts, accounts, config, None, SUPER_ADMIN, roles_why=admins_why)
