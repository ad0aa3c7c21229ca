"""Network operating systems over SSH (no POSIX shell): each module names the read-only commands
it needs (``COMMANDS``) and parses their outputs. The scanner runs each command on its own
channel of one SSH connection and frames the outputs as blocks (``@@block NAME`` ... ``@@rc N``,
see probes.base.split_blocks).

A module here is one network OS, and declares everything the scanner needs to ask for it:

* ``DEVICES``: the inventory's ``device`` values it reads (``netos.ios``: ``("ios", "iosxe")``);
* ``COMMANDS``: ``{block name: read-only command}``, what the scanner runs, one channel each;
* ``QUERY``: the same in words (the section's "script" in the evidence);
* ``ANSIBLE_NETWORK_OS`` (optional): the values of Ansible's ``ansible_network_os`` that mean
  this OS (``("ios", "cisco.ios.ios")``), so an Ansible inventory's ``network_cli`` host is read
  as the module's first device;
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
# an ansible_network_os value as the inventory compares it (lower-cased): a name or a collection's
# fully qualified name
_ANSIBLE_RE = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)*$")


@dataclass(frozen=True)
class Reader:
    """What the scanner asks one network OS: the section whose parser reads the answers, the
    inventory ``device`` values it reads, and its read-only commands (block name -> command)."""

    section: str
    devices: tuple[str, ...]
    commands: Mapping[str, str]
    ansible_network_os: tuple[str, ...] = ()


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
    ansible = getattr(module, "ANSIBLE_NETWORK_OS", ())
    if not isinstance(ansible, tuple) or not all(
            isinstance(a, str) and _ANSIBLE_RE.match(a) for a in ansible):
        raise ValueError(f"{where}: ANSIBLE_NETWORK_OS must be a tuple of ansible_network_os "
                         f"values (e.g. ('ios', 'cisco.ios.ios')), not {ansible!r}")
    return Reader(name, devices, MappingProxyType(dict(commands)), ansible)


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


def ansible_network_os() -> dict[str, str]:
    """``{ansible_network_os value: device}``: each module's ``ANSIBLE_NETWORK_OS`` names its
    first device. A value two modules claim raises ValueError."""
    found: dict[str, str] = {}
    for reader in {r.section: r for r in readers().values()}.values():
        for name in reader.ansible_network_os:
            if name in found:
                raise ValueError(f"ansible_network_os {name!r} is claimed by both the module of "
                                 f"{found[name]} and {reader.section}")
            found[name] = reader.devices[0]
    return found


def devices() -> tuple[str, ...]:
    """The ``device`` values a network OS module here reads (the inventory accepts these, and
    ``linux-gateway``, a Linux host scanned by the POSIX batch)."""
    return tuple(readers())


__all__ = ["FAMILY", "Reader", "ansible_network_os", "devices", "readers"]
