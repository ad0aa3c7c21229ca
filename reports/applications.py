"""Applications across the estate: the report's "out-of-date applications" section.

Grouped by product and version over every computer ("Google Chrome 120.0.6099.110 on 14
computers"), which is what a provider acts on: one update pushed to a list of machines. Read
from each host's ``apps.judged`` and ``apps.unrecognised`` facts (scanner/applications), data of
the result document only, as every report reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scanner.result import ResultDocument


def _group(rows: Iterable[tuple[tuple[str, ...], str, dict[str, Any]]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for key, host, item in rows:
        g = groups.setdefault(key, {**item, "hosts": []})
        if host not in g["hosts"]:
            g["hosts"].append(host)
    out = sorted(groups.values(), key=lambda g: (-len(g["hosts"]), g["title"], g["version"]))
    for g in out:
        g["hosts"].sort()
        g["count"] = len(g["hosts"])
    return out


def estate(doc: ResultDocument) -> dict[str, Any]:
    """Out-of-date and unsupported applications grouped by product and version, what could not
    be judged (grouped by product and reason), and the applications undone does not judge."""
    outdated: list[tuple[tuple[str, ...], str, dict[str, Any]]] = []
    unsupported: list[tuple[tuple[str, ...], str, dict[str, Any]]] = []
    undecided: list[tuple[tuple[str, ...], str, dict[str, Any]]] = []
    unknown: dict[str, set[str]] = {}
    snapshot = None
    for host in doc.get("hosts") or []:
        name = str(host.get("name") or "")
        facts = host.get("facts") or {}
        snapshot = snapshot or facts.get("apps.catalogue_snapshot")
        for j in facts.get("apps.judged") or []:
            if not isinstance(j, dict):
                continue
            title = str(j.get("title") or j.get("name") or "")
            version = str(j.get("upstream") or j.get("version") or "")
            if j.get("status") == "outdated":
                outdated.append(((title, version), name, {
                    "title": title, "version": version,
                    "newer_version": j.get("newer_version"), "newer_date": j.get("newer_date"),
                    "newer_age_days": j.get("newer_age_days"),
                    "latest_version": j.get("latest_version"),
                    "latest_date": j.get("latest_date")}))
            if j.get("support") == "unsupported":
                unsupported.append(((title, version), name, {
                    "title": title, "version": version, "line": j.get("cycle"),
                    "eol": j.get("eol")}))
            if j.get("status") == "undetermined":
                reason = str(j.get("reason") or "")
                undecided.append(((title, reason), name, {"title": title, "version": version,
                                                          "reason": reason}))
        for u in facts.get("apps.unrecognised") or []:
            label = str(u).split(" (", 1)[0]
            unknown.setdefault(label, set()).add(name)
    others = sorted(({"name": n, "count": len(h)} for n, h in unknown.items()),
                    key=lambda x: (-int(str(x["count"])), str(x["name"])))
    return {"outdated": _group(outdated), "unsupported": _group(unsupported),
            "undecided": _group(undecided), "others": others[:20],
            "others_total": len(others), "snapshot": snapshot}
