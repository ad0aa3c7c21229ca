"""What undone reads from Google Workspace for one customer (the catalogue of requests and scopes
is ``probes.cloud.google.CALLS``): users (with the admin and 2-Step Verification flags), admin
roles, role assignments, the members of every group holding a role, organisational units, and
the Cloud Identity 2-Step Verification policies."""

from __future__ import annotations

from typing import Any

from probes.cloud import google as spec
from scanner.engine.cloud.http import Reader

#: the read-only scopes undone asks for (domain-wide delegation must allow each)
SCOPES = sorted(set(spec.SCOPES.values()))


def classify(scope: str) -> Any:
    def run(status: int, body: dict[str, Any]) -> tuple[str, str | None, str]:
        got = body.get("error")
        err: dict[str, Any] = got if isinstance(got, dict) else {}
        message = str(err.get("message") or "")[:300]
        reasons = [str(x.get("reason")) for x in err.get("errors") or ()
                   if isinstance(x, dict) and x.get("reason")]
        code = str(err.get("status") or (reasons[0] if reasons else "") or status)
        if status == 401:
            return "auth", code, f"the token was refused ({code}: {message})"
        if status == 403:
            if "has not been used in project" in message or "is disabled" in message or (
                    "SERVICE_DISABLED" in str(body)):
                return "permission", code, ("the API is not enabled in the service account's "
                                            f"Google Cloud project ({message[:160]})")
            if "insufficientPermissions" in reasons or "scope" in message.lower():
                return "permission", code, ("domain-wide delegation does not allow the scope "
                                            f"{scope} ({code})")
            return "permission", code, ("the admin the service account acts as may not read "
                                        f"this (make it a super admin, or give it a role that "
                                        f"can) ({code}: {message[:120]})")
        if status == 404:
            return "not-found", code, f"not found ({code}: {message})"
        if status >= 500:
            return "server", code, f"Google failed (HTTP {status} {code}: {message})"
        return "bad-request", code, f"refused (HTTP {status} {code}: {message})"

    return run


ITEMS = {"users": "users", "roles": "items", "role_assignments": "items",
         "group_members": "members", "orgunits": "organizationUnits", "policies": "policies"}
PAGED = {"users", "roles", "role_assignments", "group_members", "policies"}


def collect(r: Reader, admin_url: str, policy_url: str, customer: str) -> None:
    roots = {spec.ADMIN_API: admin_url.rstrip("/"), spec.POLICY_API: policy_url.rstrip("/")}

    def get(name: str, object_id: str | None = None) -> Any:
        root, path = spec.request_path(name, customer, object_id)
        scope = spec.CALLS[name if object_id is None else name + "/"][2]
        r.classify = classify(scope)
        key = name if object_id is None else f"{name}/{object_id}"
        return r.call(key, roots[root] + path, items=ITEMS[name],
                      paging="google" if name in PAGED else "none")

    get("users")
    get("roles")
    assignments = get("role_assignments") or []
    groups: list[str] = []
    for ra in assignments:
        if isinstance(ra, dict) and str(ra.get("assigneeType") or "").lower() == "group":
            gid = str(ra.get("assignedTo"))
            if gid not in groups:
                groups.append(gid)
    for gid in groups:
        get("group_members", gid)
    get("orgunits")
    get("policies")
