"""Evidence bundles: verify passes on an intact bundle, and names any file with one byte changed,
in a folder or a ZIP; the command line gives 0, 1 or 2."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from scanner import evidence
from scanner.errors import InputError
from tests.unit.test_reports import HOSTILE, doc

ROOT = Path(__file__).parents[2]


def undone(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


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
    v = evidence.verify(str(bundle), evidence.load_public_key(str(key) + ".pub"))
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
            v = evidence.verify(str(bundle))
            assert not v.ok, rel
            assert any(rel in p for p, _ in v.problems), (rel, v.problems)
        finally:
            path.write_bytes(original)
    assert evidence.verify(str(bundle)).ok


def test_zip_bundle_names_a_changed_member(tmp_path: Path, key: Path) -> None:
    bundle = make(tmp_path, key, "bundle.zip")
    assert evidence.verify(str(bundle)).ok
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
        v = evidence.verify(str(damaged))
        assert not v.ok and any(name in p for p, _ in v.problems), (name, v.problems)


def test_added_missing_and_other_signer(tmp_path: Path, key: Path) -> None:
    bundle = make(tmp_path, key, "bundle")
    (bundle / "extra.txt").write_text("x")
    (bundle / "sections/etc_web1/posix.sshd.err").unlink()
    v = evidence.verify(str(bundle))
    assert ("extra.txt", "added: not in the manifest") in v.problems
    assert ("sections/etc_web1/posix.sshd.err", "missing") in v.problems
    other = tmp_path / "other.pem"
    evidence.keygen(str(other))
    sub = tmp_path / "sub"
    sub.mkdir()
    v = evidence.verify(str(make(sub, key, "b2")), evidence.load_public_key(str(other) + ".pub"))
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
