"""Network devices: their administrator users, and whose they are (``access.*`` facts).

Pure parsers of recorded outputs, for the network-device SSH mode (``probes/netos/*``) to call;
fixtures and their sources are in ``tests/fixtures/access/``. Each returns :class:`Facts` with
the ``access.*`` facts of :mod:`probes.access.derive` and never raises.

RouterOS (MikroTik)
    ``/user print terse`` (and, optionally, ``/user group print terse`` to judge custom groups)::

        0   comment=system default user name=admin group=full address= last-logged-in=...
        1 X name=old group=full ...

    Flags after the index: ``X`` disabled, ``E`` expired (the password must be changed at the
    next login: still usable). An administrator is a member of a group whose policy holds both
    ``write`` and ``policy`` (managing users); without the group list, ``full`` is one, ``read``
    and ``write`` are not, and a custom group is one whose rights are unknown. ``last-logged-in``
    is the device's local time (``2026-09-17 21:04:11``; RouterOS 6: ``jan/02/1970 00:11:54``),
    kept without a zone.
FortiOS (Fortinet)
    ``show system admin`` (``config system admin`` / ``edit "NAME"`` / ``set ...`` / ``next`` /
    ``end``). Every entry is an administrator; ``accprofile "super_admin"`` (or ``prof_admin``)
    gives full rights, ``super_admin_readonly`` none to change anything, a custom profile unknown
    rights. Credentials: ``set password ENC ...`` (no line: an empty password), ``set
    ssh-public-key1..3``, or ``set remote-auth enable`` (RADIUS/LDAP/TACACS+: not visible on the
    device). ``set wildcard enable`` lets every user of the remote group in. ``get system admin``
    (``== [ NAME ]`` list) gives names only: rights unknown.
Cisco IOS / IOS-XE
    ``show running-config | include ^username``::

        username admin privilege 15 secret 9 $9$...
        username ops privilege 1 password 7 0822455D0A16

    An administrator has privilege 15. ``nopassword`` logs in without one (usable, and a finding
    of its own). Users held by a AAA server (TACACS+, RADIUS) are not in this output.

The outputs hold password hashes (FortiOS ``ENC``, IOS ``secret``/``password``): parsers keep none
of them, and :func:`redact` masks them for a section to store as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from probes.access import derive as access
from probes.access.identity import Identity
from probes.base import Facts
from probes.base import lines as text_lines

_ROS_LINE = re.compile(r"^\s*(\d+)\s+([A-Z]*)\s*(.*)$")
_ROS_KEY = re.compile(r"(?:^|\s)([a-z][a-z0-9-]*)=")
_ROS_V6_DATE = re.compile(r"^([a-z]{3})/(\d{2})/(\d{4}) (\d{2}:\d{2}:\d{2})$")
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_IOS_USER = re.compile(r"^username\s+(\S+)(.*)$")
_SECRET_RES = (
    # FortiOS: set password ENC <hash>, set passwd ENC <hash>, set private-key ...
    (re.compile(r"(?im)^([ \t]*set[ \t]+(?:password|passwd|private-key|psksecret)[ \t]+)"
                r"(\S+[ \t]+)?\S+.*$"),
     r"\1<redacted>"),
    # IOS: secret 9 <hash>, password 7 <hash>, enable secret ...
    (re.compile(r"(?i)\b(secret|password)\s+(\d+\s+)?\S+"), r"\1 \2<redacted>"),
)  # fmt: skip


def redact(text: str) -> str:
    """The output with every password, secret and private key replaced by ``<redacted>``."""
    for rx, repl in _SECRET_RES:
        text = rx.sub(repl, text)
    return text


def _guarded(body: Any, *args: Any) -> Facts:
    facts = Facts()
    try:
        body(facts, *args)
    except Exception as exc:  # noqa: BLE001 - whatever the output, a parser returns facts
        reason = f"{body.__name__.strip('_')}: {type(exc).__name__}: {exc}"[:400]
        if isinstance(exc, ValueError):
            reason = f"{exc}"[:400]
        for name in access.PROVIDES:
            if name not in facts.values and name not in facts.errors:
                facts.error(name, reason)
    return facts


def _explain(users: set[str]) -> Any:
    def explain(ident: Identity) -> str:
        if ident.kind in ("user", "device"):
            if ident.name in users:
                return "the device user exists but has no administrator rights"
            return "no such user on this device"
        return "a group or domain identity: it does not apply to a network device"

    return explain


# -- RouterOS ----------------------------------------------------------------------------------


def _ros_fields(rest: str) -> dict[str, str]:
    """``key=value`` pairs of a terse line; a value runs to the next `` key=`` (comments hold
    spaces unquoted)."""
    starts = [(m.start(1), m.group(1)) for m in _ROS_KEY.finditer(rest)]
    out: dict[str, str] = {}
    for i, (pos, key) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(rest)
        value = rest[pos + len(key) + 1 : end].strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out[key] = value
    return out


_ROS_COLUMNS = ("NAME", "GROUP", "ADDRESS", "LAST-LOGGED-IN")


def _ros_table(text: str) -> list[tuple[str, str]] | None:
    """Items of ``/user print`` in its column form (RouterOS 6 and 7 without ``terse`` or
    ``detail``): a header `` #   NAME   GROUP  ADDRESS  LAST-LOGGED-IN``, then per item its
    index and flags, and the values under the headings; a ``;;; comment`` line starts the item
    and its values follow on the next line. Each item comes back as ``key=value`` text for
    :func:`_ros_fields`; None when the text has no such header."""
    rows = text_lines(text)
    head = next((i for i, ln in enumerate(rows) if ln.lstrip().startswith("#")
                 and all(f" {c}" in ln for c in _ROS_COLUMNS[:2])), None)
    if head is None:
        return None
    header = rows[head]
    cols = [(header.index(f" {c}") + 1, c.lower()) for c in _ROS_COLUMNS if f" {c}" in header]
    cols.sort()
    items: list[tuple[str, str]] = []
    for line in rows[head + 1 :]:
        if not line.strip():
            continue
        m = _ROS_LINE.match(line)
        body = line
        if m:
            items.append((m.group(2), ""))
            body = " " * m.start(3) + m.group(3)
        if not items or body.strip().startswith(";;;"):
            continue
        fields = []
        for i, (start, key) in enumerate(cols):
            end = cols[i + 1][0] if i + 1 < len(cols) else len(body)
            value = body[start:end].strip()
            if value:
                fields.append(f'{key}="{value}"')
        flags, _ = items[-1]
        items[-1] = (flags, " ".join(fields))
    return items


def _ros_items(text: str) -> list[tuple[str, str]]:
    """(flags, text) per item: an item starts with its index; a line without one continues it
    (``print`` without ``terse`` puts the ``;;; comment`` on a line of its own). The column
    form of ``print`` is read by :func:`_ros_table`."""
    table = _ros_table(text)
    if table is not None:
        return table
    items: list[tuple[str, str]] = []
    for line in text_lines(text):
        m = _ROS_LINE.match(line)
        if m:
            items.append((m.group(2), m.group(3)))
        elif line.strip() and items:
            flags, rest = items[-1]
            items[-1] = (flags, f"{rest} {line.strip()}")
    return items


def _ros_date(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    m = _ROS_V6_DATE.match(text)
    if m:
        month = _MONTHS.index(m.group(1)) + 1 if m.group(1) in _MONTHS else 0
        return f"{m.group(3)}-{month:02d}-{m.group(2)}T{m.group(4)}" if month else text
    m2 = re.match(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$", text)
    return f"{m2.group(1)}T{m2.group(2)}" if m2 else text


def _ros_groups(text: str | None) -> dict[str, bool | None]:
    """Group name → administrator (write and policy, neither negated)."""
    out: dict[str, bool | None] = {}
    for _flags, rest in _ros_items(text or ""):
        f = _ros_fields(rest)
        if "name" not in f:
            continue
        policies = {p.strip() for p in f.get("policy", "").split(",") if p.strip()}
        out[f["name"]] = {"write", "policy"} <= policies
    return out


def parse_routeros(
    users: str,
    config: Mapping[str, Any],
    collected_at: datetime,
    groups: str | None = None,
) -> Facts:
    """``access.*`` from RouterOS ``/user print terse`` (and ``/user group print terse``)."""
    return _guarded(_routeros, users, config, collected_at, groups)


def _routeros(
    facts: Facts,
    text: str,
    config: Mapping[str, Any],
    _now: datetime,
    groups_text: str | None,
) -> None:
    if re.search(r"(?im)^[ \t]*(bad command|syntax error|expected end of command|failure:)", text):
        first = next(ln.strip() for ln in text_lines(text) if ln.strip())
        raise ValueError(f"RouterOS /user print: {first[:160]}")
    policy = {"full": True, "write": False, "read": False}
    policy.update({k: v for k, v in _ros_groups(groups_text).items() if v is not None})
    accounts: list[access.Account] = []
    names: set[str] = set()
    seen_any = False
    for flags, rest in _ros_items(text):
        f = _ros_fields(rest)
        if "name" not in f or "group" not in f:
            continue
        seen_any = True
        names.add(f["name"])
        is_admin = policy.get(f["group"])
        if is_admin is False:
            continue
        disabled = "X" in flags or f.get("disabled") in ("yes", "true")
        rights = "full" if is_admin else "unknown"
        reasons = ["the user is disabled"] if disabled else []
        if is_admin is None:
            reasons.append(f"the rights of group {f['group']} are unknown (/user group print)")
        usable = False if disabled else (True if is_admin else None)
        accounts.append(
            access.Account(
                name=f["name"],
                source="device",
                via=["device-admin", f"group:{f['group']}"],
                exists=True,
                enabled=not disabled,
                locked=False,
                expired=False,
                credential="password",
                usable=usable,
                last_login=_ros_date(f.get("last-logged-in", "")),
                reasons=[] if usable else reasons,
                extra={
                    "group": f["group"],
                    "rights": rights,
                    "password_expired": "E" in flags,
                    "address": f.get("address") or None,
                },
            )
        )
    if not seen_any:
        raise ValueError("RouterOS /user print: no users in the output")
    access.derive(facts, accounts, config, "device", None, _explain(names))


# -- FortiOS -----------------------------------------------------------------------------------

_FULL_PROFILES = {"super_admin": "full", "prof_admin": "full", "super_admin_readonly": "read-only"}


def _unquote(value: str) -> str:
    value = value.strip()
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def parse_fortios(text: str, config: Mapping[str, Any], collected_at: datetime) -> Facts:
    """``access.*`` from FortiOS ``show system admin`` (or the ``get system admin`` list)."""
    return _guarded(_fortios, text, config, collected_at)


def _forti_entries(text: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    in_admin = False
    depth = 0
    current: dict[str, Any] | None = None
    for raw in text_lines(text):
        line = raw.strip()
        words = line.split(None, 2)
        if not words:
            continue
        if line.startswith("config system admin"):
            in_admin, depth = True, 0
            continue
        if not in_admin:
            m = re.match(r"^==\s*\[(.*)\]$", line)  # get system admin
            if m:
                entries.append({"name": m.group(1).strip(), "_get": True})
            continue
        if words[0] == "config":
            depth += 1  # a nested table (gui-dashboard, ...)
        elif words[0] == "end":
            if depth == 0:
                in_admin = False
                current = None
            else:
                depth -= 1
        elif depth == 0 and words[0] == "edit" and len(words) > 1:
            current = {"name": _unquote(line[5:])}
            entries.append(current)
        elif depth == 0 and words[0] == "next":
            current = None
        elif depth == 0 and words[0] == "set" and current is not None and len(words) > 1:
            current[words[1]] = _unquote(words[2]) if len(words) > 2 else ""
    return entries


def _fortios(facts: Facts, text: str, config: Mapping[str, Any], _now: datetime) -> None:
    if re.search(r"(?im)^[ \t]*(command parse error|Unknown action)", text):
        first = next(ln.strip() for ln in text_lines(text) if ln.strip())
        raise ValueError(f"FortiOS show system admin: {first[:160]}")
    entries = _forti_entries(text)
    if not entries:
        raise ValueError("FortiOS show system admin: no administrators in the output")
    accounts: list[access.Account] = []
    for e in entries:
        reasons: list[str] = []
        if e.get("_get"):
            rights = "unknown"
            credential: str | None = None
            reasons.append("rights and credentials are not in the get system admin list")
        else:
            profile = e.get("accprofile", "super_admin" if e["name"] == "admin" else "")
            rights = _FULL_PROFILES.get(profile, "unknown")
            if rights == "read-only":
                reasons.append(f"its profile {profile} can change nothing")
            elif rights == "unknown":
                reasons.append(f"the rights of profile {profile or '(none)'} are unknown")
            keys = any(k.startswith("ssh-public-key") and e[k] for k in e)
            if e.get("remote-auth") == "enable":
                credential = "remote"
                reasons.append("it signs in through a remote server (RADIUS, LDAP, TACACS+)")
            elif "password" in e:
                credential = "password+key" if keys else "password"
            else:
                credential = "empty+key" if keys else "empty"
        wildcard = e.get("wildcard") == "enable"
        usable: bool | None
        if rights == "read-only":
            usable = False
        elif rights == "unknown" or credential in (None, "remote"):
            usable = None
        else:
            usable = True
        accounts.append(
            access.Account(
                name=e["name"],
                kind="all" if wildcard else "user",
                source="device",
                via=["device-admin"],
                exists=True,
                enabled=True,
                locked=False,
                expired=False,
                credential=credential,
                usable=usable,
                reasons=[] if usable else reasons,
                extra={
                    "profile": e.get("accprofile"),
                    "rights": rights,
                    "vdom": e.get("vdom"),
                    "two_factor": e.get("two-factor", "disable") != "disable",
                    "remote_group": e.get("remote-group"),
                },
            )
        )
    access.derive(facts, accounts, config, "device", None, _explain({e["name"] for e in entries}))


# -- Cisco IOS ---------------------------------------------------------------------------------


def parse_ios(text: str, config: Mapping[str, Any], collected_at: datetime) -> Facts:
    """``access.*`` from ``show running-config | include ^username``."""
    return _guarded(_ios, text, config, collected_at)


def _ios(facts: Facts, text: str, config: Mapping[str, Any], _now: datetime) -> None:
    if re.search(r"(?m)^[ \t]*% Invalid input", text):
        raise ValueError("IOS show running-config: % Invalid input (is this an IOS device?)")
    users: dict[str, dict[str, Any]] = {}
    for raw in text_lines(text):
        m = _IOS_USER.match(raw.strip())
        if not m:
            continue
        name, rest = m.group(1), m.group(2).split()
        u = users.setdefault(name, {"privilege": 1, "credential": None})
        if "privilege" in rest:
            i = rest.index("privilege")
            if i + 1 < len(rest) and rest[i + 1].isdigit():
                u["privilege"] = int(rest[i + 1])
        if "nopassword" in rest:
            u["credential"] = "none-required"
        for word in ("secret", "password"):
            if word in rest:
                i = rest.index(word)
                kind = rest[i + 1] if i + 1 < len(rest) and rest[i + 1].isdigit() else "0"
                u["credential"] = "secret" if word == "secret" else "password"
                u["type"] = int(kind)
    accounts = [
        access.Account(
            name=name,
            source="device",
            via=["device-admin", "privilege-15"],
            exists=True,
            enabled=True,
            locked=False,
            expired=False,
            credential=u["credential"] or "none",
            usable=u["credential"] is not None,
            reasons=[] if u["credential"] else ["no password or secret is set"],
            extra={"privilege": u["privilege"], "password_type": u.get("type")},
        )
        for name, u in sorted(users.items())
        if u["privilege"] == 15
    ]
    access.derive(facts, accounts, config, "device", None, _explain(set(users)))
