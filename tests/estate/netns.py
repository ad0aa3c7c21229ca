"""Network namespaces, the bridge, processes and readiness: the low-level part of the estate.

Safety: the bridge gets no address, no namespace gets a default route, and while an estate
exists the root namespace holds ``unreachable <subnet>`` (without it, a connection from the root
namespace to an estate address leaves by the default route: this was seen happen). Sockets to
estate addresses are only ever opened inside the scanner namespace (:func:`in_netns`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from .common import EstateError, pid_alive, process_start_time, run

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
T = TypeVar("T")

_libc = ctypes.CDLL(None, use_errno=True)


# ------------------------------------------------------------------------------------------------
# names


@dataclass(frozen=True)
class Names:
    run_id: int

    @property
    def prefix(self) -> str:
        return f"ue{self.run_id}"

    @property
    def bridge(self) -> str:
        return f"ue{self.run_id}br"

    @property
    def subnet(self) -> str:
        return f"10.213.{self.run_id}.0/24"

    def address(self, octet: int) -> str:
        return f"10.213.{self.run_id}.{octet}"

    def netns(self, name: str) -> str:
        return f"ue{self.run_id}-{name}"

    def veth(self, index: int) -> str:
        name = f"ue{self.run_id}v{index}"
        assert len(name) <= 15
        return name


NETNS_RE = re.compile(r"^ue(\d+)-")
LINK_RE = re.compile(r"^ue(\d+)(?:br|v\d+)$")
ROUTE_RE = re.compile(r"^unreachable 10\.213\.(\d+)\.0/24")


def list_netns() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def list_links() -> list[str]:
    out = run(["ip", "-o", "link", "show"], what="ip link show").stdout
    names = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@", 1)[0])
    return names


def list_unreachable_routes() -> list[str]:
    out = run(["ip", "route", "show", "type", "unreachable"], what="ip route show").stdout
    return [line.split()[1] for line in out.splitlines() if ROUTE_RE.match(line)]


def leftovers(run_id: int | None = None) -> dict[int, dict[str, list[str]]]:
    """Estate namespaces, links and routes present on the machine, by run id."""
    found: dict[int, dict[str, list[str]]] = {}

    def add(k: int, kind: str, name: str) -> None:
        if run_id is None or k == run_id:
            found.setdefault(k, {"netns": [], "links": [], "routes": []})[kind].append(name)

    for name in list_netns():
        if m := NETNS_RE.match(name):
            add(int(m.group(1)), "netns", name)
    for name in list_links():
        if m := LINK_RE.match(name):
            add(int(m.group(1)), "links", name)
    for route in list_unreachable_routes():
        add(int(route.split(".")[2]), "routes", route)
    return found


# ------------------------------------------------------------------------------------------------
# building the network


def ip_batch(lines: Iterable[str], netns: str | None = None, force: bool = False) -> None:
    text = "".join(line + "\n" for line in lines)
    if not text:
        return
    argv = ["ip"]
    if netns:
        argv += ["-n", netns]
    if force:
        argv.append("-force")
    argv += ["-batch", "-"]
    run(argv, input_text=text, what=f"ip -batch{' in ' + netns if netns else ''}", check=not force)


def create_network(names: Names, members: list[tuple[str, str]]) -> list[str]:
    """Bridge, route, and one namespace per member ``(netns, address)``. Returns the veths."""
    root = [
        f"link add {names.bridge} type bridge",
        f"link set {names.bridge} addrgenmode none",
        f"route add unreachable {names.subnet}",
    ]
    veths = []
    for index, (ns, _address) in enumerate(members):
        veth = names.veth(index)
        veths.append(veth)
        root += [
            f"netns add {ns}",
            f"link add {veth} type veth peer name eth0 netns {ns}",
            f"link set {veth} addrgenmode none",
            f"link set {veth} master {names.bridge} up",
        ]
    root.append(f"link set {names.bridge} up")
    ip_batch(root)
    try:
        with open(f"/proc/sys/net/ipv6/conf/{names.bridge}/disable_ipv6", "w") as handle:
            handle.write("1\n")
    except OSError:
        pass
    procs = []
    for ns, address in members:
        text = (
            "link set lo up\n"
            "link set eth0 addrgenmode none\n"
            f"addr add {address}/24 dev eth0\n"
            "link set eth0 up\n"
        )
        proc = subprocess.Popen(
            ["ip", "-n", ns, "-batch", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append((ns, proc, text))
    for _ns, proc, text in procs:
        assert proc.stdin is not None
        proc.stdin.write(text)
        proc.stdin.close()
    errors = []
    for ns, proc, _ in procs:
        assert proc.stderr is not None
        err = proc.stderr.read()
        if proc.wait() != 0:
            errors.append(f"{ns}: {err.strip()}")
        proc.stderr.close()
    if errors:
        raise EstateError("configuring namespaces failed: " + "; ".join(errors[:5]))
    return veths


def destroy_network(run_id: int, netns: Iterable[str], wait: float = 5.0) -> None:
    """Delete the namespaces, bridge and route of one run; wait (bounded) for the veths to go.

    Deleting a namespace takes its veth pair with it, batched by the kernel (deleting 200 veths
    one by one costs ~4 s; 200 namespaces ~0.15 s). Links still there after that (a veth whose
    namespace was already gone) are deleted one by one.
    """
    names = Names(run_id)
    ip_batch([f"netns del {ns}" for ns in netns] + [f"link del {names.bridge}"], force=True)
    deadline = time.monotonic() + wait
    left: dict[str, list[str]] | None = None
    while time.monotonic() < deadline:
        left = leftovers(run_id).get(run_id)
        if not left or not (left["links"] or left["netns"]):
            break
        time.sleep(0.05)
    if left and left["links"]:
        ip_batch([f"link del {link}" for link in left["links"]], force=True)
    while names.subnet in list_unreachable_routes():
        if run(["ip", "route", "del", "unreachable", names.subnet], check=False).returncode != 0:
            break


# ------------------------------------------------------------------------------------------------
# processes


def _pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn(
    argv: list[str], log_path: str, env: dict[str, str] | None = None, owned: bool = True
) -> subprocess.Popen[bytes]:
    """Start a long-lived process in its own session, output to ``log_path``.

    ``owned``: it dies with this (Python) thread's process (PR_SET_PDEATHSIG); detached estates
    (the command line's ``up``) leave it running until ``down``.
    """
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            preexec_fn=_pdeathsig if owned else None,
        )


def kill_pids(pids: Iterable[tuple[int, int | None]], wait: float = 5.0) -> list[int]:
    """SIGKILL each ``(pid, start time)`` still alive (never a PID that was reused); wait for them.

    ``unshare --fork`` ignores SIGTERM; SIGKILL of the outer ``unshare`` makes ``--kill-child``
    kill the host's PID 1, and the kernel then ends its whole PID namespace.
    """
    targets = [(pid, start) for pid, start in pids if pid_alive(pid, start)]
    for pid, _ in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    alive = [pid for pid, start in targets]
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done == pid:
                    alive.remove(pid)
                    continue
            except ChildProcessError:
                pass
            if process_start_time(pid) is None:
                alive.remove(pid)
        if alive:
            time.sleep(0.02)
    return alive


def netns_pids(ns: str) -> list[tuple[int, int | None]]:
    proc = run(["ip", "netns", "pids", ns], check=False)
    pids = []
    for token in proc.stdout.split():
        if token.isdigit():
            pid = int(token)
            pids.append((pid, process_start_time(pid)))
    return pids


# ------------------------------------------------------------------------------------------------
# sockets inside a namespace


def in_netns(ns: str, func: Callable[[], T]) -> T:
    """Run ``func`` in a short-lived thread that has joined network namespace ``ns``.

    Sockets it creates stay in that namespace for their whole life, whichever thread uses them.
    """
    box: dict[str, object] = {}

    def target() -> None:
        try:
            fd = os.open(os.path.join(NETNS_DIR, ns), os.O_RDONLY)
        except OSError as exc:
            box["error"] = EstateError(f"network namespace {ns}: {exc.strerror}")
            return
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                box["error"] = EstateError(f"setns({ns}): {os.strerror(err)}")
                return
        finally:
            os.close(fd)
        try:
            box["value"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{ns}", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def connect(ns: str, address: str, port: int, timeout: float = 5.0) -> socket.socket:
    """A TCP socket connected from namespace ``ns`` (``TCP_NODELAY`` set, blocking)."""

    def make() -> socket.socket:
        sock = socket.create_connection((address, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    return in_netns(ns, make)


def _snmp_get_request(community: str, request_id: int) -> bytes:
    """A minimal SNMPv2c GetRequest for sysDescr.0 (BER by hand, short forms only)."""

    def tlv(tag: int, body: bytes) -> bytes:
        assert len(body) < 128
        return bytes([tag, len(body)]) + body

    oid = bytes([0x2B, 6, 1, 2, 1, 1, 1, 0])  # 1.3.6.1.2.1.1.1.0
    varbind = tlv(0x30, tlv(0x06, oid) + b"\x05\x00")
    pdu = tlv(
        0xA0,
        tlv(0x02, request_id.to_bytes(2, "big"))
        + tlv(0x02, b"\x00")
        + tlv(0x02, b"\x00")
        + tlv(0x30, varbind),
    )
    return tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, community.encode()) + pdu)


@dataclass
class Target:
    name: str
    address: str
    port: int
    kind: str  # "ssh" (TCP banner), "tcp" (connect only: a tarpit) or "snmp" (UDP answer)
    community: str = "public"


def wait_ready(
    ns: str,
    targets: list[Target],
    timeout: float,
    check_dead: Callable[[], list[str]],
) -> None:
    """Wait until every target answers from namespace ``ns``; raise naming those that did not."""

    def loop() -> None:
        deadline = time.monotonic() + timeout
        pending = {t.name: t for t in targets}
        sel = selectors.DefaultSelector()
        inflight: dict[str, tuple[socket.socket, float]] = {}
        retry_at: dict[str, float] = {}
        last_dead_check = 0.0
        try:
            while pending:
                now = time.monotonic()
                if now > deadline:
                    raise EstateError(
                        f"not ready after {timeout:g} s: {', '.join(sorted(pending)[:20])}"
                    )
                if now - last_dead_check > 0.2:
                    last_dead_check = now
                    dead = check_dead()
                    if dead:
                        raise EstateError("host processes exited: " + "; ".join(dead[:5]))
                for name, target in pending.items():
                    if name in inflight or retry_at.get(name, 0.0) > now:
                        continue
                    if target.kind == "ssh":
                        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                        sock.setblocking(False)
                        sock.connect_ex((target.address, target.port))
                        sel.register(sock, selectors.EVENT_READ, name)
                    elif target.kind == "tcp":  # accepts, says nothing (a tarpit)
                        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                        sock.setblocking(False)
                        sock.connect_ex((target.address, target.port))
                        sel.register(sock, selectors.EVENT_WRITE, name)
                    else:
                        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        sock.setblocking(False)
                        sock.sendto(
                            _snmp_get_request(target.community, 4242), (target.address, target.port)
                        )
                        sel.register(sock, selectors.EVENT_READ, name)
                    inflight[name] = (sock, now)
                for key, _ in sel.select(timeout=0.05):
                    name = key.data
                    sock = inflight.pop(name)[0]
                    sel.unregister(sock)
                    if pending[name].kind == "tcp":
                        connected = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                        sock.close()
                        if connected:
                            del pending[name]
                        else:
                            retry_at[name] = time.monotonic() + 0.05
                        continue
                    try:
                        data = sock.recv(512)
                    except OSError:
                        data = b""
                    sock.close()
                    if (pending[name].kind == "ssh" and data.startswith(b"SSH-")) or (
                        pending[name].kind == "snmp" and data
                    ):
                        del pending[name]
                    else:
                        retry_at[name] = time.monotonic() + 0.05
                now = time.monotonic()
                for name, (sock, started) in list(inflight.items()):
                    # no answer in time: try again (UDP gets no refusal while snmpd starts)
                    if now - started > (1.0 if pending[name].kind == "ssh" else 0.1):
                        sel.unregister(sock)
                        sock.close()
                        del inflight[name]
        finally:
            for sock, _ in inflight.values():
                sock.close()
            sel.close()

    in_netns(ns, loop)
