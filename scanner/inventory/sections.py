"""The estate's own top-level sections beside the hosts: ``waivers``, ``contract``,
``networks``, ``estate``, ``params`` and ``notify`` (where to send word of a change), each
parsed and checked into the model."""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import date, datetime
from typing import Any

from scanner.inventory.checks import (
    _check_identities,
    _check_value,
    _is_ip,
    _parse_date,
    _Problems,
    _resolve,
    _shown,
    _type_name,
    _unknown_key,
    near_miss,
)
from scanner.inventory.model import (
    _CONTROL,
    _HOSTNAME_RE,
    _PORT_RE,
    ADMIN_KEYS,
    ALIASES,
    MAX_CONTRACT_DAYS,
    NETWORK_KEYS,
    SECRET_KEYS,
    Contract,
    Waiver,
)
from scanner.vocab import CONTROLS, OWNERS, SEVERITIES


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


# -- notify: where to send word of a change (scanner/ops/notify.py) ---------------------------

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
