"""The SNMP transport (pysnmp 7, pinned below 8: its API moves): read-only queries from the
scanner to network devices, SNMP v2c or v3.

Why pysnmp rather than net-snmp's command-line tools: the community and the v3 keys stay in this
process (on a command line they would show in every process listing), no tool has to be
installed on the scanner, and one engine answers a host's queries without a process per query.
pysnmp 7 is asyncio-only; each call here runs its own short event loop (``asyncio.run``) in the
calling thread, so the engine's worker threads use it like any blocking transport.

Every answer is written in net-snmp's ``-On`` text format (probes/snmp/_varbinds.py) as blocks
(``@@block NAME`` ... ``@@rc N``), the raw output the ``snmp.*`` parsers read and the evidence
keeps. A query that gets no answer writes ``@@rc 1`` and why.

Credentials are references (scanner/inventory.py): ``community_env`` names the environment
variable holding a v2c community; v3 takes ``snmp_user`` and the variables named by
``snmp_auth_key_env`` and ``snmp_priv_key_env``. The default-community probe (``public``,
``private``) sends one GET of sysDescr.0 per community, one try each with a short timeout.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    usmAesCfb128Protocol,
    usmAesCfb192Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC128SHA224AuthProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC256SHA384AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
    usmNoAuthProtocol,
    usmNoPrivProtocol,
)
from pysnmp.proto import rfc1902, rfc1905

from probes.base import escape_line
from probes.device import identity as ident
from probes.snmp import Query, Walk, format_varbind
from probes.snmp.community import DEFAULT_COMMUNITIES
from scanner.engine.transports import unset_variable
from scanner.errors import AuthError
from scanner.inventory import Host

AUTH = {
    "md5": usmHMACMD5AuthProtocol,
    "sha": usmHMACSHAAuthProtocol,
    "sha224": usmHMAC128SHA224AuthProtocol,
    "sha256": usmHMAC192SHA256AuthProtocol,
    "sha384": usmHMAC256SHA384AuthProtocol,
    "sha512": usmHMAC384SHA512AuthProtocol,
}
PRIV = {
    "des": usmDESPrivProtocol,
    "aes": usmAesCfb128Protocol,
    "aes128": usmAesCfb128Protocol,
    "aes192": usmAesCfb192Protocol,
    "aes256": usmAesCfb256Protocol,
}
MAX_WALK = 2000  # varbinds kept from one walk (an entity table of a big chassis stays under it)


@dataclass(frozen=True)
class Options:
    timeout: float = 2.0  # seconds per request
    retries: int = 1
    probe_timeout: float = 1.5  # the default-community probe: one try each
    max_repetitions: int = 25


@dataclass
class Result:
    """What one device answered: the ``snmp.system`` text, the ``snmp.community`` text (or None
    when the probe was not run), whether the device answered at all, and why not; ``sections``:
    the text of each section that declares its own queries (probes.snmp.queries)."""

    system: str
    community: str | None
    answered: bool
    error: str | None
    error_kind: str | None
    connection: dict[str, Any]
    sections: dict[str, str] = field(default_factory=dict)


def _auth_data(host: Host, secret: Callable[[str], str | None]) -> Any:
    """pysnmp's credentials for the host, read from the environment variables it names."""

    def need(name: str | None, what: str) -> str:
        if not name:
            raise AuthError(f"no {what} configured")
        value = secret(name)
        if value is None or value == "":
            raise AuthError(unset_variable(what))
        return value

    if (host.snmp_version or "2c") == "2c":
        # v2c because the device only speaks it (the inventory chose): S508 noted, not avoidable
        return CommunityData(need(host.community_env, "community_env"), mpModel=1)  # noqa: S508
    auth_key = secret(host.snmp_auth_key_env) if host.snmp_auth_key_env else None
    if host.snmp_auth_key_env and not auth_key:
        raise AuthError(unset_variable("snmp_auth_key_env"))
    priv_key = secret(host.snmp_priv_key_env) if host.snmp_priv_key_env else None
    if host.snmp_priv_key_env and not priv_key:
        raise AuthError(unset_variable("snmp_priv_key_env"))
    return UsmUserData(
        host.snmp_user or "",
        authKey=auth_key,
        privKey=priv_key,
        authProtocol=AUTH[host.snmp_auth_protocol or "sha"] if auth_key else usmNoAuthProtocol,
        privProtocol=PRIV[host.snmp_priv_protocol or "aes"] if priv_key else usmNoPrivProtocol,
    )


def _line(oid: Any, value: Any) -> str:
    """One varbind of pysnmp as net-snmp prints it."""
    o = str(oid)
    if isinstance(value, rfc1905.NoSuchObject):
        return format_varbind(o, "noSuchObject", "")
    if isinstance(value, rfc1905.NoSuchInstance):
        return format_varbind(o, "noSuchInstance", "")
    if isinstance(value, rfc1905.EndOfMibView):
        return format_varbind(o, "endOfMibView", "")
    if isinstance(value, rfc1902.IpAddress):
        return format_varbind(o, "IpAddress", ".".join(str(b) for b in bytes(value.asOctets())))
    if isinstance(value, univ.OctetString):
        return format_varbind(o, "STRING", bytes(value.asOctets()))
    if isinstance(value, univ.ObjectIdentifier):
        return format_varbind(o, "OID", str(value))
    if isinstance(value, rfc1902.TimeTicks):
        return format_varbind(o, "Timeticks", int(value))
    for cls, kind in (
        (rfc1902.Counter64, "Counter64"),
        (rfc1902.Counter32, "Counter32"),
        (rfc1902.Gauge32, "Gauge32"),
        (univ.Integer, "INTEGER"),
    ):
        if isinstance(value, cls):
            return format_varbind(o, kind, int(value))
    return format_varbind(o, type(value).__name__, value.prettyPrint())


def _block(name: str, rc: int, text: str) -> str:
    """One block; a line of the agent's data that begins with ``@@`` (a ``sysDescr`` or
    ``sysLocation`` holding line breaks) is escaped as the prelude escapes it, so it cannot
    forge a block (issue 15, M5)."""
    body = "\n".join(escape_line(ln) for ln in text.split("\n"))
    body = body if body.endswith("\n") or not body else body + "\n"
    return f"@@block {name}\n{body}@@rc {rc}\n"


def _no_answer(address: str, port: int, indication: Any, opts: Options) -> tuple[str, str]:
    """(reason, kind) for a query that got no usable answer."""
    text = str(indication)
    if "timeout" in text.lower() or "no snmp response" in text.lower():
        return (
            f"no SNMP answer from {address}:{port} within "
            f"{opts.timeout:g}s x {opts.retries + 1} tries (agent down or filtered, or the "
            "credentials are wrong: an agent does not answer a community it does not know)",
            "unreachable",
        )
    kind = "auth" if any(w in text.lower() for w in ("user", "digest", "decrypt", "auth")) else (
        "error")
    return f"SNMP query to {address}:{port} failed: {text}", kind


async def _get(engine: Any, auth: Any, target: Any, oids: Sequence[str]) -> tuple[Any, list[str]]:
    indication, status, index, vbs = await get_cmd(
        engine, auth, target, ContextData(), *[ObjectType(ObjectIdentity(o)) for o in oids],
        lookupMib=False,
    )
    if indication:
        return indication, []
    if status:
        return f"{status.prettyPrint()} at varbind {index}", []
    return None, [_line(o, v) for o, v in vbs]


async def _walk(
    engine: Any, auth: Any, target: Any, root: str, opts: Options, keep: Callable[[str], bool]
) -> tuple[Any, list[str]]:
    """A GETBULK walk of ``root``'s subtree; returns (error, lines of the kept OIDs)."""
    lines: list[str] = []
    current = root
    prefix = root + "."
    seen = 0
    while seen < MAX_WALK:
        indication, status, _index, vbs = await bulk_cmd(
            engine, auth, target, ContextData(), 0, opts.max_repetitions,
            ObjectType(ObjectIdentity(current)), lookupMib=False,
        )
        if indication:
            return indication, lines
        if status:
            return f"{status.prettyPrint()}", lines
        if not vbs:
            break
        done = False
        for oid, value in vbs:
            o = str(oid)
            if not o.startswith(prefix) or isinstance(value, rfc1905.EndOfMibView):
                done = True
                break
            seen += 1
            if keep(o):
                lines.append(_line(oid, value))
            current = o
        if done:
            break
    return None, lines


def _entity_column(oid: str) -> bool:
    rest = oid[len(ident.ENTITY_TABLE) + 1 :].split(".")
    return len(rest) == 2 and rest[0].isdigit() and int(rest[0]) in ident.ENTITY_COLUMNS


async def _probe(address: str, port: int, opts: Options) -> str:
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create(
            (address, port), timeout=opts.probe_timeout, retries=0
        )

        async def one(community: str) -> str:
            err, lines = await _get(
                # the probe is of v2c itself: does the device accept a default community?
                engine, CommunityData(community, mpModel=1), target, [ident.SYS_DESCR]  # noqa: S508
            )
            if err is not None:
                return _block(community, 1, f"no answer with community {community!r}: {err}")
            return _block(community, 0, "\n".join(lines))

        parts = await asyncio.gather(*(one(c) for c in DEFAULT_COMMUNITIES))
        return "".join(parts)
    finally:
        engine.close_dispatcher()


def _all(_oid: str) -> bool:
    return True


async def _declared(
    engine: Any, auth: Any, target: Any, opts: Options, blocks: Mapping[str, Query]
) -> str:
    """One section's declared queries, one block each."""
    parts: list[str] = []
    for name, q in blocks.items():
        if isinstance(q, Walk):
            err, lines = await _walk(engine, auth, target, q.root, opts, _all)
            what = "walk"
        else:
            err, lines = await _get(engine, auth, target, q.oids)
            what = "GET"
        parts.append(_block(name, 1 if err else 0,
                            "\n".join(lines) if not err else f"{what} failed: {err}"))
    return "".join(parts)


async def _query(host: Host, auth: Any, opts: Options, probe: bool,
                 declared: Mapping[str, Mapping[str, Query]]) -> Result:
    port = host.port
    conn: dict[str, Any] = {"transport": "snmp", "version": host.snmp_version or "2c",
                            "port": port}
    if host.community_env and (host.snmp_version or "2c") == "2c":
        conn["community_env"] = host.community_env
    if host.snmp_user:
        conn["user"] = host.snmp_user
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create(
            (host.address, port), timeout=opts.timeout, retries=opts.retries
        )
        err, lines = await _get(engine, auth, target, ident.SYSTEM_OIDS)
        if err is not None:
            reason, kind = _no_answer(host.address, port, err, opts)
            # a device that does not answer is not probed further
            return Result(_block("system", 1, reason), None, False, reason, kind, conn)
        parts = [_block("system", 0, "\n".join(lines))]
        objid = next(
            (ln.split("OID: ", 1)[1] for ln in lines if ln.startswith("." + ident.SYS_OBJECT_ID)
             and "OID: " in ln),
            "",
        )
        werr, wlines = await _walk(engine, auth, target, ident.ENTITY_TABLE, opts,
                                   _entity_column)
        parts.append(_block("entity", 1 if werr else 0,
                            "\n".join(wlines) if not werr else f"walk failed: {werr}"))
        extra = ident.vendor_oids(objid)
        if extra:
            verr, vlines = await _get(engine, auth, target, extra)
            parts.append(_block("vendor", 1 if verr else 0,
                                "\n".join(vlines) if not verr else f"GET failed: {verr}"))
        else:
            parts.append(_block("vendor", 0, ""))
        sections = {name: await _declared(engine, auth, target, opts, blocks)
                    for name, blocks in declared.items()}
    finally:
        engine.close_dispatcher()
    community = await _probe(host.address, port, opts) if probe else None
    return Result("".join(parts), community, True, None, None, conn, sections)


def query(
    host: Host,
    opts: Options | None = None,
    probe_default_community: bool = True,
    secret: Callable[[str], str | None] = os.environ.get,
    sections: Mapping[str, Mapping[str, Query]] | None = None,
) -> Result:
    """Ask one device for its identity (``snmp.system``), then each of ``sections``' declared
    queries (``{section: {block: Get or Walk}}``, probes.snmp.queries), and, when
    ``probe_default_community``, whether it answers to a default community
    (``snmp.community``). Raises AuthError when the credentials the inventory names are not
    set; a device that does not answer is a Result with ``answered`` false and the reason."""
    auth = _auth_data(host, secret)
    return asyncio.run(_query(host, auth, opts or Options(), probe_default_community,
                              sections or {}))


def probe_default_communities(address: str, port: int = 161, opts: Options | None = None) -> str:
    """Only the default-community probe (for devices managed over SSH): the snmp.community
    text."""
    return asyncio.run(_probe(address, port, opts or Options()))
