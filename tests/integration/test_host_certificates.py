"""``@cert-authority`` with real OpenSSH host certificates (issue 15, H1): a real ``sshd`` on
127.0.0.1 with a ``HostCertificate`` that ``ssh-keygen -s`` signed, and the SSH transport judging
it through undone's own certificate checks (paramiko verifies the key exchange with the
certified key but not the certificate: scanner/engine/transports/knownhosts.py, hostcerts.py).

Before the fix a ``@cert-authority`` line was not understood: the host was "unknown" at best,
and the line's failure to parse made every host fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from scanner.engine.transports import ssh
from scanner.errors import HostKeyError
from scanner.inventory import Host

pytestmark = pytest.mark.integration
SSHD = "/usr/sbin/sshd"
needs_sshd = pytest.mark.skipif(not (os.path.exists(SSHD) and shutil.which("ssh-keygen")
                                     and os.geteuid() == 0),
                                reason="needs OpenSSH's sshd and ssh-keygen, as root")


def keygen(*args: str) -> None:
    subprocess.run(["ssh-keygen", "-q", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("certs")
    out = {}
    for name in ("ca", "other_ca", "host", "client"):
        keygen("-t", "ed25519", "-N", "", "-f", str(d / name))
        out[name] = d / name
    return out


def sign(keys: dict[str, Path], d: Path, name: str, ca: str = "ca",
         principals: str | None = "127.0.0.1", validity: str = "-5m:+1h") -> Path:
    """A host certificate for the host key, as ``name``-cert.pub."""
    pub = d / f"{name}.pub"
    shutil.copy(keys["host"].with_suffix(".pub"), pub)
    args = ["-s", str(keys[ca]), "-I", f"undone-test-{name}", "-h", "-V", validity]
    if principals is not None:
        args += ["-n", principals]
    keygen(*args, str(pub))
    return d / f"{name}-cert.pub"


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


@contextmanager
def sshd(keys: dict[str, Path], d: Path, cert: Path) -> Iterator[int]:
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    port = _free_port()
    auth = d / "authorized_keys"
    auth.write_text(keys["client"].with_suffix(".pub").read_text())
    cfg = d / f"sshd_config_{port}"
    cfg.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys['host']}\nHostCertificate {cert}\n"
        f"AuthorizedKeysFile {auth}\nPermitRootLogin prohibit-password\nStrictModes no\n"
        f"PasswordAuthentication no\nUsePAM no\nPidFile {d}/sshd_{port}.pid\nLogLevel ERROR\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(cfg)], stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


def connect(keys: dict[str, Path], d: Path, port: int, known: str,
            tofu: bool = False) -> dict[str, Any]:
    kh = d / f"known_hosts_{port}"
    kh.write_text(known)
    host = Host(name="h", address="127.0.0.1", port=port, user="root",
                key_file=str(keys["client"]), known_hosts=str(kh), trust_on_first_use=tofu)
    conn = ssh.Connector(str(d / "own_known_hosts"))
    client, info = conn.client(host, ssh.Options(connect_timeout=5))
    conn.release(client)
    return info


def ca_line(keys: dict[str, Path], ca: str = "ca", marker: str = "@cert-authority",
            patterns: str = "127.0.0.1,[127.0.0.1]:*") -> str:
    return f"{marker} {patterns} {keys[ca].with_suffix('.pub').read_text().strip()}\n"


@needs_sshd
def test_host_certificate_signed_by_a_trusted_authority_is_accepted(
        keys: dict[str, Path], tmp_path: Path) -> None:
    with sshd(keys, tmp_path, sign(keys, tmp_path, "good")) as port:
        info = connect(keys, tmp_path, port, "# only the CA is on record\n" + ca_line(keys))
    key = info["host_key"]
    assert key["certificate"]["key_id"] == "undone-test-good"
    assert key["certificate"]["authority_of"].startswith("line 2 of ")
    assert key["accepted_on_first_use"] is False
    host_pub = keys["host"].with_suffix(".pub").read_text().split()
    assert key["type"] == host_pub[0]
    # nothing was recorded: a certificate is not a key to remember
    assert not (tmp_path / "own_known_hosts").exists()


@needs_sshd
@pytest.mark.parametrize(("case", "why"), [
    ("expired", "has expired"),
    ("not_yet", "is not valid yet"),
    ("other_host", "is not issued for 127.0.0.1"),
    ("no_principals", "names no host"),
])
def test_a_bad_host_certificate_is_refused_with_the_reason(
        keys: dict[str, Path], tmp_path: Path, case: str, why: str) -> None:
    cert = {
        "expired": lambda: sign(keys, tmp_path, case, validity="20200101:20200102"),
        "not_yet": lambda: sign(keys, tmp_path, case, validity="+1d:+2d"),
        "other_host": lambda: sign(keys, tmp_path, case, principals="db.example.com"),
        "no_principals": lambda: sign(keys, tmp_path, case, principals=None),
    }[case]()
    with sshd(keys, tmp_path, cert) as port, pytest.raises(HostKeyError) as e:
        connect(keys, tmp_path, port, ca_line(keys), tofu=True)  # TOFU cannot override it
    assert "host certificate" in str(e.value) and why in str(e.value)


@needs_sshd
def test_a_revoked_authority_or_an_untrusted_one(keys: dict[str, Path], tmp_path: Path) -> None:
    cert = sign(keys, tmp_path, "good")
    with sshd(keys, tmp_path, cert) as port:
        # a revoked authority is not asked for certificates at all: the plain key is unknown
        with pytest.raises(HostKeyError, match="is not in known_hosts"):
            connect(keys, tmp_path, port, ca_line(keys) + ca_line(keys, marker="@revoked",
                                                                  patterns="*"))
        # signed by an authority nobody trusts: judged as its plain key, which is unknown
        with pytest.raises(HostKeyError, match="is not in known_hosts"):
            connect(keys, tmp_path, port, ca_line(keys, "other_ca"))
        # ... or known
        plain = keys["host"].with_suffix(".pub").read_text().split()
        info = connect(keys, tmp_path, port, ca_line(keys, "other_ca")
                       + f"[127.0.0.1]:{port} {plain[0]} {plain[1]}\n")
        assert "certificate" not in info["host_key"]


@needs_sshd
def test_decisions_on_a_real_certificate(keys: dict[str, Path], tmp_path: Path) -> None:
    """The certificate checks themselves, on a certificate ssh-keygen signed."""
    import base64

    from scanner.engine.transports import hostcerts, knownhosts

    blob = base64.b64decode(sign(keys, tmp_path, "c").read_text().split()[1])
    cert = hostcerts.parse_certificate(blob)
    assert cert.principals == ("127.0.0.1",) and cert.key_id == "undone-test-c"
    plain = base64.b64decode(keys["host"].with_suffix(".pub").read_text().split()[1])
    assert cert.key_blob == plain
    entries = [e for e in (knownhosts.parse_line(ca_line(keys).strip(), "kh", 1),
                           knownhosts.parse_line(ca_line(keys, "other_ca", "@revoked", "*")
                                                 .strip(), "kh", 2)) if e is not None]
    d = knownhosts.decide(entries, "[127.0.0.1]:2222", "127.0.0.1", plain, blob)
    assert d.state == "certificate"
    revoked = [*entries, knownhosts.parse_line(ca_line(keys, "ca", "@revoked", "*").strip(),
                                               "kh", 3)]
    d = knownhosts.decide([e for e in revoked if e], "[127.0.0.1]:2222", "127.0.0.1", plain,
                          blob)
    assert d.state == "revoked" and "line 3 of kh" in d.reason
    # a forged signature: one byte of the signed part changed
    forged = bytearray(blob)
    forged[40] ^= 1
    d = knownhosts.decide(entries, "[127.0.0.1]:2222", "127.0.0.1", plain, bytes(forged))
    assert d.state == "bad-certificate" and "signature does not verify" in d.reason
