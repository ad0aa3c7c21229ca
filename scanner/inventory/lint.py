"""``undone validate`` warnings: what is valid but probably not what was meant (issue 16).

- a waiver for a rule no baseline has (a typo, or a rule that was retired): it waives nothing;
- a waiver that expired long ago (:data:`LONG_EXPIRED_DAYS`): it only clutters the reports;
- a role no rule of the baselines names and undone does not know: it narrows nothing.

Warnings never change the exit code; each is one line naming the file and the key path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from scanner.inventory import ROLES, Inventory, Waiver, near_miss

LONG_EXPIRED_DAYS = 90


def waiver_warnings(waivers: Iterable[Waiver], label: str, rule_ids: set[str],
                    today: date) -> list[str]:
    out: list[str] = []
    for i, w in enumerate(waivers):
        if rule_ids and w.rule not in rule_ids:
            lower = {r.lower(): r for r in rule_ids}
            found = near_miss(w.rule, lower)
            guess = lower[found] if found else None
            hint = f" (did you mean {guess}?)" if guess else ""
            out.append(f"{label}: waivers[{i}]: warning: rule {w.rule} is in no baseline{hint}; "
                       "this waiver waives nothing")
        if w.expires < today - timedelta(days=LONG_EXPIRED_DAYS):
            out.append(f"{label}: waivers[{i}]: warning: expired on {w.expires.isoformat()}, "
                       f"more than {LONG_EXPIRED_DAYS} days ago: renew it or remove it")
    return out


def role_warnings(inv: Inventory, label: str, used_roles: set[str]) -> list[str]:
    """Roles that no rule names and that undone does not know."""
    out: list[str] = []
    seen: set[str] = set()
    for h in inv.hosts:
        for r in h.roles:
            if r in seen or r in used_roles or r in ROLES:
                continue
            seen.add(r)
            users = sorted(x.name for x in inv.hosts if r in x.roles)
            shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3
                                            else "")
            out.append(f"{label}: warning: role '{r}' (on {shown}) is named by no rule of the "
                       "baselines and is not one undone knows: it selects nothing")
    return out


def warnings(inv: Inventory, label: str, rule_ids: set[str], used_roles: set[str],
             today: date) -> list[str]:
    return (waiver_warnings(inv.waivers, label, rule_ids, today)
            + role_warnings(inv, label, used_roles))
