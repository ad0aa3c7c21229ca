"""Networks and network devices: what the scanner finds and asks from its own side.

Two units of work, both giving records in the shape of a host record (facts, fact_errors,
sections with the raw output as evidence), so that evaluate.py judges them with ordinary rules:

* :func:`scan_network`: one nmap run over one ``networks`` entry of the inventory (discovery and
  exposure, probes/net/nmap.py). Its record is named ``network:<name>``, platform ``segment``,
  transport ``nmap``; rules ``applies_to: {platforms: [segment]}`` judge it. :func:`scan_networks`
  runs every network (one nmap run each, never one per host), only when a selected rule needs
  ``net.nmap``.
* :func:`collect_device`: one network device, over SNMP (``transport: snmp``: identity and
  firmware, ``snmp.system``) or over SSH in "cli" mode (``platform: network`` and a ``device``:
  the read-only commands that the device's module in probes/netos/ declares, found by
  discovery, :func:`probes.netos.readers`), plus the default-community probe
  (``snmp.community``, unless ``check_default_community: false``) and the firmware's lifecycle
  (``net.firmware``, from the lifecycle catalogue). scanner/engine/collect.py hands such hosts
  here.

A new network OS read over SSH is a new module in probes/netos/ (its ``DEVICES``, ``COMMANDS``,
parser), and a new SNMP section of fixed OIDs a new module in probes/snmp/ (its ``SNMP``
queries, probes.snmp.queries): nothing here changes. nmap, the steps of ``snmp.system`` and the
firmware lookup stay queries of this module and its transports (docs/architecture.md, "Where a
change goes", says which scanner-side changes are probes-only and why).

Scope: :class:`Scope` refuses any target that is not inside a declared network and is not an
inventory host's address; nmap gets nothing else. Devices are inventory hosts, so their
address is in scope by definition.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import json
import os
import socket
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from probes import netos, sections
from probes import snmp as snmp_sections
from probes.base import RawSection
from scanner import clock
from scanner.engine.options import Options
from scanner.engine.records import (
    CONNECTION,
    error_kind,
    fact_basis,
    host_stub,
    new_record,
    record_connection,
    section_record,
)
from scanner.engine.transports import INTERRUPTED, one_line, ssh
from scanner.engine.transports import nmap as nmap_transport
from scanner.engine.transports import snmp as snmp_transport
from scanner.errors import AuthError, CollectError, HostKeyError, UsageError
from scanner.inventory import Host, Inventory
from scanner.lifecycle import firmware
from scanner.result import HostRecord, NetworkRecord
from scanner.rules.baselines import Rule

NMAP_SECTION = "net.nmap"
FIRMWARE_SECTION = "net.firmware"
SYSTEM_SECTION = "snmp.system"
COMMUNITY_SECTION = "snmp.community"
# which netos section reads a device over SSH, and its commands: declared by the section's own
# module (DEVICES, COMMANDS) and found by discovery, probes.netos.readers()
SEGMENT_PLATFORM = "segment"
RECORD_PREFIX = "network:"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Scope:
    """What the scanner may send packets to: the declared networks and the inventory's hosts."""

    def __init__(self, inventory: Inventory) -> None:
        self.networks = [
            ipaddress.ip_network(n["cidr"], strict=False) for n in inventory.networks
            if n.get("cidr")
        ]
        self.addresses = {h.address.lower() for h in inventory.hosts}

    def check(self, target: str) -> None:
        """Return quietly when ``target`` (an address or a CIDR) is in scope, else raise
        UsageError saying why it was refused."""
        t = target.strip().lower()
        if t in self.addresses:
            return
        try:
            net = ipaddress.ip_network(t, strict=False)
        except ValueError:
            raise UsageError(
                f"refused to scan {target!r}: not an address or network of the inventory "
                "(scan only what a networks entry declares or a host names)"
            ) from None
        for declared in self.networks:
            if net.version == declared.version and net.subnet_of(declared):  # type: ignore[arg-type]
                return
        raise UsageError(
            f"refused to scan {target}: it is outside every declared network "
            f"({', '.join(map(str, self.networks)) or 'none declared'}) and names no inventory "
            "host"
        )


def is_device(host: Host) -> bool:
    """Whether the host is a network device collected here rather than by a batch."""
    if host.transport == "snmp":
        return True
    return (host.transport == "ssh" and host.platform == "network"
            and host.device in netos.readers())


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _record_section(
    rec: HostRecord,
    name: str,
    stdout: str,
    collected: datetime,
    opts: Options,
    config: dict[str, Any] | None = None,
    problem: str | None = None,
    stderr: str = "",
) -> None:
    """Parse one scanner-side section into the record (its facts, errors and evidence)."""
    section = sections()[name]
    data = stdout.encode("utf-8")
    srec = section_record(collected, stdout[: opts.excerpt], stderr[: opts.excerpt // 4],
                          raw=data, script_sha256=_sha(section.script))
    facts, errors = rec["facts"], rec["fact_errors"]
    if problem is None:
        try:
            parsed = section.parse(RawSection(name=name, stdout=stdout, stderr=stderr,
                                              collected_at=collected, config=config or {}))
        except Exception as e:  # noqa: BLE001 - one failure must not stop the rest
            problem = f"parser failed: {type(e).__name__}: {e}"
        else:
            for k, v in parsed.values.items():
                facts[k] = v
                errors.pop(k, None)
            if parsed.basis:
                rec.setdefault("fact_basis", {}).update(fact_basis(parsed.basis))
            for k, why in parsed.errors.items():
                if k not in facts:
                    errors[k] = why
    if problem is not None:
        srec["status"] = "error"
        srec["error"] = problem = one_line(problem)
        for f in section.provides:
            if f not in facts:
                errors.setdefault(f, problem)
    rec["sections"][name] = srec


def _firmware(rec: HostRecord, collected: datetime, opts: Options) -> None:
    """The device's firmware against the lifecycle catalogue (section net.firmware)."""
    try:
        doc = firmware.device_lookup(rec["facts"], rec["fact_errors"], opts.lifecycle_local)
    except Exception as e:  # noqa: BLE001 - an unusable catalogue is this section's error only
        _record_section(rec, FIRMWARE_SECTION, "", collected, opts,
                        problem=f"lifecycle catalogue unusable: {e}")
        return
    _record_section(rec, FIRMWARE_SECTION, json.dumps(doc, indent=1, sort_keys=True), collected,
                    opts, config={"max_catalogue_age_days": opts.max_catalogue_age_days})


_R = TypeVar("_R", HostRecord, NetworkRecord)


def _finish(rec: _R, t0: float) -> _R:
    rec["finished_at"] = _iso(clock.now())
    rec["duration_ms"] = int((time.monotonic() - t0) * 1000)
    return rec


def collect_device(
    host: Host,
    opts: Options,
    connector: ssh.Connector | None = None,
    secret: Callable[[str], str | None] = os.environ.get,
) -> HostRecord:
    """Collect one network device (never raises): identity and firmware over SNMP or the
    device's read-only commands over SSH, the default-community probe, and the firmware's
    lifecycle."""
    rec = host_stub(host)
    rec["platform"] = host.platform or "network"
    t0 = time.monotonic()
    started = clock.now()
    rec["started_at"] = _iso(started)
    deadline = t0 + (host.timeout or opts.timeout)
    probe = host.check_default_community is not False
    sopts = snmp_transport.Options(timeout=min(2.0, host.connect_timeout or opts.connect_timeout))
    try:
        if host.transport == "snmp":
            declared = snmp_sections.queries()
            result = snmp_transport.query(host, sopts, probe, secret, sections=declared)
            rec["connection"] = result.connection
            collected = clock.now()
            record_connection(rec, {"transport": "snmp"}, collected)
            if not result.answered:
                rec["error"] = one_line(result.error)
                rec["error_kind"] = error_kind(result.error_kind)
                _record_section(rec, SYSTEM_SECTION, result.system, collected, opts,
                                problem=result.error)
                for name in declared:
                    _record_section(rec, name, "", collected, opts, problem=result.error)
                return _finish(rec, t0)
            rec["reachable"] = True
            _record_section(rec, SYSTEM_SECTION, result.system, collected, opts)
            for name in declared:
                _record_section(rec, name, result.sections.get(name, ""), collected, opts,
                                problem=None if name in result.sections else "not asked")
            community = result.community
        else:
            if connector is None:
                raise CollectError("internal: SSH device without a connector")
            reader = netos.readers().get(str(host.device))
            if reader is None:
                raise CollectError(f"device {host.device} is read by no probes/netos module")
            s_opts = ssh.Options(connect_timeout=host.connect_timeout or opts.connect_timeout,
                                 cap=opts.cap, total_cap=opts.total_cap)
            out, err, info = ssh.run_commands(host, dict(reader.commands), deadline, connector,
                                              s_opts)
            collected = clock.now()
            rec["reachable"] = True
            rec["connection"] = info
            _record_connection_ssh(rec, info, collected)
            _record_section(rec, reader.section, out, collected, opts, stderr=err,
                            config={"device": host.device})
            community = (snmp_transport.probe_default_communities(host.address, 161, sopts)
                         if probe else None)
    except HostKeyError as e:
        rec["error"], rec["error_kind"] = one_line(e), error_kind(e.kind)
        rec["connection"] = {"transport": "ssh", "host_key": {"fingerprint": e.fingerprint,
                                                              "changed": e.changed}}
        record_connection(rec, {"transport": "ssh",
                                 "host_key": "changed" if e.changed else "unknown",
                                 "host_key_fingerprint": e.fingerprint},
                           clock.now())
        return _finish(rec, t0)
    except (CollectError, AuthError) as e:
        rec["error"], rec["error_kind"] = one_line(e), error_kind(e.kind)
        return _finish(rec, t0)
    except Exception as e:  # noqa: BLE001 - one failure must not stop the rest
        rec["error"] = one_line(
            f"unexpected error talking to the device: {type(e).__name__}: {e}")
        rec["error_kind"] = "error"
        return _finish(rec, t0)
    text = community if community is not None else (
        "@@block skipped\ncheck_default_community is false for this host\n@@rc 0\n")
    _record_section(rec, COMMUNITY_SECTION, text, collected, opts)
    _firmware(rec, collected, opts)
    return _finish(rec, t0)


def _record_connection_ssh(rec: HostRecord, info: dict[str, Any], when: datetime) -> None:
    key = info.get("host_key") or {}
    record_connection(rec, {
        "transport": "ssh",
        "host_key": "accepted-on-first-use" if key.get("accepted_on_first_use") else "verified",
        "host_key_type": key.get("type"),
        "host_key_fingerprint": key.get("fingerprint"),
    }, when)


# -- networks ------------------------------------------------------------------------------


def _addresses(hosts: Iterable[Host]) -> dict[str, str]:
    """{IP address: host name} of the inventory's hosts (names resolved where they are names)."""
    out: dict[str, str] = {}
    for h in hosts:
        try:
            ipaddress.ip_address(h.address)
            out.setdefault(h.address, h.name)
        except ValueError:
            try:
                infos = socket.getaddrinfo(h.address, None, proto=socket.IPPROTO_TCP)
            except OSError:
                continue
            for info in infos:
                out.setdefault(str(info[4][0]), h.name)
    return out


def local_addresses() -> list[str]:
    """This scanner's own addresses (in its network namespace), read from the kernel without
    sending anything: nmap marks them ``localhost-response`` only when it runs as root, and they
    must never count as unmanaged devices."""
    out: list[str] = []
    try:
        lines = Path("/proc/net/fib_trie").read_text(encoding="ascii").splitlines()
    except OSError:
        lines = []
    for prev, line in itertools.pairwise(lines):
        if line.strip() == "/32 host LOCAL" and prev.strip().startswith("|-- "):
            out.append(prev.strip()[4:])
    try:
        for line in Path("/proc/net/if_inet6").read_text(encoding="ascii").splitlines():
            raw = line.split()[0]
            out.append(str(ipaddress.ip_address(bytes.fromhex(raw))))
    except (OSError, ValueError, IndexError):
        pass
    return sorted(set(out))


def network_stub(network: dict[str, Any]) -> NetworkRecord:
    """A declared network's record before nmap runs: a host record with the network entry."""
    return {**new_record(RECORD_PREFIX + network["name"], network["cidr"], "nmap",
                         SEGMENT_PLATFORM, roles=[], groups=[], owner=None),
            "network": dict(network)}


def scan_network(
    network: dict[str, Any],
    inventory: Inventory,
    opts: Options,
    scope: Scope | None = None,
    is_privileged: bool | None = None,
    addresses: dict[str, str] | None = None,
) -> NetworkRecord:
    """One nmap run over one declared network, as a record (never raises but for a target out
    of scope, which is refused before anything is sent)."""
    scope = scope or Scope(inventory)
    rec = network_stub(network)
    t0 = time.monotonic()
    rec["started_at"] = _iso(clock.now())
    timeout = max(opts.timeout, 300.0)
    run = nmap_transport.run(network["cidr"], network, scope.check, timeout, is_privileged,
                             cancel=opts.cancel)
    collected = clock.now()
    rec["connection"] = {"transport": "nmap", "privileged": run.privileged,
                         "udp_scanned": run.udp_scanned, "args": run.args}
    record_connection(rec, {"transport": "nmap"}, collected)
    config = {
        "network": network,
        "hosts": addresses if addresses is not None else _addresses(inventory.hosts),
        "udp_scanned": run.udp_scanned,
        "ports_scanned": run.ports_scanned,
        "scanner_addresses": local_addresses(),
    }
    if run.error:
        rec["error"], rec["error_kind"] = one_line(run.error), "error"
        _record_section(rec, NMAP_SECTION, run.xml, collected, opts, config, problem=run.error,
                        stderr=" ".join(run.args))
        return _finish(rec, t0)
    rec["reachable"] = True
    _record_section(rec, NMAP_SECTION, run.xml, collected, opts, config,
                    stderr=" ".join(run.args))
    return _finish(rec, t0)


def wanted(rules: Iterable[Rule]) -> bool:
    """Whether any selected rule judges networks (requires net.nmap)."""
    return any(NMAP_SECTION in r.requires for r in rules)


def scan_networks(
    inventory: Inventory,
    rules: list[Rule],
    opts: Options,
    on_record: Callable[[NetworkRecord], None] | None = None,
) -> list[NetworkRecord]:
    """The network phase of a scan: one nmap run per declared network, in order, each record
    handed to ``on_record`` as it lands. Nothing runs when no network is declared or no selected
    rule needs one."""
    if not inventory.networks or not wanted(rules):
        return []
    scope = Scope(inventory)
    addresses = _addresses(inventory.hosts)
    records: list[NetworkRecord] = []
    cancel = opts.cancel
    for network in inventory.networks:
        rec = None if cancel is not None and cancel.is_set() else scan_network(
            network, inventory, opts, scope, addresses=addresses)
        if rec is None or (cancel is not None and cancel.is_set() and rec.get("error")):
            # interrupted (its nmap killed): reported as not scanned, never recorded
            rec = network_stub(network)
            rec["error"], rec["error_kind"] = f"not scanned: {INTERRUPTED}", "interrupted"
            records.append(rec)
            continue
        records.append(rec)
        if on_record is not None:
            on_record(rec)
    return records


__all__ = [
    "CONNECTION",
    "Scope",
    "collect_device",
    "is_device",
    "scan_network",
    "scan_networks",
]
