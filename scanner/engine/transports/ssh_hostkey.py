"""How the SSH transport judges a host key: which known_hosts files, the policy paramiko asks,
the refusal a person can act on, and what the result records about the key.

Host keys are verified against ``~/.ssh/known_hosts``, ``/etc/ssh/ssh_known_hosts`` and the file
the inventory names, each parsed once per scan (:class:`KnownHosts`); each connection is given
only its own host's entries, and anything they do not vouch for is refused (:class:`Verify`).
With ``trust_on_first_use`` an unknown key (never a changed one) is accepted, recorded in the
results and appended to undone's own known_hosts file, the only file undone writes. Reading and
matching the files is :mod:`~scanner.engine.transports.knownhosts`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from typing import Any

import paramiko

from scanner.engine.transports import knownhosts
from scanner.errors import HostKeyError
from scanner.inventory import Host

DEFAULT_KNOWN_HOSTS = ("~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts")


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


class Refusal(Exception):
    """The host key was refused (raised by :class:`Verify` from inside paramiko's connect)."""

    def __init__(self, decision: knownhosts.Decision, key: paramiko.PKey,
                 tofu_failed: str | None = None) -> None:
        super().__init__(decision.state)
        self.decision = decision
        self.key = key
        self.tofu_failed = tofu_failed


class KnownHosts:
    """The known_hosts files of one scan, thread-safe: each read once, and trust on first use
    written to ``own_file`` only (undone's own known_hosts, default
    :func:`knownhosts.default_own_file`)."""

    def __init__(self, own_file: str | None = None) -> None:
        self._lock = threading.Lock()
        self._files_read: dict[str, knownhosts.File] = {}
        self.own_file = os.path.abspath(own_file or knownhosts.default_own_file())

    def files(self, host: Host) -> list[tuple[str, bool]]:
        """(path, is undone's own file) for every known_hosts file this host is checked
        against: the inventory's, undone's own, the user's and the system's."""
        out: list[tuple[str, bool]] = []
        if host.known_hosts:
            out.append((os.path.abspath(host.known_hosts), False))
        out.append((self.own_file, True))
        out += [(os.path.abspath(os.path.expanduser(p)), False) for p in DEFAULT_KNOWN_HOSTS]
        seen: dict[str, bool] = {}
        for path, own in out:
            seen[path] = seen.get(path, False) or own
        return list(seen.items())

    def _load(self, path: str, own: bool) -> knownhosts.File:
        with self._lock:
            f = self._files_read.get(path)
            if f is None:
                f = knownhosts.read(path, own=own)
                self._files_read[path] = f
            return f

    def entries(self, host: Host) -> tuple[list[knownhosts.Entry], list[str]]:
        """Every known_hosts entry this host is judged by, and what could not be read."""
        entries: list[knownhosts.Entry] = []
        problems: list[str] = []
        for path, own in self.files(host):
            f = self._load(path, own)
            with self._lock:
                entries.extend(f.entries)
                problems.extend(f.problems)
        return entries, problems

    def remember(self, name: str, key: paramiko.PKey) -> None:
        """Trust on first use: record the key in undone's own file (and for the rest of this
        scan). Raises :class:`knownhosts.Refused` if that file cannot be used safely."""
        with self._lock:
            entry = knownhosts.append(self.own_file, name, key)
            f = self._files_read.setdefault(self.own_file, knownhosts.File(self.own_file))
            f.entries.append(entry)

    def refused(self, host: Host, name: str, r: Refusal, problems: list[str]) -> HostKeyError:
        """The error of a refused host key: what was offered, what known_hosts says, and
        what a person can do about it."""
        d, key = r.decision, r.key
        fp = fingerprint(key)
        note = ""
        if problems:
            more = f"; {len(problems) - 3} more" if len(problems) > 3 else ""
            note = f" (known_hosts problems: {'; '.join(problems[:3])}{more})"
        if d.state == "changed":
            where = d.entry.where if d.entry is not None else "known_hosts"
            return HostKeyError(
                f"HOST KEY CHANGED for {name}: known_hosts has {d.expected} ({where}), the host "
                f"offered {fp}. This can mean someone is "
                "intercepting the connection, or the host was reinstalled. Refused. If the change "
                f"is expected, verify the new key out of band and run: ssh-keygen -R '{name}'"
                + note,
                changed=True, fingerprint=fp, expected=d.expected, key_type=key.get_name(),
            )
        if r.tofu_failed:
            return HostKeyError(
                f"host key of {name} ({key.get_name()} {fp}) could not be recorded on first use: "
                f"{r.tofu_failed}; refused{note}", fingerprint=fp, key_type=key.get_name())
        if d.state in ("revoked", "bad-certificate"):
            return HostKeyError(
                f"host key of {name} refused: {d.reason}. It offered {key.get_name()} {fp}{note}",
                fingerprint=fp, key_type=key.get_name(), state=d.state)
        files = ", ".join(p for p, _ in self.files(host)[:3])
        port_opt = f"-p {host.port} " if host.port != 22 else ""
        return HostKeyError(
            f"host key of {name} is not in known_hosts ({files}); refused. It offered "
            f"{key.get_name()} {fp}. Check that fingerprint with the host's administrator, then "
            f"add it: ssh-keyscan {port_opt}{host.address} >> ~/.ssh/known_hosts (or set "
            f"trust_on_first_use: true to accept it once and record it in {self.own_file})"
            + note,
            fingerprint=fp, key_type=key.get_name(),
        )

    def recorded(self, server_key: paramiko.PKey, verify: Verify) -> dict[str, Any]:
        """What the connection's ``host_key`` says about the key the host was accepted with."""
        host_key: dict[str, Any] = {
            "type": server_key.get_name(),
            "fingerprint": fingerprint(server_key),
            "accepted_on_first_use": verify.accepted is not None,
        }
        d = verify.decision
        if d is not None and d.certificate is not None and d.entry is not None:
            host_key["certificate"] = {
                "key_id": d.certificate.key_id[:200],
                "serial": d.certificate.serial,
                "authority": knownhosts.fingerprint_blob(d.entry.blob),
                "authority_of": d.entry.where,
            }
        if verify.accepted is not None:
            host_key["recorded_in"] = self.own_file
        return host_key


class Verify(paramiko.MissingHostKeyPolicy):
    """Every host key check, done by undone (the client is given no keys, so paramiko always
    asks this policy): known keys, ``@revoked``, ``@cert-authority`` host certificates, and
    trust on first use into undone's own file only."""

    def __init__(self, known: KnownHosts, host: Host, name: str,
                 entries: list[knownhosts.Entry]) -> None:
        self.known = known
        self.host = host
        self.name = name
        self.entries = entries
        self.decision: knownhosts.Decision | None = None
        self.accepted: paramiko.PKey | None = None

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        blob = key.public_blob.key_blob if key.public_blob is not None else None
        d = knownhosts.decide(self.entries, self.name, self.host.address, key.asbytes(), blob)
        self.decision = d
        if d.state in ("verified", "certificate"):
            return
        if d.state == "unknown" and self.host.trust_on_first_use:
            try:
                self.known.remember(self.name, key)
            except knownhosts.Refused as e:
                raise Refusal(d, key, str(e)) from None
            self.accepted = key
            return
        raise Refusal(d, key)


class _OrderedTransport(paramiko.Transport):
    """A transport that asks for the host key algorithms known for this host first
    (certificates when a certificate authority is trusted for it)."""

    first: tuple[str, ...] = ()

    @property
    def preferred_keys(self) -> tuple[str, ...]:
        keys = tuple(super().preferred_keys)
        first = [k for k in self.first if k in keys]
        return tuple(first + [k for k in keys if k not in first])


def transport_factory(first: list[str]) -> Any:
    """paramiko's ``transport_factory`` for a host whose known host key algorithms are
    ``first`` (:func:`knownhosts.preferred_algorithms`)."""

    def make(sock: Any, disabled_algorithms: dict[str, Any] | None = None) -> paramiko.Transport:
        t = _OrderedTransport(sock, disabled_algorithms=disabled_algorithms)
        t.first = tuple(first)
        return t

    return make
