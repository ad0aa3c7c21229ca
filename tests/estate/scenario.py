"""Scenario files: the estate described as data.

A scenario is YAML (or the same structure as a dict)::

    name: functional
    defaults: {...}            # host keys merged into every SSH host (the host's own keys win)
    hosts:
      - name: web01            # [a-z0-9-], also the host's hostname
        roles: [server]
        os: debian12           # debian12 | debian11
        sshd: {profile: hardened, ports: [22, 2222], options: {AllowTcpForwarding: "no"}}
        updates:
          pending: behind-security        # none | behind-security | [openssl, openssh]
          security_release_age_days: 20   # Date: of the security suite's Release the host holds
          point_release_age_days: 45      # Date: of the main suite's Release (null: the host
                                          # lists the security suite only)
        patch_history: [{age_days: 3, packages: [openssl, libssl3], command: unattended-upgrade}]
        reboot_required: {packages: [libssl3], age_days: 2}      # or true / false
        unattended_upgrades: on           # on | off | absent
        accounts:
          - {name: toor, uid: 0}
          - {name: deploy, sudo: nopasswd, authorized_key: true}
          - {name: clientadmin, groups: [sudo], comment: Client admin}
          - {name: leaver, locked: true}
        backup:
          restic: {age_days: 1}           # or ages_days: [30, 1]; shared: true to build it once
          borg: {age_days: 40}
        clamav: {db_age_days: 1}          # or: absent
        firewall: {open: [22, 443], filtered: [80, 445], closed: [3389]}
        inventory: {user: deploy, become: true}   # extra keys for this host's inventory entry
        applications:                     # tests/estate/applications.py: dpkg stanzas of real
          packages: [firefox-esr=140.12.0esr-1~deb12u1]   # packages, a Chromium profile with
          chromium_profile: clientadmin                   # extensions, tarball installs
          tarballs: [{dir: firefox, name: Firefox, version: 115.9.1, disable_updates: true}]
        fault: trickle                    # a hostile or broken host (see faults.py): tarpit,
                                          # stall, trickle, reset, flood, forged-markers,
                                          # escapes, missing-tools, garbage-tools
      - name: sw-core-01
        kind: snmp
        snmp: {sysdescr: "Cisco IOS ...", sysobjectid: .1.3.6.1.4.1.9.1.1208, community: public}
    generate:                  # N more hosts, all alike (benchmarks)
      count: 200
      name: "h{n:03d}"
      host: {...}              # or templates: [{...}, {...}] used in turn
      faulty: {every: 10, faults: [tarpit, stall]}   # every 10th host gets the next fault

An account's ``password: known`` gives it a password made for this run (the estate's truth holds
it, under ``accounts.known_password``), for tests of password logins.

Every age is in days before the moment the estate comes up; the estate records the absolute
dates in each host's truth.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .common import SCENARIO_DIR, EstateError

HOST_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
RESERVED_NAMES = {"scan", "br", "lock", "cache"}

OS_CHOICES = ("debian12", "debian11")
SSHD_PROFILES = ("hardened", "weak")
#: the source packages the frozen repository carries newer versions of
SOURCE_GROUPS = ("openssl", "openssh")
UU_CHOICES = ("on", "off", "absent")
SUDO_CHOICES = ("none", "password", "nopasswd")
CLAM_FORMATS = ("cld", "cud")
#: hostile or broken hosts (implemented in faults.py)
FAULTS = (
    "tarpit", "stall", "trickle", "reset", "flood", "forged-markers", "escapes",
    "missing-tools", "garbage-tools",
)  # fmt: skip


@dataclass
class AccountSpec:
    name: str
    uid: int | None = None
    groups: list[str] = field(default_factory=list)
    sudo: str = "none"
    locked: bool = False
    shell: str = "/bin/bash"
    comment: str = ""
    authorized_key: bool = False
    password: bool | str = False  # True: a password nobody knows; "known": one made for the run


@dataclass
class PatchEvent:
    age_days: float
    packages: list[str] | None
    command: str


@dataclass
class BackupSpec:
    ages_days: list[float]
    shared: bool = False


@dataclass
class ClamSpec:
    db_age_days: float
    fmt: str = "cld"


@dataclass
class FirewallSpec:
    open: list[int]
    filtered: list[int]
    closed: list[int]


@dataclass
class SnmpSpec:
    sysdescr: str
    sysobjectid: str
    sysname: str
    community: str = "public"
    syslocation: str = ""
    syscontact: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class HostSpec:
    name: str
    kind: str = "ssh"
    octet: int | None = None
    roles: list[str] = field(default_factory=lambda: ["server"])
    os: str = "debian12"
    sshd_profile: str = "hardened"
    sshd_ports: list[int] = field(default_factory=lambda: [22])
    sshd_options: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    security_release_age_days: float = 1.0
    point_release_age_days: float | None = 45.0
    patch_history: list[PatchEvent] = field(default_factory=list)
    reboot_required: bool = False
    reboot_packages: list[str] = field(default_factory=list)
    reboot_age_days: float = 0.0
    unattended_upgrades: str = "on"
    accounts: list[AccountSpec] = field(default_factory=list)
    restic: BackupSpec | None = None
    borg: BackupSpec | None = None
    clamav: ClamSpec | None = field(default_factory=lambda: ClamSpec(db_age_days=1.0))
    firewall: FirewallSpec | None = None
    inventory: dict[str, Any] = field(default_factory=dict)
    snmp: SnmpSpec | None = None
    fault: str | None = None
    applications: Any = None  # tests/estate/applications.py: AppsSpec


@dataclass(frozen=True)
class AdvisorySpec:
    """One advisory record of the estate's frozen security repository, written in the Debian
    security tracker's list format (DSA/list, DLA/list), published ``age_days`` before the
    estate comes up."""

    id: str
    package: str
    release: str
    fixed: str
    age_days: float


@dataclass
class Scenario:
    name: str
    hosts: list[HostSpec]
    source: str
    advisories: list[AdvisorySpec] = field(default_factory=list)


def parse_advisories(where: str, value: Any) -> list[AdvisorySpec]:
    if not isinstance(value, list):
        raise _fail(where, "expected a list of advisories")
    out = []
    for i, raw in enumerate(value):
        w = f"{where}[{i}]"
        data = _mapping(w, raw)
        _check_keys(w, data, {"id", "package", "release", "fixed", "age_days"})
        ident = str(data.get("id", ""))
        if not (ident.startswith(("DSA-", "DLA-")) and ident[4:].replace("-", "").isdigit()):
            raise _fail(f"{w}.id", f"expected DSA-NNNN-N or DLA-NNNN-N, got {ident!r}")
        for key in ("package", "release", "fixed"):
            if not isinstance(data.get(key), str) or not data[key] or " " in data[key]:
                raise _fail(f"{w}.{key}", f"expected a word, got {data.get(key)!r}")
        out.append(AdvisorySpec(ident, data["package"], data["release"], data["fixed"],
                                _number(f"{w}.age_days", data.get("age_days"))))
    return out


# ------------------------------------------------------------------------------------------------
# validation helpers


def _fail(where: str, message: str) -> EstateError:
    return EstateError(f"{where}: {message}")


def _check_keys(where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _fail(where, f"unknown key '{key}'{hint}")


def _mapping(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected a mapping, got {type(value).__name__}")
    return value


def _number(where: str, value: Any, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"expected a number of days, got {value!r}")
    if value < minimum:
        raise _fail(where, f"must be >= {minimum:g}, got {value!r}")
    return float(value)


def _port_list(where: str, value: Any) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in value
    ):
        raise _fail(where, f"expected a list of TCP ports, got {value!r}")
    return sorted(set(value))


def _str_list(where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, f"expected a list of strings, got {value!r}")
    return list(value)


def _choice(where: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _fail(where, f"expected one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# ------------------------------------------------------------------------------------------------
# host blocks

SSH_HOST_KEYS = {
    "name", "kind", "octet", "roles", "os", "sshd", "updates", "patch_history",
    "reboot_required", "unattended_upgrades", "accounts", "backup", "clamav", "firewall",
    "inventory", "fault", "applications",
}  # fmt: skip
SNMP_HOST_KEYS = {"name", "kind", "octet", "roles", "snmp"}


def _parse_sshd(where: str, value: Any, spec: HostSpec) -> None:
    data = _mapping(where, value)
    _check_keys(where, data, {"profile", "ports", "options"})
    if "profile" in data:
        spec.sshd_profile = _choice(f"{where}.profile", data["profile"], SSHD_PROFILES)
    if "ports" in data:
        spec.sshd_ports = _port_list(f"{where}.ports", data["ports"])
        if not spec.sshd_ports:
            raise _fail(f"{where}.ports", "at least one port is needed")
    if "options" in data:
        options = _mapping(f"{where}.options", data["options"])
        spec.sshd_options = {str(k): str(v) for k, v in options.items()}


def _parse_updates(where: str, value: Any, spec: HostSpec) -> None:
    data = _mapping(where, value)
    _check_keys(where, data, {"pending", "security_release_age_days", "point_release_age_days"})
    pending = data.get("pending", "none")
    if pending in ("none", None):
        spec.pending = []
    elif pending == "behind-security":
        spec.pending = list(SOURCE_GROUPS)
    elif isinstance(pending, list):
        for group in pending:
            _choice(f"{where}.pending[]", group, SOURCE_GROUPS)
        spec.pending = [g for g in SOURCE_GROUPS if g in pending]
    else:
        raise _fail(
            f"{where}.pending",
            f"expected none, behind-security or a list of {', '.join(SOURCE_GROUPS)};"
            f" got {pending!r}",
        )
    if "security_release_age_days" in data:
        spec.security_release_age_days = _number(
            f"{where}.security_release_age_days", data["security_release_age_days"]
        )
    if "point_release_age_days" in data and data["point_release_age_days"] is None:
        spec.point_release_age_days = None
    elif "point_release_age_days" in data:
        spec.point_release_age_days = _number(
            f"{where}.point_release_age_days", data["point_release_age_days"]
        )


def _parse_patch_history(where: str, value: Any) -> list[PatchEvent]:
    if not isinstance(value, list):
        raise _fail(where, "expected a list of {age_days, packages, command}")
    events = []
    for index, item in enumerate(value):
        item_where = f"{where}[{index}]"
        data = _mapping(item_where, item)
        _check_keys(item_where, data, {"age_days", "packages", "command"})
        if "age_days" not in data:
            raise _fail(item_where, "missing key 'age_days'")
        packages = data.get("packages")
        events.append(
            PatchEvent(
                age_days=_number(f"{item_where}.age_days", data["age_days"]),
                packages=None
                if packages is None
                else _str_list(f"{item_where}.packages", packages),
                command=_choice(
                    f"{item_where}.command",
                    data.get("command", "apt"),
                    ("apt", "unattended-upgrade"),
                ),
            )
        )
    return sorted(events, key=lambda e: -e.age_days)


def _parse_reboot(where: str, value: Any, spec: HostSpec) -> None:
    if isinstance(value, bool):
        spec.reboot_required = value
        spec.reboot_packages = ["libssl3", "linux-image-amd64"] if value else []
        return
    data = _mapping(where, value)
    _check_keys(where, data, {"packages", "age_days"})
    spec.reboot_required = True
    spec.reboot_packages = _str_list(f"{where}.packages", data.get("packages", ["libssl3"]))
    spec.reboot_age_days = _number(f"{where}.age_days", data.get("age_days", 0))


def _parse_accounts(where: str, value: Any) -> list[AccountSpec]:
    if not isinstance(value, list):
        raise _fail(where, "expected a list of accounts")
    accounts = []
    seen: set[str] = set()
    allowed = {
        "name", "uid", "groups", "sudo", "locked", "shell", "comment", "authorized_key", "password",
    }  # fmt: skip
    for index, item in enumerate(value):
        item_where = f"{where}[{index}]"
        data = _mapping(item_where, item)
        _check_keys(item_where, data, allowed)
        name = data.get("name")
        if not isinstance(name, str) or not re.match(r"^[a-z_][a-z0-9_-]{0,30}$", name):
            raise _fail(f"{item_where}.name", f"not a valid user name: {name!r}")
        if name in seen or name == "root":
            raise _fail(f"{item_where}.name", f"duplicate or reserved user name: {name}")
        seen.add(name)
        uid = data.get("uid")
        if uid is not None and (not isinstance(uid, int) or isinstance(uid, bool) or uid < 0):
            raise _fail(f"{item_where}.uid", f"expected a non-negative integer, got {uid!r}")
        accounts.append(
            AccountSpec(
                name=name,
                uid=uid,
                groups=_str_list(f"{item_where}.groups", data.get("groups", [])),
                sudo=_choice(f"{item_where}.sudo", data.get("sudo", "none"), SUDO_CHOICES),
                locked=bool(data.get("locked", False)),
                shell=str(data.get("shell", "/bin/bash")),
                comment=str(data.get("comment", "")),
                authorized_key=bool(data.get("authorized_key", False)),
                password=(
                    "known" if data.get("password") == "known" else bool(data.get("password"))
                ),
            )
        )
    return accounts


def _parse_backup_one(where: str, value: Any) -> BackupSpec | None:
    if value in (None, False, "none"):
        return None
    data = _mapping(where, value)
    _check_keys(where, data, {"age_days", "ages_days", "shared"})
    if "ages_days" in data:
        if not isinstance(data["ages_days"], list) or not data["ages_days"]:
            raise _fail(f"{where}.ages_days", "expected a non-empty list of ages in days")
        ages = [_number(f"{where}.ages_days[]", a) for a in data["ages_days"]]
    elif "age_days" in data:
        ages = [_number(f"{where}.age_days", data["age_days"])]
    else:
        raise _fail(where, "needs age_days or ages_days")
    return BackupSpec(ages_days=sorted(ages, reverse=True), shared=bool(data.get("shared", False)))


def _parse_clamav(where: str, value: Any) -> ClamSpec | None:
    if value in ("absent", None, False):
        return None
    if value in ("present", True):
        return ClamSpec(db_age_days=1.0)
    data = _mapping(where, value)
    _check_keys(where, data, {"db_age_days", "format"})
    return ClamSpec(
        db_age_days=_number(f"{where}.db_age_days", data.get("db_age_days", 1)),
        fmt=_choice(f"{where}.format", data.get("format", "cld"), CLAM_FORMATS),
    )


def _parse_firewall(where: str, value: Any) -> FirewallSpec | None:
    if value in (None, False):
        return None
    data = _mapping(where, value)
    _check_keys(where, data, {"open", "filtered", "closed"})
    spec = FirewallSpec(
        open=_port_list(f"{where}.open", data.get("open", [22])),
        filtered=_port_list(f"{where}.filtered", data.get("filtered", [])),
        closed=_port_list(f"{where}.closed", data.get("closed", [])),
    )
    sets = [set(spec.open), set(spec.filtered), set(spec.closed)]
    if sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2]:
        raise _fail(where, "a port is listed in more than one of open, filtered, closed")
    return spec


def _parse_snmp(where: str, value: Any, name: str) -> SnmpSpec:
    data = _mapping(where, value)
    _check_keys(
        where,
        data,
        {"sysdescr", "sysobjectid", "sysname", "community", "syslocation", "syscontact", "extra"},
    )
    for key in ("sysdescr", "sysobjectid"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise _fail(where, f"missing key '{key}'")
    if not re.match(r"^\.?\d+(\.\d+)+$", data["sysobjectid"]):
        raise _fail(f"{where}.sysobjectid", f"not a numeric OID: {data['sysobjectid']!r}")
    extra: dict[str, list[str]] = {}
    for oid, typed in _mapping(f"{where}.extra", data.get("extra", {})).items():
        if (
            not isinstance(typed, list)
            or len(typed) != 2
            or typed[0] not in ("octet_str", "integer", "object_id")
        ):
            raise _fail(f"{where}.extra.{oid}", "expected [octet_str|integer|object_id, value]")
        extra[str(oid)] = [str(typed[0]), str(typed[1])]
    for key in ("sysdescr", "sysname", "community", "syslocation", "syscontact"):
        if "\n" in str(data.get(key, "")):
            raise _fail(f"{where}.{key}", "must be one line")
    return SnmpSpec(
        sysdescr=data["sysdescr"],
        sysobjectid=data["sysobjectid"],
        sysname=str(data.get("sysname", name)),
        community=str(data.get("community", "public")),
        syslocation=str(data.get("syslocation", "")),
        syscontact=str(data.get("syscontact", "")),
        extra=extra,
    )


def parse_host(where: str, data: Mapping[str, Any]) -> HostSpec:
    name = data.get("name")
    if not isinstance(name, str) or not HOST_NAME_RE.match(name) or name in RESERVED_NAMES:
        raise _fail(f"{where}.name", f"not a valid host name ([a-z0-9-], <= 40): {name!r}")
    where = f"{where} ({name})"
    kind = _choice(f"{where}.kind", data.get("kind", "ssh"), ("ssh", "snmp"))
    spec = HostSpec(name=name, kind=kind)
    _check_keys(where, data, SSH_HOST_KEYS if kind == "ssh" else SNMP_HOST_KEYS)
    if "octet" in data:
        octet = data["octet"]
        if not isinstance(octet, int) or isinstance(octet, bool) or not 3 <= octet <= 254:
            raise _fail(f"{where}.octet", f"expected 3..254, got {octet!r}")
        spec.octet = octet
    spec.roles = _str_list(
        f"{where}.roles", data.get("roles", ["server"] if kind == "ssh" else ["network"])
    )
    if kind == "snmp":
        if "snmp" not in data:
            raise _fail(where, "an snmp device needs an 'snmp' block")
        spec.snmp = _parse_snmp(f"{where}.snmp", data["snmp"], name)
        spec.clamav = None
        spec.sshd_ports = []
        return spec
    spec.os = _choice(f"{where}.os", data.get("os", "debian12"), OS_CHOICES)
    if "sshd" in data:
        _parse_sshd(f"{where}.sshd", data["sshd"], spec)
    if "updates" in data:
        _parse_updates(f"{where}.updates", data["updates"], spec)
    if "patch_history" in data:
        spec.patch_history = _parse_patch_history(f"{where}.patch_history", data["patch_history"])
    if "reboot_required" in data:
        _parse_reboot(f"{where}.reboot_required", data["reboot_required"], spec)
    if "unattended_upgrades" in data:
        value = data["unattended_upgrades"]
        if isinstance(value, bool):  # YAML reads a bare on/off as a boolean
            value = "on" if value else "off"
        spec.unattended_upgrades = _choice(f"{where}.unattended_upgrades", value, UU_CHOICES)
    if "accounts" in data:
        spec.accounts = _parse_accounts(f"{where}.accounts", data["accounts"])
    if "backup" in data:
        backup = _mapping(f"{where}.backup", data["backup"] or {})
        _check_keys(f"{where}.backup", backup, {"restic", "borg"})
        spec.restic = _parse_backup_one(f"{where}.backup.restic", backup.get("restic"))
        spec.borg = _parse_backup_one(f"{where}.backup.borg", backup.get("borg"))
    if "clamav" in data:
        spec.clamav = _parse_clamav(f"{where}.clamav", data["clamav"])
    if "firewall" in data:
        spec.firewall = _parse_firewall(f"{where}.firewall", data["firewall"])
    if "inventory" in data:
        spec.inventory = dict(_mapping(f"{where}.inventory", data["inventory"]))
    if "applications" in data:
        from . import applications

        spec.applications = applications.parse(f"{where}.applications", data["applications"])
    if data.get("fault") not in (None, "none"):
        spec.fault = _choice(f"{where}.fault", data["fault"], FAULTS)
    if spec.firewall is not None:
        listening = set(spec.sshd_ports) | set(spec.firewall.open) | set(spec.firewall.filtered)
        spec.sshd_ports = sorted(listening)
        if not set(spec.firewall.open) & set(spec.sshd_ports):
            raise _fail(f"{where}.firewall", "at least one open port must be an sshd port")
    return spec


# ------------------------------------------------------------------------------------------------
# whole scenario


def _generated(where: str, value: Any) -> list[dict[str, Any]]:
    data = _mapping(where, value)
    _check_keys(where, data, {"count", "name", "start", "host", "templates", "faulty"})
    count = data.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 240:
        raise _fail(f"{where}.count", f"expected 0..240, got {count!r}")
    pattern = str(data.get("name", "h{n:03d}"))
    start = data.get("start", 1)
    if not isinstance(start, int):
        raise _fail(f"{where}.start", f"expected an integer, got {start!r}")
    if "templates" in data:
        templates = data["templates"]
        if not isinstance(templates, list) or not templates:
            raise _fail(f"{where}.templates", "expected a non-empty list of host blocks")
    else:
        templates = [data.get("host", {})]
    every, faults = 0, []
    if data.get("faulty") is not None:
        faulty = _mapping(f"{where}.faulty", data["faulty"])
        _check_keys(f"{where}.faulty", faulty, {"every", "faults"})
        every = faulty.get("every", 10)
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise _fail(f"{where}.faulty.every", f"expected a whole number >= 1, got {every!r}")
        faults = [
            _choice(f"{where}.faulty.faults[]", f, FAULTS)
            for f in _str_list(f"{where}.faulty.faults", faulty.get("faults", list(FAULTS)))
        ]
        if not faults:
            raise _fail(f"{where}.faulty.faults", "expected at least one fault")
    hosts = []
    for index in range(count):
        template = dict(
            _mapping(
                f"{where}.templates[{index % len(templates)}]", templates[index % len(templates)]
            )
        )
        if "name" in template:
            raise _fail(f"{where}", "a generated host template may not set 'name'")
        if faults and (index + 1) % every == 0:
            template["fault"] = faults[((index + 1) // every - 1) % len(faults)]
        try:
            template["name"] = pattern.format(n=start + index)
        except (KeyError, IndexError, ValueError) as exc:
            raise _fail(f"{where}.name", f"bad pattern {pattern!r}: {exc}") from exc
        hosts.append(template)
    return hosts


def parse_scenario(data: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    data = _mapping(source, data)
    _check_keys(source, data, {"name", "description", "defaults", "hosts", "generate",
                               "advisories"})
    defaults = dict(_mapping(f"{source}: defaults", data.get("defaults") or {}))
    if "name" in defaults:
        raise _fail(f"{source}: defaults", "defaults may not set 'name'")
    raw_hosts = data.get("hosts") or []
    if not isinstance(raw_hosts, list):
        raise _fail(f"{source}: hosts", "expected a list of hosts")
    entries: list[tuple[str, Mapping[str, Any]]] = [
        (f"{source}: hosts[{i}]", _mapping(f"{source}: hosts[{i}]", h))
        for i, h in enumerate(raw_hosts)
    ]
    if "generate" in data:
        entries += [
            (f"{source}: generate[{i}]", h)
            for i, h in enumerate(_generated(f"{source}: generate", data["generate"]))
        ]
    hosts: list[HostSpec] = []
    names: set[str] = set()
    octets: set[int] = set()
    for where, raw in entries:
        merged = dict(raw)
        if raw.get("kind", "ssh") == "ssh":
            merged = _deep_merge(defaults, raw)
        spec = parse_host(where, merged)
        if spec.name in names:
            raise _fail(where, f"duplicate host name {spec.name}")
        names.add(spec.name)
        if spec.octet is not None:
            if spec.octet in octets:
                raise _fail(where, f"duplicate octet {spec.octet}")
            octets.add(spec.octet)
        hosts.append(spec)
    if not hosts:
        raise _fail(source, "the scenario has no hosts")
    free = [o for o in range(11, 255) if o not in octets]
    needed = sum(1 for h in hosts if h.octet is None)
    if needed > len(free):
        raise _fail(source, f"{len(hosts)} hosts do not fit in one /24 (at most 240)")
    it = iter(free)
    for spec in hosts:
        if spec.octet is None:
            spec.octet = next(it)
    default_name = "adhoc" if source == "<dict>" else Path(source).stem
    advisories = parse_advisories(f"{source}: advisories", data.get("advisories") or [])
    return Scenario(name=str(data.get("name", default_name)), hosts=hosts, source=source,
                    advisories=advisories)


def load_scenario(scenario: str | Path | Mapping[str, Any]) -> Scenario:
    """A scenario from a path, a bare name under ``tests/estate/scenarios``, or a dict."""
    if isinstance(scenario, Mapping):
        return parse_scenario(scenario)
    path = Path(scenario)
    if not path.exists() and not path.suffix:
        candidate = SCENARIO_DIR / f"{scenario}.yaml"
        if candidate.exists():
            path = candidate
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EstateError(f"{path}: cannot read scenario: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EstateError(f"{path}: not valid YAML: {exc}") from exc
    return parse_scenario(data or {}, source=str(path))


def generated_scenario(
    count: int,
    template: Mapping[str, Any] | None = None,
    faulty: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The benchmark scenario: ``count`` alike hosts (``scenarios/bench.yaml`` with a new count).

    ``faulty`` (``{every: 10, faults: [...]}``) makes every n-th host hostile or broken, the
    faults taken in turn (the load test: 10% faulty)."""
    data = yaml.safe_load((SCENARIO_DIR / "bench.yaml").read_text(encoding="utf-8"))
    data["generate"]["count"] = count
    if template is not None:
        data["generate"]["host"] = dict(template)
    if faulty is not None:
        data["generate"]["faulty"] = dict(faulty)
    return dict(data)
