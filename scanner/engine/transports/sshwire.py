"""The SSH wire format undone reads itself (RFC 4251 strings in key and certificate blobs), and
the key and certificate types it knows."""

from __future__ import annotations

import base64
import hashlib
import struct

#: key fields (SSH strings / mpints) after the type in a plain public key blob
KEY_FIELDS = {
    "ssh-ed25519": 1,
    "ecdsa-sha2-nistp256": 2,
    "ecdsa-sha2-nistp384": 2,
    "ecdsa-sha2-nistp521": 2,
    "ssh-rsa": 2,
    "ssh-dss": 4,
}
CERT_SUFFIX = "-cert-v01@openssh.com"
HOST_CERT = 2
# certificate types a client may negotiate, by plain key type (RSA certificates are offered
# as rsa-sha2-*-cert: paramiko 4+ never signs with SHA-1)
CERT_ALGORITHMS = {
    "ssh-ed25519": ("ssh-ed25519-cert-v01@openssh.com",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256-cert-v01@openssh.com",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384-cert-v01@openssh.com",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521-cert-v01@openssh.com",),
    "ssh-rsa": ("rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com"),
}
PLAIN_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}


# -- SSH wire format ---------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def string(self) -> bytes:
        if self.pos + 4 > len(self.data):
            raise ValueError("truncated")
        (n,) = struct.unpack(">I", self.data[self.pos : self.pos + 4])
        end = self.pos + 4 + n
        if end > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos + 4 : end]
        self.pos = end
        return out

    def uint(self, size: int) -> int:
        if self.pos + size > len(self.data):
            raise ValueError("truncated")
        value = int.from_bytes(self.data[self.pos : self.pos + size], "big")
        self.pos += size
        return value

    def strings(self) -> list[bytes]:
        out = []
        while self.pos < len(self.data):
            out.append(self.string())
        return out


def _pack(*parts: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


def blob_type(blob: bytes) -> str:
    return _Reader(blob).string().decode("ascii")


def fingerprint_blob(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
