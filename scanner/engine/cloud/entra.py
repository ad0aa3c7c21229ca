"""What undone reads from Microsoft Graph for one tenant, in order (the catalogue of requests,
permissions and licences is ``probes.cloud.entra.CALLS``):

1. the organisation, its licences (subscribedSkus), its users (with the properties Graph returns
   only on ``$select``), role definitions, Security Defaults, Conditional Access policies;
2. the assignments of every administrator role (``$expand=principal``), and the eligible (PIM)
   assignments where the tenant has Entra ID P2; the members of every group holding a role or
   named by a Conditional Access policy (transitively);
3. MFA registration: the registration report where the tenant has P1/P2, else each user's
   authentication methods (administrators first, then the other enabled users, at most
   ``max_user_requests``); sign-in activity where licensed; each user's legacy per-user MFA
   state (the same cap).

A call the tenant's licences rule out is not made: it is recorded as not made, with the licence
named. Per-user calls stop at the first refusal for a missing permission (every other would be
refused too) and record it once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from probes.cloud import entra as spec
from scanner.engine.cloud.http import Reader


def classify(permission: str, licence: str | None) -> Any:
    """The error classifier of one call: (status, body) -> (kind, code, reason)."""

    def run(status: int, body: dict[str, Any]) -> tuple[str, str | None, str]:
        got = body.get("error")
        err: dict[str, Any] = got if isinstance(got, dict) else {}
        code = str(err.get("code")) if err.get("code") else None
        message = str(err.get("message") or "")[:200]
        if code in ("Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                    "AadPremiumLicenseRequired"):
            return "licence", code, (f"the tenant has no {licence or 'Entra ID P1 or P2'} "
                                     f"licence, which this needs ({code})")
        if code == "Authentication_ApplicationHasNoDirectoryReadAccess":
            return "permission", code, ("the app lacks Directory.Read.All, which Microsoft's "
                                        f"licence check for this report needs ({code})")
        if status == 401:
            return "auth", code, f"the token was refused ({code}: {message})"
        if status == 403:
            return "permission", code, (f"the app lacks the Microsoft Graph permission "
                                        f"{permission} (grant it and give admin consent) "
                                        f"({code or 'HTTP 403'})")
        if status == 404:
            return "not-found", code, f"not found ({code}: {message})"
        if status >= 500:
            return "server", code, f"Microsoft Graph failed (HTTP {status} {code}: {message})"
        return "bad-request", code, f"refused (HTTP {status} {code}: {message})"

    return run


def _call(r: Reader, graph: str, name: str, object_id: str | None = None, *,
          items: bool = True) -> Any:
    key = name if object_id is None else f"{name}/{object_id}"
    path = spec.request_path(name, object_id)
    _, permission, licence = spec.CALLS[name if object_id is None else name + "/"]
    r.classify = classify(permission, licence)
    return r.call(key, graph + path, items="value" if items else None,
                  paging="odata" if items else "none")


class _Entra:
    def __init__(self, r: Reader, graph: str, max_user_requests: int, workers: int) -> None:
        self.r = r
        self.graph = graph
        self.cap = max_user_requests
        self.workers = max(1, workers)

    def get(self, name: str, object_id: str | None = None, *, items: bool = True) -> Any:
        # one Reader, one classifier at a time: calls run one after another except the
        # per-user families, which share one classifier (same permission)
        return _call(self.r, self.graph, name, object_id, items=items)

    def per_user(self, family: str, ids: list[str], licence_note: str | None = None) -> None:
        """One call per user (``family`` is ``auth_methods`` or ``per_user_mfa``), at most the
        cap, stopping at the first permission refusal."""
        path = spec.request_path(family, "{id}")
        take = ids[: self.cap]
        if len(ids) > self.cap:
            self.r.note(family, self.graph + path, "cap",
                        f"{len(ids) - self.cap} of {len(ids)} users not read: more than "
                        f"max_user_requests ({self.cap}) per-user requests"
                        + (f"; {licence_note}" if licence_note else ""))
        if not take:
            return
        _, permission, licence = spec.CALLS[family + "/"]
        self.r.classify = classify(permission, licence)
        first = take[0]
        self.r.call(f"{family}/{first}", self.graph + spec.request_path(family, first),
                    items="value" if family == "auth_methods" else None,
                    paging="odata" if family == "auth_methods" else "none")
        err = self.r.calls[f"{family}/{first}"].get("error")
        if isinstance(err, dict) and err.get("kind") in ("permission", "licence", "auth"):
            del self.r.calls[f"{family}/{first}"]
            self.r.note(family, self.graph + path, str(err["kind"]), str(err["reason"]))
            return

        def one(uid: str) -> None:
            self.r.call(f"{family}/{uid}", self.graph + spec.request_path(family, uid),
                        items="value" if family == "auth_methods" else None,
                        paging="odata" if family == "auth_methods" else "none")

        with ThreadPoolExecutor(max_workers=self.workers,
                                thread_name_prefix="undone-tenant") as pool:
            list(pool.map(one, take[1:]))


def collect(r: Reader, graph: str, max_user_requests: int, workers: int = 4) -> None:
    """Read one tenant into ``r.calls`` / ``r.data``."""
    e = _Entra(r, graph.rstrip("/"), max_user_requests, workers)
    e.get("organization")
    skus = e.get("subscribed_skus")
    lic = spec.licences([x for x in skus if isinstance(x, dict)] if skus is not None else None)
    users = e.get("users") or []
    definitions = e.get("role_definitions")
    e.get("security_defaults", items=False)
    policies = e.get("ca_policies")
    groups: list[str] = []
    user_ids = {str(u.get("id")) for u in users if isinstance(u, dict)}

    def need_group(gid: object) -> None:
        if isinstance(gid, str) and gid not in groups:
            groups.append(gid)

    admin_ids: list[str] = []
    for rid in spec.role_ids_to_read(definitions, policies):
        for ra in e.get("role_assignments", rid) or ():
            principal = ra.get("principal") if isinstance(ra, dict) else None
            if not isinstance(principal, dict):
                continue
            if str(principal.get("@odata.type", "")).endswith(".group"):
                need_group(principal.get("id"))
            elif str(principal.get("@odata.type", "")).endswith(".user"):
                admin_ids.append(str(principal.get("id")))
    if lic is not None and not lic["entra_id_p2"]:
        e.r.note("role_eligibility", graph + spec.request_path("role_eligibility"), "skipped",
                 "the tenant has no Entra ID P2 licence, so it cannot have eligible (PIM) "
                 "role assignments")
    else:
        for ra in e.get("role_eligibility") or ():
            pid = str(ra.get("principalId")) if isinstance(ra, dict) else ""
            if pid in user_ids:
                admin_ids.append(pid)
            elif pid:
                need_group(pid)
    for p in policies or ():
        users_cond = ((p.get("conditions") or {}).get("users") or {}) if isinstance(p, dict) \
            else {}
        for key in ("includeGroups", "excludeGroups"):
            for gid in users_cond.get(key) or ():
                need_group(gid)
    for gid in groups:
        e.get("group", gid, items=False)
        for m in e.get("group_members", gid) or ():
            if isinstance(m, dict) and str(m.get("@odata.type", "")).endswith(".user"):
                admin_ids.append(str(m.get("id")))
    # users first: administrators (they decide A7.16), then every other enabled user
    enabled = [str(u.get("id")) for u in users
               if isinstance(u, dict) and u.get("accountEnabled") is not False]
    order = list(dict.fromkeys([*(a for a in admin_ids if a in user_ids or not user_ids),
                                *enabled]))
    premium = lic is None or lic["entra_id_p1"]
    registration = None
    if premium:
        registration = e.get("registration")
    else:
        e.r.note("registration", graph + spec.request_path("registration"), "licence",
                 "the tenant has no Entra ID P1 or P2 licence: the registration report needs it; "
                 "each user's methods are read instead")
    if registration is None:
        e.per_user("auth_methods", order,
                   None if premium else "license Entra ID P1 to read the registration report")
    if premium:
        e.get("sign_in_activity")
    else:
        e.r.note("sign_in_activity", graph + spec.request_path("sign_in_activity"), "licence",
                 "the tenant has no Entra ID P1 or P2 licence: sign-in activity needs it")
    e.per_user("per_user_mfa", order)
