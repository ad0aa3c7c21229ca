"""netos.fortios: a FortiGate's identity and FortiOS version, from ``get system status``.

The first line carries model and firmware: ``Version: FortiGate-60F v7.4.8,build2795,250523
(GA.M)``; further lines ``Serial-Number:``, ``Hostname:``, ``Current HA mode:``. Recorded outputs
(FortiOS 6.2, 7.0, 7.4) are in tests/fixtures/netos/ with their sources.

Facts: ``device.vendor`` (Fortinet), ``device.os`` (FortiOS), ``device.model``,
``device.serial``, ``device.hostname``; ``firmware.product`` (``fortios``), ``firmware.version``
(``7.4.8``), ``firmware.build``, ``firmware.release_type`` (``GA``, ``GA.M``, ``interim``),
``fortios.ha_mode``.
"""

from __future__ import annotations

import re

from probes.base import Facts, RawSection, guard, lines, split_blocks
from probes.device import RELEASE_TYPE
from probes.netos._common import DEVICE, FIRMWARE, output

#: the inventory's device values this module reads
DEVICES = ("fortios",)
#: ansible_network_os values that mean this OS (an Ansible inventory's network_cli hosts)
ANSIBLE_NETWORK_OS = ("fortios", "fortinet.fortios.fortios")
COMMANDS = {"system_status": "get system status"}
QUERY = "SSH, read-only CLI command on its own channel: get system status"
PROVIDES = (*DEVICE, *FIRMWARE, "firmware.build", RELEASE_TYPE, "fortios.ha_mode")

_VERSION_RE = re.compile(
    r"^Version:\s*(?P<model>\S+)\s+v(?P<version>\d+\.\d+\.\d+),build(?P<build>\d+),\d+"
    r"(?:\s+\((?P<type>[^)]*)\))?",
    re.MULTILINE,
)


def _field(text: str, name: str) -> str | None:
    prefix = f"{name}:"
    for line in lines(text):
        if line.startswith(prefix):
            return line[len(prefix):].strip() or None
    return None


def _body(raw: RawSection, f: Facts) -> None:
    text, why = output(split_blocks(raw.stdout), "system_status", COMMANDS["system_status"])
    if text is None:
        f.error_all(PROVIDES, why or "no output")
        return
    m = _VERSION_RE.search(text)
    if m is None:
        f.error_all(PROVIDES, "`get system status` printed no 'Version: <model> vX.Y.Z' line")
        return
    f.set("device.vendor", "Fortinet")
    f.set("device.os", "FortiOS")
    f.set("device.model", m.group("model"))
    f.set("device.serial", _field(text, "Serial-Number"))
    f.set("device.hostname", _field(text, "Hostname"))
    f.set("firmware.product", "fortios")
    f.set("firmware.version", m.group("version"))
    f.set("firmware.build", int(m.group("build")))
    f.set(RELEASE_TYPE, m.group("type"))
    f.set("fortios.ha_mode", _field(text, "Current HA mode"))


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
