"""Plan and collect: which sections each host needs, and one batched round trip per host.

``collect_host`` is the engine's unit of work: one host in, one host record out (the shape of a
``hosts[]`` entry of the result document), with no global state, so it can run in a thread here
or move into a worker elsewhere. A host that cannot be reached gives a record with
``reachable: false`` and the reason; it never raises.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from probes import Section, sections
from probes.base import RawSection
from scanner import lifecycle
from scanner.baselines import Rule
from scanner.batch import DEFAULT_SECTION_CAP, DEFAULT_TOTAL_CAP, build
from scanner.errors import CollectError, HostKeyError
from scanner.evaluate import POSIX_PLATFORMS
from scanner.inventory import Host
from scanner.transports import Stream, local, ssh

FAMILY_OF_TRANSPORT = {"ssh": "posix", "local": "posix"}
PLATFORM_OF_FAMILY = {
    "linux": "linux",
    "darwin": "macos",
    "freebsd": "bsd",
    "openbsd": "bsd",
    "netbsd": "bsd",
    "dragonfly": "bsd",
}
ALWAYS = ("posix.os",)


@dataclass
class Options:
    concurrency: int = 16
    timeout: float = 120.0
    connect_timeout: float = 10.0
    section_timeout: int = 60
    cap: int = DEFAULT_SECTION_CAP
    total_cap: int = DEFAULT_TOTAL_CAP
    excerpt: int = 8192
    max_catalogue_age_days: int = 400


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan(host: Host, rules: list[Rule]) -> list[Section]:
    """The sections this host needs: those its applicable rules require, for its transport."""
    family = FAMILY_OF_TRANSPORT.get(host.transport)
    if family is None:
        return []
    platforms = (host.platform,) if host.platform else POSIX_PLATFORMS
    wanted: set[str] = set(ALWAYS)
    for r in rules:
        if r.roles and not set(r.roles) & set(host.roles):
            continue
        if r.platforms and not set(r.platforms) & set(platforms):
            continue
        wanted.update(r.requires)
    known = sections()
    order = sorted(wanted, key=lambda n: (n not in ALWAYS, n))  # os first: others may use it
    return [known[n] for n in order if n in known and known[n].family == family]


def _text(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


def host_config(host: Host) -> dict[str, Any]:
    """What the inventory declares for the probes of this host (references to secrets only)."""
    return {"backups": [dict(b) for b in host.backups], "roles": list(host.roles)}


def _host_stub(host: Host) -> dict[str, Any]:
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


def collect_host(
    host: Host,
    needed: list[Section],
    opts: Options,
    connector: ssh.Connector | None = None,
) -> dict[str, Any]:
    rec = _host_stub(host)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    rec["started_at"] = _iso(started)
    deadline = t0 + (host.timeout or opts.timeout)
    config = host_config(host)
    env: dict[str, dict[str, str]] = {}
    for s in needed:
        if s.environment is not None:
            try:
                env[s.name] = s.environment(config, os.environ.get)
            except Exception as e:  # noqa: BLE001 - a bad setting is this section's error only
                env[s.name] = {"UNDONE_CONFIG_ERROR": f"{type(e).__name__}: {e}"}
    batch = build(needed, opts.section_timeout, env)
    try:
        if host.transport == "local":
            stream = local.run(host, batch, deadline, opts.cap, opts.total_cap)
        elif host.transport == "ssh":
            if connector is None:
                raise CollectError("internal: SSH host without a connector")
            sopts = ssh.Options(
                connect_timeout=host.connect_timeout or opts.connect_timeout,
                cap=opts.cap,
                total_cap=opts.total_cap,
            )
            stream = ssh.run(host, batch, deadline, connector, sopts)
        else:
            raise CollectError(
                f"the {host.transport} transport is not available in this version "
                "of undone; this host was not scanned"
            )
    except CollectError as e:
        rec["error"] = str(e)
        rec["error_kind"] = e.kind
        if isinstance(e, HostKeyError):
            rec["connection"] = {"host_key": {"fingerprint": e.fingerprint, "changed": e.changed}}
        rec["finished_at"] = _iso(datetime.now(UTC))
        rec["duration_ms"] = int((time.monotonic() - t0) * 1000)
        return rec
    except Exception as e:  # noqa: BLE001 - one failure must not stop the rest
        rec["error"] = f"unexpected error talking to the host: {type(e).__name__}: {e}"
        rec["error_kind"] = "error"
        rec["finished_at"] = _iso(datetime.now(UTC))
        rec["duration_ms"] = int((time.monotonic() - t0) * 1000)
        return rec
    collected = datetime.now(UTC)
    rec["reachable"] = True
    rec["connection"] = stream.connection
    _record_sections(rec, stream, batch.script_sha256, needed, collected, opts, host, config)
    rec["finished_at"] = _iso(datetime.now(UTC))
    rec["duration_ms"] = int((time.monotonic() - t0) * 1000)
    return rec


def _record_sections(
    rec: dict[str, Any],
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
    privileged = False
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
        srec: dict[str, Any] = {
            "status": "ok",
            "error": None,
            "exit_code": part.exit_code if part else None,
            "collected_at": _iso(collected),
            "script_sha256": digests.get(s.name),
            "sha256": hashlib.sha256(part.data).hexdigest() if part else None,
            "bytes": part.size if part else 0,
            "truncated": bool(part and part.truncated),
            "stdout": stdout[: opts.excerpt],
            "stderr": stderr[: opts.excerpt // 4],
        }
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
        if problem is None:
            raw = RawSection(
                name=s.name,
                stdout=stdout,
                stderr=stderr,
                exit_code=part.exit_code if part else None,
                collected_at=collected,
                truncated=False,
                privileged=privileged,
                config=config,
            )
            try:
                parsed = s.parse(raw)
            except Exception as e:  # noqa: BLE001 - one failure must not stop the rest
                problem = f"parser failed: {type(e).__name__}: {e}"
            else:
                facts.update(parsed.values)
                errors.update(parsed.errors)
                if s.name == "posix.os" and parsed.values.get("os.privileged"):
                    privileged = True
        if problem is not None:
            srec["status"] = "error"
            srec["error"] = problem
            for f in s.provides:
                errors.setdefault(f, problem)
        rec["sections"][s.name] = srec
    if "posix.os" in rec["sections"] and rec["sections"]["posix.os"]["status"] == "ok":
        try:
            cat = lifecycle.load_catalogue()
            values, errs = lifecycle.enrich_os(facts, collected, cat, opts.max_catalogue_age_days)
            facts.update(values)
            errors.update(errs)
        except Exception as e:  # noqa: BLE001 - one failure must not stop the rest
            errors["os.supported"] = f"lifecycle catalogue unusable: {e}"
    fam = facts.get("os.family")
    if rec["platform"] is None and isinstance(fam, str):
        rec["platform"] = PLATFORM_OF_FAMILY.get(fam, fam)
    rec["facts"] = facts
    rec["fact_errors"] = {k: v for k, v in errors.items() if k not in facts}


def collect(
    hosts: list[Host],
    rules: list[Rule],
    opts: Options,
    on_host: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Collect every host with bounded concurrency; ``on_host`` sees each record as it lands."""
    connector = ssh.Connector()
    connector.by_name = {h.name: h for h in hosts}
    records: dict[str, dict[str, Any]] = {}
    try:
        with ThreadPoolExecutor(
            max_workers=max(1, opts.concurrency), thread_name_prefix="undone-host"
        ) as pool:
            futures = {
                pool.submit(collect_host, h, plan(h, rules), opts, connector): h for h in hosts
            }
            for fut in as_completed(futures):
                h = futures[fut]
                try:
                    rec = fut.result()
                except Exception as e:  # noqa: BLE001 - one failure must not stop the rest
                    rec = _host_stub(h)
                    rec["error"] = f"internal error: {type(e).__name__}: {e}"
                    rec["error_kind"] = "error"
                records[h.name] = rec
                if on_host is not None:
                    on_host(rec)
    finally:
        connector.close()
    return [records[h.name] for h in hosts]
