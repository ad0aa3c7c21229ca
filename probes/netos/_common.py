"""Shared by the netos parsers: the facts every device gives (the device family's,
:mod:`probes.device`), and reading one command's block."""

from __future__ import annotations

import re

from probes import device
from probes.base import Block

# the device family's facts (probes/device/), and the host name every netos device prints
DEVICE = (*device.DEVICE, "device.hostname")
FIRMWARE = device.FIRMWARE

# what devices print instead of a result when they refuse a command
_REFUSED_RE = re.compile(
    r"^[ \t]*(% ?Invalid input|% ?Unknown command|% ?Incomplete command|bad command name|"
    r"syntax error|Unknown action|Command fail|command not found|sh: .*: not found|"
    r"expected end of command|no such item)",
    re.IGNORECASE | re.MULTILINE,
)


def output(blocks: dict[str, Block], name: str, command: str) -> tuple[str | None, str | None]:
    """(text, None) for a command that ran and printed something, else (None, why)."""
    b = blocks.get(name)
    if b is None:
        return None, f"`{command}` was not run"
    if b.rc is None:
        return None, f"`{command}`: output cut off before the command finished"
    first = next((ln.strip() for ln in b.text.splitlines() if ln.strip()), "")
    if b.rc != 0:
        return None, f"`{command}` failed (exit {b.rc})" + (f": {first[:200]}" if first else "")
    # a refusal is a short answer: only then is it searched for (a line-start pattern over a
    # long output would be wasted work)
    if len(b.text.strip().splitlines()) <= 3 and _REFUSED_RE.search(b.text[:4096]):
        return None, f"`{command}` was refused by the device: {first[:200]}"
    if not b.text.strip():
        return None, f"`{command}` printed nothing"
    return b.text, None
