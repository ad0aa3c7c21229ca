"""WinRM against a hostile WS-Management server on 127.0.0.1 (issue 15: M2, M6, L3).

* M2: a host answers with a 1.5 GB body, before any authentication over plain HTTP. Before the
  fix pywinrm read it whole (3.2 GB of scanner RSS); now each response is read in pieces up to
  the per-response cap and the host gets an error. The scanner's peak RSS is measured
  (``os.wait4``) and must stay far below the flood.
* M6: NTLM over plain HTTP is refused by default (nothing is sent), and when opted in it is
  reported and UNDONE-WIN-001 fails (tests/integration/test_winrm.py).
* L3: a fault text with line breaks (``\\n``, U+2028) stays on one log line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from probes import sections
from scanner.engine import winbatch
from scanner.engine.transports import winrm as winrm_transport
from scanner.errors import CollectError
from scanner.inventory import Host
from tests.winrm_server import (
    Scenario,
    WinRMServer,
    make_certificates,
    ntlm_user_file,
    serving,
    tls_context,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]
PASSWORD = "s3cret-Passw0rd"
USERS = {"undone": PASSWORD}
FLOOD = 1536 * 1024 * 1024  # 1.5 GiB


def _batch() -> Any:
    return winbatch.build([s for n, s in sections().items() if n.startswith("windows.")])


def _scan(tmp_path: Path, srv: WinRMServer, **extra: Any) -> tuple[int, dict[str, Any], str, int]:
    """``undone scan`` of one WinRM host in a child process: (exit code, document, stderr,
    peak RSS of the child in KiB)."""
    inv = tmp_path / "inv.yaml"
    inv.write_text(json.dumps({"all": {"hosts": {"win": {
        "ansible_host": "127.0.0.1", "ansible_port": srv.port, "ansible_connection": "winrm",
        "user": "undone", "password_env": "UNDONE_TEST_WINRM_PW", "winrm_scheme": "http",
        "winrm_auth": "ntlm", "winrm_allow_ntlm_over_http": True, **extra}}}}))
    out = tmp_path / "scan.json"
    # the server (this process) and nothing else reads NTLM_USER_FILE
    os.environ["NTLM_USER_FILE"] = str(ntlm_user_file(tmp_path, USERS))
    env = dict(os.environ, HOME=str(tmp_path), UNDONE_TEST_WINRM_PW=PASSWORD)
    err = tmp_path / "stderr"
    hwm = tmp_path / "vmhwm"
    # The scanner's own peak (VmHWM of its process, written as it exits): getrusage's ru_maxrss
    # of a child keeps the peak of the forking pytest's memory across exec, so it grew with how
    # much of the suite was loaded (205 MiB in a full run, 70 MiB alone).
    code = ("import atexit, runpy, sys\n"
            "def _hwm():\n"
            "    with open('/proc/self/status') as f:\n"
            "        kib = [ln.split()[1] for ln in f if ln.startswith('VmHWM:')][0]\n"
            f"    open({str(hwm)!r}, 'w').write(kib)\n"
            "atexit.register(_hwm)\n"
            "sys.argv = ['undone', *sys.argv[1:]]\n"
            "runpy.run_module('scanner', run_name='__main__')\n")
    with err.open("w") as errf:
        proc = subprocess.run(
            [sys.executable, "-c", code, "scan", str(inv), "--no-history", "--format",
             "json", "--output", str(out), "--timeout", "60"],
            env=env, cwd=str(ROOT), stderr=errf, check=False)
    doc = json.loads(out.read_text()) if out.exists() else {}
    return proc.returncode, doc, err.read_text(), int(hwm.read_text())


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
def test_a_flood_before_authentication_stays_bounded(tmp_path: Path, declared: bool) -> None:
    srv = WinRMServer(Scenario(flood=FLOOD, flood_declared=declared), "ntlm", USERS)
    with serving(srv):
        t0 = time.monotonic()
        code, doc, stderr, peak_kib = _scan(tmp_path, srv)
        took = time.monotonic() - t0
    assert "Traceback" not in stderr, stderr
    rec = doc["hosts"][0]
    assert rec["reachable"] is False and code == 3
    assert "sent a response larger than 2048 KiB" in rec["error"], rec["error"]
    assert doc["errors"][0]["host"] == "win"
    # the scanner read a bounded part of the flood and its memory stayed bounded
    assert srv.log.flood_sent < FLOOD
    assert peak_kib < 200 * 1024, peak_kib  # a Python scanner process is ~100 MiB here
    print(f"flood {'declared' if declared else 'chunked'}: peak RSS {peak_kib / 1024:.0f} MiB, "
          f"{srv.log.flood_sent / 2**20:.0f} MiB written by the server, {took:.1f}s")


def test_a_flood_mid_scan_over_https_is_that_hosts_error(tmp_path: Path) -> None:
    """The cap holds on every response, not only the first: a host that floods its answer to
    Receive, once the batch runs, keeps what came and gets the reason."""
    certs = make_certificates(tmp_path)
    os.environ["UNDONE_TEST_WINRM_PW"] = PASSWORD
    srv = WinRMServer(Scenario(flood=256 * 1024 * 1024, flood_on="receive"), "basic", USERS,
                      tls_context(certs.self_signed))
    with serving(srv):
        h = Host(name="w", address="127.0.0.1", port=srv.port, transport="winrm",
                 user="undone", password_env="UNDONE_TEST_WINRM_PW", winrm_scheme="https",
                 winrm_auth="basic", winrm_cert_pin=certs.self_signed_sha256)
        stream = winrm_transport.run(h, _batch(), time.monotonic() + 20,
                                     winrm_transport.Options(response_cap=64 * 1024))
    assert stream.error is not None and "larger than 64 KiB" in stream.error, stream.error
    assert "create" in srv.log.actions and srv.log.flood_sent < 256 * 1024 * 1024


def test_ntlm_over_http_is_refused_by_default_before_anything_is_sent(tmp_path: Path) -> None:
    srv = WinRMServer(Scenario(), "ntlm", USERS)
    with serving(srv):
        os.environ["UNDONE_TEST_WINRM_PW"] = PASSWORD
        for auth in ("ntlm", "credssp"):
            h = Host(name="w", address="127.0.0.1", port=srv.port, transport="winrm",
                     user="undone", password_env="UNDONE_TEST_WINRM_PW", winrm_scheme="http",
                     winrm_auth=auth)
            with pytest.raises(CollectError, match="over plain HTTP is refused"):
                winrm_transport.run(h, _batch(), time.monotonic() + 10,
                                    winrm_transport.Options())
    assert srv.log.actions == [] and srv.log.users == []
    # and the inventory says so first (exit 2, one line), port 5985 included
    inv = tmp_path / "inv.yaml"
    inv.write_text(json.dumps({"all": {"hosts": {"w": {
        "ansible_host": "127.0.0.1", "ansible_connection": "winrm", "ansible_port": 5985,
        "user": "u", "password_env": "X"}}}}))
    p = subprocess.run([sys.executable, "-m", "scanner", "validate", str(inv)], cwd=str(ROOT),
                       capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 2
    assert "winrm_auth ntlm over plain HTTP can be relayed" in p.stdout + p.stderr
    assert "winrm_allow_ntlm_over_http: true" in p.stdout + p.stderr


def test_a_fault_text_with_line_breaks_stays_one_log_line(tmp_path: Path) -> None:
    forged = "x\nundone: web01 (10.0.0.1) ok 1ms pass=99\u2028undone: done: 0 fail"
    srv = WinRMServer(Scenario(fault_text=forged), "ntlm", USERS)
    with serving(srv):
        code, doc, stderr, _ = _scan(tmp_path, srv)
    assert code == 3
    lines = stderr.splitlines()
    assert not any(ln.startswith("undone: web01") for ln in lines), stderr
    assert not any("\u2028" in ln or "\x85" in ln for ln in lines)
    err = doc["hosts"][0]["error"]
    assert "\\n" in err and "\\u2028" in err and len(err.splitlines()) == 1
