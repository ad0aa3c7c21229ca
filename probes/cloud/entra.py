"""Microsoft 365 / Entra ID: administrators, whose they are, and MFA for every admin and user.

The section's output is the tenant's bundle (``probes/cloud/_common.py``), collected by
``scanner/engine/cloud/entra.py`` with GET requests only. :data:`CALLS` is the catalogue of what is
read: each call's Microsoft Graph request, the least application permission Microsoft documents
for it, and the licence it needs. The collector builds its requests from it and names the
permission or licence when a call is refused; this parser turns what came back into facts.

Facts (beside the ``access.*`` facts of ``_common.derive_access``)::

    tenant.name                 "Contoso School"  (organisation display name)
    tenant.licences             {"entra_id_p1": true, "entra_id_p2": false, "skus": [...]}
    tenant.global_admins        ["head@school.example", ...]   (enabled, active or eligible)
    tenant.global_admin_count   2
    tenant.guest_admins         ["tech_msp.example#EXT#@...: Global Administrator"]
    tenant.security_defaults    true
    tenant.mfa_enforcement      "security defaults" | "conditional access" | "per-user MFA" |
                                "none"
    tenant.mfa_policies         [{name, state, counts, why_not, excludes}]  (every CA policy
                                that asks for MFA or an authentication strength)
    tenant.mfa_policy_exclusions ["'Require MFA': group 'Break glass' (bg1@..., bg2@...)"]
    tenant.mfa_enforced_for_all true  (security defaults on, or an enabled CA policy requiring
                                MFA / an authentication strength for all users and all cloud
                                apps, with no exclusion and no narrowing condition)
    tenant.mfa_registration_source "registration report" | "per-user methods"
    tenant.admins_without_mfa   ["ga@...: MFA not registered (...)"]   (A7.16)
    tenant.users_without_mfa    [...]   (every enabled member account, A7.17)
    tenant.users_total          120
    tenant.guests_without_mfa   [...]   (reported, not judged)
    tenant.per_user_mfa         {"disabled": 118, "enabled": 0, "enforced": 2, "unknown": 0}
    tenant.per_user_mfa_in_use  2       (legacy per-user MFA "enabled" or "enforced")
    tenant.longest_unused_days  130.5   tenant.unused_accounts [...]   (needs P1/P2)
    tenant.break_glass_declared / tenant.break_glass / tenant.break_glass_problems
    tenant.app_permissions      ["User.Read.All", ...]  (what undone's token carries)
    tenant.app_write_permissions []

**MFA per user.** Required (``mfa_enforced``) when security defaults are on, when an enabled
Conditional Access policy that counts includes the user and does not exclude them, or when the
user's legacy per-user MFA state is ``enforced``. A policy counts when it applies to all cloud
apps, grants access only with MFA or an authentication strength, and has no condition that
narrows it (risk levels, locations, platforms, client app types, device filters): a policy in
report-only mode, or one that accepts another control instead of MFA (``OR``), does not.
Registered (``mfa_registered``): ``isMfaRegistered`` of the registration report where the
tenant has Entra ID P1/P2, else one of the user's authentication methods is a second factor.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from probes.access import derive as access
from probes.base import Facts, RawSection, guard, parse_utc
from probes.cloud import _common as c

PLATFORM = "m365"
GRAPH = "https://graph.microsoft.com"

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
#: tenant-wide administrator roles read on every tenant (built-in role template ids, from
#: Microsoft's "Microsoft Entra built-in roles" page); with them every role the tenant's role
#: definitions mark ``isPrivileged``
PRIVILEGED_ROLES: dict[str, str] = {
    GLOBAL_ADMIN: "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
    "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
}
#: service plans that give Entra ID P1 / P2 features (ids as Maester's Get-MtLicenseInformation
#: and ScubaGear's ExportAADProvider use them)
P1_PLANS = ("41781fb2-bc02-4b7c-bd55-b576c07bb09d",)  # AAD_PREMIUM
P2_PLANS = (
    "eec0eb4f-6444-4f95-aba0-50c24d67f998",  # AAD_PREMIUM_P2
    "e866a266-3cff-43a3-acca-0c90a7e00c8b",  # Entra ID Governance
)
#: authentication methods that are a second factor (``@odata.type`` of
#: /users/{id}/authentication/methods); password, e-mail (self-service password reset only)
#: and temporary access passes are not
MFA_METHODS = {
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod": "microsoftAuthenticator",
    "#microsoft.graph.phoneAuthenticationMethod": "phone",
    "#microsoft.graph.fido2AuthenticationMethod": "fido2",
    "#microsoft.graph.softwareOathAuthenticationMethod": "softwareOath",
    "#microsoft.graph.hardwareOathAuthenticationMethod": "hardwareOath",
    "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod": "windowsHelloForBusiness",
    "#microsoft.graph.platformCredentialAuthenticationMethod": "platformCredential",
    "#microsoft.graph.x509CertificateAuthenticationMethod": "x509Certificate",
}
USER_FIELDS = (
    "id,userPrincipalName,displayName,mail,userType,accountEnabled,createdDateTime,"
    "onPremisesSyncEnabled,creationType,externalUserState"
)
MEMBER_FIELDS = "id,userPrincipalName,displayName,mail,userType,accountEnabled"

#: What undone reads: name -> (request path under the Graph root, least permission, licence).
#: A name ending in ``/`` is a family of per-object calls (the object id follows).
CALLS: dict[str, tuple[str, str, str | None]] = {
    "organization": ("/v1.0/organization?$select=id,displayName,verifiedDomains",
                     "Organization.Read.All", None),
    "subscribed_skus": ("/v1.0/subscribedSkus", "Organization.Read.All", None),
    "users": (f"/v1.0/users?$select={USER_FIELDS}&$top=999", "User.Read.All", None),
    "sign_in_activity": ("/v1.0/users?$select=id,signInActivity&$top=999",
                         "AuditLog.Read.All", "Entra ID P1 or P2"),
    "role_definitions": (
        "/v1.0/roleManagement/directory/roleDefinitions?$select=id,displayName,templateId,"
        "isBuiltIn,isPrivileged", "RoleManagement.Read.Directory", None),
    "role_assignments/": (
        "/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{id}'"
        "&$expand=principal", "RoleManagement.Read.Directory", None),
    "role_eligibility": ("/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
                         "RoleEligibilitySchedule.Read.Directory", "Entra ID P2"),
    "group/": ("/v1.0/groups/{id}?$select=id,displayName", "GroupMember.Read.All", None),
    "group_members/": (f"/v1.0/groups/{{id}}/transitiveMembers?$select={MEMBER_FIELDS}&$top=999",
                       "GroupMember.Read.All", None),
    "security_defaults": ("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
                          "Policy.Read.All", None),
    "ca_policies": ("/v1.0/identity/conditionalAccess/policies", "Policy.Read.All",
                    "Entra ID P1 (Conditional Access)"),
    "registration": ("/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=999",
                     "AuditLog.Read.All", "Entra ID P1 or P2"),
    "auth_methods/": ("/v1.0/users/{id}/authentication/methods",
                      "UserAuthenticationMethod.Read.All", None),
    "per_user_mfa/": ("/beta/users/{id}/authentication/requirements", "Policy.Read.All", None),
}
QUERY = "Microsoft Graph (GET only): " + "; ".join(
    f"{name.rstrip('/')}: GET {path} [{perm}" + (f"; {lic}]" if lic else "]")
    for name, (path, perm, lic) in CALLS.items()
)

PROVIDES = (
    *access.PROVIDES,
    *c.TENANT,
    "tenant.licences",
    "tenant.guest_admins",
    "tenant.security_defaults",
    "tenant.mfa_policies",
    "tenant.mfa_policy_exclusions",
    "tenant.per_user_mfa",
    "tenant.per_user_mfa_in_use",
)


def request_path(name: str, object_id: str | None = None) -> str:
    """The Graph path (under the root) of a call of :data:`CALLS`."""
    if object_id is None:
        return CALLS[name][0]
    return CALLS[name + "/"][0].replace("{id}", object_id)


def role_ids_to_read(definitions: list[dict[str, Any]] | None,
                     policies: list[dict[str, Any]] | None) -> list[str]:
    """The roles whose assignments are read: the built-in privileged ones, those the tenant's
    definitions mark privileged, and those Conditional Access policies include or exclude."""
    ids = list(PRIVILEGED_ROLES)
    for d in definitions or ():
        rid = d.get("id")
        if d.get("isPrivileged") is True and isinstance(rid, str) and rid not in ids:
            ids.append(rid)
    for p in policies or ():
        users = ((p.get("conditions") or {}).get("users") or {})
        for key in ("includeRoles", "excludeRoles"):
            for rid in users.get(key) or ():
                if isinstance(rid, str) and rid not in ids:
                    ids.append(rid)
    return ids


def licences(skus: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if skus is None:
        return None
    p1 = p2 = False
    names: list[str] = []
    for sku in skus:
        if sku.get("capabilityStatus") not in ("Enabled", "Warning"):
            continue
        names.append(str(sku.get("skuPartNumber")))
        for plan in sku.get("servicePlans") or ():
            if not isinstance(plan, dict) or plan.get("provisioningStatus") != "Success":
                continue
            if plan.get("servicePlanId") in P1_PLANS:
                p1 = True
            if plan.get("servicePlanId") in P2_PLANS:
                p1 = p2 = True
    return {"entra_id_p1": p1, "entra_id_p2": p2, "skus": names}


def external_address(upn: str) -> str | None:
    """A guest's home address from its UPN: ``tech_msp.example#EXT#@school.onmicrosoft.com``
    is ``tech@msp.example``."""
    head, sep, _ = upn.partition("#EXT#")
    if not sep or "_" not in head:
        return None
    local, _, domain = head.rpartition("_")
    return f"{local}@{domain}".lower() if local and domain else None


def _account(obj: Mapping[str, Any], kind: str = "user") -> c.Account:
    upn = str(obj.get("userPrincipalName") or "")
    addresses = {a.lower() for a in (upn, obj.get("mail")) if isinstance(a, str) and a}
    ext = external_address(upn)
    if ext:
        addresses.add(ext)
    enabled = obj.get("accountEnabled")
    name = upn or str(obj.get("displayName") or obj.get("appId") or obj.get("id"))
    return c.Account(
        id=str(obj.get("id")),
        name=name,
        kind=kind,
        addresses=frozenset(addresses),
        guest=str(obj.get("userType") or "").lower() == "guest",
        enabled=enabled if isinstance(enabled, bool) else None,
        created=obj.get("createdDateTime") if isinstance(obj.get("createdDateTime"), str)
        else None,
    )


def _kind_of(obj: Mapping[str, Any]) -> str:
    t = str(obj.get("@odata.type") or "")
    if t.endswith(".group"):
        return "group"
    if t.endswith(".servicePrincipal"):
        return "app"
    return "user"


class _Directory:
    """Users, groups and roles of the tenant as far as the bundle holds them."""

    def __init__(self, calls: c.Calls) -> None:
        self.calls = calls
        users = calls.items("users")
        self.users_why = None if users is not None else calls.why("users")
        self.users: dict[str, c.Account] = {}
        for u in users or ():
            a = _account(u)
            self.users[a.id] = a
        self.others: dict[str, c.Account] = {}  # admins not in the users list (apps)
        self._members: dict[str, list[c.Account] | None] = {}
        self._member_ids: dict[str, set[str] | None] = {}

    def account(self, obj: Mapping[str, Any]) -> c.Account:
        """The account of a role's principal or a group's member: the users list's own when it
        holds it, else one made from what the principal object says."""
        oid = str(obj.get("id"))
        if oid in self.users:
            return self.users[oid]
        if oid in self.others:
            return self.others[oid]
        kind = "app" if _kind_of(obj) == "app" else "user"
        acct = _account(obj, kind)
        (self.users if kind == "user" else self.others)[oid] = acct
        return acct

    def group_name(self, gid: str) -> str:
        g = self.calls.get(f"group/{gid}")
        if isinstance(g, dict) and g.get("displayName"):
            return str(g["displayName"])
        return gid

    def members(self, gid: str) -> list[c.Account] | None:
        if gid not in self._members:
            items = self.calls.items(f"group_members/{gid}")
            self._members[gid] = None if items is None else [
                self.account(m) for m in items if _kind_of(m) != "group"]
        return self._members[gid]

    def member_ids(self, gid: str) -> set[str] | None:
        """The ids of a group's members (cached: policies ask once per user)."""
        if gid not in self._member_ids:
            members = self.members(gid)
            self._member_ids[gid] = None if members is None else {m.id for m in members}
        return self._member_ids[gid]


def _admins(d: _Directory, calls: c.Calls, lic: dict[str, Any] | None,
            role_names: dict[str, str]) -> tuple[list[c.Account] | None, str | None,
                                                 dict[str, set[str]], list[str]]:
    """Every holder of an administrator role (groups expanded), why the list is incomplete,
    the active holders per role id (for Conditional Access role conditions), and the roles
    that could not be read."""
    problems: list[str] = []
    holders: dict[str, set[str]] = {}
    admins: dict[str, c.Account] = {}
    unread: list[str] = []
    definitions = calls.items("role_definitions")
    wanted = role_ids_to_read(definitions, calls.items("ca_policies"))

    def grant(acct: c.Account, rid: str, scope: str, via: str, eligible: bool) -> None:
        entry = {"role": role_names.get(rid, rid), "full": rid == GLOBAL_ADMIN, "scope": scope,
                 "via": via, "eligible": eligible, "role_id": rid}
        if rid in PRIVILEGED_ROLES or rid in privileged:
            if entry not in acct.roles:
                acct.roles.append(entry)
            admins[acct.id] = acct
        if not eligible:
            holders.setdefault(rid, set()).add(acct.id)

    privileged = {str(x.get("id")) for x in definitions or () if x.get("isPrivileged") is True}
    if definitions is None:  # the tenant's own privileged (custom) roles are unknown
        problems.append(calls.why("role_definitions"))
    for rid in wanted:
        items = calls.items(f"role_assignments/{rid}")
        if items is None:
            unread.append(rid)
            if rid in PRIVILEGED_ROLES or rid in privileged:
                problems.append(calls.why(f"role_assignments/{rid}"))
            continue
        for ra in items:
            _assign(d, ra, rid, False, grant, problems)
    # eligible (PIM) assignments: only a tenant with P2 can have them
    if lic is not None and lic.get("entra_id_p2"):
        items = calls.items("role_eligibility")
        if items is None:
            problems.append(calls.why("role_eligibility"))
        else:
            for ra in items:
                rid = str(ra.get("roleDefinitionId"))
                if rid in PRIVILEGED_ROLES or rid in privileged:
                    _assign(d, ra, rid, True, grant, problems)
    elif lic is None:
        items = calls.items("role_eligibility")
        if items is None and calls.kind("role_eligibility") != "licence":
            problems.append("whether the tenant has Entra ID P2 (eligible role assignments) is "
                            "unknown: " + calls.why("subscribed_skus"))
        for ra in items or ():
            rid = str(ra.get("roleDefinitionId"))
            if rid in PRIVILEGED_ROLES or rid in privileged:
                _assign(d, ra, rid, True, grant, problems)
    if problems:
        return None, "; ".join(dict.fromkeys(problems))[:500], holders, unread
    return sorted(admins.values(), key=lambda a: a.name.lower()), None, holders, unread


def _assign(d: _Directory, ra: Mapping[str, Any], rid: str, eligible: bool, grant: Any,
            problems: list[str]) -> None:
    scope = str(ra.get("directoryScopeId") or "/")
    principal = ra.get("principal")
    pid = str(ra.get("principalId"))
    if not isinstance(principal, dict):
        principal = None
        if pid in d.users:
            principal = {"id": pid, "@odata.type": "#microsoft.graph.user"}
        elif d.calls.ok(f"group_members/{pid}"):
            principal = {"id": pid, "@odata.type": "#microsoft.graph.group"}
        else:
            problems.append(f"role {rid} is held by {pid}, which is neither a user read nor a "
                            f"group whose members were read")
            return
    if _kind_of(principal) == "group":
        gid = str(principal.get("id"))
        members = d.members(gid)
        if members is None:
            problems.append(d.calls.why(f"group_members/{gid}"))
            return
        name = str(principal.get("displayName") or d.group_name(gid))
        for m in members:
            grant(m, rid, scope, f"group:{name}", eligible)
        return
    grant(d.account(principal), rid, scope, "direct", eligible)


# -- Conditional Access -------------------------------------------------------------------------

_NARROWING = ("signInRiskLevels", "userRiskLevels", "servicePrincipalRiskLevels",
              "insiderRiskLevels")


def _requires_mfa(p: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether a policy's grant asks for MFA (or an authentication strength) and nothing can
    replace it; the reason when it asks for MFA but something else would do."""
    grant = p.get("grantControls") or {}
    controls = [str(x).lower() for x in grant.get("builtInControls") or ()]
    strength = grant.get("authenticationStrength")
    asks = "mfa" in controls or bool(strength)
    if not asks:
        return False, None
    others = [x for x in controls if x != "mfa"]
    if str(grant.get("operator") or "OR").upper() == "OR" and (
        others or grant.get("customAuthenticationFactors") or grant.get("termsOfUse")
    ):
        return False, f"accepts {', '.join(others) or 'another control'} instead of MFA (OR)"
    return True, None


def _narrowed(p: Mapping[str, Any]) -> str | None:
    """Why a policy does not apply to every sign-in to every cloud app, or None."""
    cond = p.get("conditions") or {}
    apps = cond.get("applications") or {}
    if "All" not in (apps.get("includeApplications") or ()):
        return "does not apply to all cloud apps"
    if apps.get("excludeApplications"):
        return f"excludes {len(apps['excludeApplications'])} cloud app(s)"
    for key in _NARROWING:
        if cond.get(key):
            return f"applies only at some {key} ({', '.join(map(str, cond[key]))})"
    loc = cond.get("locations")
    if isinstance(loc, dict) and (
        (loc.get("includeLocations") or ["All"]) != ["All"] or loc.get("excludeLocations")
    ):
        return "applies only from some locations"
    plat = cond.get("platforms")
    if isinstance(plat, dict) and (
        [str(x).lower() for x in plat.get("includePlatforms") or ["all"]] != ["all"]
        or plat.get("excludePlatforms")
    ):
        return "applies only on some device platforms"
    types = [str(x) for x in cond.get("clientAppTypes") or ()]
    if types and types != ["all"]:
        return f"applies only to client apps {', '.join(types)}"
    devices = cond.get("devices")
    if isinstance(devices, dict) and devices.get("deviceFilter"):
        return "applies only to some devices (a device filter)"
    return None


class _Policy:
    def __init__(self, p: Mapping[str, Any], d: _Directory, holders: dict[str, set[str]],
                 unread_roles: list[str], role_names: dict[str, str]) -> None:
        self.p = p
        self.name = str(p.get("displayName") or p.get("id"))
        users = (p.get("conditions") or {}).get("users") or {}
        self.users = users
        self.d = d
        self.holders = holders
        self.unread = unread_roles
        self.role_names = role_names
        mfa, alt = _requires_mfa(p)
        state = str(p.get("state"))
        why: str | None = None
        if not mfa:
            why = alt or "does not require MFA"
        elif state != "enabled":
            why = "report-only (not enforced)" if state.startswith("enabledForReporting") else (
                f"state {state}")
        else:
            why = _narrowed(p)
        self.asks = mfa or alt is not None
        self.counts = why is None
        self.why_not = why
        self._excluded: dict[str, tuple[c.Tri, str]] = {}
        self._exclude_users = {str(x) for x in self.users.get("excludeUsers") or ()}

    def _groups(self, key: str, uid: str) -> c.Tri:
        found: list[c.Tri] = []
        for gid in self.users.get(key) or ():
            ids = self.d.member_ids(str(gid))
            found.append(None if ids is None else uid in ids)
        return c.any3(found)

    def _roles(self, key: str, uid: str) -> c.Tri:
        found: list[c.Tri] = []
        for rid in self.users.get(key) or ():
            if rid in self.unread:
                found.append(None)
            else:
                found.append(uid in self.holders.get(str(rid), set()))
        return c.any3(found)

    def _guest_rule(self, key: str, acct: c.Account) -> bool:
        return acct.guest and bool(self.users.get(key))

    def includes(self, acct: c.Account) -> c.Tri:
        inc = [str(x) for x in self.users.get("includeUsers") or ()]
        if "All" in inc or acct.id in inc:
            return True
        if acct.guest and "GuestsOrExternalUsers" in inc:
            return True
        if self._guest_rule("includeGuestsOrExternalUsers", acct):
            return True
        return c.any3([self._groups("includeGroups", acct.id),
                       self._roles("includeRoles", acct.id)])

    def excludes(self, acct: c.Account) -> tuple[c.Tri, str]:
        """Whether the policy excludes the account, and how (remembered per account)."""
        got = self._excluded.get(acct.id)
        if got is None:
            got = self._excluded[acct.id] = self._excludes(acct)
        return got

    def _excludes(self, acct: c.Account) -> tuple[c.Tri, str]:
        exc = self._exclude_users
        if acct.id in exc:
            return True, "directly"
        if acct.guest and ("GuestsOrExternalUsers" in exc
                           or self._guest_rule("excludeGuestsOrExternalUsers", acct)):
            return True, "as a guest"
        for gid in self.users.get("excludeGroups") or ():
            ids = self.d.member_ids(str(gid))
            if ids is None:
                return None, f"members of excluded group {self.d.group_name(str(gid))} unread"
            if acct.id in ids:
                return True, f"by group {self.d.group_name(str(gid))}"
        roles = self._roles("excludeRoles", acct.id)
        if roles is not False:
            return roles, "by a role it holds" if roles else "excluded roles unread"
        return False, ""

    def exclusions(self) -> list[str]:
        out: list[str] = []
        for uid in self.users.get("excludeUsers") or ():
            if uid == "GuestsOrExternalUsers":
                out.append(f"'{self.name}': guests and external users")
                continue
            acct = self.d.users.get(str(uid))
            out.append(f"'{self.name}': user {acct.name if acct else uid}")
        for gid in self.users.get("excludeGroups") or ():
            members = self.d.members(str(gid))
            shown = ("members unread" if members is None
                     else ", ".join(m.name for m in members[:10]) or "no members")
            out.append(f"'{self.name}': group {self.d.group_name(str(gid))} ({shown})")
        for rid in self.users.get("excludeRoles") or ():
            out.append(f"'{self.name}': role {self.role_names.get(str(rid), rid)}")
        if self.users.get("excludeGuestsOrExternalUsers"):
            out.append(f"'{self.name}': guests and external users")
        return out

    def for_everyone(self) -> bool:
        return self.counts and "All" in (self.users.get("includeUsers") or ()) and not (
            self.exclusions())

    def summary(self) -> dict[str, Any]:
        grant = self.p.get("grantControls") or {}
        strength = grant.get("authenticationStrength")
        return {
            "name": self.name,
            "state": self.p.get("state"),
            "counts": self.counts,
            "why_not": self.why_not,
            "grant": [*map(str, grant.get("builtInControls") or ())]
            + ([f"authenticationStrength:{strength.get('displayName') or strength.get('id')}"]
               if isinstance(strength, dict) else []),
            "includes": {k: self.users.get(k) for k in ("includeUsers", "includeGroups",
                                                         "includeRoles") if self.users.get(k)},
            "excludes": self.exclusions(),
        }


# -- the parser ---------------------------------------------------------------------------------


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    c.parse_bundle(raw, facts, PROVIDES, PLATFORM, facts_from_bundle)


def facts_from_bundle(bundle: Mapping[str, Any], config: Mapping[str, Any], now: datetime,
                      facts: Facts) -> None:
    calls = c.Calls(bundle)
    org = calls.items("organization")
    if org:
        facts.set("tenant.name", str(org[0].get("displayName") or org[0].get("id")))
    else:
        facts.error("tenant.name", calls.why("organization"))
    lic = licences(calls.items("subscribed_skus"))
    if lic is None:
        facts.error("tenant.licences", calls.why("subscribed_skus"))
    else:
        facts.set("tenant.licences", lic)
    _token_facts(bundle, facts)

    d = _Directory(calls)
    role_names = dict(PRIVILEGED_ROLES)
    for rd in calls.items("role_definitions") or ():
        if rd.get("id") and rd.get("displayName"):
            role_names[str(rd["id"])] = str(rd["displayName"])
    admins, admins_why, holders, unread = _admins(d, calls, lic, role_names)
    glass = c.declared(config, "break_glass") or []
    for a in [*d.users.values(), *d.others.values()]:
        if any(c.match(a, g) == 2 for g in glass):
            a.extra["break_glass"] = True

    policies = _mfa_required(d, calls, holders, unread, role_names, facts)
    _registration(d, calls, facts)
    _sign_ins(d, calls)

    users = list(d.users.values())
    c.derive_access(facts, users, admins, config, admins_why, "Global Administrator")
    c.derive_counts(facts, admins, admins_why)
    if admins is None:
        facts.error("tenant.guest_admins", admins_why or "unknown")
    else:
        facts.set("tenant.guest_admins", c.guests_with_roles(admins))
    c.derive_mfa_lists(facts, users, admins, admins_why)
    if d.users_why:  # only the administrators are known: every other user is not
        facts.error_all(("tenant.users_without_mfa", "tenant.users_mfa_unknown",
                         "tenant.users_total", "tenant.guests_without_mfa"), d.users_why)
    unavailable = d.users_why or (None if calls.ok("sign_in_activity")
                                  else calls.why("sign_in_activity"))
    c.derive_unused(facts, users, now, unavailable)
    excluded = {
        a.id: [f"'{p.name}'" for p in policies if p.counts and p.excludes(a)[0] is True]
        for a in users
    }
    c.derive_break_glass(facts, users, config, d.users_why, "Global Administrator", excluded,
                         admins_why)


def _token_facts(bundle: Mapping[str, Any], facts: Facts) -> None:
    token = bundle.get("token")
    perms = token.get("permissions") if isinstance(token, dict) else None
    if not isinstance(perms, list):
        facts.error_all(("tenant.app_permissions", "tenant.app_write_permissions"),
                        "the permissions of undone's token were not recorded")
        return
    names = sorted(str(p) for p in perms)
    facts.set("tenant.app_permissions", names)
    facts.set("tenant.app_write_permissions",
              [p for p in names if "write" in p.lower() or p.lower().endswith(".send")])


def _mfa_required(d: _Directory, calls: c.Calls, holders: dict[str, set[str]],
                  unread: list[str], role_names: dict[str, str], facts: Facts) -> list[_Policy]:
    """Set each user's ``mfa_enforced`` and the policy facts; the policies that ask for MFA."""
    sd_obj = calls.get("security_defaults")
    sd: c.Tri = None
    sd_why = calls.why("security_defaults")
    if isinstance(sd_obj, dict) and isinstance(sd_obj.get("isEnabled"), bool):
        sd = sd_obj["isEnabled"]
        facts.set("tenant.security_defaults", sd)
    else:
        facts.error("tenant.security_defaults", sd_why)
    raw_policies = calls.items("ca_policies")
    ca_why: str | None = None
    if raw_policies is None:
        if calls.kind("ca_policies") == "licence":
            raw_policies = []  # no Entra ID P1: the tenant cannot have Conditional Access
        else:
            ca_why = calls.why("ca_policies")
    policies = [_Policy(p, d, holders, unread, role_names) for p in raw_policies or ()]
    asking = [p for p in policies if p.asks]
    counting = [p for p in asking if p.counts]
    if ca_why:
        facts.error_all(("tenant.mfa_policies", "tenant.mfa_policy_exclusions"), ca_why)
    else:
        facts.set("tenant.mfa_policies", [p.summary() for p in asking])
        facts.set("tenant.mfa_policy_exclusions", [x for p in counting for x in p.exclusions()])
    everyone = any(p.for_everyone() for p in counting)
    if sd is True or everyone:
        facts.set("tenant.mfa_enforced_for_all", True)
    elif sd is None or ca_why:
        facts.error("tenant.mfa_enforced_for_all", "; ".join(
            w for w in (sd_why if sd is None else None, ca_why) if w))
    else:
        facts.set("tenant.mfa_enforced_for_all", False)

    states = _per_user_states(d, calls, facts)
    for u in d.users.values():
        reasons: list[str] = []
        votes: list[c.Tri] = []
        if sd is True:
            u.mfa_enforced_by.append("security defaults")
            votes.append(True)
        elif sd is None:
            votes.append(None)
            reasons.append(f"security defaults unknown: {sd_why}")
        if ca_why:
            votes.append(None)
            reasons.append(f"Conditional Access unknown: {ca_why}")
        for p in counting:
            inc = p.includes(u)
            exc, how = p.excludes(u)
            covered = c.all3([inc, c.not3(exc)])
            votes.append(covered)
            if covered:
                u.mfa_enforced_by.append(f"policy '{p.name}'")
            elif exc is True:
                reasons.append(f"excluded from '{p.name}' {how}")
            elif covered is None:
                reasons.append(f"whether '{p.name}' applies is unknown ({how or 'groups unread'})")
        state = states.get(u.id)
        if state == "enforced":
            votes.append(True)
            u.mfa_enforced_by.append("per-user MFA")
        elif state is None and u.id in states:
            votes.append(None)
        u.mfa_enforced = c.any3(votes) if votes else False
        if u.mfa_enforced is False and not reasons:
            reasons.append("no policy requires MFA" + ("" if sd is not False
                                                         else " (security defaults off)"))
        if u.mfa_enforced is not True:
            u.mfa_reasons.extend(reasons)
    if sd is True:
        facts.set("tenant.mfa_enforcement", "security defaults")
    elif counting and not ca_why:
        facts.set("tenant.mfa_enforcement", "conditional access")
    elif any(s == "enforced" for s in states.values()):
        facts.set("tenant.mfa_enforcement", "per-user MFA")
    elif sd is None or ca_why:
        facts.error("tenant.mfa_enforcement", "; ".join(
            w for w in (sd_why if sd is None else None, ca_why) if w))
    else:
        facts.set("tenant.mfa_enforcement", "none")
    return policies


def _per_user_states(d: _Directory, calls: c.Calls, facts: Facts) -> dict[str, str | None]:
    """Legacy per-user MFA state of each user read (None: the call failed)."""
    states: dict[str, str | None] = {}
    counts = {"disabled": 0, "enabled": 0, "enforced": 0, "unknown": 0}
    why: list[str] = []
    for u in d.users.values():
        if u.enabled is False:
            continue  # a disabled account signs in with nothing
        name = f"per_user_mfa/{u.id}"
        if name not in calls.calls:
            counts["unknown"] += 1
            continue
        got = calls.get(name)
        state = got.get("perUserMfaState") if isinstance(got, dict) else None
        if isinstance(state, str) and state in counts:
            states[u.id] = state
            counts[state] += 1
        else:
            states[u.id] = None
            counts["unknown"] += 1
            why.append(calls.why(name))
    facts.set("tenant.per_user_mfa", counts)
    in_use = counts["enabled"] + counts["enforced"]
    if d.users_why:
        facts.error("tenant.per_user_mfa_in_use", d.users_why)
    elif in_use or not counts["unknown"]:
        facts.set("tenant.per_user_mfa_in_use", in_use)
    else:
        skipped = calls.calls.get("per_user_mfa")
        note = calls.why("per_user_mfa") if isinstance(skipped, dict) else None
        facts.error("tenant.per_user_mfa_in_use",
                    f"legacy per-user MFA state of {counts['unknown']} user(s) not read: "
                    + ("; ".join(dict.fromkeys(why)) or note or "not collected")[:300])
    return states


def _registration(d: _Directory, calls: c.Calls, facts: Facts) -> None:
    report = calls.items("registration")
    if report is not None:
        facts.set("tenant.mfa_registration_source", "registration report")
        by_id = {str(r.get("id")): r for r in report}
        for u in d.users.values():
            r = by_id.get(u.id)
            reg = r.get("isMfaRegistered") if r else None
            if isinstance(reg, bool):
                u.mfa_registered = reg
                u.mfa_methods = [str(m) for m in r.get("methodsRegistered") or ()] if r else None
                if not reg:
                    u.mfa_reasons.append("no second factor registered")
            else:
                u.mfa_registered = None
                u.mfa_reasons.append("not in the registration report")
        return
    per_user = [u for u in d.users.values() if f"auth_methods/{u.id}" in calls.calls]
    if per_user:
        facts.set("tenant.mfa_registration_source", "per-user methods")
    else:
        facts.error("tenant.mfa_registration_source", calls.why("registration"))
    report_why = calls.why("registration")
    for u in d.users.values():
        name = f"auth_methods/{u.id}"
        methods = calls.items(name)
        if methods is None:
            u.mfa_registered = None
            u.mfa_reasons.append(calls.why(name) if name in calls.calls else
                                 f"registration not read ({report_why}; "
                                 + _why_not_per_user(calls) + ")")
            continue
        found = [MFA_METHODS[str(m.get("@odata.type"))] for m in methods
                 if str(m.get("@odata.type")) in MFA_METHODS]
        u.mfa_methods = found
        u.mfa_registered = bool(found)
        if not found:
            u.mfa_reasons.append("no second factor registered")


def _why_not_per_user(calls: c.Calls) -> str:
    call = calls.calls.get("auth_methods")
    if isinstance(call, dict) and isinstance(call.get("error"), dict):
        return str(call["error"].get("reason") or "per-user methods not read")
    return "per-user methods not read"


def _sign_ins(d: _Directory, calls: c.Calls) -> None:
    for row in calls.items("sign_in_activity") or ():
        u = d.users.get(str(row.get("id")))
        act = row.get("signInActivity")
        if u is None or not isinstance(act, dict):
            continue
        times = [parse_utc(str(act[k])) for k in ("lastSuccessfulSignInDateTime",
                                                   "lastSignInDateTime",
                                                   "lastNonInteractiveSignInDateTime")
                 if isinstance(act.get(k), str)]
        known = [t for t in times if t is not None]
        if known:
            u.last_sign_in = max(known).strftime("%Y-%m-%dT%H:%M:%SZ")
