"""Evidence bundles: verify passes on an intact bundle, and names any file with one byte changed,
in a folder or a ZIP; the command line gives 0, 1 or 2."""

from __future__ import annotations

import base64
import json
import os
import stat
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanner.errors import InputError
from scanner.ops import evidence
from scanner.ops import evidence_verify as evidence_verify_mod
from tests.unit.reports.test_reports import HOSTILE, doc

ROOT = Path(__file__).parents[4]


def undone(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("UNDONE_")}
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, env={**full, **(env or {})})


def sample_doc() -> dict[str, Any]:
    d = doc()
    d["hosts"][0]["sections"] = {
        "posix.os": {"status": "ok", "error": None, "collected_at": "2026-11-22T00:00:00Z",
                     "sha256": "0" * 64, "truncated": False, "stdout": "ID=debian\n" + HOSTILE,
                     "stderr": ""},
        "posix.sshd": {"status": "ok", "error": None, "collected_at": "2026-11-22T00:00:00Z",
                       "sha256": "1" * 64, "truncated": False, "stdout": "permitrootlogin no\n",
                       "stderr": "warning: something\n"}}
    d["hosts"][0]["name"] = "../../etc/web1"  # a name is never a path
    return d


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "signing.pem"
    evidence.keygen(str(path))
    return path


def make(tmp_path: Path, key: Path, name: str) -> Path:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("all: {hosts: {web1: {address: 192.0.2.1, password_env: WEB1_PASSWORD}}}\n")
    target = tmp_path / name
    n = evidence.write(str(target), sample_doc(), evidence.load_private_key(str(key)),
                       inventory_path=str(inv), baselines=[("mine", "baseline: {}\n")])
    assert n == 6
    return target


def test_folder_bundle_verifies_and_names_every_changed_file(tmp_path: Path, key: Path) -> None:
    bundle = make(tmp_path, key, "bundle")
    files = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    assert files == ["baselines/mine.yaml", "inventory/inventory.yaml", "manifest.json",
                     "manifest.sig", "result.json", "sections/etc_web1/posix.os.out",
                     "sections/etc_web1/posix.sshd.err", "sections/etc_web1/posix.sshd.out"]
    v = evidence_verify_mod.verify(str(bundle), evidence.load_public_key(str(key) + ".pub"))
    assert v.ok and v.files == 6 and v.key_source == "given"
    man = json.loads((bundle / "manifest.json").read_text())
    assert man["scan"] == "20261122T000000Z-abc123"
    assert "WEB1_PASSWORD" in (bundle / "inventory/inventory.yaml").read_text()  # a reference
    for rel in files:
        path = bundle / rel
        original = path.read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 0x01
        path.write_bytes(bytes(changed))
        try:
            v = evidence_verify_mod.verify(str(bundle))
            assert not v.ok, rel
            assert any(rel in p for p, _ in v.problems), (rel, v.problems)
        finally:
            path.write_bytes(original)
    assert evidence_verify_mod.verify(str(bundle)).ok


def test_zip_bundle_names_a_changed_member(tmp_path: Path, key: Path) -> None:
    bundle = make(tmp_path, key, "bundle.zip")
    assert evidence_verify_mod.verify(str(bundle)).ok
    with zipfile.ZipFile(bundle) as z:
        infos = {i.filename: i for i in z.infolist()}
    data = bytearray(bundle.read_bytes())
    for name in ("result.json", "sections/etc_web1/posix.os.out", "manifest.json"):
        info = infos[name]
        # the member's data starts after its local header (30 bytes + name + extra)
        start = info.header_offset + 30 + len(name.encode()) + len(info.extra)
        changed = bytearray(data)
        changed[start + info.compress_size // 2] ^= 0x01
        damaged = tmp_path / "damaged.zip"
        damaged.write_bytes(bytes(changed))
        v = evidence_verify_mod.verify(str(damaged))
        assert not v.ok and any(name in p for p, _ in v.problems), (name, v.problems)


def test_added_missing_and_other_signer(tmp_path: Path, key: Path) -> None:
    bundle = make(tmp_path, key, "bundle")
    (bundle / "extra.txt").write_text("x")
    (bundle / "sections/etc_web1/posix.sshd.err").unlink()
    v = evidence_verify_mod.verify(str(bundle))
    assert ("extra.txt", "added: not in the manifest") in v.problems
    assert ("sections/etc_web1/posix.sshd.err", "missing") in v.problems
    other = tmp_path / "other.pem"
    evidence.keygen(str(other))
    sub = tmp_path / "sub"
    sub.mkdir()
    v = evidence_verify_mod.verify(str(make(sub, key, "b2")), evidence.load_public_key(str(other) + ".pub"))
    assert not v.ok and any("signed by another key" in w for _, w in v.problems)


def test_command_line_exit_codes(tmp_path: Path, key: Path) -> None:
    bundle = make(tmp_path, key, "bundle.zip")
    p = undone("evidence", "verify", str(bundle), "--public-key", str(key) + ".pub")
    assert p.returncode == 0, p.stderr
    assert "ok: 6 files match the manifest" in p.stdout and "(the key given)" in p.stdout
    folder = make(tmp_path, key, "folder")
    (folder / "result.json").write_bytes((folder / "result.json").read_bytes().replace(
        b'"fail"', b'"pass"', 1))
    p = undone("evidence", "verify", str(folder))
    assert p.returncode == 1
    assert f"{folder}: result.json: changed" in p.stderr and "Traceback" not in p.stderr
    for args in (["evidence", "verify", str(tmp_path / "nothing")],
                 ["evidence", "verify", str(tmp_path / "inventory.yaml")],
                 ["evidence", "verify", str(bundle), "--public-key", str(tmp_path / "nope")]):
        p = undone(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr


def test_keys(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="already exists"):
        k = tmp_path / "k.pem"
        evidence.keygen(str(k))
        evidence.keygen(str(k))
    assert (k.stat().st_mode & 0o777) == 0o600
    assert evidence.load_public_key(str(k)).public_bytes_raw() == \
        evidence.load_private_key(str(k)).public_key().public_bytes_raw()
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n")
    with pytest.raises(InputError, match="not a PEM or OpenSSH private key"):
        evidence.load_private_key(str(bad))
    with pytest.raises(InputError, match="exists and is not an empty folder"):
        evidence.check_target(str(k))
    (tmp_path / "b.zip").write_bytes(b"")
    with pytest.raises(InputError, match="already exists"):
        evidence.check_target(str(tmp_path / "b.zip"))
    evidence.check_target(str(tmp_path / "new-folder"))


# -- issue 15, M3: "ok" only for a bundle undone can vouch for; members no bundle holds; bombs ---

def resign(bundle: Path, key: Any) -> None:
    """What a forger does: edit a folder bundle's result, rebuild the manifest, sign with a key
    of their own (whose public half the manifest then carries)."""
    files = {p.relative_to(bundle).as_posix(): p.read_bytes() for p in bundle.rglob("*")
             if p.is_file() and p.name not in (evidence.MANIFEST, evidence.SIGNATURE)}
    files["result.json"] = files["result.json"].replace(b'"fail"', b'"pass"')
    (bundle / "result.json").write_bytes(files["result.json"])
    doc = json.loads(files["result.json"])
    man = evidence.manifest(files, doc, key.public_key())
    (bundle / evidence.MANIFEST).write_bytes(man)
    (bundle / evidence.SIGNATURE).write_bytes(base64.b64encode(key.sign(man)) + b"\n")


def test_a_bundle_resigned_with_another_key_is_never_ok_without_a_trusted_key(
        tmp_path: Path, key: Path) -> None:
    bundle = make(tmp_path, key, "bundle")
    pub = str(key) + ".pub"
    p = undone("evidence", "verify", str(bundle))
    assert p.returncode == 3, p.stdout + p.stderr  # intact, but who signed is not known
    assert "intact, signer not verified" in p.stderr and "--public-key" in p.stderr
    assert undone("evidence", "verify", str(bundle), "--public-key", pub).returncode == 0
    forged_key = Ed25519PrivateKey.generate()
    resign(bundle, forged_key)
    assert evidence_verify_mod.verify(str(bundle)).ok  # intact as the forger sealed it...
    p = undone("evidence", "verify", str(bundle))
    assert p.returncode == 3 and "ok:" not in p.stdout  # ...so never "ok" (was exit 0)
    p = undone("evidence", "verify", str(bundle), "--public-key", pub)
    assert p.returncode == 1 and "signed by another key" in p.stderr
    p = undone("evidence", "verify", str(bundle), env={"UNDONE_EVIDENCE_PUBLIC_KEY": pub})
    assert p.returncode == 1 and "signed by another key" in p.stderr
    # a file of trusted signers, one ssh-ed25519 line each: the forger's is not among them
    other = Ed25519PrivateKey.generate()
    trusted = tmp_path / "trusted_signers"
    trusted.write_bytes(b"# the provider's keys\n" + b"\n".join(
        k.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                    serialization.PublicFormat.OpenSSH)
        for k in (evidence.load_private_key(str(key)), other)) + b"\n")
    assert undone("evidence", "verify", str(bundle), "--public-key",
                  str(trusted)).returncode == 1
    (tmp_path / "g").mkdir()
    genuine = make(tmp_path / "g", key, "bundle.zip")
    p = undone("evidence", "verify", str(genuine), "--public-key", str(trusted))
    assert p.returncode == 0 and "ok: 6 files" in p.stdout


def _members(bundle: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(bundle) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def _rezip(target: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name, and writes it
        with zipfile.ZipFile(target, "w") as z:
            for info, data in members:
                z.writestr(info, data)
    return target


def _link(name: str, to: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def test_zip_members_no_bundle_holds_are_refused(tmp_path: Path, key: Path) -> None:
    genuine = make(tmp_path, key, "bundle.zip")
    members: list[tuple[zipfile.ZipInfo | str, bytes]] = list(_members(genuine))
    result = dict(_members(genuine))["result.json"]
    forged = result.replace(b'"fail"', b'"pass"')
    folder = zipfile.ZipInfo("extra/")
    cases = {
        # a second result.json after the genuine one: `unzip -n` keeps the first, other tools
        # the last; the manifest's hash holds for one of them only
        "result.json": [*members, ("result.json", forged)],
        "../result.json": [*members, ("../result.json", forged)],
        "/etc/cron.d/x": [*members, ("/etc/cron.d/x", b"* * * * * root id\n")],
        "sections\\etc_web1\\x.out": [*members, ("sections\\etc_web1\\x.out", b"x")],
        "extra/": [*members, (folder, b"data in a folder entry")],
        "sections/etc_web1/link.out": [*members, (_link("sections/etc_web1/link.out",
                                                        "/etc/shadow"), b"/etc/shadow")],
    }
    for name, content in cases.items():
        bad = _rezip(tmp_path / "bad.zip", content)
        v = evidence_verify_mod.verify(str(bad), evidence.load_public_key(str(key) + ".pub"))
        assert not v.ok and any(p == name for p, _ in v.problems), (name, v.problems)
        p = undone("evidence", "verify", str(bad), "--public-key", str(key) + ".pub")
        assert p.returncode == 1 and "Traceback" not in p.stderr, (name, p.stderr)
        assert "ok:" not in p.stdout
    dup = evidence_verify_mod.verify(str(_rezip(tmp_path / "dup.zip", cases["result.json"])))
    assert ("result.json", "appears 2 times in the ZIP file: a second copy could be extracted "
            "instead of the one checked; not a bundle undone wrote") in dup.problems
    assert evidence_verify_mod.verify(str(_rezip(tmp_path / "same.zip", members))).ok  # the control


def test_folder_bundle_with_a_fifo_or_a_linked_folder_is_refused_without_hanging(
        tmp_path: Path, key: Path) -> None:
    bundle = make(tmp_path, key, "bundle")
    os.mkfifo(bundle / "sections" / "pipe.out")
    (bundle / "linked").symlink_to("/etc", target_is_directory=True)
    v = evidence_verify_mod.verify(str(bundle))
    assert ("sections/pipe.out", "not a regular file, not part of a bundle") in v.problems
    assert ("linked", "is a symbolic link, not part of a bundle") in v.problems


def _raw_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A ZIP file from already-deflated members (name, raw deflate, CRC-32, size), as any
    tool could write it: zipfile would take minutes to compress gigabytes."""
    out, central = bytearray(), bytearray()
    for name, comp, crc, size in members:
        nb, off = name.encode(), len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(comp), size,
                           len(nb), 0) + nb + comp
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 20, 0, 8, 0, 0x21, crc,
                               len(comp), size, len(nb), 0, 0, 0, 0, 0o100600 << 16, off) + nb
    cd = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                                 len(central), cd, 0)
    return bytes(out)


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


@pytest.mark.slow
def test_a_zip_bomb_bundle_verifies_in_bounded_memory(tmp_path: Path) -> None:
    """3 MB on disk, three members of 1 GiB of zeros each, listed in a manifest the forger
    signed: verify reads at most MAX_TOTAL (2 GiB) in 1 MiB chunks. Before, each member was
    read whole: 3.6 GB of memory."""
    mib = 1 << 20
    zeros = b"\0" * mib
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = c.compress(zeros) + c.flush(zlib.Z_SYNC_FLUSH)  # byte-aligned, no back-references
    gib = piece * 1024 + b"\x03\x00"  # 1024 of them, then an empty final block
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(zeros, crc)
    key = Ed25519PrivateKey.generate()
    names = ["result.json", "sections/a/posix.os.out", "sections/b/posix.os.out"]
    man = json.dumps({"schema": evidence.SCHEMA, "scan": "x", "files": {
        n: {"sha256": "0" * 64, "bytes": 1024 * mib} for n in names}, "signature": {
        "algorithm": "ed25519", "file": evidence.SIGNATURE,
        "public_key": base64.b64encode(key.public_key().public_bytes_raw()).decode()}}).encode()
    sig = base64.b64encode(key.sign(man))
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(_raw_zip([(n, gib, crc, 1024 * mib) for n in names] + [
        (evidence.MANIFEST, _deflate(man), zlib.crc32(man), len(man)),
        (evidence.SIGNATURE, _deflate(sig), zlib.crc32(sig), len(sig))]))
    assert bomb.stat().st_size < 4 * mib
    # VmHWM, the peak of this process's own memory: getrusage's ru_maxrss keeps the peak of
    # the process it was forked from (a full test run's pytest) across exec
    code = ("import sys, time; from scanner.ops import evidence_verify; t = time.monotonic(); "
            "v = evidence_verify.verify(sys.argv[1]); "
            "hwm = [int(x.split()[1]) for x in open('/proc/self/status') "
            "if x.startswith('VmHWM:')][0]; "
            "print(v.ok, round(time.monotonic() - t, 1), hwm // 1024, "
            "[w for _, w in v.problems])")
    p = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    ok, seconds, rss_mib, rest = p.stdout.split(" ", 3)
    print(f"zip bomb: {bomb.stat().st_size} bytes, verified in {seconds}s, peak RSS "
          f"{rss_mib} MiB")
    assert ok == "False" and "not checked: the bundle holds more than undone verifies" in rest
    assert int(rss_mib) < 120  # the interpreter and undone's imports are ~60 MiB of it


def test_bundle_files_are_private_and_never_written_through_a_link(tmp_path: Path,
                                                                   key: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    target = tmp_path / "bundle.zip"
    # the temporary names undone 0.1.0 used: <target>.tmp-<pid>, opened following links
    (tmp_path / f"bundle.zip.tmp-{os.getpid()}").symlink_to(victim)
    make(tmp_path, key, "bundle.zip")
    assert victim.read_text() == "precious\n"
    assert (target.stat().st_mode & 0o777) == 0o600 and evidence_verify_mod.verify(str(target)).ok
    folder = make(tmp_path, key, "folder")
    for p in [folder, *folder.rglob("*")]:
        want = 0o700 if p.is_dir() else 0o600
        assert (p.stat().st_mode & 0o777) == want, p
    with pytest.raises(InputError, match="symbolic link"):
        (tmp_path / "linked").symlink_to(tmp_path / "elsewhere")
        evidence.check_target(str(tmp_path / "linked"))


def test_a_bundle_with_more_members_than_undone_verifies_is_refused_unread(
        tmp_path: Path, key: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """M3's member-count cap, as a ZIP file and as a folder (the cap lowered to the bundle's
    size, so that the test needs no 100,001 files): one line, before any member is hashed."""
    (tmp_path / "z").mkdir()
    genuine_zip = make(tmp_path / "z", key, "bundle.zip")
    genuine_dir = make(tmp_path, key, "bundle")
    pub = evidence.load_public_key(str(key) + ".pub")
    assert evidence_verify_mod.verify(str(genuine_zip), pub).ok and evidence_verify_mod.verify(str(genuine_dir), pub).ok
    monkeypatch.setattr(evidence_verify_mod, "MAX_MEMBERS", 3)
    hashed: list[str] = []
    real = evidence_verify_mod.hashlib.sha256
    monkeypatch.setattr(evidence_verify_mod.hashlib, "sha256", lambda *a: hashed.append("x") or real(*a))
    for bundle, words in ((genuine_zip, "verifies at most 3"), (genuine_dir, "more than 3")):
        with pytest.raises(InputError, match=words) as e:
            evidence_verify_mod.verify(str(bundle), pub)
        assert len(e.value.problems) == 1 and "\n" not in e.value.problems[0]
    assert hashed == []
