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

from probes.access import identity
from scanner import yamlio
from scanner.errors import InventoryError

SECTIONS = ("estate", "contract", "networks", "waivers", "params", "notify")
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
TRANSPORTS = ("local", "ssh", "winrm", "snmp")
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
    # the client's and the provider's administrator identities (probes/access/identity.py)
    "client_admins": "identities",
    "provider_admins": "identities",
    # network devices (scanner/network.py): the device's kind, SNMP credentials by reference
    "device": "device",
    "community_env": "envname",
    "snmp_version": "snmp_version",
    "snmp_user": "str",
    "snmp_auth_protocol": "snmp_auth",
    "snmp_auth_key_env": "envname",
    "snmp_priv_protocol": "snmp_priv",
    "snmp_priv_key_env": "envname",
    "check_default_community": "bool",
    # WinRM (transport: winrm): HTTPS with certificate validation unless told otherwise
    "winrm_scheme": "winrm_scheme",
    "winrm_auth": "winrm_auth",
    "winrm_ca_bundle": "str",
    "winrm_cert_pin": "cert_pin",
    "winrm_cert_validation": "cert_validation",
    # the cost guard (scanner/collect.py): hosts of one site (default: behind one jump host)
    # are collected at most site_concurrency at a time (default 8: under sshd's MaxStartups 10)
    "site": "str",
    "site_concurrency": "concurrency",
}
WINRM_SCHEMES = ("https", "http")
WINRM_AUTHS = ("ntlm", "kerberos", "credssp", "basic")
# auth methods whose messages pywinrm encrypts over plain HTTP (MS-WSMV 2.2.9.1)
WINRM_ENCRYPTING_AUTHS = ("ntlm", "kerberos", "credssp")
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
    "ansible_winrm_scheme": "winrm_scheme",
    "ansible_winrm_transport": "winrm_auth",
    "ansible_winrm_server_cert_validation": "winrm_cert_validation",
    "ansible_winrm_ca_trust_path": "winrm_ca_bundle",
}
ALIASES = {
    "role": "roles",
    "host": "address",
    "client_admin": "client_admins",
    "provider_admin": "provider_admins",
}
ADMIN_KEYS = ("client_admins", "provider_admins")
# What a network device is, for its read-only commands over SSH (probes/netos/). A linux-gateway
# has a POSIX shell: it is scanned like any Linux host (platform linux, role gateway), plus the
# gateway section (default policy of the input and forward chains).
DEVICES = ("fortios", "routeros", "ios", "iosxe", "opnsense", "pfsense", "linux-gateway")
SNMP_VERSIONS = ("2c", "3")
SNMP_AUTH = ("md5", "sha", "sha224", "sha256", "sha384", "sha512")
SNMP_PRIV = ("des", "aes", "aes128", "aes192", "aes256")
NETWORK_KEYS = (
    "name",
    "cidr",
    "internet_facing",
    "allowed_ports",
    "rate",
    "ports",
    "service_versions",
)
_PORT_RE = re.compile(r"^(\d{1,5})/(tcp|udp)$")
SECRET_KEYS = ("password", "passphrase", "secret", "private_key", "community")

_ROLE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$"
)
_RANGE_RE = re.compile(r"\[(\d+):(\d+)\]")
_JUMP_RE = re.compile(r"(?:-J\s*|ProxyJump=)(\S+)")
_PIN_RE = re.compile(r"^(?:sha256[:/]?)?((?:[0-9a-f]{2}:?){31}[0-9a-f]{2})$")


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
    # administrator identities (estate-wide, or the host's or group's own); None: not declared
    client_admins: tuple[str, ...] | None = None
    provider_admins: tuple[str, ...] | None = None
    # network devices: what the device is (ssh "cli" mode), SNMP credentials by reference
    device: str | None = None
    community_env: str | None = None
    snmp_version: str | None = None
    snmp_user: str | None = None
    snmp_auth_protocol: str | None = None
    snmp_auth_key_env: str | None = None
    snmp_priv_protocol: str | None = None
    snmp_priv_key_env: str | None = None
    check_default_community: bool | None = None  # None: yes on network devices
    # WinRM: scheme and auth are resolved for winrm hosts ("https"/"ntlm" unless set); a
    # certificate pin is the SHA-256 of the host's certificate, lower-case hex without colons
    winrm_scheme: str | None = None
    winrm_auth: str | None = None
    winrm_ca_bundle: str | None = None
    winrm_cert_pin: str | None = None
    winrm_cert_validation: bool = True
    # the cost guard: the site this host is reached through (None: its jump host, if any) and
    # how many of the site's hosts may be collected at once (None: DEFAULT_SITE_CONCURRENCY)
    site: str | None = None
    site_concurrency: int | None = None


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
    notify: dict[str, Any] | None = None  # the normalised notify section (_parse_notify)


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


def _unknown_key(key: object, allowed: Iterable[str]) -> str:
    """The one-line message for a key undone does not know in one of its own sections."""
    names = list(allowed)
    guess = near_miss(str(key), names)
    hint = f" (did you mean '{guess}'?)" if guess else ""
    return f"unknown key '{key}'{hint}; expected {', '.join(names)}"


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
    elif kind == "concurrency":
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 512:
            return value
        p.add(where, f"'{key}' is {value!r}, expected a whole number of hosts at once, 1-512")
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
    elif kind == "identities":
        return _check_identities(value, f"{where}.{key}", p)
    elif kind == "winrm_scheme":
        if isinstance(value, str) and value.lower() in WINRM_SCHEMES:
            return value.lower()
        p.add(where, f"'{key}' is {value!r}, expected https (the default) or http")
    elif kind == "winrm_auth":
        # Ansible's ansible_winrm_transport may be a list (or a comma list): the first undone has
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list) and items and all(isinstance(i, str) for i in items):
            names = [i.strip().lower() for i in items]
            names = ["basic" if n in ("plaintext", "ssl") else n for n in names]
            usable = [n for n in names if n in WINRM_AUTHS]
            if usable:
                return usable[0]
            if "certificate" in names:
                p.add(where, f"'{key}' is {value!r}: client certificate authentication is not "
                      f"supported by undone; expected one of {', '.join(WINRM_AUTHS)}")
                return None
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(WINRM_AUTHS)}")
    elif kind == "cert_pin":
        text = value.strip().lower() if isinstance(value, str) else ""
        m = _PIN_RE.match(text)
        if m:
            return m.group(1).replace(":", "")
        p.add(
            where,
            f"'{key}' is {value!r}, expected the SHA-256 fingerprint of the host's certificate "
            "(64 hex digits, colons allowed)",
        )
    elif kind == "cert_validation":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("yes", "true", "validate"):
            return True
        if isinstance(value, str) and value.lower() in ("no", "false", "ignore"):
            return False
        p.add(where, f"'{key}' is {value!r}, expected true or false (Ansible: validate or ignore)")
    elif kind in ("device", "snmp_version", "snmp_auth", "snmp_priv"):
        choices = {
            "device": DEVICES,
            "snmp_version": SNMP_VERSIONS,
            "snmp_auth": SNMP_AUTH,
            "snmp_priv": SNMP_PRIV,
        }[kind]
        choice = "" if isinstance(value, bool) else str(value).lower()
        choice = {"2": "2c", "v2c": "2c", "v2": "2c", "v3": "3"}.get(choice, choice)
        if choice in choices:
            return choice
        p.add(where, f"'{key}' is {value!r}, expected one of {', '.join(choices)}")
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


def _check_identities(value: Any, where: str, p: _Problems) -> tuple[str, ...] | None:
    """A list of administrator identities (one may be given as plain text), each in the grammar
    of probes/access/identity.py; every bad one is a problem naming its index."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        p.add(where, f"is {_type_name(value)}, expected a list of identities ({identity.FORMS})")
        return None
    before = len(p.lines)
    for i, item in enumerate(items):
        try:
            identity.parse(item)
        except ValueError as e:
            p.add(f"{where}[{i}]", str(e))
    return tuple(items) if len(p.lines) == before else None


def _identity_key(text: str) -> tuple[str, str]:
    ident = identity.parse(text)
    return ident.kind, ident.qualified.lower() if ident.domain else ident.qualified


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
                p.add(where, _unknown_key(key, allowed))
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
            p.add("contract", _unknown_key(key, allowed))
    owners: dict[str, str] = {}
    owners_raw = raw.get("owners") or {}
    if not isinstance(owners_raw, dict):
        p.add("contract.owners", f"expected a mapping of control: owner, found "
              f"{_type_name(owners_raw)}")
        owners_raw = {}
    for control, owner in owners_raw.items():
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
    days_raw = raw.get("days") or {}
    if not isinstance(days_raw, dict):
        p.add("contract.days", f"expected a mapping of severity: days, found "
              f"{_type_name(days_raw)}")
        days_raw = {}
    for sev, n in days_raw.items():
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


def _port_spec(value: Any) -> str | None:
    """``443/tcp``, ``161/udp`` (or a bare number, taken as TCP) -> normalised text, or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value}/tcp"
    if not isinstance(value, str):
        return None
    m = _PORT_RE.match(value.strip().lower())
    if m is None or not 1 <= int(m.group(1)) <= 65535:
        return None
    return f"{int(m.group(1))}/{m.group(2)}"


def _parse_networks(raw: Any, p: _Problems) -> list[dict[str, Any]]:
    """Networks for discovery and exposure. Each: ``cidr`` (required), ``name`` (default: the
    cidr), ``internet_facing`` (bool, default false), ``allowed_ports`` (what may be open there:
    ``{port: 443/tcp, reason: ..., hosts: [...]}``, a reason each), ``rate`` (nmap's
    ``--max-rate``, packets per second), ``ports`` (more ports to scan) and ``service_versions``
    (nmap ``-sV``). Normalised: every key present."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        p.add("networks", f"expected a list of networks, found {_type_name(raw)}")
        return []
    allowed = NETWORK_KEYS
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, n in enumerate(raw):
        where = f"networks[{i}]"
        if not isinstance(n, dict):
            p.add(where, f"expected a mapping, found {_type_name(n)}")
            continue
        before = len(p.lines)
        for key in n:
            if key not in allowed:
                p.add(where, _unknown_key(key, allowed))
        cidr = None
        if "cidr" not in n:
            p.add(where, "'cidr' is missing, expected a network such as 192.0.2.0/24")
        else:
            try:
                cidr = str(ipaddress.ip_network(str(n["cidr"]).strip(), strict=False))
            except ValueError:
                p.add(where, f"'cidr' is {n['cidr']!r}, expected a network such as 192.0.2.0/24")
        name = n.get("name", cidr)
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$", name):
            if cidr is not None or "name" in n:
                p.add(where, f"'name' is {name!r}, expected a short name such as dmz or office")
        elif name in seen:
            p.add(where, f"'name' {name!r} is used by another network")
        else:
            seen.add(name)
        facing = n.get("internet_facing", False)
        if not isinstance(facing, bool):
            p.add(where, f"'internet_facing' is {facing!r}, expected true or false")
        ports_allowed: list[dict[str, Any]] = []
        raw_allowed = n.get("allowed_ports", [])
        if not isinstance(raw_allowed, list):
            p.add(where, "'allowed_ports' expected a list of {port: 443/tcp, reason: ...}")
            raw_allowed = []
        for j, a in enumerate(raw_allowed):
            aw = f"{where}.allowed_ports[{j}]"
            if not isinstance(a, dict):
                p.add(aw, f"{a!r}: expected {{port: 443/tcp, reason: why it may be open}}")
                continue
            extra = set(a) - {"port", "reason", "hosts"}
            if extra:
                p.add(aw, f"unknown key '{sorted(extra)[0]}'; expected port, reason, hosts")
            spec = _port_spec(a.get("port"))
            if spec is None:
                p.add(aw, f"'port' is {a.get('port')!r}, expected a port and protocol: 443/tcp")
            reason = a.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                p.add(aw, "'reason' is missing: say why this port may be open (who approved it)")
            hosts_v = a.get("hosts", [])
            if not isinstance(hosts_v, list) or not all(isinstance(h, str) for h in hosts_v):
                p.add(aw, "'hosts' expected a list of host names or addresses")
                hosts_v = []
            if spec is not None and isinstance(reason, str) and reason.strip():
                ports_allowed.append(
                    {"port": spec, "reason": reason.strip(), "hosts": list(hosts_v)}
                )
        rate = n.get("rate")
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0
        ):
            p.add(where, f"'rate' is {rate!r}, expected a positive number of packets per second")
        extra_ports: list[str] = []
        raw_ports = n.get("ports", [])
        if not isinstance(raw_ports, list):
            p.add(where, "'ports' expected a list of ports to scan besides the defaults (8080/tcp)")
            raw_ports = []
        for v in raw_ports:
            spec = _port_spec(v)
            if spec is None:
                p.add(where, f"'ports' has {v!r}, expected a port and protocol: 8080/tcp")
            elif spec not in extra_ports:
                extra_ports.append(spec)
        versions = n.get("service_versions", False)
        if not isinstance(versions, bool):
            p.add(where, f"'service_versions' is {versions!r}, expected true or false")
        if len(p.lines) == before:
            out.append(
                {
                    "name": name,
                    "cidr": cidr,
                    "internet_facing": facing,
                    "allowed_ports": ports_allowed,
                    "rate": None if rate is None else float(rate),
                    "ports": extra_ports,
                    "service_versions": versions,
                }
            )
    return out


def _parse_estate(raw: Any, p: _Problems) -> dict[str, str]:
    if raw is None:
        return {}
    allowed = ("name", "client", "provider", "env_prefix", *ADMIN_KEYS)  # env_prefix: envpolicy
    if not isinstance(raw, dict):
        p.add("estate", f"expected a mapping with {', '.join(allowed)}, found {_type_name(raw)}")
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        if key not in allowed and ALIASES.get(key) not in ADMIN_KEYS:
            p.add("estate", _unknown_key(key, allowed))
        elif key in ADMIN_KEYS or ALIASES.get(key) in ADMIN_KEYS:
            continue  # lists, checked by _estate_admins
        elif not isinstance(value, str):
            p.add(f"estate.{key}", f"is {_type_name(value)}, expected text")
        else:
            out[key] = value
    return out


def _estate_admins(raw: Any, p: _Problems) -> dict[str, tuple[str, ...]]:
    """The estate-wide client and provider administrator identities (a group's or host's own
    ``client_admins`` / ``provider_admins`` replace them)."""
    out: dict[str, tuple[str, ...]] = {}
    if not isinstance(raw, dict):
        return out
    for written, value in raw.items():
        key = ALIASES.get(written, written)
        if key in ADMIN_KEYS:
            checked = _check_identities(value, f"estate.{written}", p)
            if checked is not None:
                out[key] = checked
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


# -- notify: where to send word of a change (scanner/notify.py) ---------------------------------

NOTIFY_KINDS = ("new", "regressed", "overdue", "unreachable", "reachable", "fixed")
NOTIFY_KEYS = ("on", "email", "webhook", "report_url", "timeout")
EMAIL_KEYS = ("to", "from", "smtp_host", "smtp_port", "starttls", "ssl", "username_env",
              "password_env", "ca_file", "attach_report", "on")
WEBHOOK_KEYS = ("url", "url_env", "headers_env", "on")
_ADDRESS_RE = re.compile(r"^[^@\s<>,;\"'()\[\]\\]+@[^@\s<>,;\"'()\[\]\\]+\.[^@\s<>,;\"'()\[\]\\]+$")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _on_key(raw: dict[Any, Any]) -> dict[Any, Any]:
    """YAML 1.1 reads a bare ``on:`` key as the boolean true: take it back as ``on``."""
    return {("on" if k is True else k): v for k, v in raw.items()}


def _unknown_keys(raw: dict[Any, Any], allowed: tuple[str, ...], where: str, p: _Problems) -> None:
    for key in raw:
        if key in allowed:
            continue
        guess = near_miss(str(key), allowed)
        hint = f" (did you mean '{guess}'?)" if guess else ""
        if str(key) in (*SECRET_KEYS, "username", "user", "token", "headers", "api_key"):
            hint = " (secrets are never values: name an environment variable with a *_env key)"
        p.add(where, f"unknown key '{key}'{hint}; expected {', '.join(allowed)}")


def _notify_on(value: Any, where: str, p: _Problems) -> tuple[str, ...] | None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        p.add(where, f"'on' is {value!r}, expected a list of {', '.join(NOTIFY_KINDS)}")
        return None
    for i in items:
        if i not in NOTIFY_KINDS:
            guess = near_miss(i, NOTIFY_KINDS)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            p.add(where, f"'on' has unknown change '{i}'{hint}; expected {', '.join(NOTIFY_KINDS)}")
            return None
    return tuple(dict.fromkeys(items))


def _http_url(value: Any, where: str, key: str, p: _Problems) -> str | None:
    from urllib.parse import urlsplit

    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = urlsplit(""), False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        p.add(where, f"'{key}' is {value!r}, expected an http:// or https:// URL")
        return None
    if parts.username or parts.password:
        p.add(where, f"'{key}' holds a user or password: never write secrets in the inventory; "
                     "use 'url_env' (or 'headers_env' for a token)")
        return None
    return text


def _parse_email(raw: Any, label: str, p: _Problems) -> dict[str, Any] | None:
    where = "notify.email"
    if not isinstance(raw, dict):
        p.add(where, f"expected a mapping with to, from and smtp_host, found {_type_name(raw)}")
        return None
    raw = _on_key(raw)
    before = len(p.lines)
    _unknown_keys(raw, EMAIL_KEYS, where, p)
    to = raw.get("to")
    to_list = [to] if isinstance(to, str) else to
    if not isinstance(to_list, list) or not to_list:
        p.add(where, "'to' is missing, expected an address or a list of addresses")
        to_list = []
    for a in to_list:
        if not isinstance(a, str) or not _ADDRESS_RE.match(a.strip()):
            p.add(where, f"'to' has {a!r}, expected an email address such as it@example.org")
    sender = raw.get("from")
    if not isinstance(sender, str) or not _ADDRESS_RE.match(sender.strip()):
        p.add(where, f"'from' is {sender!r}, expected an email address such as "
                     "undone@example.org")
    host = raw.get("smtp_host")
    if not isinstance(host, str) or not (_HOSTNAME_RE.match(host.strip()) or _is_ip(host)):
        p.add(where, f"'smtp_host' is {host!r}, expected the mail relay's host name or address")
    starttls = _check_value("bool", raw.get("starttls", True), where, "starttls", p)
    implicit = _check_value("bool", raw.get("ssl", False), where, "ssl", p)
    if starttls and implicit and "starttls" in raw:
        p.add(where, "'starttls' and 'ssl' both true: ssl is TLS from the first byte (port 465), "
                     "starttls upgrades a plain connection (port 587); choose one")
    port = _check_value("port", raw.get("smtp_port", 465 if implicit else 587), where,
                        "smtp_port", p)
    user_env = raw.get("username_env")
    pw_env = raw.get("password_env")
    for key, v in (("username_env", user_env), ("password_env", pw_env)):
        if v is not None:
            _check_value("envname", v, where, key, p)
    if (user_env is None) != (pw_env is None):
        p.add(where, "'username_env' and 'password_env' go together (the NAMES of the "
                     "environment variables holding the SMTP login)")
    if pw_env is not None and not starttls and not implicit:
        p.add(where, "a login without starttls or ssl would send the SMTP password readable on "
                     "the network; set starttls: true (or ssl: true)")
    ca = raw.get("ca_file")
    if ca is not None:
        ca = _check_value("str", ca, where, "ca_file", p)
    attach = _check_value("bool", raw.get("attach_report", True), where, "attach_report", p)
    on = _notify_on(raw["on"], where, p) if "on" in raw else None
    if len(p.lines) > before:
        return None
    return {
        "to": [a.strip() for a in to_list],
        "from": str(sender).strip(),
        "smtp_host": str(host).strip(),
        "smtp_port": port,
        "starttls": bool(starttls) and not implicit,
        "ssl": bool(implicit),
        "username_env": user_env,
        "password_env": pw_env,
        "ca_file": _resolve(ca, label) if ca else None,
        "attach_report": bool(attach),
        "on": on,
    }


def _parse_webhook(raw: Any, p: _Problems) -> dict[str, Any] | None:
    from urllib.parse import urlsplit

    where = "notify.webhook"
    if not isinstance(raw, dict):
        p.add(where, f"expected a mapping with url (or url_env), found {_type_name(raw)}")
        return None
    raw = _on_key(raw)
    before = len(p.lines)
    _unknown_keys(raw, WEBHOOK_KEYS, where, p)
    url = None
    if ("url" in raw) == ("url_env" in raw):
        p.add(where, "expected one of 'url' or 'url_env' (the NAME of an environment variable "
                     "holding a URL that is itself a secret, as chat webhooks are)")
    elif "url" in raw:
        url = _http_url(raw["url"], where, "url", p)
    else:
        _check_value("envname", raw["url_env"], where, "url_env", p)
    headers_env = raw.get("headers_env")
    if headers_env is not None:
        _check_value("envname", headers_env, where, "headers_env", p)
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
                p.add(where, "'headers_env' over plain http would send the token readable on the "
                             "network; use an https:// URL")
    on = _notify_on(raw["on"], where, p) if "on" in raw else None
    if len(p.lines) > before:
        return None
    return {"url": url, "url_env": raw.get("url_env"), "headers_env": headers_env, "on": on}


def _parse_notify(raw: Any, label: str, p: _Problems) -> dict[str, Any] | None:
    """The ``notify`` section: ``email`` and/or ``webhook``, ``on`` (which changes; default all
    of :data:`NOTIFY_KINDS`), ``report_url`` (a link put in every message) and ``timeout``
    (seconds each channel may take, default 10). Normalised: every key present. Secrets only by
    the names of environment variables."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        p.add("notify", f"expected a mapping with email and/or webhook, found {_type_name(raw)}")
        return None
    raw = _on_key(raw)
    before = len(p.lines)
    _unknown_keys(raw, NOTIFY_KEYS, "notify", p)
    on = _notify_on(raw["on"], "notify", p) if "on" in raw else NOTIFY_KINDS
    timeout = raw.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300:
        p.add("notify", f"'timeout' is {timeout!r}, expected the seconds each channel may take "
                        "(more than 0, at most 300)")
    url = _http_url(raw["report_url"], "notify", "report_url", p) if "report_url" in raw else None
    email = _parse_email(raw["email"], label, p) if raw.get("email") is not None else None
    hook = _parse_webhook(raw["webhook"], p) if raw.get("webhook") is not None else None
    if raw.get("email") is None and raw.get("webhook") is None:
        p.add("notify", "expected 'email' or 'webhook' (or both): where to send word of a change")
    if len(p.lines) > before:
        return None
    return {"on": on, "timeout": float(timeout), "report_url": url, "email": email,
            "webhook": hook}


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
    estate_admins = _estate_admins(data.get("estate"), p)
    contract = _parse_contract(data.get("contract"), p)
    networks = _parse_networks(data.get("networks"), p)
    waivers = _parse_waivers(data.get("waivers"), p)
    params = _parse_params(data.get("params"), p)
    notify = _parse_notify(data.get("notify"), label, p)
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
        winrm: dict[str, Any] = {}
        if transport == "winrm":
            settings = _winrm_settings(merged, where, label, p)
            if settings is None:
                continue
            winrm = settings
        default_port = {"https": 5986, "http": 5985}.get(winrm.get("winrm_scheme", ""), 22)
        netdev = _network_device(merged, roles, transport, where, p)
        if netdev is None:
            continue
        if transport == "snmp":
            default_port = 161
        port = merged.get("port", default_port)
        key = (str(address).lower(), int(port), transport)
        if transport != "local" and key in seen_addr:
            p.add(
                where, f"duplicate host: same address {address}:{port} as host '{seen_addr[key]}'"
            )
            continue
        seen_addr[key] = hname
        admins = {k: merged.get(k, estate_admins.get(k)) for k in ADMIN_KEYS}
        both = {_identity_key(t) for t in admins["client_admins"] or ()} & {
            _identity_key(t) for t in admins["provider_admins"] or ()
        }
        if both:
            shown = sorted(t for t in admins["client_admins"] or () if _identity_key(t) in both)
            p.add(
                where,
                f"{', '.join(repr(t) for t in shown)} in both client_admins and provider_admins:"
                " an administrator identity is either the client's or the provider's",
            )
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
                client_admins=admins["client_admins"],
                provider_admins=admins["provider_admins"],
                site=merged.get("site"),
                site_concurrency=merged.get("site_concurrency"),
                **winrm,
                **netdev,
            )
        )
    names = {h.name for h in hosts} | {f"network:{n['name']}" for n in networks}
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
        notify=notify,
    )


def _winrm_settings(
    merged: dict[str, Any], where: str, label: str, p: _Problems
) -> dict[str, Any] | None:
    """A WinRM host's connection settings, resolved and checked together: HTTPS with certificate
    validation by default; plain HTTP only with an auth method whose messages are encrypted;
    credentials by reference. None after a problem."""
    before = len(p.lines)
    # as Ansible: http when the port is 5985 and no scheme is given, else https
    scheme = merged.get("winrm_scheme", "http" if merged.get("port") == 5985 else "https")
    auth = merged.get("winrm_auth", "ntlm")
    if scheme == "http" and auth not in WINRM_ENCRYPTING_AUTHS:
        p.add(
            where,
            f"winrm_auth {auth} over plain HTTP would send the password and every result "
            "readable on the network: use winrm_scheme: https, or winrm_auth: ntlm or kerberos "
            "(WinRM encrypts their messages)",
        )
    if scheme == "http":
        for key in ("winrm_cert_pin", "winrm_ca_bundle"):
            if merged.get(key):
                p.add(where, f"'{key}' applies to https only (winrm_scheme is http)")
    if auth != "kerberos" and not merged.get("password_env"):
        p.add(
            where,
            f"winrm_auth {auth} needs 'user' and 'password_env' (the NAME of the environment "
            "variable holding the password)",
        )
    if auth != "kerberos" and not merged.get("user"):
        p.add(where, f"winrm_auth {auth} needs 'user' (DOMAIN\\name, name@domain or name)")
    if len(p.lines) > before:
        return None
    bundle = merged.get("winrm_ca_bundle")
    return {
        "winrm_scheme": scheme,
        "winrm_auth": auth,
        "winrm_ca_bundle": _resolve(bundle, label) if bundle else None,
        "winrm_cert_pin": merged.get("winrm_cert_pin"),
        "winrm_cert_validation": bool(merged.get("winrm_cert_validation", True)),
    }


def _network_device(
    merged: dict[str, Any], roles: list[str], transport: str, where: str, p: _Problems
) -> dict[str, Any] | None:
    """A network device's settings, checked together (None after a problem): an SNMP host needs
    credentials by reference (v2c ``community_env``, or v3 ``snmp_user`` with its key
    variables); a host of platform ``network`` over SSH needs its ``device``; a ``linux-gateway``
    is a Linux host (platform linux) with the role ``gateway``. Sets ``merged["platform"]`` and
    adds to ``roles`` in place where the device implies them."""
    before = len(p.lines)
    device = merged.get("device")
    platform = merged.get("platform")
    out: dict[str, Any] = {
        k: merged.get(k)
        for k in (
            "device",
            "community_env",
            "snmp_user",
            "snmp_auth_protocol",
            "snmp_auth_key_env",
            "snmp_priv_protocol",
            "snmp_priv_key_env",
            "check_default_community",
        )
    }
    if device == "linux-gateway":
        if platform not in (None, "linux", "network"):
            p.add(where, f"device linux-gateway is a Linux host, not platform {platform}")
        merged["platform"] = "linux"
        if not {"gateway", "firewall", "router"} & set(roles):
            roles.append("gateway")
    if transport == "snmp":
        if platform not in (None, "network"):
            p.add(where, f"transport snmp is for network devices, not platform {platform}")
        merged["platform"] = "network"
        user = merged.get("snmp_user")
        version = merged.get("snmp_version", "3" if user else "2c")
        out["snmp_version"] = version
        if version == "2c" and not merged.get("community_env"):
            p.add(
                where,
                "an SNMP v2c device needs 'community_env' (the NAME of the environment variable "
                "holding the community; never the community itself)",
            )
        if version == "3":
            if not user:
                p.add(where, "SNMP v3 needs 'snmp_user'")
            if merged.get("snmp_auth_protocol") and not merged.get("snmp_auth_key_env"):
                p.add(where, "'snmp_auth_protocol' needs 'snmp_auth_key_env'")
            if merged.get("snmp_priv_key_env") and not merged.get("snmp_auth_key_env"):
                p.add(where, "SNMP v3 privacy (snmp_priv_key_env) needs authentication too")
    elif platform == "network" and transport == "ssh" and device is None:
        p.add(
            where,
            "platform network over SSH needs 'device' (one of "
            + ", ".join(DEVICES)
            + "), or transport: snmp",
        )
    elif transport in ("local", "winrm") and device not in (None, "linux-gateway"):
        p.add(where, f"device {device} is reached over SSH or SNMP, not {transport}")
    return None if len(p.lines) > before else out


def _host_where(
    hname: str, entries: list[tuple[str, dict[str, Any]]], groups: dict[str, _Node]
) -> str:
    g = entries[0][0]
    chain = [g]
    while groups.get(chain[-1]) and groups[chain[-1]].parents:
        parent = groups[chain[-1]].parents[0]
        if parent in chain:  # groups that are each other's children: stop, do not loop forever
            break
        chain.append(parent)
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
