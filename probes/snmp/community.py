"""snmp.community: does the device answer to a default SNMP community?

The scanner sends one read-only GET of sysDescr.0 (SNMP v2c) per default community (``public``,
``private``), with a short timeout and no retry, only where the inventory allows it
(``check_default_community``, true by default for network devices). Each try is one block named
after the community: ``@@rc 0`` and the varbind when the device answered, ``@@rc 1`` and the
reason (a timeout, which is what a device that refuses a community does) when it did not. The
community values are public knowledge; the inventory's own community is never tried or shown
here.

Facts: ``snmp.default_community_checked`` (false when the inventory turned the check off; the
block ``skipped`` says so), ``snmp.default_communities`` (those the device answered to),
``snmp.default_community_accepted`` (whether any did).
"""

from __future__ import annotations

import re

from probes.base import Facts, RawSection, guard, split_blocks
from probes.snmp._varbinds import parse_varbinds

QUERY = (
    "SNMP v2c GET sysDescr.0 (1.3.6.1.2.1.1.1.0) with each default community (public, private): "
    "one try each, short timeout, read-only; only where the inventory allows it"
)
DEFAULT_COMMUNITIES = ("public", "private")
# how net-snmp ("Timeout: No Response from ...") and pysnmp ("No SNMP response received before
# timeout") say that nothing came back
_TIMEOUT_RE = re.compile(r"Timeout: No Response|No SNMP response received before timeout")
PROVIDES = (
    "snmp.default_community_checked",
    "snmp.default_communities",
    "snmp.default_community_accepted",
)


def _body(raw: RawSection, f: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    if "skipped" in blocks:
        f.set("snmp.default_community_checked", False)
        f.set("snmp.default_communities", [])
        f.set("snmp.default_community_accepted", False)
        return
    missing = [c for c in DEFAULT_COMMUNITIES if c not in blocks or blocks[c].rc is None]
    if missing:
        f.error_all(PROVIDES, f"the try with community {missing[0]!r} did not complete")
        return
    accepted = []
    for c in DEFAULT_COMMUNITIES:
        b = blocks[c]
        # any answer means the agent accepted the community (v2c agents drop a wrong one
        # silently), even one that says the OID is outside the community's view; only a timeout
        # is a refusal, anything else says nothing
        if b.ok and parse_varbinds(b.text):
            accepted.append(c)
        elif b.rc == 1 and _TIMEOUT_RE.search(b.text):
            continue
        else:
            first = next((ln.strip() for ln in b.text.splitlines() if ln.strip()), "no output")
            f.error_all(PROVIDES, f"the try with community {c!r} gave no usable answer "
                                  f"(rc {b.rc}): {first[:200]}")
            return
    f.set("snmp.default_community_checked", True)
    f.set("snmp.default_communities", accepted)
    f.set("snmp.default_community_accepted", bool(accepted))


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
