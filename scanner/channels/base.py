"""What a notification channel is, and what it is given.

A channel is a module of this folder with three functions (:class:`Channel`):

- ``check(raw, where, checker)``: its settings in the inventory's ``notify`` section (``raw`` is
  the value of its key, ``where`` the key path for a problem line, such as ``notify.email``),
  checked and normalised (every key present), or None after one problem line per mistake. The
  inventory's value checks come in as ``checker`` (:class:`Checker`), so that a channel checks a
  port, an environment variable's name or a path exactly as the rest of the inventory does,
  without importing the inventory (which sits above this package and imports it).
- ``compose(cfg, news)``: the message for what changed (:class:`News`), made in the caller's
  thread (the HTML report attached is rendered here, outside the channel's time limit).
- ``send(cfg, message, timeout)``: deliver it; one line for the log, or :class:`NotSent` with
  one line that holds no secret. Run in its own thread by scanner/ops/notify.py, abandoned
  after ``timeout`` seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

M = TypeVar("M")


class Checker(Protocol):
    """The inventory's value checks, as a channel's settings check uses them (the inventory
    passes its own, scanner/inventory/notify.py): one problem line per mistake, naming the
    file and the key path."""

    def problem(self, where: str, what: str) -> None:
        """Report one problem at ``where`` (such as ``notify.email``)."""

    def problems(self) -> int:
        """How many problems have been reported so far (in this inventory, all sections)."""

    def value(self, kind: str, value: Any, where: str, key: str) -> Any:
        """``value`` checked and normalised as the inventory checks a value of ``kind``
        (``"bool"``, ``"port"``, ``"str"``, ``"envname"``, ...); None after a problem."""

    def near_miss(self, key: str, candidates: Iterable[str]) -> str | None:
        """The candidate ``key`` is probably a misspelling of, or None."""

    def type_name(self, value: Any) -> str:
        """What ``value`` is, in words (``a list``, ``text``, ``nothing``)."""

    def host(self, text: str) -> bool:
        """Whether ``text`` is a host name or an IP address."""

    def path(self, text: str) -> str:
        """A path the inventory names, resolved as the inventory resolves its paths."""

    def secret(self, key: str) -> bool:
        """Whether ``key`` is one the inventory takes for a secret written as a value."""


@dataclass(frozen=True)
class News:
    """What a channel is asked to tell: ``change`` (an ``undone.changes/1`` document keeping
    only the kinds of change this channel's ``on`` list takes, at least one), ``report_url``
    (the inventory's link to the report, or None) and ``report`` (the HTML report's file name
    and a function giving its bytes, or None)."""

    change: Mapping[str, Any]
    report_url: str | None = None
    report: tuple[str, Callable[[], bytes]] | None = None


class Channel(Protocol[M]):
    """What a channel module provides (the module docstring says when each is called)."""

    def check(self, raw: Any, where: str, checker: Checker) -> dict[str, Any] | None: ...

    def compose(self, cfg: Mapping[str, Any], news: News) -> M: ...

    def send(self, cfg: Mapping[str, Any], message: M, timeout: float) -> str: ...


class NotSent(Exception):
    """A channel could not send; the message is one line and holds no secret."""


def env(name: str | None, what: str) -> str | None:
    """The value of the environment variable ``name`` (the inventory's ``what`` key names it),
    read at send time; None when no variable is named; :class:`NotSent` when it is not set."""
    if not name:
        return None
    value = os.environ.get(name)
    if value is None:
        raise NotSent(f"environment variable {name} ({what}) is not set")
    return value
