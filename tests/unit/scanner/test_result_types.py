"""scanner/result.py and scanner/vocab.py against the JSON Schema (scanner/schema/scan.schema.json):
each typed record has exactly the schema's properties, a key is Required exactly where the schema
requires it, and each vocabulary's tuple, its Literal type and the schema's enum say the same
words in the same order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest

from scanner import result, vocab

SCHEMA = json.loads((Path(__file__).parents[3] / "scanner" / "schema" / "scan.schema.json")
                    .read_text())


def node(*path: str) -> dict[str, Any]:
    """The schema node at a path of keys; ``[]`` steps into an array's items."""
    n: Any = SCHEMA
    for key in path:
        n = n["items"] if key == "[]" else n[key]
    assert isinstance(n, dict)
    return n


def props(*path: str) -> tuple[str, ...]:
    return ("properties", *path)


RECORDS = [
    (result.ResultDocument, ()),
    (result.Tool, props("tool")),
    (result.ScanInfo, props("scan")),
    (result.BaselineRef, (*props("scan"), *props("baselines"), "[]")),
    (result.RuleDoc, (*props("rules"), "additionalProperties")),
    (result.HostRecord, (*props("hosts"), "[]")),
    (result.SectionRecord, (*props("hosts"), "[]", *props("sections"), "additionalProperties")),
    (result.FactBasis, (*props("hosts"), "[]", *props("fact_basis"), "additionalProperties")),
    (result.Result, (*props("results"), "[]")),
    (result.Waiver, ("$defs", "waiver")),
    (result.Summary, props("summary")),
    (result.HistoryInfo, props("history")),
]


@pytest.mark.parametrize(("record", "path"), RECORDS, ids=[r.__name__ for r, _ in RECORDS])
def test_each_typed_record_has_the_schemas_keys_and_required_ness(record: Any,
                                                                   path: tuple[str, ...]) -> None:
    n = node(*path)
    assert set(record.__annotations__) == set(n["properties"]), (
        f"{record.__name__} and the schema at {'/'.join(path) or '/'} list different keys")
    assert set(record.__required_keys__) == set(n.get("required", ())), (
        f"{record.__name__} and the schema at {'/'.join(path) or '/'} require different keys")


def test_not_applicable_needs_its_reason_in_both() -> None:
    # the one conditional requirement: Result.na_reason is optional in the type, required by the
    # schema's if/then exactly when the status is not_applicable
    r = node(*props("results"), "[]")
    assert r["if"] == {"properties": {"status": {"const": "not_applicable"}}}
    assert r["then"] == {"required": ["na_reason"]}
    assert "na_reason" in result.Result.__optional_keys__


def enum(n: dict[str, Any]) -> list[Any]:
    return list(n["enum"]) if "enum" in n else [n["const"]]


@pytest.mark.parametrize(("words", "literal", "schema_path"), [
    (vocab.STATUSES, vocab.Status, ("$defs", "status")),
    (vocab.CONTROLS, vocab.Control, ("$defs", "control")),
    (vocab.SEVERITIES, vocab.Severity, ("$defs", "severity")),
    (vocab.OWNERS, vocab.Owner, (*props("results"), "[]", *props("owner"))),
    (vocab.NA_REASONS, vocab.NaReason, (*props("results"), "[]", *props("na_reason"))),
    ((None, *vocab.ERROR_KINDS), vocab.ErrorKind | None,
     (*props("hosts"), "[]", *props("error_kind"))),
    (vocab.TRANSPORTS, vocab.Transport, (*props("hosts"), "[]", *props("transport"))),
], ids=["status", "control", "severity", "owner", "na_reason", "error_kind", "transport"])
def test_each_vocabulary_is_the_same_words_in_tuple_type_and_schema(
        words: tuple[Any, ...], literal: Any, schema_path: tuple[str, ...]) -> None:
    in_type = [a for a in _flat(literal)]
    assert list(words) == enum(node(*schema_path))
    assert sorted(map(str, in_type)) == sorted(map(str, words))


def _flat(t: Any) -> list[Any]:
    out: list[Any] = []
    for a in get_args(t):
        if a is type(None):
            out.append(None)
        elif get_args(a):
            out.extend(_flat(a))
        else:
            out.append(a)
    return out


@pytest.mark.parametrize(("record", "key", "schema_path"), [
    (result.HostRecord, "transport", (*props("hosts"), "[]", *props("transport"))),
    (result.HostRecord, "roles_source", (*props("hosts"), "[]", *props("roles_source"))),
    (result.SectionRecord, "status",
     (*props("hosts"), "[]", *props("sections"), "additionalProperties", *props("status"))),
    (result.FactBasis, "basis",
     (*props("hosts"), "[]", *props("fact_basis"), "additionalProperties", *props("basis"))),
    (result.Summary, "exit_code", (*props("summary"), *props("exit_code"))),
    (result.ResultDocument, "schema", props("schema")),
    (result.Tool, "name", (*props("tool"), *props("name"))),
])
def test_literal_fields_allow_the_schemas_values(record: Any, key: str,
                                                 schema_path: tuple[str, ...]) -> None:
    hint = get_type_hints(record, include_extras=False)[key]
    assert sorted(map(str, _flat(hint))) == sorted(map(str, enum(node(*schema_path))))


def test_summarise_counts_and_the_exit_code() -> None:
    hosts = [{"name": "a", "reachable": True}, {"name": "b", "reachable": False}]
    results = [{"status": "pass", "control": "backup"}, {"status": "error", "control": "backup"}]
    s = result.summarise(hosts, results)
    assert s["by_status"] == {**dict.fromkeys(vocab.STATUSES, 0), "pass": 1, "error": 1}
    assert s["by_control"]["backup"]["error"] == 1
    assert (s["hosts_total"], s["hosts_unreachable"], s["exit_code"]) == (2, 1, 3)
    assert result.summarise(hosts[:1], [*results, {"status": "fail", "control": "backup"}])[
        "exit_code"] == vocab.EXIT_FINDINGS
    assert result.summarise(hosts[:1], results[:1])["exit_code"] == vocab.EXIT_OK


def test_the_reports_words_cover_exactly_the_vocabularies() -> None:
    from reports import model

    assert tuple(model.CONTROL_TITLES) == vocab.CONTROLS
    assert set(model.SEVERITY_WORDS) == set(vocab.SEVERITIES)
    assert set(model.OWNER_WORDS) == set(vocab.OWNERS)
    assert set(model.STATUS_WORDS) == set(vocab.STATUSES)


def test_one_list_of_formats_for_scan_report_and_output_folders() -> None:
    import reports
    from scanner.cli import report, scan
    from scanner.ops import outputs

    assert scan.SCAN_FORMATS == report.REPORT_FORMATS == reports.FORMATS == tuple(outputs.FILE_NAMES)
    assert set(reports.RENDERERS) < set(reports.FORMATS)


@pytest.mark.parametrize(("record", "path"), [
    (result.NetworkRecord, (*props("networks"), "[]")),
    (result.HostError, (*props("errors"), "[]")),
], ids=["NetworkRecord", "HostError"])
def test_records_of_open_schema_objects_have_at_least_the_schemas_keys(
        record: Any, path: tuple[str, ...]) -> None:
    # objects the schema does not close (a network record is a host record and more; an error
    # entry names only what it requires): every key the schema names is in the type, and every
    # key the schema requires is required there
    n = node(*path)
    assert set(n.get("properties", {})) <= set(record.__annotations__)
    assert set(n.get("required", ())) <= set(record.__required_keys__)


def test_dated_adds_the_historys_fields_to_a_copy() -> None:
    r: Any = {"host": "a", "rule": "CE-BK-001", "status": "fail", "first_seen": None,
              "due": None, "overdue_days": None, "waiver": {}}
    given = dict(r)
    out = result.dated(r, {"first_seen": "2026-12-01T00:00:00Z", "due": "2026-12-15",
                           "overdue_days": 3, "reopened": True})
    assert r == given and out is not r
    assert list(out) == [*given, "reopened"]
    assert (out["first_seen"], out["due"], out["overdue_days"]) == (
        "2026-12-01T00:00:00Z", "2026-12-15", 3)
    assert result.dated(r, None) is r
    waived = result.dated(r, {"first_seen": "2026-12-01T00:00:00Z", "due": "2026-12-15"})
    assert waived["overdue_days"] is None and "reopened" not in waived
