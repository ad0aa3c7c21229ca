"""The SSH transport (paramiko): one connection per host, one batch on standard input.

Host keys are verified against ``~/.ssh/known_hosts``, ``/etc/ssh/ssh_known_hosts`` and the file
the inventory names, each parsed once per scan; each connection is given only its own host's
entries, and ``RejectPolicy`` refuses anything else. With ``trust_on_first_use`` an unknown key
(never a changed one) is accepted, recorded in the results and appended to the known_hosts file.

Speed, from profiling paramiko here (``shared/reference/paramiko.md``): the socket is made by us
with ``TCP_NODELAY`` and sets ``TCP_QUICKACK`` before each receive (133 ms → 45 ms a connection,
the rest being TCP delayed ACKs); private keys are loaded once and passed as ``pkey``; no
``auth_strategy`` (it sleeps).

A jump host (``jump: [user@]host[:port]`` or the name of another inventory host) is reached the
same way, and the target through a ``direct-tcpip`` channel on it; one connection per jump host
is shared by every target behind it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import paramiko

from scanner.batch import Batch
from scanner.errors import AuthError, CollectError, HostKeyError, UnreachableError
from scanner.inventory import Host
from scanner.transports import Stream, new_stream, pump

# paramiko logs its transport thread's failures (a tarpit, a reset) with tracebacks; with no
# handler of its own, Python's last-resort handler would print them on stderr. What matters
# reaches the user as the host's one-line error instead.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

DEFAULT_KNOWN_HOSTS = ("~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts")
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


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


class _RecordingReject(paramiko.MissingHostKeyPolicy):
    """Refuse an unknown key, remembering it so the message can show its fingerprint."""

    def __init__(self) -> None:
        self.key: paramiko.PKey | None = None

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        self.key = key
        raise paramiko.SSHException(f"unknown host key for {hostname}")


class _TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    def __init__(self, connector: Connector, path: str) -> None:
        self.connector = connector
        self.path = path
        self.accepted: paramiko.PKey | None = None

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        self.accepted = key
        self.connector.remember(self.path, hostname, key)


@dataclass
class Options:
    connect_timeout: float = 10.0
    cap: int = 2 * 1024 * 1024
    total_cap: int = 16 * 1024 * 1024


class Connector:
    """Shared, thread-safe state for one scan: parsed known_hosts files, loaded keys, jump
    connections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hostkeys: dict[str, paramiko.HostKeys] = {}
        self._pkeys: dict[str, paramiko.PKey] = {}
        self._jumps: dict[tuple[str, int, str | None], paramiko.SSHClient] = {}
        self._jump_locks: dict[tuple[str, int, str | None], threading.Lock] = {}
        self.by_name: dict[str, Host] = {}

    # -- known hosts -------------------------------------------------------------------------
    def _files(self, host: Host) -> list[str]:
        files = [os.path.expanduser(p) for p in DEFAULT_KNOWN_HOSTS]
        if host.known_hosts:
            files.insert(0, host.known_hosts)
        return files

    def _load(self, path: str) -> paramiko.HostKeys:
        with self._lock:
            hk = self._hostkeys.get(path)
            if hk is None:
                hk = paramiko.HostKeys()
                if os.path.exists(path):
                    with contextlib.suppress(OSError, paramiko.SSHException):
                        hk.load(path)
                self._hostkeys[path] = hk
            return hk

    def entries(self, host: Host, address: str, port: int) -> list[tuple[str, paramiko.PKey]]:
        name = known_hosts_name(address, port)
        out: list[tuple[str, paramiko.PKey]] = []
        for path in self._files(host):
            found = self._load(path).lookup(name)
            if found:
                out.extend((kt, found[kt]) for kt in found)
        return out

    def remember(self, path: str, name: str, key: paramiko.PKey) -> None:
        """Trust on first use: add the key to ``path`` (created with mode 600 if missing)."""
        with self._lock:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="ascii") as f:
                f.write(f"{name} {key.get_name()} {key.get_base64()}\n")
            hk = self._hostkeys.get(path)
            if hk is not None:
                hk.add(name, key.get_name(), key)

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

    def _parse_jump(self, spec: str, host: Host) -> Host:
        if spec in self.by_name:
            return self.by_name[spec]
        user = host.user
        rest = spec
        if "@" in rest:
            user, rest = rest.rsplit("@", 1)
        port = 22
        if rest.startswith("["):
            addr, _, tail = rest[1:].partition("]")
            if tail.startswith(":") and tail[1:].isdigit():
                port = int(tail[1:])
        elif rest.count(":") == 1:
            addr, _, p = rest.partition(":")
            if p.isdigit():
                port = int(p)
        else:
            addr = rest
        return Host(
            name=f"jump:{spec}",
            address=addr,
            port=port,
            user=user,
            key_file=host.key_file,
            agent=host.agent,
            password_env=host.password_env,
            known_hosts=host.known_hosts,
            trust_on_first_use=host.trust_on_first_use,
            connect_timeout=host.connect_timeout,
        )

    def _jump(self, host: Host, opts: Options) -> paramiko.Transport:
        if host.jump is None:
            raise CollectError("internal: no jump host")
        jhost = self._parse_jump(host.jump, host)
        key = (jhost.address, jhost.port, jhost.user)
        with self._lock:
            lock = self._jump_locks.setdefault(key, threading.Lock())
        with lock:
            client = self._jumps.get(key)
            t = client.get_transport() if client is not None else None
            if t is None or not t.is_active():
                try:
                    client, _ = self.client(jhost, opts)
                except HostKeyError as e:
                    raise e.again(f"jump host {host.jump}: {e}", of=host.jump) from None
                except CollectError as e:
                    raise type(e)(f"jump host {host.jump}: {e}") from None
                self._jumps[key] = client
                t = client.get_transport()
            if t is None:
                raise UnreachableError(f"jump host {host.jump}: no transport")
            return t

    def client(self, host: Host, opts: Options) -> tuple[paramiko.SSHClient, dict[str, Any]]:
        """Connect and authenticate; returns the client and what is known about the connection."""
        timeout = host.connect_timeout or opts.connect_timeout
        if host.jump:
            transport = self._jump(host, opts)
            try:
                sock: Any = transport.open_channel(
                    "direct-tcpip", (host.address, host.port), ("127.0.0.1", 0), timeout=timeout
                )
            except (paramiko.SSHException, OSError) as e:
                raise UnreachableError(
                    f"jump host {host.jump} could not reach {host.address}:{host.port}: {e}"
                ) from None
        else:
            sock = self._socket(host.address, host.port, timeout)

        client = paramiko.SSHClient()
        hk = client.get_host_keys()
        name = known_hosts_name(host.address, host.port)
        for kt, key in self.entries(host, host.address, host.port):
            hk.add(name, kt, key)
        tofu: _TrustOnFirstUse | None = None
        reject = _RecordingReject()
        if host.trust_on_first_use:
            path = host.known_hosts or os.path.expanduser(DEFAULT_KNOWN_HOSTS[0])
            tofu = _TrustOnFirstUse(self, path)
            client.set_missing_host_key_policy(tofu)
        else:
            client.set_missing_host_key_policy(reject)

        kwargs: dict[str, Any] = {
            "hostname": host.address,
            "port": host.port,
            "username": host.user or _local_user(),
            "sock": sock,
            "timeout": timeout,
            "banner_timeout": timeout,
            "auth_timeout": timeout,
            "channel_timeout": timeout,
            "look_for_keys": False,
            "allow_agent": host.agent,
        }
        if host.key_file:
            kwargs["pkey"] = self.pkey(host.key_file)
        if host.password_env:
            pw = os.environ.get(host.password_env)
            if pw is None:
                sock.close()
                raise AuthError(
                    f"environment variable {host.password_env} (password_env) is not set"
                )
            kwargs["password"] = pw
        if not host.key_file and not host.password_env and not host.agent:
            kwargs["look_for_keys"] = True
            kwargs["allow_agent"] = True
        try:
            client.connect(**kwargs)
        except paramiko.BadHostKeyException as e:
            client.close()
            raise HostKeyError(
                f"HOST KEY CHANGED for {name}: known_hosts has {fingerprint(e.expected_key)}, the "
                f"host offered {fingerprint(e.key)}. This can mean someone is intercepting the "
                "connection, or the host was reinstalled. Refused. If the change is expected, "
                f"verify the new key out of band and run: ssh-keygen -R '{name}'",
                changed=True,
                fingerprint=fingerprint(e.key),
                expected=fingerprint(e.expected_key),
                key_type=e.key.get_name(),
            ) from None
        except paramiko.AuthenticationException as e:
            client.close()
            raise AuthError(f"authentication as {kwargs['username']} refused: {e}") from None
        except paramiko.SSHException as e:
            spoke = _remote_version(client)
            client.close()
            if reject.key is not None:
                fp = fingerprint(reject.key)
                files = ", ".join(self._files(host)[:2])
                port_opt = f"-p {host.port} " if host.port != 22 else ""
                raise HostKeyError(
                    f"host key of {name} is not in known_hosts ({files}); refused. It offered "
                    f"{reject.key.get_name()} {fp}. Check that fingerprint with the host's "
                    f"administrator, then add it: ssh-keyscan {port_opt}{host.address} >> "
                    "~/.ssh/known_hosts (or set trust_on_first_use: true to accept and record "
                    "it once)",
                    fingerprint=fp,
                    key_type=reject.key.get_name(),
                ) from None
            msg = str(e)
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
        t = client.get_transport()
        if t is None:
            client.close()
            raise UnreachableError(f"{host.address}: connection closed after authentication")
        server_key = t.get_remote_server_key()
        info: dict[str, Any] = {
            "transport": "ssh",
            "host_key": {
                "type": server_key.get_name(),
                "fingerprint": fingerprint(server_key),
                "accepted_on_first_use": bool(tofu and tofu.accepted is not None),
            },
            "user": kwargs["username"],
        }
        if host.jump:
            info["jump"] = host.jump
        return client, info

    def close(self) -> None:
        with self._lock:
            for c in self._jumps.values():
                c.close()
            self._jumps.clear()


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

        pump(stream, [chan.fileno()], read_out, read_err, deadline)
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
        client.close()
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
        client.close()
    return "".join(out_parts), "".join(err_parts), info
