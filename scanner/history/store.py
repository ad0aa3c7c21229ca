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
:meth:`History.record` returns these for a host's failing results instead of setting them: the
results evaluation made are never edited (the scan's document builder merges them).

Opening and migrating a file is scanner/history/opening.py; recording a host,
scanner/history/write.py; rebuilding a recorded scan's document, scanner/history/read.py.

Secrets never reach this file: results and facts hold only what the probes read (never password
hashes), and the inventory holds only references.

Every time comes from a ``now`` argument, so tests can simulate a year of scans.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from scanner import __version__
from scanner.errors import InputError
from scanner.history.codes import (
    CODES,
    CODES_MIGRATION,
    CODES_VERSION,
    EVENT_CODES,
    MIGRATIONS,
    OWNER_CODES,
    SEVERITY_CODES,
    STATUS_CODES,
    _unpack,
)
from scanner.history.events import maintenance_events
from scanner.history.opening import (
    TABLES,
    check_file,
    check_migrations,
    check_tables,
    connect_readonly,
    connect_writable,
)
from scanner.history.times import DEFAULT_DAYS, _dt, _parse_time, _ts, due_days, iso, utcnow
from scanner.history.write import Writer
from scanner.result import (
    Dating,
    HistoryInfo,
    HostRecord,
    Result,
    ResultDocument,
    dated,
)

_T = TypeVar("_T")
_P = ParamSpec("_P")


class _HasPath(Protocol):
    path: str


_S = TypeVar("_S", bound=_HasPath)


def _reading(fn: Callable[Concatenate[_S, _P], _T]) -> Callable[Concatenate[_S, _P], _T]:
    """A read of a damaged history is bad input (exit 2, one line), never a crash: SQLite
    errors and rows that do not decode become :class:`InputError`."""

    @functools.wraps(fn)
    def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
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


def _writing(fn: Callable[Concatenate[_S, _P], _T]) -> Callable[Concatenate[_S, _P], _T]:
    """Adding a scan to a damaged history: what SQLite says, and what a stored row that does
    not decode raises, becomes :class:`InputError` (exit 2, one line with the exception's type
    and message, so a mistake of undone's own can still be told apart)."""

    @functools.wraps(fn)
    def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
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
                self.db = connect_readonly(self.path)
                check_migrations(self.db, self.path)
            else:
                self.db = connect_writable(self.path)
            check_tables(self.db, self.path)
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
        self._writer = Writer(self.db)
        self.changes_doc: dict[str, Any] | None = None
        self.previous_doc: ResultDocument | None = None  # the one changes_doc compared with

    # -- set-up ---------------------------------------------------------------------------

    def _close_quietly(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

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
        days = due_days(contract_days)
        started = _parse_time(scan.get("started_at")) or _ts(now or utcnow())
        meta = {"estate": scan.get("estate") or {}, "baselines": scan.get("baselines") or [],
                "days": days, "hosts_planned": hosts_planned,
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
        self._writer.start(int(cur.lastrowid or 0), started, days, doc.get("rules") or {})

    @_writing
    def record(self, rec: HostRecord, results: list[Result],
               now: datetime | None = None) -> dict[str, Dating]:
        """Record one host as it lands (one transaction: scanner/history/write.py) and return
        the dating of its failing results, by rule (``first_seen``, ``due``, ``overdue_days``,
        ``reopened``), for the document's builder to merge: the results are not changed."""
        return self._writer.record(rec, results, now)

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
    def finish(self, doc: ResultDocument, now: datetime | None = None,
               trend_days: int = 366, changes: bool = True) -> None:
        """Mark the scan complete and add ``doc["history"]``: the trend of open and overdue
        items, what changed since the previous state (``since_previous``) and, with
        ``changes``, what changed since the previous complete scan in reports/diff.py's one
        classification (``changes``: its counts; the whole diff is kept in
        :attr:`changes_doc` for notifications, so they say the same)."""
        scan = self._writer.scan
        if scan is None:
            raise RuntimeError("History.finish before History.begin")
        ts = _ts(now or utcnow())
        self.db.execute("UPDATE scans SET finished_at = ?, summary = ? WHERE id = ?",
                        (ts, json.dumps(doc.get("summary") or {}, sort_keys=True), scan))
        doc["history"] = self._history_block(scan, ts, trend_days)
        doc["history"]["since_previous"] = {k: list(v) for k, v in self._writer.since.items()}
        self.changes_doc = None
        previous = doc["history"]["previous_scan"]
        if changes and previous:
            from reports import diff

            prev = self.previous_doc = self.document(previous, changes=False)
            self.changes_doc = diff.build(prev, doc)
            doc["history"]["changes"] = {"previous_at": prev["scan"]["started_at"],
                                         "counts": self.changes_doc["counts"]}

    @_reading
    def _history_block(self, scan: int, ts: int, trend_days: int) -> HistoryInfo:
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
    def document(self, spec: str | None = None, changes: bool = True) -> ResultDocument:
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



def open_history(path: str | None, create: bool = True, readonly: bool = False) -> History:
    """The history at ``path`` (default :func:`default_path`). ``readonly``: for reports;
    nothing is written, and a history on a read-only file system can be read."""
    return History(path or default_path(), create=create, readonly=readonly)


def record_all(history: History, doc: ResultDocument, now: datetime | None = None,
               contract_days: Mapping[str, int] | None = None) -> ResultDocument:
    """Record a finished result document in one go (imports, tests) and return it as a scan
    recorded as it ran would have made it: a new document whose failing results carry their
    dating (:func:`scanner.result.dated`) and which has the ``history`` block; ``doc`` itself
    is not changed."""
    history.begin(doc, contract_days, len(doc["hosts"]), now)
    by_host: dict[str, list[Result]] = defaultdict(list)
    for r in doc["results"]:
        by_host[r["host"]].append(r)
    dates = {h["name"]: history.record(h, by_host.get(h["name"], []), now) for h in doc["hosts"]}
    out: ResultDocument = {**doc, "results": [dated(r, dates.get(r["host"], {}).get(r["rule"]))
                                              for r in doc["results"]]}
    history.finish(out, now)
    return out


# the names the rest of undone (and its tests) read from here; the codes, times, events and
# opening checks live in their own modules of scanner/history/
__all__ = ["CODES", "CODES_MIGRATION", "CODES_VERSION", "DEFAULT_DAYS", "EVENT_CODES",
           "MIGRATIONS", "OWNER_CODES", "SEVERITY_CODES", "STATUS_CODES", "TABLES", "History",
           "check_file", "default_path", "maintenance_events", "open_history", "record_all"]
