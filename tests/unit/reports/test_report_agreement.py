"""One scan, one set of numbers: the console, HTML, Markdown, CSV, JUnit and JSON reports of a
scan, and the reports of the same scan rebuilt from the history, say the same thing.

The estate is every kind of host record a scan makes (tests/unit/scanner/rules/test_scope.py: recorded Linux
facts, Windows and network devices, a declared network, a tenant, hosts that could not be
reached), judged by every shipped rule, with a waiver, recorded in a history over two scans (the
second with a host that answered before and does not now). The rebuilt document must be the
document the scan produced: the same rows, unreachable hosts' included, the same summary."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reports import console, csvout, html, jsonout, junit, markdown, model
from scanner import result, scan
from scanner.history.store import History
from scanner.inventory import Contract, Waiver
from scanner.rules import baselines, roles
from scanner.rules.evaluate import compile_rules, evaluate_host
from tests.unit.scanner.rules import test_scope

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
BASELINES = baselines.load(list(baselines.SHIPPED))  # the cloud baseline is one of them
RULES = [r for b in BASELINES for r in b.rules]
PARAMS: dict[str, Any] = {}
for _b in BASELINES:
    PARAMS.update(_b.params)
COMPILED = compile_rules(RULES, PARAMS)
WAIVER = Waiver(rule="CE-SC-003", hosts=("facts-estate-server",), reason="legacy jump host",
                approved_by="Head teacher", expires=date(2027, 6, 30))
# fields a result keeps in the history; evidence (section names) and facts are not kept
KEPT = ("host", "rule", "title", "control", "severity", "owner", "status", "observed",
        "expected", "message", "first_seen", "due", "overdue_days", "reopened", "na_reason",
        "waiver", "waiver_expired", "finding")


def live_scan(records: list[dict[str, Any]], when: datetime, hist: History,
              scan_id: str) -> dict[str, Any]:
    """What scanner/scan.py's run does with collected records, recorded as it goes."""
    doc: dict[str, Any] = {
        "schema": result.SCHEMA, "tool": {"name": "undone", "version": "test"},
        "scan": {"id": scan_id, "started_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "finished_at": None, "inventory": "estate.yaml",
                 "estate": {"name": "St Example's", "client": "St Example's",
                            "provider": "Acme IT"},
                 "baselines": [{"name": b.name, "version": b.version, "sha256": b.sha256}
                               for b in BASELINES]},
        "rules": {r.id: scan.rule_doc(r) for r in RULES}}
    hist.begin(doc, {"high": 14}, len(records), when)
    results = []
    for rec in records:
        roles.assign(rec)
        res = evaluate_host(scan.host_view(rec), COMPILED, Contract(), (WAIVER,), when.date())
        dates = hist.record(rec, res, when)
        results += [result.dated(r, dates.get(r["rule"])) for r in res]
    doc["scan"]["finished_at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    doc["hosts"] = records
    doc["results"] = results
    doc["errors"] = [{"host": h["name"], "kind": h.get("error_kind"), "error": h["error"]}
                     for h in records if h.get("error")]
    doc["summary"] = result.summarise(records, results)
    hist.finish(doc, when)
    return doc


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    hist = History(tmp_path_factory.mktemp("h") / "history.sqlite")
    first = test_scope.estate()
    live1 = live_scan(copy.deepcopy(first), T0, hist, "S1")
    second = copy.deepcopy(first)
    for rec in second:  # a host that answered the first time is not reached the second
        if rec["name"] == "facts-debian12":
            rec.update(reachable=False, error="connection timed out", error_kind="timeout",
                       facts={}, fact_errors={}, sections={})
    live2 = live_scan(second, T0 + timedelta(days=20), hist, "S2")
    out = {"live1": live1, "live2": live2, "rebuilt1": hist.document("S1"),
           "rebuilt2": hist.document("S2")}
    hist.close()
    return out


def _rows(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(tuple(json.dumps(r.get(k), sort_keys=True) for k in KEPT)
                  for r in doc["results"])


@pytest.mark.parametrize("which", ["1", "2"])
def test_the_rebuilt_document_is_the_scans_own(scans: dict[str, Any], which: str) -> None:
    live = json.loads(_json(scans[f"live{which}"]))  # as --format json wrote it
    rebuilt = scans[f"rebuilt{which}"]
    assert len(rebuilt["results"]) == len(live["results"])
    assert _rows(rebuilt) == _rows(live)
    assert rebuilt["summary"] == live["summary"]
    shown = ("name", "address", "transport", "platform", "reachable", "error", "roles",
             "roles_inferred", "roles_source")
    by_name = {h["name"]: h for h in rebuilt["hosts"]}
    for h in live["hosts"]:
        for k in shown:
            assert (by_name[h["name"]].get(k) or None) == (h.get(k) or None), (h["name"], k)
        assert by_name[h["name"]]["facts"].get("os.pretty_name") == \
            h["facts"].get("os.pretty_name")
    for k in ("problem", "advice", "remediation", "rationale"):
        for rule, info in rebuilt["rules"].items():
            assert info.get(k) == live["rules"][rule].get(k), (rule, k)


def test_unreachable_hosts_keep_their_not_checked_rows(scans: dict[str, Any]) -> None:
    live, rebuilt = scans["live2"], scans["rebuilt2"]
    for name in ("gone-ssh", "gone-linux", "facts-debian12"):  # never reached; reached before
        mine = [r for r in rebuilt["results"] if r["host"] == name]
        assert mine, name
        assert len(mine) == len([r for r in live["results"] if r["host"] == name])
        assert {r["status"] for r in mine} <= {"error", "not_applicable"}
        assert any(r["message"].startswith("host not scanned") for r in mine)


def _json(doc: dict[str, Any]) -> str:
    buf = io.StringIO()
    jsonout.render(doc, buf)
    return buf.getvalue()


def _numbers(doc: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers as every format prints them."""
    cov = model.coverage(doc)
    con = io.StringIO()
    console.render(doc, con, width=200, color=False)
    page = io.StringIO()
    html.render(doc, page)
    md = io.StringIO()
    markdown.render(doc, md)
    cs = io.StringIO()
    csvout.render(doc, cs)
    ju = io.StringIO()
    junit.render(doc, ju)
    rows = list(csv.DictReader(io.StringIO(cs.getvalue().removeprefix(csvout.BOM),
                                           newline="")))
    suites = ET.fromstring(ju.getvalue().split("\n", 1)[1])  # noqa: S314 - our own output
    verdicts = re.findall(r'<td class="num">(\d+) of (\d+)</td>', page.getvalue())
    return {
        "coverage": cov["text"],
        "console": re.search(r"Score: (.*)\.\n", con.getvalue()).group(1),  # type: ignore[union-attr]
        "html": re.search(r"<strong>Score and coverage:</strong> (.*?)\.</p>",
                          page.getvalue()).group(1).replace("&#39;", "'"),  # type: ignore[union-attr]
        "markdown": re.search(r"\*\*Score and coverage:\*\* (.*)\.\n",
                              md.getvalue()).group(1).replace("\\_", "_"),  # type: ignore[union-attr]
        "csv_statuses": sorted(r["status"] for r in rows),
        "json_statuses": sorted(r["status"] for r in doc["results"]),
        "junit": {k: int(suites.get(k) or 0) for k in ("tests", "failures", "errors",
                                                       "skipped")},
        "verdict_passed": sum(int(a) for a, _ in verdicts),
        "verdict_judged": sum(int(b) for _, b in verdicts),
        "summary": doc["summary"],
    }


@pytest.mark.parametrize("which", ["1", "2"])
def test_console_html_markdown_csv_junit_and_json_agree(scans: dict[str, Any],
                                                        which: str) -> None:
    live = scans[f"live{which}"]
    n = _numbers(live)
    assert n["console"] == n["html"] == n["markdown"] == n["coverage"]
    assert n["csv_statuses"] == n["json_statuses"]
    bs = live["summary"]["by_status"]
    assert n["verdict_passed"] == bs["pass"]
    assert n["verdict_judged"] == bs["pass"] + bs["fail"]
    assert n["junit"]["failures"] == bs["fail"] and n["junit"]["errors"] == bs["error"]
    assert n["junit"]["tests"] == len(live["results"])
    assert str(bs["error"]) in n["coverage"] and f"{bs['pass']} of" in n["coverage"]
    # and the reports of the same scan rebuilt from the history print the same numbers
    assert _numbers(scans[f"rebuilt{which}"]) == n


def test_what_changed_is_the_same_in_the_document_and_the_diff(scans: dict[str, Any]) -> None:
    from reports import diff

    counts = diff.build(scans["rebuilt1"], scans["rebuilt2"])["counts"]
    assert scans["live2"]["history"]["changes"]["counts"] == counts
    # and a report of the recorded scan says the same "since the last scan"
    assert scans["rebuilt2"]["history"]["changes"]["counts"] == counts
    assert counts["unreachable"] == 1  # facts-debian12
    assert counts["no_longer_checked"] >= 1  # its failures are not fixes
    assert counts["fixed"] == 0
    page = io.StringIO()
    html.render(scans["live2"], page)
    assert diff.counts_line(counts) in page.getvalue().replace("&#39;", "'")


def test_the_json_document_validates(scans: dict[str, Any]) -> None:
    import jsonschema

    schema = json.loads((Path(__file__).parents[3] / "scanner" / "schema" /
                         "scan.schema.json").read_text())
    for k in ("live1", "live2", "rebuilt1", "rebuilt2"):
        jsonschema.validate(json.loads(_json(scans[k])), schema)


def test_no_double_negatives_and_advice_for_the_hosts_own_platform(
        scans: dict[str, Any]) -> None:
    from reports import diff

    doc = scans["live2"]
    texts = []
    for render in (console.render, html.render, markdown.render):
        buf = io.StringIO()
        render(doc, buf)
        texts.append(buf.getvalue())
    texts.append(diff.text(diff.build(scans["live1"], doc)))
    for text in texts:
        assert not re.search(r"Not done: (No|Not|Nothing|Never|None)\b", text)
    # a Linux host's firewall item asks for ufw/nftables, never for PowerShell
    items = {it["rule"]: it for it in model.items(doc, ("provider", "client", "shared"))}
    fw = items["CE-FW-001"]
    platforms = {h["name"]: h.get("platform") for h in doc["hosts"]}
    assert {platforms[h] for h in fw["hosts"]} == {"linux"}
    asked = " ".join(text for _, text in fw["advice"])
    assert "ufw" in asked and "Set-NetFirewallProfile" not in asked
