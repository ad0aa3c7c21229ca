"""The inventory: which hosts to scan, how to reach them, and the estate's own settings.

The shape is an Ansible YAML inventory (``all`` → ``vars``, ``children``, ``hosts``; top-level
groups beside ``all`` are its children), so users start from the inventory they already have.
Ansible's connection variables are understood (``ansible_host``, ``ansible_port``,
``ansible_user``, ``ansible_ssh_private_key_file``, ``ansible_connection``, ``ansible_become``,
``-J``/``ProxyJump`` in ``ansible_ssh_common_args``). Beside the groups, undone's own top-level
sections: ``estate``, ``contract``, ``networks``, ``waivers``, ``params``, and ``tenants`` (cloud
tenants, parsed by scanner/inventory/tenants.py).

Validation is strict where undone owns the meaning and tolerant elsewhere: a variable that is
neither undone's nor Ansible's is ignored, unless it is a near miss of an undone key, which is an
error (``prot`` → "did you mean 'port'?"). Secrets are never values: a password is named by the
environment variable that holds it (``password_env``), a key by its file, or the SSH agent is used.
Every problem is one line naming the file, the key path and what was expected.

This module reads the document (its dialect, groups and sections) and builds the
:class:`Inventory`. One host's settings are read in ``hosts.py``; the model is in ``model.py``,
value checks in ``checks.py``, the estate sections in ``sections.py``, the Ansible-shaped walk in
``walk.py`` (host patterns in ``walk_patterns.py``; group_vars/, host_vars/ and the variables'
precedence in ``walk_vars.py``), connection variables in ``connection.py``, reading through
ansible-core in ``via_ansible.py``.
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
from scanner.inventory import walk_vars as _walk_vars
from scanner.inventory.checks import (
    _identity_keys,
    _Problems,
    _resolve,
    _shown,
    _type_name,
    near_miss,
)
from scanner.inventory.connection import Unscannable
from scanner.inventory.hosts import _check_names, _network_device, _settings, _winrm_settings
from scanner.inventory.model import (
    ADMIN_KEYS,
    ALIASES,
    BACKUP_KEYS,
    GROUP_KEYS,
    HOST_KEYS,
    ROLES,
    SECRET_KEYS,
    SECTIONS,
    Contract,
    Host,
    Inventory,
    Waiver,
)

# the package's public names (the model lives in model.py, the checks in checks.py, the estate
# sections in sections.py; hosts, build and load here)
from scanner.inventory.model import ANSIBLE_KEYS as ANSIBLE_KEYS
from scanner.inventory.model import local_inventory as local_inventory
from scanner.inventory.notify import _parse_notify
from scanner.inventory.sections import (
    UNDONE_MARKERS,
    _estate_admins,
    _parse_contract,
    _parse_estate,
    _parse_networks,
    _parse_params,
    _parse_waivers,
)
from scanner.inventory.tenants import parse_tenants
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
    walked, walk_problems = _walk.walk(group_top, near_miss)
    files, file_problems = _walk_vars.read_files(walked, base)
    for where, what in walk_problems + file_problems:
        p.add(where, what)
    raws = [_walk_vars.host_vars(walked, files, name) for name in walked.hosts]
    return build(raws, sections, label, dialect, p, walked)


def build(raws: list[_walk_vars.RawHost], sections: dict[str, Any], label: str, dialect: str,
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
        client = _identity_keys(admins["client_admins"])
        both = set(client.values()) & set(_identity_keys(admins["provider_admins"]).values())
        if both:
            shown = sorted(t for t, k in client.items() if k in both)
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


def _parse_tenants(raw: Any, label: str, raws: list[_walk_vars.RawHost],
                   p: _Problems) -> tuple[Any, ...]:
    """The ``tenants:`` section (scanner/inventory/tenants.py); its problems join the others."""
    if raw is None:
        return ()
    try:
        return parse_tenants(raw, label, {r.name for r in raws})
    except InventoryError as e:
        p.lines.extend(e.problems)
        return ()


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
    alias_of = inv.alias_of()
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
