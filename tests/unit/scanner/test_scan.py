"""scanner/scan.py's one builder of the result document (``document``): the header, the records
and results in the order of a rebuilt report, each failing result with the dating its history
returned, the results evaluation made never edited, and the keys in the schema's order."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema

from scanner import scan
from scanner.engine.records import new_record
from scanner.result import Dating, NetworkRecord, Result, ScanHeader

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
