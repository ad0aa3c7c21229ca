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
from scanner.result import SectionRecord

#: the scanner-side section recorded for every host the scanner got far enough to know about
CONNECTION = "scanner.connection"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def section_record(collected: datetime, stdout: str, stderr: str = "", *,
                   raw: bytes | bytearray | None,
                   size: int | None = None, exit_code: int | None = None,
                   script_sha256: str | None = None, truncated: bool = False) -> SectionRecord:
    """A section as collected (a host record's ``sections[name]``): ``stdout`` and ``stderr``
    as kept (the caller cuts them to its excerpt), ``raw`` the whole output the hash is of
    (None: nothing came back), ``size`` its length when more came than ``raw`` holds."""
    return {
        "status": "ok",
        "error": None,
        "exit_code": exit_code,
        "collected_at": iso(collected),
        "script_sha256": script_sha256,
        "sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
        "bytes": size if size is not None else len(raw or b""),
        "truncated": truncated,
        "stdout": stdout,
        "stderr": stderr,
    }


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
    rec["sections"][CONNECTION] = section_record(when, text, raw=text.encode("utf-8"))
    facts = rec.setdefault("facts", {})
    errors = rec.setdefault("fact_errors", {})
    facts.update(parsed.values)
    for name, why in parsed.errors.items():
        if name not in facts:
            errors[name] = why
