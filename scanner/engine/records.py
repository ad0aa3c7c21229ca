"""The records the engine builds: a host's record (the shape of a ``hosts[]`` entry of the
result document) and its scanner-side ``scanner.connection`` section.

Shared by the two collectors (scanner/engine/collect.py for hosts with a shell,
scanner/engine/network.py for network devices and networks), so neither reaches into the other.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from probes import sections
from probes.base import RawSection
from probes.scanner import connection as connection_probe
from scanner.engine.transports import INTERRUPTED
from scanner.inventory import Host

#: the scanner-side section recorded for every host the scanner got far enough to know about
CONNECTION = "scanner.connection"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_stub(host: Host) -> dict[str, Any]:
    return {
        "name": host.name,
        "address": host.address,
        "transport": host.transport,
        "platform": host.platform,
        "roles": list(host.roles),
        "groups": list(host.groups),
        "owner": host.owner,
        "reachable": False,
        "error": None,
        "error_kind": None,
        "connection": {},
        "facts": {},
        "fact_errors": {},
        "sections": {},
    }


def interrupted_stub(host: Host) -> dict[str, Any]:
    """The record of a host the scan did not finish because it was interrupted: reported as
    not scanned (never recorded in the history as this scan's state of the host)."""
    rec = host_stub(host)
    rec["error"] = f"not scanned: {INTERRUPTED}"
    rec["error_kind"] = "interrupted"
    return rec


def record_connection(rec: dict[str, Any], info: dict[str, Any], when: datetime) -> None:
    """The scanner-side section: what the scanner saw of the connection, as facts (written for
    unreachable hosts too, when the host key was the reason)."""
    section = sections().get(CONNECTION)
    if section is None:  # pragma: no cover - shipped with the package
        return
    text = connection_probe.record(info)
    parsed = section.parse(
        RawSection(name=CONNECTION, stdout=text, exit_code=0, collected_at=when)
    )
    rec["sections"][CONNECTION] = {
        "status": "ok",
        "error": None,
        "exit_code": None,
        "collected_at": iso(when),
        "script_sha256": None,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "bytes": len(text.encode("utf-8")),
        "truncated": False,
        "stdout": text,
        "stderr": "",
    }
    facts = rec.setdefault("facts", {})
    errors = rec.setdefault("fact_errors", {})
    facts.update(parsed.values)
    for name, why in parsed.errors.items():
        if name not in facts:
            errors[name] = why
