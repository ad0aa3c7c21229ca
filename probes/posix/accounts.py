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
whether they are the client's, the provider's or nobody's), worked out by
:mod:`probes.access.posix` from what this section read and the identities the inventory declares
for the host (``RawSection.config``: ``client_admins``, ``provider_admins``). Each
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

from probes.access import ACCOUNTS
from probes.access import derive as access
from probes.access.posix import ADMIN_GROUPS
from probes.access.posix import derive as admin_access
from probes.access.posix import members as group_members
from probes.base import Block, Facts, RawSection, guard, iso, split_blocks

PROVIDES = (
    *ACCOUNTS,
    "accounts.uid0",
    "accounts.uid0_extra",
    "accounts.empty_password_users",
    "accounts.sudoers_users",
    "sudo.installed",
    "sudo.nopasswd",
    *access.PROVIDES,
)

# Facts that come from /etc/shadow or the sudoers files, which only root can read.
NEEDS_ROOT = ("accounts.empty_password_users", "sudo.nopasswd", "accounts.sudoers_users")

_NO_LOGIN = {"nologin", "false", "sync", "halt", "shutdown"}
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
    admin_access(raw, blocks, users, groups, shadow, named, facts)


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
                resolved.update(group_members(group, users, groups))
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
    admin_groups = {g: group_members(g, users, groups) for g in ADMIN_GROUPS if g in groups}
    facts.set("accounts.admin_groups", admin_groups)
    admins = {u["name"] for u in users if u["uid"] == 0}
    for names in admin_groups.values():
        admins.update(names)
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
