"""posix.accounts: local accounts, administrators, sudo rules and last logins.

The script sends only what is needed: from ``/etc/passwd`` and ``/etc/group`` the name, ids,
shell and members; from ``/etc/shadow`` whether each password field is empty, locked (``!`` or
``*``) or set, never the hash. ``/etc/shadow`` and the sudoers files need root: as another user
the facts that depend on them are errors that say so.

Facts::

    accounts.users [{name, uid, gid, shell, login_shell, password}]
        password: "set" | "locked" | "empty" | "unknown"
    accounts.uid0 ["root"]                 accounts.uid0_extra []
    accounts.login_users ["root", ...]     accounts.empty_password_users []
    accounts.admin_groups {"sudo": ["alice"]}   (groups named sudo, wheel, admin that exist;
                                                 members include users whose primary group it is)
    accounts.sudoers_users ["root"]        (users named in sudoers rules, groups and aliases
                                            expanded; "ALL" when a rule names every user)
    accounts.admins ["alice", "root"]      (uid 0 + admin groups + sudoers users)
    accounts.admins_complete true          (false when the sudoers files could not be read)
    sudo.installed true
    sudo.nopasswd [{file, entry}]          (rules with NOPASSWD, and ``Defaults !authenticate``)
    accounts.last_login {"root": null, "alice": "2026-11-20T09:14:02Z"}

and the ``access.*`` facts of :mod:`probes.access.derive` (who can administer this system, and
whether they are the client's, the provider's or nobody's), from the identities the inventory
declares for the host (``RawSection.config``: ``client_admins``, ``provider_admins``). Each
administrator (uid 0, member of sudo/wheel/admin, or named in sudoers) is listed with:

- ``via``: uid0, sudo-group, wheel, admin-group, sudoers, sudoers-group:NAME;
- ``locked``: the password field starts with ``!`` (``usermod -L``/``passwd -l``); an account
  locked so is taken as disabled even though, with ``UsePAM yes``, sshd may still accept its key;
- ``expired``: the shadow expiry day has come (as pam_unix counts it), or the password expired
  and the inactive period after it has passed (then no login at all is accepted);
- ``credential``: a usable password (set or empty, not locked) and/or a non-empty
  authorized_keys file (as sshd's AuthorizedKeysFile names it; with an AuthorizedKeysCommand,
  keys may come from elsewhere and an empty file proves nothing);
- ``usable``: enabled, a login shell, and a credential; unknown (null, with the reason) when
  shadow or the key files cannot be read;
- ``last_login`` from lastlog.

Days are counted on the scanner's collection time (``RawSection.collected_at``), not the
target's clock. An account named in sudoers but absent from /etc/passwd does not exist when
nsswitch.conf reads passwd from files only; with a directory (sss, ldap, winbind) it may.

A login shell is any shell but nologin, false, sync, halt and shutdown.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from probes.access import derive as access
from probes.access.identity import Identity
from probes.base import Block, Facts, RawSection, guard, iso, split_blocks

PROVIDES = (
    "accounts.users",
    "accounts.uid0",
    "accounts.uid0_extra",
    "accounts.login_users",
    "accounts.empty_password_users",
    "accounts.admin_groups",
    "accounts.sudoers_users",
    "accounts.admins",
    "accounts.admins_complete",
    "sudo.installed",
    "sudo.nopasswd",
    "accounts.last_login",
    *access.PROVIDES,
)

# Facts that come from /etc/shadow or the sudoers files, which only root can read.
NEEDS_ROOT = ("accounts.empty_password_users", "sudo.nopasswd", "accounts.sudoers_users")

_NO_LOGIN = {"nologin", "false", "sync", "halt", "shutdown"}
_ADMIN_GROUPS = ("sudo", "wheel", "admin")
_VIA_GROUP = {"sudo": "sudo-group", "wheel": "wheel", "admin": "admin-group"}
_DIRECTORY_SOURCES = {"sss", "ldap", "winbind", "nis", "nisplus", "compat", "db", "extrausers"}
_PATH = "# undone-path: "
_LISTED = "# undone-file: "
_UNLISTED = "# undone-unlisted: "
_LASTLOG_DATE_RE = re.compile(
    r"([A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d [+-]\d{4} \d{4})\s*$"
)
_ALIAS_RE = re.compile(r"^User_Alias\s+(.*)$")


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    users = _passwd(blocks.get("passwd"), facts)
    groups = _groups(blocks.get("group"))
    shadow = _shadow(blocks.get("shadow"))
    if users is not None:
        _accounts(users, shadow, facts)
    named: dict[str, Any] = {}
    sudoers_users = _sudo(blocks, users or [], groups, facts, named)
    _admins(users, groups, sudoers_users, facts)
    _lastlog(blocks.get("lastlog"), facts)
    _access(raw, blocks, users, groups, shadow, named, facts)


def _passwd(block: Block | None, facts: Facts) -> list[dict[str, Any]] | None:
    names = (
        "accounts.users",
        "accounts.uid0",
        "accounts.uid0_extra",
        "accounts.login_users",
        "accounts.empty_password_users",
    )
    if block is None or not block.ok:
        facts.error_all(names, (block or Block("", None)).why("/etc/passwd"))
        return None
    users: list[dict[str, Any]] = []
    for line in block.lines():
        parts = line.split(":")
        if len(parts) != 5 or not parts[0] or parts[0][0] in "+-":
            continue
        name, uid, gid, shell, pw = parts
        if not uid.isdigit() or not gid.isdigit():
            continue
        base = shell.rstrip("/").rsplit("/", 1)[-1]
        users.append(
            {
                "name": name,
                "uid": int(uid),
                "gid": int(gid),
                "shell": shell,
                "login_shell": base not in _NO_LOGIN,
                "_pw": pw,
            }
        )
    if not any(u["name"] == "root" or u["uid"] == 0 for u in users):
        facts.error_all(names, "/etc/passwd: no root entry (output is not a passwd file)")
        return None
    return users


def _shadow(block: Block | None) -> dict[str, dict[str, Any]] | str:
    if block is None or block.rc is None:
        return (block or Block("", None)).why("/etc/shadow")
    if block.denied:
        return "/etc/shadow: not readable (needs root: allow sudo with become: true)"
    if not block.ok:
        return block.why("/etc/shadow")
    out: dict[str, dict[str, Any]] = {}
    for line in block.lines():
        parts = line.split(":")
        if len(parts) < 2 or parts[1] not in ("empty", "locked", "set"):
            continue
        entry: dict[str, Any] = {"state": parts[1]}
        if len(parts) == 7:  # name:state:lock:last change:max:inactive:expiry
            entry["lock"] = parts[2] == "L"
            for key, text in zip(("lastchg", "max", "inactive", "expire"), parts[3:], strict=True):
                entry[key] = int(text) if text.lstrip("-").isdigit() else None
        out[parts[0]] = entry
    if not out:
        return "/etc/shadow: no entries in the output"
    return out


def _accounts(
    users: list[dict[str, Any]], shadow: dict[str, dict[str, Any]] | str, facts: Facts
) -> None:
    unknown_empty = False
    for u in users:
        pw = u["_pw"]
        if pw in ("empty", "locked", "set"):
            u["password"] = pw
        elif isinstance(shadow, dict) and u["name"] in shadow:
            u["password"] = shadow[u["name"]]["state"]
        else:
            u["password"] = "unknown"  # noqa: S105 - a state, not a password
            if u["login_shell"]:
                unknown_empty = True
    facts.set("accounts.users", [{k: v for k, v in u.items() if k != "_pw"} for u in users])
    uid0 = sorted(u["name"] for u in users if u["uid"] == 0)
    facts.set("accounts.uid0", uid0)
    facts.set("accounts.uid0_extra", [n for n in uid0 if n != "root"])
    login = [u for u in users if u["login_shell"]]
    facts.set("accounts.login_users", sorted(u["name"] for u in login))
    if unknown_empty:
        reason = (
            shadow if isinstance(shadow, str) else "/etc/shadow: some login users have no entry"
        )
        facts.error("accounts.empty_password_users", reason)
    else:
        facts.set(
            "accounts.empty_password_users",
            sorted(u["name"] for u in login if u["password"] == "empty"),  # noqa: S105
        )


def _groups(block: Block | None) -> dict[str, tuple[int, list[str]]] | str:
    if block is None or not block.ok:
        return (block or Block("", None)).why("/etc/group")
    out: dict[str, tuple[int, list[str]]] = {}
    for line in block.lines():
        parts = line.split(":")
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        out[parts[0]] = (int(parts[1]), [m for m in parts[2].split(",") if m])
    if not out:
        return "/etc/group: no entries in the output"
    return out


def _members(
    group: str, users: list[dict[str, Any]], groups: dict[str, tuple[int, list[str]]]
) -> list[str]:
    gid, members = groups[group]
    return sorted(set(members) | {u["name"] for u in users if u["gid"] == gid})


def _sudo_files(blocks: dict[str, Block]) -> list[tuple[str, Block]]:
    files: list[tuple[str, Block]] = []
    for name in sorted(
        (n for n in blocks if n.startswith("sudoers.")),
        key=lambda n: int(n.split(".", 1)[1]) if n.split(".", 1)[1].isdigit() else 0,
    ):
        block = blocks[name]
        lines = block.text.split("\n")
        if not lines or not lines[0].startswith(_PATH):
            continue
        files.append((lines[0][len(_PATH) :].strip(), Block("\n".join(lines[1:]), block.rc)))
    return files


def _logical_lines(text: str) -> list[str]:
    out: list[str] = []
    buf = ""
    # whole lines, never cut at MAX_LINE: a long rule's NOPASSWD comes at its end (the work per
    # line is linear string handling only)
    for raw in text.split("\n"):
        line = raw.rstrip()
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        line = " ".join((buf + line).split())
        buf = ""
        if line:
            out.append(line)
    if buf.strip():
        out.append(" ".join(buf.split()))
    return out


def _sudo(
    blocks: dict[str, Block],
    users: list[dict[str, Any]],
    groups: dict[str, tuple[int, list[str]]] | str,
    facts: Facts,
    named_out: dict[str, Any] | None = None,
) -> list[str] | None:
    """Sets sudo.* and accounts.sudoers_users; returns the sudoers users, None if unknown.
    ``named_out`` receives what the rules name: ``users`` (by name or #uid), ``groups`` (each
    %group) and ``all`` (a rule names every user)."""
    names = ("sudo.nopasswd", "accounts.sudoers_users")
    binary = blocks.get("sudo")
    if binary is None or binary.rc is None:
        facts.error("sudo.installed", (binary or Block("", None)).why("sudo"))
    else:
        facts.set("sudo.installed", binary.ok)
    files = _sudo_files(blocks)
    end = blocks.get("end")
    if end is None or end.rc is None:  # a half-printed end block is a cut output too
        facts.error_all(names, "sudoers: output cut off before every file was read")
        return None
    if not files:
        facts.error_all(names, "sudoers: no output from the target")
        return None
    main_path, main = files[0]
    if main.absent and main_path == "/etc/sudoers":
        facts.set("sudo.nopasswd", [])
        facts.set("accounts.sudoers_users", [])
        return []
    for path, block in files:
        if block.rc is None or (not block.ok and not block.absent):
            reason = block.why(path)
            if block.denied:
                reason = f"{path}: not readable (needs root: allow sudo with become: true)"
            facts.error_all(names, reason)
            return None
        odd = next((ln for ln in block.lines() if ln.startswith(_UNLISTED)), None)
        if odd is not None:
            facts.error_all(
                names,
                f"{path}: the name of {odd[len(_UNLISTED):][:80]!r} holds a line break or a tab; "
                "sudo reads that file, undone could not: its rules are unknown",
            )
            return None
    aliases: dict[str, list[str]] = {}
    nopasswd: list[dict[str, str]] = []
    named: set[str] = set()
    uid_names = {str(u["uid"]): u["name"] for u in users}
    for path, block in files:
        if not block.ok:
            continue
        for line in _logical_lines(block.text):
            if line.startswith(_LISTED) or re.match(r"^[#@]include", line):
                continue
            if line.startswith("#") and not re.match(r"^#\d", line):
                continue
            m = _ALIAS_RE.match(line)
            if m:
                for definition in m.group(1).split(":"):
                    alias, eq, members = definition.partition("=")
                    if eq:
                        aliases[alias.strip()] = [x.strip() for x in members.split(",")]
                continue
            if re.match(r"^(Runas|Host|Cmnd|Cmd)_Alias\b", line):
                continue
            if line.startswith("Defaults"):
                if "!authenticate" in line:
                    nopasswd.append({"file": path, "entry": line})
                continue
            left, eq, right = line.partition("=")
            if not eq:
                continue
            if "NOPASSWD" in right:
                nopasswd.append({"file": path, "entry": line})
            named.update(_spec_users(left, aliases))
    resolved: set[str] = set()
    by_name: set[str] = set()
    by_group: set[str] = set()
    for who in named:
        if who.startswith("%"):
            group = who[1:].lstrip(":")
            if group.startswith("#") and isinstance(groups, dict):
                group = next((g for g, (gid, _) in groups.items() if str(gid) == group[1:]), group)
            by_group.add(group)
            if isinstance(groups, dict) and group in groups:
                resolved.update(_members(group, users, groups))
        elif who.startswith("#") and who[1:].isdigit():
            resolved.add(uid_names.get(who[1:], who))
            by_name.add(uid_names.get(who[1:], who))
        else:
            resolved.add(who)  # a user name, or "ALL" when a rule names every user
            by_name.add(who)
    if named_out is not None:
        named_out.update(
            users=sorted(by_name - {"ALL"}), groups=sorted(by_group), all="ALL" in by_name
        )
    facts.set("sudo.nopasswd", nopasswd)
    facts.set("accounts.sudoers_users", sorted(resolved))
    return sorted(resolved)


def _spec_users(left: str, aliases: dict[str, list[str]], depth: int = 0) -> set[str]:
    """The user list at the start of a sudoers user specification (before the host list)."""
    items = [i for i in (x.strip() for x in left.split(",")) if i]
    users: list[str] = []
    for item in items:
        parts = item.split()
        users.append(parts[0])
        if len(parts) > 1:
            break
    out: set[str] = set()
    for u in users:
        if u.startswith("!"):
            continue
        if u in aliases and depth < 5:
            out.update(_spec_users(", ".join(aliases[u]) + " X", aliases, depth + 1))
        else:
            out.add(u)
    return out


def _admins(
    users: list[dict[str, Any]] | None,
    groups: dict[str, tuple[int, list[str]]] | str,
    sudoers_users: list[str] | None,
    facts: Facts,
) -> None:
    if users is None:
        facts.error_all(
            ("accounts.admin_groups", "accounts.admins", "accounts.admins_complete"),
            facts.errors.get("accounts.users", "/etc/passwd unreadable"),
        )
        return
    if isinstance(groups, str):
        facts.error_all(
            ("accounts.admin_groups", "accounts.admins", "accounts.admins_complete"), groups
        )
        return
    admin_groups = {g: _members(g, users, groups) for g in _ADMIN_GROUPS if g in groups}
    facts.set("accounts.admin_groups", admin_groups)
    admins = {u["name"] for u in users if u["uid"] == 0}
    for members in admin_groups.values():
        admins.update(members)
    admins.update(sudoers_users or [])
    facts.set("accounts.admins", sorted(admins))
    facts.set("accounts.admins_complete", sudoers_users is not None)


def _lastlog(block: Block | None, facts: Facts) -> None:
    name = "accounts.last_login"
    if block is None or block.rc is None:
        facts.error(name, (block or Block("", None)).why("lastlog"))
        return
    if block.missing:
        facts.error(name, "lastlog not available on the target")
        return
    if not block.ok:
        facts.error(name, block.why("lastlog"))
        return
    lines = [ln for ln in block.lines() if ln.strip()]
    if not lines or not lines[0].startswith("Username"):
        facts.error(name, "lastlog: output has no header line")
        return
    out: dict[str, str | None] = {}
    for line in lines[1:]:
        user = line.split()[0]
        if "**Never logged in**" in line:
            out[user] = None
            continue
        m = _LASTLOG_DATE_RE.search(line)
        if not m:
            facts.error(name, f"lastlog: unreadable line {line.strip()[:80]!r}")
            return
        dt = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %z %Y")
        out[user] = iso(dt.astimezone(UTC))
    facts.set(name, out)


# -- access: who can administer this system ---------------------------------------------------


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
    return bool(sources & _DIRECTORY_SOURCES)


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


def _access(
    raw: RawSection,
    blocks: dict[str, Block],
    users: list[dict[str, Any]] | None,
    groups: dict[str, tuple[int, list[str]]] | str,
    shadow: dict[str, dict[str, Any]] | str,
    named: dict[str, Any],
    facts: Facts,
) -> None:
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
        for m in _members(g, users, groups):
            member_of.setdefault(m, set()).add(g)
    via: dict[str, list[str]] = {}
    for u in users:
        if u["uid"] == 0:
            via.setdefault(u["name"], []).append("uid0")
    for g in _ADMIN_GROUPS:
        if g in groups:
            for m in _members(g, users, groups):
                via.setdefault(m, []).append(_VIA_GROUP[g])
    for name in named.get("users", []):
        via.setdefault(name, []).append("sudoers")
    dangling: list[str] = []
    for g in named.get("groups", []):
        if g in groups:
            if g not in _ADMIN_GROUPS:
                for m in _members(g, users, groups):
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
            if not _members(ident.name, users, groups):
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
