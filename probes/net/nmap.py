"""net.nmap: one nmap run over a declared network, from the scanner side: which addresses answer
(discovery) and which ports are open on them (exposure).

The raw output is nmap's XML report (``-oX -``), kept whole as the evidence. ``RawSection.config``
carries what the inventory declares, so that the parser can tell managed from unmanaged devices
and allowed from unexpected ports without any policy of its own:

``network``
    the normalised ``networks`` entry: name, cidr, internet_facing, allowed_ports
    (``[{port: "443/tcp", reason, hosts}]``), rate, ports, service_versions;
``hosts``
    ``{address: inventory host name}`` for every inventory host;
``udp_scanned``
    whether the run could scan UDP (it needs root);
``ports_scanned``
    the ports asked for (``["22/tcp", ..., "161/udp"]``);
``scanner_addresses``
    the scanner's own addresses (an unprivileged nmap does not mark them).

Facts:

* ``network.*``: the name, cidr and internet_facing flag; ``hosts_up`` and ``addresses`` (every
  address that answered); ``managed`` (``[{address, host}]``); ``unmanaged`` (addresses that
  answered but match no inventory host, with what nmap saw: ``mac``, ``vendor`` where available,
  ``open_ports``, ``reason``); ``unmanaged_count``; ``missing`` (inventory hosts inside the
  network that did not answer); ``scanner_addresses`` (this scanner's own addresses, which nmap
  marks ``localhost-response``; never counted as unmanaged).
* ``exposure.*``: ``open_ports`` (``[{address, host, port, service, product, version}]``, state
  ``open`` only; ``open|filtered`` is not a finding); ``hosts`` (per address that answered:
  ``{address, host, open, closed, filtered, open_filtered}``, each a list of ``N/proto``, the
  ports nmap folds into "extraports" included: named in the report by nmap 7.92 and later, and
  for older reports (a count only) the scanned ports of one protocol not listed otherwise, when
  a group's count matches them and nothing else; otherwise the entry's ``unresolved`` gives each
  group's state and count, never a guess); ``allowed_open`` (open and allowed, with the
  reason); ``unexpected`` (open, not allowed: one line each); ``admin_interfaces`` (the
  unexpected ones that are telnet, SMB, RDP, SNMP or a device admin interface, see
  :data:`ADMIN_PORTS`); ``ports_scanned``; ``udp_scanned``. Without a UDP scan a clean TCP result
  cannot clear SNMP (161/udp): ``unexpected`` and ``admin_interfaces`` are then errors unless
  TCP alone already shows a finding.
* ``nmap.*``: the version, the argument line, the scan types and the elapsed time.

An XML report that is cut off, or one whose run ended in error, gives errors for every fact.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from typing import Any

from probes.base import Facts, RawSection, guard

QUERY = (
    "nmap -n {-sS (root) | -sT} [-sU for 161/udp and UDP ports (root only)] "
    "-p T:<ports>,U:<ports> [--max-rate <rate>] [-sV] -oX - <network cidr>: which addresses of "
    "one declared network answer, and which ports are open on them"
)

PROVIDES = (
    "network.name",
    "network.cidr",
    "network.internet_facing",
    "network.hosts_up",
    "network.addresses",
    "network.managed",
    "network.unmanaged",
    "network.unmanaged_count",
    "network.missing",
    "network.scanner_addresses",
    "exposure.open_ports",
    "exposure.hosts",
    "exposure.allowed_open",
    "exposure.unexpected",
    "exposure.admin_interfaces",
    "exposure.ports_scanned",
    "exposure.udp_scanned",
    "nmap.version",
    "nmap.args",
    "nmap.scan_types",
    "nmap.elapsed_seconds",
)

#: Ports that must never be reachable from an internet-facing network unless allowed with a
#: reason: telnet, SMB, RDP, SNMP, and the admin interfaces of firewalls and routers
#: (shared/reference/cyber-essentials.md, FW7). A classification, not a policy value.
ADMIN_PORTS: dict[str, str] = {
    "22/tcp": "SSH",
    "23/tcp": "telnet",
    "80/tcp": "HTTP (web admin)",
    "139/tcp": "SMB (NetBIOS session)",
    "161/udp": "SNMP",
    "443/tcp": "HTTPS (web admin)",
    "445/tcp": "SMB",
    "3389/tcp": "RDP",
    "4444/tcp": "device admin (4444)",
    "8291/tcp": "MikroTik Winbox",
    "8443/tcp": "HTTPS admin (8443)",
    "8728/tcp": "MikroTik API",
    "8729/tcp": "MikroTik API over TLS",
    "10443/tcp": "FortiGate admin / SSL-VPN (10443)",
}


def _port_line(p: dict[str, Any]) -> str:
    what = p.get("service") or "unknown service"
    detail = " ".join(x for x in (p.get("product"), p.get("version")) if x)
    if detail:
        what += f" {detail}"
    label = ADMIN_PORTS.get(p["port"])
    if label and label.split(" ")[0].lower() not in what.lower():
        what += f"; {label}"
    host = f", host {p['host']}" if p.get("host") else ", not in the inventory"
    return f"{p['address']} {p['port']} ({what}{host})"


def _expand(ports: str, proto: str) -> list[str]:
    """``21,23,8728-8729`` -> ``["21/tcp", "23/tcp", "8728/tcp", "8729/tcp"]``."""
    out: list[str] = []
    for part in ports.split(","):
        a, _, b = part.strip().partition("-")
        if a.isdigit() and (not b or b.isdigit()):
            lo, hi = int(a), int(b or a)
            if hi - lo <= 65535:
                out += [f"{n}/{proto}" for n in range(lo, hi + 1)]
    return out


def _scanned(root: ET.Element, ports_scanned: list[str]) -> dict[str, set[str]]:
    """The ports scanned, by protocol: from the report's own ``scaninfo`` (``services``), else
    from what the scan asked for."""
    out: dict[str, set[str]] = {}
    for info in root.findall("scaninfo"):
        proto = info.get("protocol") or ""
        services = info.get("services") or ""
        if proto and services:
            out.setdefault(proto, set()).update(_expand(services, proto))
    if not out:
        for name in ports_scanned:
            _, _, proto = str(name).partition("/")
            out.setdefault(proto or "tcp", set()).add(str(name))
    return out


def _folded(
    h: ET.Element, by_state: dict[str, list[str]], scanned: dict[str, set[str]]
) -> list[dict[str, Any]]:
    """Put the ports nmap folds into ``extraports`` into ``by_state``. nmap 7.92 and later name
    them (``extrareasons ports=``); older ones (6.x to 7.91) give a count only. Then a group's
    ports are those of one scanned protocol that nothing else names, when that is unambiguous:
    the group's count is the number of such ports of exactly one protocol, and no other group
    has that count. Returns the groups it could not place."""
    listed: set[str] = {
        f"{p.get('portid')}/{p.get('protocol')}" for p in h.findall("ports/port")
    }
    unnamed: list[tuple[str, int]] = []
    for extra in h.findall("ports/extraports"):
        state = str(extra.get("state") or "")
        reasons = extra.findall("extrareasons")
        named = [r for r in reasons if r.get("ports")]
        for folded in named:
            ports = _expand(folded.get("ports") or "", folded.get("proto") or "tcp")
            listed.update(ports)
            if state in by_state:
                by_state[state] += ports
        if not named:
            text = extra.get("count") or ""
            unnamed.append((state, int(text) if text.isdigit() else -1))
    if not unnamed:
        return []
    # the ports of each scanned protocol that nothing else names; a group takes them when its
    # count matches one protocol's and no other group's: the only way to place it without guessing
    rest: dict[str, list[str]] = {}
    for proto, in_scan in scanned.items():
        left = sorted((p for p in in_scan if p not in listed), key=lambda n: int(n.split("/")[0]))
        if left:
            rest[proto] = left
    out: list[dict[str, Any]] = []
    counts = [count for _, count in unnamed]
    for state, count in unnamed:
        fits = [proto for proto, free in rest.items() if len(free) == count]
        if len(fits) == 1 and counts.count(count) == 1 and len(unnamed) <= len(rest):
            if state in by_state:
                by_state[state] += rest[fits[0]]
            continue
        out.append({"state": state, "count": count if count >= 0 else None})
    return out


def _allowed(rule: dict[str, Any], address: str, host: str | None) -> bool:
    hosts = rule.get("hosts") or []
    return not hosts or address in hosts or (host is not None and host in hosts)


def _in_network(address: str, cidr: str | None) -> bool:
    if not cidr:
        return True
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _body(raw: RawSection, f: Facts) -> None:
    config = raw.config
    network = dict(config.get("network") or {})
    inventory_hosts: dict[str, str] = dict(config.get("hosts") or {})
    udp_scanned = bool(config.get("udp_scanned"))
    ports_scanned = list(config.get("ports_scanned") or [])
    own = set(config.get("scanner_addresses") or [])
    f.set("network.name", network.get("name"))
    f.set("network.cidr", network.get("cidr"))
    f.set("network.internet_facing", bool(network.get("internet_facing", False)))
    text = raw.stdout.strip()
    if not text:
        f.error_all(PROVIDES[3:], "nmap gave no output")
        return
    try:
        root = ET.fromstring(text)  # noqa: S314 - nmap's XML report, no entities or DTD used
    except ET.ParseError as e:
        f.error_all(PROVIDES[3:], f"nmap's XML report is incomplete or malformed: {e}")
        return
    finished = root.find("runstats/finished")
    if root.tag != "nmaprun" or finished is None:
        f.error_all(PROVIDES[3:], "nmap's XML report is incomplete (the run did not finish)")
        return
    if finished.get("exit") == "error":
        why = finished.get("errormsg") or "nmap reported an error"
        f.error_all(PROVIDES[3:], f"nmap failed: {why}")
        return
    f.set("nmap.version", root.get("version"))
    f.set("nmap.args", root.get("args"))
    f.set("nmap.scan_types", sorted({f"{s.get('type')}/{s.get('protocol')}"
                                     for s in root.findall("scaninfo")}))
    elapsed = finished.get("elapsed")
    f.set("nmap.elapsed_seconds", float(elapsed) if elapsed else None)

    scanned = _scanned(root, ports_scanned)
    addresses: list[str] = []
    scanner_addresses: list[str] = []
    managed: list[dict[str, Any]] = []
    unmanaged: list[dict[str, Any]] = []
    open_ports: list[dict[str, Any]] = []
    per_host: list[dict[str, Any]] = []
    for h in root.findall("host"):
        status = h.find("status")
        if status is None or status.get("state") != "up":
            continue
        address = None
        mac = vendor = None
        for a in h.findall("address"):
            if a.get("addrtype") in ("ipv4", "ipv6"):
                address = a.get("addr")
            elif a.get("addrtype") == "mac":
                mac, vendor = a.get("addr"), a.get("vendor")
        if address is None:
            continue
        if status.get("reason") == "localhost-response" or address in own:
            scanner_addresses.append(address)
            continue
        addresses.append(address)
        host = inventory_hosts.get(address)
        ports: list[dict[str, Any]] = []
        by_state: dict[str, list[str]] = {"open": [], "closed": [], "filtered": [],
                                          "open|filtered": []}
        unresolved = _folded(h, by_state, scanned)
        for p in h.findall("ports/port"):
            state = p.find("state")
            name = f"{p.get('portid')}/{p.get('protocol')}"
            if state is not None and state.get("state") in by_state:
                by_state[str(state.get("state"))].append(name)
            if state is None or state.get("state") != "open":
                continue
            svc = p.find("service")
            entry = {
                "address": address,
                "host": host,
                "port": f"{p.get('portid')}/{p.get('protocol')}",
                "service": svc.get("name") if svc is not None else None,
                "product": svc.get("product") if svc is not None else None,
                "version": svc.get("version") if svc is not None else None,
            }
            ports.append(entry)
        open_ports.extend(ports)
        entry_host: dict[str, Any] = {
            "address": address, "host": host, "open": by_state["open"],
            "closed": by_state["closed"], "filtered": by_state["filtered"],
            "open_filtered": by_state["open|filtered"],
        }
        if unresolved:
            # counts nmap gave without the port numbers, which this report does not let us
            # place (several folded groups, or counts that do not add up): said, not guessed
            entry_host["unresolved"] = unresolved
        per_host.append(entry_host)
        if host is not None:
            managed.append({"address": address, "host": host})
        else:
            unmanaged.append(
                {
                    "address": address,
                    "mac": mac,
                    "vendor": vendor,
                    "open_ports": [
                        e["port"] + (f" {e['service']}" if e["service"] else "") for e in ports
                    ],
                    "reason": status.get("reason"),
                }
            )
    f.set("network.hosts_up", len(addresses))
    f.set("network.addresses", addresses)
    f.set("network.scanner_addresses", scanner_addresses)
    f.set("network.managed", managed)
    f.set("network.unmanaged", unmanaged)
    f.set("network.unmanaged_count", len(unmanaged))
    up = set(addresses)
    f.set(
        "network.missing",
        sorted(
            name
            for address, name in inventory_hosts.items()
            if _in_network(address, network.get("cidr")) and address not in up
        ),
    )
    f.set("exposure.open_ports", open_ports)
    f.set("exposure.hosts", per_host)
    f.set("exposure.ports_scanned", ports_scanned)
    f.set("exposure.udp_scanned", udp_scanned)
    rules = list(network.get("allowed_ports") or [])
    allowed_open: list[dict[str, Any]] = []
    unexpected: list[str] = []
    admin: list[str] = []
    for op in open_ports:
        ok = next(
            (r for r in rules
             if r["port"] == op["port"] and _allowed(r, op["address"], op["host"])),
            None,
        )
        if ok is not None:
            allowed_open.append({**op, "reason": ok["reason"]})
            continue
        line = _port_line(op)
        unexpected.append(line)
        if op["port"] in ADMIN_PORTS:
            admin.append(line)
    f.set("exposure.allowed_open", allowed_open)
    snmp_unknown = "161/udp (SNMP) was not scanned: UDP scans need root; run the scan as root"
    if udp_scanned or unexpected:
        f.set("exposure.unexpected", unexpected)
    else:
        f.error("exposure.unexpected", snmp_unknown)
    if udp_scanned or admin:
        f.set("exposure.admin_interfaces", admin)
    else:
        f.error("exposure.admin_interfaces", snmp_unknown)


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
