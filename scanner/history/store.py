"""History: every scan recorded as it runs, host by host, and the life of each finding.

A SQLite file (stdlib ``sqlite3``, WAL, one transaction per host), so a scan that is killed
halfway keeps every host it had finished. Nothing is stored twice: a result is written only when
the status of its (host, rule) pair changes, with the observed value and message of that moment;
each scan adds one small summary row per host. A year of daily scans of 1,000 hosts × 100 rules
stays small (``benchmarks/history_size.py``; the figure is in ``docs/benchmarks.md``).

Tables (migrations are named and recorded in ``migrations``)::

    scans        one row per scan: uid, start, end (NULL: interrupted), estate, baselines, contract
    hosts, rules small dictionaries (latest address and platform; latest title, control, severity)
    scan_hosts   one row per host per scan: when it landed, reachable, counts by status, overdue
    changes      one row per status change of a (host, rule) pair, pointing at its detail
    blobs        observed value + message + expected of a change, deduplicated, zlib when large
    current      the latest status of each pair, its open finding and how many it has had
    findings     one row per failing episode: opened, due, last seen, closed; episode > 1: reopened
    events       maintenance the hosts themselves reported (packages upgraded, backups taken,
                 malware signatures updated), once each
    codes        what each stored status, severity, owner, event kind and closing reason means
                 (the literal, versioned maps of :data:`CODES`, checked on every open)

The life of a finding: it opens when a pair first fails (``fail``, or ``waived``: a waiver hides
nothing); ``pass`` or ``not_applicable`` closes it (resolved); ``error``, ``manual`` or a rule
that was not evaluated leave it as it was, because unknown is not fixed. A later failure opens a
new episode, which is a reopened finding. ``first_seen`` is when the current episode opened,
``due`` is ``first_seen`` plus the contract's days for the severity (:data:`DEFAULT_DAYS` when
the contract says nothing), and ``overdue_days`` is how many whole days the scan is past ``due``.

Secrets never reach this file: results and facts hold only what the probes read (never password
hashes), and the inventory holds only references.

Every time comes from a ``now`` argument, so tests can simulate a year of scans.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import stat
import urllib.parse
import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from scanner import __version__
from scanner.errors import InputError
from scanner.history.codes import (
    CLOSED_WHY_CODES,
    CODES,
    CODES_MIGRATION,
    CODES_VERSION,
    EVENT_CODES,
    FAILING,
    HOST_PROFILE,
    MIGRATIONS,
    NOT_NEEDED_TO_READ,
    OWNER_CODES,
    RESOLVING,
    SEVERITY_CODES,
    STATUS_CODES,
    STATUS_NAMES,
    _canonical,
    _unpack,
)
from scanner.history.events import (
    maintenance_events,
)
from scanner.history.times import (
    DEFAULT_DAYS,
    _day_iso,
    _dt,
    _parse_time,
    _ts,
    due_days,
    iso,
    utcnow,
)

_T = TypeVar("_T")

OUT_OF_SCOPE = ("platform", "role", "sections")  # not_applicable reasons that are not fixes


def _tables() -> dict[str, tuple[str, ...]]:
    """Every table the migrations make, with its columns (what a usable history holds)."""
    db = sqlite3.connect(":memory:")
    try:
        for _, sql in MIGRATIONS:
            for stmt in sql.split(";"):
                if stmt.strip():
                    db.execute(stmt)
        return {t: tuple(r[1] for r in db.execute(f"PRAGMA table_info({t})"))
                for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


TABLES = _tables()


def _reading(fn: Callable[..., _T]) -> Callable[..., _T]:
    """A read of a damaged history is bad input (exit 2, one line), never a crash: SQLite
    errors and rows that do not decode become :class:`InputError`."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> _T:
        try:
            return fn(self, *args, **kwargs)
        except InputError:
            raise
        except (sqlite3.Error, ValueError, KeyError, TypeError, IndexError, zlib.error,
                OverflowError, RecursionError, AttributeError, OSError) as e:  # OSError: a
            # time no clock can show (EOVERFLOW), or the file failing under the read
            raise InputError(f"{self.path}: damaged history: cannot read it "
                             f"({type(e).__name__}: {str(e)[:120]})") from None
    return wrapper


def _writing(fn: Callable[..., _T]) -> Callable[..., _T]:
    """Adding a scan to a damaged history: what SQLite says, and what a stored row that does
    not decode raises, becomes :class:`InputError` (exit 2, one line with the exception's type
    and message, so a mistake of undone's own can still be told apart)."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> _T:
        try:
            return fn(self, *args, **kwargs)
        except (sqlite3.DatabaseError, zlib.error, ValueError, TypeError, KeyError, IndexError,
                OverflowError) as e:  # what a stored row that does not decode raises
            raise InputError(f"{self.path}: damaged history: cannot add this scan to it "
                             f"({type(e).__name__}: {str(e)[:120]})") from None
    return wrapper


def default_path() -> str:
    """``$UNDONE_DB``, else ``$XDG_DATA_HOME/undone/history.sqlite`` (``~/.local/share``)."""
    env = os.environ.get("UNDONE_DB")
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                          "share")
    return os.path.join(base, "undone", "history.sqlite")


def _detail(r: Mapping[str, Any]) -> dict[str, Any]:
    """What the history keeps of a result beside its status: observed value, message, expected
    state, owner, its finding in words, waivers and why it does not apply."""
    detail = {"o": r.get("observed"), "m": r.get("message"), "e": r.get("expected"),
              "ow": r.get("owner")}
    for k in ("waiver", "waiver_expired"):
        if r.get(k):
            detail[k] = r[k]
    if r.get("na_reason"):
        detail["nr"] = r["na_reason"]
    if r.get("finding"):
        detail["f"] = r["finding"]
    return detail


class History:
    """One history file. Write with :meth:`begin`, :meth:`record` (per host), :meth:`finish`;
    read with :meth:`scans`, :meth:`document` and :meth:`period`."""

    def __init__(self, path: str | os.PathLike[str], create: bool = True,
                 readonly: bool = False) -> None:
        self.path = str(path)
        p = Path(self.path)
        self.readonly = readonly
        try:
            if not p.exists():
                if not create or readonly:
                    raise InputError(f"{self.path}: no history here yet; run `undone scan` first "
                                     "or give --db")
                p.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                os.close(fd)
            check_file(self.path)
            if readonly:
                self.db = _connect_readonly(self.path)
                self._check_migrations()
            else:
                self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("PRAGMA foreign_keys=OFF")
                self._migrate()
                ok = self.db.execute("PRAGMA quick_check(1)").fetchone()
                if not ok or ok[0] != "ok":
                    raise sqlite3.DatabaseError(f"quick_check: {ok[0] if ok else 'no answer'}")
            self._check_tables()
        except (sqlite3.Error, ValueError) as e:  # ValueError: text that is not UTF-8
            self._close_quietly()
            raise InputError(f"{self.path}: not a usable undone history ({e}); give another "
                             "--db") from None
        except OSError as e:
            self._close_quietly()
            raise InputError(f"{self.path}: cannot open the history: {e.strerror or e}") from None
        except InputError:
            self._close_quietly()
            raise
        self._host_ids: dict[str, int] = {}
        self._host_info: dict[str, tuple[Any, ...]] = {}
        self._rule_ids: dict[str, int] = {}
        self._rule_quick: dict[str, tuple[Any, ...]] = {}
        self._blob_ids: dict[int, int] = {}
        self._scan: int | None = None
        self._scan_started = 0
        self._days = dict(DEFAULT_DAYS)
        self._rules_doc: dict[str, Any] = {}
        self.since: dict[str, list[dict[str, str]]] = {"new": [], "fixed": [], "regressed": []}
        self.changes_doc: dict[str, Any] | None = None
        self.previous_doc: dict[str, Any] | None = None  # the one changes_doc compared with

    # -- set-up ---------------------------------------------------------------------------

    def _close_quietly(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def _check_migrations(self) -> None:
        """Read-only: the file must already be at this undone's schema (nothing is migrated)."""
        applied = {r[0] for r in self.db.execute("SELECT name FROM migrations")}
        known = [name for name, _ in MIGRATIONS]
        newer = sorted(applied - set(known))
        if newer:
            raise InputError(f"{self.path}: written by a newer undone (migration {newer[-1]}); "
                             "use that version, or another --db")
        missing = [n for n in known if n not in applied and n not in NOT_NEEDED_TO_READ]
        if missing:
            raise InputError(f"{self.path}: the history needs upgrading ({missing[0]}), which a "
                             "read-only file does not allow; run `undone scan` on it where it can "
                             "be written")

    def _check_tables(self) -> None:
        """Every table and column this undone reads is there (a damaged or foreign file is
        refused here, not halfway through a report)."""
        recorded = self._codes_recorded()
        for table, cols in TABLES.items():
            if table == "codes" and not recorded:
                continue  # read-only, from before the table: codes version 1 (_check_codes)
            have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
            lost = [c for c in cols if c not in have]
            if lost:
                raise InputError(f"{self.path}: not a usable undone history (table {table} "
                                 f"{'is missing' if not have else 'lacks ' + lost[0]}); give "
                                 "another --db")
        if recorded:
            self._check_codes()

    def _codes_recorded(self) -> bool:
        """Whether the file records its codes (it has had CODES_MIGRATION): always, once a
        writable open has migrated it."""
        return self.db.execute("SELECT 1 FROM migrations WHERE name = ?",
                               (CODES_MIGRATION,)).fetchone() is not None

    def _check_codes(self) -> None:
        """The file's ``codes`` table says what its stored integers mean: each must mean the
        same here (CODES), or every report of it would be wrong; refused, never misread."""
        rows = self.db.execute("SELECT kind, code, name, version FROM codes").fetchall()
        seen: dict[str, set[int]] = defaultdict(set)
        for kind, code, name, version in rows:
            ours = CODES.get(kind, {})
            here = {c: n for n, c in ours.items()}.get(code)
            if isinstance(version, int) and version > CODES_VERSION and here is None:
                raise InputError(f"{self.path}: written by a newer undone (stored codes "
                                 f"version {version}: {kind} {code} is {name!r}); use that "
                                 "version, or another --db")
            if here != name:
                raise InputError(f"{self.path}: not a history this undone can read: its stored "
                                 f"{kind} code {code} means {name!r}, here "
                                 f"{'nothing' if here is None else repr(here)}; give another "
                                 "--db")
            seen[kind].add(code)
        for kind, codes in CODES.items():
            lost = sorted(set(codes.values()) - seen[kind])
            if lost:
                raise InputError(f"{self.path}: not a usable undone history (its codes table "
                                 f"lacks {kind} {lost[0]}); give another --db")

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS migrations "
                        "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        applied = {r[0] for r in self.db.execute("SELECT name FROM migrations")}
        known = [name for name, _ in MIGRATIONS]
        newer = sorted(applied - set(known))
        if newer:
            raise InputError(f"{self.path}: written by a newer undone (migration {newer[-1]}); "
                             "use that version, or another --db")
        for name, sql in MIGRATIONS:
            if name in applied:
                continue
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if self.db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                    self.db.execute("ROLLBACK")
                    continue
                for stmt in sql.split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
                self.db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                                (name, iso(_ts(utcnow()))))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------

    @_writing
    def begin(self, doc: Mapping[str, Any], contract_days: Mapping[str, int] | None = None,
              hosts_planned: int | None = None, now: datetime | None = None) -> None:
        """Record the start of a scan (its header; ``doc`` is the result document so far)."""
        scan = doc["scan"]
        self._days = due_days(contract_days)
        self._rules_doc = dict(doc.get("rules") or {})
        self._rule_quick.clear()
        started = _parse_time(scan.get("started_at")) or _ts(now or utcnow())
        meta = {"estate": scan.get("estate") or {}, "baselines": scan.get("baselines") or [],
                "days": self._days, "hosts_planned": hosts_planned,
                "tool": (doc.get("tool") or {}).get("version", __version__)}
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.execute(
                "INSERT INTO scans (uid, started_at, inventory, meta) VALUES (?, ?, ?, ?)",
                (scan["id"], started, scan.get("inventory"), json.dumps(meta, sort_keys=True)))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self._scan = cur.lastrowid
        self._scan_started = started
        self.since = {"new": [], "fixed": [], "regressed": []}

    def _host_id(self, rec: Mapping[str, Any]) -> int:
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

    def _rule_id(self, res: Mapping[str, Any]) -> int:
        rule = str(res["rule"])
        quick = (res.get("title"), res.get("control"), res.get("severity"))
        rid = self._rule_ids.get(rule)
        if rid is not None and self._rule_quick.get(rule) == quick:
            return rid
        extra = self._rules_doc.get(rule) or {}
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

    @_writing
    def record(self, rec: Mapping[str, Any], results: list[dict[str, Any]],
               now: datetime | None = None) -> None:
        """Record one host as it lands (one transaction), and set ``first_seen``, ``due``,
        ``overdue_days`` (and ``reopened``) on its failing results, in place."""
        if self._scan is None:
            raise RuntimeError("History.record before History.begin")
        scan = self._scan
        ts = _ts(now or utcnow())
        today = _dt(ts).date().toordinal()
        db = self.db
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
                        due_day = today + int(self._days.get(r["severity"], 30))
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
                    r["first_seen"] = iso(opened_at)
                    r["due"] = _day_iso(due_day)
                    if code == STATUS_CODES["fail"]:
                        r["overdue_days"] = max(0, today - due_day)
                        overdue += r["overdue_days"] > 0
                    if episodes > 1:
                        r["reopened"] = True
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
            profile.update({k: rec[k] for k in HOST_PROFILE if rec.get(k)})
            system = (rec.get("facts") or {}).get("os.pretty_name")
            if isinstance(system, str):
                profile["system"] = system[:200]
            if not reachable:
                profile["results"] = unreached
            db.execute(
                "INSERT OR REPLACE INTO scan_hosts (scan, host, offset, reachable, error, n_pass,"
                " n_fail, n_error, n_na, n_waived, n_manual, n_overdue) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (scan, hid, max(0, ts - self._scan_started), int(bool(rec.get("reachable"))),
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

    def _closed_why(self, hid: int, rid: int, r: Mapping[str, Any]) -> int | None:
        """Why a finding closes when it is not a fix (reports/diff.py's classification): the
        rule's check changed since it was recorded failing (1), or it left the scope (2)."""
        if r["status"] == "not_applicable" and r.get("na_reason") in OUT_OF_SCOPE:
            return CLOSED_WHY_CODES["no longer checked"]
        row = self.db.execute("SELECT detail FROM changes WHERE host = ? AND rule = ? AND "
                              "scan < ? AND detail IS NOT NULL ORDER BY scan DESC LIMIT 1",
                              (hid, rid, self._scan)).fetchone()
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

    @_reading
    def updates_seen(self, host: str) -> Any:
        """What this history knows of ``host``'s pending security updates, for dating them
        (a :class:`scanner.engine.dating.Seen`), or None for a host it has never read a list of."""
        from scanner.engine.dating import Seen

        row = self.db.execute("SELECT u.last_at, u.host FROM update_lists u JOIN hosts h "
                              "ON h.id = u.host WHERE h.name = ?", (host,)).fetchone()
        if row is None:
            return None
        first = {str(k): (_dt(int(f)), _dt(int(b)) if b is not None else None)
                 for k, f, b in self.db.execute(
                     "SELECT key, first_at, before_at FROM pending_updates WHERE host = ?",
                     (int(row[1]),))}
        return Seen(last_at=_dt(int(row[0])), first=first)

    @_writing
    def finish(self, doc: dict[str, Any], now: datetime | None = None,
               trend_days: int = 366, changes: bool = True) -> None:
        """Mark the scan complete and add ``doc["history"]``: the trend of open and overdue
        items, what changed since the previous state (``since_previous``) and, with
        ``changes``, what changed since the previous complete scan in reports/diff.py's one
        classification (``changes``: its counts; the whole diff is kept in
        :attr:`changes_doc` for notifications, so they say the same)."""
        if self._scan is None:
            raise RuntimeError("History.finish before History.begin")
        ts = _ts(now or utcnow())
        self.db.execute("UPDATE scans SET finished_at = ?, summary = ? WHERE id = ?",
                        (ts, json.dumps(doc.get("summary") or {}, sort_keys=True), self._scan))
        doc["history"] = self._history_block(self._scan, ts, trend_days)
        doc["history"]["since_previous"] = {k: list(v) for k, v in self.since.items()}
        self.changes_doc = None
        previous = doc["history"]["previous_scan"]
        if changes and previous:
            from reports import diff

            prev = self.previous_doc = self.document(previous, changes=False)
            self.changes_doc = diff.build(prev, doc)
            doc["history"]["changes"] = {"previous_at": prev["scan"]["started_at"],
                                         "counts": self.changes_doc["counts"]}

    @_reading
    def _history_block(self, scan: int, ts: int, trend_days: int) -> dict[str, Any]:
        prev = self.db.execute(
            "SELECT uid FROM scans WHERE id < ? AND finished_at IS NOT NULL ORDER BY id DESC "
            "LIMIT 1", (scan,)).fetchone()
        rows = self.db.execute(
            "SELECT s.uid, s.started_at, s.finished_at IS NOT NULL, COUNT(sh.host), "
            "SUM(sh.n_fail), SUM(sh.n_overdue) FROM scans s JOIN scan_hosts sh ON sh.scan = s.id "
            "WHERE s.id <= ? AND s.started_at >= ? GROUP BY s.id ORDER BY s.id",
            (scan, ts - trend_days * 86400)).fetchall()
        trend = [{"scan": uid, "at": iso(at), "complete": bool(done),
                  "hosts": n, "open": int(f or 0), "overdue": int(o or 0)}
                 for uid, at, done, n, f, o in rows]
        return {"previous_scan": prev[0] if prev else None, "trend": trend}

    # -- reading ----------------------------------------------------------------------------

    @_reading
    def scans(self) -> list[dict[str, Any]]:
        """Every scan, oldest first, with host and failure counts."""
        out = []
        for sid, uid, started, finished, summary, hosts, fails in self.db.execute(
                "SELECT s.id, s.uid, s.started_at, s.finished_at, s.summary, "
                "(SELECT COUNT(*) FROM scan_hosts WHERE scan = s.id), "
                "(SELECT SUM(n_fail) FROM scan_hosts WHERE scan = s.id) "
                "FROM scans s ORDER BY s.id"):
            out.append({"id": uid, "started_at": iso(started), "finished_at": iso(finished),
                        "complete": finished is not None, "hosts": hosts, "fail": fails or 0,
                        "row": sid,
                        "exit_code": (json.loads(summary) or {}).get("exit_code")
                        if summary else None})
        return out

    @_reading
    def resolve(self, spec: str | None) -> int:
        """A scan's row id from its uid, a unique prefix, ``latest`` or ``previous``."""
        if spec is None or spec in ("", "latest", "previous"):
            rows = self.db.execute("SELECT id FROM scans ORDER BY id DESC LIMIT 2").fetchall()
            want = 1 if spec == "previous" else 0
            if len(rows) <= want:
                raise InputError(f"{self.path}: no {'previous ' if want else ''}scan in the "
                                 "history")
            return int(rows[want][0])
        rows = self.db.execute("SELECT id, uid FROM scans WHERE uid = ? OR uid LIKE ? ESCAPE '\\'",
                               (spec, spec.replace("\\", "\\\\").replace("%", "\\%")
                                .replace("_", "\\_") + "%")).fetchall()
        exact = [r for r in rows if r[1] == spec]
        if exact:
            return int(exact[0][0])
        if len(rows) == 1:
            return int(rows[0][0])
        if not rows:
            raise InputError(f"{self.path}: no scan {spec!r} in the history "
                             "(`undone report --list` shows them)")
        raise InputError(f"{self.path}: {spec!r} matches {len(rows)} scans; give more of the id")

    def _blob_value(self, bid: int) -> Any:
        row = self.db.execute("SELECT body FROM blobs WHERE id = ?", (bid,)).fetchone()
        return _unpack(row[0]) if row else {}

    def _rules(self) -> dict[int, tuple[str, dict[str, Any]]]:
        return {int(i): (rule, json.loads(meta))
                for i, rule, meta in self.db.execute("SELECT id, rule, meta FROM rules")}

    def _hosts(self) -> dict[int, tuple[str, str | None, str | None, str | None]]:
        return {int(i): (n, a, t, p) for i, n, a, t, p in
                self.db.execute("SELECT id, name, address, transport, platform FROM hosts")}

    @_reading
    def document(self, spec: str | None = None, changes: bool = True) -> dict[str, Any]:
        """The result document of a recorded scan, rebuilt (scanner/history/read.py)."""
        from scanner.history import read

        return read.document(self, spec, changes)

    # -- the contract-period report ---------------------------------------------------------

    @_reading
    def period(self, start: date | None = None, end: date | None = None,
               now: datetime | None = None) -> dict[str, Any]:
        """The contract-period document (``undone.period/1``): scanner/history/period.py."""
        from scanner.history import period as period_mod

        return period_mod.period(self, start, end, now)



def check_file(path: str) -> None:
    """A history is a regular file (a link to one is followed): never a device or a FIFO."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a history file (it is "
                         f"{'a folder' if stat.S_ISDIR(st.st_mode) else 'not a regular file'});"
                         " give --db a file")


def _connect_readonly(path: str) -> sqlite3.Connection:
    """Open for reading only, never writing a byte: ``mode=ro``; where that cannot read (a
    history in WAL mode on a read-only file system has no ``-shm`` to share), ``immutable=1``,
    which reads the file as it is, unless a ``-wal`` file holds changes that it would miss."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        db.close()
    wal = f"{path}-wal"
    if os.path.exists(wal) and os.path.getsize(wal) > 0:  # immutable=1 would not read it
        raise InputError(f"{path}: its latest changes are in {wal}, which SQLite cannot read "
                         "on a read-only file system without its -shm file; copy the history "
                         "(all its files) somewhere writable and give that as --db")
    db = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None)
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        db.close()
        raise
    return db


def open_history(path: str | None, create: bool = True, readonly: bool = False) -> History:
    """The history at ``path`` (default :func:`default_path`). ``readonly``: for reports;
    nothing is written, and a history on a read-only file system can be read."""
    return History(path or default_path(), create=create, readonly=readonly)


def record_all(history: History, doc: dict[str, Any], now: datetime | None = None,
               contract_days: Mapping[str, int] | None = None) -> None:
    """Record a finished result document in one go (imports, tests)."""
    history.begin(doc, contract_days, len(doc["hosts"]), now)
    by_host: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in doc["results"]:
        by_host[r["host"]].append(r)
    for h in doc["hosts"]:
        history.record(h, by_host.get(h["name"], []), now)
    history.finish(doc, now)

