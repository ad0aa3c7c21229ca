"""scanner/scan.py's one builder of the result document (``document``): the header, the records
and results in the order of a rebuilt report, each failing result with the dating its history
returned, the results evaluation made never edited, and the keys in the schema's order; and the
garbage collector while a scan runs: what is judged is frozen, and the collector is given back
as it was found (also when the scan raises or is interrupted), never carrying one scan's
garbage into the next."""

from __future__ import annotations

import copy
import gc
import json
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scanner import scan
from scanner.engine.options import Options
from scanner.engine.records import new_record
from scanner.inventory import Host, Inventory
from scanner.result import Dating, HostRecord, NetworkRecord, Result, ResultDocument, ScanHeader

SCHEMA = json.loads((Path(__file__).parents[3] / "scanner" / "schema" / "scan.schema.json")
                    .read_text())


def _result(host: str, rule: str, status: str) -> Result:
    return {"host": host, "rule": rule, "title": f"t {rule}", "control": "backup",
            "severity": "high", "owner": "provider", "status": status,  # type: ignore[typeddict-item]
            "observed": {}, "expected": "x", "message": "m", "evidence": [],
            "first_seen": None, "due": None, "overdue_days": None}


HEADER: ScanHeader = {
    "schema": "undone.scan/1", "tool": {"name": "undone", "version": "test"},
    "scan": {"id": "s1", "started_at": "2026-12-07T09:00:00Z", "finished_at": None,
             "inventory": "inv.yaml", "estate": {}, "baselines": []},
    "rules": {}}


def _build(nets: list[NetworkRecord]) -> tuple[dict[str, Any], dict[str, list[Result]],
                                                dict[str, list[Result]]]:
    b = new_record("b", "192.0.2.2", "ssh", "linux", roles=[], groups=[], owner=None)
    a = new_record("a", "192.0.2.1", "ssh", "linux", roles=[], groups=[], owner=None)
    b["reachable"] = a["reachable"] = True
    down = new_record("c", "192.0.2.3", "ssh", None, roles=[], groups=[], owner=None)
    down["error"], down["error_kind"] = "connection refused", "unreachable"
    per_host = {"b": [_result("b", "CE-BK-002", "fail"), _result("b", "CE-BK-001", "waived")],
                "a": [_result("a", "CE-BK-001", "fail"), _result("a", "CE-BK-002", "pass")],
                "c": [_result("c", "CE-BK-001", "error")]}
    given = copy.deepcopy(per_host)
    dates: dict[str, dict[str, Dating]] = {
        "a": {"CE-BK-001": {"first_seen": "2026-11-01T09:00:00Z", "due": "2026-11-15",
                     "overdue_days": 22, "reopened": True}},
        "b": {"CE-BK-002": {"first_seen": "2026-12-07T09:00:00Z", "due": "2026-12-21",
                     "overdue_days": 0},
              "CE-BK-001": {"first_seen": "2026-12-01T09:00:00Z", "due": "2026-12-15"}}}
    doc = scan.document(HEADER, "2026-12-07T09:05:00Z", [], [b, down, a], nets, per_host, dates)
    return dict(doc), per_host, given


def test_results_are_dated_in_the_document_and_never_edited() -> None:
    doc, per_host, given = _build([])
    assert per_host == given  # evaluation's results as they were: no first_seen, no reopened
    by = {(r["host"], r["rule"]): r for r in doc["results"]}
    assert [(r["host"], r["rule"]) for r in doc["results"]] == [
        ("a", "CE-BK-001"), ("a", "CE-BK-002"), ("b", "CE-BK-001"), ("b", "CE-BK-002"), ("c", "CE-BK-001")]
    a1 = by[("a", "CE-BK-001")]
    assert (a1["first_seen"], a1["due"], a1["overdue_days"], a1["reopened"]) == (
        "2026-11-01T09:00:00Z", "2026-11-15", 22, True)
    assert list(a1) == [*given["a"][0], "reopened"]  # the document's key order, reopened last
    assert a1 is not per_host["a"][0]
    waived = by[("b", "CE-BK-001")]
    assert waived["overdue_days"] is None and "reopened" not in waived  # never overdue
    assert by[("b", "CE-BK-002")]["overdue_days"] == 0
    assert by[("a", "CE-BK-002")] is per_host["a"][1]  # nothing to date: the record as evaluated
    assert by[("a", "CE-BK-002")]["first_seen"] is None
    assert [h["name"] for h in doc["hosts"]] == ["a", "b", "c"]
    assert doc["errors"] == [{"host": "c", "kind": "unreachable",
                              "error": "connection refused"}]
    assert doc["summary"]["exit_code"] == 1
    assert doc["scan"]["finished_at"] == "2026-12-07T09:05:00Z"
    assert HEADER["scan"]["finished_at"] is None  # the header a caller saw is not changed
    assert list(doc) == ["schema", "tool", "scan", "rules", "hosts", "results", "errors",
                         "summary"]
    jsonschema.validate(doc, SCHEMA)


def test_networks_sit_between_results_and_errors() -> None:
    from scanner.engine.network import network_stub

    net = network_stub({"name": "lan", "cidr": "192.0.2.0/24", "internet_facing": False,
                        "allowed_ports": []})
    net["error"], net["error_kind"] = "nmap failed", "error"
    doc, _, _ = _build([net])
    assert list(doc) == ["schema", "tool", "scan", "rules", "hosts", "results", "networks",
                         "errors", "summary"]
    assert doc["networks"] == [net]
    assert [e["host"] for e in doc["errors"]] == ["c", "network:lan"]
    jsonschema.validate(doc, SCHEMA)


# ---- the garbage collector during a scan ----

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class _Cycle:
    """Cyclic garbage: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


def _garbage() -> weakref.ref[_Cycle]:
    return weakref.ref(_Cycle())


@pytest.fixture
def collector() -> Iterator[None]:
    """No automatic collection during the test (a threshold nothing reaches), so that only the
    scan's own collections free cyclic garbage; the collector as it was afterwards."""
    assert gc.isenabled() and gc.get_freeze_count() == 0, "the test process froze objects"
    old = gc.get_threshold()
    gc.set_threshold(1_000_000_000, 10, 10)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*old)


def _inventory(*names: str) -> Inventory:
    return Inventory(path="inv.yaml", hosts=tuple(Host(name=n, address="192.0.2.1")
                                                  for n in names))


def _collecting(before_each: Callable[[str], None]) -> Callable[..., list[HostRecord]]:
    """A collection without the network: ``before_each(name)`` runs as each host is collected,
    then the host lands (is judged by the scan)."""
    def collect(hosts: Sequence[Host], rules: Any, opts: Any, landed: Callable[[HostRecord], None],
                named: Any = ()) -> list[HostRecord]:
        out = []
        for h in hosts:
            before_each(h.name)
            rec = new_record(h.name, h.address, "ssh", "linux", roles=[], groups=[], owner=None)
            rec["reachable"] = True
            landed(rec)
            out.append(rec)
        return out
    return collect


def _run(inv: Inventory) -> ResultDocument:
    return scan.run(inv, [], Options(), clock=lambda: NOW)


@pytest.mark.parametrize("ending", [None, RuntimeError, KeyboardInterrupt])
def test_a_scan_freezes_what_is_judged_and_gives_the_collector_back(
        collector: None, monkeypatch: pytest.MonkeyPatch, ending: type[BaseException] | None
) -> None:
    """Whether the scan ends, raises or is interrupted (Ctrl-C inside the collection), the
    collector is enabled, with its thresholds, and nothing is left frozen."""
    state = (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
    frozen: list[int] = []

    def before_each(name: str) -> None:
        frozen.append(gc.get_freeze_count())
        if name == "c" and ending is not None:
            raise ending("stopped")

    monkeypatch.setattr(scan, "collect", _collecting(before_each))
    if ending is None:
        doc = _run(_inventory("a", "b", "c"))
        assert [h["name"] for h in doc["hosts"]] == ["a", "b", "c"]
    else:
        with pytest.raises(ending):
            _run(_inventory("a", "b", "c"))
    assert frozen[0] == 0 and frozen[1] > 0  # host a judged: what was alive is frozen
    assert (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == state


def test_a_callers_own_freeze_and_disabled_collector_are_left_alone(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller that froze objects itself keeps exactly its freeze (unfreezing would give back
    its objects too); a disabled collector stays disabled, nothing frozen."""
    frozen: list[int] = []
    monkeypatch.setattr(scan, "collect", _collecting(lambda _: frozen.append(
        gc.get_freeze_count())))
    gc.freeze()
    theirs = gc.get_freeze_count()
    _run(_inventory("a", "b"))
    assert frozen == [theirs, theirs] and gc.get_freeze_count() == theirs
    gc.unfreeze()
    frozen.clear()
    gc.disable()
    try:
        _run(_inventory("a", "b"))
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert frozen == [0, 0] and gc.get_freeze_count() == 0


def test_one_scans_garbage_is_collected_before_the_next_freezes_it(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection's cyclic garbage frozen during one scan is not carried into the next (as a
    schedule or a folder scan runs scans one after another in one process)."""
    left: list[weakref.ref[_Cycle]] = []
    seen_alive: list[bool] = []

    def before_each(name: str) -> None:
        if name == "a":
            left.append(_garbage())  # dies while the scan runs; frozen with host a
        else:
            seen_alive.append(left[0]() is not None)

    monkeypatch.setattr(scan, "collect", _collecting(before_each))
    _run(_inventory("a"))
    _run(_inventory("x"))
    assert seen_alive == [False]


def test_a_scan_that_ends_while_another_runs_collects_its_garbage(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Estates of a folder scan overlap: one that ends while another still runs leaves no
    garbage frozen for the rest of the run, and the last one gives the collector back."""
    left: list[weakref.ref[_Cycle]] = []
    checks: list[tuple[str, bool, int]] = []

    def before_each(name: str) -> None:
        if name == "outer1":  # the other estate runs to its end meanwhile
            _run(_inventory("inner1", "inner2"))
        elif name == "inner1":
            left.append(_garbage())
        elif name == "outer2":
            checks.append((name, left[0]() is None, gc.get_freeze_count()))

    monkeypatch.setattr(scan, "collect", _collecting(before_each))
    _run(_inventory("outer1", "outer2"))
    assert checks[0][:2] == ("outer2", True)
    assert gc.get_freeze_count() == 0
