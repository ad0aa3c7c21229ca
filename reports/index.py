"""The index of many estates (``undone scan FOLDER``): one row per estate with its compliance by
control, its overdue count and its last scan time, linking each estate's own report.

:func:`estate_row` reads one estate's result document (pure, like every renderer);
the index document (``undone.index/1``) is a list of such rows plus the estates that could not
be scanned (an invalid inventory, a busy estate, an internal error), each with its one-line
problems. :func:`render` writes it as HTML (``templates/index.html.j2``) or JSON.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from reports import model
from scanner.result import ResultDocument

SCHEMA = "undone.index/1"
# column headings of the index, short enough for seven controls side by side at 1280 px
SHORT_TITLES = {"firewalls": "Firewalls", "secure-configuration": "Secure config.",
                "security-update-management": "Updates", "user-access-control": "Access",
                "malware-protection": "Malware", "backup": "Backups",
                "asset-management": "Assets"}
STATUS_WORDS = {
    "scanned": "scanned",
    "invalid": "invalid inventory",
    "busy": "busy (another scan was running)",
    "error": "internal error",
    "interrupted": "interrupted (the run was stopped)",
}


def estate_row(doc: ResultDocument) -> dict[str, Any]:
    """What the index shows of one scanned estate, from its result document."""
    h = model.headline(doc)
    cov = model.coverage(doc)
    scan = doc.get("scan") or {}
    controls = {c["control"]: {"compliance": c["compliance"], "pass": c["counts"].get("pass", 0),
                               "fail": c["counts"].get("fail", 0), "overdue": c["overdue"]}
                for c in model.by_control(doc)}
    return {
        "scan": {"id": scan.get("id"), "started_at": scan.get("started_at"),
                 "finished_at": scan.get("finished_at")},
        "last_scan": scan.get("finished_at"),
        "hosts": h["hosts"], "unreachable": h["unreachable"], "fail": h["fails"],
        "overdue": h["overdue"], "compliance": h["compliance"], "controls": controls,
        "coverage": {k: cov[k] for k in ("compliance", "judged", "not_run", "hosts",
                                         "hosts_checked", "text")},
        "exit_code": (doc.get("summary") or {}).get("exit_code"),
    }


def controls_of(index: dict[str, Any]) -> list[str]:
    seen = {c for e in index.get("estates", []) for c in (e.get("controls") or {})}
    return sorted(seen, key=model.control_key)


def render(index: dict[str, Any], out: TextIO, fmt: str = "html", **_: Any) -> None:
    if fmt == "json":
        json.dump(index, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    from reports import html

    estates = index.get("estates", [])
    counts: dict[str, int] = {}
    for e in estates:
        counts[e["status"]] = counts.get(e["status"], 0) + 1
    out.write(html.environment().get_template("index.html.j2").render(
        index=index, estates=estates, controls=controls_of(index), counts=counts,
        short=SHORT_TITLES,
        overdue=sum(e.get("overdue") or 0 for e in estates),
        status_words=STATUS_WORDS, version=(index.get("tool") or {}).get("version", "")))
