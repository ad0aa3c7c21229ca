"""The records the engine builds: a host's record (a ``hosts[]`` entry of the result document,
:class:`scanner.result.HostRecord`), a section's record, and the scanner-side
``scanner.connection`` section.

Every host record starts here (:func:`new_record`: hosts with a shell, network devices, declared
networks, cloud tenants), and every section record (:func:`section_record`); the collectors
(scanner/engine/collect.py, scanner/engine/network.py, scanner/engine/cloud/collect.py) fill
them in, so neither reaches into the other and the copies cannot drift.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from probes import sections
from probes.base import RawSection
from probes.scanner import connection as connection_probe
from scanner.engine.transports import INTERRUPTED
from scanner.inventory import Host
from scanner.result import FactBasis, HostRecord, SectionRecord, Transport
from scanner.vocab import ERROR_KINDS, ErrorKind

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


def error_kind(kind: str | None) -> ErrorKind | None:
    """A collection error's ``kind`` (scanner/errors.py) as the record's word; "error" for one
    the vocabulary does not have."""
    if kind is None:
        return None
    for k in ERROR_KINDS:
        if k == kind:
            return k
    return "error"


def fact_basis(basis: Mapping[str, Mapping[str, str]]) -> dict[str, FactBasis]:
    """A parser's bases (probes/base.py ``Facts.basis``: ``basis``, ``why``, ``fix``, which
    probes may not type with scanner's records) as the record's, each kept as the parser made
    it (its keys' order is the document's)."""
    return cast("dict[str, FactBasis]", dict(basis))


def new_record(name: str, address: str, transport: Transport, platform: str | None, *,
               roles: list[str], groups: list[str], owner: str | None) -> HostRecord:
    """A host record before anything is collected: not reached, no facts, no sections (its
    keys in the order of the result document)."""
    return {
        "name": name,
        "address": address,
        "transport": transport,
        "platform": platform,
        "roles": roles,
        "groups": groups,
        "owner": owner,
        "reachable": False,
        "error": None,
        "error_kind": None,
        "connection": {},
        "facts": {},
        "fact_errors": {},
        "sections": {},
    }


def host_stub(host: Host) -> HostRecord:
    """An inventory host's record before anything is collected."""
    # the inventory admits only transports of the Literal (scanner/inventory/checks.py)
    return new_record(host.name, host.address, cast("Transport", host.transport), host.platform,
                      roles=list(host.roles), groups=list(host.groups), owner=host.owner)


def interrupted_stub(host: Host) -> HostRecord:
    """The record of a host the scan did not finish because it was interrupted: reported as
    not scanned (never recorded in the history as this scan's state of the host)."""
    rec = host_stub(host)
    rec["error"] = f"not scanned: {INTERRUPTED}"
    rec["error_kind"] = "interrupted"
    return rec


def record_connection(rec: HostRecord, info: Mapping[str, Any], when: datetime) -> None:
    """The scanner-side section: what the scanner saw of the connection, as facts (written for
    unreachable hosts too, when the host key was the reason)."""
    section = sections().get(CONNECTION)
    if section is None:  # pragma: no cover - shipped with the package
        return
    text = connection_probe.record(dict(info))
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
