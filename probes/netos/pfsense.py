"""netos.pfsense: a pfSense firewall's version, from ``cat /etc/version``.

pfSense is FreeBSD with a shell, but its administrators' SSH login lands in the console menu and
the POSIX probes' assumptions do not hold: undone runs read-only commands on their own channels.
``/etc/version`` holds one line such as ``2.4.5-RELEASE`` (the file pfsense/pfsense ships as
src/etc/version; see tests/fixtures/netos/SOURCE.md). CE versions are 2.x; pfSense Plus
versions are year.month (``23.09.1-RELEASE``).

Facts: ``device.*`` (vendor Netgate, os pfSense CE or pfSense Plus; model, serial and hostname
are not printed: null), ``firmware.product`` (``pfsense`` or ``pfsense-plus``; neither is in
endoflife.date, so their lifecycle rules give an error until a sourced overlay entry exists),
``firmware.version`` (``2.4.5``), ``firmware.release_type`` (``RELEASE``, ``DEVELOPMENT``, ...).
"""

from __future__ import annotations

import re

from probes.base import Facts, RawSection, guard, split_blocks
from probes.device import RELEASE_TYPE
from probes.netos._common import DEVICE, FIRMWARE, output

#: the inventory's device values this module reads
DEVICES = ("pfsense",)
COMMANDS = {"version": "cat /etc/version"}
QUERY = "SSH, read-only command on its own channel: cat /etc/version"
PROVIDES = (*DEVICE, *FIRMWARE, RELEASE_TYPE)

_RE = re.compile(r"^(?P<version>\d+\.\d+(?:\.\d+)*)(?:-(?P<type>[A-Z0-9]+))?\s*$", re.MULTILINE)


def _body(raw: RawSection, f: Facts) -> None:
    text, why = output(split_blocks(raw.stdout), "version", COMMANDS["version"])
    if text is None:
        f.error_all(PROVIDES, why or "no output")
        return
    m = _RE.search(text)
    if m is None:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        f.error_all(PROVIDES, f"/etc/version holds no pfSense version: {first[:160]!r}")
        return
    version = m.group("version")
    plus = int(version.split(".")[0]) >= 21
    f.set("device.vendor", "Netgate")
    f.set("device.os", "pfSense Plus" if plus else "pfSense CE")
    for k in ("device.model", "device.serial", "device.hostname"):
        f.set(k, None)
    f.set("firmware.product", "pfsense-plus" if plus else "pfsense")
    f.set("firmware.version", version)
    f.set(RELEASE_TYPE, m.group("type"))


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
