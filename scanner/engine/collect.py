"""Plan and collect: which sections each host needs, and one batched round trip per host.

``collect_host`` is the engine's unit of work: one host in, one host record out (the shape of a
``hosts[]`` entry of the result document), with no global state, so it can run in a thread here
or move into a worker elsewhere. A host that cannot be reached gives a record with
``reachable: false`` and the reason; it never raises.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from probes import Section, sections
from probes.base import RawSection
from scanner import clock
from scanner.engine import network
from scanner.engine.options import Options
from scanner.engine.pool import CostGuard
from scanner.engine.records import (
    error_kind,
    fact_basis,
    host_stub,
    interrupted_stub,
    iso,
    record_connection,
    section_record,
)
from scanner.engine.transports import INTERRUPTED, Stream, one_line, registry, ssh
from scanner.errors import CollectError, HostKeyError
from scanner.inventory import Host
from scanner.lifecycle import applications
from scanner.lifecycle import catalogue as lifecycle
from scanner.result import FactBasis, HostRecord, ResultDocument
from scanner.rules.baselines import Rule
from scanner.rules.roles import INFERABLE
from scanner.rules.scope import may_apply

PLATFORM_OF_FAMILY = {
    "linux": "linux",
    "darwin": "macos",
    "freebsd": "bsd",
    "openbsd": "bsd",
    "netbsd": "bsd",
    "dragonfly": "bsd",
    "windows": "windows",
}
ALWAYS = ("posix.os", "windows.os")
OS_SECTIONS = ("posix.os", "windows.os")


def plan(host: Host, rules: list[Rule]) -> list[Section]:
    """The sections this host needs: those its applicable rules require, for its transport.
    Without declared roles, the host's roles are inferred from the facts this collects
    (scanner/rules/roles.py): the rules of every role it could be inferred to have are planned.
    A transport that runs no batch (or none registered, scanner/engine/transports/registry.py)
    plans nothing."""
    transport = registry.lookup(host.transport)
    if transport is None or transport.family is None:
        return []
    family = transport.family
    platforms = (host.platform,) if host.platform else transport.platforms
    wanted: set[str] = set(ALWAYS)
    roles = set(host.roles or INFERABLE[family])
    for r in rules:
        if may_apply(r, platforms, roles):
            wanted.update(r.requires)
    known = sections()
    order = sorted(wanted, key=lambda n: (n not in ALWAYS, n))  # os first: others may use it
    return [known[n] for n in order if n in known and known[n].family == family]


# what POSIX shells print when a command is missing: dash "sh: 1: awk: not found", bash
# "bash: line 3: awk: command not found", busybox "sh: awk: not found", zsh "zsh:1: command not
# found: awk"
_NOT_FOUND = re.compile(
    r"^[\w./-]*sh(?::\s*(?:line\s+)?\d+)?:\s*"
    r"(?:([^\s:]+):\s+(?:command\s+)?not found|command not found:\s*(\S+))\s*$",
    re.M,
)


def missing_commands(stderr: str) -> list[str]:
    """Commands a section's script called that the target does not have (from the shell's own
    messages). Probe scripts test for optional tools first, so such a message means the script
    ran without something it relies on, and what it printed cannot be trusted to be complete."""
    found = [a or b for a, b in _NOT_FOUND.findall(stderr)]
    return list(dict.fromkeys(found))


def _text(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


def host_config(host: Host) -> dict[str, Any]:
    """What the inventory declares for the probes of this host (references to secrets only).
    ``client_admins`` / ``provider_admins``: the declared administrator identities (None when
    not declared), from which the accounts parsers derive the ``access.*`` facts."""
    return {
        "backups": [dict(b) for b in host.backups],
        "roles": list(host.roles),
        "client_admins": None if host.client_admins is None else list(host.client_admins),
        "provider_admins": None if host.provider_admins is None else list(host.provider_admins),
    }


def collect_host(
    host: Host,
    needed: list[Section],
    opts: Options,
    connector: ssh.Connector | None = None,
) -> HostRecord:
    """Collect one host over its transport (scanner/engine/transports/registry.py): its batch
    of ``needed`` sections, run once; a network device through scanner/engine/network.py."""
    transport = registry.lookup(host.transport)
    if transport is not None and transport.device(host):
        # network devices: SNMP, or SSH "cli" mode (no POSIX shell)
        return network.collect_device(host, opts, connector)
    rec = host_stub(host)
    started = clock.now()
    t0 = time.monotonic()
    rec["started_at"] = iso(started)
    cancel = opts.cancel
    if transport is None or transport.build is None or transport.run is None:
        return _not_reached(rec, host, CollectError(
            f"the {host.transport} transport is not available in this version "
            "of undone; this host was not scanned"), t0, cancel)
    deadline = t0 + (host.timeout or opts.timeout)
    config = host_config(host)
    config["section_timeout"] = opts.section_timeout  # tools inside a section share it
    env: dict[str, dict[str, str]] = {}
    for s in needed:
        if s.environment is not None:
            try:
                env[s.name] = s.environment(config, os.environ.get)
            except Exception as e:  # noqa: BLE001 - a bad setting is this section's error only
                env[s.name] = {"UNDONE_CONFIG_ERROR": f"{type(e).__name__}: {e}"}
    batch = transport.build(needed, opts.section_timeout, env)
    try:
        stream = transport.run(host, batch, deadline, opts, connector)
    except CollectError as e:
        return _not_reached(rec, host, e, t0, cancel)
    except Exception as e:  # noqa: BLE001 - one failure must not stop the rest
        if cancel is not None and cancel.is_set():
            return interrupted_stub(host)
        rec["error"] = one_line(f"unexpected error talking to the host: {type(e).__name__}: {e}")
        rec["error_kind"] = "error"
        rec["finished_at"] = iso(clock.now())
        rec["duration_ms"] = int((time.monotonic() - t0) * 1000)
        return rec
    if stream.error == INTERRUPTED or (
        cancel is not None and cancel.is_set() and (stream.error or stream.timed_out)
    ):
        return interrupted_stub(host)
    collected = clock.now()
    rec["reachable"] = True
    rec["connection"] = stream.connection
    _record_sections(rec, stream, batch.script_sha256, needed, collected, opts, host, config)
    record_connection(rec, _connection_info(stream.connection, host), collected)
    if stream.timed_out or stream.error:
        # reached, but the batch did not finish: the host belongs in the document's errors
        # summary (its sections say which were lost), not only in its sections
        limit = host.timeout or opts.timeout
        why = (f"the host's time limit ({limit:g}s) ran out before the batch finished"
               if stream.timed_out else f"the batch did not finish: {stream.error}")
        rec["error"] = one_line(why)
        rec["error_kind"] = "timeout" if stream.timed_out else "incomplete"
    rec["finished_at"] = iso(clock.now())
    rec["duration_ms"] = int((time.monotonic() - t0) * 1000)
    return rec


def _not_reached(rec: HostRecord, host: Host, e: CollectError, t0: float,
                 cancel: threading.Event | None) -> HostRecord:
    """The record of a host that could not be collected: why, and for a refused SSH host key,
    the key it offered (a finding of its own)."""
    if cancel is not None and cancel.is_set():
        return interrupted_stub(host)
    rec["error"] = one_line(e)
    rec["error_kind"] = error_kind(e.kind)
    if isinstance(e, HostKeyError):
        key: dict[str, Any] = {"fingerprint": e.fingerprint, "changed": e.changed}
        if e.changed:
            key["expected"] = e.expected
        if e.of:
            key["of"] = e.of
        rec["connection"] = {"transport": "ssh", "host_key": key}
        record_connection(rec, {
            "transport": "ssh",
            "host_key": e.state,
            "host_key_type": e.key_type,
            "host_key_fingerprint": e.fingerprint,
            "known_fingerprint": e.expected,
            "host_key_of": e.of,
        }, clock.now())
    rec["finished_at"] = iso(clock.now())
    rec["duration_ms"] = int((time.monotonic() - t0) * 1000)
    return rec


def _record_sections(
    rec: HostRecord,
    stream: Stream,
    digests: dict[str, str],
    needed: list[Section],
    collected: datetime,
    opts: Options,
    host: Host,
    config: dict[str, Any],
) -> None:
    facts: dict[str, Any] = {}
    errors: dict[str, str] = {}
    basis: dict[str, FactBasis] = {}  # how the inexact values are known (probes/base.py)
    batch_problem = None
    if stream.timed_out:
        batch_problem = f"the host's time limit ({host.timeout or opts.timeout:g}s) ran out"
    elif stream.error:
        batch_problem = stream.error
    if not stream.stdout.parts:
        tail = _text(stream.stderr_tail).strip().splitlines()
        why = tail[-1][:300] if tail else ""
        if stream.exit_status not in (0, None) or why:
            batch_problem = f"the batch did not run (exit {stream.exit_status})" + (
                f": {why}" if why else ""
            )
    for s in needed:
        part = stream.stdout.parts.get(s.name)
        err_part = stream.stderr.parts.get(s.name)
        stdout = _text(part.data) if part else ""
        stderr = _text(err_part.data) if err_part else ""
        srec = section_record(collected, stdout[: opts.excerpt], stderr[: opts.excerpt // 4],
                              raw=part.data if part else None,
                              size=part.size if part else 0,
                              exit_code=part.exit_code if part else None,
                              script_sha256=digests.get(s.name),
                              truncated=bool(part and part.truncated))
        problem = None
        if part is None:
            problem = "no output: " + (batch_problem or "the section did not start")
        elif not part.ended:
            problem = "output cut off before the section finished: " + (
                batch_problem or "connection closed"
            )
        elif part.truncated:
            problem = f"output exceeded {opts.cap} bytes and was cut; not judged on partial data"
        elif part.exit_code == 124:
            problem = f"timed out on the target after {opts.section_timeout}s"
        elif part.exit_code not in (0, None) and not stdout.strip():
            first = next((ln for ln in stderr.splitlines() if ln.strip()), "")
            problem = f"section failed (exit {part.exit_code})" + (
                f": {first[:200]}" if first else ""
            )
        elif missing := missing_commands(stderr):
            problem = (
                f"the target lacks {', '.join(missing[:8])}, which this section's script needs "
                "(command not found): its output is incomplete and was not judged"
            )
        if problem is None:
            raw = RawSection(
                name=s.name,
                stdout=stdout,
                stderr=stderr,
                exit_code=part.exit_code if part else None,
                collected_at=collected,
                truncated=False,
                config=config,
            )
            try:
                parsed = s.parse(raw)
            except Exception as e:  # noqa: BLE001 - one failure must not stop the rest
                problem = f"parser failed: {type(e).__name__}: {e}"
            else:
                facts.update(parsed.values)
                errors.update(parsed.errors)
                basis.update(fact_basis(parsed.basis))
        if problem is not None:
            problem = one_line(problem)
            srec["status"] = "error"
            srec["error"] = problem
            for f in s.provides:
                errors.setdefault(f, problem)
        rec["sections"][s.name] = srec
    if any((o := rec["sections"].get(n)) is not None and o["status"] == "ok"
           for n in OS_SECTIONS):
        try:
            cat = lifecycle.load_catalogue()
            values, errs = lifecycle.enrich_os(facts, collected, cat, opts.max_catalogue_age_days)
            facts.update(values)
            errors.update(errs)
        except Exception as e:  # noqa: BLE001 - one failure must not stop the rest
            errors["os.supported"] = f"lifecycle catalogue unusable: {e}"
    # applications and browser extensions: release catalogue and allow-list (scanner side)
    applications.enrich_record(rec["sections"], facts, errors, collected, host.extension_allowlist)
    transport = registry.lookup(host.transport)
    if transport is not None and transport.connection_facts is not None:
        transport.connection_facts(stream.connection, facts, errors)
    fam = facts.get("os.family")
    if rec["platform"] is None and isinstance(fam, str):
        # only a family undone knows names a platform: an unknown one (or a target's garbage)
        # leaves it unset, so every rule is still judged (and errs where facts are missing)
        # instead of none applying
        rec["platform"] = PLATFORM_OF_FAMILY.get(fam)
    rec["facts"] = facts
    rec["fact_errors"] = {k: v for k, v in errors.items() if k not in facts}
    if basis:
        rec["fact_basis"] = {k: v for k, v in basis.items() if k in facts}


def _connection_info(conn: dict[str, Any], host: Host) -> dict[str, Any]:
    info: dict[str, Any] = {"transport": conn.get("transport") or host.transport}
    key = conn.get("host_key")
    if isinstance(key, dict):
        info["host_key"] = (
            "accepted-on-first-use" if key.get("accepted_on_first_use") else "verified"
        )
        info["host_key_type"] = key.get("type")
        info["host_key_fingerprint"] = key.get("fingerprint")
    return info


#: seconds an interrupted scan waits for the hosts it was collecting to stop (each checks the
#: interruption at least twice a second, and its connections are shut down)
INTERRUPT_GRACE = 1.5


def collect(
    hosts: list[Host],
    rules: list[Rule],
    opts: Options,
    on_host: Callable[[HostRecord], None] | None = None,
    named: Sequence[Host] = (),
) -> list[HostRecord]:
    """Collect every host with bounded concurrency; ``on_host`` sees each record as it lands.
    ``named``: every host of the inventory (also those not selected), so that a jump host named
    by its inventory name is found with its own credentials (issue 15, L8).

    When ``opts.cancel`` is set (or a KeyboardInterrupt reaches this thread), no new host
    starts, every connection is shut down, hosts that finished are kept (``on_host`` saw them),
    and the rest come back as not scanned (:func:`interrupted_stub`, never given to
    ``on_host``) within about :data:`INTERRUPT_GRACE` seconds. Workers are daemon threads, so
    a host stuck in a blocking call cannot hold the process once the scan is over."""
    cancel = opts.cancel
    if cancel is None:
        cancel = threading.Event()
        opts = dataclasses.replace(opts, cancel=cancel)
    connector = ssh.Connector(opts.known_hosts)
    connector.cancelled = cancel
    connector.by_name = {h.name: h for h in [*named, *hosts]}
    guard = CostGuard(hosts, opts)
    todo: queue.SimpleQueue[Host] = queue.SimpleQueue()
    for h in guard.order(hosts):
        todo.put(h)
    landed: queue.SimpleQueue[tuple[Host, HostRecord]] = queue.SimpleQueue()

    def work() -> None:
        while not cancel.is_set():
            try:
                h = todo.get_nowait()
            except queue.Empty:
                return
            try:
                rec = guard.run(h, opts, functools.partial(collect_host, h, plan(h, rules), opts,
                                                           connector))
            except Exception as e:  # noqa: BLE001 - one failure must not stop the rest
                rec = host_stub(h)
                rec["error"] = one_line(f"internal error: {type(e).__name__}: {e}")
                rec["error_kind"] = "error"
            landed.put((h, rec))

    workers = [threading.Thread(target=work, name=f"undone-host-{i}", daemon=True)
               for i in range(max(1, min(opts.concurrency, len(hosts))))]
    for t in workers:
        t.start()
    records: dict[str, HostRecord] = {}

    def take(h: Host, rec: HostRecord) -> None:
        if rec.get("error_kind") == "interrupted" or (cancel.is_set() and rec.get("error")):
            return  # cut short by the interruption: not this scan's word on the host
        records[h.name] = rec
        if on_host is not None:
            on_host(rec)

    try:
        while len(records) < len(hosts) and not cancel.is_set():
            try:
                h, rec = landed.get(timeout=0.2)
            except queue.Empty:
                if not any(t.is_alive() for t in workers) and landed.empty():
                    break
                continue
            take(h, rec)
    except KeyboardInterrupt:
        cancel.set()
    try:
        if cancel.is_set():
            connector.abort()
            end = time.monotonic() + INTERRUPT_GRACE
            while any(t.is_alive() for t in workers) and time.monotonic() < end:
                with contextlib.suppress(queue.Empty):
                    take(*landed.get(timeout=0.05))
            while not landed.empty():
                take(*landed.get_nowait())
    finally:
        connector.close()
    return [records.get(h.name) or interrupted_stub(h) for h in hosts]


def mark_interrupted(doc: ResultDocument, why: str) -> None:
    """Mark a result document as interrupted: ``scan.complete`` false, what interrupted it,
    and an exit code that never says everything passed (hosts not scanned are in ``errors``)."""
    doc["scan"]["complete"] = False
    doc["scan"]["interrupted"] = why
    summary = doc.get("summary")
    if summary is not None and summary["exit_code"] == 0:
        summary["exit_code"] = 3
