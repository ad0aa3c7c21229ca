"""A WS-Management server for tests: it speaks the protocol pywinrm speaks, on 127.0.0.1, and runs
nothing.

What is real: HTTP/1.1 with keep-alive; the SOAP envelopes of the WinRS shell operations pywinrm
sends (Create shell, Command, Send with standard input in base64 pieces, Receive, Signal,
Delete) and the answers a Windows WinRM service gives (ShellId selector, CommandId, output
streams in base64, CommandState Done with its ExitCode, RelatesTo, and the operation-timeout
fault 2150858793 when a Receive has nothing to give); authentication by HTTP Basic, or by a real
NTLM handshake (pyspnego's NTLM acceptor, credentials from ``NTLM_USER_FILE``) followed by
WS-Management message encryption (MS-WSMV 2.2.9.1.1: ``multipart/encrypted`` with
``application/HTTP-SPNEGO-session-encrypted``), which is what pywinrm does over plain HTTP;
HTTPS with a certificate the test makes (:func:`make_certificates`).

What is not: PowerShell. The server reads the batch it receives on standard input (the nonce
and the sections it asks for, :func:`scanner.engine.winbatch.sections_in`) and answers each section
with the recorded output the test chose (``tests/fixtures/windows``), framed exactly as the
batch's runner frames it: ``\\n==undone:<nonce>:BEGIN:<name>==\\n<json>\\n==undone:<nonce>:END:
<name>:<code>==\\n`` on standard output, the same markers around the section's stderr. Kerberos
and CredSSP are not covered.

Behaviours for the failure tests: ``drop_after`` (close the TCP connection without an answer
once that many sections have been sent: a host that dies mid-stream), ``hang`` (never produce
output: only operation timeouts), ``throws`` (sections whose script threw: exit 1 and the error
on stderr), a section missing from the answers (the same as a throw).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import ssl
import struct
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from scanner.engine.winbatch import BOOTSTRAP, sections_in

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "windows"
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
}
ACTIONS = {
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create": "create",
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete": "delete",
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command": "command",
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send": "send",
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive": "receive",
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal": "signal",
}
BOUNDARY = b"--Encrypted Boundary"
SPNEGO = b"application/HTTP-SPNEGO-session-encrypted"
CHUNK = 6000  # bytes of output per Receive answer, so outputs span several Receives


def recorded(topic: str, name: str) -> str:
    """A recorded section output, as the batch writes it (one line of JSON)."""
    data = json.loads((FIXTURES / topic / f"{name}.out").read_text(encoding="utf-8"))
    return json.dumps(data, separators=(",", ":"))


@dataclass
class Answer:
    stdout: str = ""
    code: int = 0
    stderr: str = ""


@dataclass
class Scenario:
    answers: dict[str, Answer] = field(default_factory=dict)
    drop_after: int | None = None  # sections sent before the connection is dropped
    hang: bool = False
    # hostile answers (issue 15): every POST answered with this many bytes (before any
    # authentication), with or without a Content-Length saying so; a fault text for "create"
    flood: int | None = None
    flood_declared: bool = False
    flood_on: str | None = None  # flood only the answer to this operation ("receive"...)
    fault_text: str | None = None

    def add(self, section: str, fixture: str) -> Scenario:
        topic = section.split(".", 1)[1]
        self.answers[section] = Answer(recorded(topic, fixture))
        return self

    def throws(self, section: str, message: str) -> Scenario:
        self.answers[section] = Answer("", 1, f"{section}: {message}")
        return self


@dataclass
class _Command:
    id: str
    command: str
    arguments: list[str]
    stdin: bytearray = field(default_factory=bytearray)
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    ends: list[int] = field(default_factory=list)  # stdout offsets where each section ends
    done: bool = False
    ready: bool = False
    sent: int = 0
    sent_err: int = 0
    signalled: bool = False


@dataclass
class Log:
    """What the server saw, for assertions."""

    actions: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    commands: list[tuple[str, list[str]]] = field(default_factory=list)
    encrypted: int = 0
    plain: int = 0
    auth_failures: int = 0
    users: list[str] = field(default_factory=list)
    flood_sent: int = 0


class WinRMServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        scenario: Scenario,
        auth: str = "basic",
        users: dict[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scenario = scenario
        self.auth = auth
        self.users = users or {"undone": "s3cret-Passw0rd"}
        self.tls = tls
        self.log = Log()
        self.shells: dict[str, dict[str, _Command]] = {}
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True)
        return sock, addr

    # -- the batch ------------------------------------------------------------------------------
    def run(self, cmd: _Command) -> None:
        """What the batch's runner would print for this script and these recorded answers."""
        script = cmd.stdin.decode("ascii")
        self.log.scripts.append(script)
        nonce, names = sections_in(script)
        for name in names:
            ans = self.scenario.answers.get(name)
            if ans is None:
                ans = Answer("", 1, f"{name}: no recorded output for this section in the test")
            begin = f"\n==undone:{nonce}:BEGIN:{name}==\n"
            end = f"\n==undone:{nonce}:END:{name}:{ans.code}==\n"
            cmd.out += (begin + ans.stdout + end).encode("utf-8")
            cmd.err += (begin + ans.stderr + end).encode("utf-8")
            cmd.ends.append(len(cmd.out))
        cmd.ready = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: WinRMServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- HTTP and authentication -----------------------------------------------------------------
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.server.scenario.flood is not None and self.server.scenario.flood_on is None:
            self._flood(self.server.scenario.flood, self.server.scenario.flood_declared)
            return
        if self.server.auth == "ntlm":
            self._ntlm(body)
        else:
            self._basic(body)

    def _flood(self, size: int, declared: bool) -> None:
        """A huge answer, written until the client hangs up (it must read a bounded part)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        if declared:
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = b"<" * (1024 * 1024)
        sent = 0
        self.server.log.flood_sent = 0
        try:
            while sent < size:
                n = min(len(piece), size - sent)
                if declared:
                    self.wfile.write(piece[:n])
                else:
                    self.wfile.write(b"%x\r\n" % n + piece[:n] + b"\r\n")
                sent += n
                self.server.log.flood_sent = sent
            if not declared:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client stopped reading and closed: what is expected
            pass
        self.close_connection = True

    def _reply(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _basic(self, body: bytes) -> None:
        auth = self.headers.get("Authorization", "")
        ok = False
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            ok = self.server.users.get(user) == password
            self.server.log.users.append(user)
        if not ok:
            self.server.log.auth_failures += 1
            self._reply(401, headers={"WWW-Authenticate": 'Basic realm="WSMAN"'})
            return
        self.server.log.plain += 1
        self._soap(body, encrypt=False)

    def _ntlm(self, body: bytes) -> None:
        import spnego

        auth = self.headers.get("Authorization", "")
        ctx = getattr(self, "ntlm", None)
        if auth.startswith(("Negotiate ", "NTLM ")):
            kind, _, token = auth.partition(" ")
            if ctx is None or ctx.complete:
                ctx = self.ntlm = spnego.server(protocol="ntlm")
            try:
                out = ctx.step(base64.b64decode(token))
            except Exception:  # noqa: BLE001 - any failure is "credentials refused"
                self.server.log.auth_failures += 1
                self.ntlm = None
                self._reply(401, headers={"WWW-Authenticate": "Negotiate"})
                return
            if not ctx.complete:
                challenge = base64.b64encode(out or b"").decode()
                self._reply(401, headers={"WWW-Authenticate": f"{kind} {challenge}"})
                return
            self.server.log.users.append(str(ctx.client_principal))
            if not body:  # pywinrm's empty request that sets the context up
                self._reply(200)
                return
        if ctx is None or not ctx.complete:
            self._reply(401, headers={"WWW-Authenticate": "Negotiate"})
            return
        ctype = self.headers.get("Content-Type", "")
        if "multipart/encrypted" not in ctype:
            # a WinRM service set to AllowUnencrypted=false refuses this
            self._reply(400, b"unencrypted message refused")
            return
        self.server.log.encrypted += 1
        self._soap(self._unwrap(ctx, body), encrypt=True)

    def _unwrap(self, ctx: Any, body: bytes) -> bytes:
        parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
        payload = parts[1]
        if payload.endswith(BOUNDARY + b"--\r\n"):
            payload = payload[: -len(BOUNDARY + b"--\r\n")]
        data = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        size = struct.unpack("<i", data[:4])[0]
        message: bytes = ctx.unwrap(data[4 : 4 + size] + data[4 + size :]).data
        return message

    def _wrap(self, message: bytes) -> tuple[bytes, str]:
        sealed = self.ntlm.wrap(message, encrypt=True).data
        signature, data = sealed[:16], sealed[16:]
        body = (
            BOUNDARY + b"\r\n\tContent-Type: " + SPNEGO + b"\r\n"
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
            + str(len(message)).encode() + b"\r\n" + BOUNDARY + b"\r\n"
            b"\tContent-Type: application/octet-stream\r\n"
            + struct.pack("<i", len(signature)) + signature + data + BOUNDARY + b"--\r\n"
        )
        ctype = 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"'
        return body, ctype

    def _send_soap(self, code: int, xml: str, encrypt: bool) -> None:
        data = xml.encode("utf-8")
        if encrypt:
            body, ctype = self._wrap(data)
        else:
            body, ctype = data, "application/soap+xml;charset=UTF-8"
        self._reply(code, body, {"Content-Type": ctype})

    # -- WS-Management ---------------------------------------------------------------------------
    def _soap(self, body: bytes, encrypt: bool) -> None:
        root = ET.fromstring(body)  # noqa: S314 - the test's own client (pywinrm) sent it
        action = root.findtext("s:Header/a:Action", namespaces=NS) or ""
        message_id = root.findtext("s:Header/a:MessageID", namespaces=NS) or ""
        op = ACTIONS.get(action.strip())
        srv = self.server
        srv.log.actions.append(op or action)
        if op is not None and op == srv.scenario.flood_on and srv.scenario.flood is not None:
            self._flood(srv.scenario.flood, srv.scenario.flood_declared)
            return
        shell_id = ""
        for sel in root.iterfind("s:Header/w:SelectorSet/w:Selector", NS):
            if sel.get("Name") == "ShellId":
                shell_id = sel.text or ""
        timeout_text = root.findtext("s:Header/w:OperationTimeout", namespaces=NS) or "PT20S"
        m = re.match(r"PT(\d+(?:\.\d+)?)S", timeout_text)
        op_timeout = float(m.group(1)) if m else 20.0
        if op == "create" and srv.scenario.fault_text is not None:
            self._send_soap(500, _fault(message_id, "2150858770", srv.scenario.fault_text),
                            encrypt)
        elif op == "create":
            sid = str(uuid.uuid4()).upper()
            with srv.lock:
                srv.shells[sid] = {}
            inner = (
                f'<x:ResourceCreated><a:Address>http://127.0.0.1/wsman</a:Address>'
                f'<a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/'
                f'windows/shell/cmd</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">'
                f"{sid}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"
                f"<rsp:Shell><rsp:ShellId>{sid}</rsp:ShellId></rsp:Shell>"
            )
            self._send_soap(200, _envelope(action + "Response", message_id, inner), encrypt)
        elif op == "command":
            cmdline = root.find("s:Body/rsp:CommandLine", NS)
            command = (cmdline.findtext("rsp:Command", namespaces=NS) or "") if cmdline is not None else ""
            args = ((cmdline.findtext("rsp:Arguments", namespaces=NS) or "") if cmdline is not None else "").split()
            cid = str(uuid.uuid4()).upper()
            srv.log.commands.append((command, args))
            with srv.lock:
                srv.shells.setdefault(shell_id, {})[cid] = _Command(cid, command, args)
            inner = f"<rsp:CommandResponse><rsp:CommandId>{cid}</rsp:CommandId></rsp:CommandResponse>"
            self._send_soap(200, _envelope(action + "Response", message_id, inner), encrypt)
        elif op == "send":
            stream = root.find("s:Body/rsp:Send/rsp:Stream", NS)
            assert stream is not None
            cmd = srv.shells[shell_id][stream.get("CommandId") or ""]
            cmd.stdin += base64.b64decode(stream.text or "")
            if stream.get("End") == "true" and not srv.scenario.hang:
                _check_bootstrap(cmd)
                srv.run(cmd)
            inner = "<rsp:SendResponse/>"
            self._send_soap(200, _envelope(action + "Response", message_id, inner), encrypt)
        elif op == "receive":
            desired = root.find("s:Body/rsp:Receive/rsp:DesiredStream", NS)
            cid = desired.get("CommandId") if desired is not None else ""
            cmd = srv.shells[shell_id][cid or ""]
            self._receive(cmd, action, message_id, op_timeout, encrypt)
        elif op in ("signal", "delete"):
            if op == "delete":
                with srv.lock:
                    srv.shells.pop(shell_id, None)
            name = "rsp:SignalResponse" if op == "signal" else ""
            inner = f"<{name}/>" if name else ""
            self._send_soap(200, _envelope(action + "Response", message_id, inner), encrypt)
        else:
            self._send_soap(500, _fault(message_id, "2150858817", "unknown action"), encrypt)

    def _receive(self, cmd: _Command, action: str, message_id: str, op_timeout: float,
                 encrypt: bool) -> None:
        srv = self.server
        limit = time.monotonic() + min(op_timeout, 5.0)
        while not cmd.ready and time.monotonic() < limit:
            time.sleep(0.05)
        if not cmd.ready:
            self._send_soap(500, _fault(message_id, "2150858793", "The WS-Management service "
                            "cannot complete the operation within the time specified in "
                            "OperationTimeout."), encrypt)
            return
        drop = srv.scenario.drop_after
        if drop is not None and cmd.sent >= (cmd.ends[drop - 1] if drop else 0):
            # the host goes away in the middle of the stream: no answer at all
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        stop = cmd.sent + CHUNK
        if drop is not None:
            stop = min(stop, cmd.ends[drop - 1] if drop else 0)
        out = bytes(cmd.out[cmd.sent : stop])
        err = bytes(cmd.err[cmd.sent_err :]) if stop >= len(cmd.out) else b""
        cmd.sent += len(out)
        cmd.sent_err += len(err)
        done = cmd.sent >= len(cmd.out)
        streams = ""
        if out:
            streams += f'<rsp:Stream Name="stdout" CommandId="{cmd.id}">{base64.b64encode(out).decode()}</rsp:Stream>'
        if err:
            streams += f'<rsp:Stream Name="stderr" CommandId="{cmd.id}">{base64.b64encode(err).decode()}</rsp:Stream>'
        if done:
            streams += (f'<rsp:Stream Name="stdout" CommandId="{cmd.id}" End="true"></rsp:Stream>'
                        f'<rsp:Stream Name="stderr" CommandId="{cmd.id}" End="true"></rsp:Stream>')
            state = (f'<rsp:CommandState CommandId="{cmd.id}" State="http://schemas.microsoft.com/'
                     f'wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>0</rsp:ExitCode>'
                     f"</rsp:CommandState>")
        else:
            state = (f'<rsp:CommandState CommandId="{cmd.id}" State="http://schemas.microsoft.com/'
                     f'wbem/wsman/1/windows/shell/CommandState/Running"/>')
        inner = f"<rsp:ReceiveResponse>{streams}{state}</rsp:ReceiveResponse>"
        self._send_soap(200, _envelope(action + "Response", message_id, inner), encrypt)


def _check_bootstrap(cmd: _Command) -> None:
    """The command must be PowerShell with undone's fixed bootstrap: the batch comes on stdin."""
    args = cmd.arguments
    assert cmd.command.lower() == "powershell.exe", cmd.command
    assert "-EncodedCommand" in args, args
    encoded = args[args.index("-EncodedCommand") + 1]
    assert base64.b64decode(encoded).decode("utf-16-le") == BOOTSTRAP


def _envelope(action: str, relates_to: str, inner: str) -> str:
    return (
        '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
        'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" '
        'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
        f"<s:Header><a:Action>{action}</a:Action>"
        f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{relates_to}</a:RelatesTo></s:Header>"
        f"<s:Body>{inner}</s:Body></s:Envelope>"
    )


def _fault(relates_to: str, code: str, text: str) -> str:
    inner = (
        "<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{text}</s:Text></s:Reason>'
        '<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" '
        f'Code="{code}" Machine="127.0.0.1"><f:Message>{text}</f:Message></f:WSManFault>'
        "</s:Detail></s:Fault>"
    )
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, inner)


@contextmanager
def serving(server: WinRMServer) -> Iterator[WinRMServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# -- certificates -------------------------------------------------------------------------------


@dataclass
class Certificates:
    ca: Path  # the CA's certificate (a bundle for winrm_ca_bundle)
    good: tuple[Path, Path]  # leaf signed by the CA, valid, for 127.0.0.1
    expired: tuple[Path, Path]  # leaf signed by the CA, expired
    self_signed: tuple[Path, Path]  # not signed by the CA
    self_signed_sha256: str  # hex, lower case


def make_certificates(folder: Path) -> Certificates:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(key: Any, cert: x509.Certificate, stem: str) -> tuple[Path, Path]:
        kp, cp = folder / f"{stem}.key", folder / f"{stem}.pem"
        kp.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
        cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cp, kp

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("undone test CA")).issuer_name(name("undone test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, _ = write(ca_key, ca, "ca")

    def leaf(stem: str, start: dt.datetime, end: dt.datetime, signer: Any = None,
             issuer: x509.Name | None = None) -> tuple[tuple[Path, Path], x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder().subject_name(name("win01.test"))
            .issuer_name(issuer or name("win01.test")).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("win01.test")]),
                critical=False)
            .sign(signer or key, hashes.SHA256())
        )
        return write(key, cert, stem), cert

    good, _ = leaf("good", now - dt.timedelta(days=1), now + dt.timedelta(days=90), ca_key, ca.subject)
    expired, _ = leaf("expired", now - dt.timedelta(days=400), now - dt.timedelta(days=35), ca_key,
                      ca.subject)
    selfs, cert = leaf("self", now - dt.timedelta(days=1), now + dt.timedelta(days=90))
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return Certificates(ca_path, good, expired, selfs, digest)


def tls_context(pair: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pair[0]), str(pair[1]))
    return ctx


def ntlm_user_file(folder: Path, users: dict[str, str]) -> Path:
    """The credential file pyspnego's NTLM acceptor reads (``NTLM_USER_FILE``)."""
    path = folder / "ntlm_users"
    path.write_text("".join(f":{u}:{p}\n" for u, p in users.items()), encoding="utf-8")
    os.chmod(path, 0o600)
    return path
