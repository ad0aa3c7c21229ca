"""The estate's own top-level sections beside the hosts: ``waivers``, ``contract``,
``networks``, ``estate`` and ``params``, each parsed and checked into the model (``notify`` is
in notify.py, ``tenants`` in tenants.py)."""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import date, datetime
from typing import Any

from scanner.inventory.checks import (
    _check_identities,
    _parse_date,
    _Problems,
    _shown,
    _type_name,
    _unknown_key,
)
from scanner.inventory.model import (
    _CONTROL,
    _PORT_RE,
    ADMIN_KEYS,
    ALIASES,
    MAX_CONTRACT_DAYS,
    NETWORK_KEYS,
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
            extra = {str(k) for k in a} - {"port", "reason", "hosts"}
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


# undone's short keys that no application names its own variables by: one of them in a file
# without undone's sections marks it as an undone inventory (port, user, role, host, address,
# platform, ... are common application variables, so they mark nothing)
UNDONE_MARKERS = ("password_env", "key_file", "transport", "agent", "known_hosts",
                  "trust_on_first_use", "community_env", "snmp_version", "snmp_user",
                  "winrm_scheme", "winrm_auth", "client_admins", "provider_admins",
                  "site_concurrency", "connect_timeout")
