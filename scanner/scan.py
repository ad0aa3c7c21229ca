"""A whole scan: inventory + baselines → collect each host → evaluate → the result document.

The result document (``schema: undone.scan/1``) is the contract of DESIGN.md §3 and the only
thing reports render. Hosts are evaluated as they land, so a caller that records each host
(history) loses nothing if the scan is interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypedDict, cast

from scanner import __version__
from scanner import clock as scanner_clock
from scanner.engine import dating, network
from scanner.engine.collect import collect
from scanner.engine.options import Options
from scanner.errors import InputError
from scanner.inventory import Host, Inventory
from scanner.lifecycle import advisories, support
from scanner.lifecycle import catalogue as lifecycle
from scanner.result import (
    SCHEMA,
    Dating,
    HistoryInfo,
    HostRecord,
    NetworkRecord,
    Result,
    ResultDocument,
    RuleDoc,
    ScanHeader,
    dated,
    host_errors,
    summarise,
)
from scanner.rules import roles
from scanner.rules.baselines import Baseline, Rule
from scanner.rules.conditions import Bases
from scanner.rules.evaluate import CompiledRule, Memo, compile_rules, evaluate_host
from scanner.rules.scope import HostView


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merged_params(baselines: list[Baseline], inventory: Inventory) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for b in baselines:
        params.update(b.params)
    problems = []
    for k, v in inventory.params.items():
        if k not in params:
            known = ", ".join(sorted(params)) or "none"
            problems.append(f"{inventory.path}: params.{k}: unknown parameter (known: {known})")
        elif type(v) is not type(params[k]) and not (
            isinstance(v, int | float) and isinstance(params[k], int | float)
            and not isinstance(v, bool)
        ):
            problems.append(f"{inventory.path}: params.{k}: is {v!r}, expected a value like "
                            f"{params[k]!r}")
        else:
            params[k] = v
    if problems:
        raise InputError(problems)
    return params


def host_view(rec: HostRecord) -> HostView:
    """What evaluation reads of a host record; the roles are those that scope its rules
    (declared, else inferred: scanner/rules/roles.py)."""
    scoped, source = roles.effective(rec)
    return HostView(
        name=rec["name"], platform=rec.get("platform"), roles=scoped,
        reachable=bool(rec.get("reachable")), error=rec.get("error"), facts=rec.get("facts", {}),
        fact_errors=rec.get("fact_errors", {}), sections=rec.get("sections", {}),
        owner=rec.get("owner"), transport=rec.get("transport", "ssh"),
        fact_basis=cast("Bases", rec.get("fact_basis") or {}), roles_source=source,
    )


def rule_doc(r: Rule) -> RuleDoc:
    """What the result document says of a rule: its words for reports (``problem``: the
    heading of a failing item; ``advice``: the remediation of each platform, when it differs)."""
    out: RuleDoc = {"title": r.title, "control": r.control, "severity": r.severity,
                    "baseline": r.baseline, "rationale": r.rationale,
                    "remediation": r.remediation, "references": r.references}
    if r.finding:
        out["problem"] = " ".join(str(r.finding["title"]).split())
        if r.finding.get("advice"):
            out["advice"] = {k: " ".join(str(v).split()) for k, v in r.finding["advice"].items()}
    return out


class _Collector:
    """The garbage collector while scans run in this process.

    A scan keeps every host's record and results until the document is built (a million
    results at 10,000 hosts × 100 rules), and the collector's full passes walk all of them
    again and again (docs/benchmarks.md, "Issue 17, garbage collection during a scan"). So
    what is alive when a host has been judged is frozen (``gc.freeze``: never walked again;
    reference counting still frees what is dropped), and unfrozen when the scan ends.

    Frozen objects that become cyclic garbage (a connection's) wait for the unfreeze, so no
    garbage is carried from scan to scan: a scan that starts when none runs, after scans that
    froze, first collects (the heap is small then: the last document has been dropped), and a
    scan that ends while others of this process still run (a folder scan's estates) unfreezes
    and collects what it left. Nothing is frozen when the caller disabled the collector or
    froze objects itself (their freeze could not be given back); thresholds are never changed."""

    lock = threading.Lock()
    running = 0  # scans of this process inside :meth:`held`
    owned = False  # whether those scans freeze (decided by the first of them)
    dirty = False  # frozen since the last collection: garbage may have been unfrozen uncollected

    @classmethod
    @contextlib.contextmanager
    def held(cls) -> Iterator[None]:
        """For the time one scan collects and judges its hosts."""
        with cls.lock:
            first = cls.running == 0
            if first:
                cls.owned = gc.isenabled() and gc.get_freeze_count() == 0
            cls.running += 1
            collect = first and cls.owned and cls.dirty
            cls.dirty = cls.dirty and not collect
        try:
            if collect:  # what earlier scans left, before anything is frozen again (outside
                gc.collect()  # the lock: finalizers run here)
            yield
        finally:
            with cls.lock:
                cls.running -= 1
                collect = cls.owned and cls.running > 0  # the others freeze at their next host
                if cls.owned:
                    gc.unfreeze()
                cls.owned = cls.owned and cls.running > 0
                cls.dirty = cls.dirty and not collect
            if collect:
                gc.collect()

    @classmethod
    def host_done(cls) -> None:
        """A host is judged: what is alive now is frozen (when the scans own the collector)."""
        if cls.owned:
            cls.dirty = True
            gc.freeze()


#: what a caller's ``on_host`` may return: the dating of the host's failing results, by rule
#: (scanner/history/write.py computes it as it records the host), merged into the document
OnHost = Callable[[HostRecord, list[Result]], Mapping[str, Dating] | None]


def run(
    inventory: Inventory,
    baselines: list[Baseline],
    opts: Options,
    on_host: OnHost | None = None,
    host_filter: list[str] | None = None,
    on_start: Callable[[ScanHeader, int], None] | None = None,
    clock: Callable[[], datetime] | None = None,
    seen: dating.SeenLookup | None = None,
) -> ResultDocument:
    """Scan and return the result document.

    ``on_start(header, hosts_planned)`` sees the document's header (``schema``, ``tool``,
    ``scan``, ``rules``) before any host is collected; ``on_host(record, results)`` sees each
    host as it lands, and may return the dating of its failing results by rule (the history's
    ``first_seen``, ``due``, ``overdue_days``, ``reopened``), which the document's results carry;
    the results evaluation made are never changed.
    ``clock`` (default: the system clock, UTC) gives every time the scan records.
    ``seen(host)`` is what the caller's history knows of the host's pending updates, for dating
    them (scanner/engine/dating.py); without it only advisories and bounds date them.
    """
    now = clock or scanner_clock.now
    params = merged_params(baselines, inventory)
    # the estate's own threshold, without changing the caller's options
    opts = dataclasses.replace(opts, max_catalogue_age_days=int(
        params.get("max_lifecycle_data_age_days", opts.max_catalogue_age_days)),
        lifecycle_local=lifecycle.local_overlay(inventory.lifecycle))
    rules = [r for b in baselines for r in b.rules]
    compiled: list[CompiledRule] = compile_rules(rules, params)
    memo = Memo()  # what evaluation remembers from host to host, for this scan only
    hosts = list(inventory.hosts)
    tenants = list(inventory.tenants)  # cloud tenants (scanner/cloud), judged like hosts
    if host_filter:
        # an alias (another inventory name for a machine scanned once) selects that machine
        alias_of = inventory.alias_of()
        wanted = {alias_of.get(n, n) for n in host_filter}
        unknown = wanted - {h.name for h in hosts} - {t.name for t in tenants}
        if unknown:
            raise InputError("--hosts: no such host in the inventory: "
                             + ", ".join(sorted(unknown)))
        hosts = [h for h in hosts if h.name in wanted]
        tenants = [t for t in tenants if t.name in wanted]
    started = now()
    scan_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    per_host: dict[str, list[Result]] = {}
    dates: dict[str, Mapping[str, Dating]] = {}
    header: ScanHeader = {
        "schema": SCHEMA,
        "tool": {"name": "undone", "version": __version__},
        "scan": {
            "id": scan_id,
            "started_at": _iso(started),
            "finished_at": None,
            "inventory": inventory.path,
            "estate": dict(inventory.estate),
            "baselines": [{"name": b.name, "version": b.version, "sha256": b.sha256}
                          for b in baselines],
            "params": params,
            "options": {"concurrency": opts.concurrency, "timeout": opts.timeout,
                        "section_timeout": opts.section_timeout},
        },
        "rules": {r.id: rule_doc(r) for r in rules},
    }
    if on_start is not None:
        on_start(header, len(hosts) + len(tenants))

    advisory_data: list[tuple[advisories.Catalogue | None, str | None]] = []

    def landed(rec: HostRecord) -> None:
        facts = rec.get("facts") or {}
        if "os.supported" in facts or "os.supported" in (rec.get("fact_errors") or {}):
            support.enrich(rec, now())  # who still sends security fixes, until when
        if dating.needs(rec):
            # date pending security updates with what the scanner side knows, before judging
            if not advisory_data:
                try:
                    advisory_data.append((advisories.load(), None))
                except advisories.AdvisoryError as e:
                    advisory_data.append((None, f"advisory catalogue unusable: {e}"))
            dating.enrich(rec, *advisory_data[0], seen(rec["name"]) if seen else None, now())
        # a derivation over the collected facts, before evaluation (which stays pure): what the
        # host is when the inventory does not say, recorded in the host's record
        roles.assign(rec)
        res = evaluate_host(host_view(rec), compiled, inventory.contract, inventory.waivers,
                            now().date(), memo=memo)
        per_host[rec["name"]] = res
        if on_host is not None and (dated_here := on_host(rec, res)):
            dates[rec["name"]] = dated_here
        _Collector.host_done()  # the host is judged: the collector need not walk it again

    with _Collector.held():
        records = collect(hosts, rules, opts, landed, named=inventory.hosts)
        if tenants:  # each tenant read-only over its API; one that cannot be read says why
            from scanner.engine.cloud import collect as cloud

            records += cloud.collect_tenants(tenants, cloud.default_options(now), landed,
                                             opts.cancel)
        # the network phase: one nmap run per declared network (not with --hosts: a partial
        # scan)
        nets = [] if host_filter else network.scan_networks(inventory, rules, opts, landed)
        return document(header, _iso(now()), hosts, records, nets, per_host, dates)


def document(header: ScanHeader, finished_at: str, hosts: list[Host], records: list[HostRecord],
             nets: list[NetworkRecord], per_host: Mapping[str, list[Result]],
             dates: Mapping[str, Mapping[str, Dating]]) -> ResultDocument:
    """The result document, built here and only here: the header, the records by host name,
    the results by host name then rule (the order of the same scan's report rebuilt from the
    history), each with its history's dating (:func:`scanner.result.dated`)."""
    records = sorted(records, key=lambda h: h["name"])
    names = sorted({h.name for h in hosts} | {h["name"] for h in records}
                   | {n["name"] for n in nets})
    results = [dated(r, dates.get(name, {}).get(r["rule"])) for name in names
               for r in sorted(per_host.get(name, []), key=lambda r: r["rule"])]
    networks: _MayLack = {"networks": nets} if nets else {}
    return {
        "schema": header["schema"],
        "tool": header["tool"],
        "scan": {**header["scan"], "finished_at": finished_at},
        "rules": header["rules"],
        "hosts": records,
        "results": results,
        **networks,
        "errors": host_errors([*records, *nets]),
        "summary": summarise(records, results),
    }


class _MayLack(TypedDict, total=False):
    """The keys of a result document a scan may leave out: ``networks`` (none declared or
    scanned) and ``history`` (the caller's history adds it when it finishes the scan)."""

    networks: list[NetworkRecord]
    history: HistoryInfo
