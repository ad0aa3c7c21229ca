"""The result document's records as types: a host record, a section record, a result, and the
document itself (``schema: undone.scan/1``, DESIGN.md §3), with :func:`summarise`.

The JSON Schema (scanner/schema/scan.schema.json) is the contract for readers; these
``TypedDict`` s are the same contract for mypy. tests/unit/scanner/test_result_types.py checks
that they agree: every record here has exactly the schema's properties, and a key is
``Required`` here exactly when the schema requires it. A key the engine keeps only while it
works (none today) would have to be added to both. These are the declared types through the
pipeline (docs/architecture.md, "Records"): the engine builds the host records, evaluation the
results, scanner/scan.py the document, the history reads and writes them.

Only words of scanner/vocab.py appear in the ``Literal`` fields. This module imports nothing
of undone but the vocabularies, so every stage (and, by the one exception import-linter allows,
``reports``) may use it.
"""


from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal, Required, TypedDict

from scanner.vocab import (
    CONTROLS,
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_OK,
    STATUSES,
    Control,
    ErrorKind,
    NaReason,
    Owner,
    Severity,
    Status,
    Transport,
)

SCHEMA: Final = "undone.scan/1"


class SectionRecord(TypedDict, total=False):
    """One probe section as collected: a host record's ``sections[name]``."""

    status: Required[Literal["ok", "error"]]
    error: Required[str | None]
    exit_code: int | None
    collected_at: Required[str]
    script_sha256: str | None
    sha256: Required[str | None]
    bytes: int
    truncated: Required[bool]
    stdout: str
    stderr: str
    # cloud tenants (transport graph, google): the section's API reads, those that failed, the
    # HTTP requests sent, and the time waited as HTTP 429 asked
    calls: int
    failed_calls: int
    requests: int
    throttled_seconds: float


class FactBasis(TypedDict, total=False):
    """How a fact that is not exact is known (a host record's ``fact_basis[fact]``)."""

    basis: Required[Literal["lower-bound", "upper-bound", "estimate"]]
    why: str
    fix: str


class HostRecord(TypedDict, total=False):
    """One host as collected: a ``hosts[]`` entry."""

    name: Required[str]
    address: Required[str]
    transport: Required[Transport]
    platform: Required[str | None]
    roles: list[str]
    roles_inferred: list[str]
    roles_inferred_from: str | None
    roles_source: Literal["inventory", "inferred", "none"]
    groups: list[str]
    owner: str | None
    reachable: Required[bool]
    error: Required[str | None]
    error_kind: ErrorKind | None
    started_at: str
    finished_at: str
    duration_ms: int
    connection: dict[str, Any]
    facts: Required[dict[str, Any]]
    fact_errors: dict[str, str]
    fact_basis: dict[str, FactBasis]
    sections: dict[str, SectionRecord]


class NetworkRecord(HostRecord, total=False):
    """One declared network scanned with nmap: a ``networks[]`` entry, shaped like a host record
    (named ``network:<name>``, platform ``segment``, transport ``nmap``) with the inventory's
    network entry. The schema lists fewer of its keys than it has (it does not close the object);
    tests/unit/scanner/test_result_types.py checks the ones it names are here."""

    network: Required[dict[str, Any]]


class Waiver(TypedDict):
    reason: str
    approved_by: str
    expires: str


class Result(TypedDict, total=False):
    """One rule judged on one host: a ``results[]`` entry."""

    host: Required[str]
    rule: Required[str]
    title: Required[str]
    control: Required[Control]
    severity: Required[Severity]
    owner: Required[Owner]
    status: Required[Status]
    observed: Required[dict[str, Any]]
    expected: Required[str]
    message: Required[str]
    evidence: Required[list[str]]
    first_seen: Required[str | None]
    due: Required[str | None]
    overdue_days: Required[int | None]
    waiver: Waiver
    waiver_expired: Waiver
    reopened: bool
    finding: str
    na_reason: NaReason  # present exactly when status is not_applicable


class Dating(TypedDict, total=False):
    """What the history knows of a failing result's finding (scanner/history/write.py computes
    it as the host is recorded; the scan merges it with :func:`dated`): when its episode opened,
    when it is due, how many days past due a ``fail`` is, and whether it is a reopened one."""

    first_seen: Required[str]
    due: Required[str]
    overdue_days: int  # a fail only (a waived finding is never overdue)
    reopened: bool  # present, true, from the second episode on


def dated(r: Result, dating: Dating | None) -> Result:
    """``r`` with its finding's dating (a new record; ``r`` is left as evaluation made it).
    The keys keep the order of the result document: ``first_seen``, ``due`` and
    ``overdue_days`` where evaluation put them (null), ``reopened`` last."""
    if dating is None:
        return r
    out = r.copy()
    out["first_seen"] = dating["first_seen"]
    out["due"] = dating["due"]
    if "overdue_days" in dating:
        out["overdue_days"] = dating["overdue_days"]
    if dating.get("reopened"):
        out["reopened"] = True
    return out


class Tool(TypedDict):
    name: Literal["undone"]
    version: str


class BaselineRef(TypedDict):
    name: str
    version: str
    sha256: str


class ScanInfo(TypedDict, total=False):
    """The document's ``scan``: which scan, when, of what, against which baselines."""

    id: Required[str]
    started_at: Required[str]
    finished_at: Required[str | None]
    inventory: Required[str | None]
    estate: dict[str, str]
    baselines: Required[list[BaselineRef]]
    params: dict[str, Any]
    options: dict[str, Any]
    reconstructed: bool
    complete: bool
    interrupted: str


class RuleDoc(TypedDict, total=False):
    """What the document says of a rule (``rules[id]``), for reports."""

    title: Required[str]
    control: Required[Control]
    severity: Required[Severity]
    baseline: str
    rationale: str
    remediation: Required[str]
    references: dict[str, str]
    problem: str
    advice: dict[str, str]


class Summary(TypedDict):
    by_status: dict[str, int]
    by_control: dict[str, dict[str, int]]
    hosts_total: int
    hosts_unreachable: int
    exit_code: Literal[0, 1, 3]


class HistoryInfo(TypedDict, total=False):
    """Added when the scan is recorded in a history."""

    previous_scan: str | None
    trend: list[dict[str, Any]]
    since_previous: dict[str, list[dict[str, str]]]
    changes: dict[str, Any]


class HostError(TypedDict):
    """One host (or network, or tenant) the scan could not finish: an ``errors[]`` entry."""

    host: str
    kind: ErrorKind | None
    error: str


def host_errors(records: Iterable[HostRecord]) -> list[HostError]:
    """The document's ``errors``: every record with an error, in the records' order."""
    return [{"host": h["name"], "kind": h.get("error_kind"), "error": error}
            for h in records if (error := h.get("error"))]


class ScanHeader(TypedDict):
    """What a scan's document says before any host is collected (its first four keys; what a
    scan's ``on_start`` sees, scanner/scan.py)."""

    schema: Literal["undone.scan/1"]
    tool: Tool
    scan: ScanInfo
    rules: dict[str, RuleDoc]


class ResultDocument(TypedDict, total=False):
    """What ``undone scan --format json`` writes and every report renders."""

    schema: Required[Literal["undone.scan/1"]]
    tool: Required[Tool]
    scan: Required[ScanInfo]
    rules: dict[str, RuleDoc]
    networks: list[NetworkRecord]
    hosts: Required[list[HostRecord]]
    results: Required[list[Result]]
    history: HistoryInfo
    errors: list[HostError]
    summary: Required[Summary]


def exit_code(results: Iterable[Mapping[str, Any]], hosts_unreachable: int) -> Literal[0, 1, 3]:
    """0 all passed or waived; 1 a fail; 3 no fail but incomplete (unreachable host or error)."""
    incomplete = hosts_unreachable > 0
    for r in results:
        if r["status"] == "fail":
            return EXIT_FINDINGS
        if r["status"] == "error":
            incomplete = True
    return EXIT_INCOMPLETE if incomplete else EXIT_OK


def summarise(hosts: Sequence[Mapping[str, Any]],
              results: Sequence[Mapping[str, Any]]) -> Summary:
    """The document's ``summary``: counts by status and by control, hosts, and the exit code."""
    by_status: dict[str, int] = dict.fromkeys(STATUSES, 0)
    by_control: dict[str, dict[str, int]] = {}
    for r in results:
        by_status[r["status"]] += 1
        c = by_control.setdefault(r["control"], dict.fromkeys(STATUSES, 0))
        c[r["status"]] += 1
    unreachable = sum(1 for h in hosts if not h.get("reachable"))
    return {
        "by_status": by_status,
        "by_control": by_control,
        "hosts_total": len(hosts),
        "hosts_unreachable": unreachable,
        "exit_code": exit_code(results, unreachable),
    }


__all__ = ["CONTROLS", "SCHEMA", "STATUSES", "BaselineRef", "Dating", "FactBasis", "HistoryInfo",
           "HostError", "HostRecord", "NetworkRecord", "Result", "ResultDocument", "RuleDoc",
           "ScanHeader", "ScanInfo", "SectionRecord", "Summary", "Tool", "Transport", "Waiver",
           "dated", "exit_code", "host_errors", "summarise"]
