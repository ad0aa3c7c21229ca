"""``collect_tenant``: one tenant in, one host-shaped record out (never raises).

The record is a host record (:class:`scanner.result.HostRecord`, begun by
scanner/engine/records.py ``new_record``): ``name``, ``address`` (the tenant id, or the Google
customer and the admin acted as), ``transport`` (``graph`` or ``google``), ``platform`` (``m365`` or
``google-workspace``), ``roles`` (``["tenant"]``), ``reachable`` (a token was obtained),
``error`` / ``error_kind`` (``auth``, ``unreachable``, ``error``), ``connection`` (where the
token came from and what it allows; never the token), ``facts``, ``fact_errors`` and
``sections`` with one section, ``cloud.entra`` or ``cloud.google``: ``sha256`` and ``bytes`` of
the whole bundle, ``script_sha256`` of the section's catalogue of requests, ``stdout`` the call
ledger (each request, when, its HTTP status, pages, items, and why a failed one failed),
``calls`` / ``failed_calls`` counts. The bundle itself goes to the parser, and, when
``Options.keep_bundle`` is set, into ``record["bundle"]`` (for an evidence bundle; it holds the
tenant's user names).
"""

from __future__ import annotations

import hashlib
import json
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

from probes import sections
from probes.base import RawSection
from probes.cloud import SCHEMA
from scanner.engine.cloud import missing_extra
from scanner.engine.records import error_kind, new_record, record_connection, section_record
from scanner.inventory.tenants import TenantConfig
from scanner.result import HostRecord, Transport

SECTION = {"m365": "cloud.entra", "google-workspace": "cloud.google"}
TRANSPORT: Final[dict[str, Transport]] = {"m365": "graph", "google-workspace": "google"}


class TenantRecord(HostRecord, total=False):
    """A tenant's host record, with the whole bundle read when ``Options.keep_bundle`` is set
    (for an evidence bundle; never in a scan's document)."""

    bundle: dict[str, Any]


@dataclass
class Options:
    """How tenants are read. The endpoints are Microsoft's and Google's own; the test suite points
    them at its local server (with ``ca_bundle`` to trust it)."""

    login_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com"
    google_admin_url: str = "https://admin.googleapis.com"
    google_policy_url: str = "https://cloudidentity.googleapis.com"
    google_token_uris: tuple[str, ...] = ("https://oauth2.googleapis.com/token",
                                          "https://accounts.google.com/o/oauth2/token")
    ca_bundle: str | None = None
    device_prompt: Callable[[str], None] | None = None
    request_timeout: float = 30.0
    max_retries: int = 4
    max_retry_wait: float = 60.0
    max_total_wait: float = 180.0
    max_page_bytes: int = 32 * 1024 * 1024
    max_pages: int = 2000
    workers: int = 4
    excerpt: int = 8192
    keep_bundle: bool = False
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def _prompt(message: str) -> None:
    sys.stderr.write(message.rstrip() + "\n")
    sys.stderr.flush()


def _terminal() -> bool:
    """A person at the terminal (stdin and stderr both one), as device-code sign-in needs."""
    try:
        return bool(sys.stdin and sys.stdin.isatty() and sys.stderr and sys.stderr.isatty())
    except (ValueError, OSError):  # closed streams: no one there
        return False


def default_options(clock: Callable[[], datetime] | None = None) -> Options:
    """The options a scan reads tenants with: Microsoft's and Google's own endpoints; the
    device-code message on the terminal when a person is there (else device-code sign-in is
    refused, as a scheduled scan must). ``clock``: the scan's clock. The test suite replaces
    this function to point the endpoints at its own server; nothing else moves them."""
    opts = Options(device_prompt=_prompt if _terminal() else None)
    if clock is not None:
        opts.clock = clock
    return opts


def interrupted(tenant: TenantConfig, why: str) -> HostRecord:
    """The record of a tenant a stopped scan did not read (never judged, never recorded)."""
    rec = stub(tenant)
    rec["error"], rec["error_kind"] = f"not scanned: {why}", "interrupted"
    return rec


def collect_tenants(tenants: list[TenantConfig], opts: Options,
                    on_record: Callable[[HostRecord], None] | None = None,
                    cancel: threading.Event | None = None, workers: int = 4
                    ) -> list[HostRecord]:
    """Every tenant, a few at a time; ``on_record`` sees each record as it lands (in this
    thread). When ``cancel`` is set, no new tenant starts and those not finished come back as
    interrupted (:func:`interrupted`, never given to ``on_record``)."""
    if not tenants:
        return []
    todo: queue.SimpleQueue[TenantConfig] = queue.SimpleQueue()
    for t in tenants:
        todo.put(t)
    landed: queue.SimpleQueue[HostRecord] = queue.SimpleQueue()
    stop = cancel or threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                t = todo.get_nowait()
            except queue.Empty:
                return
            landed.put(collect_tenant(t, opts))  # never raises

    threads = [threading.Thread(target=work, name=f"undone-tenant-{i}", daemon=True)
               for i in range(max(1, min(workers, len(tenants))))]
    for th in threads:
        th.start()
    records: dict[str, HostRecord] = {}
    while len(records) < len(tenants) and not stop.is_set():
        try:
            rec = landed.get(timeout=0.2)
        except queue.Empty:
            if not any(th.is_alive() for th in threads) and landed.empty():
                break
            continue
        records[rec["name"]] = rec
        if on_record is not None:
            on_record(rec)
    return [records.get(t.name) or interrupted(t, "the scan was stopped") for t in tenants]


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stub(tenant: TenantConfig) -> TenantRecord:
    # a host record is a tenant record without the bundle (the one key it may add)
    return cast("TenantRecord", new_record(tenant.name, tenant.address,
                                           TRANSPORT[tenant.platform], tenant.platform,
                                           roles=["tenant"], groups=[], owner=tenant.owner))


def collect_tenant(tenant: TenantConfig, opts: Options | None = None) -> TenantRecord:
    """Read one tenant and return its record (see the module docstring)."""
    opts = opts or Options()
    rec = stub(tenant)
    started = opts.clock()
    t0 = time.monotonic()
    rec["started_at"] = _iso(started)
    try:
        _collect(tenant, opts, rec, t0)
    except ImportError as e:
        rec["error"] = missing_extra(e)
        rec["error_kind"] = "error"
    except Exception as e:  # noqa: BLE001 - one tenant's failure must not stop the scan
        rec["error"] = f"unexpected error reading the tenant: {type(e).__name__}: {e}"[:500]
        rec["error_kind"] = "error"
    finished = opts.clock()
    # the scanner's own section, as for every record: how undone reached the tenant (its API,
    # never SSH), so a rule about SSH host keys says it does not apply rather than "not collected"
    record_connection(rec, {"transport": rec["transport"]}, finished)
    rec["finished_at"] = _iso(finished)
    rec["duration_ms"] = int((time.monotonic() - t0) * 1000)
    return rec


def _collect(tenant: TenantConfig, opts: Options, rec: TenantRecord, t0: float) -> None:
    from scanner.engine.cloud import auth
    from scanner.engine.cloud import entra as entra_reader
    from scanner.engine.cloud import google as google_reader
    from scanner.engine.cloud.http import Limits, Reader, ReadOnlySession

    aopts = auth.AuthOptions(login_url=opts.login_url, ca_bundle=opts.ca_bundle,
                             google_token_uris=opts.google_token_uris,
                             device_prompt=opts.device_prompt, timeout=opts.request_timeout)
    try:
        if tenant.platform == "m365":
            token = auth.entra_token(tenant, aopts)
            origins = [opts.graph_url]
        else:
            token = auth.google_token(tenant, aopts, google_reader.SCOPES)
            origins = [opts.google_admin_url, opts.google_policy_url]
    except auth.AuthFailure as e:
        rec["error"] = str(e)
        rec["error_kind"] = error_kind({"network": "unreachable", "auth": "auth"}.get(e.kind,
                                                                                     "error"))
        return
    rec["reachable"] = True
    rec["connection"] = {"transport": rec["transport"], "token_from": token.endpoint,
                         "token_kind": token.kind, "permissions": token.permissions}
    session = ReadOnlySession(origins, verify=opts.ca_bundle or True)
    limits = Limits(request_timeout=opts.request_timeout, max_retries=opts.max_retries,
                    max_retry_wait=opts.max_retry_wait, max_total_wait=opts.max_total_wait,
                    max_page_bytes=opts.max_page_bytes, max_pages=opts.max_pages)
    reader = Reader(session, token.value, classify=lambda s, b: ("error", None, f"HTTP {s}"),
                    limits=limits, deadline=t0 + tenant.timeout, sleep=opts.sleep,
                    clock=opts.clock)
    try:
        if tenant.platform == "m365":
            entra_reader.collect(reader, opts.graph_url, tenant.max_user_requests, opts.workers)
        else:
            google_reader.collect(reader, opts.google_admin_url, opts.google_policy_url,
                                  tenant.customer)
    finally:
        session.close()
    collected = opts.clock()
    bundle = {
        "schema": SCHEMA,
        "platform": tenant.platform,
        "tenant": tenant.name,
        "customer": tenant.customer if tenant.platform == "google-workspace" else None,
        "collected_at": _iso(collected),
        "token": {"kind": token.kind, "permissions": token.permissions},
        "calls": reader.calls,
        "data": reader.data,
    }
    _record(rec, tenant, bundle, collected, opts, reader.requests_made, reader.waited)


def _record(rec: TenantRecord, tenant: TenantConfig, bundle: dict[str, Any],
            collected: datetime, opts: Options, requests_made: int, waited: float) -> None:
    name = SECTION[tenant.platform]
    section = sections()[name]
    text = json.dumps(bundle, sort_keys=True, separators=(",", ":"))
    ledger = json.dumps(bundle["calls"], sort_keys=True, indent=1)
    failed = sum(1 for c in bundle["calls"].values() if not c.get("ok"))
    srec = section_record(collected, ledger[: opts.excerpt], raw=text.encode("utf-8"),
                          script_sha256=hashlib.sha256(section.script.encode("utf-8")).hexdigest())
    # (truncated stays false: a call whose answer was too big failed, and says so)
    srec["calls"] = len(bundle["calls"])
    srec["failed_calls"] = failed
    srec["requests"] = requests_made
    srec["throttled_seconds"] = round(waited, 1)
    rec["sections"][name] = srec
    parsed = section.parse(RawSection(name=name, stdout=text, exit_code=0,
                                      collected_at=collected, config=tenant.probe_config()))
    rec["facts"] = dict(parsed.values)
    rec["fact_errors"] = {k: v for k, v in parsed.errors.items() if k not in parsed.values}
    if opts.keep_bundle:
        rec["bundle"] = bundle
