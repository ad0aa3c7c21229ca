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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from scanner import __version__, clock
from scanner.errors import InputError

_T = TypeVar("_T")

DEFAULT_DAYS: dict[str, int] = {"critical": 14, "high": 14, "medium": 30, "low": 90, "info": 180}

# -- the stored codes ------------------------------------------------------------------------
# A stored status, severity, owner, maintenance kind and reason a finding closed is a small
# integer. What each integer means is written here, literally: never derived from the order of
# a tuple, so reordering a vocabulary anywhere cannot change the meaning of a stored row. A code
# is never renumbered or reused; a new name takes the next free number in a new codes version,
# added by a new migration that inserts its rows into the file's own ``codes`` table (0004 holds
# version 1). Opening a file checks its ``codes`` table against these maps (_check_codes), so a
# file written with other codes is refused rather than misread. Version 1 is also the encoding
# of every history written before the table existed (undone 0.2.0 numbered its tuples in exactly
# this order; tests/fixtures/history/ holds such a file and what it must read as).
CODES_VERSION = 1
STATUS_CODES: Mapping[str, int] = MappingProxyType({
    "pass": 0, "fail": 1, "error": 2, "not_applicable": 3, "waived": 4, "manual": 5,
    "absent": 6})
SEVERITY_CODES: Mapping[str, int] = MappingProxyType({
    "critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4})
OWNER_CODES: Mapping[str, int] = MappingProxyType({"provider": 0, "client": 1, "shared": 2})
EVENT_CODES: Mapping[str, int] = MappingProxyType({"patch": 0, "backup": 1, "signatures": 2})
CLOSED_WHY_CODES: Mapping[str, int] = MappingProxyType({"rule changed": 1,
                                                       "no longer checked": 2})
# each kind of code: its map, and the table.column that stores it
CODES: Mapping[str, Mapping[str, int]] = MappingProxyType({
    "status": STATUS_CODES, "severity": SEVERITY_CODES, "owner": OWNER_CODES,
    "event": EVENT_CODES, "closed_why": CLOSED_WHY_CODES})
CODES_MIGRATION = "0004_codes_v1"  # the migration that records version 1 in the file


def _names(codes: Mapping[str, int]) -> Mapping[int, str]:
    names = {code: name for name, code in codes.items()}
    if len(names) != len(codes):
        raise AssertionError("two names share a stored code")
    return MappingProxyType(names)


STATUS_NAMES = _names(STATUS_CODES)
SEVERITY_NAMES = _names(SEVERITY_CODES)
OWNER_NAMES = _names(OWNER_CODES)
EVENT_NAMES = _names(EVENT_CODES)
CLOSED_WHY = _names(CLOSED_WHY_CODES)
N_STATUS = max(STATUS_NAMES) + 1  # size of a list of counts indexed by status code

FAILING = frozenset((STATUS_CODES["fail"], STATUS_CODES["waived"]))
RESOLVING = frozenset((STATUS_CODES["pass"], STATUS_CODES["not_applicable"]))
# the order reports list severities and owners in (presentation only: nothing stored follows it)
SEVERITIES = ("critical", "high", "medium", "low", "info")
OWNERS = ("provider", "client", "shared")
CONTROLS = (
    "firewalls", "secure-configuration", "security-update-management", "user-access-control",
    "malware-protection", "backup", "asset-management",
)

# Maintenance a host reports about itself, and the control each kind serves.
EVENT_KINDS = {"patch": "security-update-management", "backup": "backup",
               "signatures": "malware-protection"}
# Facts holding the time of a maintenance event, by kind (see maintenance_events).
EVENT_FACTS = {
    "patch": ("patch.last_upgrade_at",),
    "backup": ("backup.last_success_at", "backup.last_snapshot_at"),
    "signatures": ("av.last_update_at", "clamav.last_update_at"),
}
EVENT_FALLBACK = {"signatures": ("av.signature_date", "clamav.signature_date")}
EVENT_LISTS = {  # list facts: entries {time key: ...}, one event each
    "backup.repositories": ("backup", "last_success_at"),
    "av.products": ("signatures", "last_update_at"),
}

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("0001_initial", """
        CREATE TABLE scans (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            started_at INTEGER NOT NULL,
            finished_at INTEGER,
            inventory TEXT,
            meta TEXT NOT NULL,
            summary TEXT
        );
        CREATE TABLE hosts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            address TEXT,
            transport TEXT,
            platform TEXT
        );
        CREATE TABLE rules (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL UNIQUE,
            meta TEXT NOT NULL
        );
        CREATE TABLE blobs (
            id INTEGER PRIMARY KEY,
            digest INTEGER NOT NULL,
            body BLOB NOT NULL
        );
        CREATE INDEX blobs_digest ON blobs (digest);
        CREATE TABLE scan_hosts (
            scan INTEGER NOT NULL,
            host INTEGER NOT NULL,
            offset INTEGER NOT NULL,
            reachable INTEGER NOT NULL,
            error INTEGER,
            n_pass INTEGER NOT NULL,
            n_fail INTEGER NOT NULL,
            n_error INTEGER NOT NULL,
            n_na INTEGER NOT NULL,
            n_waived INTEGER NOT NULL,
            n_manual INTEGER NOT NULL,
            n_overdue INTEGER NOT NULL,
            PRIMARY KEY (scan, host)
        ) WITHOUT ROWID;
        CREATE TABLE changes (
            scan INTEGER NOT NULL,
            host INTEGER NOT NULL,
            rule INTEGER NOT NULL,
            status INTEGER NOT NULL,
            detail INTEGER,
            PRIMARY KEY (scan, host, rule)
        ) WITHOUT ROWID;
        CREATE TABLE current (
            host INTEGER NOT NULL,
            rule INTEGER NOT NULL,
            status INTEGER NOT NULL,
            finding INTEGER,
            episodes INTEGER NOT NULL,
            PRIMARY KEY (host, rule)
        ) WITHOUT ROWID;
        CREATE TABLE findings (
            id INTEGER PRIMARY KEY,
            host INTEGER NOT NULL,
            rule INTEGER NOT NULL,
            episode INTEGER NOT NULL,
            severity INTEGER NOT NULL,
            owner INTEGER NOT NULL,
            opened_scan INTEGER NOT NULL,
            opened_at INTEGER NOT NULL,
            due_day INTEGER NOT NULL,
            last_seen_scan INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL,
            closed_scan INTEGER,
            closed_at INTEGER
        );
        CREATE TABLE events (
            host INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            at INTEGER NOT NULL,
            scan INTEGER NOT NULL,
            detail TEXT,
            PRIMARY KEY (at, host, kind)
        ) WITHOUT ROWID
    """),
    # When undone first saw each pending security update (scanner/dating.py, the "history"
    # basis): one row per update still pending (deleted once it is not), with when the host's
    # pending list had last been read before it appeared (NULL: it was pending at the first
    # read, so its arrival was not seen); and per host when its list was last read.
    ("0002_pending_updates", """
        CREATE TABLE pending_updates (
            host INTEGER NOT NULL,
            key TEXT NOT NULL,
            first_scan INTEGER NOT NULL,
            first_at INTEGER NOT NULL,
            before_at INTEGER,
            PRIMARY KEY (host, key)
        ) WITHOUT ROWID;
        CREATE TABLE update_lists (
            host INTEGER PRIMARY KEY,
            last_scan INTEGER NOT NULL,
            last_at INTEGER NOT NULL
        )
    """),
    # Why a finding closed, when it was not a fix (reports/diff.py's classification): 1 the
    # rule's check changed (a threshold in the baseline), 2 it left the scope (not_applicable
    # for its platform, role or sections). NULL: fixed. Time-to-fix figures count fixes only.
    ("0003_finding_closed_why", """
        ALTER TABLE findings ADD COLUMN closed_why INTEGER
    """),
    # What each stored code means (codes version 1, the maps above), kept in the file itself so
    # that it says how to read it. Rows are only ever added, by later codes versions.
    (CODES_MIGRATION, """
        CREATE TABLE codes (
            kind TEXT NOT NULL,
            code INTEGER NOT NULL,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (kind, code)
        ) WITHOUT ROWID;
        INSERT INTO codes (kind, code, name, version) VALUES
            ('status', 0, 'pass', 1), ('status', 1, 'fail', 1), ('status', 2, 'error', 1),
            ('status', 3, 'not_applicable', 1), ('status', 4, 'waived', 1),
            ('status', 5, 'manual', 1), ('status', 6, 'absent', 1),
            ('severity', 0, 'critical', 1), ('severity', 1, 'high', 1),
            ('severity', 2, 'medium', 1), ('severity', 3, 'low', 1), ('severity', 4, 'info', 1),
            ('owner', 0, 'provider', 1), ('owner', 1, 'client', 1), ('owner', 2, 'shared', 1),
            ('event', 0, 'patch', 1), ('event', 1, 'backup', 1), ('event', 2, 'signatures', 1),
            ('closed_why', 1, 'rule changed', 1), ('closed_why', 2, 'no longer checked', 1)
    """),
)
# Migrations a read-only reader can do without: a file from before CODES_MIGRATION was written
# with codes version 1 (what the migration would record), so it reads as it is.
NOT_NEEDED_TO_READ = frozenset((CODES_MIGRATION,))
OUT_OF_SCOPE = ("platform", "role", "sections")  # not_applicable reasons that are not fixes
HOST_PROFILE = ("roles", "roles_inferred", "roles_inferred_from", "roles_source", "owner")


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


def due_days(contract_days: Mapping[str, int] | None) -> dict[str, int]:
    """Days allowed per severity: the contract's, and :data:`DEFAULT_DAYS` for the rest."""
    days = dict(DEFAULT_DAYS)
    days.update(contract_days or {})
    return days


def utcnow() -> datetime:
    return clock.now()


def _ts(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def iso(ts: int | None) -> str | None:
    return None if ts is None else _dt(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_iso(day: int | None) -> str | None:
    return None if day is None else date.fromordinal(day).isoformat()


def _parse_time(value: Any) -> int | None:
    """An ISO 8601 date or date-time (UTC when no zone) as epoch seconds, or None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            return _ts(datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC))
        return _ts(datetime.fromisoformat(text))
    except ValueError:
        return None


def parse_scan_time(value: str) -> int:
    ts = _parse_time(value)
    if ts is None:
        raise ValueError(f"not an ISO 8601 time: {value!r}")
    return ts


def maintenance_events(facts: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """(kind, when, detail) of the maintenance a host's facts report, each once.

    ``patch``: each run in ``patch.recent`` that upgraded packages (installs and removals are
    not maintenance), and ``patch.last_upgrade_at``.
    ``backup``: ``backup.last_success_at`` (and each repository's in ``backup.repositories``).
    ``signatures``: ``av.last_update_at`` (each product's in ``av.products``); when no update
    time is known, ``av.signature_date``, the date of the signatures in use.
    """
    out: dict[tuple[str, int], str] = {}
    recent = facts.get("patch.recent")
    if isinstance(recent, list):
        for run in recent:
            if not isinstance(run, dict):
                continue
            at = _parse_time(run.get("at"))
            upgraded = run.get("upgraded")
            counts = isinstance(upgraded, int) and upgraded > 0
            # a patch run is an upgrade (probes/posix/patch_history.py says which counted);
            # dnf's runs carry no per-action count
            if at is not None and (run.get("counted") is True or counts):
                out[("patch", at)] = (f"{upgraded} packages upgraded" if counts
                                      else "packages upgraded")
    for kind, names in EVENT_FACTS.items():
        found = False
        for name in names + EVENT_FALLBACK.get(kind, ()):
            if found and name in EVENT_FALLBACK.get(kind, ()):
                break
            at = _parse_time(facts.get(name))
            if at is not None:
                out.setdefault((kind, at), "")
                found = True
    for name, (kind, key) in EVENT_LISTS.items():
        items = facts.get(name)
        if isinstance(items, list):
            for item in items:
                at = _parse_time(item.get(key)) if isinstance(item, dict) else None
                if at is not None:
                    out.setdefault((kind, at), str(item.get("name") or "")[:80])
    return [(k, at, d) for (k, at), d in sorted(out.items(), key=lambda kv: kv[0][1])]


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


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def _unpack(body: bytes) -> Any:
    if body[:1] != b"{":
        body = zlib.decompress(body)
    return json.loads(body)


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
        from scanner.dating import security_keys

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
        (a :class:`scanner.dating.Seen`), or None for a host it has never read a list of."""
        from scanner.dating import Seen

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
        """The result document of a recorded scan, rebuilt from the history.

        Results are each pair's status at that scan, with the observed value, message and finding
        recorded when the pair entered that status; a host that was not reached has the rows
        the scan gave it, as they were. Hosts carry what reports show of them (error, roles,
        the system's name); other facts and raw evidence are not kept in the history
        (``scan.reconstructed`` is true)."""
        from scanner.scan import SCHEMA, summarise

        sid = self.resolve(spec)
        uid, started, finished, inventory, meta_text = self.db.execute(
            "SELECT uid, started_at, finished_at, inventory, meta FROM scans WHERE id = ?",
            (sid,)).fetchone()
        meta = json.loads(meta_text)
        rules = self._rules()
        hosts = self._hosts()
        landed: dict[int, tuple[int, int, int | None]] = {
            int(h): (int(off), int(reach), err) for h, off, reach, err in self.db.execute(
                "SELECT host, offset, reachable, error FROM scan_hosts WHERE scan = ?", (sid,))}
        state: dict[tuple[int, int], tuple[int, int | None]] = {}
        for _, h, r, status, detail in self.db.execute(
                "SELECT scan, host, rule, status, detail FROM changes WHERE scan <= ? "
                "ORDER BY scan", (sid,)):
            if h in landed:
                state[(h, r)] = (status, detail)
        findings: dict[tuple[int, int], tuple[int, int, int]] = {}
        for h, r, episode, opened, due_day in self.db.execute(
                "SELECT host, rule, episode, opened_at, due_day FROM findings "
                "WHERE opened_scan <= ? AND (closed_scan IS NULL OR closed_scan > ?)", (sid, sid)):
            findings[(h, r)] = (episode, opened, due_day)
        blob_cache: dict[int, Any] = {}

        def blob(bid: int | None) -> Any:
            if bid is None:
                return {}
            if bid not in blob_cache:
                row = self.db.execute("SELECT body FROM blobs WHERE id = ?", (bid,)).fetchone()
                blob_cache[bid] = _unpack(row[0]) if row else {}
            return blob_cache[bid]

        host_docs: list[dict[str, Any]] = []
        kept_rows: dict[int, list[list[int]]] = {}  # unreachable hosts: their rows as given
        for hid in sorted(landed, key=lambda h: hosts[h][0]):
            off, reach, err = landed[hid]
            name, address, transport, platform = hosts[hid]
            e = blob(err) if err is not None else {}
            rec: dict[str, Any] = {
                "name": name, "address": address or "", "transport": transport or "ssh",
                "platform": platform, "reachable": bool(reach), "error": e.get("error"),
                "error_kind": e.get("kind"), "finished_at": iso(started + off), "facts": {}}
            rec.update({k: e[k] for k in HOST_PROFILE if e.get(k)})
            if e.get("system"):
                rec["facts"] = {"os.pretty_name": e["system"]}
            if isinstance(e.get("results"), list):
                kept_rows[hid] = e["results"]
            host_docs.append(rec)
        results = []
        rule_docs: dict[str, Any] = {}

        def result(hid: int, rid: int, status: int, d: dict[str, Any]) -> dict[str, Any]:
            rule, rmeta = rules[rid]
            res: dict[str, Any] = {
                "host": hosts[hid][0], "rule": rule, "title": rmeta.get("title") or rule,
                "control": rmeta.get("control"), "severity": rmeta.get("severity"),
                "owner": d.get("ow") or "provider", "status": STATUS_NAMES[status],
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
            rule_docs[rule] = {k: rmeta.get(k) for k in (
                "title", "control", "severity", "baseline", "rationale", "remediation",
                "references", "problem", "advice") if rmeta.get(k)}
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
                res.update(status="error", observed={},
                           message=f"host not scanned: {error or 'unreachable'}")
                res.pop("na_reason", None)
                res.pop("waiver", None)
                res.pop("waiver_expired", None)
                results.append(res)
                continue
            f = findings.get((hid, rid))
            if f is not None and status in FAILING:
                episode, opened, due_day = f
                res["first_seen"] = iso(opened)
                res["due"] = _day_iso(due_day)
                if STATUS_NAMES[status] == "fail":
                    when = started + landed[hid][0]
                    res["overdue_days"] = max(0, _dt(when).date().toordinal() - due_day)
                if episode > 1:
                    res["reopened"] = True
            results.append(res)
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "tool": {"name": "undone", "version": __version__},
            "scan": {"id": uid, "started_at": iso(started),
                     "finished_at": iso(finished if finished is not None else max(
                         [started] + [started + o for o, _, _ in landed.values()])),
                     "inventory": inventory, "estate": meta.get("estate") or {},
                     "baselines": meta.get("baselines") or [], "reconstructed": True,
                     "complete": finished is not None},
            "rules": rule_docs,
            "hosts": host_docs,
            "results": results,
            "errors": [{"host": h["name"], "kind": h.get("error_kind"), "error": h["error"]}
                       for h in host_docs if h.get("error")],
        }
        doc["summary"] = summarise(host_docs, results)
        doc["history"] = self._history_block(sid, finished or started, 366)
        previous = doc["history"]["previous_scan"]
        if changes and previous:  # what changed since, as the scan's own document said it
            from reports import diff

            prev = self.document(previous, changes=False)
            doc["history"]["changes"] = {"previous_at": prev["scan"]["started_at"],
                                         "counts": diff.build(prev, doc)["counts"]}
        return doc

    # -- the contract-period report ---------------------------------------------------------

    @_reading
    def period(self, start: date | None = None, end: date | None = None,
               now: datetime | None = None) -> dict[str, Any]:
        """The contract-period document (``undone.period/1``) for ``start``..``end`` inclusive:
        compliance per control over time, findings opened and closed, mean time to remediate,
        SLA breaches per month, and each host's maintenance timeline."""
        now_ts = _ts(now or utcnow())
        first = self.db.execute("SELECT MIN(started_at) FROM scans").fetchone()[0]
        if start is None:
            start = _dt(first).date() if first is not None else _dt(now_ts).date()
        if end is None:
            end = _dt(now_ts).date()
        if end < start:
            raise InputError(f"--from {start} is after --to {end}")
        t0 = _ts(datetime.combine(start, datetime.min.time(), UTC))
        t1 = _ts(datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC))
        rules = self._rules()
        hosts = self._hosts()
        scans = self.db.execute("SELECT id, uid, started_at, finished_at, meta FROM scans "
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
        changes = self.db.execute("SELECT scan, host, rule, status FROM changes WHERE scan <= ? "
                                  "ORDER BY scan", (scan_ids[-1] if scan_ids else 0,))
        pending = next(changes, None)
        seen_hosts: set[int] = set()
        in_ids = {s[0] for s in in_period}
        landed_by_scan: dict[int, list[tuple[int, int, int, int | None]]] = defaultdict(list)
        if in_ids:
            for sid_, hid_, reach_, n_err, err_ in self.db.execute(
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
                    kept = self._blob_value(err).get("results") if err is not None else None
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
        for (hid,) in self.db.execute("SELECT DISTINCT host FROM scan_hosts WHERE scan IN "
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
        for (h, r, episode, sev, owner, o_at, due_day, last_at, c_at, c_why) in self.db.execute(
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
        ev_rows = self.db.execute("SELECT host, kind, at, detail FROM events WHERE at >= ? AND "
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

