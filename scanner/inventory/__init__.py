"""The inventory: which hosts to scan, how to reach them, and the estate's own settings.

The shape is an Ansible YAML inventory (``all`` → ``vars``, ``children``, ``hosts``; top-level
groups beside ``all`` are its children), so users start from the inventory they already have.
Ansible's connection variables are understood (``ansible_host``, ``ansible_port``,
``ansible_user``, ``ansible_ssh_private_key_file``, ``ansible_connection``, ``ansible_become``,
``-J``/``ProxyJump`` in ``ansible_ssh_common_args``). Beside the groups, undone's own top-level
sections: ``estate``, ``contract``, ``networks``, ``waivers``, ``params``, and ``tenants`` (cloud
tenants, parsed by scanner/cloud/config.py).

Validation is strict where undone owns the meaning and tolerant elsewhere: a variable that is
neither undone's nor Ansible's is ignored, unless it is a near miss of an undone key, which is an
error (``prot`` → "did you mean 'port'?"). Secrets are never values: a password is named by the
environment variable that holds it (``password_env``), a key by its file, or the SSH agent is used.
Every problem is one line naming the file, the key path and what was expected.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from probes.access import identity
from scanner import applications, lifecycle, yamlio
from scanner.errors import InputError, InventoryError
from scanner.inventory import connection as _conn
from scanner.inventory import walk as _walk
from scanner.inventory.connection import Unscannable

MAX_CONTRACT_DAYS = 3650  # ten years: a due date beyond that is a typing mistake
PREFIX = "undone_"  # undone's own settings in an Ansible inventory: undone_roles, undone_port, ...

SECTIONS = ("estate", "contract", "networks", "waivers", "params", "notify", "lifecycle",
            "tenants")
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
    "winrm_allow_ntlm_over_http": "bool",  # NTLM over HTTP can be relayed: refused without it
    # the cost guard (scanner/collect.py): hosts of one site (default: behind one jump host)
    # are collected at most site_concurrency at a time (default 8: under sshd's MaxStartups 10)
    "site": "str",
    "site_concurrency": "concurrency",
    # the browser extensions the client approved (scanner/applications): any other is listed
    "extension_allowlist": "extension_allowlist",
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
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$"
)
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
    winrm_allow_ntlm_over_http: bool = False
    # the cost guard: the site this host is reached through (None: its jump host, if any) and
    # how many of the site's hosts may be collected at once (None: DEFAULT_SITE_CONCURRENCY)
    site: str | None = None
    site_concurrency: int | None = None
    # other inventory names of the same machine, reached the same way: scanned once, as this one
    aliases: tuple[str, ...] = ()
    # browser extension ids the client approved (None: no allow-list given)
    extension_allowlist: tuple[str, ...] | None = None

    @property
    def credential(self) -> str:
        """What undone authenticates with, by kind (never the secret): key_file, agent,
        password_env or none."""
        if self.key_file:
            return "key_file"
        if self.agent:
            return "agent"
        if self.password_env:
            return "password_env"
        return "none"


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
    # hosts the inventory lists that undone does not scan (a connection it does not read)
    unscannable: tuple[Unscannable, ...] = ()
    # how undone's own keys were read: "undone" (short keys) or "ansible" (undone_* only)
    dialect: str = "undone"
    reader: str = "built-in"  # or "ansible-core" (the undone[ansible] extra)
    lifecycle: Any = None  # the local lifecycle overlay (scanner.lifecycle.parse_inventory_section)
    tenants: tuple[Any, ...] = ()  # cloud tenants: scanner.cloud.config.TenantConfig


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
    """Problems, one line each, in order and without repeats. A problem of one host that comes
    from a group's variables is gathered: one line names every host it touches."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.lines: list[str] = []
        self._seen: set[str] = set()
        self._hosts: dict[tuple[str, str], list[str]] = {}

    def add(self, where: str, what: str) -> None:
        line = f"{self.label}: {where}: {what}" if where else f"{self.label}: {what}"
        if line not in self._seen:
            self._seen.add(line)
            self.lines.append(line)

    def host(self, raw: Any, where: str, what: str) -> None:
        """A problem of host ``raw`` (a RawHost) caused by a value set at ``where``."""
        self._hosts.setdefault((where, what), []).append(raw.name)

    def pending(self) -> int:
        return sum(len(v) for v in self._hosts.values())

    def flush(self) -> None:
        for (where, what), names in self._hosts.items():
            shown = ", ".join(names[:5])
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            who = f"host {shown}" if len(names) == 1 else f"hosts {shown}{more}"
            self.add(where, f"{who}: {what}")
        self._hosts.clear()


_TYPE_NAMES = {bool: "a boolean", int: "a number", float: "a number", str: "text",
               list: "a list", dict: "a mapping"}


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _check_value(kind: str, value: Any, where: str, key: str, p: _Problems) -> Any:
    """Validate and normalise one undone variable; returns the value, or None after a problem."""
    bad = f"'{key}' is {_type_name(value)}, expected "
    if kind == "str":
        if isinstance(value, str) and value.strip() and not _CONTROL.search(value):
            return value.strip()
        if isinstance(value, str) and value.strip():
            p.add(where, f"'{key}' holds a control character (a line break, NUL, ...), "
                         "expected plain text")
        else:
            p.add(where, bad + "non-empty text")
    elif kind == "port":
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal():
            value = int(value.strip())
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
        if isinstance(value, str) and _ENV_RE.match(value) and len(value) <= 255:
            return value
        # the value is never shown: a secret written here by mistake must not be echoed
        p.add(
            where,
            f"'{key}' is not the NAME of an environment variable (letters, digits and _; "
            "the value is not shown, as it may be a secret written here by mistake)",
        )
    elif kind == "transport":
        if isinstance(value, str):
            v = _conn.connection_name(value.lower())
            v = {"paramiko": "ssh", "paramiko_ssh": "ssh", "smart": "ssh", "psrp": "winrm"}.get(
                v, v)
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
    elif kind == "extension_allowlist":
        ids, problems = applications.check_allowlist(value, key)
        for problem in problems:
            p.add(where, problem)
        return ids
    elif kind == "winrm_scheme":
        if isinstance(value, str) and value.lower() in WINRM_SCHEMES:
            return value.lower()
        p.add(where, f"'{key}' is {value!r}, expected https (the default) or http")
    elif kind == "winrm_auth":
        # Ansible's ansible_winrm_transport may be a list (or a comma list): the first undone has
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list) and items and all(isinstance(i, str) for i in items):
            names = [i.strip().lower() for i in items]
            names = ["basic" if n in ("plaintext", "ssl") else "ntlm" if n == "negotiate" else n
                     for n in names]
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


def _parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):  # a date and time: refused, an expiry is a day
        return None
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
        if isinstance(w.get("expires"), datetime):
            p.add(where, "'expires' is a date and time, expected a date (YYYY-MM-DD): a waiver "
                         "expires at the end of a day")
        elif expires is None:
            p.add(where, "'expires' is missing or not a date (YYYY-MM-DD): every waiver expires")
        elif not date(2000, 1, 1) <= expires <= date(2999, 12, 31):
            p.add(where, f"'expires' is {expires.isoformat()}, expected a date between 2000 and "
                         "2999")
            expires = None
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
        elif not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_CONTRACT_DAYS:
            p.add(f"contract.days.{sev}", f"{_shown(n)}, expected a whole number of days "
                                          f"(0 to {MAX_CONTRACT_DAYS})")
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
        elif isinstance(value, float) and not math.isfinite(value):
            p.add(f"params.{key}", f"is {value!r}, expected a finite number")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**9:
            p.add(f"params.{key}", "is a number beyond 1,000,000,000, expected a threshold")
        elif isinstance(value, str) and (len(value) > 1000 or _CONTROL.search(value)):
            p.add(f"params.{key}", "is text with control characters or over 1,000 characters")
        else:
            out[str(key)] = value
    return out


# -- notify: where to send word of a change (scanner/notify.py) ---------------------------------

NOTIFY_KINDS = ("new", "regressed", "overdue", "no_longer_waived", "newly_waived",
                "no_longer_checked", "rule_changed", "unreachable", "reachable", "fixed")
NOTIFY_KEYS = ("on", "email", "webhook", "report_url", "timeout")
EMAIL_KEYS = ("to", "from", "smtp_host", "smtp_port", "starttls", "ssl", "username_env",
              "password_env", "ca_file", "attach_report", "on")
WEBHOOK_KEYS = ("url", "url_env", "headers_env", "on")
_ADDRESS_PART = re.compile(r"^[^@\s<>,;\"'()\[\]\\]+$")


class _AddressRe:
    """An e-mail address check in linear time (the former pattern backtracked: an 80 kB
    address took 20 s): at most 254 characters, one ``@``, a dot in the domain."""

    def match(self, text: str) -> bool:
        if len(text) > 254 or text.count("@") != 1:
            return False
        local, domain = text.split("@")
        return (bool(_ADDRESS_PART.match(local)) and bool(_ADDRESS_PART.match(domain))
                and "." in domain.strip(".") and not domain.startswith(".")
                and not domain.endswith("."))


_ADDRESS_RE = _AddressRe()
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
        p.add(where, f"'{key}' is not an http:// or https:// URL (the value is not shown: a "
                     "webhook URL may itself be a secret)")
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


# undone's short keys that no application names its own variables by: one of them in a file
# without undone's sections marks it as an undone inventory (port, user, role, host, address,
# platform, ... are common application variables, so they mark nothing)
UNDONE_MARKERS = ("password_env", "key_file", "transport", "agent", "known_hosts",
                  "trust_on_first_use", "community_env", "snmp_version", "snmp_user",
                  "winrm_scheme", "winrm_auth", "client_admins", "provider_admins",
                  "site_concurrency", "connect_timeout")


def _dialect(data: dict[str, Any], top: dict[str, Any], base: Path | None) -> str:
    """How undone's own keys are read in this file (docs/CHANGELOG.md, 0.2.0):

    - ``undone``: short keys (``port``, ``roles``, ``password_env``...) are undone's, beside
      Ansible's variables. A file is one when it has one of undone's sections (estate,
      contract, networks as a list, waivers, params, notify), uses a key only undone uses
      (:data:`UNDONE_MARKERS`), or shows no sign of Ansible at all.
    - ``ansible``: only ``undone_*`` variables and the ``undone:`` mapping are undone's;
      ``port:``, ``role:``, ``user:``, ``host:`` are the applications'. A file is one when none of
      the above holds and it uses Ansible's variables (``ansible_*``) or has group_vars/ or
      host_vars/ beside it."""
    if any(k in data for k in SECTIONS if k not in top):
        return "undone"
    seen: set[str] = set()

    def keys(node: Any, depth: int) -> None:
        if depth > 40 or not isinstance(node, dict):
            return
        for key, value in node.items():
            if isinstance(key, str):
                seen.add(key)
            if isinstance(value, dict) and key != "undone":  # undone's namespaced mapping
                keys(value, depth + 1)

    keys(top, 0)
    if seen & set(UNDONE_MARKERS):
        return "undone"
    if base is not None and ((base / "group_vars").is_dir() or (base / "host_vars").is_dir()):
        return "ansible"
    return "ansible" if any(k.startswith("ansible_") for k in seen) else "undone"


def _undone_forms(vars_: dict[str, Any], dialect: str) -> list[tuple[str, str, Any]]:
    """undone's settings written in one mapping of variables, as (undone key, written name,
    value), in rising precedence: short keys (undone inventories only), ``undone_*``, then the
    ``undone:`` mapping."""
    out: list[tuple[str, str, Any]] = []
    if dialect == "undone":
        for key, value in vars_.items():
            k = ALIASES.get(key, key)
            if k in HOST_KEYS:
                out.append((k, key, value))
    for key, value in vars_.items():
        if isinstance(key, str) and key.startswith(PREFIX) and key != "undone":
            k = ALIASES.get(key[len(PREFIX):], key[len(PREFIX):])
            if k in HOST_KEYS:
                out.append((k, key, value))
    block = vars_.get("undone")
    if isinstance(block, dict):
        for key, value in block.items():
            k = ALIASES.get(str(key), str(key))
            if k in HOST_KEYS:
                out.append((k, f"undone.{key}", value))
    return out


def _check_names(layer: _walk.Layer, dialect: str, p: _Problems) -> None:
    """Variable names of one mapping: near misses of undone's keys, secrets written as values."""
    where = layer.where
    for key, value in layer.vars.items():
        if not isinstance(key, str):
            p.add(where, f"variable name {key!r} is not text")
            continue
        if key == "undone":
            if not isinstance(value, dict):
                p.add(where, f"'undone' is {_type_name(value)}, expected a mapping of undone's "
                             "settings (roles, password_env, ...)")
                continue
            for sub in value:
                k = ALIASES.get(str(sub), str(sub))
                if k not in HOST_KEYS:
                    guess = near_miss(str(sub), list(HOST_KEYS) + list(ALIASES))
                    hint = f" (did you mean '{ALIASES.get(guess, guess)}'?)" if guess else ""
                    if str(sub) in SECRET_KEYS:
                        hint = " (secrets are never values: use password_env)"
                    p.add(where, f"unknown undone setting 'undone.{sub}'{hint}")
        elif key.startswith(PREFIX):
            k = ALIASES.get(key[len(PREFIX):], key[len(PREFIX):])
            if k not in HOST_KEYS:
                guess = near_miss(key[len(PREFIX):], list(HOST_KEYS) + list(ALIASES))
                hint = f" (did you mean '{PREFIX}{ALIASES.get(guess, guess)}'?)" if guess else ""
                if key[len(PREFIX):] in SECRET_KEYS:
                    hint = f" (secrets are never values: use {PREFIX}password_env)"
                p.add(where, f"unknown undone setting '{key}'{hint}")
        elif dialect == "undone":
            if ALIASES.get(key, key) in HOST_KEYS or key.startswith("ansible_"):
                continue
            if key in SECRET_KEYS:
                p.add(where, f"'{key}' holds a secret: never write secrets in the inventory; "
                             "name an environment variable with 'password_env' or use 'key_file'")
                continue
            guess = near_miss(key, list(HOST_KEYS) + list(ALIASES))
            if guess:
                p.add(where, f"unknown key '{key}' (did you mean '{ALIASES.get(guess, guess)}'?)")


def _use(p: _Problems, raw: _walk.RawHost, var: str, value: Any) -> Any:
    """``value`` of ``var`` if undone can use it as written; None after a problem."""
    try:
        return _conn.usable(var, value)
    except _conn.Refusal as e:
        p.host(raw, raw.origin.get(var.split(".")[0], raw.where), f"{e.var} {e.what}")
        return None


def _settings(raw: _walk.RawHost, dialect: str, label: str,
              p: _Problems) -> tuple[dict[str, Any], list[str]] | _conn.Unscannable | None:
    """What undone will use for one host: its settings (undone's keys, and Ansible's connection
    variables) and roles; an :class:`Unscannable` when Ansible would reach it by a connection
    undone does not scan; None after a problem (in ``p``).

    Between an undone key and the Ansible variable it stands for (``user`` and ``ansible_user``),
    the one set at the more specific place wins (host over group, as Ansible's precedence); at
    the same place, undone's."""
    before = len(p.lines) + p.pending()
    hv = raw.vars
    # undone's own settings, the most specific place winning
    undone: dict[str, tuple[Any, str, int, str]] = {}
    for idx, layer in enumerate(raw.layers):
        for k, written, value in _undone_forms(layer.vars, dialect):
            if k != "roles":
                undone[k] = (value, written, idx, layer.where)
    roles: list[str] = []
    for layer in raw.layers:
        for k, written, value in _undone_forms(layer.vars, dialect):
            if k != "roles" or _conn.is_template(value) or isinstance(value, yamlio.Vaulted):
                continue
            checked = _check_value("roles", value, layer.where, written, p)
            roles.extend(r for r in checked or () if r not in roles)

    def wins(key: str, var: str | None) -> bool:
        """True when undone's ``key`` beats Ansible's ``var`` (None: not set)."""
        if key not in undone:
            return False
        return var is None or undone[key][2] >= raw.index.get(var, -1)

    merged: dict[str, Any] = {}

    def take(key: str) -> None:
        value, written, _, where = undone[key]
        value = _use(p, raw, written, value)
        if value is not None:
            checked = _check_value(HOST_KEYS[key], value, where, written, p)
            if checked is not None:
                merged[key] = checked

    def take_ansible(key: str, var: str, kind: str | None = None) -> Any:
        value = _use(p, raw, var, hv[var])
        if value is None:
            return None
        checked = _check_value(kind or HOST_KEYS[key], value, raw.origin.get(var, raw.where),
                               var, p)
        if checked is not None:
            merged[key] = checked
        return checked

    # the connection: undone's transport, or Ansible's connection type
    connection = None
    conn_var = "ansible_connection" if hv.get("ansible_connection") is not None else None
    if wins("transport", conn_var):
        take("transport")
        if "transport" not in merged:
            return None
        transport = flavour = merged["transport"]
        flavour = {"snmp": "ssh"}.get(flavour, flavour)
    else:
        value = _use(p, raw, "ansible_connection", hv[conn_var]) if conn_var else "ssh"
        if value is None:
            return None
        connection = _conn.connection_name(value)
        if connection not in _conn.CONNECTIONS:
            why = (f"connection {connection} is not one undone scans (it reads hosts over ssh, "
                   "winrm/psrp or local, network devices over network_cli or SNMP)")
            if connection.endswith(("httpapi", "netconf")):
                why += ("; if the device also answers SSH, set undone_transport: ssh (and "
                        "undone_device)")
            return _conn.Unscannable(raw.name, why, raw.groups, connection)
        transport, flavour = _conn.CONNECTIONS[connection]
    shell = hv.get("ansible_shell_type")
    if transport == "ssh" and isinstance(shell, str) and shell.lower() in ("powershell", "cmd"):
        return _conn.Unscannable(raw.name, f"Windows over SSH (ansible_shell_type {shell}): "
                                 "undone reads Windows over WinRM", raw.groups, connection)
    # address, port, user, key and WinRM settings: each plugin's own variables
    pvars = _conn.PLUGIN_VARS.get(flavour, _conn.PLUGIN_VARS["ssh"])
    for key, names in pvars.items():
        found = _conn.last_set(hv, names)
        if wins(key, found[0] if found else None):
            take(key)
        elif found is not None:
            take_ansible(key, found[0])
    # a network device: undone's device, or Ansible's network OS
    nos_var = "ansible_network_os" if hv.get("ansible_network_os") is not None else None
    if wins("device", nos_var):
        take("device")
    elif flavour == "network_cli":
        if nos_var is None:
            return _conn.Unscannable(raw.name, "network_cli without ansible_network_os: set it "
                                     "(or undone_device)", raw.groups, connection)
        value = _use(p, raw, "ansible_network_os", hv[nos_var])
        if value is None:
            return None
        device = _conn.NETWORK_OS.get(str(value).strip().lower())
        if device is None:
            return _conn.Unscannable(
                raw.name, f"network OS {value} is not one undone reads (it reads "
                + ", ".join(sorted(set(_conn.NETWORK_OS.values()))) + ")", raw.groups,
                connection)
        merged["device"] = device
        if not wins("platform", None):
            merged["platform"] = "network"
    # the jump host: undone's jump, or ProxyJump in the SSH arguments
    if transport == "ssh":
        try:
            jump, jump_var = _conn.ssh_jump(hv, flavour)
        except _conn.Refusal as e:
            if wins("jump", e.var):
                jump, jump_var = None, None
            else:
                p.host(raw, raw.origin.get(e.var, raw.where), f"{e.var} {e.what}")
                return None
        if wins("jump", jump_var):
            take("jump")
        elif jump is not None:
            merged["jump"] = jump
    elif "jump" in undone:
        take("jump")
    # become: undone's, or Ansible's (root through sudo only)
    become_var = "ansible_become" if hv.get("ansible_become") is not None else None
    if wins("become", become_var):
        take("become")
    elif become_var is not None:
        value = _use(p, raw, "ansible_become", hv["ansible_become"])
        if value is None:
            return None
        try:
            become = _conn.ansible_bool("ansible_become", value)
        except _conn.Refusal as e:
            p.host(raw, raw.origin.get(e.var, raw.where), f"{e.var} {e.what}")
            return None
        method = hv.get("ansible_become_method")
        buser = hv.get("ansible_become_user")
        method_name = _conn.connection_name(method) if isinstance(method, str) else method
        if become and transport == "ssh" and "device" not in merged and (
                method_name not in (None, "sudo") or buser not in (None, "root")):
            what = (f"ansible_become_method {method_name}" if method_name not in (None, "sudo")
                    else f"ansible_become_user {_shown(buser)}")
            p.host(raw, raw.origin.get("ansible_become", raw.where),
                   f"{what}: undone becomes root only with sudo -n (never with a password); "
                   f"use sudo to root, or set {PREFIX}become: false")
            return None
        merged["become"] = become
    # every other undone setting
    for key in undone:
        if key not in merged and key not in ("transport", "device", "jump", "become",
                                             *pvars):
            take(key)
    if "address" in merged and not _conn.valid_address(merged["address"]):
        p.host(raw, raw.where, f"address {_shown(merged['address'])} is not a host name or IP "
               "address (no spaces, control characters or leading '-')")
        return None
    if merged.get("jump") and not _jump_ok(merged["jump"]):
        p.host(raw, raw.where, f"jump {_shown(merged['jump'])} is not [user@]host[:port] with a "
               "host name or IP address (no spaces, control characters or leading '-')")
        return None
    if "address" not in merged:
        if transport == "local":
            merged["address"] = "localhost"
        elif _conn.valid_address(raw.name):
            merged["address"] = raw.name
        else:
            p.host(raw, raw.where, f"the host name {_shown(raw.name)} is not a host name or IP "
                   "address, and nothing gives one: set ansible_host (or "
                   f"{'address' if dialect == 'undone' else PREFIX + 'address'})")
            return None
    if raw.sealed:
        p.host(raw, raw.sealed[0], "is encrypted with Ansible Vault: undone cannot see whether "
               "it sets this host's connection variables; " + _conn.EXTRA_HINT
               + " and its vault password file")
        return None
    merged["transport"] = transport
    if len(p.lines) + p.pending() > before:
        return None
    return merged, roles


def _jump_ok(spec: str) -> bool:
    """A jump host as undone takes it: ``[user@]host[:port]`` (or an inventory host's name)."""
    try:
        return _conn._jump_spec("jump", spec) is not None
    except _conn.Refusal:
        return False


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def split_document(data: Any, label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document's undone sections and its groups. ``networks`` and ``lifecycle`` are undone's
    sections when they are lists, groups when they are mappings (an Ansible inventory may have a
    group of that name).
    Raises InventoryError for a document that is not an inventory."""
    if data is None:
        raise InventoryError(f"{label}: the inventory is empty; expected a mapping with 'all'")
    if not isinstance(data, dict):
        raise InventoryError(
            f"{label}: the inventory is {_type_name(data)}, expected a mapping "
            "with 'all' (an Ansible-shaped YAML inventory)"
        )
    if isinstance(data.get("plugin"), str):
        raise InventoryError(
            f"{label}: an Ansible inventory plugin configuration (plugin: "
            f"{_shown(data['plugin'])[1:-1]}), which undone reads only through Ansible: "
            f"{_conn.EXTRA_HINT}, or convert it: ansible-inventory -i {label} --list -y > "
            "inventory.yaml")
    sections: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    bad: list[str] = []
    for key, value in data.items():
        if not isinstance(key, str):
            bad.append(f"{label}: top-level key {key!r} is not text")
        elif key in SECTIONS and not ((key in ("networks", "lifecycle") and isinstance(value, dict))
                                      or (key == "tenants" and _is_group(value))):
            sections[key] = value
        else:
            guess = near_miss(key, SECTIONS)
            if guess and not (isinstance(value, dict) and set(value) <= set(GROUP_KEYS)):
                bad.append(f"{label}: unknown top-level key '{key}' (did you mean '{guess}'?)")
            else:
                groups[key] = value
    if bad:
        raise InventoryError(bad)
    return sections, groups


def _is_group(value: Any) -> bool:
    """An Ansible group (hosts/vars/children only), not undone's section of the same name."""
    return isinstance(value, dict) and bool(value) and set(value) <= set(GROUP_KEYS)


def _base_dir(label: str, base_dir: str | os.PathLike[str] | None) -> Path | None:
    if base_dir is not None:
        return Path(base_dir)
    if label and os.path.isfile(label):
        return Path(label).resolve().parent
    return None


def parse(data: Any, label: str, base_dir: str | os.PathLike[str] | None = None) -> Inventory:
    """Validate a loaded inventory document; raises InventoryError with every problem found.

    ``label`` names the file in messages; when it is a file, the group_vars/ and host_vars/
    beside it are read (or beside ``base_dir`` when given), as Ansible reads them."""
    sections, group_top = split_document(data, label)
    base = _base_dir(label, base_dir)
    dialect = _dialect(data, group_top, base)
    p = _Problems(label)
    walked, walk_problems = _walk.walk(group_top, base, near_miss)
    for where, what in walk_problems:
        p.add(where, what)
    raws = [_walk.host_vars(walked, name) for name in walked.hosts]
    return build(raws, sections, label, dialect, p, walked)


def build(raws: list[_walk.RawHost], sections: dict[str, Any], label: str, dialect: str,
          p: _Problems | None = None, walked: _walk.Walked | None = None,
          reader: str = "built-in") -> Inventory:
    """An :class:`Inventory` from each host's variables (however they were read: the built-in
    walk or ansible-core) and undone's own sections."""
    p = p or _Problems(label)
    estate = _parse_estate(sections.get("estate"), p)
    estate_admins = _estate_admins(sections.get("estate"), p)
    contract = _parse_contract(sections.get("contract"), p)
    networks = _parse_networks(sections.get("networks"), p)
    waivers = _parse_waivers(sections.get("waivers"), p)
    params = _parse_params(sections.get("params"), p)
    notify = _parse_notify(sections.get("notify"), label, p)
    local_lifecycle, lifecycle_problems = lifecycle.parse_inventory_section(
        sections.get("lifecycle"), label)
    p.lines.extend(lifecycle_problems)
    tenants = _parse_tenants(sections.get("tenants"), label, raws, p)
    layers_seen: set[int] = set()
    for raw in raws:
        for layer in raw.layers:
            if id(layer.vars) not in layers_seen:
                layers_seen.add(id(layer.vars))
                _check_names(layer, dialect, p)
    if not raws and not tenants and not p.lines:
        p.add("all", "no hosts: expected at least one host under all.hosts or a group's hosts, "
                     "or a tenant under tenants")

    hosts: list[Host] = []
    unscannable: list[_conn.Unscannable] = []
    by_key: dict[tuple[Any, ...], int] = {}
    alias_of: dict[str, str] = {}
    for raw in raws:
        got = _settings(raw, dialect, label, p)
        if got is None:
            continue
        if isinstance(got, _conn.Unscannable):
            unscannable.append(got)
            continue
        merged, roles = got
        where = raw.where
        transport = merged["transport"]
        address = merged["address"]
        winrm: dict[str, Any] = {}
        if transport == "winrm":
            settings = _winrm_settings(merged, where, label, p, dialect)
            if settings is None:
                continue
            winrm = settings
        default_port = {"https": 5986, "http": 5985}.get(winrm.get("winrm_scheme", ""), 22)
        if transport == "winrm" and "winrm_scheme" not in merged:
            default_port = 5986  # as Ansible's winrm plugin, whatever the scheme
        netdev = _network_device(merged, roles, transport, where, p)
        if netdev is None:
            continue
        if transport == "snmp":
            default_port = 161
        port = merged.get("port", default_port)
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
        host = Host(
            name=raw.name,
            address=str(address),
            transport=transport,
            port=int(port),
            user=merged.get("user"),
            roles=tuple(roles),
            groups=tuple(g for g in raw.groups if g != "ungrouped"),
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
            extension_allowlist=merged.get("extension_allowlist"),
            **winrm,
            **netdev,
        )
        # aliases: another name for the same machine, reached the same way, is scanned once
        key = (host.address.lower(), host.port, host.transport, host.user, host.jump,
               host.become, host.key_file, host.password_env, host.agent, host.device)
        if transport != "local" and key in by_key:
            i = by_key[key]
            first = hosts[i]
            hosts[i] = dataclasses.replace(
                first,
                aliases=(*first.aliases, host.name),
                roles=first.roles + tuple(r for r in host.roles if r not in first.roles),
                groups=first.groups + tuple(g for g in host.groups if g not in first.groups),
            )
            alias_of[host.name] = first.name
            continue
        by_key[key] = len(hosts)
        hosts.append(host)
    names = ({h.name for h in hosts} | set(alias_of) | {u.name for u in unscannable}
             | {f"network:{n['name']}" for n in networks} | {t.name for t in tenants})
    for w in waivers:
        for hn in w.hosts:
            if hn != "*" and hn not in names and not p.lines:
                p.add("waivers", f"waiver for rule {w.rule} names unknown host '{hn}'")
    p.flush()
    if p.lines:
        raise InventoryError(p.lines)
    waivers = [dataclasses.replace(w, hosts=tuple(dict.fromkeys(alias_of.get(h, h)
                                                               for h in w.hosts)))
               for w in waivers]
    return Inventory(
        path=label,
        hosts=tuple(hosts),
        estate=estate,
        contract=contract,
        networks=tuple(networks),
        waivers=tuple(waivers),
        params=params,
        notify=notify,
        unscannable=tuple(unscannable),
        dialect=dialect,
        reader=reader,
        lifecycle=local_lifecycle,
        tenants=tenants,
    )


def _parse_tenants(raw: Any, label: str, raws: list[_walk.RawHost],
                   p: _Problems) -> tuple[Any, ...]:
    """The ``tenants:`` section (scanner/cloud/config.py); its problems join the others."""
    if raw is None:
        return ()
    from scanner.cloud.config import parse_tenants  # it imports near_miss from here

    try:
        return parse_tenants(raw, label, {r.name for r in raws})
    except InventoryError as e:
        p.lines.extend(e.problems)
        return ()


def _winrm_settings(
    merged: dict[str, Any], where: str, label: str, p: _Problems, dialect: str = "undone"
) -> dict[str, Any] | None:
    """A WinRM host's connection settings, resolved and checked together: HTTPS with certificate
    validation by default; plain HTTP only with an auth method whose messages are encrypted;
    credentials by reference. None after a problem."""
    before = len(p.lines)
    # as Ansible: http when the port is 5985 and no scheme is given, else https
    scheme = merged.get("winrm_scheme", "http" if merged.get("port") == 5985 else "https")
    auth = merged.get("winrm_auth", "ntlm")
    allow_ntlm = bool(merged.get("winrm_allow_ntlm_over_http", False))
    if scheme == "http" and auth in ("ntlm", "credssp") and not allow_ntlm:
        p.add(
            where,
            f"winrm_auth {auth} over plain HTTP can be relayed by anyone on the path (NTLM "
            "relay): use winrm_scheme: https (port 5986) or winrm_auth: kerberos, or accept the "
            "risk with winrm_allow_ntlm_over_http: true (reported as UNDONE-WIN-001)",
        )
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
    pw = "password_env" if dialect == "undone" else PREFIX + "password_env"
    user = "user" if dialect == "undone" else "ansible_user"
    if auth != "kerberos" and not merged.get("password_env"):
        p.add(
            where,
            f"winrm_auth {auth} needs '{user}' and '{pw}' (the NAME of the environment "
            "variable holding the password; undone never reads a password from the inventory)",
        )
    if auth != "kerberos" and not merged.get("user"):
        p.add(where, f"winrm_auth {auth} needs '{user}' (DOMAIN\\name, name@domain or name)")
    if len(p.lines) > before:
        return None
    bundle = merged.get("winrm_ca_bundle")
    return {
        "winrm_scheme": scheme,
        "winrm_auth": auth,
        "winrm_ca_bundle": _resolve(bundle, label) if bundle else None,
        "winrm_cert_pin": merged.get("winrm_cert_pin"),
        "winrm_cert_validation": bool(merged.get("winrm_cert_validation", True)),
        "winrm_allow_ntlm_over_http": allow_ntlm,
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


_INI_LINE = re.compile(r"(?m)^[ \t]*\[[^\]\n]+\][ \t]*$|^[^\s#;:=]+[ \t]+\w+=\S")
READERS = ("auto", "built-in", "ansible")


def _ini_line(label: str) -> str:
    return (f"{label}: an Ansible INI inventory, which undone does not read itself: convert it "
            f"with `ansible-inventory -i {label} --list -y > inventory.yaml`, or "
            f"{_conn.EXTRA_HINT} to read it as it is")


def _needs_ansible(problems: list[str]) -> bool:
    return bool(problems) and all(_conn.EXTRA_HINT in line for line in problems)


def load(path: str | os.PathLike[str], reader: str = "auto") -> Inventory:
    """Read and validate the inventory at ``path``. ``reader``: ``built-in`` (undone's own
    walk), ``ansible`` (ansible-core, the undone[ansible] extra), or ``auto``: the built-in walk,
    and ansible-core where the built-in walk cannot read the file (INI, a plugin configuration,
    templates or Vault values in variables undone uses) and ansible-core is installed."""
    from scanner.inventory import via_ansible

    label = str(path)
    text = yamlio.decode(yamlio.read_regular(path, label=label, what="an inventory (YAML)"),
                         label)
    if reader == "ansible":
        if not via_ansible.available():
            raise InventoryError(f"{label}: reading through Ansible needs ansible-core: "
                                 "pip install 'undone[ansible]'")
        return _load_via_ansible(label, text)
    try:
        try:
            data = yamlio.load_text(text, label)
        except InputError:
            if _INI_LINE.search(text):
                raise InventoryError(_ini_line(label)) from None
            raise
        if not isinstance(data, dict) and _INI_LINE.search(text):
            raise InventoryError(_ini_line(label))
        return parse(data, label)
    except InputError as e:
        if reader == "auto" and _needs_ansible(e.problems) and via_ansible.available():
            return _load_via_ansible(label, text)
        raise


def _load_via_ansible(label: str, text: str) -> Inventory:
    from scanner.inventory import via_ansible

    sections: dict[str, Any] = {}
    dialect = "ansible"
    try:
        data = yamlio.load_text(text, label)
    except InputError:
        data = None
    if isinstance(data, dict) and not isinstance(data.get("plugin"), str):
        sections, groups = split_document(data, label)
        dialect = _dialect(data, groups, _base_dir(label, None))
    short = set(HOST_KEYS) | set(ALIASES)
    raws = via_ansible.read(label, dialect, short)
    return build(raws, sections, label, dialect, reader="ansible-core")


def parse_waivers(data: Any, label: str) -> tuple[Waiver, ...]:
    """A waivers file (``waivers: [...]`` or the bare list), validated on its own: the host
    names are checked against an inventory later (:func:`with_waivers`)."""
    if isinstance(data, dict) and set(data) <= {"waivers"}:
        data = data.get("waivers")
    p = _Problems(label)
    waivers = _parse_waivers(data, p)
    if data is None:
        p.add("waivers", "expected a list of waivers, found nothing")
    if p.lines:
        raise InventoryError(p.lines)
    return tuple(waivers)


def with_waivers(inv: Inventory, waivers: tuple[Waiver, ...], label: str) -> Inventory:
    """``inv`` with the waivers of a separate file (``--waivers FILE``) added; each host a waiver
    names must be one of the inventory's (an alias counts as its machine)."""
    names = {h.name for h in inv.hosts} | {u.name for u in inv.unscannable} | {
        f"network:{n['name']}" for n in inv.networks} | {t.name for t in inv.tenants}
    alias_of = {a: h.name for h in inv.hosts for a in h.aliases}
    p = _Problems(label)
    for i, w in enumerate(waivers):
        for hn in w.hosts:
            if hn != "*" and hn not in names and hn not in alias_of:
                p.add(f"waivers[{i}]", f"waiver for rule {w.rule} names host '{hn}', which "
                                       f"is not in {inv.path or 'the inventory'}")
    if p.lines:
        raise InventoryError(p.lines)
    fixed = tuple(dataclasses.replace(w, hosts=tuple(dict.fromkeys(alias_of.get(h, h)
                                                                  for h in w.hosts)))
                  for w in waivers)
    return dataclasses.replace(inv, waivers=inv.waivers + fixed)
