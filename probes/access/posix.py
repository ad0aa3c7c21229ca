"""POSIX: who can administer a Linux or macOS system, and whose they are (``access.*`` facts).

A pure derivation for the POSIX section (``probes/posix/accounts``) to call, from what that
section read: the users of ``/etc/passwd``, the groups of ``/etc/group``, what ``/etc/shadow``
says of each password (empty, locked, set, and its dates), the users and groups sudoers names,
``nsswitch.conf`` (whether accounts may come from a directory) and the authorised keys per user.

An administrator is uid 0, a member of the sudo, wheel or admin group (:data:`ADMIN_GROUPS`), or
named in sudoers (a user, or a group's members). Each is listed with ``via`` (uid0, sudo-group,
wheel, admin-group, sudoers, sudoers-group:NAME), ``locked`` (the password field starts with
``!``), ``expired`` (as pam_unix counts it), ``credential`` (a usable password and/or a
non-empty authorized_keys file), ``usable`` and ``last_login``; :func:`derive` hands them with
the identities the inventory declares to :func:`probes.access.derive.derive`, as the Windows
(:mod:`probes.access.windows`) and network-device (:mod:`probes.access.netos`) sections do.
What each field means is told in :mod:`probes.posix.accounts`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from probes.access import derive as access
from probes.access.identity import Identity
from probes.base import Block, Facts, RawSection

#: the groups whose members administer a POSIX system
ADMIN_GROUPS = ("sudo", "wheel", "admin")
VIA_GROUP = {"sudo": "sudo-group", "wheel": "wheel", "admin": "admin-group"}
#: nsswitch.conf sources that are a directory, not the local files
DIRECTORY_SOURCES = {"sss", "ldap", "winbind", "nis", "nisplus", "compat", "db", "extrausers"}


def members(
    group: str, users: list[dict[str, Any]], groups: dict[str, tuple[int, list[str]]]
) -> list[str]:
    """The members of ``group``: those /etc/group lists, and the users whose primary group it
    is."""
    gid, listed = groups[group]
    return sorted(set(listed) | {u["name"] for u in users if u["gid"] == gid})


def _directory(block: Block | None) -> bool | None:
    """Whether passwd or group may come from a directory (sss, ldap, ...); None if unknown."""
    if block is None or block.rc is None:
        return None
    if block.absent:
        return False  # no nsswitch.conf: glibc reads files
    if not block.ok:
        return None
    sources: set[str] = set()
    for line in block.lines():
        _, _, rest = line.partition(":")
        sources.update(w for w in re.split(r"[\s]+", rest.split("#", 1)[0]) if w and "[" not in w)
    return bool(sources & DIRECTORY_SOURCES)


def _keys(block: Block | None) -> tuple[dict[str, int | None], str | None, bool]:
    """Per login user the number of authorised keys (None: could not be read), why keys cannot
    be judged (an AuthorizedKeysCommand, or no output), and whether sshd accepts keys at all."""
    if block is None or block.rc is None:
        return {}, (block or Block("", None)).why("authorized_keys"), True
    if not block.ok:
        return {}, block.why("authorized_keys"), True
    total: dict[str, int] = {}
    denied: set[str] = set()
    command: str | None = None
    pubkey = True
    for line in block.lines():
        if line.startswith("# "):
            words = line[2:].split(None, 1)
            key = words[0].lower() if words else ""
            value = words[1].strip() if len(words) > 1 else ""
            if key == "authorizedkeyscommand" and value.lower() != "none":
                command = f"sshd takes keys from an AuthorizedKeysCommand ({value[:80]})"
            elif key == "pubkeyauthentication" and value.lower() == "no":
                pubkey = False
            continue
        name, sep, state = line.rpartition(":")
        if not sep or not name:
            continue
        total.setdefault(name, 0)
        if state.isdigit():
            total[name] += int(state)
        elif state == "denied":
            denied.add(name)
    # a key found anywhere counts; otherwise a file that could not be read leaves it unknown
    counts = {n: (t if t > 0 or n not in denied else None) for n, t in total.items()}
    return counts, command, pubkey


def _expiry(entry: dict[str, Any], today: int) -> tuple[bool, str]:
    """(expired, why) from shadow's date fields, as pam_unix judges them."""
    expire = entry.get("expire")
    if expire is not None and expire >= 0 and today >= expire:
        day = datetime.fromtimestamp(expire * 86400, UTC).date().isoformat()
        return True, f"the account expired on {day}"
    last, most, inactive = entry.get("lastchg"), entry.get("max"), entry.get("inactive")
    if (
        isinstance(last, int)
        and isinstance(most, int)
        and isinstance(inactive, int)
        and last > 0
        and most >= 0
        and inactive >= 0
        and today - last > most + inactive
    ):
        day = datetime.fromtimestamp((last + most) * 86400, UTC).date().isoformat()
        return True, (
            f"its password expired on {day} and the {inactive}-day grace period has passed "
            "(no login is accepted)"
        )
    return False, ""


_UNREADABLE_SHADOW = "whether it is locked, expired or has a password is unknown"


def derive(
    raw: RawSection,
    blocks: dict[str, Block],
    users: list[dict[str, Any]] | None,
    groups: dict[str, tuple[int, list[str]]] | str,
    shadow: dict[str, dict[str, Any]] | str,
    named: dict[str, Any],
    facts: Facts,
) -> None:
    """The ``access.*`` facts of a POSIX system into ``facts``, from what ``posix.accounts``
    read: its users (``/etc/passwd``, ``None`` when unreadable), groups and shadow entries (or
    why they could not be read), the users and groups sudoers names (``named``), and the
    section's ``nsswitch`` and ``keys`` blocks; the identities declared in ``raw.config``. Runs
    after the section's ``accounts.*`` facts are set (it reads ``accounts.last_login`` and
    whether the sudoers files could be read)."""
    if users is None or isinstance(groups, str):
        why = facts.errors.get("accounts.admins") or "accounts unreadable"
        facts.error_all(access.PROVIDES, why)
        return
    incomplete = None
    if "accounts.sudoers_users" not in facts.values:
        incomplete = facts.errors.get("accounts.sudoers_users", "sudoers: unknown")
    directory = _directory(blocks.get("nsswitch"))
    counts, key_problem, pubkey = _keys(blocks.get("keys"))
    last_login = facts.values.get("accounts.last_login")
    today = int(raw.collected_at.timestamp() // 86400)
    by_name = {u["name"]: u for u in users}
    member_of: dict[str, set[str]] = {u["name"]: set() for u in users}
    for g in groups:
        for m in members(g, users, groups):
            member_of.setdefault(m, set()).add(g)
    via: dict[str, list[str]] = {}
    for u in users:
        if u["uid"] == 0:
            via.setdefault(u["name"], []).append("uid0")
    for g in ADMIN_GROUPS:
        if g in groups:
            for m in members(g, users, groups):
                via.setdefault(m, []).append(VIA_GROUP[g])
    for name in named.get("users", []):
        via.setdefault(name, []).append("sudoers")
    dangling: list[str] = []
    for g in named.get("groups", []):
        if g in groups:
            if g not in ADMIN_GROUPS:
                for m in members(g, users, groups):
                    via.setdefault(m, []).append(f"sudoers-group:{g}")
        else:
            dangling.append(g)
    accounts: list[access.Account] = []
    for name in sorted(via):
        accounts.append(
            _account(name, via[name], by_name.get(name), member_of.get(name, set()), shadow,
                     counts, key_problem, pubkey, directory, today, last_login)
        )  # fmt: skip
    for g in dangling:
        exists = None if directory in (None, True) else False
        accounts.append(
            access.Account(
                name=f"%{g}",
                kind="group",
                source="unknown" if exists is None else "local",
                via=["sudoers"],
                exists=exists,
                enabled=exists,
                usable=exists,
                reasons=[
                    f"a sudoers rule names group {g}, which is not in /etc/group"
                    + (" (it may come from a directory)" if exists is None else "")
                ],
            )
        )
    if named.get("all"):
        accounts.append(
            access.Account(
                name="ALL",
                kind="all",
                via=["sudoers"],
                reasons=["a sudoers rule names every user (ALL): anyone who can log in"],
            )
        )

    def explain(ident: Identity) -> str:
        if ident.kind == "user":
            if ident.name in by_name:
                return (
                    "the account exists but has no administrator rights (not uid 0, not in "
                    "the sudo, wheel or admin group, not named in sudoers)"
                )
            if directory:
                return "no such account in /etc/passwd (a directory account is not visible)"
            return "no such account on this system"
        if ident.kind == "group":
            if ident.name not in groups:
                return "no such group on this system"
            if not members(ident.name, users, groups):
                return "the group has no members"
            return (
                "the group gives no administrator rights here (not sudo, wheel or admin, "
                "not named in sudoers)"
            )
        return "a Windows or network-device identity: it does not apply to this system"

    access.derive(facts, accounts, raw.config, "posix", incomplete, explain)


def _account(
    name: str,
    via: list[str],
    user: dict[str, Any] | None,
    groups: set[str],
    shadow: dict[str, dict[str, Any]] | str,
    counts: dict[str, int | None],
    key_problem: str | None,
    pubkey: bool,
    directory: bool | None,
    today: int,
    last_login: Any,
) -> access.Account:
    seen = isinstance(last_login, dict)
    login = last_login.get(name) if isinstance(last_login, dict) else None
    if user is None:
        exists = None if directory in (None, True) else False
        why = "named in sudoers but not in /etc/passwd"
        why += " (it may be a directory account)" if exists is None else " (no such account)"
        return access.Account(
            name=name, via=via, exists=exists, enabled=exists, usable=exists, reasons=[why],
            last_login=login if seen else None, extra={"uid": None},
        )  # fmt: skip
    reasons: list[str] = []
    entry = shadow.get(name) if isinstance(shadow, dict) else None
    pw = user["_pw"] if user["_pw"] in ("empty", "locked", "set") else None
    locked: bool | None
    expired: bool | None
    if entry is not None:
        pw = pw or entry["state"]
        locked = entry.get("lock")
        if "expire" in entry:
            expired, why_exp = _expiry(entry, today)
            if expired:
                reasons.append(why_exp)
        else:
            expired = None
    else:
        locked = True if user["_pw"] == "locked" else None
        expired = None
    if locked is None or expired is None:
        reason = shadow if isinstance(shadow, str) else f"/etc/shadow has no entry for {name}"
        reasons.append(f"{_UNREADABLE_SHADOW}: {reason}")
        shadow_told = True
    else:
        shadow_told = False
    if locked:
        reasons.insert(0, "the account is locked (its password field starts with '!')")
    enabled = access.all3([None if locked is None else not locked, None if expired is None
                           else not expired])  # fmt: skip
    pw_ok = None if pw is None else pw in ("set", "empty")
    count = counts.get(name, None if key_problem or name not in counts else 0)
    if name not in counts and not key_problem:
        count = 0 if user["login_shell"] else None
    key_ok: bool | None
    if not pubkey:
        key_ok = False
    elif count is None or (count == 0 and key_problem and "AuthorizedKeysCommand" in key_problem):
        key_ok = None  # unreadable, or keys may come from the command
    else:
        key_ok = count > 0
    credential = access.any3([pw_ok, key_ok])
    if credential is False:
        reasons.append("no usable password and no authorised SSH key")
    elif credential is None:
        if pw_ok is None and not shadow_told:
            reasons.append("whether it has a usable password is unknown")
        if key_ok is None and user["login_shell"]:
            reasons.append(
                "its authorised keys are unknown: "
                + (key_problem or "its authorized_keys file is not readable (needs root)")
            )
    if not user["login_shell"]:
        reasons.append(f"no login shell ({user['shell']})")
    usable = access.all3([enabled, user["login_shell"], credential])
    kinds = [k for k, ok in (("password", pw_ok), ("key", key_ok)) if ok]
    cred_text = "+".join(kinds) if kinds else ("none" if credential is False else None)
    if usable:
        reasons = []
    return access.Account(
        name=name,
        via=via,
        groups=frozenset(groups),
        exists=True,
        enabled=enabled,
        locked=locked,
        expired=expired,
        credential=cred_text,
        usable=usable,
        last_login=login,
        reasons=reasons,
        inherent=name == "root" and user["uid"] == 0,
        extra={"uid": user["uid"], "password": _pw_word(pw, locked), "authorized_keys": count,
               "login_shell": user["login_shell"]},
    )  # fmt: skip


def _pw_word(state: str | None, locked: bool | None) -> str:
    """The password's state in an access entry: set, empty, locked (``!``: locked by an
    administrator), none (``*`` and the like: never had one) or unknown."""
    if state is None:
        return "unknown"
    if state == "locked" and locked is False:
        return "none"
    return state
