"""The contract-period document (``undone.period/1``, ``undone report --from/--to``), read
from the history: compliance per control over time, findings opened and closed, mean time to
remediate, SLA breaches per month, and each host's maintenance timeline.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from scanner import __version__
from scanner.errors import InputError
from scanner.history.codes import (
    CLOSED_WHY,
    EVENT_NAMES,
    N_STATUS,
    OWNER_NAMES,
    SEVERITY_NAMES,
    STATUS_CODES,
    STATUS_NAMES,
)
from scanner.history.events import EVENT_KINDS
from scanner.history.times import _day_iso, _dt, _ts, due_days, iso, utcnow
from scanner.vocab import CONTROLS, OWNERS, SEVERITIES


class _Reader(Protocol):
    """What the period reads of an open history (scanner/history/store.py's History)."""

    db: sqlite3.Connection

    def _rules(self) -> dict[int, tuple[str, dict[str, Any]]]: ...

    def _hosts(self) -> dict[int, tuple[str, str | None, str | None, str | None]]: ...

    def _blob_value(self, bid: int) -> Any: ...


def period(hist: _Reader, start: date | None = None, end: date | None = None,
           now: datetime | None = None) -> dict[str, Any]:
    """The contract-period document (``undone.period/1``) for ``start``..``end`` inclusive:
    compliance per control over time, findings opened and closed, mean time to remediate,
    SLA breaches per month, and each host's maintenance timeline."""
    now_ts = _ts(now or utcnow())
    first = hist.db.execute("SELECT MIN(started_at) FROM scans").fetchone()[0]
    if start is None:
        start = _dt(first).date() if first is not None else _dt(now_ts).date()
    if end is None:
        end = _dt(now_ts).date()
    if end < start:
        raise InputError(f"--from {start} is after --to {end}")
    t0 = _ts(datetime.combine(start, datetime.min.time(), UTC))
    t1 = _ts(datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC))
    rules = hist._rules()
    hosts = hist._hosts()
    scans = hist.db.execute("SELECT id, uid, started_at, finished_at, meta FROM scans "
                            "WHERE started_at < ? ORDER BY id", (t1,)).fetchall()
    in_period = [s for s in scans if s[2] >= t0]
    meta = json.loads(in_period[-1][4]) if in_period else (
        json.loads(scans[-1][4]) if scans else {})
    months = _months(start, end)
    month_of = {m: i for i, m in enumerate(months)}

    # compliance per control after each scan in the period, by replaying the changes; a
    # scan's figures count only the hosts it reached (a host it did not reach, or did not
    # scan, adds nothing but its checks that could not run), so each point has its coverage
    counts: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0] * N_STATUS)
    state: dict[tuple[int, int], int] = {}
    points: dict[str, list[dict[str, Any]]] = {c: [] for c in CONTROLS}
    coverage: list[dict[str, Any]] = []
    scan_ids = [s[0] for s in scans]
    changes = hist.db.execute("SELECT scan, host, rule, status FROM changes WHERE scan <= ? "
                              "ORDER BY scan", (scan_ids[-1] if scan_ids else 0,))
    pending = next(changes, None)
    seen_hosts: set[int] = set()
    in_ids = {s[0] for s in in_period}
    landed_by_scan: dict[int, list[tuple[int, int, int, int | None]]] = defaultdict(list)
    if in_ids:
        for sid_, hid_, reach_, n_err, err_ in hist.db.execute(
                "SELECT scan, host, reachable, n_error, error FROM scan_hosts WHERE scan >= ?"
                " AND scan <= ?", (min(in_ids), max(in_ids))):
            landed_by_scan[int(sid_)].append((int(hid_), int(reach_), int(n_err), err_))
    for sid, uid, started, _, _ in scans:
        while pending is not None and pending[0] <= sid:
            _, h, r, st = pending
            control = rules[r][1].get("control")
            if control in CONTROLS:
                old = state.get((h, r))
                if old is not None:
                    counts[(h, control)][old] -= 1
                counts[(h, control)][st] += 1
            state[(h, r)] = st
            pending = next(changes, None)
        if sid not in in_ids:
            continue
        landed_here = landed_by_scan.get(sid, [])
        per_control = {c: [0] * N_STATUS for c in CONTROLS}
        for hid, reach, _, err in landed_here:
            if reach:
                for c in CONTROLS:
                    hc = counts.get((hid, c))
                    if hc is not None:
                        for i, k in enumerate(hc):
                            per_control[c][i] += k
            else:  # not reached: its rows as the scan gave them, or its pairs not run
                kept = hist._blob_value(err).get("results") if err is not None else None
                if isinstance(kept, list):
                    for rid, code, _ in kept:
                        kc = rules[int(rid)][1].get("control")
                        if kc in per_control:
                            per_control[kc][int(code)] += 1
                else:
                    for c in CONTROLS:
                        hc = counts.get((hid, c))
                        if hc is not None:
                            per_control[c][STATUS_CODES["error"]] += sum(
                                k for i, k in enumerate(hc) if STATUS_NAMES.get(i) != "absent")
        sums = [0] * N_STATUS
        for c in CONTROLS:
            n = per_control[c]
            sums = [a + b for a, b in zip(sums, n, strict=True)]
            np_, nf, nw, ne = (n[STATUS_CODES[k]] for k in ("pass", "fail", "waived",
                                                            "error"))
            if np_ + nf + nw + ne:
                points[c].append({"at": iso(started), "scan": uid, "pass": np_, "fail": nf,
                                  "waived": nw, "not_run": ne,
                                  "compliance": _pct(np_, np_ + nf)})
        np_, nf, ne = (sums[STATUS_CODES[k]] for k in ("pass", "fail", "error"))
        coverage.append({"at": iso(started), "scan": uid, "pass": np_, "fail": nf,
                         "not_run": ne, "compliance": _pct(np_, np_ + nf),
                         "hosts": len(landed_here),
                         "hosts_reached": sum(1 for x in landed_here if x[1])})
    for (hid,) in hist.db.execute("SELECT DISTINCT host FROM scan_hosts WHERE scan IN "
                                  "(SELECT id FROM scans WHERE started_at >= ? AND "
                                  "started_at < ?)", (t0, t1)):
        seen_hosts.add(int(hid))
    controls: dict[str, Any] = {}
    for c in CONTROLS:
        pts = points[c]
        if not pts:
            continue
        by_month: dict[str, float | None] = {}
        for pt in pts:
            by_month[pt["at"][:7]] = pt["compliance"]
        controls[c] = {"points": pts, "start": pts[0]["compliance"],
                       "end": pts[-1]["compliance"], "by_month": by_month,
                       "not_run_end": pts[-1]["not_run"]}

    # findings opened and closed, time to remediate, SLA breaches
    days = due_days(meta.get("days"))
    opened, closed, breaches = [], [], []
    per_month: list[dict[str, Any]] = [
        {"month": m, "opened": 0, "closed": 0, "breaches": 0, "remediated_days": []}
        for m in months]
    mttr: dict[str, dict[str, list[float]]] = {"all": {"all": []}, "by_severity": {},
                                               "by_owner": {}}
    open_at_end = overdue_at_end = 0
    end_day = end.toordinal()
    today_day = _dt(now_ts).date().toordinal()
    # overdue is counted as of the period's end, or today when the end is still to come:
    # never at a future date
    as_of_day = min(end_day, today_day)
    open_windows: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    closed_other: list[dict[str, Any]] = []
    for (h, r, episode, sev, owner, o_at, due_day, last_at, c_at, c_why) in hist.db.execute(
            "SELECT host, rule, episode, severity, owner, opened_at, due_day, last_seen_at, "
            "closed_at, closed_why FROM findings WHERE opened_at < ?", (t1,)):
        rule, rmeta = rules[r]
        control = rmeta.get("control") or ""
        open_windows[h].append((control, o_at, c_at if c_at is not None else 1 << 62))
        closed_in = c_at is not None and t0 <= c_at < t1
        item = {"host": hosts[h][0], "rule": rule, "title": rmeta.get("title") or rule,
                "control": control, "severity": SEVERITY_NAMES[sev],
                "owner": OWNER_NAMES[owner],
                "first_seen": iso(o_at), "last_seen": iso(last_at), "due": _day_iso(due_day),
                "resolved": iso(c_at) if c_at is not None and c_at < t1 else None,
                "reopened": episode > 1}
        if o_at >= t0:
            opened.append(item)
            per_month[month_of[_dt(o_at).strftime("%Y-%m")]]["opened"] += 1
        if closed_in and c_at is not None and c_why is not None:
            # closed, but not fixed (the rule changed, it left the scope): listed apart,
            # never in a time-to-fix figure
            closed_other.append({**item, "why": CLOSED_WHY.get(int(c_why), "not fixed")})
        elif closed_in and c_at is not None:
            took = round((c_at - o_at) / 86400, 1)
            closed.append({**item, "days_open": took})
            m = per_month[month_of[_dt(c_at).strftime("%Y-%m")]]
            m["closed"] += 1
            m["remediated_days"].append(took)
            mttr["all"]["all"].append(took)
            mttr["by_severity"].setdefault(SEVERITY_NAMES[sev], []).append(took)
            mttr["by_owner"].setdefault(OWNER_NAMES[owner], []).append(took)
        closed_day = _dt(c_at).date().toordinal() if c_at is not None else None
        still_open_at_end = c_at is None or c_at >= t1
        if still_open_at_end:
            open_at_end += 1
            overdue_at_end += as_of_day > due_day
        # a breach: still open the day after its due date, and that day is in the period
        breach_day = due_day + 1
        if (closed_day is None or closed_day > due_day) and \
                start.toordinal() <= breach_day <= min(end_day, today_day):
            month = date.fromordinal(breach_day).strftime("%Y-%m")
            per_month[month_of[month]]["breaches"] += 1
            late_until = closed_day if closed_day is not None else min(end_day, today_day)
            breaches.append({**item, "days_late": max(0, late_until - due_day)})
    for pm in per_month:
        rd = pm.pop("remediated_days")
        pm["mttr_days"] = round(sum(rd) / len(rd), 1) if rd else None
        pm["compliance"] = {c: v["by_month"].get(pm["month"]) for c, v in controls.items()}

    def mean(xs: list[float]) -> dict[str, Any]:
        return {"count": len(xs), "mean_days": round(sum(xs) / len(xs), 1) if xs else None}

    # maintenance timeline per host
    maintenance = []
    ev_rows = hist.db.execute("SELECT host, kind, at, detail FROM events WHERE at >= ? AND "
                              "at < ? ORDER BY at", (t0, t1)).fetchall()
    by_host: dict[int, list[tuple[str, int, str]]] = defaultdict(list)
    for h, kind, at, detail in ev_rows:
        by_host[int(h)].append((EVENT_NAMES[kind], int(at), detail or ""))
    for h in sorted(seen_hosts | set(by_host), key=lambda x: hosts[x][0]):
        events = []
        summary: dict[str, dict[str, Any]] = {}
        previous: dict[str, int] = {}
        for kind, at, detail in by_host.get(h, []):
            control = EVENT_KINDS.get(kind, "")
            reactive = any(c == control and o <= at < cl for c, o, cl in open_windows[h])
            events.append({"kind": kind, "at": iso(at), "detail": detail,
                           "proactive": not reactive})
            s = summary.setdefault(kind, {"count": 0, "proactive": 0, "reactive": 0,
                                          "last": None, "longest_gap_days": None})
            s["count"] += 1
            s["reactive" if reactive else "proactive"] += 1
            s["last"] = iso(at)
            if kind in previous:
                gap = round((at - previous[kind]) / 86400, 1)
                s["longest_gap_days"] = max(s["longest_gap_days"] or 0, gap)
            previous[kind] = at
        findings_opened = sum(1 for it in opened if it["host"] == hosts[h][0])
        maintenance.append({"host": hosts[h][0], "events": events, "summary": summary,
                            "findings_opened": findings_opened})
    return {
        "schema": "undone.period/1",
        "tool": {"name": "undone", "version": __version__},
        "period": {"from": start.isoformat(), "to": end.isoformat(),
                   "generated_at": iso(now_ts)},
        "estate": meta.get("estate") or {},
        "contract_days": days,
        "scans": {"total": len(in_period),
                  "complete": sum(1 for s in in_period if s[3] is not None),
                  "interrupted": sum(1 for s in in_period if s[3] is None),
                  "first": iso(in_period[0][2]) if in_period else None,
                  "last": iso(in_period[-1][2]) if in_period else None},
        "hosts": sorted(hosts[h][0] for h in seen_hosts),
        "controls": controls,
        "months": per_month,
        "opened": sorted(opened, key=lambda i: (i["first_seen"], i["host"], i["rule"])),
        "closed": sorted(closed, key=lambda i: (i["resolved"], i["host"], i["rule"])),
        "mttr": {"all": mean(mttr["all"]["all"]),
                 "by_severity": {s: mean(mttr["by_severity"][s]) for s in SEVERITIES
                                 if s in mttr["by_severity"]},
                 "by_owner": {o: mean(mttr["by_owner"][o]) for o in OWNERS
                              if o in mttr["by_owner"]}},
        "breaches": sorted(breaches, key=lambda i: (i["due"], i["host"], i["rule"])),
        "closed_not_fixed": sorted(closed_other, key=lambda i: (i["resolved"] or "",
                                                                i["host"], i["rule"])),
        "open_at_end": {"total": open_at_end, "overdue": overdue_at_end,
                        "as_of": date.fromordinal(as_of_day).isoformat()},
        "coverage": coverage,
        "maintenance": maintenance,
    }


def _pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d else None


def _months(start: date, end: date) -> list[str]:
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
