"""Scanner-side SNMP sections: a device's identity and firmware (``snmp.system``) and whether it
answers to a default community (``snmp.community``). The scanner queries (SNMP v2c or v3,
read-only GETs and GETBULK walks); these modules parse the varbinds it recorded.

The package's public names are the varbinds' text format (:func:`format_varbind`, which the
scanner's SNMP transport writes, and :func:`parse_varbinds`, which the sections read); what a
device is, from those varbinds, is the device family's (:mod:`probes.device.identity`).

``snmp.system`` and ``snmp.community`` are asked by the transport's own steps (the vendor's
OIDs depend on the sysObjectID answered; the probe uses other credentials), from the OIDs and
communities declared in probes/ (:mod:`probes.device.identity`, ``community.DEFAULT_COMMUNITIES``).
Any other section here declares what it asks, and the scanner asks it of every device it
reaches over SNMP, on the same session, after ``snmp.system``:

* ``SNMP``: ``{block name: Get(oids) or Walk(root)}``: a GET of those OIDs or a GETBULK walk of
  the subtree (capped by the transport), each answer one block of varbinds in net-snmp's
  ``-On`` text (``@@rc 1`` and the reason when the query failed).

:func:`queries` lists them (scanner/engine/network.py reads it), so a new SNMP section that
reads fixed OIDs is a new module here, with its recorded outputs under tests/fixtures/snmp/,
and nothing in scanner/.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from probes import scanner_topics
from probes.snmp._varbinds import format_varbind, parse_varbinds

FAMILY = "snmp"
_OID_RE = re.compile(r"^\d+(?:\.\d+){1,127}$")
_BLOCK_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Get:
    """A GET of these OIDs (dotted, no leading dot), in one request."""

    oids: tuple[str, ...]


@dataclass(frozen=True)
class Walk:
    """A GETBULK walk of the subtree under ``root`` (dotted, no leading dot)."""

    root: str


Query = Get | Walk


def _declared(topic: str) -> Mapping[str, Query] | None:
    module = importlib.import_module(f"probes.{FAMILY}.{topic}")
    declared = getattr(module, "SNMP", None)
    if declared is None:
        return None
    where = f"probes/{FAMILY}/{topic}.py"

    def valid(block: object, query: object) -> bool:
        if not isinstance(block, str) or not _BLOCK_RE.match(block):
            return False
        if isinstance(query, Walk):
            return isinstance(query.root, str) and bool(_OID_RE.match(query.root))
        return (isinstance(query, Get) and isinstance(query.oids, tuple) and bool(query.oids)
                and all(isinstance(o, str) and _OID_RE.match(o) for o in query.oids))

    if (not isinstance(declared, dict) or not declared
            or not all(valid(b, q) for b, q in declared.items())):
        raise ValueError(f"{where}: SNMP must be a dict of block name (lower case) -> "
                         f"Get((oid, ...)) or Walk(oid), dotted OIDs; not {declared!r}")
    return MappingProxyType(dict(declared))


@cache
def queries() -> dict[str, Mapping[str, Query]]:
    """``{section: {block: query}}`` of the modules here that declare ``SNMP``, by name. A
    malformed declaration is a mistake in probes/ and raises ValueError saying which."""
    found: dict[str, Mapping[str, Query]] = {}
    for topic in scanner_topics(FAMILY):
        declared = _declared(topic)
        if declared is not None:
            found[f"{FAMILY}.{topic}"] = declared
    return found


__all__ = ["FAMILY", "Get", "Query", "Walk", "format_varbind", "parse_varbinds", "queries"]
