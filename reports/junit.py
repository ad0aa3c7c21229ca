"""JUnit XML report: one ``testsuite`` per host, one ``testcase`` per host × rule, for CI
dashboards. ``fail`` is a ``failure``, ``error`` an ``error``; ``waived``, ``not_applicable`` and
``manual`` are ``skipped`` with the reason. Built with ``xml.etree``; characters XML 1.0 cannot
carry (terminal escapes, NUL) are removed from target text first.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any, TextIO

from scanner.result import Result, ResultDocument

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESC = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)")


def text(value: Any) -> str:
    """``value`` as text that XML 1.0 can carry."""
    return _NOT_XML.sub("", _ESC.sub("", str(value if value is not None else "")))


def _detail(r: Result) -> str:
    lines = [f"finding: {r['finding']}"] if r.get("finding") else []
    lines += [f"message: {r.get('message') or ''}", f"expected: {r.get('expected') or ''}",
             "observed: " + json.dumps(r.get("observed") or {}, ensure_ascii=False,
                                       sort_keys=True, default=str)]
    for k in ("first_seen", "due", "overdue_days"):
        if r.get(k) is not None:
            lines.append(f"{k}: {r[k]}")
    return text("\n".join(lines))


def _skip_reason(r: Result) -> str:
    if r["status"] == "waived" and r.get("waiver"):
        w = r["waiver"]
        return f"waived by {w['approved_by']} until {w['expires']}: {w['reason']}"
    if r["status"] == "manual":
        seen = r.get("finding") or json.dumps(r.get("observed") or {}, ensure_ascii=False,
                                              default=str)
        return "needs a person's review: " + seen
    return str(r.get("message") or r["status"].replace("_", " "))


def build(doc: ResultDocument) -> ET.Element:
    by_host: dict[str, list[Result]] = defaultdict(list)
    for r in doc.get("results", []):
        by_host[r["host"]].append(r)
    scan = doc.get("scan") or {}
    root = ET.Element("testsuites", name=text(f"undone {scan.get('id', '')}"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    hosts = {h["name"]: h for h in doc.get("hosts", [])}
    for name in list(hosts) + [n for n in by_host if n not in hosts]:
        rs = by_host.get(name, [])
        h = hosts.get(name)  # None: results of a host the document has no record of
        counts = {"tests": len(rs),
                  "failures": sum(1 for r in rs if r["status"] == "fail"),
                  "errors": sum(1 for r in rs if r["status"] == "error"),
                  "skipped": sum(1 for r in rs if r["status"] in
                                 ("waived", "not_applicable", "manual"))}
        if not rs and h is not None and not h.get("reachable"):
            counts["tests"] = counts["errors"] = 1
        address = h.get("address") if h is not None else None
        finished = h.get("finished_at") if h is not None else None
        took = (h.get("duration_ms") if h is not None else None) or 0
        attrs = {"name": text(name), "hostname": text(address or name),
                 "timestamp": text(finished or scan.get("started_at", "")),
                 "time": f"{took / 1000:.3f}"}
        attrs.update({k: str(v) for k, v in counts.items()})
        suite = ET.SubElement(root, "testsuite", attrs)
        for k in totals:
            totals[k] += counts[k]
        props = ET.SubElement(suite, "properties")
        if h is not None:
            for key, value in (("address", address), ("transport", h.get("transport")),
                               ("platform", h.get("platform"))):
                if value:
                    ET.SubElement(props, "property", name=key, value=text(value))
        if not rs and h is not None and not h.get("reachable"):
            case = ET.SubElement(suite, "testcase", classname=text(f"undone.{name}"),
                                 name="host reachable", time="0")
            ET.SubElement(case, "error", message=text(h.get("error") or "unreachable"),
                          type="unreachable")
        for r in rs:
            case = ET.SubElement(suite, "testcase", classname=text(f"undone.{name}"),
                                 name=text(f"{r['rule']} {r['title']}"), time="0")
            status = r["status"]
            if status == "fail":
                el = ET.SubElement(case, "failure", message=text(r.get("message")),
                                   type=text(r["severity"]))
                el.text = _detail(r)
            elif status == "error":
                el = ET.SubElement(case, "error", message=text(r.get("message")), type="error")
                el.text = _detail(r)
            elif status in ("waived", "not_applicable", "manual"):
                ET.SubElement(case, "skipped", message=text(_skip_reason(r)))
    for k, v in totals.items():
        root.set(k, str(v))
    return root


def render(doc: ResultDocument, out: TextIO, **_: Any) -> None:
    root = build(doc)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
