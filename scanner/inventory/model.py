"""The inventory's model: a host (:class:`Host`), a waiver, the contract, the whole
:class:`Inventory`, and the words undone's inventory keys may take (sections, roles, devices,
transports, the host and group variables and what each must be)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from probes import netos
from scanner.inventory.connection import Unscannable
from scanner.vocab import HOST_TRANSPORTS

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
TRANSPORTS = HOST_TRANSPORTS  # one home: scanner/vocab.py (the engine's registry checks it)

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
    # network devices (scanner/engine/network.py): the device's kind, SNMP credentials by reference
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
    # the cost guard (scanner/engine/collect.py): hosts of one site (default: behind one jump host)
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
# What a network device is, for its read-only commands over SSH: the devices the modules of
# probes/netos/ declare they read (their DEVICES, in module-name order), so a new network OS is
# a module there and nothing here. A linux-gateway has a POSIX shell: it is scanned like any
# Linux host (platform linux, role gateway), plus the gateway section (default policy of the
# input and forward chains).
DEVICES = (*netos.devices(), "linux-gateway")
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
    tenants: tuple[Any, ...] = ()  # cloud tenants: scanner.inventory.tenants.TenantConfig

    def alias_of(self) -> dict[str, str]:
        """Each alias (another inventory name of a machine scanned once) and the name the
        machine is scanned under."""
        return {a: h.name for h in self.hosts for a in h.aliases}


def local_inventory() -> Inventory:
    """No inventory given: this machine, over the local transport."""
    name = os.uname().nodename or "localhost"
    return Inventory(path=None, hosts=(Host(name=name, address="localhost", transport="local"),))
