"""Notification channels: one module each, holding its settings check and its sender.

:data:`CHANNELS` is the one list: the inventory's ``notify`` section takes each name as a key
and has the channel check its value (scanner/inventory/notify.py), and scanner/ops/notify.py
sends what changed on each channel the inventory configures, in this order. To add a channel:
a module here with ``check``, ``compose`` and ``send`` (:class:`~scanner.channels.base.Channel`;
``mail.py`` and ``webhook.py`` are the examples), and its line below.

What every channel tells, and its escaping, is :mod:`scanner.channels.message`; the checks the
channels share (unknown keys, ``on``, an http(s) URL) are :mod:`scanner.channels.settings`.
This package sits below the inventory: it never imports it, and is given the inventory's value
checks as a :class:`~scanner.channels.base.Checker`.
"""

from __future__ import annotations

from typing import Any

from scanner.channels import mail, webhook
from scanner.channels.base import Channel, Checker, News, NotSent

# the inventory's key -> the channel
CHANNELS: dict[str, Channel[Any]] = {
    "email": mail,
    "webhook": webhook,
}

__all__ = ["CHANNELS", "Channel", "Checker", "News", "NotSent"]
