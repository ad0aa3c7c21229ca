"""The inventory's ``tenants:`` section: one entry per cloud tenant, credentials by reference.

::

    tenants:
      school-m365:                        # the tenant's name in reports (like a host's)
        platform: m365                    # Microsoft 365 / Entra ID
        tenant_id: 7c1e4b9a-...           # the directory (tenant) id, or its primary domain
        client_id: 0f6e2d41-...           # the app registration's application (client) id
        certificate_file: keys/undone-school.crt   # the certificate registered on the app
        private_key_file: keys/undone-school.key   # its private key (PEM), read at scan time
        private_key_passphrase_env: UNDONE_SCHOOL_KEY_PASS   # optional: the key's passphrase
        # or, for a one-off scan signed in by one of the client's admins:  auth: device-code
        client_admins: [head@school.example]
        provider_admins: ["domain:msp.example"]
        break_glass: [emergency1@school.onmicrosoft.com]
      acme-google:
        platform: google-workspace
        service_account_file: keys/acme-undone.json  # the service account's key file
        admin_email: undone-reader@acme.example      # the admin the service account acts as
        customer: my_customer             # optional: the customer id (C0...)
        client_admins: [it@acme.example]

Identities are ``NAME@DOMAIN``, ``domain:DOMAIN`` or ``id:OBJECT-ID`` (probes/cloud/_common.py);
an identity cannot be both the client's and the provider's. Optional for both platforms:
``owner`` (provider, client, shared), ``timeout`` (seconds for the whole tenant, default 300),
``max_user_requests`` (per-user requests undone may make where no bulk report exists, default
500). A relative file path is relative to the inventory's folder. Secrets are never values: a
key named like one (``client_secret``, ``password``, ...) is refused with what to use instead.

:func:`parse_tenants` validates the section and returns :class:`TenantConfig` entries, or
raises :class:`~scanner.errors.InventoryError` with one line per problem, each naming the file
and key path. It is meant to be called by the inventory loader for a top-level ``tenants`` key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probes import cloud as cloud_ids
from scanner.errors import InventoryError
from scanner.inventory.checks import near_miss

PLATFORMS = ("m365", "google-workspace")
AUTHS = {"m365": ("certificate", "device-code"), "google-workspace": ("service-account",)}
OWNERS = ("provider", "client", "shared")
COMMON_KEYS = ("platform", "auth", "client_admins", "provider_admins", "break_glass", "owner",
               "timeout", "max_user_requests")
KEYS = {
    "m365": (*COMMON_KEYS, "tenant_id", "client_id", "certificate_file", "private_key_file",
             "private_key_passphrase_env"),
    "google-workspace": (*COMMON_KEYS, "service_account_file", "admin_email", "customer"),
}
SECRET_WORDS = ("secret", "password", "passphrase", "private_key", "token", "credential")
SECRET_HINT = {
    "m365": "name the app's certificate_file and private_key_file (and "
            "private_key_passphrase_env for an encrypted key); client secrets are not supported",
    "google-workspace": "name the service account's key file in service_account_file",
}
DEFAULT_TIMEOUT = 300.0
DEFAULT_MAX_USER_REQUESTS = 500

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CUSTOMER = re.compile(r"^(my_customer|C[0-9A-Za-z]{5,20})$")


@dataclass(frozen=True)
class TenantConfig:
    """One tenant as the inventory declares it (references to credentials only)."""

    name: str
    platform: str
    auth: str
    # Microsoft 365 / Entra ID
    tenant_id: str | None = None
    client_id: str | None = None
    certificate_file: str | None = None
    private_key_file: str | None = None
    private_key_passphrase_env: str | None = None
    # Google Workspace
    service_account_file: str | None = None
    admin_email: str | None = None
    customer: str = "my_customer"
    # both
    client_admins: tuple[str, ...] | None = None
    provider_admins: tuple[str, ...] | None = None
    break_glass: tuple[str, ...] = ()
    owner: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_user_requests: int = DEFAULT_MAX_USER_REQUESTS

    @property
    def address(self) -> str:
        """What the record shows as the address: the tenant id, or the customer and admin."""
        if self.platform == "m365":
            return str(self.tenant_id)
        return f"{self.customer} (as {self.admin_email})"

    def probe_config(self) -> dict[str, Any]:
        """What the parsers get (RawSection.config): the declared identities."""
        return {
            "client_admins": None if self.client_admins is None else list(self.client_admins),
            "provider_admins": None if self.provider_admins is None
            else list(self.provider_admins),
            "break_glass": list(self.break_glass),
        }


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _resolve(path: str, label: str) -> str:
    p = Path(os.path.expanduser(path))
    if not p.is_absolute() and label and os.path.exists(label):
        p = Path(label).resolve().parent / p
    return str(p)


class _Problems:
    def __init__(self, label: str) -> None:
        self.label = label
        self.lines: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.lines.append(f"{self.label}: {where}: {what}")


def _identities(value: Any, where: str, p: _Problems) -> tuple[str, ...] | None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        p.add(where, f"is {_type_name(value)}, expected a list of identities ({cloud_ids.FORMS})")
        return None
    before = len(p.lines)
    for i, item in enumerate(items):
        try:
            cloud_ids.parse_identity(item)
        except ValueError as e:
            p.add(f"{where}[{i}]", str(e))
    return tuple(items) if len(p.lines) == before else None


def _tenant(name: str, body: Any, label: str, p: _Problems) -> TenantConfig | None:
    where = f"tenants.{name}"
    if not isinstance(body, dict):
        p.add(where, f"is {_type_name(body)}, expected a mapping with platform: "
                     f"{' or '.join(PLATFORMS)}")
        return None
    before = len(p.lines)
    platform = body.get("platform")
    if platform not in PLATFORMS:
        guess = near_miss(str(platform), PLATFORMS) if isinstance(platform, str) else None
        hint = f" (did you mean '{guess}'?)" if guess else ""
        p.add(f"{where}.platform", f"is {platform!r}{hint}, expected one of "
                                   f"{', '.join(PLATFORMS)}")
        return None
    allowed = KEYS[platform]
    for key in body:
        if key in allowed:
            continue
        written = str(key)
        if any(w in written.lower() for w in SECRET_WORDS):
            p.add(f"{where}.{written}", "secrets are never written in the inventory: "
                                        + SECRET_HINT[platform])
            continue
        guess = near_miss(written, allowed) or near_miss(written, KEYS["m365"] + KEYS[
            "google-workspace"])
        hint = f" (did you mean '{guess}'?)" if guess else ""
        p.add(where, f"unknown key '{written}'{hint} for platform {platform}; expected "
                     f"{', '.join(allowed)}")
    auth = body.get("auth", AUTHS[platform][0])
    if auth not in AUTHS[platform]:
        p.add(f"{where}.auth", f"is {auth!r}, expected {' or '.join(AUTHS[platform])}")

    def text(key: str, pattern: re.Pattern[str] | None, expected: str,
             required: bool = True) -> str | None:
        value = body.get(key)
        if value is None:
            if required:
                p.add(where, f"'{key}' is missing: expected {expected}")
            return None
        if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
            shown = value if isinstance(value, str) and len(value) <= 80 else _type_name(value)
            p.add(f"{where}.{key}", f"is {shown!r}, expected {expected}")
            return None
        return value

    def path(key: str, required: bool) -> str | None:
        value = text(key, None, "the path of a file", required)
        if value is not None and (not value.strip() or "\x00" in value):
            p.add(f"{where}.{key}", "expected the path of a file")
            return None
        return _resolve(value, label) if value else None

    fields: dict[str, Any] = {}
    if platform == "m365":
        fields["tenant_id"] = text("tenant_id", re.compile(f"{_GUID.pattern}|{_DOMAIN.pattern}"),
                                   "the directory (tenant) id, a GUID, or its primary domain")
        fields["client_id"] = text("client_id", _GUID, "the app registration's application "
                                                       "(client) id, a GUID")
        certificate = auth == "certificate"
        fields["certificate_file"] = path("certificate_file", certificate)
        fields["private_key_file"] = path("private_key_file", certificate)
        fields["private_key_passphrase_env"] = text(
            "private_key_passphrase_env", _ENV, "the name of an environment variable", False)
        if not certificate:
            for key in ("certificate_file", "private_key_file", "private_key_passphrase_env"):
                if key in body:
                    p.add(f"{where}.{key}", "is only used with auth: certificate")
    else:
        fields["service_account_file"] = path("service_account_file", True)
        email = text("admin_email", None, "the e-mail of the admin the service account acts as")
        if email is not None:
            try:
                ident = cloud_ids.parse_identity(email)
            except ValueError:
                ident = None
            if ident is None or ident.kind != "user":
                p.add(f"{where}.admin_email", f"is {email!r}, expected an e-mail address")
        fields["admin_email"] = email
        customer = text("customer", _CUSTOMER, "my_customer or a customer id such as C03az79cb",
                        False)
        fields["customer"] = customer or "my_customer"
    admins: dict[str, tuple[str, ...] | None] = {}
    for key in ("client_admins", "provider_admins", "break_glass"):
        admins[key] = _identities(body[key], f"{where}.{key}", p) if key in body else None
    both = {i.lower() for i in admins["client_admins"] or ()} & {
        i.lower() for i in admins["provider_admins"] or ()}
    if both:
        p.add(where, f"{', '.join(sorted(both))} in both client_admins and provider_admins: an "
                     "administrator identity is either the client's or the provider's")
    owner = body.get("owner")
    if owner is not None and owner not in OWNERS:
        p.add(f"{where}.owner", f"is {owner!r}, expected one of {', '.join(OWNERS)}")
    timeout = body.get("timeout", DEFAULT_TIMEOUT)
    if not (isinstance(timeout, int | float) and not isinstance(timeout, bool)
            and 0 < timeout <= 86400):
        p.add(f"{where}.timeout", f"is {timeout!r}, expected a number of seconds greater than 0")
    cap = body.get("max_user_requests", DEFAULT_MAX_USER_REQUESTS)
    if not (isinstance(cap, int) and not isinstance(cap, bool) and 0 <= cap <= 100000):
        p.add(f"{where}.max_user_requests", f"is {cap!r}, expected a whole number 0-100000")
    if len(p.lines) != before:
        return None
    return TenantConfig(
        name=name,
        platform=platform,
        auth=auth,
        client_admins=admins["client_admins"],
        provider_admins=admins["provider_admins"],
        break_glass=admins["break_glass"] or (),
        owner=owner,
        timeout=float(timeout),
        max_user_requests=int(cap),
        **fields,
    )


def parse_tenants(raw: Any, label: str, taken: set[str] | None = None) -> tuple[TenantConfig, ...]:
    """Validate an inventory's ``tenants:`` section (``raw``: its value as loaded; ``label``:
    the inventory's path, for messages and relative paths; ``taken``: host names already in
    use, which a tenant may not reuse). Raises InventoryError with every problem found."""
    if raw is None:
        return ()
    p = _Problems(label)
    if not isinstance(raw, dict):
        raise InventoryError(f"{label}: tenants: is {_type_name(raw)}, expected a mapping of "
                             "tenant names to their settings")
    out: list[TenantConfig] = []
    for name, body in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            p.add("tenants", f"tenant name {name!r}: expected 1-64 letters, digits, _ . -")
            continue
        if taken and name in taken:
            p.add(f"tenants.{name}", "the same name as a host: a tenant needs a name of its own")
            continue
        got = _tenant(name, body, label, p)
        if got is not None:
            out.append(got)
    if p.lines:
        raise InventoryError(p.lines)
    return tuple(out)
