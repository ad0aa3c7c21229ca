"""The write path of a history: one host as it lands, in one transaction (:meth:`Writer.record`).

What changed is stored and nothing twice: a (host, rule) pair's status only when it changes,
with its detail (observed value, message, expected state) deduplicated in ``blobs``; findings
open, close (why, when it is not a fix) and reopen; one ``scan_hosts`` row per host with its
counts; the host's pending security updates and maintenance events.

The results given are never changed: what the history knows of each failing result's finding
(``first_seen``, ``due``, ``overdue_days``, ``reopened``: :class:`scanner.result.Dating`) is
returned, by rule, and the one place that builds the result document merges it
(scanner/scan.py, with :func:`scanner.result.dated`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from scanner.history.codes import (
    CLOSED_WHY_CODES,
    EVENT_CODES,
    FAILING,
    HOST_PROFILE,
    OWNER_CODES,
    RESOLVING,
    SEVERITY_CODES,
    STATUS_CODES,
    STATUS_NAMES,
    _canonical,
    _unpack,
)
from scanner.history.events import maintenance_events
from scanner.history.times import DEFAULT_DAYS, _dt, _ts, dating, utcnow
from scanner.result import Dating, HostRecord, Result, RuleDoc

OUT_OF_SCOPE = ("platform", "role", "sections")  # not_applicable reasons that are not fixes


def _detail(r: Result) -> dict[str, Any]:
    """What the history keeps of a result beside its status: observed value, message, expected
    state, owner, its finding in words, waivers and why it does not apply."""
    detail: dict[str, Any] = {"o": r.get("observed"), "m": r.get("message"),
                              "e": r.get("expected"), "ow": r.get("owner")}
    if w := r.get("waiver"):
        detail["waiver"] = w
    if w := r.get("waiver_expired"):
        detail["waiver_expired"] = w
    if r.get("na_reason"):
        detail["nr"] = r["na_reason"]
    if r.get("finding"):
        detail["f"] = r["finding"]
    return detail


class Writer:
    """Adds scans to one open history (:class:`scanner.history.store.History` holds one):
    :meth:`start` a scan, then :meth:`record` each host. Caches the ids of hosts, rules and
    blobs it has written, so a scan of many hosts asks SQLite for each only once."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._host_ids: dict[str, int] = {}
        self._host_info: dict[str, tuple[Any, ...]] = {}
        self._rule_ids: dict[str, int] = {}
        self._rule_quick: dict[str, tuple[Any, ...]] = {}
        self._blob_ids: dict[int, int] = {}
        self.scan: int | None = None
        self.scan_started = 0
        self.days = dict(DEFAULT_DAYS)
        self.rules_doc: dict[str, RuleDoc] = {}
        #: what changed since the previous state, pair by pair, as this scan records them
        self.since: dict[str, list[dict[str, str]]] = {"new": [], "fixed": [], "regressed": []}

    def start(self, scan: int, started: int, days: dict[str, int],
              rules_doc: Mapping[str, RuleDoc]) -> None:
        """A new scan (its row is written): the contract's days and the document's rules."""
        self.scan = scan
        self.scan_started = started
        self.days = days
        self.rules_doc = dict(rules_doc)
        self._rule_quick.clear()
        self.since = {"new": [], "fixed": [], "regressed": []}

    def _host_id(self, rec: HostRecord) -> int:
        name = str(rec["name"])
        info = (rec.get("address"), rec.get("transport"), rec.get("platform"))
        hid = self._host_ids.get(name)
        if hid is not None and self._host_info.get(name) == info:
            return hid
        row = self.db.execute(
            "INSERT INTO hosts (name, address, transport, platform) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET address = excluded.address, "
            "transport = excluded.transport, "
            "platform = COALESCE(excluded.platform, hosts.platform) RETURNING id",
            (name, *info)).fetchone()
        self._host_ids[name] = int(row[0])
        self._host_info[name] = info
        return int(row[0])

    def _rule_id(self, res: Result) -> int:
        rule = str(res["rule"])
        quick = (res.get("title"), res.get("control"), res.get("severity"))
        rid = self._rule_ids.get(rule)
        if rid is not None and self._rule_quick.get(rule) == quick:
            return rid
        extra: Mapping[str, Any] = self.rules_doc.get(rule) or {}
        fields = {"title": quick[0], "control": quick[1], "severity": quick[2],
                  "rationale": extra.get("rationale", ""),
                  "remediation": extra.get("remediation", ""),
                  "references": extra.get("references", {}),
                  "baseline": extra.get("baseline", "")}
        fields.update({k: extra[k] for k in ("problem", "advice") if extra.get(k)})
        meta = json.dumps(fields, sort_keys=True)
        row = self.db.execute(
            "INSERT INTO rules (rule, meta) VALUES (?, ?) ON CONFLICT (rule) DO UPDATE SET "
            "meta = excluded.meta WHERE meta != excluded.meta RETURNING id", (rule, meta)
        ).fetchone()
        if row is None:  # unchanged: RETURNING gives nothing when the update is skipped
            row = self.db.execute("SELECT id FROM rules WHERE rule = ?", (rule,)).fetchone()
        self._rule_ids[rule] = int(row[0])
        self._rule_quick[rule] = quick
        return int(row[0])

    def _blob(self, value: Any) -> int:
        text = _canonical(value)
        digest = int.from_bytes(hashlib.sha256(text).digest()[:8], "big", signed=True)
        bid = self._blob_ids.get(digest)
        if bid is not None:
            return bid
        for row_id, body in self.db.execute("SELECT id, body FROM blobs WHERE digest = ?",
                                            (digest,)):
            if _unpack(body) == json.loads(text):
                self._blob_ids[digest] = int(row_id)
                return int(row_id)
        body = text
        if len(text) > 96:
            packed = zlib.compress(text, 9)
            if len(packed) < len(text):
                body = packed
        cur = self.db.execute("INSERT INTO blobs (digest, body) VALUES (?, ?)", (digest, body))
        bid = int(cur.lastrowid or 0)
        self._blob_ids[digest] = bid
        return bid

    def record(self, rec: HostRecord, results: Sequence[Result],
               now: datetime | None = None) -> dict[str, Dating]:
        """Record one host as it lands (one transaction); return the dating of its failing
        results whose finding is open, by rule (the results are not changed)."""
        if self.scan is None:
            raise RuntimeError("History.record before History.begin")
        scan = self.scan
        ts = _ts(now or utcnow())
        today = _dt(ts).date().toordinal()
        db = self.db
        dated: dict[str, Dating] = {}
        db.execute("BEGIN IMMEDIATE")
        try:
            hid = self._host_id(rec)
            reachable = bool(rec.get("reachable"))
            # An unreachable host has no new state: its results are all "error: host not
            # scanned", which the scan_hosts row records once instead of one change per rule.
            current: dict[int, tuple[int, int | None, int, int | None, int | None]] = {
                int(r[0]): (int(r[1]), r[2], int(r[3]), r[4], r[5])
                for r in db.execute(
                    "SELECT c.rule, c.status, c.finding, c.episodes, f.opened_at, f.due_day "
                    "FROM current c LEFT JOIN findings f ON f.id = c.finding WHERE c.host = ?",
                    (hid,))} if reachable else {}
            counts = dict.fromkeys(STATUS_NAMES, 0)
            overdue = 0
            seen: set[int] = set()
            still_open: list[tuple[int, int, int]] = []
            unreached: list[list[int]] = []  # an unreachable host's rows, kept as they were
            for r in results:
                if not reachable:
                    counts[STATUS_CODES[r["status"]]] += 1
                    unreached.append([self._rule_id(r), STATUS_CODES[r["status"]],
                                      self._blob(_detail(r))])
                    continue
                rid = self._rule_id(r)
                seen.add(rid)
                code = STATUS_CODES[r["status"]]
                counts[code] += 1
                prev_code, finding, episodes, opened_at, due_day = current.get(
                    rid, (None, None, 0, None, None))
                if code != prev_code:
                    db.execute("INSERT OR REPLACE INTO changes (scan, host, rule, status, "
                               "detail) VALUES (?, ?, ?, ?, ?)",
                               (scan, hid, rid, code, self._blob(_detail(r))))
                    pair = {"host": str(rec["name"]), "rule": str(r["rule"])}
                    if code in FAILING and finding is None:
                        episodes += 1
                        opened_at = ts
                        due_day = today + int(self.days.get(r["severity"], 30))
                        cur = db.execute(
                            "INSERT INTO findings (host, rule, episode, severity, owner, "
                            "opened_scan, opened_at, due_day, last_seen_scan, last_seen_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (hid, rid, episodes, SEVERITY_CODES[r["severity"]],
                             OWNER_CODES[r["owner"]], scan, ts, due_day, scan, ts))
                        finding = int(cur.lastrowid or 0)
                        self.since["new" if episodes == 1 else "regressed"].append(pair)
                    elif code in RESOLVING and finding is not None:
                        why = self._closed_why(hid, rid, r)
                        db.execute("UPDATE findings SET closed_scan = ?, closed_at = ?, "
                                   "closed_why = ? WHERE id = ?", (scan, ts, why, finding))
                        finding = opened_at = due_day = None
                        if why is None:
                            self.since["fixed"].append(pair)
                    db.execute("INSERT OR REPLACE INTO current (host, rule, status, finding, "
                               "episodes) VALUES (?, ?, ?, ?, ?)",
                               (hid, rid, code, finding, episodes))
                if code in FAILING and finding is not None and opened_at is not None \
                        and due_day is not None:
                    still_open.append((scan, ts, finding))
                    d = dated[r["rule"]] = dating(opened_at, due_day, episodes,
                                                  code == STATUS_CODES["fail"], today)
                    overdue += d.get("overdue_days", 0) > 0
            for rid, (prev_code, *_) in current.items():
                if rid not in seen and prev_code != STATUS_CODES["absent"]:
                    db.execute("INSERT OR REPLACE INTO changes (scan, host, rule, status, detail)"
                               " VALUES (?, ?, ?, ?, NULL)",
                               (scan, hid, rid, STATUS_CODES["absent"]))
                    db.execute("UPDATE current SET status = ? WHERE host = ? AND rule = ?",
                               (STATUS_CODES["absent"], hid, rid))
            if still_open:
                db.executemany("UPDATE findings SET last_seen_scan = ?, last_seen_at = ? "
                               "WHERE id = ?", still_open)
            error = rec.get("error")
            # what a report shows of the host beside its results (the error, the roles that
            # scoped its rules, its system's name) and, when it was not reached, its rows as the
            # scan gave them; deduplicated like every blob, so a host that stays the same adds
            # nothing from one scan to the next
            profile: dict[str, Any] = {"error": error, "kind": rec.get("error_kind")}
            profile.update({k: v for k in HOST_PROFILE if (v := rec.get(k))})
            system = (rec.get("facts") or {}).get("os.pretty_name")
            if isinstance(system, str):
                profile["system"] = system[:200]
            if not reachable:
                profile["results"] = unreached
            db.execute(
                "INSERT OR REPLACE INTO scan_hosts (scan, host, offset, reachable, error, n_pass,"
                " n_fail, n_error, n_na, n_waived, n_manual, n_overdue) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (scan, hid, max(0, ts - self.scan_started), int(bool(rec.get("reachable"))),
                 self._blob(profile),
                 *(counts[STATUS_CODES[k]] for k in ("pass", "fail", "error", "not_applicable",
                                                     "waived", "manual")),
                 overdue))
            self._record_pending(hid, scan, ts, rec.get("facts") or {})
            events = maintenance_events(rec.get("facts") or {})
            if events:
                db.executemany("INSERT OR IGNORE INTO events (host, kind, at, scan, detail) "
                               "VALUES (?, ?, ?, ?, ?)",
                               [(hid, EVENT_CODES[k], at, scan, d or None)
                                for k, at, d in events])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return dated

    def _closed_why(self, hid: int, rid: int, r: Result) -> int | None:
        """Why a finding closes when it is not a fix (reports/diff.py's classification): the
        rule's check changed since it was recorded failing (1), or it left the scope (2)."""
        if r["status"] == "not_applicable" and r.get("na_reason") in OUT_OF_SCOPE:
            return CLOSED_WHY_CODES["no longer checked"]
        row = self.db.execute("SELECT detail FROM changes WHERE host = ? AND rule = ? AND "
                              "scan < ? AND detail IS NOT NULL ORDER BY scan DESC LIMIT 1",
                              (hid, rid, self.scan)).fetchone()
        if row is not None:
            body = self.db.execute("SELECT body FROM blobs WHERE id = ?", (row[0],)).fetchone()
            before = _unpack(body[0]).get("e") if body else None
            if before is not None and before != r.get("expected"):
                return CLOSED_WHY_CODES["rule changed"]
        return None

    def _record_pending(self, hid: int, scan: int, ts: int, facts: Mapping[str, Any]) -> None:
        """Keep when each pending security update was first seen (inside record's
        transaction); nothing when the host's pending list was not read this time."""
        from scanner.engine.dating import security_keys

        keys = security_keys(facts)
        if keys is None:
            return
        db = self.db
        row = db.execute("SELECT last_at FROM update_lists WHERE host = ?", (hid,)).fetchone()
        before = int(row[0]) if row else None
        known = {str(r[0]) for r in db.execute(
            "SELECT key FROM pending_updates WHERE host = ?", (hid,))}
        gone = known - set(keys)
        if gone:
            db.executemany("DELETE FROM pending_updates WHERE host = ? AND key = ?",
                           [(hid, k) for k in sorted(gone)])
        new = [k for k in keys if k not in known]
        if new:
            db.executemany("INSERT INTO pending_updates (host, key, first_scan, first_at, "
                           "before_at) VALUES (?, ?, ?, ?, ?)",
                           [(hid, k, scan, ts, before) for k in new])
        db.execute("INSERT INTO update_lists (host, last_scan, last_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (host) DO UPDATE SET last_scan = excluded.last_scan, "
                   "last_at = excluded.last_at", (hid, scan, ts))
