"""Tokens for reading a tenant: MSAL for Microsoft Entra ID, google-auth for Google Workspace.

- **Entra, certificate** (scheduled scans, MSPs): client credentials of an app registration that
  holds only read permissions, signed with the app's certificate (MSAL builds the signed
  ``client_assertion``; the private key is read from its file at scan time and never kept).
- **Entra, device code** (a one-off scan signed in by one of the client's admins): MSAL's device
  code flow; the message telling the person where to sign in goes to ``Options.device_prompt``.
  Without a person at the terminal (no prompt) it is refused rather than left waiting.
- **Google**: a service account with domain-wide delegation acting as an admin, read-only scopes
  only; google-auth signs a JWT with the key file's private key and exchanges it (the JWT bearer
  grant) at the key file's ``token_uri``, which must be Google's own unless the options allow
  another (the test suite's server).

A :class:`Token` never shows its value in ``repr`` or messages. Failures are :class:`AuthFailure`
with ``kind`` ``auth`` (refused), ``network`` (no answer) or ``config`` (a file or setting
undone cannot use), and a message naming what to fix.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from scanner.inventory.tenants import TenantConfig

MICROSOFT_LOGIN = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GOOGLE_TOKEN_URIS = ("https://oauth2.googleapis.com/token",
                     "https://accounts.google.com/o/oauth2/token")
MAX_KEY_FILE = 256 * 1024


class AuthFailure(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Token:
    value: str = field(repr=False)
    kind: str  # application | delegated
    permissions: list[str]
    endpoint: str  # where it was obtained (no secret)

    def __str__(self) -> str:
        return f"{self.kind} token from {self.endpoint}"


@dataclass
class AuthOptions:
    login_url: str = MICROSOFT_LOGIN
    ca_bundle: str | None = None  # a CA file to trust (tests); None: the system's
    google_token_uris: tuple[str, ...] = GOOGLE_TOKEN_URIS
    device_prompt: Callable[[str], None] | None = None
    timeout: float = 30.0


def _read(path: str | None, what: str, limit: int = MAX_KEY_FILE) -> str:
    if not path:
        raise AuthFailure("config", f"no {what} named")
    p = Path(path)
    try:
        if not p.is_file():
            raise AuthFailure("config", f"{what} {path}: not a regular file")
        if p.stat().st_size > limit:
            raise AuthFailure("config", f"{what} {path}: larger than {limit} bytes")
        return p.read_text(encoding="utf-8")
    except OSError as e:
        raise AuthFailure("config", f"{what} {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise AuthFailure("config", f"{what} {path}: not PEM/JSON text") from None


def _claims(token: str) -> dict[str, Any]:
    """The claims of a JWT access token (read, not verified: they only say what undone may do,
    for the report)."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _session(opts: AuthOptions) -> requests.Session:
    from scanner.engine.cloud.http import Session

    s = Session()
    s.verify = opts.ca_bundle or True
    return s


def entra_token(tenant: TenantConfig, opts: AuthOptions) -> Token:
    import msal

    authority = f"{opts.login_url.rstrip('/')}/{tenant.tenant_id}"
    kwargs: dict[str, Any] = {"authority": authority, "http_client": _session(opts),
                              "timeout": opts.timeout}
    if opts.login_url.rstrip("/") != MICROSOFT_LOGIN:
        # a sign-in endpoint other than Microsoft's own (the test suite's): MSAL would ask
        # login.microsoftonline.com whether it is known, which it is not
        kwargs.update(validate_authority=False, instance_discovery=False)
    try:
        if tenant.auth == "device-code":
            result = _device_code(msal, tenant, opts, kwargs)
        else:
            credential: dict[str, Any] = {
                "private_key": _read(tenant.private_key_file, "private key file"),
                "public_certificate": _read(tenant.certificate_file, "certificate file"),
            }
            if tenant.private_key_passphrase_env:
                secret = os.environ.get(tenant.private_key_passphrase_env)
                if secret is None:
                    raise AuthFailure("config", f"the environment variable "
                                                f"{tenant.private_key_passphrase_env} (the "
                                                "private key's passphrase) is not set")
                credential["passphrase"] = secret
            app = msal.ConfidentialClientApplication(tenant.client_id,
                                                     client_credential=credential, **kwargs)
            result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    except AuthFailure:
        raise
    except requests.RequestException as e:
        raise AuthFailure("network", f"sign-in endpoint {opts.login_url} did not answer: "
                                     f"{str(e).splitlines()[0][:200]}") from None
    except ValueError as e:  # MSAL: an unusable key or certificate, or an unknown authority
        if str(e).startswith("Unable to get authority configuration"):
            # the sign-in endpoint's OpenID discovery refused the tenant (Microsoft answers
            # 400 invalid_tenant, AADSTS90002); MSAL keeps only its own words
            raise AuthFailure("auth", f"sign-in to tenant {tenant.tenant_id} refused: the "
                                      f"sign-in endpoint {opts.login_url} does not know this "
                                      "tenant (Microsoft: AADSTS90002); check tenant_id: the "
                                      "directory (tenant) id or the tenant's primary domain"
                              ) from None
        raise AuthFailure("config", f"sign-in to tenant {tenant.tenant_id} could not start: "
                                    f"{str(e).splitlines()[0][:300]}") from None
    if not isinstance(result, dict) or "access_token" not in result:
        err = result.get("error") if isinstance(result, dict) else None
        desc = str(result.get("error_description") or "") if isinstance(result, dict) else ""
        raise AuthFailure("auth", f"sign-in to tenant {tenant.tenant_id} refused: {err}: "
                                  f"{desc.splitlines()[0][:300] if desc else 'no reason given'}")
    value = str(result["access_token"])
    claims = _claims(value)
    if tenant.auth == "device-code":
        perms = str(claims.get("scp") or "").split()
        kind = "delegated"
    else:
        roles = claims.get("roles")
        perms = [str(r) for r in roles] if isinstance(roles, list) else []
        kind = "application"
    return Token(value, kind, sorted(perms), authority)


def _device_code(msal: Any, tenant: TenantConfig, opts: AuthOptions,
                 kwargs: dict[str, Any]) -> Any:
    if opts.device_prompt is None:
        raise AuthFailure("config", "auth: device-code needs a person at the terminal to sign "
                                    "in; use auth: certificate for scheduled scans")
    app = msal.PublicClientApplication(tenant.client_id, **kwargs)
    flow = app.initiate_device_flow(scopes=[GRAPH_SCOPE])
    if "user_code" not in flow:
        raise AuthFailure("auth", f"device sign-in could not start: {flow.get('error')}: "
                                  f"{str(flow.get('error_description') or '')[:300]}")
    opts.device_prompt(str(flow.get("message") or flow["user_code"]))
    return app.acquire_token_by_device_flow(flow)


def google_token(tenant: TenantConfig, opts: AuthOptions, scopes: list[str]) -> Token:
    from google.auth import exceptions as gexc
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    text = _read(tenant.service_account_file, "service account key file")
    try:
        info = json.loads(text)
    except ValueError:
        raise AuthFailure("config", f"service account key file {tenant.service_account_file}: "
                                    "not JSON") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise AuthFailure("config", f"service account key file {tenant.service_account_file}: "
                                    "not a service account key (type is not service_account)")
    uri = info.get("token_uri")
    if uri not in opts.google_token_uris:
        raise AuthFailure("config", f"service account key file {tenant.service_account_file}: "
                                    f"its token_uri {uri!r} is not Google's token endpoint")
    bad = [s for s in scopes if not s.endswith(".readonly")]
    if bad:  # undone asks for nothing else; a change that did would be caught here
        raise AuthFailure("config", f"refusing scopes that are not read-only: {', '.join(bad)}")
    try:
        creds = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=scopes, subject=tenant.admin_email)
        creds.refresh(Request(session=_session(opts)))
    except gexc.RefreshError as e:
        detail = str(e.args[0] if e.args else e).splitlines()[0][:300]
        hint = ""
        if "unauthorized_client" in detail:
            hint = (" (allow the service account's client id these scopes in the Google Admin "
                    "console, Security, API controls, Domain-wide delegation: "
                    + ", ".join(scopes) + ")")
        raise AuthFailure("auth", f"Google refused the service account acting as "
                                  f"{tenant.admin_email}: {detail}{hint}") from None
    except gexc.TransportError as e:
        raise AuthFailure("network", f"Google's token endpoint did not answer: "
                                     f"{str(e).splitlines()[0][:200]}") from None
    except ValueError as e:  # a malformed key
        raise AuthFailure("config", f"service account key file {tenant.service_account_file}: "
                                    f"{str(e).splitlines()[0][:200]}") from None
    return Token(str(creds.token), "delegated", sorted(scopes), str(uri))
