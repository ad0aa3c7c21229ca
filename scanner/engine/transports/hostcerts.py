"""OpenSSH host certificates (``@cert-authority`` lines of known_hosts): parsing a
``*-cert-v01@openssh.com`` blob and checking it as OpenSSH does (a host certificate, valid now,
naming the host, no critical options, signed by the trusted CA with SHA-2 or EdDSA). paramiko
checks only the key exchange signature; scanner/engine/transports/knownhosts.py decides with this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import paramiko

from scanner.engine.transports.sshwire import CERT_SUFFIX, HOST_CERT, KEY_FIELDS, _pack, _Reader

# -- host certificates -------------------------------------------------------------------------


class TrustedKey(Protocol):
    """A certificate authority's key as known_hosts holds it (knownhosts.Entry)."""

    @property
    def key_type(self) -> str: ...

    @property
    def blob(self) -> bytes: ...


@dataclass(frozen=True)
class Certificate:
    key_type: str  # the certified key's plain type
    key_blob: bytes  # the certified key, as a plain public key blob
    serial: int
    cert_type: int
    key_id: str
    principals: tuple[str, ...]
    valid_after: int
    valid_before: int
    critical: bytes
    ca_blob: bytes
    signature: bytes
    signed: bytes  # the bytes the CA signed


def parse_certificate(blob: bytes) -> Certificate:
    """An OpenSSH certificate (PROTOCOL.certkeys); raises ValueError if it is not one."""
    r = _Reader(blob)
    cert_type_name = r.string().decode("ascii")
    if not cert_type_name.endswith(CERT_SUFFIX):
        raise ValueError("not a certificate")
    plain = cert_type_name[: -len(CERT_SUFFIX)]
    if plain not in KEY_FIELDS:
        raise ValueError(f"certificates of {plain} keys are not supported")
    r.string()  # nonce
    numbers = [r.string() for _ in range(KEY_FIELDS[plain])]
    serial = r.uint(8)
    ctype = r.uint(4)
    key_id = r.string().decode("utf-8", "replace")
    principals = tuple(p.decode("utf-8", "replace") for p in _Reader(r.string()).strings())
    after, before = r.uint(8), r.uint(8)
    critical = r.string()
    r.string()  # extensions (none are defined for host certificates)
    r.string()  # reserved
    ca_blob = r.string()
    signed = blob[: r.pos]
    signature = r.string()
    if r.pos != len(blob):
        raise ValueError("trailing data")
    return Certificate(plain, _pack(plain.encode(), *numbers), serial, ctype, key_id,
                       principals, after, before, critical, ca_blob, signature, signed)


def check_certificate(cert: Certificate, host: str, ca: TrustedKey, now: float | None = None
                      ) -> None:
    """Raise ValueError (with a one-line reason) unless ``cert`` is a host certificate for
    ``host``, valid at ``now``, with no critical options, signed by ``ca``."""
    if cert.ca_blob != ca.blob:
        raise ValueError("it was signed by another certificate authority")
    if cert.cert_type != HOST_CERT:
        raise ValueError("it is not a host certificate")
    t = int(time.time() if now is None else now)
    if t < cert.valid_after:
        raise ValueError("it is not valid yet")
    if t >= cert.valid_before:
        raise ValueError("it has expired")
    if not cert.principals:
        raise ValueError("it names no host (no principals): undone refuses such certificates")
    if host.lower() not in (p.lower() for p in cert.principals):
        raise ValueError(f"it is not issued for {host} (principals: "
                         f"{', '.join(cert.principals)[:200]})")
    if cert.critical:
        raise ValueError("it carries critical options, which host certificates cannot have")
    try:
        sig_alg = _Reader(cert.signature).string().decode("ascii")
        ca_key = paramiko.PKey.from_type_string(ca.key_type, ca.blob)
    except (ValueError, UnicodeDecodeError, paramiko.SSHException) as e:
        raise ValueError(f"its signature cannot be read ({type(e).__name__})") from None
    if sig_alg == "ssh-rsa":
        raise ValueError("it is signed with SHA-1 (ssh-rsa), which undone does not accept")
    try:
        good = ca_key.verify_ssh_sig(cert.signed, paramiko.Message(cert.signature))
    except Exception:  # noqa: BLE001 - any failure to verify is a bad signature
        good = False
    if not good:
        raise ValueError("its signature does not verify with the certificate authority's key")
