"""The inventory's ``notify`` section: where to send word of a change, on which kinds of change,
with secrets named by environment variable. Checked with the rest of the inventory; sent by
scanner/ops/notify.py.

Only the section's own keys are checked here (``on``, ``report_url``, ``timeout``); every other
key is a channel of :data:`scanner.channels.CHANNELS` (``email``, ``webhook``), whose value that
channel checks (scanner/channels/<channel>.py), given the inventory's value checks
(:class:`_Settings`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scanner import channels
from scanner.channels.message import KINDS
from scanner.channels.settings import http_url, kinds, on_key, unknown_keys
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


class _Settings:
    """The inventory's value checks for a channel's settings check
    (:class:`scanner.channels.Checker`): the problems go to the inventory's list, and a path is
    relative to the inventory's folder."""

    def __init__(self, p: _Problems, label: str) -> None:
        self._p = p
        self._label = label

    def problem(self, where: str, what: str) -> None:
        self._p.add(where, what)

    def problems(self) -> int:
        return len(self._p.lines)

    def value(self, kind: str, value: Any, where: str, key: str) -> Any:
        return _check_value(kind, value, where, key, self._p)

    def near_miss(self, key: str, candidates: Iterable[str]) -> str | None:
        return near_miss(key, candidates)

    def type_name(self, value: Any) -> str:
        return _type_name(value)

    def host(self, text: str) -> bool:
        return bool(_HOSTNAME_RE.match(text.strip()) or _is_ip(text))

    def path(self, text: str) -> str:
        return _resolve(text, self._label)

    def secret(self, key: str) -> bool:
        return key in SECRET_KEYS


def notify_keys() -> tuple[str, ...]:
    """The keys the ``notify`` section takes: ``on``, a key per channel, ``report_url``,
    ``timeout``."""
    return ("on", *channels.CHANNELS, "report_url", "timeout")


def _any_of(names: list[str], quote: str, joiner: str) -> str:
    shown = [f"{quote}{n}{quote}" for n in names]
    return shown[0] if len(shown) < 2 else f"{', '.join(shown[:-1])} {joiner} {shown[-1]}"


def _parse_notify(raw: Any, label: str, p: _Problems) -> dict[str, Any] | None:
    """The ``notify`` section: its channels (``email`` and/or ``webhook``), ``on`` (which
    changes; default all of :data:`~scanner.channels.message.KINDS`), ``report_url`` (a link put
    in every message) and ``timeout`` (seconds each channel may take, default 10). Normalised:
    every key present, a channel not configured as None. Secrets only by the names of
    environment variables."""
    if raw is None:
        return None
    names = list(channels.CHANNELS)
    if not isinstance(raw, dict):
        p.add("notify", f"expected a mapping with {_any_of(names, '', 'and/or')}, found "
                        f"{_type_name(raw)}")
        return None
    c = _Settings(p, label)
    raw = on_key(raw)
    before = len(p.lines)
    unknown_keys(raw, notify_keys(), "notify", c)
    on = kinds(raw["on"], "notify", c) if "on" in raw else KINDS
    timeout = raw.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300:
        p.add("notify", f"'timeout' is {timeout!r}, expected the seconds each channel may take "
                        "(more than 0, at most 300)")
    url = http_url(raw["report_url"], "notify", "report_url", c) if "report_url" in raw else None
    chosen = {name: channel.check(raw[name], f"notify.{name}", c)
              if raw.get(name) is not None else None
              for name, channel in channels.CHANNELS.items()}
    if all(raw.get(name) is None for name in names):
        which = _any_of(names, "'", "or")
        which += " (or both)" if len(names) == 2 else " (or several)" if len(names) > 2 else ""
        p.add("notify", f"expected {which}: where to send word of a change")
    if len(p.lines) > before:
        return None
    return {"on": on, "timeout": float(timeout), "report_url": url, **chosen}
