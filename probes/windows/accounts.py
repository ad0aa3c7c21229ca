"""windows.accounts: local accounts, the Administrators group, password and lockout policy, UAC.

**Administrators** is found by its well-known SID (S-1-5-32-544), so its name in the machine's
language ("Administratoren", "Administrateurs") does not matter. ``Get-LocalGroupMember`` fails on
a group that holds a SID that no longer resolves (a deleted domain or Entra account: "Failed to
compare two elements in the array", error 1789); the section then reads the members through ADSI,
where such a member appears as its bare SID (``accounts.admins_unresolved``).

**Password and lockout policy** come from ``net accounts``, whose nine lines come in a fixed order
in every language: they are read by position, a number where there is one, and a word ("Never",
"None", "Nie", "Keine", ...) meaning unlimited or none by the field. Lockout threshold 0 means
accounts are never locked out. This is the local accounts' policy (on a domain member, what Group
Policy sets for local accounts; domain accounts follow the domain's policy).

**UAC** from ``HKLM\\...\\Policies\\System``; an absent value is Windows' default (EnableLUA 1,
ConsentPromptBehaviorAdmin 5, ConsentPromptBehaviorUser 3, PromptOnSecureDesktop 1).

Facts::

    accounts.admin_groups {"Administrators": ["PC042\\\\Administrator", "CORP\\\\Domain Admins"]}
    accounts.admins ["CORP\\\\Domain Admins", "PC042\\\\Administrator"]
    accounts.admins_complete true
    accounts.admins_unresolved []    (members whose SID no longer resolves)
    accounts.users [{name, sid, rid, enabled, last_logon, password_required, password_last_set,
                     source}]
    accounts.enabled_users ["Administrator", "alice"]   accounts.login_users (the same)
    accounts.guest_enabled false     accounts.builtin_admin_enabled true   (RIDs 501 and 500)
    accounts.password_not_required_users []   (enabled accounts allowed an empty password)
    accounts.last_login {"alice": "2026-11-20T08:02:11Z", "Guest": null}
    password.min_length 12   password.max_age_days null (unlimited)   password.min_age_days 0
    password.history 0       password.lockout_threshold 10  password.lockout_duration_minutes 10
    password.lockout_window_minutes 10      password.computer_role "WORKSTATION"
    password.filters []      (password filters registered with LSA beyond Windows' own)
    password.deny_list null  (true where the Entra Password Protection DC agent runs; null where
                              nothing shows one, which is not proof that there is none)
    uac.enabled true         uac.consent_prompt_admin 5    uac.consent_prompt_user 3
    uac.secure_desktop true  uac.admin_approval_builtin false
    uac.remote_token_filter_disabled false   (LocalAccountTokenFilterPolicy 1: remote UAC off)
    uac.prompts_admin true   (UAC on and administrators are asked before elevating)
"""

from __future__ import annotations

import json
import re
from typing import Any

from probes.access import ACCOUNTS
from probes.access import derive as access
from probes.access import windows as access_windows
from probes.base import Facts, RawSection, guard, iso
from probes.windows._json import document, failed, listed, number, read, when

PROVIDES = (
    *ACCOUNTS,
    "accounts.admins_unresolved",
    "accounts.enabled_users",
    "accounts.guest_enabled",
    "accounts.builtin_admin_enabled",
    "accounts.password_not_required_users",
    "password.min_length",
    "password.max_age_days",
    "password.min_age_days",
    "password.history",
    "password.lockout_threshold",
    "password.lockout_duration_minutes",
    "password.lockout_window_minutes",
    "password.computer_role",
    "password.filters",
    "password.deny_list",
    "uac.enabled",
    "uac.consent_prompt_admin",
    "uac.consent_prompt_user",
    "uac.secure_desktop",
    "uac.admin_approval_builtin",
    "uac.remote_token_filter_disabled",
    "uac.prompts_admin",
    *access.PROVIDES,
)
_ADMIN_FACTS = (
    "accounts.admin_groups",
    "accounts.admins",
    "accounts.admins_complete",
    "accounts.admins_unresolved",
)
_USER_FACTS = (
    "accounts.users",
    "accounts.enabled_users",
    "accounts.login_users",
    "accounts.guest_enabled",
    "accounts.builtin_admin_enabled",
    "accounts.password_not_required_users",
    "accounts.last_login",
)
# net accounts, line by line: (fact, what a word means there)
_NET_ACCOUNTS = (
    (None, None),  # force logoff
    ("password.min_age_days", 0),
    ("password.max_age_days", None),  # "Unlimited"
    ("password.min_length", "number"),
    ("password.history", 0),  # "None"
    ("password.lockout_threshold", 0),  # "Never"
    ("password.lockout_duration_minutes", None),
    ("password.lockout_window_minutes", None),
    ("password.computer_role", "text"),
)
_WINDOWS_FILTERS = {"scecli", "rassfm", "kdcsvc", "wdigest", ""}
_SID_RE = re.compile(r"^S-1-\d+(-\d+)+$")
_UAC_DEFAULTS = {
    "EnableLUA": 1,
    "ConsentPromptBehaviorAdmin": 5,
    "ConsentPromptBehaviorUser": 3,
    "PromptOnSecureDesktop": 1,
    "FilterAdministratorToken": 0,
    "LocalAccountTokenFilterPolicy": 0,
}


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    doc = document(raw)
    _admins(doc, facts)
    _users(doc, facts)
    _policy(doc, facts)
    _uac(doc, facts)
    _access(doc, raw, facts)


def _short(name: str) -> str:
    return name.split("\\")[-1] if name else name


def _admins(doc: dict[str, Any], facts: Facts) -> None:
    group, _ = read(doc, "admin_group", "Administrators group name")
    group_name = _short(str(group or "")) or "Administrators"
    members, why = read(doc, "admins", "Get-LocalGroupMember")
    source = "Get-LocalGroupMember"
    if why is not None and doc.get("admins_adsi") is not None:
        members, why2 = read(doc, "admins_adsi", "Administrators via ADSI")
        source = "ADSI"
        if why2 is not None:
            facts.error_all(_ADMIN_FACTS, f"{why}; {why2}")
            return
    elif why is not None:
        facts.error_all(_ADMIN_FACTS, why)
        return
    names: list[str] = []
    unresolved: list[str] = []
    for m in listed(members):
        if not isinstance(m, dict):
            continue
        name = str(m.get("name") or "").strip()
        if source == "ADSI" and name.lower().startswith("winnt://"):
            parts = name[8:].split("/")
            name = "\\".join(p for p in parts if p)
        sid = str(m.get("sid") or "")
        if not name or _SID_RE.match(name) or _SID_RE.match(_short(name)):
            unresolved.append(sid or name)
            continue
        names.append(name)
    facts.set("accounts.admin_groups", {group_name: sorted(names)})
    facts.set("accounts.admins", sorted(names))
    facts.set("accounts.admins_complete", True)
    facts.set("accounts.admins_unresolved", sorted(unresolved))


def _rid(sid: str) -> int | None:
    tail = sid.rsplit("-", 1)[-1] if sid else ""
    return int(tail) if tail.isdigit() else None


def _users(doc: dict[str, Any], facts: Facts) -> None:
    items, why = read(doc, "users", "Get-LocalUser")
    if why is not None and doc.get("users_wmi") is not None:
        items, why2 = read(doc, "users_wmi", "Win32_UserAccount")
        why = f"{why}; {why2}" if why2 is not None else None
    if why is not None:
        facts.error_all(_USER_FACTS, why)
        return
    users: list[dict[str, Any]] = []
    for u in listed(items):
        if not isinstance(u, dict) or not u.get("name"):
            continue
        sid = str(u.get("sid") or "")
        users.append(
            {
                "name": str(u["name"]),
                "sid": sid or None,
                "rid": _rid(sid),
                "enabled": bool(u.get("enabled")),
                "last_logon": iso(when(u.get("last_logon"))),
                "password_required": bool(u.get("password_required", True)),
                "password_last_set": iso(when(u.get("password_last_set"))),
                "source": u.get("source") or None,
            }
        )
    enabled = sorted(u["name"] for u in users if u["enabled"])
    facts.set("accounts.users", users)
    facts.set("accounts.enabled_users", enabled)
    facts.set("accounts.login_users", enabled)
    facts.set("accounts.guest_enabled", any(u["rid"] == 501 and u["enabled"] for u in users))
    facts.set(
        "accounts.builtin_admin_enabled", any(u["rid"] == 500 and u["enabled"] for u in users)
    )
    facts.set(
        "accounts.password_not_required_users",
        sorted(u["name"] for u in users if u["enabled"] and not u["password_required"]),
    )
    facts.set("accounts.last_login", {u["name"]: u["last_logon"] for u in users})


def _policy(doc: dict[str, Any], facts: Facts) -> None:
    names = [f for f, _ in _NET_ACCOUNTS if f]
    lines, why = read(doc, "net_accounts", "net accounts")
    rec = doc.get("net_accounts")
    code = number(rec.get("exit_code")) if isinstance(rec, dict) else None
    if why is None and code not in (0, None):
        first = next((str(x).strip() for x in listed(lines) if str(x).strip()), "")
        why = f"net accounts: exit code {code}" + (f": {first[:200]}" if first else "")
    if why is not None:
        facts.error_all(names, why)
    else:
        values = [
            str(x).rsplit(":", 1)[1].strip()
            for x in listed(lines)
            if ":" in str(x) and str(x).rsplit(":", 1)[1].strip()
        ]
        if len(values) < len(_NET_ACCOUNTS) or not values[3].isdigit():
            facts.error_all(
                names,
                f"net accounts: expected {len(_NET_ACCOUNTS)} settings with a number for the "
                f"minimum password length, got {values[:9]!r}"[:300],
            )
        else:
            for (fact, word), text in zip(_NET_ACCOUNTS, values, strict=False):
                if fact is None:
                    continue
                if word == "text":
                    facts.set(fact, text)
                elif text.isdigit():
                    facts.set(fact, int(text))
                else:
                    facts.set(fact, word if word != "number" else None)
    lsa, lsa_why = read(doc, "lsa", "LSA Notification Packages")
    if lsa_why is not None or not isinstance(lsa, dict):
        facts.error("password.filters", lsa_why or "LSA key unreadable")
    else:
        packages = [str(p).strip() for p in listed(lsa.get("Notification Packages"))]
        facts.set("password.filters", [p for p in packages if p.lower() not in _WINDOWS_FILTERS])
    agent, agent_why = read(doc, "entra_dc_agent", "Entra Password Protection DC agent")
    if agent_why is not None:
        facts.error("password.deny_list", agent_why)
    else:
        facts.set("password.deny_list", True if agent is True else None)


def _uac(doc: dict[str, Any], facts: Facts) -> None:
    names = [n for n in PROVIDES if n.startswith("uac.")]
    if failed(doc, "uac") or not isinstance(doc.get("uac"), dict):
        _, why = read(doc, "uac", "UAC settings")
        facts.error_all(names, why or "UAC settings: not in the section's output")
        return
    raw = doc["uac"]

    def value(name: str) -> int:
        n = number(raw.get(name))
        return _UAC_DEFAULTS[name] if n is None else n

    enabled = value("EnableLUA") != 0
    admin = value("ConsentPromptBehaviorAdmin")
    facts.set("uac.enabled", enabled)
    facts.set("uac.consent_prompt_admin", admin)
    facts.set("uac.consent_prompt_user", value("ConsentPromptBehaviorUser"))
    facts.set("uac.secure_desktop", value("PromptOnSecureDesktop") != 0)
    facts.set("uac.admin_approval_builtin", value("FilterAdministratorToken") != 0)
    facts.set("uac.remote_token_filter_disabled", value("LocalAccountTokenFilterPolicy") == 1)
    facts.set("uac.prompts_admin", enabled and admin != 0)


def _access(doc: dict[str, Any], raw: RawSection, facts: Facts) -> None:
    """The ``access.*`` facts (whose administrators these are: the client's, the provider's),
    by the shared Windows reader of :mod:`probes.access.windows`, from the same reads."""
    members, why = read(doc, "admins", "Get-LocalGroupMember")
    adsi = False
    if why is not None and doc.get("admins_adsi") is not None:
        members, why2 = read(doc, "admins_adsi", "Administrators via ADSI")
        adsi = why2 is None
        why = why if why2 is None else f"{why}; {why2}"
        why = None if adsi else why
    if why is not None:
        facts.error_all(access.PROVIDES, why)
        return
    rows = []
    for m in listed(members):
        if not isinstance(m, dict):
            continue
        name = str(m.get("name") or "")
        if adsi and name.lower().startswith("winnt://"):
            name = "\\".join(p for p in name[8:].split("/") if p)
        if _SID_RE.match(name) or _SID_RE.match(_short(name)):
            name = ""
        rows.append(
            {
                "Name": name or None,
                "SID": m.get("sid"),
                "ObjectClass": m.get("class"),
                "PrincipalSource": m.get("source") or ("Local" if adsi and name else None),
            }
        )
    users, users_why = read(doc, "users", "Get-LocalUser")
    if users_why is not None and doc.get("users_wmi") is not None:
        users, users_why = read(doc, "users_wmi", "Win32_UserAccount")
    user_rows = None
    if users_why is None:
        user_rows = json.dumps(
            [
                {
                    "Name": u.get("name"),
                    "SID": u.get("sid"),
                    "Enabled": u.get("enabled"),
                    "LastLogon": u.get("last_logon"),
                    "AccountExpires": u.get("account_expires"),
                    "PasswordRequired": u.get("password_required"),
                }
                for u in listed(users)
                if isinstance(u, dict)
            ]
        )
    derived = access_windows.parse(json.dumps(rows), raw.config, raw.collected_at, user_rows)
    facts.update(derived)
