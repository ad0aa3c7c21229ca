"""Network operating systems over SSH (no POSIX shell): each module names the read-only commands
it needs (``COMMANDS``) and parses their outputs. The scanner runs each command on its own
channel of one SSH connection and frames the outputs as blocks (``@@block NAME`` ... ``@@rc N``,
see probes.base.split_blocks).

A module here is one network OS, and declares everything the scanner needs to ask for it:

* ``DEVICES``: the inventory's ``device`` values it reads (``netos.ios``: ``("ios", "iosxe")``);
* ``COMMANDS``: ``{block name: read-only command}``, what the scanner runs, one channel each;
* ``QUERY``: the same in words (the section's "script" in the evidence);
* ``PROVIDES`` and ``parse``, as every section.

:func:`readers` indexes them by device for the scanner (scanner/engine/network.py: which section
reads a device, with which commands) and for the inventory (the ``device`` values it accepts).
So a new network OS is a new module here, with its recorded outputs under
``tests/fixtures/netos/``, and nothing in ``scanner/``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from probes import scanner_topics

FAMILY = "netos"
# a device name as the inventory takes it (its value is lower-cased before the check)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Reader:
    """What the scanner asks one network OS: the section whose parser reads the answers, the
    inventory ``device`` values it reads, and its read-only commands (block name -> command)."""

    section: str
    devices: tuple[str, ...]
    commands: Mapping[str, str]


def _declared(topic: str) -> Reader:
    name = f"{FAMILY}.{topic}"
    module = importlib.import_module(f"probes.{name}")
    devices = getattr(module, "DEVICES", None)
    commands = getattr(module, "COMMANDS", None)
    where = f"probes/{FAMILY}/{topic}.py"
    if (not isinstance(devices, tuple) or not devices
            or not all(isinstance(d, str) and _NAME_RE.match(d) for d in devices)):
        raise ValueError(f"{where}: DEVICES must be a tuple of the inventory's device names it "
                         f"reads (lower case, e.g. ('ios', 'iosxe')), not {devices!r}")
    if (not isinstance(commands, dict) or not commands
            or not all(isinstance(k, str) and isinstance(v, str) and k and v
                       for k, v in commands.items())):
        raise ValueError(f"{where}: COMMANDS must be a dict of block name -> read-only command, "
                         f"not {commands!r}")
    return Reader(name, devices, MappingProxyType(dict(commands)))


@cache
def readers() -> dict[str, Reader]:
    """``{device: Reader}`` for every module of this folder, in module-name order and each
    module's ``DEVICES`` in its order. A module that declares no devices or commands, or a
    device two modules claim, is a mistake in probes/ and raises ValueError saying which."""
    found: dict[str, Reader] = {}
    for topic in scanner_topics(FAMILY):
        reader = _declared(topic)
        for device in reader.devices:
            other = found.get(device)
            if other is not None:
                raise ValueError(f"device {device!r} is read by both {other.section} and "
                                 f"{reader.section}: one module per device")
            found[device] = reader
    return found


def devices() -> tuple[str, ...]:
    """The ``device`` values a network OS module here reads (the inventory accepts these, and
    ``linux-gateway``, a Linux host scanned by the POSIX batch)."""
    return tuple(readers())


__all__ = ["FAMILY", "Reader", "devices", "readers"]
