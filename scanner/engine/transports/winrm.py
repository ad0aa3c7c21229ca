"""The WinRM transport (pywinrm): one shell per host, one PowerShell batch on standard input.

Security defaults (pywinrm's own are plain HTTP with Basic auth; undone's are not):

* **HTTPS with certificate validation** (port 5986). The CA bundle is the one named by
  ``winrm_ca_bundle``, else requests' (``REQUESTS_CA_BUNDLE``, else certifi). A certificate the
  scanner cannot validate (expired, self-signed, wrong name, unknown CA) refuses the host, with
  the certificate's SHA-256 fingerprint and dates in the message so it can be checked and pinned.
* **A pinned certificate** (``winrm_cert_pin``: its SHA-256) is compared by urllib3 on every TLS
  connection, before any request (and so before any credential) is sent; CA and name checks are
  then not needed, which suits the self-signed certificates WinRM listeners often have.
* **Validation off** (``winrm_cert_validation: false``) must be written in the inventory, and is
  recorded in the host's ``connection`` and as the fact ``winrm.certificate_validation = "off"``,
  which a rule reports.
* **Plain HTTP** (port 5985) only with Kerberos, whose WinRM messages pywinrm encrypts
  (``message_encryption="always"``: a listener that does not encrypt is refused). NTLM (or
  CredSSP, which starts with NTLM) over plain HTTP can be relayed by anyone on the path to
  another service that accepts the scan account, so it is refused unless the inventory opts in
  with ``winrm_allow_ntlm_over_http: true``; then it is recorded in the host's ``connection``
  and as the fact ``winrm.ntlm_over_http = true``, which UNDONE-WIN-001 fails. The inventory
  refuses Basic over HTTP before anything is sent.
* **Bounded responses**: every HTTP response, authentication handshakes included, is read in
  pieces up to :data:`RESPONSE_CAP` bytes (``Content-Length`` beyond it is refused unread); a
  larger one is that host's error (pywinrm itself reads each response whole: a 1.5 GB body,
  which a host can send before authentication over plain HTTP, took the scanner to 3.2 GB).
* Credentials by reference only (``password_env``); no proxy from the environment.

One round trip: open a shell (code page 65001), start ``powershell.exe`` with a fixed bootstrap
(:data:`scanner.engine.winbatch.BOOTSTRAP`), send the whole batch with the WS-Management Send
operation
(in 32 KiB pieces, the last marked End), then Receive until the command is done, the host's
deadline passes or the output cap is hit; then signal terminate and delete the shell. Output goes
through the same splitter as SSH output. A host that drops the connection mid-stream keeps what
came (sections that ended are judged, the rest are errors saying the output was cut off).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from cryptography import x509
from requests.adapters import HTTPAdapter
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol
from winrm.transport import Transport as WinRMHTTPTransport

from scanner.engine import winbatch
from scanner.engine.batch import Batch
from scanner.engine.transports import INTERRUPTED, Stream, new_stream, unset_variable
from scanner.errors import AuthError, CollectError, UnreachableError
from scanner.inventory import Host

CHUNK = 32 * 1024  # bytes of standard input per Send (an envelope holds 150 KiB, base64 grows 4/3)
#: bytes of one HTTP response read at most: pywinrm asks for envelopes of at most 150 KiB
#: (MaxEnvelopeSize 153600), so a well-behaved host never comes near it
RESPONSE_CAP = 2 * 1024 * 1024
OPERATION_TIMEOUT = 10  # seconds a Receive may wait on the host for output
CLEANUP_TIMEOUT = 5


class CertificateError(CollectError):
    """The host's TLS certificate could not be validated (or does not match the pin): its
    identity is unknown, so nothing was sent to it."""

    kind = "host-key"

    def __init__(self, message: str, fingerprint: str | None = None) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint


class ResponseTooLarge(requests.exceptions.RequestException):
    """A host sent an HTTP response larger than the cap; the rest was not read."""


@dataclass
class Options:
    connect_timeout: float = 10.0
    cap: int = 2 * 1024 * 1024
    total_cap: int = 16 * 1024 * 1024
    response_cap: int = RESPONSE_CAP
    cancel: threading.Event | None = None  # the scan was interrupted: stop after this Receive


def ntlm_over_http(host: Host) -> bool:
    """Whether this host is reached with NTLM (or CredSSP, which starts with NTLM) over plain
    HTTP: relayable, so refused unless the inventory opts in."""
    return (host.winrm_scheme or "https") == "http" and (host.winrm_auth or "ntlm") in (
        "ntlm", "credssp")


def endpoint(host: Host) -> str:
    addr = f"[{host.address}]" if ":" in host.address else host.address
    return f"{host.winrm_scheme or 'https'}://{addr}:{host.port}/wsman"


def colon_hex(digest: str) -> str:
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)).upper()


def describe_certificate(der: bytes) -> dict[str, Any]:
    """Fingerprint, subject, issuer and validity of a DER certificate, for the record."""
    out: dict[str, Any] = {"sha256": colon_hex(hashlib.sha256(der).hexdigest())}
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:  # the fingerprint alone is still worth recording
        return out
    out["subject"] = cert.subject.rfc4514_string()
    out["issuer"] = cert.issuer.rfc4514_string()
    out["not_before"] = cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    out["not_after"] = cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    out["self_signed"] = cert.subject == cert.issuer
    return out


def _connect(host: Host, timeout: float) -> socket.socket:
    where = f"{host.address}:{host.port}"
    try:
        return socket.create_connection((host.address, host.port), timeout=timeout)
    except TimeoutError:
        raise UnreachableError(f"connection to {where} timed out after {timeout:g}s") from None
    except ConnectionRefusedError:
        raise UnreachableError(f"connection to {where} refused (is WinRM listening?)") from None
    except socket.gaierror as e:
        raise UnreachableError(f"cannot resolve {host.address}: {e.strerror}") from None
    except OSError as e:
        raise UnreachableError(f"cannot connect to {where}: {e.strerror or e}") from None


def peer_certificate(host: Host, timeout: float) -> bytes:
    """The certificate the host presents, read without validating it (validation happens on
    the connection that carries the requests); raises UnreachableError if there is none."""
    raw = _connect(host, timeout)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # only to read the certificate for the record
    try:
        with ctx.wrap_socket(raw, server_hostname=host.address) as tls:
            der = tls.getpeercert(binary_form=True)
    except (ssl.SSLError, OSError) as e:
        raw.close()
        raise UnreachableError(
            f"TLS handshake with {host.address}:{host.port} failed: {e} "
            "(is this an HTTPS listener? set winrm_scheme: http for port 5985)"
        ) from None
    if not der:  # pragma: no cover - TLS always has a server certificate here
        raise UnreachableError(f"{host.address}:{host.port} presented no certificate")
    return der


class _BoundedAdapter(HTTPAdapter):
    """Reads every response in pieces, at most ``cap`` bytes (decoded), and refuses one whose
    ``Content-Length`` is larger before reading it; with ``fingerprint``, every TLS connection
    must also present the certificate with this SHA-256 (checked by urllib3 during the
    handshake, before a request is written)."""

    def __init__(self, cap: int, fingerprint: str | None = None) -> None:
        self._cap = cap
        self._fingerprint = fingerprint
        super().__init__()

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        if self._fingerprint:
            pool_kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        resp = super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                            proxies=proxies)
        cap = self._cap
        length = resp.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > cap:
            resp.close()
            raise ResponseTooLarge(f"a response larger than {cap // 1024} KiB (the "
                                   "per-response cap)")
        _bound(resp, cap)
        return resp


def _bound(resp: requests.Response, cap: int) -> None:
    """Make every way of reading ``resp``'s body (requests' ``content``, which streams, and a
    direct ``raw.read``) stop past ``cap`` bytes with :class:`ResponseTooLarge`. The body is
    not read here: an authentication hook may still need the connection's socket (NTLM
    channel binding reads the server certificate from it)."""
    raw = resp.raw
    if raw is None or not hasattr(raw, "stream"):  # pragma: no cover - urllib3 always
        return
    stream_orig, read_orig = raw.stream, raw.read
    too_big = f"a response larger than {cap // 1024} KiB (the per-response cap)"

    def stream(amt: int | None = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
        seen = 0
        for chunk in stream_orig(amt, decode_content=decode_content):
            seen += len(chunk)
            if seen > cap:
                resp.close()
                raise ResponseTooLarge(too_big)
            yield chunk

    state = {"read": 0}

    def read(amt: int | None = None, *args: Any, **kwargs: Any) -> bytes:
        left = cap + 1 - state["read"]
        data: bytes = read_orig(left if amt is None else min(amt, left), *args, **kwargs)
        state["read"] += len(data)
        if state["read"] > cap:
            resp.close()
            raise ResponseTooLarge(too_big)
        return data

    raw.stream = stream  # type: ignore[method-assign]
    raw.read = read  # type: ignore[method-assign]


class _BoundedTransport(WinRMHTTPTransport):
    """pywinrm's transport with :class:`_BoundedAdapter` mounted on its session before the
    first request (the NTLM handshake included)."""

    undone_cap: int = RESPONSE_CAP
    undone_pin: str | None = None

    def _send_message_request(self, session: requests.Session,
                              prepared_request: requests.PreparedRequest) -> requests.Response:
        if not isinstance(session.get_adapter("https://"), _BoundedAdapter):
            session.mount("https://", _BoundedAdapter(self.undone_cap, self.undone_pin))
            session.mount("http://", _BoundedAdapter(self.undone_cap))
        return super()._send_message_request(session, prepared_request)


def _protocol(host: Host, password: str | None, validation: str, cap: int) -> Protocol:
    https = (host.winrm_scheme or "https") == "https"
    proto = Protocol(
        endpoint(host),
        transport=host.winrm_auth or "ntlm",  # type: ignore[arg-type]
        username=host.user,
        password=password,
        server_cert_validation="validate" if validation == "ca" else "ignore",
        ca_trust_path=host.winrm_ca_bundle or "legacy_requests",
        read_timeout_sec=OPERATION_TIMEOUT + 10,
        operation_timeout_sec=OPERATION_TIMEOUT,
        message_encryption="auto" if https else "always",
        proxy=None,
    )
    proto.transport.__class__ = _BoundedTransport
    bounded: Any = proto.transport
    bounded.undone_cap = cap
    if validation == "pinned" and host.winrm_cert_pin:
        bounded.undone_pin = host.winrm_cert_pin
    return proto


def _why_tls(e: BaseException) -> str:
    text = str(e)
    for marker in ("certificate verify failed: ", "Fingerprints did not match"):
        i = text.find(marker)
        if i >= 0:
            tail = text[i + len(marker) :] if marker.endswith(": ") else text[i:]
            return tail.split("(_ssl.c")[0].split("')")[0].strip(" ,.'\")")
    return text[:200]


def _refuse_certificate(
    host: Host, cert: dict[str, Any] | None, e: BaseException
) -> CertificateError:
    fp = (cert or {}).get("sha256")
    why = _why_tls(e)
    where = f"{host.address}:{host.port}"
    if host.winrm_cert_pin:
        msg = (
            f"certificate of {where} does not match winrm_cert_pin ({why}); it presented "
            f"SHA-256 {fp}. Refused: nothing was sent. If the certificate was renewed, check "
            "the new fingerprint with the host's administrator and update the pin."
        )
    else:
        dates = ""
        if cert and cert.get("not_after"):
            dates = f", valid {cert.get('not_before')} to {cert.get('not_after')}"
        msg = (
            f"certificate of {where} could not be validated: {why} (subject "
            f"{(cert or {}).get('subject', '?')}, issuer {(cert or {}).get('issuer', '?')}"
            f"{dates}, SHA-256 {fp}). Refused: nothing was sent. Give the CA that issued it "
            "(winrm_ca_bundle), or check the fingerprint with the host's administrator and pin "
            "it (winrm_cert_pin)."
        )
    return CertificateError(msg, fp)


def _classify(
    host: Host, e: BaseException, cert: dict[str, Any] | None, stage: str
) -> CollectError:
    """A pywinrm/requests failure as one of undone's collection errors, with a one-line reason."""
    where = f"{host.address}:{host.port}"
    if isinstance(e, InvalidCredentialsError):
        return AuthError(
            f"WinRM at {where} refused the credentials of {host.user} "
            f"({host.winrm_auth or 'ntlm'}): wrong user or password, or the account may not use "
            "WinRM (it must be an administrator or in Remote Management Users)"
        )
    if isinstance(e, ResponseTooLarge):
        return CollectError(f"WinRM at {where} sent {e} while {stage}; the rest was not read")
    if isinstance(e, requests.exceptions.SSLError):
        return _refuse_certificate(host, cert, e)
    if isinstance(e, requests.exceptions.ConnectTimeout | requests.exceptions.ReadTimeout):
        return UnreachableError(f"WinRM at {where} did not answer in time while {stage}")
    if isinstance(e, requests.exceptions.ConnectionError):
        first = str(e).split("\n")[0][:200]
        return UnreachableError(f"WinRM at {where}: connection failed while {stage}: {first}")
    if isinstance(e, WSManFaultError):
        return CollectError(f"WinRM at {where} answered a fault while {stage}: {e.reason}"[:400])
    if isinstance(e, WinRMTransportError):
        return CollectError(
            f"WinRM at {where} answered HTTP {e.code} while {stage}: {e.response_text[:200]}"
        )
    if isinstance(e, WinRMError):
        text = str(e)
        hint = ""
        if "kerberos" in text:
            hint = " (install pywinrm[kerberos] on the scanner)"
        elif "credssp" in text:
            hint = " (install pywinrm[credssp] on the scanner)"
        elif "encryption" in text:
            hint = (
                " (plain HTTP needs message encryption; use winrm_auth ntlm or kerberos, or "
                "winrm_scheme https)"
            )
        return CollectError(f"WinRM at {where}: {text[:200]}{hint}")
    return CollectError(f"WinRM at {where}: {type(e).__name__} while {stage}: {str(e)[:200]}")


def run(host: Host, batch: Batch, deadline: float, opts: Options) -> Stream:
    """Run the batch once on ``host``; raises a CollectError when the host cannot be reached,
    refuses the credentials or its certificate cannot be trusted."""
    stream = new_stream(batch, opts.cap, opts.total_cap)
    https = (host.winrm_scheme or "https") == "https"
    relayable = ntlm_over_http(host)
    if relayable and not host.winrm_allow_ntlm_over_http:
        raise CollectError(
            f"WinRM at {host.address}:{host.port}: {host.winrm_auth or 'ntlm'} over plain HTTP "
            "is refused (anyone on the path can relay NTLM to another service as the scan "
            "account); nothing was sent. Use winrm_scheme: https (port 5986), or kerberos, or "
            "accept the risk with winrm_allow_ntlm_over_http: true (reported as UNDONE-WIN-001)")
    validation = "none"
    if https:
        validation = (
            "pinned" if host.winrm_cert_pin else ("ca" if host.winrm_cert_validation else "off")
        )
    password: str | None = None
    if host.password_env:
        password = os.environ.get(host.password_env)
        if password is None:
            raise AuthError(unset_variable("password_env"))
    timeout = max(0.5, min(opts.connect_timeout, deadline - time.monotonic()))
    cert: dict[str, Any] | None = None
    if https:
        cert = describe_certificate(peer_certificate(host, timeout))
    else:
        _connect(host, timeout).close()
    conn: dict[str, Any] = {
        "transport": "winrm",
        "endpoint": endpoint(host),
        "auth": host.winrm_auth or "ntlm",
        "message_encryption": "tls" if https else "wsman",
    }
    if relayable:
        conn["ntlm_over_http"] = True
        conn["warning"] = (
            f"{host.winrm_auth or 'ntlm'} over plain HTTP (winrm_allow_ntlm_over_http: true): "
            "the authentication could be relayed by anyone on the path")
    if cert is not None:
        conn["certificate"] = {"validation": validation, **cert}
        if validation == "off":
            conn["certificate"]["warning"] = (
                "certificate validation is turned off for this host (winrm_cert_validation: "
                "false): the scanner did not verify which machine it talked to"
            )
    stream.connection = conn
    try:
        proto = _protocol(host, password, validation, opts.response_cap)
    except WinRMError as e:
        raise _classify(host, e, cert, "setting up") from None

    shell_id: str | None = None
    command_id: str | None = None
    stage = "opening a shell"
    try:
        shell_id = proto.open_shell(codepage=65001, noprofile=True)
        stage = "starting PowerShell"
        command_id = proto.run_command(
            shell_id, winbatch.COMMAND, winbatch.arguments(), console_mode_stdin=False
        )
        stage = "sending the batch"
        data = batch.script.encode("ascii")
        pieces = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
        for i, piece in enumerate(pieces):
            proto.send_command_input(shell_id, command_id, piece, end=i == len(pieces) - 1)
        stage = "reading the output"
        _receive(proto, shell_id, command_id, stream, deadline, opts.cancel)
    except (requests.exceptions.RequestException, WinRMError) as e:
        if command_id is None or isinstance(
            e, InvalidCredentialsError | requests.exceptions.SSLError
        ):
            raise _classify(host, e, cert, stage) from None
        # the batch was running: keep what came, and say why the rest is missing
        stream.error = f"connection lost while {stage}: {_classify(host, e, cert, stage)}"
    finally:
        stream.stdout.close()
        stream.stderr.close()
        _cleanup(proto, shell_id, command_id)
    return stream


def _receive(
    proto: Protocol, shell_id: str, command_id: str, stream: Stream, deadline: float,
    cancel: threading.Event | None = None,
) -> None:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            stream.timed_out = True
            return
        if cancel is not None and cancel.is_set():
            stream.error = INTERRUPTED
            return
        proto.operation_timeout_sec = max(1, min(OPERATION_TIMEOUT, int(remaining)))
        try:
            out, err, code, done = proto.get_command_output_raw(shell_id, command_id)
        except WinRMOperationTimeoutError:
            continue  # no output within the operation timeout: ask again
        if out:
            stream.stdout.feed(out)
        if err:
            stream.stderr.feed(err)
            stream.stderr_tail = (stream.stderr_tail + err)[-2048:]
        if stream.stdout.over_total:
            stream.error = "output exceeded the host's output cap; the rest was not read"
            return
        if done:
            stream.exit_status = code
            return


def _cleanup(proto: Protocol, shell_id: str | None, command_id: str | None) -> None:
    """Stop the command and delete the shell, briefly: a host that is gone must not hold the
    scan (any failure here is ignored; WinRM ends idle shells by itself)."""
    proto.transport.read_timeout_sec = CLEANUP_TIMEOUT
    proto.operation_timeout_sec = min(proto.operation_timeout_sec, CLEANUP_TIMEOUT - 1)
    if shell_id is not None and command_id is not None:
        with contextlib.suppress(Exception):
            proto.cleanup_command(shell_id, command_id)
    if shell_id is not None:
        with contextlib.suppress(Exception):
            proto.close_shell(shell_id)
    with contextlib.suppress(Exception):
        proto.transport.close_session()


def connection_facts(conn: dict[str, Any], facts: dict[str, Any], errors: dict[str, str]) -> None:
    """What the WinRM transport did about the host's identity, as facts a rule judges:
    ``winrm.certificate_validation`` is "ca" (validated against the CA bundle), "pinned" (the
    certificate matched winrm_cert_pin), "off" (winrm_cert_validation: false) or "none" (plain
    HTTP: Kerberos (or NTLM, opted in) authenticates the host instead; there is no certificate);
    ``winrm.ntlm_over_http`` is true when NTLM or CredSSP went over plain HTTP."""
    if conn.get("transport") == "winrm":
        # NTLM (or CredSSP) over plain HTTP, allowed only by winrm_allow_ntlm_over_http
        facts["winrm.ntlm_over_http"] = bool(conn.get("ntlm_over_http"))
    cert = conn.get("certificate")
    if isinstance(cert, dict):
        facts["winrm.certificate_validation"] = cert.get("validation")
        facts["winrm.certificate_sha256"] = cert.get("sha256")
        facts["winrm.certificate_not_after"] = cert.get("not_after")
    elif conn.get("transport") == "winrm":
        facts["winrm.certificate_validation"] = "none"
        for name in ("winrm.certificate_sha256", "winrm.certificate_not_after"):
            errors[name] = "plain HTTP: no certificate"
