"""Evidence bundles: what a scan found and what it was judged against, sealed with Ed25519.

A bundle is a folder or a ZIP file (the name ends in ``.zip``) holding::

    result.json                         the result document
    sections/<host>/<section>.out       each probe section's standard output, as collected
    sections/<host>/<section>.err       its standard error, when there was any
    inventory/<file>                    the inventory (secrets are only ever references in
                                        it; credentials written into a backup repository
                                        string are masked, scanner/redact.py)
    waivers/<file>                      the waivers file given with --waivers, if any
    baselines/<name>.yaml               every baseline used (its SHA-256 is in result.json)
    manifest.json                       SHA-256 and size of every file above, the scan id,
                                        and the signer's public key
    manifest.sig                        Ed25519 signature of manifest.json's exact bytes (base64)

Every file is written 0600 (folders 0700), never through a link; a ZIP goes to an unpredictable
temporary name first (scanner/safeio.py).

:func:`verify` first refuses members a bundle never holds: a name that appears twice (``unzip
-n`` would extract the second, forged one), a folder entry carrying data, ``..``, an absolute or
backslashed name, a link or other non-regular member. It then checks the signature, and every
file against the manifest, reading in 1 MiB chunks and never more than the manifest's size of a
file nor :data:`MAX_TOTAL` bytes in all (a 3 MB ZIP bomb costs no memory), and names each file
that changed, is missing or was added.

**Who signed.** A bundle carries its signer's public key, and anyone who edits a bundle can
re-sign it with a key of their own. So the key inside proves only that the bundle is intact:
``undone evidence verify`` says "ok" (exit 0) only when the signer is a key the verifier trusts,
given with ``--public-key`` or configured in ``$UNDONE_EVIDENCE_PUBLIC_KEY`` (a key file, or a
file of ``ssh-ed25519`` lines, one per trusted signer); otherwise an intact bundle gives
"intact, signer not verified" and exit 3.

Keys: PEM (PKCS#8, as ``openssl genpkey -algorithm ed25519`` writes) or OpenSSH
(``ssh-keygen -t ed25519``) private keys; a passphrase is read from the environment variable
``UNDONE_SIGNING_KEY_PASSPHRASE``. Public keys: PEM, an OpenSSH ``ssh-ed25519`` line, or the
private key file itself.
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
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from scanner import clock, safeio
from scanner.errors import InputError
from scanner.redact import Redactor

SCHEMA = "undone.evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
KEY_ENV = "UNDONE_SIGNING_KEY"
PASSPHRASE_ENV = "UNDONE_SIGNING_KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
PUBLIC_KEY_ENV = "UNDONE_EVIDENCE_PUBLIC_KEY"  # the trusted signer(s), configured once
MAX_TOTAL = 2 * 1024 ** 3  # bytes verify reads in all (a ZIP bomb stops here)
MAX_MEMBERS = 100_000
MAX_MANIFEST = 64 * 1024 ** 2
MAX_SIGNATURE = 4096
CHUNK = 1024 ** 2
MAX_COPIED = 64 * 1024 ** 2  # an inventory or waivers file copied into a bundle
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


MAX_KEY_FILE = 1024 ** 2


def _read_key_file(path: str) -> bytes:
    try:  # a regular file, bounded: never a FIFO that would hang, nor /dev/zero
        return safeio.read_regular(path, MAX_KEY_FILE)
    except OSError as e:
        raise InputError(f"{path}: cannot read the key: {e.strerror or e}") from None


def load_private_key(path: str) -> Ed25519PrivateKey:
    data = _read_key_file(path)
    secret = os.environ.get(PASSPHRASE_ENV)
    password = secret.encode("utf-8") if secret else None
    key: Any = None
    problem = "not a PEM or OpenSSH private key"
    for loader in (serialization.load_pem_private_key, serialization.load_ssh_private_key):
        try:
            key = loader(data, password=password)
            break
        except TypeError:
            problem = f"the key is encrypted: put its passphrase in ${PASSPHRASE_ENV}"
        except (ValueError, UnicodeError):
            if password is not None and problem.startswith("not a"):
                problem = (f"not a PEM or OpenSSH private key, or the passphrase in "
                           f"${PASSPHRASE_ENV} is wrong")
    if key is None:
        raise InputError(f"{path}: {problem}")
    if not isinstance(key, Ed25519PrivateKey):
        kind = type(key).__name__.replace("PrivateKey", "").lstrip("_")
        raise InputError(f"{path}: the key is {kind}; "
                         "evidence is signed with Ed25519 (openssl genpkey -algorithm ed25519 "
                         "-out key.pem, or undone evidence keygen)")
    return key


def load_public_key(path: str) -> Ed25519PublicKey:
    data = _read_key_file(path)
    key: Any = None
    text = data.strip()
    try:
        if text.startswith(b"ssh-"):
            key = serialization.load_ssh_public_key(text.splitlines()[0])
        elif b"PRIVATE KEY" in text:
            key = load_private_key(path).public_key()
        else:
            key = serialization.load_pem_public_key(text)
    except (ValueError, TypeError, UnicodeError):
        key = None
    if key is None:
        raise InputError(f"{path}: not a PEM or OpenSSH public key")
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: not an Ed25519 public key")
    return key


def load_public_keys(path: str) -> list[Ed25519PublicKey]:
    """The trusted signers in ``path``: one key (PEM, OpenSSH line or private key), or several
    ``ssh-ed25519`` lines, one per signer (comments and blank lines are skipped)."""
    data = _read_key_file(path)
    lines = [ln.strip() for ln in data.splitlines()
             if ln.strip() and not ln.strip().startswith(b"#")]
    if len(lines) > 1 and all(ln.startswith(b"ssh-") for ln in lines):
        keys = []
        for i, ln in enumerate(lines, 1):
            try:
                key = serialization.load_ssh_public_key(ln)
            except (ValueError, TypeError, UnicodeError):
                raise InputError(f"{path}: line {i} is not an OpenSSH public key") from None
            if not isinstance(key, Ed25519PublicKey):
                raise InputError(f"{path}: line {i} is not an Ed25519 public key")
            keys.append(key)
        return keys
    return [load_public_key(path)]


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` shows it for the same key."""
    blob = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    digest = hashlib.sha256(base64.b64decode(blob.split()[1])).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def keygen(path: str) -> tuple[str, str]:
    """Write a new Ed25519 private key (PEM, mode 0600) and its public key (``path.pub``)."""
    key = Ed25519PrivateKey.generate()
    pub_path = path + ".pub"
    for p in (path, pub_path):
        if os.path.lexists(p):
            raise InputError(f"{p}: already exists; not overwriting a key")
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    try:  # new files only (O_EXCL), never through a link
        with safeio.open_new(path, 0o600) as f:
            f.write(pem)
        with safeio.open_new(pub_path, 0o644) as f:
            f.write(pub)
    except OSError as e:
        raise InputError(f"{e.filename or path}: cannot write the key: {e.strerror or e}"
                         ) from None
    return path, pub_path


def _safe(name: str) -> str:
    s = _SAFE.sub("_", name).strip("._") or "host"
    return s[:120]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_target(target: str) -> None:
    """Refuse, before scanning, a bundle path that exists (a folder must be empty and not a
    link) or whose folder cannot be written."""
    p = Path(target)
    what = f"--evidence {target}"
    if target.lower().endswith(".zip"):
        if os.path.lexists(target):
            raise InputError(f"{what}: already exists; give a new file name")
        if not p.parent.exists():
            raise InputError(f"{what}: folder {p.parent} does not exist")
        safeio.check_folder_writable(str(p.parent), what)
        return
    if p.is_symlink():
        raise InputError(f"{what}: is a symbolic link; give a new or empty folder")
    if p.exists():
        if not p.is_dir() or any(p.iterdir()):
            raise InputError(f"{what}: exists and is not an empty folder")
        safeio.check_folder_writable(target, what)
        return
    parent = os.path.dirname(os.path.abspath(target))
    while not os.path.exists(parent):  # the folders it would create
        parent = os.path.dirname(parent)
    safeio.check_folder_writable(parent, what)


def bundle_files(doc: dict[str, Any], inventory_path: str | None = None,
                 waivers_path: str | None = None,
                 baselines: Iterable[tuple[str, str]] = (),
                 redactor: Redactor | None = None) -> dict[str, bytes]:
    """The files of a bundle (without manifest and signature), by path inside the bundle.

    ``baselines``: (name, text) of each baseline used. ``redactor`` masks credentials written
    into the inventory's backup repository strings in its copy (scanner/redact.py); the
    document is masked by the caller."""
    redactor = redactor or Redactor()
    files: dict[str, bytes] = {}
    files["result.json"] = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    used: set[str] = set()
    for h in [*doc.get("hosts", []), *doc.get("networks", [])]:  # networks: nmap's reports
        folder = _safe(h["name"])
        n = 2
        while folder in used:
            folder = f"{_safe(h['name'])}-{n}"
            n += 1
        used.add(folder)
        for section, rec in sorted((h.get("sections") or {}).items()):
            files[f"sections/{folder}/{_safe(section)}.out"] = str(
                rec.get("stdout") or "").encode("utf-8")
            if rec.get("stderr"):
                files[f"sections/{folder}/{_safe(section)}.err"] = str(
                    rec["stderr"]).encode("utf-8")
    for folder, path in (("inventory", inventory_path), ("waivers", waivers_path)):
        if path:
            try:
                files[f"{folder}/{_safe(os.path.basename(path))}"] = redactor.bytes(
                    safeio.read_regular(path, MAX_COPIED))
            except OSError as e:
                raise InputError(f"{path}: cannot read for the evidence bundle: "
                                 f"{e.strerror or e}") from None
    for name, text in baselines:
        files[f"baselines/{_safe(name)}.yaml"] = text.encode("utf-8")
    return files


def manifest(files: dict[str, bytes], doc: dict[str, Any], key: Ed25519PublicKey,
             now: datetime | None = None) -> bytes:
    body = {
        "schema": SCHEMA,
        "created_at": (now or clock.now()).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": doc.get("tool") or {},
        "scan": (doc.get("scan") or {}).get("id"),
        "signature": {"algorithm": "ed25519", "file": SIGNATURE,
                      "public_key": base64.b64encode(_raw(key)).decode("ascii"),
                      "fingerprint": fingerprint(key)},
        "files": {p: {"sha256": _sha256(b), "bytes": len(b)} for p, b in sorted(files.items())},
    }
    return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write(target: str, doc: dict[str, Any], key: Ed25519PrivateKey,
          inventory_path: str | None = None, waivers_path: str | None = None,
          baselines: Iterable[tuple[str, str]] = (), now: datetime | None = None,
          redactor: Redactor | None = None) -> int:
    """Write a signed bundle to ``target`` (a folder, or a ZIP when it ends in .zip); returns
    the number of files sealed. Every file is created 0600 (folders 0700), never through a
    link; a ZIP is written under an unpredictable temporary name and moved into place."""
    files = bundle_files(doc, inventory_path, waivers_path, baselines, redactor)
    man = manifest(files, doc, key.public_key(), now)
    sig = base64.b64encode(key.sign(man)) + b"\n"
    everything = {**files, MANIFEST: man, SIGNATURE: sig}
    if target.lower().endswith(".zip"):
        if os.path.lexists(target):
            raise InputError(f"--evidence {target}: already exists; give a new file name")
        with safeio.replacing(target, "--evidence") as f, zipfile.ZipFile(
                f, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for path, data in everything.items():
                info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # unix: the mode below is a regular file's
                info.external_attr = (stat.S_IFREG | 0o600) << 16
                z.writestr(info, data)
    else:
        if os.path.islink(target):
            raise InputError(f"--evidence {target}: is a symbolic link; give a new or empty "
                             "folder")
        safeio.private_dir(target)
        root = Path(target)
        for path, data in everything.items():
            p = root / path
            safeio.private_dir(str(p.parent))
            with safeio.open_new(str(p)) as f:
                f.write(data)
    return len(files)


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

