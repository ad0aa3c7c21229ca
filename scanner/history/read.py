"""A recorded scan's result document, rebuilt from the history (``undone report``, the
previous scan that notifications and ``--diff`` compare with).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Protocol, cast

from scanner import __version__
from scanner.history.codes import FAILING, HOST_PROFILE, STATUS_NAMES, _unpack
from scanner.history.times import _dt, dating, iso
from scanner.result import (
    SCHEMA,
    HistoryInfo,
    HostRecord,
    Result,
    ResultDocument,
    RuleDoc,
    Transport,
    dated,
    host_errors,
    summarise,
)
from scanner.vocab import Control, Severity, Status


class _Store(Protocol):
    """What the rebuild reads of an open history (scanner/history/store.py's History)."""

    db: sqlite3.Connection

    def resolve(self, spec: str | None) -> int: ...

    def document(self, spec: str | None = None, changes: bool = True) -> ResultDocument: ...

    def _rules(self) -> dict[int, tuple[str, dict[str, Any]]]: ...

    def _hosts(self) -> dict[int, tuple[str, str | None, str | None, str | None]]: ...

    def _history_block(self, scan: int, ts: int, trend_days: int) -> HistoryInfo: ...


def document(hist: _Store, spec: str | None = None, changes: bool = True) -> ResultDocument:
    """The result document of a recorded scan, rebuilt from the history.

    Results are each pair's status at that scan, with the observed value, message and finding
    recorded when the pair entered that status; a host that was not reached has the rows
    the scan gave it, as they were. Hosts carry what reports show of them (error, roles,
    the system's name); other facts and raw evidence are not kept in the history
    (``scan.reconstructed`` is true)."""
    sid = hist.resolve(spec)
    uid, started, finished, inventory, meta_text = hist.db.execute(
        "SELECT uid, started_at, finished_at, inventory, meta FROM scans WHERE id = ?",
        (sid,)).fetchone()
    meta = json.loads(meta_text)
    rules = hist._rules()
    hosts = hist._hosts()
    landed: dict[int, tuple[int, int, int | None]] = {
        int(h): (int(off), int(reach), err) for h, off, reach, err in hist.db.execute(
            "SELECT host, offset, reachable, error FROM scan_hosts WHERE scan = ?", (sid,))}
    state: dict[tuple[int, int], tuple[int, int | None]] = {}
    for _, h, r, status, detail in hist.db.execute(
            "SELECT scan, host, rule, status, detail FROM changes WHERE scan <= ? "
            "ORDER BY scan", (sid,)):
        if h in landed:
            state[(h, r)] = (status, detail)
    findings: dict[tuple[int, int], tuple[int, int, int]] = {}
    for h, r, episode, opened, due_day in hist.db.execute(
            "SELECT host, rule, episode, opened_at, due_day FROM findings "
            "WHERE opened_scan <= ? AND (closed_scan IS NULL OR closed_scan > ?)", (sid, sid)):
        findings[(h, r)] = (episode, opened, due_day)
    blob_cache: dict[int, Any] = {}

    def blob(bid: int | None) -> Any:
        if bid is None:
            return {}
        if bid not in blob_cache:
            row = hist.db.execute("SELECT body FROM blobs WHERE id = ?", (bid,)).fetchone()
            blob_cache[bid] = _unpack(row[0]) if row else {}
        return blob_cache[bid]

    host_docs: list[HostRecord] = []
    kept_rows: dict[int, list[list[int]]] = {}  # unreachable hosts: their rows as given
    for hid in sorted(landed, key=lambda h: hosts[h][0]):
        off, reach, err = landed[hid]
        name, address, transport, platform = hosts[hid]
        e = blob(err) if err is not None else {}
        # (the words stored are those of the typed records the scan gave: scanner/result.py)
        rec: HostRecord = {
            "name": name, "address": address or "",
            "transport": cast("Transport", transport or "ssh"),
            "platform": platform, "reachable": bool(reach), "error": e.get("error"),
            "error_kind": e.get("kind"), "finished_at": iso(started + off) or "", "facts": {}}
        rec.update(cast("HostRecord", {k: e[k] for k in HOST_PROFILE if e.get(k)}))
        if e.get("system"):
            rec["facts"] = {"os.pretty_name": e["system"]}
        if isinstance(e.get("results"), list):
            kept_rows[hid] = e["results"]
        host_docs.append(rec)
    results: list[Result] = []
    rule_docs: dict[str, RuleDoc] = {}

    def result(hid: int, rid: int, status: int, d: dict[str, Any]) -> Result:
        rule, rmeta = rules[rid]
        res: Result = {
            "host": hosts[hid][0], "rule": rule, "title": rmeta.get("title") or rule,
            "control": cast("Control", rmeta.get("control")),
            "severity": cast("Severity", rmeta.get("severity")),
            "owner": d.get("ow") or "provider", "status": cast("Status", STATUS_NAMES[status]),
            "observed": d.get("o") or {}, "expected": d.get("e") or "",
            "message": d.get("m") or "", "evidence": [], "first_seen": None, "due": None,
            "overdue_days": None}
        for k in ("waiver", "waiver_expired"):
            if d.get(k):
                res[k] = d[k]
        if d.get("f"):
            res["finding"] = d["f"]
        if res["status"] == "not_applicable":
            # recorded before scope reasons existed, a not_applicable was a precondition's
            res["na_reason"] = d.get("nr") or "precondition"
        rule_docs[rule] = cast("RuleDoc", {k: rmeta.get(k) for k in (
            "title", "control", "severity", "baseline", "rationale", "remediation",
            "references", "problem", "advice") if rmeta.get(k)})
        return res

    rows = [((hid, rid), (status, detail)) for (hid, rid), (status, detail) in state.items()
            if hid not in kept_rows]
    rows += [((hid, int(rid)), (int(code), int(bid)))
             for hid, kept in kept_rows.items() for rid, code, bid in kept]
    for (hid, rid), (status, detail) in sorted(
            rows, key=lambda kv: (hosts[kv[0][0]][0], rules[kv[0][1]][0])):
        if STATUS_NAMES[status] == "absent":
            continue
        res = result(hid, rid, status, blob(detail))
        if hid in kept_rows:  # not reached: the rows the scan gave, nothing judged
            results.append(res)
            continue
        if not landed[hid][1]:  # not reached, recorded before the rows were kept
            error = blob(landed[hid][2]).get("error") if landed[hid][2] else None
            res["status"] = "error"
            res["observed"] = {}
            res["message"] = f"host not scanned: {error or 'unreachable'}"
            res.pop("na_reason", None)
            res.pop("waiver", None)
            res.pop("waiver_expired", None)
            results.append(res)
            continue
        f = findings.get((hid, rid))
        if f is not None and status in FAILING:
            episode, opened, due_day = f
            today = _dt(started + landed[hid][0]).date().toordinal()
            res = dated(res, dating(opened, due_day, episode, STATUS_NAMES[status] == "fail",
                                    today))
        results.append(res)
    doc: ResultDocument = {
        "schema": SCHEMA,
        "tool": {"name": "undone", "version": __version__},
        "scan": {"id": uid, "started_at": iso(started) or "",
                 "finished_at": iso(finished if finished is not None else max(
                     [started] + [started + o for o, _, _ in landed.values()])),
                 "inventory": inventory, "estate": meta.get("estate") or {},
                 "baselines": meta.get("baselines") or [], "reconstructed": True,
                 "complete": finished is not None},
        "rules": rule_docs,
        "hosts": host_docs,
        "results": results,
        "errors": host_errors(host_docs),
        "summary": summarise(host_docs, results),
        "history": hist._history_block(sid, finished or started, 366),
    }
    previous = doc["history"]["previous_scan"]
    if changes and previous:  # what changed since, as the scan's own document said it
        from reports import diff

        prev = hist.document(previous, changes=False)
        doc["history"]["changes"] = {"previous_at": prev["scan"]["started_at"],
                                     "counts": diff.build(prev, doc)["counts"]}
    return doc
