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
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from scanner import clock, safeio
from scanner.errors import InputError
from scanner.redact import Redactor
from scanner.result import ResultDocument

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


def bundle_files(doc: ResultDocument, inventory_path: str | None = None,
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


def manifest(files: dict[str, bytes], doc: ResultDocument, key: Ed25519PublicKey,
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


def write(target: str, doc: ResultDocument, key: Ed25519PrivateKey,
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
