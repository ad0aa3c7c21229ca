"""The nmap transport (the nmap binary, its XML on standard output): one run over one declared
network.

What every run does, whatever the caller asks:

* ``-n``: never reverse-resolve. In an isolated or DNS-less network nmap's parallel resolver
  retries an unreachable nameserver and a /24 takes minutes instead of seconds
  (shared/reference/test-estate.md §2.9: 289 s without, 3 s with).
* ``-sS`` (SYN) when this process may open raw sockets (root), else ``-sT`` (connect): an
  unprivileged scan works, only slower and without ARP discovery or MAC addresses.
* ``-sU`` for the UDP ports (161, SNMP, by default) only when privileged; unprivileged runs say
  so (``udp_scanned`` false) and rules that need UDP give an error, never a pass.
* ``--max-rate`` from the network's ``rate``; ``-sV`` only where the network asks for service
  versions; ``-oX -``: the XML report is the raw output, parsed by probes/net/nmap.py.

A target is refused before nmap starts unless the caller's scope allows it
(scanner/engine/network.py:
inside a declared network, or an inventory host's address): this module never scans an address
it was not given leave to.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner.engine.transports import INTERRUPTED

#: how often a running nmap is checked for an interruption, in seconds
POLL_S = 0.2

#: TCP ports scanned on every network unless its entry says more: the admin interfaces and
#: risky services of shared/reference/cyber-essentials.md (FW7) and the common services around
#: them, so that exposure and unmanaged devices are seen without a full port scan
DEFAULT_TCP_PORTS: tuple[int, ...] = (
    21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 389, 443, 445, 636, 993, 995, 1433, 1723,
    3306, 3389, 4444, 5432, 5900, 8080, 8291, 8443, 8728, 8729, 10443,
)  # fmt: skip
DEFAULT_UDP_PORTS: tuple[int, ...] = (161,)


@dataclass
class Run:
    """One nmap run: its XML report, what was asked, and whether it worked."""

    target: str
    args: list[str]
    xml: str = ""
    privileged: bool = False
    udp_scanned: bool = False
    ports_scanned: list[str] = field(default_factory=list)
    error: str | None = None
    started: float = 0.0
    duration: float = 0.0


CAP_NET_RAW = 13  # linux/capability.h


def privileged() -> bool:
    """Whether nmap run from here may use raw sockets (SYN and UDP scans, ARP discovery): root,
    or ``CAP_NET_RAW`` in this process's effective set (a scheduled unit grants it, ambient, to
    its dedicated user; scanner/ops/schedule.py)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return True
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_NET_RAW & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def ports(network: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(TCP, UDP) ports to scan on a network: the defaults, its ``ports`` and the ports its
    ``allowed_ports`` name (so an allowed port is seen open or not)."""
    tcp, udp = set(DEFAULT_TCP_PORTS), set(DEFAULT_UDP_PORTS)
    specs = list(network.get("ports") or []) + [a["port"] for a in network.get("allowed_ports")
                                                or []]
    for spec in specs:
        number, _, proto = str(spec).partition("/")
        (udp if proto == "udp" else tcp).add(int(number))
    return sorted(tcp), sorted(udp)


def arguments(
    network: dict[str, Any], is_privileged: bool, timeout: float
) -> tuple[list[str], str, list[str], bool]:
    """(nmap arguments, the -p port list, ports scanned as ``N/proto``, whether UDP is
    scanned) for one network."""
    tcp, udp = ports(network)
    args = ["-n", "-sS" if is_privileged else "-sT"]
    if is_privileged and hasattr(os, "geteuid") and os.geteuid() != 0:
        args.append("--privileged")  # not root, but CAP_NET_RAW: nmap would not assume it
    scan_udp = is_privileged and bool(udp)
    if scan_udp:
        args.append("-sU")
    if network.get("rate"):
        args += ["--max-rate", f"{float(network['rate']):g}"]
    if network.get("service_versions"):
        args += ["-sV", "--version-light"]
    args += ["--host-timeout", f"{max(5, int(timeout))}s", "--reason"]
    portlist = "T:" + ",".join(map(str, tcp))
    if scan_udp:
        portlist += ",U:" + ",".join(map(str, udp))
    scanned = [f"{p}/tcp" for p in tcp] + ([f"{p}/udp" for p in udp] if scan_udp else [])
    return args, portlist, scanned, scan_udp


def run(
    target: str,
    network: dict[str, Any],
    allowed: Callable[[str], None],
    timeout: float = 600.0,
    is_privileged: bool | None = None,
    nmap_path: Sequence[str] = ("nmap",),
    cancel: threading.Event | None = None,
) -> Run:
    """Scan ``target`` (a declared network's CIDR) once. ``allowed(target)`` must accept it
    (it raises when the target is outside the inventory's scope); nothing is sent otherwise.
    Errors of the run (nmap missing, timed out, failed, interrupted) are in ``Run.error``.

    nmap runs in a session (process group) of its own, started here rather than through
    python-nmap (no longer a dependency), which hid its process: when ``cancel`` is set (a
    signal stopped the scan) or the time runs out, the whole group is killed within a fraction
    of a second (issue 15)."""
    allowed(target)
    is_priv = privileged() if is_privileged is None else is_privileged
    args, portlist, scanned, scan_udp = arguments(network, is_priv, timeout)
    result = Run(target=target, args=["nmap", "-oX", "-", "-p", portlist, *args, target],
                 privileged=is_priv, udp_scanned=scan_udp, ports_scanned=scanned)
    result.started = time.time()
    t0 = time.monotonic()
    path = shutil.which(nmap_path[0])
    if path is None:
        result.error = f"{nmap_path[0]} is not installed on the scanner (apt install nmap)"
        return result
    try:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, the target checked by allowed()
            [path, *result.args[1:]], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as e:
        result.error = f"nmap could not run: {e}"
        return result
    end = t0 + timeout
    out = err = b""
    try:
        while True:
            if cancel is not None and cancel.is_set():
                result.error = INTERRUPTED
                break
            if time.monotonic() >= end:
                result.error = f"nmap did not finish within {timeout:g}s"
                break
            try:
                out, err = proc.communicate(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                proc.communicate(timeout=5)
    if result.error is None:
        result.xml = out.decode("utf-8", "replace")
        if proc.returncode != 0 or "</nmaprun>" not in result.xml:
            why = err.decode("utf-8", "replace") or f"exit status {proc.returncode}"
            result.error = f"nmap failed: {' '.join(why.split())[:300]}"
    result.duration = time.monotonic() - t0
    return result
