"""The inventory: which hosts to scan, how to reach them, and the estate's own settings.

The shape is an Ansible YAML inventory (``all`` → ``vars``, ``children``, ``hosts``; top-level
groups beside ``all`` are its children), so users start from the inventory they already have.
Ansible's connection variables are understood (``ansible_host``, ``ansible_port``,
``ansible_user``, ``ansible_ssh_private_key_file``, ``ansible_connection``, ``ansible_become``,
``-J``/``ProxyJump`` in ``ansible_ssh_common_args``). Beside the groups, undone's own top-level
sections: ``estate``, ``contract``, ``networks``, ``waivers``, ``params``.

Validation is strict where undone owns the meaning and tolerant elsewhere: a variable that is
neither undone's nor Ansible's is ignored, unless it is a near miss of an undone key, which is an
error (``prot`` → "did you mean 'port'?"). Secrets are never values: a password is named by the
environment variable that holds it (``password_env``), a key by its file, or the SSH agent is used.
Every problem is one line naming the file, the key path and what was expected.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from scanner import yamlio
from scanner.errors import InventoryError

SECTIONS = ("estate", "contract", "networks", "waivers", "params")
GROUP_KEYS = ("hosts", "vars", "children")

ROLES = (
    "endpoint",
    "server",
    "firewall",
    "router",
    "switch",
    "wireless",
    "backup-host",
    "nas",
    "printer",
    "ups",
    "hypervisor",
    "domain-controller",
    "gateway",
    "scanner",
)
PLATFORMS = ("linux", "macos", "bsd", "windows", "network")
TRANSPORTS = ("local", "ssh", "winrm")
CONTROLS = (
    "firewalls",
    "secure-configuration",
    "security-update-management",
    "user-access-control",
    "malware-protection",
    "backup",
    "asset-management",
)
SEVERITIES = ("critical", "high", "medium", "low", "info")
OWNERS = ("provider", "client", "shared")

# undone's host and group variables, and what each must be.
HOST_KEYS: dict[str, str] = {
    "address": "str",
    "port": "port",
    "user": "str",
    "transport": "transport",
    "roles": "roles",
    "platform": "platform",
    "key_file": "str",
    "password_env": "envname",
    "agent": "bool",
    "become": "bool",
    "jump": "str",
    "known_hosts": "str",
    "trust_on_first_use": "bool",
    "timeout": "seconds",
    "connect_timeout": "seconds",
    "owner": "owner",
    "backups": "backups",
}
BACKUP_KINDS = (
    "restic",
    "borg",
    "rsnapshot",
    "directory",
    "pbs",
    "veeam",
    "timemachine",
    "windows-server-backup",
)
BACKUP_KEYS: dict[str, str] = {
    "kind": "backup_kind",
    "name": "str",
    "repository": "str",
    "password_env": "envname",
    "password_file": "str",
    "isolation": "isolation",
    "restore_test": "restore_test",
}
ISOLATION = ("offline", "immutable", "separate-credentials")
# Ansible's variables that undone reads, and the undone key each stands for.
ANSIBLE_KEYS: dict[str, str] = {
    "ansible_host": "address",
    "ansible_ssh_host": "address",
    "ansible_port": "port",
    "ansible_ssh_port": "port",
    "ansible_user": "user",
    "ansible_ssh_user": "user",
    "ansible_ssh_private_key_file": "key_file",
    "ansible_private_key_file": "key_file",
    "ansible_connection": "transport",
    "ansible_become": "become",
}
ALIASES = {"role": "roles", "host": "address"}
SECRET_KEYS = ("password", "passphrase", "secret", "private_key", "community")

_ROLE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$"
)
_RANGE_RE = re.compile(r"\[(\d+):(\d+)\]")
_JUMP_RE = re.compile(r"(?:-J\s*|ProxyJump=)(\S+)")


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    transport: str = "ssh"
    port: int = 22
    user: str | None = None
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    platform: str | None = None
    key_file: str | None = None
    password_env: str | None = None
    agent: bool = False
    become: bool = False
    jump: str | None = None
    known_hosts: str | None = None
    trust_on_first_use: bool = False
    timeout: float | None = None
    connect_timeout: float | None = None
    owner: str | None = None
    backups: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Waiver:
    rule: str
    hosts: tuple[str, ...]  # ("*",) for every host
    reason: str
    approved_by: str
    expires: date

    def covers(self, rule: str, host: str) -> bool:
        return self.rule == rule and ("*" in self.hosts or host in self.hosts)


@dataclass(frozen=True)
class Contract:
    owners: dict[str, str] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)
    default_owner: str = "provider"

    def owner_for(self, control: str) -> str:
        return self.owners.get(control, self.default_owner)


@dataclass(frozen=True)
class Inventory:
    path: str | None
    hosts: tuple[Host, ...]
    estate: dict[str, str] = field(default_factory=dict)
    contract: Contract = field(default_factory=Contract)
    networks: tuple[dict[str, Any], ...] = ()
    waivers: tuple[Waiver, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


def local_inventory() -> Inventory:
    """No inventory given: this machine, over the local transport."""
    name = os.uname().nodename or "localhost"
    return Inventory(path=None, hosts=(Host(name=name, address="localhost", transport="local"),))


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein with adjacent transpositions)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def near_miss(key: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``key`` is probably a misspelling of, or None."""
    k = key.lower()
    if len(k) < 3:
        return None
    best: tuple[int, str] | None = None
    for c in candidates:
        if k == c or k == c + "s" or c == k + "s":
            continue
        limit = 1 if max(len(k), len(c)) < 8 else 2
        dist = _distance(k, c)
        if dist <= limit and (best is None or dist < best[0]):
            best = (dist, c)
    return None if best is None else best[1]


class _Problems:
    def __init__(self, label: str) -> None:
        self.label = label
        self.lines: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.lines.append(f"{self.label}: {where}: {what}" if where else f"{self.label}: {what}")


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _check_value(kind: str, value: Any, where: str, key: str, p: _Problems) -> Any:
    """Validate and normalise one undone variable; returns the value, or None after a problem."""
    bad = f"'{key}' is {_type_name(value)}, expected "
    if kind == "str":
        if isinstance(value, str) and value.strip():
            return value.strip()
        p.add(where, bad + "non-empty text")
    elif kind == "port":
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
            return value
        p.add(where, f"'{key}' is {value!r}, expected a port number 1-65535")
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
            return value.lower() in ("yes", "true")
        p.add(where, bad + "true or false")
    elif kind == "seconds":
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 86400:
            return float(value)
        p.add(where, f"'{key}' is {value!r}, expected a number of seconds greater than 0")
    elif kind == "envname":
        if isinstance(value, str) and _ENV_RE.match(value):
            return value
        p.add(
            where,
            f"'{key}' is {value!r}, expected the NAME of an environment variable "
            "(secrets are never written in the inventory)",
        )
    elif kind == "transport":
        if isinstance(value, str):
            v = value.lower()
            v = {"paramiko": "ssh", "smart": "ssh", "psrp": "winrm"}.get(v, v)
            if v in TRANSPORTS:
                return v
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(TRANSPORTS)}")
    elif kind == "platform":
        if isinstance(value, str) and value.lower() in PLATFORMS:
            return value.lower()
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(PLATFORMS)}")
    elif kind == "owner":
        if isinstance(value, str) and value in OWNERS:
            return value
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(OWNERS)}")
    elif kind == "backups":
        return _check_backups(value, where, key, p)
    elif kind == "backup_kind":
        if value in BACKUP_KINDS:
            return value
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(BACKUP_KINDS)}")
    elif kind == "isolation":
        if value in ISOLATION:
            return value
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(ISOLATION)}")
    elif kind == "restore_test":
        d = value if isinstance(value, dict) else {}
        when = _parse_date(d.get("date"))
        extra = set(d) - {"date", "evidence"}
        if when is not None and isinstance(d.get("evidence"), str) and not extra:
            return {"date": when.isoformat(), "evidence": d["evidence"]}
        p.add(where, f"'{key}' expects {{date: YYYY-MM-DD, evidence: link or reference}}")
    elif kind == "roles":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(r, str) for r in items):
            odd = [r for r in items if not _ROLE_RE.match(r)]
            if odd:
                p.add(
                    where,
                    f"'{key}' has role {odd[0]!r}, expected a lower-case name such as "
                    f"{', '.join(ROLES[:5])}",
                )
                return None
            for r in items:
                guess = near_miss(r, ROLES) if r not in ROLES and len(r) >= 5 else None
                if guess:
                    p.add(where, f"'{key}' has unknown role '{r}' (did you mean '{guess}'?)")
                    return None
            return tuple(items)
        p.add(where, bad + "a role or a list of roles")
    return None


def _check_backups(
    value: Any, where: str, key: str, p: _Problems
) -> tuple[dict[str, Any], ...] | None:
    """Backups declared for a host: kind, repository, credentials by reference, isolation, and
    an attested restore test."""
    if not isinstance(value, list):
        p.add(where, f"'{key}' is {_type_name(value)}, expected a list of backups")
        return None
    out: list[dict[str, Any]] = []
    before = len(p.lines)
    for i, item in enumerate(value):
        w = f"{where}.{key}[{i}]"
        if not isinstance(item, dict):
            p.add(w, f"expected a mapping with kind and repository, found {_type_name(item)}")
            continue
        entry: dict[str, Any] = {}
        for k, v in item.items():
            if k not in BACKUP_KEYS:
                guess = near_miss(str(k), BACKUP_KEYS)
                hint = f" (did you mean '{guess}'?)" if guess else ""
                if k in SECRET_KEYS:
                    hint = " (secrets are never values: use password_env)"
                p.add(w, f"unknown key '{k}'{hint}; expected {', '.join(BACKUP_KEYS)}")
                continue
            checked = _check_value(BACKUP_KEYS[k], v, w, str(k), p)
            if checked is not None:
                entry[str(k)] = checked
        if "kind" not in item:
            p.add(w, "'kind' is missing, expected one of " + ", ".join(BACKUP_KINDS))
        elif item.get("kind") in ("restic", "borg", "rsnapshot", "directory", "pbs") and (
            "repository" not in item
        ):
            p.add(w, f"'repository' is missing (where the {item['kind']} backups are)")
        entry.setdefault("name", f"{entry.get('kind', 'backup')}-{i + 1}")
        out.append(entry)
    return tuple(out) if len(p.lines) == before else None


def _host_vars(raw: Any, where: str, p: _Problems) -> dict[str, Any]:
    """Pick undone's and Ansible's variables out of a vars mapping, validated."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        p.add(where, f"expected a mapping of variables, found {_type_name(raw)}")
        return {}
    out: dict[str, Any] = {}
    ansible_args = raw.get("ansible_ssh_common_args")
    if isinstance(ansible_args, str) and "jump" not in raw:
        m = _JUMP_RE.search(ansible_args)
        if m:
            out["jump"] = m.group(1)
    for key, value in raw.items():
        if not isinstance(key, str):
            p.add(where, f"variable name {key!r} is not text")
            continue
        k = ALIASES.get(key, key)
        if k in HOST_KEYS:
            v = _check_value(HOST_KEYS[k], value, where, key, p)
            if v is not None:
                out[k] = v
        elif key in ANSIBLE_KEYS:
            target = ANSIBLE_KEYS[key]
            if (
                key == "ansible_connection"
                and isinstance(value, str)
                and value not in ("local", "ssh", "paramiko", "smart", "winrm", "psrp")
            ):
                continue  # network_cli, docker, ...: not for undone; keep the default
            v = _check_value(HOST_KEYS[target], value, where, key, p)
            if v is not None and target not in raw:
                out.setdefault(target, v)
        elif key in SECRET_KEYS:
            p.add(
                where,
                f"'{key}' holds a secret: never write secrets in the inventory; "
                "name an environment variable with 'password_env' or use 'key_file'",
            )
        elif not key.startswith("ansible_"):
            guess = near_miss(key, list(HOST_KEYS) + list(ALIASES))
            if guess:
                p.add(where, f"unknown key '{key}' (did you mean '{ALIASES.get(guess, guess)}'?)")
    return out


def _expand(name: str) -> list[str]:
    """Ansible host ranges: ``web[01:03]`` → web01, web02, web03."""
    m = _RANGE_RE.search(name)
    if not m:
        return [name]
    a, b = m.group(1), m.group(2)
    width = len(a) if a.startswith("0") else 0
    lo, hi = int(a), int(b)
    if hi < lo or hi - lo > 10000:
        return [name]
    out: list[str] = []
    for i in range(lo, hi + 1):
        out.extend(_expand(name[: m.start()] + str(i).zfill(width) + name[m.end() :]))
    return out


@dataclass
class _Node:
    name: str
    depth: int
    vars: dict[str, Any]
    parents: list[str]


def _walk_groups(
    top: dict[str, Any], p: _Problems
) -> tuple[dict[str, _Node], dict[str, list[tuple[str, dict[str, Any]]]]]:
    """Collect groups (with their validated vars) and, per host name, the (group, vars) pairs."""
    groups: dict[str, _Node] = {}
    hosts: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    def visit(gname: str, body: Any, where: str, depth: int, parent: str | None) -> None:
        if depth > 32:
            p.add(where, "groups nested deeper than 32 levels")
            return
        node = groups.get(gname)
        if node is None:
            node = groups[gname] = _Node(gname, depth, {}, [])
        node.depth = max(node.depth, depth)
        if parent and parent not in node.parents:
            node.parents.append(parent)
        if body is None:
            return
        if not isinstance(body, dict):
            p.add(
                where,
                f"group '{gname}' is {_type_name(body)}, expected a mapping with "
                "hosts, vars or children",
            )
            return
        for key in body:
            if key not in GROUP_KEYS:
                guess = near_miss(str(key), GROUP_KEYS)
                hint = f" (did you mean '{guess}'?)" if guess else ""
                p.add(
                    where,
                    f"unknown key '{key}' in group '{gname}'{hint}; expected "
                    "hosts, vars or children",
                )
        node.vars.update(_host_vars(body.get("vars"), f"{where}.vars", p))
        hs = body.get("hosts")
        if hs is not None:
            if not isinstance(hs, dict):
                p.add(f"{where}.hosts", f"expected a mapping of host names, found {_type_name(hs)}")
            else:
                for hname, hvars in hs.items():
                    if not isinstance(hname, str | int) or not str(hname).strip():
                        p.add(f"{where}.hosts", f"host name {hname!r} is not text")
                        continue
                    hwhere = f"{where}.hosts.{hname}"
                    validated = _host_vars(hvars, hwhere, p)
                    for expanded in _expand(str(hname)):
                        hosts.setdefault(expanded, []).append((gname, validated))
        ch = body.get("children")
        if ch is not None:
            if not isinstance(ch, dict):
                p.add(f"{where}.children", f"expected a mapping of groups, found {_type_name(ch)}")
            else:
                for cname, cbody in ch.items():
                    visit(str(cname), cbody, f"{where}.children.{cname}", depth + 1, gname)

    for gname, body in top.items():
        if gname == "all":
            visit("all", body, "all", 0, None)
        else:
            visit(str(gname), body, str(gname), 1, "all")
    return groups, hosts


def _ancestors(name: str, groups: dict[str, _Node], seen: set[str] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    for parent in groups[name].parents:
        if parent not in seen and parent in groups:
            seen.add(parent)
            _ancestors(parent, groups, seen)
    return seen


def _parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _parse_waivers(raw: Any, p: _Problems) -> list[Waiver]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        p.add("waivers", f"expected a list of waivers, found {_type_name(raw)}")
        return []
    out: list[Waiver] = []
    allowed = ("rule", "hosts", "reason", "approved_by", "expires")
    for i, w in enumerate(raw):
        where = f"waivers[{i}]"
        if not isinstance(w, dict):
            p.add(where, f"expected a mapping, found {_type_name(w)}")
            continue
        before = len(p.lines)
        for key in w:
            if key not in allowed:
                guess = near_miss(str(key), allowed)
                hint = f" (did you mean '{guess}'?)" if guess else ""
                p.add(where, f"unknown key '{key}'{hint}; expected {', '.join(allowed)}")
        for key in ("rule", "reason", "approved_by"):
            if not isinstance(w.get(key), str) or not w[key].strip():
                p.add(where, f"'{key}' is missing or not text")
        hosts = w.get("hosts", "*")
        if hosts in ("*", "all"):
            hosts_t: tuple[str, ...] = ("*",)
        elif isinstance(hosts, list) and hosts and all(isinstance(h, str) for h in hosts):
            hosts_t = tuple(hosts)
        else:
            p.add(where, "'hosts' must be a list of host names or \"*\"")
            hosts_t = ()
        expires = _parse_date(w.get("expires"))
        if expires is None:
            p.add(where, "'expires' is missing or not a date (YYYY-MM-DD): every waiver expires")
        if len(p.lines) == before and expires is not None:
            out.append(
                Waiver(
                    w["rule"].strip(),
                    hosts_t,
                    w["reason"].strip(),
                    w["approved_by"].strip(),
                    expires,
                )
            )
    return out


def _parse_contract(raw: Any, p: _Problems) -> Contract:
    if raw is None:
        return Contract()
    if not isinstance(raw, dict):
        p.add("contract", f"expected a mapping, found {_type_name(raw)}")
        return Contract()
    allowed = ("owners", "days", "default_owner")
    for key in raw:
        if key not in allowed:
            guess = near_miss(str(key), allowed)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            p.add("contract", f"unknown key '{key}'{hint}; expected {', '.join(allowed)}")
    owners: dict[str, str] = {}
    for control, owner in (raw.get("owners") or {}).items():
        if control not in CONTROLS:
            p.add(
                "contract.owners",
                f"unknown control '{control}', expected one of {', '.join(CONTROLS)}",
            )
        elif owner not in OWNERS:
            p.add(
                f"contract.owners.{control}",
                f"owner {owner!r}, expected one of {', '.join(OWNERS)}",
            )
        else:
            owners[control] = owner
    days: dict[str, int] = {}
    for sev, n in (raw.get("days") or {}).items():
        if sev not in SEVERITIES:
            p.add(
                "contract.days",
                f"unknown severity '{sev}', expected one of {', '.join(SEVERITIES)}",
            )
        elif not isinstance(n, int) or isinstance(n, bool) or n < 0:
            p.add(f"contract.days.{sev}", f"{n!r}, expected a whole number of days (0 or more)")
        else:
            days[sev] = n
    default = raw.get("default_owner", "provider")
    if default not in OWNERS:
        p.add("contract.default_owner", f"{default!r}, expected one of {', '.join(OWNERS)}")
        default = "provider"
    return Contract(owners=owners, days=days, default_owner=default)


def _parse_networks(raw: Any, p: _Problems) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        p.add("networks", f"expected a list of networks, found {_type_name(raw)}")
        return []
    allowed = ("name", "cidr", "internet_facing", "allowed_ports", "rate")
    out: list[dict[str, Any]] = []
    for i, n in enumerate(raw):
        where = f"networks[{i}]"
        if not isinstance(n, dict):
            p.add(where, f"expected a mapping, found {_type_name(n)}")
            continue
        for key in n:
            if key not in allowed:
                guess = near_miss(str(key), allowed)
                hint = f" (did you mean '{guess}'?)" if guess else ""
                p.add(where, f"unknown key '{key}'{hint}; expected {', '.join(allowed)}")
        try:
            ipaddress.ip_network(str(n.get("cidr")), strict=False)
        except ValueError:
            p.add(where, f"'cidr' is {n.get('cidr')!r}, expected a network such as 192.0.2.0/24")
        if "internet_facing" in n and not isinstance(n["internet_facing"], bool):
            p.add(where, "'internet_facing' must be true or false")
        out.append(dict(n))
    return out


def _parse_estate(raw: Any, p: _Problems) -> dict[str, str]:
    if raw is None:
        return {}
    allowed = ("name", "client", "provider")
    if not isinstance(raw, dict):
        p.add("estate", f"expected a mapping with {', '.join(allowed)}, found {_type_name(raw)}")
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        if key not in allowed:
            guess = near_miss(str(key), allowed)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            p.add("estate", f"unknown key '{key}'{hint}; expected {', '.join(allowed)}")
        elif not isinstance(value, str):
            p.add(f"estate.{key}", f"is {_type_name(value)}, expected text")
        else:
            out[key] = value
    return out


def _parse_params(raw: Any, p: _Problems) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        p.add("params", f"expected a mapping of baseline parameters, found {_type_name(raw)}")
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(value, int | float | str | bool):
            p.add(f"params.{key}", f"is {_type_name(value)}, expected a number, text or boolean")
        else:
            out[str(key)] = value
    return out


def parse(data: Any, label: str) -> Inventory:
    """Validate a loaded inventory document; raises InventoryError with every problem found."""
    p = _Problems(label)
    if data is None:
        raise InventoryError(f"{label}: the inventory is empty; expected a mapping with 'all'")
    if not isinstance(data, dict):
        raise InventoryError(
            f"{label}: the inventory is {_type_name(data)}, expected a mapping "
            "with 'all' (an Ansible-shaped YAML inventory)"
        )
    group_top: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            p.add("", f"top-level key {key!r} is not text")
        elif key in SECTIONS:
            continue
        else:
            guess = near_miss(key, SECTIONS)
            if guess and not (isinstance(value, dict) and set(value) <= set(GROUP_KEYS)):
                p.add("", f"unknown top-level key '{key}' (did you mean '{guess}'?)")
            else:
                group_top[key] = value
    estate = _parse_estate(data.get("estate"), p)
    contract = _parse_contract(data.get("contract"), p)
    networks = _parse_networks(data.get("networks"), p)
    waivers = _parse_waivers(data.get("waivers"), p)
    params = _parse_params(data.get("params"), p)
    groups, host_entries = _walk_groups(group_top, p)
    if not host_entries and not p.lines:
        p.add("all", "no hosts: expected at least one host under all.hosts or a group's hosts")

    hosts: list[Host] = []
    seen_addr: dict[tuple[str, int, str], str] = {}
    for hname, entries in host_entries.items():
        member = {g for g, _ in entries}
        for g in list(member):
            member |= _ancestors(g, groups)
        if "all" in groups:
            member.add("all")
        ordered = sorted(member, key=lambda g: (groups[g].depth if g in groups else 0, g))
        merged: dict[str, Any] = {}
        roles: list[str] = []
        for g in ordered:
            gv = groups[g].vars if g in groups else {}
            merged.update(gv)
            roles.extend(r for r in gv.get("roles", ()) if r not in roles)
        for _, hv in entries:
            merged.update(hv)
            roles.extend(r for r in hv.get("roles", ()) if r not in roles)
        merged.pop("roles", None)
        where = next((f"{w}" for w in [_host_where(hname, entries, groups)]), hname)
        transport = merged.get("transport", "ssh")
        address = merged.get("address")
        if address is None:
            if transport == "local":
                address = "localhost"
            elif _HOSTNAME_RE.match(hname) or _is_ip(hname):
                address = hname
            else:
                p.add(
                    where,
                    "no address: set 'address' (or 'ansible_host') to an IP address or host name",
                )
                continue
        port = merged.get("port", 5986 if transport == "winrm" else 22)
        key = (str(address).lower(), int(port), transport)
        if transport != "local" and key in seen_addr:
            p.add(
                where, f"duplicate host: same address {address}:{port} as host '{seen_addr[key]}'"
            )
            continue
        seen_addr[key] = hname
        kf = merged.get("key_file")
        kh = merged.get("known_hosts")
        hosts.append(
            Host(
                name=hname,
                address=str(address),
                transport=transport,
                port=int(port),
                user=merged.get("user"),
                roles=tuple(roles),
                groups=tuple(g for g in ordered if g != "all"),
                platform=merged.get("platform"),
                key_file=_resolve(kf, label) if kf else None,
                password_env=merged.get("password_env"),
                agent=bool(merged.get("agent", False)),
                become=bool(merged.get("become", False)),
                jump=merged.get("jump"),
                known_hosts=_resolve(kh, label) if kh else None,
                trust_on_first_use=bool(merged.get("trust_on_first_use", False)),
                timeout=merged.get("timeout"),
                connect_timeout=merged.get("connect_timeout"),
                owner=merged.get("owner"),
                backups=merged.get("backups", ()),
            )
        )
    names = {h.name for h in hosts}
    for w in waivers:
        for hn in w.hosts:
            if hn != "*" and hn not in names and not p.lines:
                p.add("waivers", f"waiver for rule {w.rule} names unknown host '{hn}'")
    if p.lines:
        raise InventoryError(p.lines)
    return Inventory(
        path=label,
        hosts=tuple(hosts),
        estate=estate,
        contract=contract,
        networks=tuple(networks),
        waivers=tuple(waivers),
        params=params,
    )


def _host_where(
    hname: str, entries: list[tuple[str, dict[str, Any]]], groups: dict[str, _Node]
) -> str:
    g = entries[0][0]
    chain = [g]
    while groups.get(chain[-1]) and groups[chain[-1]].parents:
        chain.append(groups[chain[-1]].parents[0])
    chain.reverse()
    path = chain[0]
    for c in chain[1:]:
        path += f".children.{c}"
    return f"{path}.hosts.{hname}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _resolve(path: str, inventory_label: str) -> str:
    """``~`` expands; a relative path is relative to the inventory's folder."""
    p = Path(os.path.expanduser(path))
    if not p.is_absolute() and inventory_label and os.path.exists(inventory_label):
        p = Path(inventory_label).resolve().parent / p
    return str(p)


def load(path: str | os.PathLike[str]) -> Inventory:
    data = yamlio.load_file(path)
    return parse(data, str(path))
