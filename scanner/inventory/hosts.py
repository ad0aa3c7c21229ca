"""One host's settings from its variables: undone's own keys and Ansible's connection
variables merged (the variable names in the dialect of the inventory), checked, and turned into
the connection a :class:`~scanner.inventory.model.Host` needs; WinRM's settings and network
devices' included."""

from __future__ import annotations

from typing import Any

from scanner import yamlio
from scanner.inventory import connection as _conn
from scanner.inventory.checks import (
    _check_value,
    _Problems,
    _resolve,
    _shown,
    _type_name,
    near_miss,
)
from scanner.inventory.model import (
    ALIASES,
    DEVICES,
    HOST_KEYS,
    PREFIX,
    SECRET_KEYS,
    WINRM_ENCRYPTING_AUTHS,
)
from scanner.inventory.model import ANSIBLE_KEYS as ANSIBLE_KEYS
from scanner.inventory.model import local_inventory as local_inventory
from scanner.inventory.walk import Layer
from scanner.inventory.walk_vars import RawHost


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


def _check_names(layer: Layer, dialect: str, p: _Problems) -> None:
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


def _use(p: _Problems, raw: RawHost, var: str, value: Any) -> Any:
    """``value`` of ``var`` if undone can use it as written; None after a problem."""
    try:
        return _conn.usable(var, value)
    except _conn.Refusal as e:
        p.host(raw, raw.origin.get(var.split(".")[0], raw.where), f"{e.var} {e.what}")
        return None


def _settings(raw: RawHost, dialect: str, label: str,
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
