"""A small SSH server for tests, on 127.0.0.1, that records what clients offer it.

Built on paramiko's server side. What it records (:class:`Log`): every authentication attempt
(user, method, the password offered or the SHA-256 fingerprint of the key offered), every
``direct-tcpip`` request (a client using it as a jump host) and every command. What it does with
a command (``mode``):

* ``run``: runs ``sh -s`` on this machine with the channel's standard input (the real batch of
  probes, read-only) and streams its output back: a host that finishes.
* ``stall``: accepts the command and never answers (a host that stalls after authentication).
* ``empty``: reads standard input to its end, sends nothing and exits 0.
* ``reply``: answers a command from ``replies`` (``{command: output}``, exit 0), as a network
  device's CLI does; any other command gets ``% Invalid input`` and exit 1.

As a jump host it opens the requested TCP connection (only to 127.0.0.1) and relays both ways.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import paramiko


def fp(key: paramiko.PKey) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


@dataclass
class Log:
    auth: list[tuple[str, str, str]] = field(default_factory=list)  # (user, method, detail)
    forwards: list[tuple[str, int]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    connections: int = 0


class _Iface(paramiko.ServerInterface):
    def __init__(self, srv: SSHServer) -> None:
        self.srv = srv
        self.exec_event = threading.Event()
        self.command = ""

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_password(self, username: str, password: str) -> int:
        self.srv.log.auth.append((username, "password", password))
        if self.srv.passwords.get(username) == password:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        self.srv.log.auth.append((username, "publickey", fp(key)))
        if fp(key) in self.srv.keys.get(username, ()):
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid: int, origin: tuple[str, int],
                                           destination: tuple[str, int]) -> int:
        self.srv.log.forwards.append((destination[0], destination[1]))
        if destination[0] != "127.0.0.1":
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        self.srv.pending_forwards[chanid] = destination
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.command = command.decode("utf-8", "replace")
        self.srv.log.commands.append(self.command)
        threading.Thread(target=self.srv.serve_command, args=(channel, self.command),
                         daemon=True).start()
        return True


class SSHServer:
    def __init__(self, mode: str = "run", passwords: dict[str, str] | None = None,
                 keys: dict[str, list[str]] | None = None,
                 host_key: paramiko.PKey | None = None,
                 replies: dict[str, str] | None = None) -> None:
        self.mode = mode
        self.replies = replies or {}
        self.passwords = passwords or {}
        self.keys = keys or {}
        self.host_key = host_key or _ed25519()
        self.log = Log()
        self.pending_forwards: dict[int, tuple[str, int]] = {}
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._transports: list[paramiko.Transport] = []
        self._procs: list[subprocess.Popen[bytes]] = []

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_key.get_name()} {self.host_key.get_base64()}"

    def serve_forever(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.log.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        t = paramiko.Transport(conn)
        self._transports.append(t)
        t.add_server_key(self.host_key)
        iface = _Iface(self)
        try:
            t.start_server(server=iface)
        except (paramiko.SSHException, EOFError, OSError):
            return
        while t.is_active() and not self._stop.is_set():
            chan = t.accept(0.5)
            if chan is None:
                continue
            dest = self.pending_forwards.pop(chan.get_id(), None)
            if dest is not None:
                threading.Thread(target=_relay, args=(chan, dest), daemon=True).start()

    def serve_command(self, chan: paramiko.Channel, command: str) -> None:
        if self.mode == "stall":
            return  # never answer; the channel stays open until the client goes
        data = b""
        while True:
            chunk = chan.recv(65536)
            if not chunk:
                break
            data += chunk
        if self.mode == "reply":
            known = command in self.replies
            with contextlib.suppress(OSError, EOFError):
                chan.sendall((self.replies[command] if known else "% Invalid input\n").encode())
                chan.send_exit_status(0 if known else 1)
                chan.close()
            return
        if self.mode == "empty":
            chan.send_exit_status(0)
            chan.close()
            return
        proc = subprocess.Popen(["sh", "-s"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        self._procs.append(proc)
        out, err = proc.communicate(data)
        with contextlib.suppress(OSError, EOFError):
            chan.sendall(out)
            chan.sendall_stderr(err)
            chan.send_exit_status(proc.returncode)
            chan.close()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.sock.close()
        for t in self._transports:
            t.close()
        for p in self._procs:
            if p.poll() is None:
                p.kill()


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode()


def _ed25519() -> paramiko.PKey:
    import io

    return paramiko.Ed25519Key.from_private_key(io.StringIO(_pem()))


def key_file(path: Any) -> paramiko.PKey:
    """A new Ed25519 private key written to ``path`` (mode 600), and the key."""
    import os

    with open(path, "w", encoding="ascii") as f:
        f.write(_pem())
    os.chmod(path, 0o600)
    return paramiko.PKey.from_path(str(path))


def _relay(chan: paramiko.Channel, dest: tuple[str, int]) -> None:
    try:
        s = socket.create_connection(dest, timeout=5)
    except OSError:
        chan.close()
        return
    s.settimeout(None)

    def up() -> None:
        with contextlib.suppress(OSError, EOFError):
            while True:
                d = chan.recv(65536)
                if not d:
                    break
                s.sendall(d)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_WR)

    threading.Thread(target=up, daemon=True).start()
    with contextlib.suppress(OSError, EOFError):
        while True:
            d = s.recv(65536)
            if not d:
                break
            chan.sendall(d)
    with contextlib.suppress(OSError, EOFError):  # the client may have hung up already
        chan.close()
    s.close()


@contextlib.contextmanager
def serving(srv: SSHServer) -> Iterator[SSHServer]:
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.close()
        t.join(2)


def wait_for(cond: Any, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False
