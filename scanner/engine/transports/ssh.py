"""The SSH transport (paramiko): one connection per host, one batch on standard input.

Host keys are judged by :mod:`~scanner.engine.transports.ssh_hostkey` (known_hosts files, trust
on first use into undone's own file only); jump hosts are reached through
:mod:`~scanner.engine.transports.ssh_jump`. This module connects and authenticates
(:class:`Connector`, the shared state of one scan), runs a batch (:func:`run`) and, for network
devices without a POSIX shell, one command per channel (:func:`run_commands`).

Speed, from profiling paramiko here (``shared/reference/paramiko.md``): the socket is made by us
with ``TCP_NODELAY`` and sets ``TCP_QUICKACK`` before each receive (133 ms → 45 ms a connection,
the rest being TCP delayed ACKs); private keys are loaded once and passed as ``pkey``; no
``auth_strategy`` (it sleeps).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import paramiko

from scanner.engine.batch import Batch
from scanner.engine.transports import Stream, knownhosts, new_stream, one_line, pump, unset_variable
from scanner.engine.transports.ssh_hostkey import (
    KnownHosts,
    Refusal,
    Verify,
    known_hosts_name,
    transport_factory,
)
from scanner.engine.transports.ssh_jump import Jumps
from scanner.errors import AuthError, CollectError, UnreachableError
from scanner.inventory import Host

# paramiko logs its transport thread's failures (a tarpit, a reset) with tracebacks; with no
# handler of its own, Python's last-resort handler would print them on stderr. What matters
# reaches the user as the host's one-line error instead.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
# Socket tuning (benchmarks/throughput.py turns these off to measure what they are worth)
USE_NODELAY = True
USE_QUICKACK = TCP_QUICKACK is not None


class _QuickAckSocket(socket.socket):
    """A socket that re-arms TCP_QUICKACK before every receive (Linux clears it on its own)."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if TCP_QUICKACK is not None:
            with contextlib.suppress(OSError):
                self.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)
        return super().recv(bufsize, flags)


@dataclass
class Options:
    connect_timeout: float = 10.0
    cap: int = 2 * 1024 * 1024
    total_cap: int = 16 * 1024 * 1024
    idle_timeout: float | None = None  # no output this long after the batch was sent: stalled


class Connector:
    """Shared, thread-safe state for one scan: parsed known_hosts files (:attr:`known`), loaded
    keys, jump connections. ``own_file``: undone's own known_hosts, the only file trust on first
    use writes to (default :func:`knownhosts.default_own_file`)."""

    def __init__(self, own_file: str | None = None) -> None:
        self._lock = threading.Lock()
        self._pkeys: dict[str, paramiko.PKey] = {}
        self._jumps = Jumps()
        self._live: set[socket.socket] = set()
        self.cancelled = threading.Event()
        self.by_name: dict[str, Host] = {}
        self.known = KnownHosts(own_file)

    # -- credentials ---------------------------------------------------------------------------
    def pkey(self, path: str) -> paramiko.PKey:
        with self._lock:
            k = self._pkeys.get(path)
            if k is not None:
                return k
        try:
            k = paramiko.PKey.from_path(path)
        except FileNotFoundError:
            raise AuthError(f"key file {path} does not exist") from None
        except PermissionError:
            raise AuthError(f"key file {path} cannot be read (permission denied)") from None
        except paramiko.PasswordRequiredException:
            raise AuthError(
                f"key file {path} is encrypted: load it into ssh-agent and set 'agent: true'"
            ) from None
        except (paramiko.SSHException, ValueError, OSError) as e:
            raise AuthError(f"key file {path} is not a usable private key: {e}") from None
        with self._lock:
            self._pkeys[path] = k
        return k

    # -- connecting ----------------------------------------------------------------------------
    def _socket(self, address: str, port: int, timeout: float) -> socket.socket:
        try:
            raw = socket.create_connection((address, port), timeout=timeout)
        except TimeoutError:
            raise UnreachableError(
                f"connection to {address}:{port} timed out after {timeout:g}s"
            ) from None
        except ConnectionRefusedError:
            raise UnreachableError(f"connection to {address}:{port} refused") from None
        except socket.gaierror as e:
            raise UnreachableError(f"cannot resolve {address}: {e.strerror}") from None
        except OSError as e:
            raise UnreachableError(
                f"cannot connect to {address}:{port}: {e.strerror or e}"
            ) from None
        if USE_NODELAY:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fam, typ, proto = raw.family, raw.type, raw.proto
        sock = _QuickAckSocket(fam, typ, proto, fileno=raw.detach())
        sock.settimeout(timeout)
        return sock

    def abort(self) -> None:
        """The scan was interrupted: end every connection now (blocked reads return)."""
        self.cancelled.set()
        with self._lock:
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _credentials(self, host: Host, kwargs: dict[str, Any], bastion: bool) -> None:
        """The credentials offered to ``host``: its own key file, password and agent as the
        inventory says; with none, the agent and the default identity files. A bastion that is
        not an inventory host gets the agent and default identity files only."""
        if host.key_file:
            kwargs["pkey"] = self.pkey(host.key_file)
        if host.password_env:
            pw = os.environ.get(host.password_env)
            if pw is None:
                raise AuthError(unset_variable("password_env"))
            kwargs["password"] = pw
        if (bastion and host.name.startswith("jump:")) or (
            not host.key_file and not host.password_env and not host.agent
        ):
            kwargs["look_for_keys"] = True
            kwargs["allow_agent"] = True

    def client(
        self, host: Host, opts: Options, bastion: bool = False
    ) -> tuple[paramiko.SSHClient, dict[str, Any]]:
        """Connect and authenticate; returns the client and what is known about the connection."""
        timeout = host.connect_timeout or opts.connect_timeout
        if self.cancelled.is_set():
            raise UnreachableError("not connected: the scan was interrupted")
        kwargs: dict[str, Any] = {
            "hostname": host.address,
            "port": host.port,
            "username": host.user or _local_user(),
            "timeout": timeout,
            "banner_timeout": timeout,
            "auth_timeout": timeout,
            "channel_timeout": timeout,
            "look_for_keys": False,
            "allow_agent": host.agent,
        }
        self._credentials(host, kwargs, bastion)
        name = known_hosts_name(host.address, host.port)
        entries, problems = self.known.entries(host)
        raw: socket.socket | None = None
        if host.jump:
            sock: Any = self._jumps.channel(
                host, self.by_name, lambda jhost: self.client(jhost, opts, bastion=True)[0],
                timeout)
        else:
            sock = raw = self._socket(host.address, host.port, timeout)
            with self._lock:
                self._live.add(raw)
        client = paramiko.SSHClient()
        verify = Verify(self.known, host, name, entries)
        client.set_missing_host_key_policy(verify)
        kwargs["sock"] = sock
        kwargs["transport_factory"] = transport_factory(
            knownhosts.preferred_algorithms(entries, name))
        ok = False
        try:
            client.connect(**kwargs)
            ok = True
        except Refusal as r:
            client.close()
            raise self.known.refused(host, name, r, problems) from None
        except paramiko.AuthenticationException as e:
            client.close()
            raise AuthError(f"authentication as {kwargs['username']} refused: {e}") from None
        except paramiko.SSHException as e:
            spoke = _remote_version(client)
            client.close()
            msg = one_line(str(e))
            if "No authentication methods available" in msg:
                raise AuthError(
                    f"no credentials to offer {kwargs['username']}@{host.address}: give a "
                    "key_file, password_env or agent: true (a bastion written user@host gets "
                    "the SSH agent and ~/.ssh/id_* only)") from None
            if not spoke or "Error reading SSH protocol banner" in msg or "banner" in msg.lower():
                raise UnreachableError(
                    f"no SSH banner from {host.address}:{host.port} within {timeout:g}s (the "
                    "port accepts connections but does not speak SSH)"
                ) from None
            if "no acceptable" in msg.lower() or "incompatible" in msg.lower():
                raise UnreachableError(
                    f"cannot agree on SSH algorithms with {host.address}: {msg} (old devices "
                    "that only offer SHA-1 key exchange cannot be reached by paramiko 4+)"
                ) from None
            raise UnreachableError(f"SSH to {host.address}:{host.port} failed: {msg}") from None
        except TimeoutError:
            client.close()
            raise UnreachableError(
                f"SSH handshake with {host.address}:{host.port} timed out after {timeout:g}s"
            ) from None
        except (OSError, EOFError) as e:
            client.close()
            raise UnreachableError(
                f"connection to {host.address}:{host.port} lost during the handshake: {e}"
            ) from None
        finally:
            if raw is not None and not ok:
                with self._lock:
                    self._live.discard(raw)
        t = client.get_transport()
        if t is None:
            client.close()
            raise UnreachableError(f"{host.address}: connection closed after authentication")
        host_key = self.known.recorded(t.get_remote_server_key(), verify)
        info: dict[str, Any] = {"transport": "ssh", "host_key": host_key,
                                "user": kwargs["username"]}
        if problems:
            info["known_hosts_problems"] = problems[:20]
        if host.jump:
            info["jump"] = host.jump
        return client, info

    def release(self, client: paramiko.SSHClient) -> None:
        """Close a target's connection and forget its socket."""
        t = client.get_transport()
        sock = getattr(t, "sock", None) if t is not None else None
        client.close()
        if isinstance(sock, socket.socket):
            with self._lock:
                self._live.discard(sock)

    def close(self) -> None:
        self._jumps.close()
        with self._lock:
            self._live.clear()


def _remote_version(client: paramiko.SSHClient) -> str | None:
    """The SSH banner the host sent, or None if it never spoke."""
    t = client.get_transport()
    version = getattr(t, "remote_version", None) if t is not None else None
    return version if isinstance(version, str) and version else None


def _local_user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, ImportError):
        return os.environ.get("USER", "root")


def run(host: Host, batch: Batch, deadline: float, connector: Connector, opts: Options) -> Stream:
    client, info = connector.client(host, opts)
    stream = new_stream(batch, opts.cap, opts.total_cap)
    stream.connection = info
    try:
        t = client.get_transport()
        if t is None:
            raise UnreachableError(f"{host.address}: connection closed after authentication")
        try:
            chan = t.open_session(timeout=max(0.1, deadline - time.monotonic()))
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise UnreachableError(f"{host.address}: could not open a session: {e}") from None
        command = "sh -s"
        if host.become and info["user"] != "root":
            command = "sudo -n sh -s"
        try:
            chan.exec_command(command)
            data = batch.script.encode("utf-8")
            chan.settimeout(max(0.1, deadline - time.monotonic()))
            chan.sendall(data)
            chan.shutdown_write()
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise CollectError(f"{host.address}: could not send the batch: {e}") from None
        chan.settimeout(0.0)

        def read_out() -> bytes | None:
            if chan.recv_ready():
                return chan.recv(65536)
            if chan.eof_received or chan.closed:
                return b"" if not chan.recv_ready() else chan.recv(65536)
            return None

        def read_err() -> bytes | None:
            if chan.recv_stderr_ready():
                return chan.recv_stderr(65536)
            if chan.eof_received or chan.closed:
                return b"" if not chan.recv_stderr_ready() else chan.recv_stderr(65536)
            return None

        pump(stream, [chan.fileno()], read_out, read_err, deadline, connector.cancelled,
             opts.idle_timeout)
        if not stream.timed_out and stream.error is None:
            end = time.monotonic() + min(2.0, max(0.0, deadline - time.monotonic()))
            while not chan.exit_status_ready() and time.monotonic() < end:
                chan.status_event.wait(0.05)
            if chan.exit_status_ready():
                # paramiko says -1 (and "ready") when the channel closed without an exit status
                code = chan.recv_exit_status()
                stream.exit_status = code if code >= 0 else None
        if stream.exit_status is None and not stream.timed_out and stream.error is None:
            # no exit status: the connection broke (a reset, a killed session) mid-stream
            why = t.get_exception() if t is not None else None
            stream.error = "connection closed before the batch finished" + (
                f" ({type(why).__name__}: {why})" if why is not None else ""
            )
        chan.close()
    finally:
        connector.release(client)
    return stream


# -- "cli" mode: network devices without a POSIX shell (platform network, device: ...) ----------


def _escape_markers(text: str) -> str:
    """A device's output must not be able to forge the block framing: a line that starts with
    ``@@`` gets a leading space (parsers strip lines)."""
    return "\n".join(" " + ln if ln.startswith("@@") else ln for ln in text.split("\n"))


def run_commands(
    host: Host,
    commands: dict[str, str],
    deadline: float,
    connector: Connector,
    opts: Options,
) -> tuple[str, str, dict[str, Any]]:
    """Run read-only ``commands`` (``{block name: command}``) on one connection, one
    ``exec_command`` channel each (network operating systems run one command per channel and
    have no shell to send a batch to). Returns (stdout, stderr, connection info): each output
    framed as ``@@block NAME`` ... ``@@rc N`` (N: the exit status; 0 when the device sends
    none, as many do; 124 when the command ran out of time; 255 when the channel failed),
    capped at ``opts.cap`` bytes per command."""
    client, info = connector.client(host, opts)
    info = {**info, "mode": "cli"}
    out_parts: list[str] = []
    err_parts: list[str] = []
    try:
        t = client.get_transport()
        if t is None:
            raise UnreachableError(f"{host.address}: connection closed after authentication")
        for name, command in commands.items():
            rc, out, err = 255, b"", b""
            try:
                chan = t.open_session(timeout=max(0.1, deadline - time.monotonic()))
                chan.settimeout(max(0.1, deadline - time.monotonic()))
                chan.exec_command(command)
                chan.shutdown_write()
                chunks: list[bytes] = []
                size = 0
                while True:
                    if time.monotonic() > deadline:
                        rc = 124
                        break
                    data = chan.recv(65536)
                    if not data:
                        # the exit status can arrive just after the end of output: wait for it
                        # (bounded), or a failed command would read as 0 under load; a device
                        # that never sends one still gets 0 after the wait
                        chan.status_event.wait(min(2.0, max(0.0, deadline - time.monotonic())))
                        rc = chan.recv_exit_status() if chan.exit_status_ready() else 0
                        break
                    if size < opts.cap:
                        chunks.append(data[: opts.cap - size])
                    size += len(data)
                out = b"".join(chunks)
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                if rc == 0 and chan.exit_status_ready():
                    rc = chan.recv_exit_status()
                chan.close()
            except TimeoutError:
                rc = 124
            except (paramiko.SSHException, OSError, EOFError) as e:
                err += f"channel failed: {e}".encode()
            text = _escape_markers(out.decode("utf-8", "replace").replace("\r\n", "\n"))
            out_parts.append(f"@@block {name}\n{text}\n@@rc {rc}\n")
            err_text = _escape_markers(err.decode("utf-8", "replace"))
            err_parts.append(f"@@block {name}\n{err_text}\n@@rc {rc}\n")
    finally:
        connector.release(client)
    return "".join(out_parts), "".join(err_parts), info
