"""JUnit XML: one testcase per host × rule, statuses mapped, target text made XML-safe."""

from __future__ import annotations

import copy
import io
import xml.etree.ElementTree as ET
from typing import Any

from reports import junit
from tests.unit.reports.test_reports import HOSTILE, doc


def parse(d: dict[str, Any]) -> ET.Element:
    buf = io.StringIO()
    junit.render(d, buf)
    return ET.fromstring(buf.getvalue())  # noqa: S314 - our own output


def test_one_testcase_per_host_and_rule() -> None:
    d = doc(message=HOSTILE + "\x00\x0b")
    base = d["results"][0]
    for status, rule in (("pass", "CE-SC-002"), ("error", "CE-SC-003"),
                         ("waived", "CE-SC-004"), ("not_applicable", "CE-SC-005"),
                         ("manual", "CE-SC-006")):
        r = copy.deepcopy(base)
        r.update(status=status, rule=rule)
        if status == "waived":
            r["waiver"] = {"reason": "legacy", "approved_by": "Head", "expires": "2027-01-01"}
        d["results"].append(r)
    root = parse(d)
    assert root.tag == "testsuites"
    assert root.get("tests") == "6" and root.get("failures") == "1"
    assert root.get("errors") == "1" and root.get("skipped") == "3"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["web1"]
    cases = suites[0].findall("testcase")
    assert len(cases) == 6
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("type") == "high"
    assert "<script>" in (failure.get("message") or "")  # text, escaped by the XML writer
    assert "\x1b" not in (failure.get("message") or "") and "\x00" not in (failure.text or "")
    skipped = [c.find("skipped") for c in cases if c.find("skipped") is not None]
    assert any("waived by Head until 2027-01-01" in (s.get("message") or "") for s in skipped
               if s is not None)


def test_unreachable_host_is_an_error_case() -> None:
    d = doc()
    d["results"] = []
    d["hosts"][0].update(reachable=False, error="connection refused")
    root = parse(d)
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == "host reachable"
    err = case.find("error")
    assert err is not None and err.get("message") == "connection refused"
