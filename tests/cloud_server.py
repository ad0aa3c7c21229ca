"""A fake Microsoft Entra ID + Microsoft Graph + Google (OAuth, Admin SDK Directory, Cloud Identity)
server for the tests: real HTTPS on 127.0.0.1, serving tenants described as data
(tests/fixtures/cloud/tenants/*.yaml; SOURCE.md there says which shapes come from where).

What is real:
- TLS with a certificate the test makes (:func:`make_tls`); MSAL and google-auth reach it as
  they reach Microsoft and Google (MSAL with ``validate_authority=False`` and
  ``instance_discovery=False``, the CA trusted through a requests session's ``verify``).
- **Entra sign-in**: ``/{tenant}/v2.0/.well-known/openid-configuration``; the token endpoint
  checks a client-credentials ``client_assertion`` JWT's signature against the certificate the
  app registered (PyJWT, PS256 or RS256), its audience and issuer; the device code endpoint and
  the device-code grant. An access token is a JWT whose ``roles`` (app) or ``scp`` (delegated)
  are the permissions the tenant file grants the app.
- **Graph**: every route undone reads, answering only a token of that tenant, checking the
  permission each route needs (403 ``Authorization_RequestDenied``) and the licence
  (403 ``Authentication_RequestFromNonPremiumTenantOrB2CTenant`` / ``AadPremiumLicenseRequired``);
  ``$select`` (properties Graph returns only on ``$select`` are absent without it), ``$filter``
  (``roleDefinitionId eq '...'``, required on roleAssignments), ``$expand=principal``, ``$top``;
  paging with ``@odata.nextLink`` (a small page size, so every list pages).
- **Google**: the token endpoint (JWT bearer grant: the assertion's RS256 signature is checked
  with the service account's public key, its ``sub`` must be the customer's admin, every scope
  must be allowed domain-wide, else ``unauthorized_client``); Directory users, roles, role
  assignments, group members, org units; Cloud Identity policies; ``nextPageToken`` paging;
  403 for a scope the token lacks.
- **Faults per route** (a tenant file's ``faults``): any status with a Graph/Google error body,
  ``times`` (only the first N requests), ``retry_after`` (429).

Every request is logged as ``(method, path)`` in ``Server.log``: the tests assert that nothing
but GET (and the token POSTs) ever reaches it. Methods other than GET and POST answer 405.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import jwt
import yaml

TENANTS = Path(__file__).resolve().parent / "fixtures" / "cloud" / "tenants"
PAGE = 2  # items per page, whatever $top asks (so that every list pages)
GA = "62e90394-69f5-4237-9190-012177145e10"
ROLE_NAMES = {
    GA: "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
}
# Licences as subscribedSkus shows them (skuPartNumber and the service plans that matter)
SKUS = {
    "business-standard": ("O365_BUSINESS_PREMIUM", [("EXCHANGE_S_STANDARD",
                                                     "9aaf7827-d63c-4b61-89c3-182f06f82e5c")]),
    "business-premium": ("SPB", [("AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d")]),
    "e5": ("SPE_E5", [("AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"),
                      ("AAD_PREMIUM_P2", "eec0eb4f-6444-4f95-aba0-50c24d67f998")]),
}
# the user properties Graph returns without $select (user resource page, "default properties")
DEFAULT_USER = ("id", "businessPhones", "displayName", "givenName", "jobTitle", "mail",
                "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                "userPrincipalName")
METHOD_TYPES = {
    "microsoftAuthenticator": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
    "phone": "#microsoft.graph.phoneAuthenticationMethod",
    "fido2": "#microsoft.graph.fido2AuthenticationMethod",
    "softwareOath": "#microsoft.graph.softwareOathAuthenticationMethod",
    "email": "#microsoft.graph.emailAuthenticationMethod",
}
GOOGLE_SCOPES = {
    "users": "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "roles": "https://www.googleapis.com/auth/admin.directory.rolemanagement.readonly",
    "members": "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
    "orgunits": "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
    "policies": "https://www.googleapis.com/auth/cloud-identity.policies.readonly",
}


# -- certificates and keys ----------------------------------------------------------------------


@dataclass
class Tls:
    ca: Path
    cert: Path
    key: Path


def _name(cn: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def make_tls(folder: Path) -> Tls:
    """A CA and a server certificate for 127.0.0.1, signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("undone cloud test CA"))
          .issuer_name(_name("undone cloud test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    tls = Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(_pem_key(key))
    return tls


def make_app_certificate(folder: Path, stem: str) -> tuple[Path, Path]:
    """An app registration's certificate (self-signed RSA, as Microsoft's docs make them) and
    its private key: (certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    now = dt.datetime.now(dt.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(_name(f"undone {stem}"))
            .issuer_name(_name(f"undone {stem}")).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    cp, kp = folder / f"{stem}.crt", folder / f"{stem}.key"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(_pem_key(key))
    return cp, kp


def make_service_account(folder: Path, stem: str, client_email: str, token_uri: str
                         ) -> tuple[Path, bytes]:
    """A Google service account key file (the JSON Google issues, with a fresh RSA key and the
    given token_uri): (file, public key PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info = {
        "type": "service_account",
        "project_id": "undone-test",
        "private_key_id": secrets.token_hex(20),
        "private_key": _pem_key(key).decode(),
        "client_email": client_email,
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, public


def load_world(name: str) -> dict[str, Any]:
    data = yaml.safe_load((TENANTS / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# -- the server ---------------------------------------------------------------------------------


@dataclass
class Server:
    tls: Tls
    httpd: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None
    tenants: dict[str, dict[str, Any]] = field(default_factory=dict)  # tenant id -> world
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # client_email -> world
    app_certs: dict[str, bytes] = field(default_factory=dict)  # client id -> certificate PEM
    sa_keys: dict[str, bytes] = field(default_factory=dict)  # client_email -> public key PEM
    tokens: dict[str, tuple[str, dict[str, Any], list[str]]] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"https://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def google_token_uri(self) -> str:
        return f"{self.url}/google/token"

    def add_tenant(self, world: dict[str, Any], certificate: Path | None = None) -> None:
        self.tenants[str(world["tenant_id"])] = world
        if certificate is not None:
            self.app_certs[str(world["app"]["client_id"])] = certificate.read_bytes()

    def add_customer(self, world: dict[str, Any], public_key: bytes) -> None:
        email = str(world["service_account"])
        self.customers[email] = world
        self.sa_keys[email] = public_key

    def start(self) -> Server:
        server = self

        class Handler(_Handler):
            srv = server

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.tls.cert), str(self.tls.key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def issue(self, kind: str, world: dict[str, Any], perms: list[str]) -> str:
        claims = {"aud": "https://graph.microsoft.com", "tid": world.get("tenant_id"),
                  "iat": int(time.time()), "exp": int(time.time()) + 3600,
                  "jti": secrets.token_hex(8)}
        claims["roles" if kind == "app" else "scp"] = perms if kind == "app" else " ".join(perms)
        token = jwt.encode(claims, "server-secret-" + "x" * 32, algorithm="HS256")
        with self.lock:
            self.tokens[token] = (kind, world, perms)
        return token


class Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def graph_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message, "innerError": {
        "date": "2026-11-22T00:30:00", "request-id": "00000000-0000-0000-0000-000000000000"}}})


def google_error(status: int, reason: str, message: str, state: str) -> Reply:
    return Reply(status, {"error": {"code": status, "message": message, "status": state,
                                    "errors": [{"message": message, "domain": "global",
                                                "reason": reason}]}})


class _Handler(BaseHTTPRequestHandler):
    srv: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- plumbing -------------------------------------------------------------------------------

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        with self.srv.lock:
            self.srv.log.append((method, parts.path))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            if method == "GET":
                self._get(parts.path, parse_qs(parts.query), parts.query)
            elif method == "POST":
                self._post(parts.path, parse_qs(body.decode()))
            else:
                raise Reply(405, {"error": {"code": "MethodNotAllowed", "message": method}})
        except Reply as r:
            self._send(r.status, r.body, r.headers)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- sign-in --------------------------------------------------------------------------------

    def _post(self, path: str, form: dict[str, list[str]]) -> None:
        f = {k: v[0] for k, v in form.items()}
        if path == "/google/token":
            return self._google_token(f)
        m = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/(token|devicecode)", path)
        if not m or m.group(1) not in self.srv.tenants:
            raise Reply(400, {"error": "invalid_tenant", "error_description":
                              "AADSTS90002: Tenant not found."})
        world = self.srv.tenants[m.group(1)]
        app = world["app"]
        if f.get("client_id") != app["client_id"]:
            raise Reply(400, {"error": "unauthorized_client", "error_description":
                              "AADSTS700016: Application not found in the directory."})
        if m.group(2) == "devicecode":
            code = secrets.token_hex(8)
            raise Reply(200, {"device_code": code, "user_code": "ABCD-EFGH",
                              "verification_uri": "https://microsoft.com/devicelogin",
                              "expires_in": 60, "interval": 1,
                              "message": "To sign in, use a web browser to open the page "
                                         "https://microsoft.com/devicelogin and enter the code "
                                         "ABCD-EFGH to authenticate."})
        grant = f.get("grant_type")
        if grant == "client_credentials":
            self._check_assertion(f, world, path)
            token = self.srv.issue("app", world, list(app.get("permissions", [])))
        elif grant in ("device_code", "urn:ietf:params:oauth:grant-type:device_code"):
            token = self.srv.issue("delegated", world, list(app.get("permissions", [])))
        else:
            raise Reply(400, {"error": "unsupported_grant_type", "error_description": grant})
        raise Reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                          "access_token": token})

    def _check_assertion(self, f: dict[str, str], world: dict[str, Any], path: str) -> None:
        from cryptography import x509

        pem = self.srv.app_certs.get(str(world["app"]["client_id"]))
        if pem is None or f.get("client_assertion_type") != (
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"):
            raise Reply(401, {"error": "invalid_client", "error_description":
                              "AADSTS7000215: Invalid client secret provided."})
        cert = x509.load_pem_x509_certificate(pem)
        audience = self.srv.url + path
        try:
            claims = jwt.decode(f.get("client_assertion", ""), cert.public_key(),
                                algorithms=["PS256", "RS256"], audience=audience)
        except jwt.PyJWTError as e:
            raise Reply(401, {"error": "invalid_client", "error_description":
                              f"AADSTS700027: Client assertion failed signature validation. "
                              f"({e})"}) from None
        if claims.get("iss") != world["app"]["client_id"] or claims.get("sub") != claims["iss"]:
            raise Reply(401, {"error": "invalid_client", "error_description":
                              "AADSTS700023: bad issuer"})

    def _google_token(self, f: dict[str, str]) -> None:
        if f.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise Reply(400, {"error": "unsupported_grant_type"})
        assertion = f.get("assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Reply(400, {"error": "invalid_grant", "error_description":
                              "Invalid JWT"}) from None
        email = str(unverified.get("iss"))
        world = self.srv.customers.get(email)
        if world is None:
            raise Reply(400, {"error": "invalid_grant", "error_description":
                              "Invalid JWT Signature."})
        try:
            # google-auth addresses the assertion to Google's token endpoint whatever the key
            # file's token_uri (service_account.py: "aud": _GOOGLE_OAUTH2_TOKEN_ENDPOINT)
            claims = jwt.decode(assertion, self.srv.sa_keys[email], algorithms=["RS256"],
                                audience="https://oauth2.googleapis.com/token")
        except jwt.PyJWTError as e:
            raise Reply(400, {"error": "invalid_grant", "error_description":
                              f"Invalid JWT Signature. ({e})"}) from None
        if claims.get("sub") != world["admin_email"]:
            raise Reply(401, {"error": "unauthorized_client", "error_description":
                              "Client is unauthorized to retrieve access tokens using this "
                              "method, or client not authorized for any of the scopes "
                              "requested."})
        scopes = str(claims.get("scope", "")).split()
        allowed = world.get("dwd_scopes", list(GOOGLE_SCOPES.values()))
        if not scopes or any(s not in allowed for s in scopes):
            raise Reply(401, {"error": "unauthorized_client", "error_description":
                              "Client is unauthorized to retrieve access tokens using this "
                              "method, or client not authorized for any of the scopes "
                              "requested."})
        token = self.srv.issue("google", world, scopes)
        raise Reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    # -- reads ----------------------------------------------------------------------------------

    def _caller(self) -> tuple[str, dict[str, Any], list[str]]:
        auth = self.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ")
        got = self.srv.tokens.get(token)
        if got is None:
            raise Reply(401, {"error": {"code": "InvalidAuthenticationToken",
                                        "message": "Access token is empty or invalid."}})
        return got

    def _fault(self, world: dict[str, Any], key: str) -> None:
        fault = (world.get("faults") or {}).get(key)
        if not fault:
            return
        with self.srv.lock:
            n = self.srv.hits[key] = self.srv.hits.get(key, 0) + 1
        if fault.get("times") and n > int(fault["times"]):
            return
        status = int(fault["status"])
        headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
        if world.get("platform") == "google-workspace":
            r = google_error(status, fault.get("code", "forbidden"),
                             fault.get("message", "fault"), fault.get("state", "PERMISSION_DENIED"))
        else:
            r = graph_error(status, fault.get("code", "Fault"), fault.get("message", "fault"))
        r.headers = headers
        raise r

    def _get(self, path: str, q: dict[str, list[str]], raw_query: str) -> None:
        m = re.fullmatch(r"/([^/]+)/v2\.0/\.well-known/openid-configuration", path)
        if m:
            tid = m.group(1)
            if tid not in self.srv.tenants:
                # as login.microsoftonline.com answers (error code AADSTS90002, documented in
                # Microsoft Entra's authentication error codes)
                raise Reply(400, {"error": "invalid_tenant", "error_description": (
                    f"AADSTS90002: Tenant '{tid}' not found. Check to make sure you have the "
                    "correct tenant ID and are signing into the correct cloud."),
                    "error_codes": [90002]})
            base = f"{self.srv.url}/{tid}"
            raise Reply(200, {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/v2.0", "jwks_uri": f"{base}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                          "private_key_jwt"],
            })
        kind, world, perms = self._caller()
        if path.startswith(("/v1.0/", "/beta/")):
            if kind not in ("app", "delegated"):
                raise graph_error(401, "InvalidAuthenticationToken", "not a Graph token")
            return Graph(self, world, perms, q, raw_query).route(path)
        if kind != "google":
            raise google_error(401, "authError", "Invalid Credentials", "UNAUTHENTICATED")
        return Google(self, world, perms, q).route(path)


def _one(q: dict[str, list[str]], key: str) -> str | None:
    v = q.get(key)
    return v[0] if v else None


class Graph:
    """The Graph routes of one tenant world."""

    def __init__(self, h: _Handler, world: dict[str, Any], perms: list[str],
                 q: dict[str, list[str]], raw_query: str) -> None:
        self.h, self.w, self.perms, self.q, self.raw = h, world, perms, q, raw_query
        self.users = {u["id"]: u for u in world.get("users", [])}
        self.groups = {g["id"]: g for g in world.get("groups", [])}
        plans = [p for sku in world.get("licences", []) for _, p in SKUS[sku][1]]
        self.p1 = "41781fb2-bc02-4b7c-bd55-b576c07bb09d" in plans
        self.p2 = "eec0eb4f-6444-4f95-aba0-50c24d67f998" in plans

    def need(self, *perms: str) -> None:
        if not any(p in self.perms for p in (*perms, "Directory.Read.All",
                                              "Directory.ReadWrite.All")):
            raise graph_error(403, "Authorization_RequestDenied",
                              "Insufficient privileges to complete the operation.")

    def licensed(self, p2: bool = False) -> None:
        if p2 and not self.p2:
            raise graph_error(403, "AadPremiumLicenseRequired",
                              "The tenant needs an AAD Premium 2 license.")
        if not self.p1:
            raise graph_error(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                              "Neither tenant is B2C or tenant doesn't have premium license")

    def page(self, items: list[dict[str, Any]], context: str) -> None:
        skip = int(_one(self.q, "$skiptoken") or 0)
        top = min(int(_one(self.q, "$top") or 100), PAGE)
        body: dict[str, Any] = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#"
                                + context, "value": items[skip: skip + top]}
        if skip + top < len(items):
            kept = [(k, v) for k, vs in self.q.items() for v in vs if k != "$skiptoken"]
            body["@odata.nextLink"] = (f"{self.h.srv.url}{urlsplit(self.h.path).path}?"
                                       + urlencode([*kept, ("$skiptoken", str(skip + top))],
                                                   quote_via=quote))
        raise Reply(200, body)

    def user(self, u: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
        full = {
            "id": u["id"], "userPrincipalName": u["upn"], "displayName": u.get("name", u["upn"]),
            "mail": u.get("mail"), "givenName": None, "surname": None, "jobTitle": None,
            "businessPhones": [], "mobilePhone": None, "officeLocation": None,
            "preferredLanguage": "en-GB", "userType": u.get("type", "Member"),
            "accountEnabled": u.get("enabled", True),
            "createdDateTime": u.get("created", "2024-09-01T08:00:00Z"),
            "onPremisesSyncEnabled": None, "creationType": None,
            "externalUserState": "Accepted" if u.get("type") == "Guest" else None,
        }
        if select and "signInActivity" in select:
            last = u.get("last_sign_in")
            full["signInActivity"] = {"lastSignInDateTime": last,
                                      "lastNonInteractiveSignInDateTime": last,
                                      "lastSuccessfulSignInDateTime": last}
        keys = select or list(DEFAULT_USER)
        return {k: full.get(k) for k in ["id", *[k for k in keys if k != "id"]]}

    def principal(self, pid: str) -> dict[str, Any]:
        if pid in self.users:
            return {"@odata.type": "#microsoft.graph.user",
                    **self.user(self.users[pid], ["id", "userPrincipalName", "displayName",
                                                  "mail", "accountEnabled", "userType"])}
        if pid in self.groups:
            g = self.groups[pid]
            return {"@odata.type": "#microsoft.graph.group", "id": pid,
                    "displayName": g["name"], "isAssignableToRole": True}
        return {"@odata.type": "#microsoft.graph.servicePrincipal", "id": pid,
                "displayName": f"app {pid[:8]}", "accountEnabled": True, "appId": pid}

    def route(self, path: str) -> None:
        self.h._fault(self.w, path)
        select = _one(self.q, "$select")
        fields = select.split(",") if select else None
        if path == "/v1.0/organization":
            self.need("Organization.Read.All", "User.Read")
            self.page([{"id": self.w["tenant_id"], "displayName": self.w["name"],
                        "verifiedDomains": [{"name": d, "isDefault": i == 0}
                                            for i, d in enumerate(self.w.get("domains", []))]}],
                      "organization")
        if path == "/v1.0/subscribedSkus":
            self.need("Organization.Read.All")
            skus = []
            for name in self.w.get("licences", []):
                part, plans = SKUS[name]
                skus.append({"capabilityStatus": "Enabled", "appliesTo": "User",
                             "skuPartNumber": part, "skuId": secrets.token_hex(4),
                             "consumedUnits": len(self.users),
                             "prepaidUnits": {"enabled": 300, "suspended": 0, "warning": 0},
                             "servicePlans": [{"servicePlanId": pid, "servicePlanName": pn,
                                               "provisioningStatus": "Success",
                                               "appliesTo": "User"} for pn, pid in plans]})
            self.page(skus, "subscribedSkus")
        if path == "/v1.0/users":
            self.need("User.Read.All")
            if fields and "signInActivity" in fields:
                self.need("AuditLog.Read.All")
                self.licensed()
            self.page([self.user(u, fields) for u in self.users.values()], "users")
        if path == "/v1.0/roleManagement/directory/roleDefinitions":
            self.need("RoleManagement.Read.Directory")
            self.page([{"id": rid, "templateId": rid, "displayName": name, "isBuiltIn": True,
                        "isPrivileged": rid in (GA, "e8611ab8-c189-46e8-94e1-60213ab1f814")}
                       for rid, name in ROLE_NAMES.items()], "roleDefinitions")
        if path == "/v1.0/roleManagement/directory/roleAssignments":
            self.need("RoleManagement.Read.Directory")
            flt = _one(self.q, "$filter") or ""
            m = re.fullmatch(r"roleDefinitionId eq '([0-9a-f-]+)'", flt)
            if not m:
                raise graph_error(400, "Request_UnsupportedQuery",
                                  "A filter on roleDefinitionId or principalId is required.")
            out = []
            for i, ra in enumerate(self.w.get("roles", [])):
                if ra["role"] != m.group(1):
                    continue
                item = {"id": f"ra{i}", "principalId": ra["principal"],
                        "roleDefinitionId": ra["role"], "directoryScopeId": ra.get("scope", "/"),
                        "resourceScope": ra.get("scope", "/")}
                if _one(self.q, "$expand") == "principal":
                    item["principal"] = self.principal(ra["principal"])
                out.append(item)
            self.page(out, "roleManagement/directory/roleAssignments")
        if path == "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances":
            self.need("RoleEligibilitySchedule.Read.Directory", "RoleManagement.Read.Directory")
            self.licensed(p2=True)
            self.page([{"id": f"el{i}", "principalId": e["principal"],
                        "roleDefinitionId": e["role"], "directoryScopeId": "/",
                        "appScopeId": None, "startDateTime": "2026-01-01T00:00:00Z",
                        "endDateTime": None, "memberType": "Direct",
                        "roleEligibilityScheduleId": f"s{i}"}
                       for i, e in enumerate(self.w.get("eligible", []))],
                      "roleManagement/directory/roleEligibilityScheduleInstances")
        m = re.fullmatch(r"/v1\.0/groups/([^/]+)(/transitiveMembers)?", path)
        if m:
            self.need("GroupMember.Read.All", "Group.Read.All")
            g = self.groups.get(m.group(1))
            if g is None:
                raise graph_error(404, "Request_ResourceNotFound",
                                  f"Resource '{m.group(1)}' does not exist.")
            if not m.group(2):
                raise Reply(200, {"id": g["id"], "displayName": g["name"]})
            self.page([{"@odata.type": "#microsoft.graph.user",
                        **self.user(self.users[u], fields)} for u in g["members"]],
                      "directoryObjects")
        if path == "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy":
            self.need("Policy.Read.All")
            raise Reply(200, {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/"
                                  "identitySecurityDefaultsEnforcementPolicy/$entity",
                "id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults",
                "description": "Security defaults is a set of basic identity security "
                               "mechanisms recommended by Microsoft.",
                "isEnabled": bool(self.w.get("security_defaults"))})
        if path == "/v1.0/identity/conditionalAccess/policies":
            self.need("Policy.Read.All")
            self.page(list(self.w.get("ca_policies", [])), "identity/conditionalAccess/policies")
        if path == "/v1.0/reports/authenticationMethods/userRegistrationDetails":
            self.need("AuditLog.Read.All")
            self.licensed()
            rows = []
            for u in self.users.values():
                methods = [m for m in u.get("methods", []) if m != "email"]
                rows.append({"id": u["id"], "userPrincipalName": u["upn"],
                             "userDisplayName": u.get("name"), "userType": u.get(
                                 "type", "Member").lower(), "isAdmin": False,
                             "isMfaRegistered": bool(methods), "isMfaCapable": bool(methods),
                             "isSsprRegistered": False, "isSsprEnabled": False,
                             "isSsprCapable": False, "isPasswordlessCapable": False,
                             "methodsRegistered": methods,
                             "lastUpdatedDateTime": "2026-11-21T00:00:00Z"})
            self.page(rows, "reports/authenticationMethods/userRegistrationDetails")
        m = re.fullmatch(r"/v1\.0/users/([^/]+)/authentication/methods", path)
        if m:
            self.need("UserAuthenticationMethod.Read.All")
            u = self.users.get(m.group(1))
            if u is None:
                raise graph_error(404, "Request_ResourceNotFound", "no such user")
            methods = [{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
                        "id": "28c10230-6103-485e-b985-444c60001490"}]
            methods += [{"@odata.type": METHOD_TYPES[x], "id": f"{x}-{u['id'][:8]}"}
                        for x in u.get("methods", [])]
            self.page(methods, f"users('{u['id']}')/authentication/methods")
        m = re.fullmatch(r"/beta/users/([^/]+)/authentication/requirements", path)
        if m:
            self.need("Policy.Read.All")
            u = self.users.get(m.group(1))
            if u is None:
                raise graph_error(404, "Request_ResourceNotFound", "no such user")
            raise Reply(200, {"@odata.type": "#microsoft.graph.strongAuthenticationRequirements",
                              "perUserMfaState": u.get("per_user_mfa", "disabled")})
        raise graph_error(404, "UnknownError", f"no route {path}")


class Google:
    """The Admin SDK Directory and Cloud Identity routes of one customer world."""

    def __init__(self, h: _Handler, world: dict[str, Any], scopes: list[str],
                 q: dict[str, list[str]]) -> None:
        self.h, self.w, self.scopes, self.q = h, world, scopes, q

    def need(self, what: str) -> None:
        if GOOGLE_SCOPES[what] not in self.scopes:
            raise google_error(403, "insufficientPermissions",
                               "Request had insufficient authentication scopes.",
                               "PERMISSION_DENIED")

    def page(self, key: str, items: list[dict[str, Any]], kind: str) -> None:
        start = int(_one(self.q, "pageToken") or 0)
        body: dict[str, Any] = {"kind": kind, "etag": '"etag"', key: items[start: start + PAGE]}
        if start + PAGE < len(items):
            body["nextPageToken"] = str(start + PAGE)
        raise Reply(200, body)

    def route(self, path: str) -> None:
        self.h._fault(self.w, path)
        cust = f"/admin/directory/v1/customer/{self.w.get('customer_path', 'my_customer')}"
        if path == "/admin/directory/v1/users":
            self.need("users")
            if _one(self.q, "customer") not in ("my_customer", self.w["customer_id"]):
                raise google_error(400, "badRequest", "Bad Request", "INVALID_ARGUMENT")
            users = []
            for u in self.w.get("users", []):
                users.append({
                    "kind": "admin#directory#user", "id": u["id"], "etag": '"e"',
                    "primaryEmail": u["email"],
                    "name": {"givenName": u["email"].split("@")[0], "familyName": "Test",
                             "fullName": u["email"].split("@")[0] + " Test"},
                    "isAdmin": u.get("admin", False),
                    "isDelegatedAdmin": u.get("delegated_admin", False),
                    "lastLoginTime": u.get("last_login", "1970-01-01T00:00:00.000Z"),
                    "creationTime": u.get("created", "2024-09-01T08:00:00.000Z"),
                    "agreedToTerms": True, "suspended": u.get("suspended", False),
                    "archived": False, "changePasswordAtNextLogin": False,
                    "ipWhitelisted": False, "emails": [{"address": u["email"], "primary": True}],
                    "customerId": self.w["customer_id"], "orgUnitPath": u.get("ou", "/"),
                    "isMailboxSetup": True, "isEnrolledIn2Sv": u.get("enrolled", False),
                    "isEnforcedIn2Sv": u.get("enforced", False),
                    "includeInGlobalAddressList": True})
            self.page("users", users, "admin#directory#users")
        if path == f"{cust}/roles":
            self.need("roles")
            self.page("items", [{"kind": "admin#directory#role", "etag": '"e"', **r}
                                for r in self.w.get("roles", [])], "admin#directory#roles")
        if path == f"{cust}/roleassignments":
            self.need("roles")
            self.page("items", [{"kind": "admin#directory#roleAssignment", "etag": '"e"',
                                 "roleAssignmentId": str(1000 + i), "scopeType": "CUSTOMER", **r}
                                for i, r in enumerate(self.w.get("role_assignments", []))],
                      "admin#directory#roleAssignments")
        m = re.fullmatch(r"/admin/directory/v1/groups/([^/]+)/members", path)
        if m:
            self.need("members")
            group = next((g for g in self.w.get("groups", []) if g["id"] == m.group(1)), None)
            if group is None:
                raise google_error(404, "notFound", "Resource Not Found: groupKey", "NOT_FOUND")
            users = {u["id"]: u for u in self.w.get("users", [])}
            self.page("members", [{"kind": "admin#directory#member", "id": uid,
                                   "email": users[uid]["email"], "role": "MEMBER",
                                   "type": "USER", "status": "ACTIVE"}
                                  for uid in group["members"]], "admin#directory#members")
        if path == f"{cust}/orgunits":
            self.need("orgunits")
            root = self.w.get("root_ou", "03ph8a2z2dvk5ts")
            units = []
            for ou in self.w.get("orgunits", []):
                parent = ou["path"].rsplit("/", 1)[0] or "/"
                units.append({"kind": "admin#directory#orgUnit", "name": ou["path"][1:],
                              "orgUnitPath": ou["path"], "orgUnitId": f"id:{ou['id']}",
                              "parentOrgUnitPath": parent,
                              "parentOrgUnitId": f"id:{root}" if parent == "/" else None})
            raise Reply(200, {"kind": "admin#directory#orgUnits", "etag": '"e"',
                              "organizationUnits": units})
        if path == "/v1/policies":
            self.need("policies")
            out = []
            for i, p in enumerate(self.w.get("policies", [])):
                out.append({"name": f"policies/p{i}", "customer": f"customers/"
                                                                  f"{self.w['customer_id']}",
                            "policyQuery": {"orgUnit": f"orgUnits/{p['ou']}",
                                            "sortOrder": p.get("sortOrder", 101)},
                            "setting": {"type": f"settings/{p['type']}", "value": p["value"]},
                            "type": p.get("kind", "ADMIN")})
            self.page("policies", out, "policies")
        raise google_error(404, "notFound", f"no route {path}", "NOT_FOUND")

