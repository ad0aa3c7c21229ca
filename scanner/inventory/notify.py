"""The inventory's ``notify`` section: where to send word of a change (``email`` over SMTP,
``webhook`` as a JSON POST), on which kinds of change, with secrets named by environment
variable. Checked with the rest of the inventory; sent by scanner/ops/notify.py."""

from __future__ import annotations

import re
from typing import Any

from scanner.inventory.checks import (
    _check_value,
    _is_ip,
    _Problems,
    _resolve,
    _type_name,
    near_miss,
)
from scanner.inventory.model import (
    _HOSTNAME_RE,
    SECRET_KEYS,
)

# -- notify: where to send word of a change (scanner/ops/notify.py) ---------------------------

NOTIFY_KINDS = ("new", "regressed", "overdue", "no_longer_waived", "newly_waived",
                "no_longer_checked", "rule_changed", "unreachable", "reachable", "fixed")
NOTIFY_KEYS = ("on", "email", "webhook", "report_url", "timeout")
EMAIL_KEYS = ("to", "from", "smtp_host", "smtp_port", "starttls", "ssl", "username_env",
              "password_env", "ca_file", "attach_report", "on")
WEBHOOK_KEYS = ("url", "url_env", "headers_env", "on")
_ADDRESS_PART = re.compile(r"^[^@\s<>,;\"'()\[\]\\]+$")


class _AddressRe:
    """An e-mail address check in linear time (the former pattern backtracked: an 80 kB
    address took 20 s): at most 254 characters, one ``@``, a dot in the domain."""

    def match(self, text: str) -> bool:
        if len(text) > 254 or text.count("@") != 1:
            return False
        local, domain = text.split("@")
        return (bool(_ADDRESS_PART.match(local)) and bool(_ADDRESS_PART.match(domain))
                and "." in domain.strip(".") and not domain.startswith(".")
                and not domain.endswith("."))


_ADDRESS_RE = _AddressRe()
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _on_key(raw: dict[Any, Any]) -> dict[Any, Any]:
    """YAML 1.1 reads a bare ``on:`` key as the boolean true: take it back as ``on``."""
    return {("on" if k is True else k): v for k, v in raw.items()}


def _unknown_keys(raw: dict[Any, Any], allowed: tuple[str, ...], where: str, p: _Problems) -> None:
    for key in raw:
        if key in allowed:
            continue
        guess = near_miss(str(key), allowed)
        hint = f" (did you mean '{guess}'?)" if guess else ""
        if str(key) in (*SECRET_KEYS, "username", "user", "token", "headers", "api_key"):
            hint = " (secrets are never values: name an environment variable with a *_env key)"
        p.add(where, f"unknown key '{key}'{hint}; expected {', '.join(allowed)}")


def _notify_on(value: Any, where: str, p: _Problems) -> tuple[str, ...] | None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        p.add(where, f"'on' is {value!r}, expected a list of {', '.join(NOTIFY_KINDS)}")
        return None
    for i in items:
        if i not in NOTIFY_KINDS:
            guess = near_miss(i, NOTIFY_KINDS)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            p.add(where, f"'on' has unknown change '{i}'{hint}; expected {', '.join(NOTIFY_KINDS)}")
            return None
    return tuple(dict.fromkeys(items))


def _http_url(value: Any, where: str, key: str, p: _Problems) -> str | None:
    from urllib.parse import urlsplit

    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = urlsplit(""), False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        p.add(where, f"'{key}' is not an http:// or https:// URL (the value is not shown: a "
                     "webhook URL may itself be a secret)")
        return None
    if parts.username or parts.password:
        p.add(where, f"'{key}' holds a user or password: never write secrets in the inventory; "
                     "use 'url_env' (or 'headers_env' for a token)")
        return None
    return text


def _parse_email(raw: Any, label: str, p: _Problems) -> dict[str, Any] | None:
    where = "notify.email"
    if not isinstance(raw, dict):
        p.add(where, f"expected a mapping with to, from and smtp_host, found {_type_name(raw)}")
        return None
    raw = _on_key(raw)
    before = len(p.lines)
    _unknown_keys(raw, EMAIL_KEYS, where, p)
    to = raw.get("to")
    to_list = [to] if isinstance(to, str) else to
    if not isinstance(to_list, list) or not to_list:
        p.add(where, "'to' is missing, expected an address or a list of addresses")
        to_list = []
    for a in to_list:
        if not isinstance(a, str) or not _ADDRESS_RE.match(a.strip()):
            p.add(where, f"'to' has {a!r}, expected an email address such as it@example.org")
    sender = raw.get("from")
    if not isinstance(sender, str) or not _ADDRESS_RE.match(sender.strip()):
        p.add(where, f"'from' is {sender!r}, expected an email address such as "
                     "undone@example.org")
    host = raw.get("smtp_host")
    if not isinstance(host, str) or not (_HOSTNAME_RE.match(host.strip()) or _is_ip(host)):
        p.add(where, f"'smtp_host' is {host!r}, expected the mail relay's host name or address")
    starttls = _check_value("bool", raw.get("starttls", True), where, "starttls", p)
    implicit = _check_value("bool", raw.get("ssl", False), where, "ssl", p)
    if starttls and implicit and "starttls" in raw:
        p.add(where, "'starttls' and 'ssl' both true: ssl is TLS from the first byte (port 465), "
                     "starttls upgrades a plain connection (port 587); choose one")
    port = _check_value("port", raw.get("smtp_port", 465 if implicit else 587), where,
                        "smtp_port", p)
    user_env = raw.get("username_env")
    pw_env = raw.get("password_env")
    for key, v in (("username_env", user_env), ("password_env", pw_env)):
        if v is not None:
            _check_value("envname", v, where, key, p)
    if (user_env is None) != (pw_env is None):
        p.add(where, "'username_env' and 'password_env' go together (the NAMES of the "
                     "environment variables holding the SMTP login)")
    if pw_env is not None and not starttls and not implicit:
        p.add(where, "a login without starttls or ssl would send the SMTP password readable on "
                     "the network; set starttls: true (or ssl: true)")
    ca = raw.get("ca_file")
    if ca is not None:
        ca = _check_value("str", ca, where, "ca_file", p)
    attach = _check_value("bool", raw.get("attach_report", True), where, "attach_report", p)
    on = _notify_on(raw["on"], where, p) if "on" in raw else None
    if len(p.lines) > before:
        return None
    return {
        "to": [a.strip() for a in to_list],
        "from": str(sender).strip(),
        "smtp_host": str(host).strip(),
        "smtp_port": port,
        "starttls": bool(starttls) and not implicit,
        "ssl": bool(implicit),
        "username_env": user_env,
        "password_env": pw_env,
        "ca_file": _resolve(ca, label) if ca else None,
        "attach_report": bool(attach),
        "on": on,
    }


def _parse_webhook(raw: Any, p: _Problems) -> dict[str, Any] | None:
    from urllib.parse import urlsplit

    where = "notify.webhook"
    if not isinstance(raw, dict):
        p.add(where, f"expected a mapping with url (or url_env), found {_type_name(raw)}")
        return None
    raw = _on_key(raw)
    before = len(p.lines)
    _unknown_keys(raw, WEBHOOK_KEYS, where, p)
    url = None
    if ("url" in raw) == ("url_env" in raw):
        p.add(where, "expected one of 'url' or 'url_env' (the NAME of an environment variable "
                     "holding a URL that is itself a secret, as chat webhooks are)")
    elif "url" in raw:
        url = _http_url(raw["url"], where, "url", p)
    else:
        _check_value("envname", raw["url_env"], where, "url_env", p)
    headers_env = raw.get("headers_env")
    if headers_env is not None:
        _check_value("envname", headers_env, where, "headers_env", p)
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
                p.add(where, "'headers_env' over plain http would send the token readable on the "
                             "network; use an https:// URL")
    on = _notify_on(raw["on"], where, p) if "on" in raw else None
    if len(p.lines) > before:
        return None
    return {"url": url, "url_env": raw.get("url_env"), "headers_env": headers_env, "on": on}


def _parse_notify(raw: Any, label: str, p: _Problems) -> dict[str, Any] | None:
    """The ``notify`` section: ``email`` and/or ``webhook``, ``on`` (which changes; default all
    of :data:`NOTIFY_KINDS`), ``report_url`` (a link put in every message) and ``timeout``
    (seconds each channel may take, default 10). Normalised: every key present. Secrets only by
    the names of environment variables."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        p.add("notify", f"expected a mapping with email and/or webhook, found {_type_name(raw)}")
        return None
    raw = _on_key(raw)
    before = len(p.lines)
    _unknown_keys(raw, NOTIFY_KEYS, "notify", p)
    on = _notify_on(raw["on"], "notify", p) if "on" in raw else NOTIFY_KINDS
    timeout = raw.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300:
        p.add("notify", f"'timeout' is {timeout!r}, expected the seconds each channel may take "
                        "(more than 0, at most 300)")
    url = _http_url(raw["report_url"], "notify", "report_url", p) if "report_url" in raw else None
    email = _parse_email(raw["email"], label, p) if raw.get("email") is not None else None
    hook = _parse_webhook(raw["webhook"], p) if raw.get("webhook") is not None else None
    if raw.get("email") is None and raw.get("webhook") is None:
        p.add("notify", "expected 'email' or 'webhook' (or both): where to send word of a change")
    if len(p.lines) > before:
        return None
    return {"on": on, "timeout": float(timeout), "report_url": url, "email": email,
            "webhook": hook}
