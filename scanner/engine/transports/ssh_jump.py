"""Jump hosts (bastions) for the SSH transport.

A jump host (``jump: [user@]host[:port]`` or the name of another inventory host) is reached the
same way as any host, and the target through a ``direct-tcpip`` channel on it; one connection per
jump host is shared by every target behind it whose settings for reaching and trusting it are
the same (:func:`jump_key`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import paramiko

from scanner.errors import CollectError, HostKeyError, UnreachableError
from scanner.inventory import Host


def jump_key(h: Host) -> tuple[Any, ...]:
    """Everything that decides how a jump host is reached and trusted: two targets share a
    connection to it only when all of it is the same."""
    return (h.address, h.port, h.user, h.key_file, h.password_env, h.agent, h.known_hosts,
            h.trust_on_first_use, h.connect_timeout)


def jump_host(spec: str, host: Host, by_name: Mapping[str, Host]) -> Host:
    """The jump host of ``host``: an inventory host by name (with its own credentials and
    trust settings), else ``[user@]host[:port]``, reached with the SSH agent and the
    default identity files only: the target's key file and password are never offered to
    it. Its host key is judged by the target's known_hosts settings (and the connection is
    shared only by targets whose settings are the same, :func:`jump_key`)."""
    if spec in by_name:
        return by_name[spec]
    user = host.user
    rest = spec
    if "@" in rest:
        user, rest = rest.rsplit("@", 1)
    port = 22
    addr = rest
    if rest.startswith("["):
        addr, _, tail = rest[1:].partition("]")
        if tail.startswith(":") and tail[1:].isdigit():
            port = int(tail[1:])
    elif rest.count(":") == 1:
        addr, _, p = rest.partition(":")
        if p.isdigit():
            port = int(p)
    return Host(
        name=f"jump:{spec}",
        address=addr,
        port=port,
        user=user,
        agent=True,
        known_hosts=host.known_hosts,
        trust_on_first_use=host.trust_on_first_use,
        connect_timeout=host.connect_timeout,
    )


class Jumps:
    """The jump host connections of one scan, thread-safe: one per :func:`jump_key`, made on
    first use by ``connect`` and kept until :meth:`close`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[tuple[Any, ...], paramiko.SSHClient] = {}
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}

    def transport(self, host: Host, by_name: Mapping[str, Host],
                  connect: Callable[[Host], paramiko.SSHClient]) -> paramiko.Transport:
        """The live connection to ``host``'s jump host, made with ``connect`` (the bastion's
        own connect and authentication) when there is none."""
        if host.jump is None:
            raise CollectError("internal: no jump host")
        jhost = jump_host(host.jump, host, by_name)
        key = jump_key(jhost)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            client = self._clients.get(key)
            t = client.get_transport() if client is not None else None
            if t is None or not t.is_active():
                try:
                    client = connect(jhost)
                except HostKeyError as e:
                    raise e.again(f"jump host {host.jump}: {e}", of=host.jump) from None
                except CollectError as e:
                    raise type(e)(f"jump host {host.jump}: {e}") from None
                self._clients[key] = client
                t = client.get_transport()
            if t is None:
                raise UnreachableError(f"jump host {host.jump}: no transport")
            return t

    def channel(self, host: Host, by_name: Mapping[str, Host],
                connect: Callable[[Host], paramiko.SSHClient], timeout: float) -> Any:
        """A ``direct-tcpip`` channel through ``host``'s jump host to ``host``'s address and
        port: the socket its own SSH connection runs over."""
        transport = self.transport(host, by_name, connect)
        try:
            return transport.open_channel(
                "direct-tcpip", (host.address, host.port), ("127.0.0.1", 0), timeout=timeout
            )
        except (paramiko.SSHException, OSError) as e:
            raise UnreachableError(
                f"jump host {host.jump} could not reach {host.address}:{host.port}: {e}"
            ) from None

    def close(self) -> None:
        with self._lock:
            for c in self._clients.values():
                c.close()
            self._clients.clear()
