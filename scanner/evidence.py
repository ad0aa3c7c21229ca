"""Evidence bundles: what a scan found and what it was judged against, sealed with Ed25519.

A bundle is a folder or a ZIP file (the name ends in ``.zip``) holding::

    result.json                         the result document
    sections/<host>/<section>.out       each probe section's standard output, as collected
    sections/<host>/<section>.err       its standard error, when there was any
    inventory/<file>                    the inventory (secrets are only ever references in it)
    waivers/<file>                      the waivers file given with --waivers, if any
    baselines/<name>.yaml               every baseline used (its SHA-256 is in result.json)
    manifest.json                       SHA-256 and size of every file above, the scan id,
                                        and the signer's public key
    manifest.sig                        Ed25519 signature of manifest.json's exact bytes (base64)

:func:`verify` checks the signature, then every file against the manifest, and names each file
that changed, is missing or was added. Without ``--public-key`` the key inside the bundle is
used, which proves the bundle is intact but not who sealed it; give the signer's public key to
prove both.

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
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from scanner import clock
from scanner.errors import InputError

SCHEMA = "undone.evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
KEY_ENV = "UNDONE_SIGNING_KEY"
PASSPHRASE_ENV = "UNDONE_SIGNING_KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
MAX_MEMBER = 512 * 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _read_key_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
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
        if os.path.exists(p):
            raise InputError(f"{p}: already exists; not overwriting a key")
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    Path(pub_path).write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path, pub_path


def _safe(name: str) -> str:
    s = _SAFE.sub("_", name).strip("._") or "host"
    return s[:120]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_target(target: str) -> None:
    """Refuse, before scanning, a bundle path that exists (a folder must be empty)."""
    p = Path(target)
    if target.lower().endswith(".zip"):
        if p.exists():
            raise InputError(f"--evidence {target}: already exists; give a new file name")
        if not p.parent.exists():
            raise InputError(f"--evidence {target}: folder {p.parent} does not exist")
    elif p.exists() and (not p.is_dir() or any(p.iterdir())):
        raise InputError(f"--evidence {target}: exists and is not an empty folder")


def bundle_files(doc: dict[str, Any], inventory_path: str | None = None,
                 waivers_path: str | None = None,
                 baselines: Iterable[tuple[str, str]] = ()) -> dict[str, bytes]:
    """The files of a bundle (without manifest and signature), by path inside the bundle.

    ``baselines``: (name, text) of each baseline used."""
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
                files[f"{folder}/{_safe(os.path.basename(path))}"] = Path(path).read_bytes()
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
          baselines: Iterable[tuple[str, str]] = (), now: datetime | None = None) -> int:
    """Write a signed bundle to ``target`` (a folder, or a ZIP when it ends in .zip); returns
    the number of files sealed."""
    files = bundle_files(doc, inventory_path, waivers_path, baselines)
    man = manifest(files, doc, key.public_key(), now)
    sig = base64.b64encode(key.sign(man)) + b"\n"
    everything = {**files, MANIFEST: man, SIGNATURE: sig}
    if target.lower().endswith(".zip"):
        tmp = f"{target}.tmp-{os.getpid()}"
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for path, data in everything.items():
                info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                z.writestr(info, data)
        os.replace(tmp, target)
    else:
        root = Path(target)
        root.mkdir(parents=True, exist_ok=True)
        for path, data in everything.items():
            p = root / path
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
    return len(files)


@dataclass
class Verdict:
    ok: bool = True
    problems: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0
    signer: str | None = None
    key_source: str = "bundle"
    scan: str | None = None

    def add(self, path: str, what: str) -> None:
        self.ok = False
        self.problems.append((path, what))


def _read_bundle(bundle: str, v: Verdict) -> dict[str, bytes]:
    p = Path(bundle)
    if not p.exists():
        raise InputError(f"{bundle}: no such file or folder")
    out: dict[str, bytes] = {}
    if p.is_dir():
        for f in sorted(p.rglob("*")):
            rel = f.relative_to(p).as_posix()
            if f.is_symlink():
                v.add(rel, "is a symbolic link, not part of a bundle")
            elif f.is_file():
                out[rel] = f.read_bytes()
        return out
    try:
        z = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as e:
        raise InputError(f"{bundle}: not an evidence bundle (not a folder or a ZIP file: {e})"
                         ) from None
    with z:
        for info in z.infolist():
            if info.is_dir():
                continue
            if info.file_size > MAX_MEMBER:
                v.add(info.filename, "too large to be part of a bundle")
                continue
            try:
                out[info.filename] = z.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
                v.add(info.filename, f"damaged inside the ZIP file ({e})")
                out[info.filename] = b""
            except Exception as e:  # zlib.error and friends: the member is damaged  # noqa: BLE001 - one failure must not stop the rest
                v.add(info.filename, f"damaged inside the ZIP file ({type(e).__name__})")
                out[info.filename] = b""
    return out


def verify(bundle: str, public_key: Ed25519PublicKey | None = None) -> Verdict:
    """Check a bundle: signature over the manifest, then every file against the manifest."""
    v = Verdict(key_source="given" if public_key is not None else "bundle")
    files = _read_bundle(bundle, v)
    damaged = {path for path, _ in v.problems}
    if MANIFEST not in files:
        raise InputError(f"{bundle}: not an evidence bundle (no {MANIFEST})")
    man_bytes = files.pop(MANIFEST)
    sig_bytes = files.pop(SIGNATURE, None)
    try:
        man = json.loads(man_bytes)
        if not isinstance(man, dict) or man.get("schema") != SCHEMA or not isinstance(
                man.get("files"), dict):
            raise ValueError("not an undone evidence manifest")
    except (ValueError, UnicodeDecodeError) as e:
        if MANIFEST not in damaged:
            v.add(MANIFEST, f"changed: no longer a valid manifest ({e})")
        man = {"files": {}}
    v.scan = man.get("scan") if isinstance(man.get("scan"), str) else None
    embedded: Ed25519PublicKey | None = None
    try:
        embedded = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(man["signature"]["public_key"], validate=True))
    except (KeyError, TypeError, ValueError):
        embedded = None
    key = public_key or embedded
    if key is None:
        v.add(MANIFEST, "changed: the signer's public key in it is unreadable "
                        "(give --public-key to check the signature)")
    elif sig_bytes is None:
        v.add(SIGNATURE, "missing: the bundle is not signed")
    else:
        v.signer = fingerprint(key)
        if public_key is not None and embedded is not None and _raw(embedded) != _raw(public_key):
            v.add(MANIFEST, f"signed by another key ({fingerprint(embedded)}), not the one given "
                            f"({fingerprint(public_key)})")
        try:
            key.verify(base64.b64decode(sig_bytes.strip(), validate=True), man_bytes)
        except (InvalidSignature, ValueError):
            if MANIFEST not in damaged and SIGNATURE not in damaged:
                v.add(f"{MANIFEST} or {SIGNATURE}",
                      "changed: the signature does not match the manifest")
    listed: dict[str, Any] = man.get("files") or {}
    for path, meta in sorted(listed.items()):
        if path in damaged:
            continue
        data = files.get(path)
        if data is None:
            v.add(path, "missing")
        elif not isinstance(meta, dict) or _sha256(data) != meta.get("sha256"):
            v.add(path, "changed: its SHA-256 does not match the manifest")
    for path in sorted(set(files) - set(listed) - damaged):
        v.add(path, "added: not in the manifest")
    v.files = len(listed)
    return v


def report_lines(bundle: str, v: Verdict) -> list[str]:
    if v.ok:
        who = (f"signed by {v.signer}" + (" (the key given)" if v.key_source == "given" else
                                          " (the key inside the bundle: give --public-key to "
                                          "check who signed)"))
        return [f"{bundle}: ok: {v.files} files match the manifest, {who}"]
    return [f"{bundle}: {path}: {what}" for path, what in v.problems]


def read_member(bundle: str, name: str) -> bytes:
    """One file of a bundle (tests and tools)."""
    p = Path(bundle)
    if p.is_dir():
        return (p / name).read_bytes()
    with zipfile.ZipFile(p) as z:
        return z.read(name)

