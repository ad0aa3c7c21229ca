"""SSH keys for the estate: per-host ed25519 host keys, the shared RSA host key, the client key.

Generated in-process with ``cryptography`` (a dependency of paramiko, so always in the venv):
about 0.1 ms per ed25519 key instead of a 2 ms ``ssh-keygen`` run. Falls back to ``ssh-keygen``.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .common import run


@dataclass(frozen=True)
class KeyPair:
    private: bytes  # OpenSSH private key file contents
    public: str  # "ssh-ed25519 AAAA..." (no comment)

    @property
    def fingerprint(self) -> str:
        """SHA256:... as ``ssh-keygen -l`` prints it."""
        blob = base64.b64decode(self.public.split()[1])
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"

    def write(self, path: Path, comment: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.private)
        path.chmod(0o600)
        pub = path.with_name(path.name + ".pub")
        pub.write_text(self.public + (f" {comment}" if comment else "") + "\n", encoding="ascii")
        pub.chmod(0o644)


def _keygen(kind: str, bits: int | None = None) -> KeyPair:
    with tempfile.TemporaryDirectory(prefix="estate-key-") as tmp:
        path = Path(tmp) / "key"
        argv = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", "-f", str(path)]
        if bits:
            argv += ["-b", str(bits)]
        run(argv, what="ssh-keygen")
        public = " ".join(path.with_name("key.pub").read_text(encoding="ascii").split()[:2])
        return KeyPair(private=path.read_bytes(), public=public)


def generate(kind: str = "ed25519") -> KeyPair:
    """A new key pair: ``ed25519`` or ``rsa`` (3072 bits)."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    except ImportError:  # pragma: no cover - cryptography comes with paramiko
        return _keygen(kind, 3072 if kind == "rsa" else None)
    key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    else:
        raise ValueError(f"unsupported key type {kind!r}")
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return KeyPair(private=private, public=public.decode("ascii"))


def load(path: Path) -> KeyPair:
    public = " ".join(path.with_name(path.name + ".pub").read_text(encoding="ascii").split()[:2])
    return KeyPair(private=path.read_bytes(), public=public)
