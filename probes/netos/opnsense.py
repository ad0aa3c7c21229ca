"""netos.opnsense: an OPNsense firewall's version, from ``opnsense-version``.

OPNsense is FreeBSD with a shell, but the SSH login of its administrators may land in the console
menu and the POSIX probes' assumptions (GNU tools, /etc/os-release) do not hold there: undone
runs just this read-only command on its own channel. It prints ``<name> <version>
(<arch>/<flavour>)``, e.g. ``OPNsense 20.7.8_4 (amd64/OpenSSL)`` (format from the tool's source,
opnsense/core src/sbin/opnsense-version; recorded value in tests/fixtures/netos/SOURCE.md). The
``_4`` is a hotfix revision of 20.7.8.

Facts: ``device.*`` (vendor Deciso, os OPNsense; model, serial and hostname are not printed:
null), ``firmware.product`` (``opnsense``), ``firmware.version`` (``20.7.8_4``),
``opnsense.architecture``, ``opnsense.flavour``.
"""

from __future__ import annotations

import re

from probes.base import Facts, RawSection, guard, split_blocks
from probes.netos._common import DEVICE, FIRMWARE, output

#: the inventory's device values this module reads
DEVICES = ("opnsense",)
COMMANDS = {"version": "opnsense-version"}
QUERY = "SSH, read-only command on its own channel: opnsense-version"
PROVIDES = (*DEVICE, *FIRMWARE, "opnsense.architecture", "opnsense.flavour")

_RE = re.compile(
    r"^(?P<name>OPNsense\S*)\s+(?P<version>\d+\.\d+(?:\.\d+)*(?:_\d+)?)"
    r"(?:\s+\((?P<arch>[^/)]+)(?:/(?P<flavour>[^)]+))?\))?",
    re.MULTILINE,
)


def _body(raw: RawSection, f: Facts) -> None:
    text, why = output(split_blocks(raw.stdout), "version", COMMANDS["version"])
    if text is None:
        f.error_all(PROVIDES, why or "no output")
        return
    m = _RE.search(text)
    if m is None:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        f.error_all(PROVIDES, f"`opnsense-version` printed no 'OPNsense X.Y.Z': {first[:160]!r}")
        return
    f.set("device.vendor", "Deciso")
    f.set("device.os", "OPNsense")
    for k in ("device.model", "device.serial", "device.hostname"):
        f.set(k, None)
    f.set("firmware.product", "opnsense")
    f.set("firmware.version", m.group("version"))
    f.set("opnsense.architecture", m.group("arch"))
    f.set("opnsense.flavour", m.group("flavour"))


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
