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

This module reads hosts and groups (the dialect, host variables, network devices, WinRM) and
builds the :class:`Inventory`; the model is in ``model.py``, value checks in ``checks.py``, the
estate sections in ``sections.py``, the Ansible-shaped walk in ``walk.py``, connection variables
in ``connection.py``, reading through ansible-core in ``via_ansible.py``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from scanner import yamlio
from scanner.errors import InputError, InventoryError
from scanner.inventory import connection as _conn
from scanner.inventory import walk as _walk
from scanner.inventory.checks import (
    _check_value,
    _identity_key,
    _Problems,
    _resolve,
    _shown,
    _type_name,
    near_miss,
)
from scanner.inventory.connection import Unscannable
from scanner.inventory.model import (
    ADMIN_KEYS,
    ALIASES,
    BACKUP_KEYS,
    DEVICES,
    GROUP_KEYS,
    HOST_KEYS,
    PREFIX,
    ROLES,
    SECRET_KEYS,
    SECTIONS,
    WINRM_ENCRYPTING_AUTHS,
    Contract,
    Host,
    Inventory,
    Waiver,
)

# the package's public names (the model lives in model.py, the checks in checks.py, the estate
# sections in sections.py; hosts, build and load here)
from scanner.inventory.model import ANSIBLE_KEYS as ANSIBLE_KEYS
from scanner.inventory.model import local_inventory as local_inventory
from scanner.inventory.sections import (
    UNDONE_MARKERS,
    _estate_admins,
    _parse_contract,
    _parse_estate,
    _parse_networks,
    _parse_notify,
    _parse_params,
    _parse_waivers,
)
from scanner.lifecycle import catalogue as lifecycle


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
        elif key in SECTIONS and not (key in ("networks", "lifecycle") and isinstance(value, dict)):
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
    layers_seen: set[int] = set()
    for raw in raws:
        for layer in raw.layers:
            if id(layer.vars) not in layers_seen:
                layers_seen.add(id(layer.vars))
                _check_names(layer, dialect, p)
    if not raws and not p.lines:
        p.add("all", "no hosts: expected at least one host under all.hosts or a group's hosts")

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
             | {f"network:{n['name']}" for n in networks})
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
    )


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
        f"network:{n['name']}" for n in inv.networks}
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


__all__ = [
    "ALIASES", "ANSIBLE_KEYS", "BACKUP_KEYS", "GROUP_KEYS", "HOST_KEYS", "READERS", "ROLES",
    "SECRET_KEYS", "SECTIONS", "Contract", "Host", "Inventory", "Unscannable", "Waiver", "build",
    "load", "local_inventory", "near_miss", "parse", "parse_waivers", "split_document",
    "with_waivers",
]
