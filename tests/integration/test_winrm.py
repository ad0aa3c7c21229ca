"""Windows over WinRM, end to end through the real transport code, against the WS-Management
test server (tests/winrm_server.py) on 127.0.0.1: no Windows host is involved.

One ``undone scan`` (a subprocess, as a user runs it) of an inventory of Windows hosts, each a
server of its own: real NTLM with message encryption over HTTP; Basic over HTTPS with a pinned
self-signed certificate, with a CA bundle, with validation turned off; an expired and an untrusted
certificate; a wrong password; a host that drops the connection mid-stream; one that never
answers; a section that throws and a Windows Update search that timed out. Then transport-level
checks (the output cap, the command line) by calling the transport directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from probes import sections
from scanner.engine import winbatch
from scanner.engine.transports import winrm as winrm_transport
from scanner.inventory import Host
from tests.clock import command
from tests.winrm_server import (
    Certificates,
    Scenario,
    WinRMServer,
    make_certificates,
    ntlm_user_file,
    serving,
    tls_context,
)

ROOT = Path(__file__).parents[2]
AT = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)  # when the Windows fixtures' ages were written
SCHEMA = json.loads((ROOT / "scanner" / "schema" / "scan.schema.json").read_text())
PASSWORD = "s3cret-Passw0rd"  # the test server's
USERS = {"undone": PASSWORD}


def workstation() -> Scenario:
    return (Scenario()
            .add("windows.os", "win11_pro_23h2")
            .add("windows.updates", "win11_pending_security")
            .add("windows.patch_history", "wua_history")
            .add("windows.defender", "normal")
            .add("windows.firewall", "all_on_defaults")
            .add("windows.accounts", "workstation_hardened")
            .add("windows.hardening", "hardened_laptop")
            .add("windows.backup", "none")
            .add("windows.applications", "current")
            .add("windows.browsers", "updating"))


def server_with_problems() -> Scenario:
    return (Scenario()
            .add("windows.os", "server2022_dc")
            .add("windows.updates", "wua_search_timeout")
            .add("windows.patch_history", "qfe_german_dates")
            .add("windows.defender", "server2016_null_fields_stale")
            .add("windows.firewall", "domain_allows_inbound_server")
            .add("windows.accounts", "domain_controller")
            .throws("windows.hardening",
                    "RuntimeException: You cannot call a method on a null-valued expression.")
            .add("windows.backup", "wsb_ok"))


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory, certs: Certificates) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("winrm")
    old = os.environ.get("NTLM_USER_FILE")
    os.environ["NTLM_USER_FILE"] = str(ntlm_user_file(d, USERS))
    servers = {
        "win-ntlm": WinRMServer(workstation(), "ntlm", USERS),
        "win-pinned": WinRMServer(server_with_problems(), "basic", USERS,
                                  tls_context(certs.self_signed)),
        "win-ca": WinRMServer(workstation(), "basic", USERS, tls_context(certs.good)),
        "win-expired": WinRMServer(workstation(), "basic", USERS, tls_context(certs.expired)),
        "win-untrusted": WinRMServer(workstation(), "basic", USERS, tls_context(certs.self_signed)),
        "win-novalidate": WinRMServer(workstation(), "basic", USERS,
                                      tls_context(certs.self_signed)),
        "win-badpw": WinRMServer(workstation(), "ntlm", USERS),
        "win-drop": WinRMServer(Scenario(workstation().answers, drop_after=2), "ntlm", USERS),
        "win-hang": WinRMServer(Scenario(workstation().answers, hang=True), "ntlm", USERS),
    }
    started = [serving(s) for s in servers.values()]
    for ctx in started:
        ctx.__enter__()
    try:
        # NTLM over plain HTTP is refused unless opted in (issue 15, M6); opted in here, and
        # reported (UNDONE-WIN-001 fails)
        ntlm = {"winrm_scheme": "http", "winrm_auth": "ntlm", "winrm_allow_ntlm_over_http": True}
        basic = {"winrm_scheme": "https", "winrm_auth": "basic"}
        extra: dict[str, dict[str, Any]] = {
            "win-ntlm": {**ntlm, "roles": ["endpoint"]},
            "win-pinned": {**basic, "winrm_cert_pin": certs.self_signed_sha256,
                           "roles": ["server", "domain-controller"]},
            "win-ca": {**basic, "winrm_ca_bundle": str(certs.ca), "roles": ["endpoint"]},
            "win-expired": {**basic, "winrm_ca_bundle": str(certs.ca)},
            "win-untrusted": dict(basic),
            "win-novalidate": {**basic, "winrm_cert_validation": False, "roles": ["endpoint"]},
            "win-badpw": {**ntlm, "password_env": "UNDONE_TEST_WINRM_BADPW"},
            "win-drop": {**ntlm, "roles": ["endpoint"]},
            "win-hang": {**ntlm, "timeout": 4},
        }
        hosts = {
            name: {"ansible_host": "127.0.0.1", "ansible_port": srv.port,
                   "ansible_connection": "winrm", "user": "undone",
                   "password_env": "UNDONE_TEST_WINRM_PW"} | extra[name]
            for name, srv in servers.items()
        }
        inv = d / "inventory.yaml"
        inv.write_text(json.dumps({"all": {"hosts": hosts}}), encoding="utf-8")
        out = d / "scan.json"
        env = dict(os.environ, HOME=str(d), UNDONE_TEST_WINRM_PW=PASSWORD,
                   UNDONE_TEST_WINRM_BADPW="not the password")
        env.pop("REQUESTS_CA_BUNDLE", None)
        t0 = time.monotonic()
        # the fixtures' dates are judged at the moment they were recorded, not on the day the
        # suite runs (a fix released 38 days before AT is 38 days old whenever this runs)
        p = subprocess.run(
            command(AT, "scan", str(inv), "--format", "json", "--output", str(out),
                    "--no-history", "--section-timeout", "40"),
            env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=240, check=False)
        elapsed = time.monotonic() - t0
        assert "Traceback" not in p.stderr, p.stderr
        doc = json.loads(out.read_text())
        yield {"code": p.returncode, "doc": doc, "stderr": p.stderr, "servers": servers,
               "elapsed": elapsed}
    finally:
        for ctx in started:
            ctx.__exit__(None, None, None)
        if old is None:
            os.environ.pop("NTLM_USER_FILE", None)
        else:
            os.environ["NTLM_USER_FILE"] = old


def host(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(h for h in doc["hosts"] if h["name"] == name)


def results(doc: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in doc["results"] if r["host"] == name}


def test_the_document_is_valid_and_the_exit_code_says_findings(scan: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.validate(scan["doc"], SCHEMA)
    assert scan["code"] == 1  # failures found (and some hosts unreachable)


def test_ntlm_over_http_with_message_encryption(scan: dict[str, Any]) -> None:
    h = host(scan["doc"], "win-ntlm")
    assert h["reachable"] and h["platform"] == "windows", h["error"]
    assert h["connection"]["message_encryption"] == "wsman"
    assert h["connection"]["ntlm_over_http"] is True and "relayed" in h["connection"]["warning"]
    assert h["facts"]["winrm.ntlm_over_http"] is True
    r = results(scan["doc"], "win-ntlm")["UNDONE-WIN-001"]
    assert r["status"] == "fail", r  # NTLM over HTTP, even opted in, is a finding
    log = scan["servers"]["win-ntlm"].log
    assert log.encrypted >= 5 and log.plain == 0  # every WS-Man message was encrypted
    assert log.actions[:3] == ["create", "command", "send"] and "delete" in log.actions
    script = log.scripts[0]
    assert "windows.updates" in script and script.isascii()
    assert all(s["status"] == "ok" for s in h["sections"].values()), h["sections"]


def test_facts_and_rules_of_a_windows_workstation(scan: dict[str, Any]) -> None:
    h = host(scan["doc"], "win-ntlm")
    f = h["facts"]
    assert f["os.build"] == 22631 and f["os.lifecycle_cycle"] == "11-23h2-w"
    assert f["updates.security_age_basis"] == "release-date"
    assert f["av.product"] == "Microsoft Defender Antivirus"
    r = results(scan["doc"], "win-ntlm")
    assert r["CE-SU-001"]["status"] == "fail"  # 23H2 Home/Pro ended in November 2025
    assert r["CE-SU-002"]["status"] == "fail"  # a critical fix released 38 days ago
    assert "updates.security_age_days is 38" in r["CE-SU-002"]["message"]
    assert r["CE-SU-003"]["status"] == "pass" and r["CE-SU-004"]["status"] == "fail"
    assert r["CE-FW-001"]["status"] == "pass"
    for rule in ("CE-MP-001", "CE-MP-002", "CE-MP-003", "CE-WIN-001", "CE-WIN-003",
                 "CE-WIN-004", "CE-WIN-005", "CE-WIN-006", "CE-WIN-007", "CE-WIN-008",
                 "CE-WIN-010", "PM-WIN-001", "PM-WIN-002", "PM-PAT-001"):
        assert r[rule]["status"] == "pass", (rule, r[rule]["message"])
    assert r["CE-WIN-002"]["status"] == "not_applicable"  # Remote Desktop is off
    assert r["CE-WIN-009"]["status"] == "manual"
    for rule in ("CE-SC-001", "CE-UA-001"):  # Linux-only rules do not apply, and say so
        assert (r[rule]["status"], r[rule]["na_reason"]) == ("not_applicable", "platform")
    assert h["sections"]["windows.os"]["script_sha256"]


def test_pinned_certificate_section_that_throws_and_wua_timeout(scan: dict[str, Any]) -> None:
    h = host(scan["doc"], "win-pinned")
    assert h["reachable"], h["error"]
    assert h["connection"]["certificate"]["validation"] == "pinned"
    sec = h["sections"]
    assert sec["windows.hardening"]["status"] == "error"
    assert "null-valued expression" in sec["windows.hardening"]["error"]
    r = results(scan["doc"], "win-pinned")
    assert r["CE-WIN-001"]["status"] == "error"  # the section that threw
    assert "null-valued" in r["CE-WIN-001"]["message"]
    # the Windows Update search timed out: the 14-day rule is an error, never a pass
    assert r["CE-SU-002"]["status"] == "error" and "timed out" in r["CE-SU-002"]["message"]
    assert r["PM-UPD-001"]["status"] == "error"
    # ... and the rest of the host is still judged
    assert r["CE-SU-003"]["status"] == "pass"  # server, agent set to scheduled installation
    assert r["CE-FW-001"]["status"] == "fail"  # the Domain profile allows inbound by default
    assert r["CE-WIN-006"]["status"] == "pass" and r["CE-WIN-007"]["status"] == "pass"
    assert r["PM-BAK-003"]["status"] == "pass"
    assert r["CE-MP-003"]["status"] == "fail"  # signatures 12.8 days old
    assert r["CE-SU-001"]["status"] == "pass"  # Server 2022


def test_ca_bundle_validates(scan: dict[str, Any]) -> None:
    h = host(scan["doc"], "win-ca")
    assert h["reachable"], h["error"]
    assert h["connection"]["certificate"]["validation"] == "ca"
    assert results(scan["doc"], "win-ca")["UNDONE-WIN-001"]["status"] == "pass"


def test_expired_certificate_is_refused_with_the_reason(scan: dict[str, Any]) -> None:
    h = host(scan["doc"], "win-expired")
    assert not h["reachable"] and h["error_kind"] == "host-key"
    assert "expired" in h["error"] and "SHA-256" in h["error"]
    assert scan["servers"]["win-expired"].log.actions == []  # nothing was sent
    r = results(scan["doc"], "win-expired")
    # not checked; only a rule for other platforms (WinRM reaches Windows) does not apply
    assert any(x["status"] == "error" for x in r.values())
    assert all(x["status"] == "error" or x["na_reason"] == "platform" for x in r.values())


def test_untrusted_certificate_is_refused_with_its_fingerprint(scan: dict[str, Any], certs: Certificates) -> None:
    h = host(scan["doc"], "win-untrusted")
    assert not h["reachable"] and h["error_kind"] == "host-key"
    assert "could not be validated" in h["error"] and "winrm_cert_pin" in h["error"]
    fp = certs.self_signed_sha256.upper()
    assert ":".join(fp[i:i + 2] for i in range(0, 64, 2)) in h["error"]
    assert scan["servers"]["win-untrusted"].log.users == []  # no credential reached it


def test_validation_off_is_reported(scan: dict[str, Any]) -> None:
    h = host(scan["doc"], "win-novalidate")
    assert h["reachable"], h["error"]
    cert = h["connection"]["certificate"]
    assert cert["validation"] == "off" and "turned off" in cert["warning"]
    r = results(scan["doc"], "win-novalidate")["UNDONE-WIN-001"]
    assert r["status"] == "fail" and r["observed"]["winrm.certificate_validation"] == "off"


def test_wrong_credentials_give_an_auth_error(scan: dict[str, Any]) -> None:
    h = host(scan["doc"], "win-badpw")
    assert not h["reachable"] and h["error_kind"] == "auth"
    assert "refused the credentials of undone" in h["error"]


def test_a_host_that_drops_mid_stream_keeps_what_came(scan: dict[str, Any]) -> None:
    h = host(scan["doc"], "win-drop")
    assert h["reachable"], h["error"]
    sec = h["sections"]
    order = [s for s in sec if s.startswith("windows.")]
    first_two, rest = order[:2], order[2:]
    assert all(sec[s]["status"] == "ok" for s in first_two), first_two
    for s in rest:
        assert sec[s]["status"] == "error" and "connection lost" in sec[s]["error"], sec[s]
    r = results(scan["doc"], "win-drop")
    assert r["CE-SU-001"]["status"] == "fail"  # windows.os came whole: still judged
    assert r["CE-FW-001"]["status"] == "error"


def test_a_host_that_never_answers_hits_its_time_limit(scan: dict[str, Any]) -> None:
    h = host(scan["doc"], "win-hang")
    assert h["reachable"]
    assert all(s["status"] == "error" and "time limit (4s)" in s["error"]
               for n, s in h["sections"].items() if n.startswith("windows.")), h["sections"]
    assert h["duration_ms"] < 15000
    assert "delete" in scan["servers"]["win-hang"].log.actions  # the shell was cleaned up


def test_basic_over_http_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(json.dumps({"all": {"hosts": {"w": {
        "ansible_host": "127.0.0.1", "ansible_connection": "winrm", "ansible_port": 5985,
        "ansible_winrm_transport": "basic", "user": "u", "password_env": "X"}}}}))
    p = subprocess.run([sys.executable, "-m", "scanner", "validate", str(inv)], cwd=str(ROOT),
                       capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 2
    assert "basic over plain HTTP" in p.stdout + p.stderr


# ----------------------------------------------------------------- the transport, directly


def _batch() -> Any:
    secs = [s for n, s in sections().items() if n.startswith("windows.")]
    return winbatch.build(secs)


def test_output_cap_stops_reading(certs: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDONE_TEST_WINRM_PW", PASSWORD)
    srv = WinRMServer(workstation(), "basic", USERS, tls_context(certs.self_signed))
    with serving(srv):
        h = Host(name="w", address="127.0.0.1", port=srv.port, transport="winrm", user="undone",
                 password_env="UNDONE_TEST_WINRM_PW", winrm_scheme="https", winrm_auth="basic",
                 winrm_cert_pin=certs.self_signed_sha256)
        stream = winrm_transport.run(h, _batch(), time.monotonic() + 30,
                                     winrm_transport.Options(cap=4096, total_cap=5000))
    assert stream.error and "output cap" in stream.error
    assert any(p.truncated for p in stream.stdout.parts.values())


def test_missing_password_variable_is_an_auth_error(certs: Certificates) -> None:
    from scanner.errors import AuthError

    h = Host(name="w", address="127.0.0.1", port=1, transport="winrm", user="undone",
             password_env="UNDONE_TEST_NOT_SET_ANYWHERE", winrm_scheme="https")
    with pytest.raises(AuthError, match="is not set"):
        winrm_transport.run(h, _batch(), time.monotonic() + 5, winrm_transport.Options())


def test_nothing_listening_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from scanner.errors import UnreachableError

    monkeypatch.setenv("UNDONE_TEST_WINRM_PW", PASSWORD)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    h = Host(name="w", address="127.0.0.1", port=port, transport="winrm", user="undone",
             password_env="UNDONE_TEST_WINRM_PW", winrm_scheme="http", winrm_auth="ntlm",
             winrm_allow_ntlm_over_http=True)
    with pytest.raises(UnreachableError, match="refused"):
        winrm_transport.run(h, _batch(), time.monotonic() + 5, winrm_transport.Options())
