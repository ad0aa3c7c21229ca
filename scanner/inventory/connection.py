"""How Ansible would connect to a host, from its variables: connection type, address, port,
user, key, jump host (from the SSH arguments, parsed with shell rules) and become.

Each connection plugin reads its own variables, the last one listed winning when several are
set (ansible-core's plugin documentation: ``ssh`` reads the address from ``ansible_host`` then
``ansible_ssh_host``; ``winrm`` from ``ansible_host`` then ``ansible_winrm_host``; ...):
:data:`PLUGIN_VARS` holds those lists. What undone cannot evaluate (a Jinja2 template, a Vault
value) is refused only in a variable it uses; a connection undone cannot scan is reported as such,
never replaced by SSH.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass
from typing import Any

from probes import netos
from scanner import yamlio

EXTRA_HINT = "install the Ansible extra (pip install 'undone[ansible]')"

# connection name (without ansible.builtin. / ansible.legacy.) -> (undone transport, flavour)
CONNECTIONS: dict[str, tuple[str, str]] = {
    "ssh": ("ssh", "ssh"),
    "smart": ("ssh", "ssh"),
    "paramiko": ("ssh", "paramiko"),
    "paramiko_ssh": ("ssh", "paramiko"),
    "local": ("local", "local"),
    "winrm": ("winrm", "winrm"),
    "psrp": ("winrm", "psrp"),
    "network_cli": ("ssh", "network_cli"),
    "ansible.netcommon.network_cli": ("ssh", "network_cli"),
}
# the variables each flavour reads for each setting, in Ansible's order (the last set wins)
PLUGIN_VARS: dict[str, dict[str, tuple[str, ...]]] = {
    "ssh": {
        "address": ("ansible_host", "ansible_ssh_host"),
        "port": ("ansible_port", "ansible_ssh_port"),
        "user": ("ansible_user", "ansible_ssh_user"),
        "key_file": ("ansible_private_key_file", "ansible_ssh_private_key_file"),
    },
    "paramiko": {
        "address": ("ansible_host", "ansible_ssh_host", "ansible_paramiko_host"),
        "port": ("ansible_port", "ansible_ssh_port", "ansible_paramiko_port"),
        "user": ("ansible_user", "ansible_ssh_user", "ansible_paramiko_user"),
        "key_file": ("ansible_private_key_file", "ansible_ssh_private_key_file",
                     "ansible_paramiko_private_key_file"),
    },
    "network_cli": {
        "address": ("ansible_host",),
        "port": ("ansible_port",),
        "user": ("ansible_user",),
        "key_file": ("ansible_private_key_file", "ansible_ssh_private_key_file"),
    },
    "winrm": {
        "address": ("ansible_host", "ansible_winrm_host"),
        "port": ("ansible_port", "ansible_winrm_port"),
        "user": ("ansible_user", "ansible_winrm_user"),
        "winrm_scheme": ("ansible_winrm_scheme",),
        "winrm_auth": ("ansible_winrm_transport",),
        "winrm_cert_validation": ("ansible_winrm_server_cert_validation",),
        "winrm_ca_bundle": ("ansible_winrm_ca_trust_path",),
    },
    "psrp": {
        "address": ("ansible_host", "ansible_psrp_host"),
        "port": ("ansible_port", "ansible_psrp_port"),
        "user": ("ansible_user", "ansible_psrp_user"),
        "winrm_scheme": ("ansible_psrp_protocol",),
        "winrm_auth": ("ansible_psrp_auth",),
        "winrm_cert_validation": ("ansible_psrp_cert_validation",),
        "winrm_ca_bundle": ("ansible_psrp_cert_trust_path", "ansible_psrp_ca_cert"),
    },
    "local": {},
}
SSH_ARG_VARS = ("ansible_ssh_args", "ansible_ssh_common_args", "ansible_ssh_extra_args")
# ansible_network_os -> undone's device kind: declared by the probes/netos/ module that reads it
NETWORK_OS: dict[str, str] = netos.ansible_network_os()
_TRUE = ("yes", "on", "1", "true", "y", "t")
_FALSE = ("no", "off", "0", "false", "n", "f")
# ssh(1) options that take an argument (from its usage line)
_SSH_ARG_OPTS = set("BbcDEeFIiJLlmOoPpQRSWw")
_OPTION = re.compile(r"^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$", re.S)
_W_PROXY = re.compile(r"^ssh\s+(?:.*\s)?-W\s*['\"]?%h:%p['\"]?(?:\s|$)")


class Refusal(Exception):
    """A setting undone cannot use as written: ``var`` names the variable, ``what`` says why and
    what to do."""

    def __init__(self, var: str, what: str) -> None:
        super().__init__(f"{var}: {what}")
        self.var = var
        self.what = what


@dataclass(frozen=True)
class Unscannable:
    """A host undone lists but does not scan, and why."""

    name: str
    reason: str
    groups: tuple[str, ...] = ()
    connection: str | None = None


def is_template(value: Any) -> bool:
    return (isinstance(value, str) and not isinstance(value, yamlio.Unsafe)
            and ("{{" in value or "{%" in value))


def usable(var: str, value: Any) -> Any:
    """A value undone can take as written, or a :class:`Refusal`: a Jinja2 template or a Vault
    value is never evaluated here (the value itself is never shown: it may be a secret)."""
    if isinstance(value, yamlio.Vaulted) or (isinstance(value, dict)
                                             and "__ansible_vault" in value):
        raise Refusal(var, "is encrypted with Ansible Vault, which undone does not decrypt: give "
                           f"the value, or {EXTRA_HINT} and its vault password file")
    if is_template(value):
        raise Refusal(var, "is a Jinja2 template, which undone does not evaluate: give the "
                           f"value, or {EXTRA_HINT}")
    return value


def connection_name(value: Any) -> str:
    name = str(value).strip()
    for prefix in ("ansible.builtin.", "ansible.legacy."):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def ansible_bool(var: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise Refusal(var, f"is {_shown(value)}, expected true or false")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def last_set(hostvars: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any] | None:
    """The variable a plugin would use of ``names`` (the last one set), with its value."""
    found: tuple[str, Any] | None = None
    for n in names:
        if hostvars.get(n) is not None:
            found = (n, hostvars[n])
    return found


def _jump_spec(var: str, value: str) -> str | None:
    """ProxyJump's value, normalised to ``[user@]host[:port]``; None for ``none``."""
    text = value.strip()
    if text.lower() == "none":
        return None
    if "," in text:
        raise Refusal(var, f"ProxyJump {_shown(text)} goes through several jump hosts; undone "
                           "reaches a host through one: scan from a machine nearer to it")
    if text.startswith("ssh://"):
        text = text[len("ssh://"):].rstrip("/")
    user, _, rest = text.rpartition("@")
    port = None
    if rest.startswith("["):
        addr, _, tail = rest[1:].partition("]")
        if tail:
            if not tail.startswith(":") or not tail[1:].isascii() or not tail[1:].isdigit():
                raise Refusal(var, f"ProxyJump {_shown(text)} is not [user@]host[:port]")
            port = int(tail[1:])
    elif rest.count(":") == 1:
        addr, _, p = rest.partition(":")
        if not (p.isascii() and p.isdigit()):
            raise Refusal(var, f"ProxyJump {_shown(text)} is not [user@]host[:port]")
        port = int(p)
    else:
        addr = rest
    if not valid_address(addr) or (user and not valid_user(user)):
        raise Refusal(var, f"ProxyJump {_shown(text)} is not [user@]host[:port] with a host "
                           "name or IP address")
    if port is not None and not 1 <= port <= 65535:
        raise Refusal(var, f"ProxyJump port {port} is not 1-65535")
    host = f"[{addr}]" if ":" in addr else addr
    return (f"{user}@" if user else "") + host + (f":{port}" if port is not None else "")


def _proxy_command_hint(command: str) -> str:
    """How to write a ``ssh -W %h:%p bastion`` ProxyCommand as a jump host."""
    if _W_PROXY.match(command.strip()):
        try:
            words = shlex.split(command)
        except ValueError:
            words = []
        port = None
        target = None
        i = 1
        while i < len(words):
            w = words[i]
            if w in ("-p",) and i + 1 < len(words):
                port = words[i + 1]
                i += 2
                continue
            if w.startswith("-") and len(w) == 2 and w[1] in _SSH_ARG_OPTS:
                i += 2
                continue
            if not w.startswith("-"):
                target = w
            i += 1
        if target and valid_address(target.rpartition("@")[2]):
            spec = target + (f":{port}" if port else "")
            return (f"write it as a jump host: -o ProxyJump={spec} (Ansible reads that too), "
                    f"or undone_jump: {spec}")
    return ("write it as a jump host: -o ProxyJump=[user@]bastion[:port] (Ansible reads that "
            "too), or undone_jump: [user@]bastion[:port]")


def ssh_jump(hostvars: dict[str, Any], flavour: str) -> tuple[str | None, str | None]:
    """The jump host the SSH arguments give, normalised, and the variable it came from.

    As ssh(1) reads its command line (checked with ``ssh -G``): Ansible passes ansible_ssh_args,
    then ansible_ssh_common_args, then ansible_ssh_extra_args; of ``-o ProxyJump`` and ``-o
    ProxyCommand`` the first one given wins; ``-J`` after any of them is an error of ssh itself.
    ProxyCommand and ssh_config files are refused with what to write instead."""
    jump: tuple[str | None, str] | None = None  # (spec, variable) of the first ProxyJump/-J
    command: tuple[str, str] | None = None  # (command, variable) of the first ProxyCommand
    for var in SSH_ARG_VARS:
        raw = hostvars.get(var)
        if raw is None:
            continue
        raw = usable(var, raw)
        if not isinstance(raw, str):
            raise Refusal(var, f"is {_shown(raw)}, expected ssh arguments as text")
        try:
            words = shlex.split(raw)
        except ValueError as e:
            raise Refusal(var, f"cannot be split as a shell would ({e})") from None
        i = 0
        while i < len(words):
            w = words[i]
            i += 1
            if not w.startswith("-") or w == "-" or w.startswith("--"):
                continue
            j = 1
            while j < len(w):
                opt = w[j]
                if opt not in _SSH_ARG_OPTS:
                    j += 1
                    continue
                value = w[j + 1:]
                if not value:
                    if i >= len(words):
                        raise Refusal(var, f"-{opt} without its value")
                    value = words[i]
                    i += 1
                if opt == "J":
                    if jump is not None or command is not None:
                        raise Refusal(var, "gives -J after another jump host or ProxyCommand, "
                                           "which ssh itself refuses: keep one jump host")
                    jump = (_jump_spec(var, value), var)
                elif opt == "F":
                    raise Refusal(var, "names an ssh_config file (-F), which undone does not "
                                       "read: give the address, port, user and jump host as "
                                       "inventory variables")
                elif opt in ("p", "l"):
                    what = "port" if opt == "p" else "user"
                    raise Refusal(var, f"sets the {what} (-{opt}): give it as ansible_{what} "
                                       "instead, so that Ansible and undone agree")
                elif opt == "o":
                    m = _OPTION.match(value)
                    key, val = (m.group(1), m.group(2)) if m else (value.strip(), "")
                    k = key.lower()
                    if k == "proxyjump" and jump is None and command is None:
                        jump = (_jump_spec(var, val), var)
                    elif k == "proxycommand" and jump is None and command is None:
                        command = (val, var)
                    elif k in ("hostname", "port", "user"):
                        raise Refusal(var, f"sets {key} with -o: give it as "
                                           f"ansible_{'host' if k == 'hostname' else k} instead,"
                                           " so that Ansible and undone agree")
                break
    if command is not None and command[0].strip().lower() != "none":
        raise Refusal(command[1], "uses ProxyCommand, which undone cannot run: "
                                      + _proxy_command_hint(command[0]))
    if flavour in ("paramiko", "network_cli"):
        return None, None  # paramiko honours ProxyCommand but not ProxyJump: Ansible goes direct
    return jump if jump is not None else (None, None)


_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$"
)
_USER_RE = re.compile(r"^[^\s\x00-\x1f\x7f@:/]{1,128}$")


def valid_address(text: Any) -> bool:
    """A host name or an IP literal: no whitespace, no control characters, no leading ``-``
    (an address is data, never an option or a line of a file)."""
    if not isinstance(text, str) or not text or text.startswith("-"):
        return False
    if _HOSTNAME_RE.match(text):
        return True
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def valid_user(text: Any) -> bool:
    return isinstance(text, str) and bool(_USER_RE.match(text)) and not text.startswith("-")
