"""netos.routeros: a MikroTik's identity and RouterOS version, from ``/system resource print``
and ``/system routerboard print``.

``/system resource print`` lines are ``key: value`` padded to a column: ``version: 7.16.1
(stable)``, ``board-name: hEX S``, ``architecture-name: mmips``. ``/system routerboard print``
gives ``model``, ``serial-number``, ``current-firmware`` and ``upgrade-firmware`` (RouterBOOT;
``routerboard: no`` on CHR and x86). Recorded outputs (RouterOS 6.48, 7.16, 7.18) are in
tests/fixtures/netos/ with their sources.

Facts: ``device.*`` (vendor MikroTik, os RouterOS, model, serial, hostname: not printed here,
so null), ``firmware.product`` (``routeros``), ``firmware.version`` (``7.16.1``),
``firmware.channel`` (``stable``, ``long-term``, ...), ``routeros.board_name``,
``routeros.architecture``, ``routeros.routerboard_firmware`` and
``routeros.routerboard_upgrade_available`` (the RouterBOOT firmware lags the one RouterOS ships).
"""

from __future__ import annotations

import re

from probes.base import Facts, RawSection, guard, lines, split_blocks
from probes.netos._common import DEVICE, FIRMWARE, output

#: the inventory's device values this module reads
DEVICES = ("routeros",)
#: ansible_network_os values that mean this OS (an Ansible inventory's network_cli hosts)
ANSIBLE_NETWORK_OS = ("routeros", "community.routeros.routeros", "community.network.routeros")
COMMANDS = {
    "resource": "/system resource print",
    "routerboard": "/system routerboard print",
}
QUERY = (
    "SSH, read-only CLI commands, one channel each: /system resource print; "
    "/system routerboard print"
)
PROVIDES = (
    *DEVICE,
    *FIRMWARE,
    "firmware.channel",
    "routeros.board_name",
    "routeros.architecture",
    "routeros.routerboard_firmware",
    "routeros.routerboard_upgrade_available",
)

_KEY_RE = re.compile(r"([a-z][a-z0-9-]*):")  # matched on a stripped line: linear
_VERSION_RE = re.compile(
    r"^(?P<version>\d+\.\d+(?:\.\d+)*(?:(?:beta|rc)\d+)?)(?:\s+\((?P<ch>[^)]+)\))?"
)


def fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines(text):
        stripped = line.strip()
        m = _KEY_RE.match(stripped)
        if m:
            out[m.group(1)] = stripped[m.end():].strip()
    return out


def _body(raw: RawSection, f: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    text, why = output(blocks, "resource", COMMANDS["resource"])
    if text is None:
        f.error_all(PROVIDES, why or "no output")
        return
    res = fields(text)
    m = _VERSION_RE.match(res.get("version", ""))
    if m is None:
        f.error_all(PROVIDES, "`/system resource print` printed no 'version: X.Y.Z' line")
        return
    f.set("device.vendor", "MikroTik")
    f.set("device.os", "RouterOS")
    f.set("device.hostname", None)
    f.set("firmware.product", "routeros")
    f.set("firmware.version", m.group("version"))
    f.set("firmware.channel", m.group("ch"))
    f.set("routeros.board_name", res.get("board-name"))
    f.set("routeros.architecture", res.get("architecture-name"))
    rb_text, rb_why = output(blocks, "routerboard", COMMANDS["routerboard"])
    if rb_text is None:
        f.set("device.model", res.get("board-name"))
        f.error_all(
            ("device.serial", "routeros.routerboard_firmware",
             "routeros.routerboard_upgrade_available"),
            rb_why or "no output",
        )
        return
    rb = fields(rb_text)
    f.set("device.model", rb.get("model") or res.get("board-name"))
    f.set("device.serial", rb.get("serial-number"))
    if rb.get("routerboard") == "no" or "current-firmware" not in rb:
        f.set("routeros.routerboard_firmware", None)
        f.set("routeros.routerboard_upgrade_available", False)
    else:
        cur, up = rb.get("current-firmware"), rb.get("upgrade-firmware")
        f.set("routeros.routerboard_firmware", cur)
        f.set("routeros.routerboard_upgrade_available", bool(up and cur and up != cur))


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
