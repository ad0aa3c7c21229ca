"""The settings checks every channel shares, and the ``notify`` section's own keys use too
(scanner/inventory/notify.py): unknown keys, the ``on`` list of changes, an http(s) URL. Each
reports through the inventory's :class:`~scanner.channels.base.Checker`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scanner.channels.base import Checker
from scanner.channels.message import KINDS

# what a secret written as a value is called in a channel's settings, beyond the inventory's own
# secret keys (Checker.secret)
_SECRET_WORDS = ("username", "user", "token", "headers", "api_key")


def on_key(raw: dict[Any, Any]) -> dict[Any, Any]:
    """YAML 1.1 reads a bare ``on:`` key as the boolean true: take it back as ``on``."""
    return {("on" if k is True else k): v for k, v in raw.items()}


def unknown_keys(raw: dict[Any, Any], allowed: tuple[str, ...], where: str, c: Checker) -> None:
    """One problem per key of ``raw`` not in ``allowed``: "did you mean", or that secrets are
    never values."""
    for key in raw:
        if key in allowed:
            continue
        guess = c.near_miss(str(key), allowed)
        hint = f" (did you mean '{guess}'?)" if guess else ""
        if c.secret(str(key)) or str(key) in _SECRET_WORDS:
            hint = " (secrets are never values: name an environment variable with a *_env key)"
        c.problem(where, f"unknown key '{key}'{hint}; expected {', '.join(allowed)}")


def kinds(value: Any, where: str, c: Checker) -> tuple[str, ...] | None:
    """An ``on`` list: which kinds of change (:data:`~scanner.channels.message.KINDS`), one
    given as text; None after a problem."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        c.problem(where, f"'on' is {value!r}, expected a list of {', '.join(KINDS)}")
        return None
    for i in items:
        if i not in KINDS:
            guess = c.near_miss(i, KINDS)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            c.problem(where, f"'on' has unknown change '{i}'{hint}; expected {', '.join(KINDS)}")
            return None
    return tuple(dict.fromkeys(items))


def http_url(value: Any, where: str, key: str, c: Checker) -> str | None:
    """An http:// or https:// URL without a user or password in it; None after a problem (the
    value is never shown: a webhook URL may itself be a secret)."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = urlsplit(""), False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        c.problem(where, f"'{key}' is not an http:// or https:// URL (the value is not shown: a "
                         "webhook URL may itself be a secret)")
        return None
    if parts.username or parts.password:
        c.problem(where, f"'{key}' holds a user or password: never write secrets in the "
                         "inventory; use 'url_env' (or 'headers_env' for a token)")
        return None
    return text
