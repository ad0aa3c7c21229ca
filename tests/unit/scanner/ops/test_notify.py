"""Notifications on change: a real SMTP server (aiosmtpd, STARTTLS with a certificate made here,
AUTH) and a real HTTP receiver, both on 127.0.0.1; the assertions are on what they received.

The end-to-end scans use the local transport (this machine, under two host names) and a small
baseline whose one rule compares ``os.family`` with an inventory parameter, so changing the
parameter between scans is a real change of a real scan's result.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scanner import result
from scanner.channels import message
from scanner.cli.app import main
from scanner.history import store as history
from scanner.ops import notify

SMTP_USER, SMTP_PASSWORD = "undone-relay", "s3cret-Smtp-Pa55"
HOOK_TOKEN = "Bearer hook-t0ken-0123456789"

BASELINE = """
baseline:
  name: notify-test
  version: "1"
  title: Notification test
  id_prefix: NT
params:
  family:
    default: linux
    description: The operating system family the estate should run.
rules:
  - id: NT-OS-001
    title: The machine runs the expected operating system family
    control: asset-management
    severity: high
    requires: [posix.os]
    # a machine of the estate's family is not judged; one of another family always fails. So
    # the estate's parameter turns a finding on and off while the check itself stays the same
    # (changing the check would be a rule change, neither new nor fixed: reports/diff.py)
    when: {fact: os.family, ne: {param: family}}
    check: {fact: os.family, in: []}
    rationale: A machine of another family is not the machine the contract covers.
    remediation: Check that the inventory names the right machine for this host.
    references: {}
"""


# -- receivers -----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key), made for this test run."""
    d = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "undone test relay")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = d / "relay.pem", d / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[dict[str, Any]] = []
        self.logins: list[tuple[str, str]] = []
        self.tls: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
        self.tls.append(session.ssl is not None)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, pw = data.login.decode(), data.password.decode()
            self.logins.append((user, pw))
            if (user, pw) == (SMTP_USER, SMTP_PASSWORD):
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp(tls_files: tuple[Path, Path]) -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1: STARTTLS required, then AUTH required."""
    cert, key = tls_files
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    box = Mailbox()
    port = _free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port, tls_context=ctx,
                     require_starttls=True, auth_required=True, authenticator=box.authenticate)
    ctl.start()
    try:
        yield box, port
    finally:
        ctl.stop()


class Hook:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.delay = 0.0


@pytest.fixture
def webhook() -> Iterator[tuple[Hook, int]]:
    """A real HTTP receiver on 127.0.0.1 that keeps every POST."""
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if hook.delay:
                time.sleep(hook.delay)
            hook.posts.append({"path": self.path, "headers": dict(self.headers.items()),
                               "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield hook, int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


# -- end to end ----------------------------------------------------------------------------------

@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY", "UNDONE_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RELAY_USER", SMTP_USER)
    monkeypatch.setenv("RELAY_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("HOOK_HEADERS", f"Authorization: {HOOK_TOKEN}")


def write_inventory(path: Path, family: str, smtp_port: int, hook_port: int, ca: Path,
                    **notify_extra: Any) -> Path:
    doc = {
        "estate": {"client": "Acme Dental", "provider": "Example IT"},
        "all": {"hosts": {"h1": {"transport": "local"}, "h2": {"transport": "local"}}},
        "params": {"family": family},
        "notify": {
            "email": {"to": ["it-lead@acme.example"], "from": "undone@msp.example",
                      "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "starttls": True,
                      "username_env": "RELAY_USER", "password_env": "RELAY_PASSWORD",
                      "ca_file": str(ca)},
            "webhook": {"url": f"http://127.0.0.1:{hook_port}/hooks/undone",
                        "headers_env": "HOOK_HEADERS"},
            "report_url": "https://reports.msp.example/acme/latest.html",
            **notify_extra,
        },
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def scan(tmp: Path, inv: Path, *extra: str) -> int:
    (tmp / "bl.yaml").write_text(BASELINE)
    return main(["scan", str(inv), "--baseline", str(tmp / "bl.yaml"), "--db",
                 str(tmp / "history.sqlite"), "--format", "json", "--output",
                 str(tmp / "scan.json"), *extra])


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


@pytest.mark.usefixtures("env")
def test_one_notification_per_change_and_none_without_change(
        tmp_path: Path, smtp: tuple[Mailbox, int], webhook: tuple[Hook, int],
        tls_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    box, smtp_port = smtp
    hook, hook_port = webhook
    inv = tmp_path / "acme.yaml"

    # 1: the first scan is the estate's baseline: nothing to compare, nothing sent
    write_inventory(inv, "linux", smtp_port, hook_port, tls_files[0])
    assert scan(tmp_path, inv) == 0
    assert box.messages == [] and hook.posts == []

    # 2: the rule now fails on both hosts: exactly one email and one POST, listing that change
    write_inventory(inv, "windows", smtp_port, hook_port, tls_files[0])
    capsys.readouterr()
    assert scan(tmp_path, inv) == 1
    err = capsys.readouterr().err
    assert "undone: notified: email sent to it-lead@acme.example via 127.0.0.1" in err
    assert "undone: notified: webhook http://127.0.0.1" in err
    assert len(box.messages) == 1 and len(hook.posts) == 1
    msg = box.messages[0]
    assert box.tls == [True] and box.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert box.envelopes[0] == {"from": "undone@msp.example", "to": ["it-lead@acme.example"]}
    assert msg["Subject"] == "undone: Acme Dental: 2 new"
    body = text_of(msg)
    assert "New findings (2):" in body
    for host in ("h1", "h2"):
        assert (f"- {host}: The machine runs the expected operating system family "
                f"(NT-OS-001, high, due ") in body
    assert "Fixed" not in body and "overdue (" not in body.lower()
    assert "Report: https://reports.msp.example/acme/latest.html" in body
    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1 and attachments[0].get_content_type() == "text/html"
    assert attachments[0].get_filename().endswith(".html")
    assert b"NT-OS-001" in attachments[0].get_content().encode()

    post = hook.posts[0]
    assert post["path"] == "/hooks/undone"
    assert post["headers"]["Authorization"] == HOOK_TOKEN
    assert post["headers"]["Content-Type"] == "application/json"
    data = json.loads(post["body"])
    assert data["text"].startswith("undone scanned Acme Dental (2 computers)")
    assert {k: n for k, n in data["undone"]["counts"].items() if n} == {"new": 2}
    assert sorted((c["host"], c["rule"]) for c in data["undone"]["changes"]["new"]) == [
        ("h1", "NT-OS-001"), ("h2", "NT-OS-001")]
    # secrets go only where they belong: never into a message
    raw = msg.as_bytes() + post["body"]
    for secret in (SMTP_PASSWORD, SMTP_USER, HOOK_TOKEN, "hook-t0ken"):
        assert secret.encode() not in raw

    # 3: nothing changed: nothing sent
    assert scan(tmp_path, inv) == 1
    assert len(box.messages) == 1 and len(hook.posts) == 1

    # 4: fixed again: one more of each, listing the fix
    write_inventory(inv, "linux", smtp_port, hook_port, tls_files[0])
    assert scan(tmp_path, inv) == 0
    assert len(box.messages) == 2 and len(hook.posts) == 2
    assert box.messages[1]["Subject"] == "undone: Acme Dental: 2 fixed"
    assert "Fixed (2):" in text_of(box.messages[1])
    assert json.loads(hook.posts[1]["body"])["undone"]["counts"]["fixed"] == 2

    # --no-notify: a change, but nothing sent
    write_inventory(inv, "windows", smtp_port, hook_port, tls_files[0])
    assert scan(tmp_path, inv, "--no-notify") == 1
    assert len(box.messages) == 2 and len(hook.posts) == 2


@pytest.mark.usefixtures("env")
def test_channel_on_list_filters_what_it_is_sent(
        tmp_path: Path, smtp: tuple[Mailbox, int], webhook: tuple[Hook, int],
        tls_files: tuple[Path, Path]) -> None:
    box, smtp_port = smtp
    hook, hook_port = webhook
    inv = tmp_path / "acme.yaml"
    write_inventory(inv, "linux", smtp_port, hook_port, tls_files[0], on=["fixed"])
    assert scan(tmp_path, inv) == 0
    write_inventory(inv, "windows", smtp_port, hook_port, tls_files[0], on=["fixed"])
    assert scan(tmp_path, inv) == 1  # new findings only: not in the on list
    assert box.messages == [] and hook.posts == []
    write_inventory(inv, "linux", smtp_port, hook_port, tls_files[0], on=["fixed"])
    assert scan(tmp_path, inv) == 0
    assert len(box.messages) == 1 and len(hook.posts) == 1


@pytest.mark.usefixtures("env")
def test_a_slow_receiver_never_holds_the_scan_beyond_the_timeout(
        tmp_path: Path, smtp: tuple[Mailbox, int], webhook: tuple[Hook, int],
        tls_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    box, smtp_port = smtp
    hook, hook_port = webhook
    hook.delay = 6.0
    inv = tmp_path / "acme.yaml"
    write_inventory(inv, "linux", smtp_port, hook_port, tls_files[0], timeout=1)
    assert scan(tmp_path, inv) == 0
    write_inventory(inv, "windows", smtp_port, hook_port, tls_files[0], timeout=1)
    capsys.readouterr()
    t0 = time.monotonic()
    assert scan(tmp_path, inv) == 1  # the scan's own exit code, whatever the webhook does
    took = time.monotonic() - t0
    err = capsys.readouterr().err
    assert took < 5.5, took
    assert "undone: notification FAILED: webhook http://127.0.0.1" in err
    assert "timed out" in err or "gave up" in err
    assert len(box.messages) == 1  # the email went anyway


@pytest.mark.usefixtures("env")
def test_refused_login_and_missing_variable_are_one_line_and_keep_the_exit_code(
        tmp_path: Path, smtp: tuple[Mailbox, int], webhook: tuple[Hook, int],
        tls_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    box, smtp_port = smtp
    _, hook_port = webhook
    inv = tmp_path / "acme.yaml"
    write_inventory(inv, "linux", smtp_port, hook_port, tls_files[0])
    assert scan(tmp_path, inv) == 0
    write_inventory(inv, "windows", smtp_port, hook_port, tls_files[0])
    monkeypatch.setenv("RELAY_PASSWORD", "wrong-password-42")
    monkeypatch.delenv("HOOK_HEADERS")
    capsys.readouterr()
    assert scan(tmp_path, inv) == 1
    err = capsys.readouterr().err
    assert f"undone: notification FAILED: 127.0.0.1:{smtp_port} refused the login" in err
    assert ("undone: notification FAILED: environment variable HOOK_HEADERS (headers_env) is "
            "not set") in err
    assert "wrong-password-42" not in err and box.messages == []


@pytest.mark.usefixtures("env")
def test_untrusted_certificate_is_refused(
        tmp_path: Path, smtp: tuple[Mailbox, int], webhook: tuple[Hook, int],
        tls_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    box, smtp_port = smtp
    _, hook_port = webhook
    inv = tmp_path / "acme.yaml"
    write_inventory(inv, "linux", smtp_port, hook_port, tls_files[0])
    assert scan(tmp_path, inv) == 0
    doc = yaml.safe_load(inv.read_text())
    doc["params"]["family"] = "windows"
    del doc["notify"]["email"]["ca_file"]  # the system's CAs: they do not know this relay
    inv.write_text(yaml.safe_dump(doc))
    capsys.readouterr()
    assert scan(tmp_path, inv) == 1
    err = capsys.readouterr().err
    assert "notification FAILED: TLS with 127.0.0.1" in err
    assert box.messages == [] and box.logins == []  # no password was sent


# -- change detection on recorded history ---------------------------------------------------------

T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def _doc(n: int, at: dt.datetime, hosts: dict[str, bool],
         statuses: dict[tuple[str, str], str]) -> dict[str, Any]:
    results = []
    for (host, rule), status in statuses.items():
        results.append({
            "host": host, "rule": rule, "title": f"Title of {rule}", "control": "firewalls",
            "severity": "high", "owner": "provider",
            "status": status if hosts[host] else "error", "observed": {}, "expected": "",
            "message": "" if hosts[host] else "host not scanned", "evidence": [],
            "first_seen": None, "due": None, "overdue_days": None})
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"schema": "undone.scan/1", "tool": {"name": "undone", "version": "test"},
            "scan": {"id": f"scan-{n}", "started_at": stamp, "finished_at": stamp,
                     "inventory": "acme.yaml", "estate": {"client": "Acme"}, "baselines": []},
            "rules": {}, "hosts": [{"name": h, "address": f"10.0.0.{i}", "transport": "ssh",
                                    "reachable": ok, "error": None if ok else "refused"}
                                   for i, (h, ok) in enumerate(sorted(hosts.items()), 1)],
            "results": results,
            "summary": {"exit_code": 1, "hosts_total": len(hosts),
                        "hosts_unreachable": sum(not ok for ok in hosts.values())}}


def _recorded(h: history.History, doc: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    """Record each host as a scan does, and the document with the dating the history returned
    (as scanner/scan.py builds it)."""
    dates = {host["name"]: h.record(host, [r for r in doc["results"]
                                           if r["host"] == host["name"]], at)
             for host in doc["hosts"]}
    return {**doc, "results": [result.dated(r, dates[r["host"]].get(r["rule"]))
                               for r in doc["results"]]}


def _scan(h: history.History, n: int, day: int, hosts: dict[str, bool],
          statuses: dict[tuple[str, str], str]) -> dict[str, Any] | None:
    at = T0 + dt.timedelta(days=day)
    doc = _doc(n, at, hosts, statuses)
    h.begin(doc, {"high": 14}, len(hosts), at)
    doc = _recorded(h, doc, at + dt.timedelta(seconds=5))
    h.finish(doc, at + dt.timedelta(seconds=10))
    return notify.from_history(h, doc)


def test_changes_sorts_new_regressed_overdue_unreachable_reachable_fixed(tmp_path: Path) -> None:
    up = {"a": True, "b": True, "c": True}
    with history.History(tmp_path / "h.sqlite") as h:
        assert _scan(h, 1, 0, up, {("a", "R1"): "fail", ("b", "R2"): "pass",
                                   ("c", "R3"): "fail"}) is None  # the baseline
        ch = _scan(h, 2, 1, up, {("a", "R1"): "fail", ("b", "R2"): "fail",
                                 ("c", "R3"): "pass"})
        assert ch is not None
        assert [(e["host"], e["rule"]) for e in ch["changes"]["new"]] == [("b", "R2")]
        assert [(e["host"], e["rule"]) for e in ch["changes"]["fixed"]] == [("c", "R3")]
        assert ch["total"] == 2
        # the same again a day later: no change
        ch = _scan(h, 3, 2, up, {("a", "R1"): "fail", ("b", "R2"): "fail",
                                 ("c", "R3"): "pass"})
        assert ch is not None and ch["total"] == 0
        # day 15: a's finding (first seen day 0, due day 14) became overdue; c came back
        ch = _scan(h, 4, 15, up, {("a", "R1"): "fail", ("b", "R2"): "fail",
                                  ("c", "R3"): "fail"})
        assert ch is not None
        assert [(e["host"], e["overdue_days"]) for e in ch["changes"]["overdue"]] == [("a", 1)]
        assert [(e["host"], e["rule"]) for e in ch["changes"]["regressed"]] == [("c", "R3")]
        assert ch["counts"]["new"] == 0
        # day 16: still overdue is not news; b unreachable is
        down = {"a": True, "b": False, "c": True}
        ch = _scan(h, 5, 16, down, {("a", "R1"): "fail", ("b", "R2"): "fail",
                                    ("c", "R3"): "fail"})
        assert ch is not None
        # b's failing finding is no longer checked (not fixed): said beside the host
        assert {k: n for k, n in ch["counts"].items() if n} == {"unreachable": 1,
                                                                "no_longer_checked": 1}
        assert ch["changes"]["no_longer_checked"][0]["host"] == "b"
        assert ch["changes"]["unreachable"][0]["host"] == "b"
        # day 17: b answers again with its finding fixed meanwhile
        ch = _scan(h, 6, 17, up, {("a", "R1"): "fail", ("b", "R2"): "pass",
                                  ("c", "R3"): "fail"})
        assert ch is not None
        assert [e["host"] for e in ch["changes"]["reachable"]] == ["b"]
        assert ch["counts"]["fixed"] == 0  # b was not scanned last time: not compared
        assert message.subject(ch) == "undone: Acme: 1 reachable again"


def test_message_is_short_plain_and_capped() -> None:
    prev = _doc(1, T0, {"a": True}, {("a", f"R{i:03d}"): "pass" for i in range(40)})
    cur = _doc(2, T0 + dt.timedelta(days=1), {"a": True},
               {("a", f"R{i:03d}"): "fail" for i in range(40)})
    for r in cur["results"]:
        r["first_seen"] = cur["scan"]["started_at"]
        r["title"] = "A title\nwith a line break and \x1b[31mescapes\x1b[0m"
    ch = notify.changes(prev, cur)
    body = message.text(ch, "https://example.org/r.html", "acme.html")
    assert ch["counts"]["new"] == 40
    assert body.count("\n- a: ") == message.MAX_LINES
    assert f"- ... and {40 - message.MAX_LINES} more (see the report)" in body
    assert "\x1b" not in body and "A title with a line break and escapes" in body
    assert "The full report is attached (acme.html)." in body
    assert len(body.splitlines()) < message.MAX_LINES + 15
    assert notify.select(ch, ["fixed"])["total"] == 0


def test_the_message_and_the_diff_say_the_same_about_the_same_two_scans(
        tmp_path: Path) -> None:
    """An auditor's kinds (newly waived, no longer checked, rule changed) in the message as in
    `undone report --diff` and the document's own "since the last scan"."""
    from reports import diff

    up = {"a": True, "b": True}
    with history.History(tmp_path / "h.sqlite") as h:
        _scan(h, 1, 0, up, {("a", "R1"): "fail", ("a", "R2"): "fail", ("a", "R3"): "fail",
                            ("b", "R4"): "fail", ("b", "R5"): "pass"})
        prev_id = h.scans()[-1]["id"]
        at = T0 + dt.timedelta(days=3)
        doc = _doc(2, at, up, {("a", "R1"): "waived", ("a", "R2"): "error",
                               ("a", "R3"): "pass", ("b", "R4"): "pass", ("b", "R5"): "fail"})
        for r in doc["results"]:
            if r["rule"] == "R1":
                r["waiver"] = {"reason": "legacy", "approved_by": "Head",
                               "expires": "2027-01-01"}
            if r["rule"] == "R2":
                r["message"] = "firewall.active: needs root"
            if r["rule"] == "R3":
                r["expected"] = "x.value at most 30"  # the baseline's threshold changed
        h.begin(doc, {"high": 14}, 2, at)
        doc = _recorded(h, doc, at)
        h.finish(doc, at)
        ch = notify.from_history(h, doc)
        d = diff.build(h.document(prev_id), h.document("latest"))
    assert ch is not None
    mine = {k: n for k, n in ch["counts"].items() if n}
    assert mine == {"newly_waived": 1, "no_longer_checked": 1, "rule_changed": 1, "fixed": 1,
                    "new": 1}
    theirs = {notify.FROM_DIFF[k]: n for k, n in d["counts"].items() if n and k in
              notify.FROM_DIFF}
    assert mine == theirs
    assert doc["history"]["changes"]["counts"] == d["counts"]  # the summary's "since last scan"
    body = message.text(ch)
    for title in ("Newly waived", "No longer checked", "Rule changed", "Fixed (1)"):
        assert title in body
    assert message.subject(ch) == ("undone: Acme: 1 new, 1 newly waived, 1 no longer checked, "
                                  "1 rule changed, 1 fixed")
# -- issue 15, M4: a message never carries a target's words ---------------------------------------

# what a man in the middle sends as its SSH identification string (before any host key is
# checked), and what a hostile WinRM endpoint puts in a fault: both ended up in host errors
SSH_IDENT = ("SSH-2.0-OpenSSH_9.6 <!channel> <https://evil.example/login|Reset your password> "
             "[urgent](https://evil.example/x) @channel")
WINRM_FAULT = ("<s:Fault><s:Reason>*Account locked*: sign in at "
               "https://evil.example/owa @here</s:Reason></s:Fault>")
HOSTILE_BITS = ("<!channel>", "evil.example", "SSH-2.0", "[urgent]", "s:Fault", "@channel",
                "@here", "*Account")


def _hostile_change() -> dict[str, Any]:
    prev = _doc(1, T0, {"pc1": True, "pc2": True, "pc3": True},
                {("pc1", "R1"): "pass", ("pc2", "R1"): "pass", ("pc3", "R1"): "pass"})
    cur = _doc(2, T0 + dt.timedelta(days=1), {"pc1": False, "pc2": False, "pc3": True},
               {("pc1", "R1"): "pass", ("pc2", "R1"): "pass", ("pc3", "R1"): "fail"})
    cur["hosts"][0].update(error=f"no SSH session: the server said {SSH_IDENT!r}",
                           error_kind="error")
    cur["hosts"][1].update(error=f"WinRM fault: {WINRM_FAULT}", error_kind="auth")
    for r in cur["results"]:
        r["first_seen"] = cur["scan"]["started_at"]
        # inventory and baseline text is not the target's, but it is still escaped
        r["title"] = "Antivirus *on* [see](https://x.example) <b>"
    cur["scan"]["estate"] = {"client": "Acme \u202egnp.exe & <Sons>"}
    return notify.changes(prev, cur)


def test_webhook_text_carries_no_target_words_and_neutralises_markup(
        webhook: tuple[Hook, int], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    hook, port = webhook
    change = _hostile_change()
    assert change["counts"]["unreachable"] == 2 and change["counts"]["new"] == 1
    outcomes = notify.send({"webhook": {"url": f"http://127.0.0.1:{port}/h"}}, change)
    assert [o.ok for o in outcomes] == [True], outcomes
    post = json.loads(hook.posts[0]["body"])
    text = post["text"]
    for bit in HOSTILE_BITS:
        assert bit not in text, bit
        assert bit not in json.dumps(post, ensure_ascii=False), bit  # nor the JSON for tickets
    assert f"- pc1: {message.chat(message.REASONS['error'])}" in text
    assert f"- pc2: {message.chat(message.REASONS['auth'])}" in text
    assert post["undone"]["changes"]["unreachable"][1]["error_kind"] == "auth"
    # Slack's &<> as entities, Markdown's specials escaped, no bidi override
    assert "Antivirus \\*on\\* \\[see\\]\\(https://x.example\\) &lt;b&gt;" in text
    assert "Acme gnp.exe &amp; &lt;Sons&gt;" in text and "\u202e" not in text
    assert "<" not in text.replace("&lt;", "")


def test_email_text_carries_no_target_words() -> None:
    change = _hostile_change()
    body, subj = message.text(change), message.subject(change)
    for bit in HOSTILE_BITS:
        assert bit not in body and bit not in subj, bit
    assert "- pc1: the connection failed (the report says how)" in body
    assert "\u202e" not in body + subj and subj.startswith("undone: Acme gnp.exe & <Sons>: ")
    assert "Antivirus *on* [see](https://x.example) <b>" in body  # plain text stays readable


def test_chat_escaping() -> None:
    assert message.chat("<!channel> & <https://e.example|x>") == \
        "&lt;!channel&gt; &amp; &lt;https://e.example\\|x&gt;"
    assert message.chat("[a](https://e.example) *b* _c_ ~d~ `e`") == \
        "\\[a\\]\\(https://e.example\\) \\*b\\* \\_c\\_ \\~d\\~ \\`e\\`"
    assert message.chat("@channel @all a@b") == "@\u2060channel @\u2060all a@\u2060b"
    assert message.plain("line\nbreak\x1b[31m \u202eevil\u2069") == "line break evil"
