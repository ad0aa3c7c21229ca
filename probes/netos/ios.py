"""netos.ios: a Cisco IOS or IOS XE device's identity and software version, from ``show
version`` (devices ``ios`` and ``iosxe`` in the inventory).

The first lines name the software: ``Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M),
Version 15.0(2)SE4, RELEASE SOFTWARE (fc1)`` (classic IOS) or ``Cisco IOS XE Software, Version
16.09.03`` / ``... (CAT9K_IOSXE), Version 16.9.3, ...`` (IOS XE; also the older ``IOS-XE
Software`` 03.x trains). Further: ``<hostname> uptime is ...``, ``System Serial Number : ...`` or
``Processor board ID ...``, ``Model Number : ...`` or ``cisco <model> (<cpu>) processor``.
Recorded outputs (IOS 12.2, 15.8, IOS XE 3.6, 16.9, 16.12) are in tests/fixtures/netos/ with
their sources.

Facts: ``device.*`` (vendor Cisco, os Cisco IOS or Cisco IOS XE, model, serial, hostname),
``firmware.product`` (``cisco-ios`` or ``cisco-ios-xe``), ``firmware.version``,
``firmware.image`` (the image name in brackets, e.g. ``C2960-LANBASEK9-M``).
"""

from __future__ import annotations

import re

from probes.base import Facts, RawSection, guard, split_blocks
from probes.device.identity import cisco_version, cisco_version_note
from probes.netos._common import DEVICE, FIRMWARE, output

#: the inventory's device values this module reads
DEVICES = ("ios", "iosxe")
#: ansible_network_os values that mean this OS (an Ansible inventory's network_cli hosts)
ANSIBLE_NETWORK_OS = ("ios", "cisco.ios.ios")
COMMANDS = {"version": "show version"}
QUERY = "SSH, read-only CLI command on its own channel: show version"
PROVIDES = (*DEVICE, *FIRMWARE, "firmware.image")

_IMAGE_RE = re.compile(r"Software \((?P<image>[^)]+)\), (?:Experimental )?Version")
_HOST_RE = re.compile(r"^(?P<host>\S+) uptime is ", re.MULTILINE)
# a serial ends at a space or a comma ("Processor board ID FHK102KKKKK, with hardware revision")
_SERIAL_RE = re.compile(r"^System [Ss]erial [Nn]umber\s*:\s*(?P<v>[^\s,]+)", re.MULTILINE)
_BOARD_RE = re.compile(r"^Processor board ID (?P<v>[^\s,]+)", re.MULTILINE)
_MODEL_RE = re.compile(r"^Model [Nn]umber\s*:\s*(?P<v>\S+)", re.MULTILINE)
_CPU_MODEL_RE = re.compile(r"^[Cc]isco (?P<v>\S+) (?:\([^)]*\) )?(?:processor|\(revision)",
                           re.MULTILINE)


def _body(raw: RawSection, f: Facts) -> None:
    text, why = output(split_blocks(raw.stdout), "version", COMMANDS["version"])
    if text is None:
        f.error_all(PROVIDES, why or "no output")
        return
    found = cisco_version(text)
    if found is None:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        f.error_all(PROVIDES, f"`show version` does not name Cisco IOS or IOS XE: {first[:160]!r}")
        return
    product, version, _platform = found
    if version is None:
        note = cisco_version_note(text) or "no version found"
        f.error_all(PROVIDES, f"`show version`: {note}")
        return
    f.set("device.vendor", "Cisco")
    f.set("device.os", "Cisco IOS XE" if product == "cisco-ios-xe" else "Cisco IOS")
    model = _MODEL_RE.search(text) or _CPU_MODEL_RE.search(text)
    f.set("device.model", model.group("v") if model else None)
    serial = _SERIAL_RE.search(text) or _BOARD_RE.search(text)
    f.set("device.serial", serial.group("v") if serial else None)
    host = _HOST_RE.search(text)
    f.set("device.hostname", host.group("host") if host else None)
    f.set("firmware.product", product)
    f.set("firmware.version", version)
    image = _IMAGE_RE.search(text)
    f.set("firmware.image", image.group("image") if image else None)


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
