"""``undone evidence verify BUNDLE``: check an evidence bundle's manifest, hashes and Ed25519
signature, in bounded memory and time whatever the bundle holds (a ZIP bomb, links, names that
escape the folder). Bundles are written by scanner/ops/evidence.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from scanner.errors import InputError
from scanner.ops.evidence import (
    CHUNK,
    MANIFEST,
    MAX_MANIFEST,
    MAX_MEMBERS,
    MAX_SIGNATURE,
    MAX_TOTAL,
    PUBLIC_KEY_ENV,
    SCHEMA,
    SIGNATURE,
    _raw,
    fingerprint,
)


@dataclass
class Verdict:
    """``ok``: every file matches a manifest whose signature holds. ``trusted``: and the key
    that signed it is one the verifier trusts (given or configured), not merely the key the
    bundle carries."""

    ok: bool = True
    problems: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0
    signer: str | None = None
    key_source: str = "bundle"
    scan: str | None = None
    trusted: bool = False

    def add(self, path: str, what: str) -> None:
        self.ok = False
        self.problems.append((path, what))


class _Budget:
    """What verifying may read in all: :data:`MAX_TOTAL` bytes, :data:`MAX_MEMBERS` files."""

    def __init__(self) -> None:
        self.left = MAX_TOTAL
        self.spent = False


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a member of a bundle (one that unzip could place anywhere)."""
    if not name:
        return "an empty name"
    if "\\" in name:
        return "a backslash in the name (a bundle's names use /)"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute name"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "a control character in the name"
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        return "'..' in the name (it would be extracted outside the bundle)"
    if any(p in ("", ".") for p in parts):
        return "not a plain relative name"
    return None


def _hash_stream(read: Any, limit: int, budget: _Budget) -> tuple[str, int, bool]:
    """SHA-256 and length of a stream, reading at most ``limit`` + 1 bytes in chunks; the
    third value is False when it had more than ``limit`` or the budget ran out."""
    h = hashlib.sha256()
    n = 0
    while True:
        want = min(CHUNK, limit + 1 - n, budget.left + 1)
        if want <= 0:
            return h.hexdigest(), n, False
        chunk = read(want)
        if not chunk:
            return h.hexdigest(), n, True
        h.update(chunk)
        n += len(chunk)
        budget.left -= len(chunk)
        if budget.left < 0:
            budget.spent = True
            return h.hexdigest(), n, False
        if n > limit:
            return h.hexdigest(), n, False


class _Zip:
    """A bundle in a ZIP file: members checked by name and type, read in chunks."""

    def __init__(self, path: str, v: Verdict) -> None:
        try:
            self.z = zipfile.ZipFile(path)
            infos = self.z.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError,
                EOFError) as e:
            raise InputError(f"{path}: not an evidence bundle (not a folder or a ZIP file: "
                             f"{e})") from None
        if len(infos) > MAX_MEMBERS:
            self.z.close()
            raise InputError(f"{path}: not an evidence bundle ({len(infos)} members; undone "
                             f"verifies at most {MAX_MEMBERS})")
        self.members: dict[str, zipfile.ZipInfo] = {}
        counts: dict[str, int] = {}
        for info in infos:
            counts[info.filename] = counts.get(info.filename, 0) + 1
        for name, n in sorted(counts.items()):
            if n > 1:
                v.add(name, f"appears {n} times in the ZIP file: a second copy could be "
                            "extracted instead of the one checked; not a bundle undone wrote")
        for info in infos:
            name = info.filename
            why = _name_problem(name)
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            kind = stat.S_IFMT(mode)
            if why is not None:
                v.add(name, f"{why}; not part of a bundle")
            elif info.is_dir():
                if info.file_size or info.compress_size > 2:
                    v.add(name, "a folder entry carrying data; not part of a bundle")
                elif kind not in (0, stat.S_IFDIR):
                    v.add(name, "a folder entry of another type; not part of a bundle")
            elif kind not in (0, stat.S_IFREG):
                what = "a symbolic link" if kind == stat.S_IFLNK else "not a regular file"
                v.add(name, f"{what}; not part of a bundle")
            elif counts[name] == 1:
                self.members[name] = info

    def close(self) -> None:
        self.z.close()

    def names(self) -> set[str]:
        return set(self.members)

    def digest(self, name: str, limit: int, budget: _Budget) -> tuple[str, int, bool]:
        info = self.members[name]
        if info.file_size > limit:
            return "", info.file_size, False
        with self.z.open(info) as f:
            return _hash_stream(f.read, limit, budget)

    def read(self, name: str, limit: int, budget: _Budget) -> bytes | None:
        info = self.members[name]
        if info.file_size > limit:
            return None
        with self.z.open(info) as f:
            data = f.read(limit + 1)
        budget.left -= len(data)
        return data if len(data) <= limit else None


class _Folder:
    """A bundle in a folder: walked without following links; only regular files count."""

    def __init__(self, path: str, v: Verdict) -> None:
        self.root = path
        self.members: dict[str, str] = {}
        for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
            for name in sorted(dirnames + filenames):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, path).replace(os.sep, "/")
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    v.add(rel, "is a symbolic link, not part of a bundle")
                elif stat.S_ISREG(st.st_mode):
                    self.members[rel] = full
                elif not stat.S_ISDIR(st.st_mode):
                    v.add(rel, "not a regular file, not part of a bundle")
                if len(self.members) > MAX_MEMBERS:
                    raise InputError(f"{path}: not an evidence bundle (more than {MAX_MEMBERS} "
                                     "files)")

    def close(self) -> None:
        pass

    def names(self) -> set[str]:
        return set(self.members)

    def _open(self, name: str) -> Any:
        fd = os.open(self.members[name], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK |
                     os.O_CLOEXEC)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(f"{name}: no longer a regular file")
        return os.fdopen(fd, "rb")

    def digest(self, name: str, limit: int, budget: _Budget) -> tuple[str, int, bool]:
        with self._open(name) as f:
            return _hash_stream(f.read, limit, budget)

    def read(self, name: str, limit: int, budget: _Budget) -> bytes | None:
        with self._open(name) as f:
            data: bytes = f.read(limit + 1)
        budget.left -= len(data)
        return data if len(data) <= limit else None


_DAMAGED = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
            RuntimeError, zlib.error)


def _open_bundle(bundle: str, v: Verdict) -> _Zip | _Folder:
    if not os.path.lexists(bundle):
        raise InputError(f"{bundle}: no such file or folder")
    if os.path.isdir(bundle) and not os.path.islink(bundle):
        return _Folder(bundle, v)
    if not os.path.isfile(bundle):
        raise InputError(f"{bundle}: not an evidence bundle (not a folder or a ZIP file)")
    return _Zip(bundle, v)


def verify(bundle: str, public_key: Ed25519PublicKey | None = None,
           trusted: Iterable[Ed25519PublicKey] = ()) -> Verdict:
    """Check a bundle: its members' names and types, the signature over the manifest, then
    every file against the manifest, reading in chunks within :data:`MAX_TOTAL` bytes.

    ``public_key`` (or any of ``trusted``) is the key the verifier trusts; without one the key
    inside the bundle checks integrity only and the verdict is not ``trusted``."""
    keys = ([public_key] if public_key is not None else []) + list(trusted)
    v = Verdict(key_source="given" if keys else "bundle")
    src = _open_bundle(bundle, v)
    budget = _Budget()
    try:
        return _verify(bundle, src, keys, v, budget)
    finally:
        src.close()


def _verify(bundle: str, src: _Zip | _Folder, keys: list[Ed25519PublicKey], v: Verdict,
            budget: _Budget) -> Verdict:
    names = src.names()
    refused = {path for path, _ in v.problems}
    if MANIFEST not in names:
        if MANIFEST in refused:
            return v
        raise InputError(f"{bundle}: not an evidence bundle (no {MANIFEST})")
    try:
        man_bytes = src.read(MANIFEST, MAX_MANIFEST, budget)
        sig_bytes = src.read(SIGNATURE, MAX_SIGNATURE, budget) if SIGNATURE in names else None
    except _DAMAGED as e:
        v.add(MANIFEST, f"damaged inside the bundle ({type(e).__name__})")
        return v
    if man_bytes is None:
        v.add(MANIFEST, f"larger than a manifest can be ({MAX_MANIFEST} bytes)")
        return v
    try:
        man = json.loads(man_bytes)
        if not isinstance(man, dict) or man.get("schema") != SCHEMA or not isinstance(
                man.get("files"), dict):
            raise ValueError("not an undone evidence manifest")
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        v.add(MANIFEST, f"changed: no longer a valid manifest ({str(e)[:120]})")
        man = {"files": {}}
    v.scan = man.get("scan") if isinstance(man.get("scan"), str) else None
    embedded: Ed25519PublicKey | None = None
    try:
        embedded = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(man["signature"]["public_key"], validate=True))
    except (KeyError, TypeError, ValueError):
        embedded = None
    if keys:
        match = [k for k in keys if embedded is not None and _raw(k) == _raw(embedded)]
        key = match[0] if match else keys[0]
        if embedded is not None and not match:
            v.add(MANIFEST, f"signed by another key ({fingerprint(embedded)}), not "
                            + ("the one given" if len(keys) == 1 else "one of those trusted")
                            + f" ({', '.join(fingerprint(k) for k in keys[:3])})")
    else:
        key = embedded  # type: ignore[assignment]
    if key is None:
        v.add(MANIFEST, "changed: the signer's public key in it is unreadable "
                        "(give --public-key to check the signature)")
    elif sig_bytes is None:
        v.add(SIGNATURE, "missing: the bundle is not signed" if SIGNATURE not in refused
              else "not readable as one member")
    else:
        v.signer = fingerprint(key)
        try:
            key.verify(base64.b64decode(sig_bytes.strip(), validate=True), man_bytes)
        except (InvalidSignature, ValueError):
            v.add(f"{MANIFEST} or {SIGNATURE}",
                  "changed: the signature does not match the manifest")
    listed: dict[str, Any] = man.get("files") or {}
    for path, meta in sorted(listed.items()):
        if path in refused:
            continue
        if path not in names:
            v.add(path, "missing")
            continue
        size = meta.get("bytes") if isinstance(meta, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            v.add(path, "changed: the manifest gives no size for it")
            continue
        if budget.spent or size > budget.left:
            budget.spent = True
            v.add(path, f"not checked: the bundle holds more than undone verifies "
                        f"({MAX_TOTAL // 2**20} MiB in all)")
            continue
        try:
            digest, n, within = src.digest(path, size, budget)
        except _DAMAGED as e:
            v.add(path, f"damaged inside the bundle ({type(e).__name__})")
            continue
        if not within and budget.spent:
            v.add(path, f"not checked: the bundle holds more than undone verifies "
                        f"({MAX_TOTAL // 2**20} MiB in all)")
        elif not within or n != size or digest != meta.get("sha256"):
            v.add(path, "changed: its SHA-256 does not match the manifest")
    for path in sorted(names - set(listed) - {MANIFEST, SIGNATURE} - refused):
        v.add(path, "added: not in the manifest")
    v.files = len(listed)
    v.trusted = v.ok and bool(keys)
    return v


def report_lines(bundle: str, v: Verdict) -> list[str]:
    if v.ok and v.trusted:
        return [f"{bundle}: ok: {v.files} files match the manifest, signed by {v.signer} "
                "(the key given)"]
    if v.ok:
        return [f"{bundle}: intact, signer not verified: {v.files} files match the manifest, "
                f"signed by {v.signer}, the key inside the bundle, which anyone can replace; "
                f"give the signer's key with --public-key (or ${PUBLIC_KEY_ENV})"]
    return [f"{bundle}: {path}: {what}" for path, what in v.problems]


def read_member(bundle: str, name: str) -> bytes:
    """One file of a bundle (tests and tools)."""
    p = Path(bundle)
    if p.is_dir():
        return (p / name).read_bytes()
    with zipfile.ZipFile(p) as z:
        return z.read(name)
