"""Opening a history file: a regular file only, read-only where asked (never writing a byte),
the named migrations of scanner/history/codes.py applied (or, read-only, required), and the
checks that its tables, columns and stored codes are this undone's, so that a damaged, foreign
or newer file is refused on open, never misread halfway through a report.

Every check raises :class:`scanner.errors.InputError` with one line naming the file; SQLite's
own errors are the caller's to turn into one (scanner/history/store.py ``History``).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import urllib.parse
from collections import defaultdict

from scanner.errors import InputError
from scanner.history.codes import (
    CODES,
    CODES_MIGRATION,
    CODES_VERSION,
    MIGRATIONS,
    NOT_NEEDED_TO_READ,
)
from scanner.history.times import _ts, iso, utcnow


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


def connect_readonly(path: str) -> sqlite3.Connection:
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


def connect_writable(path: str) -> sqlite3.Connection:
    """Open for writing (WAL, one transaction per host), migrated to this undone's schema and
    checked by SQLite's own quick check."""
    db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=OFF")
        migrate(db, path)
        ok = db.execute("PRAGMA quick_check(1)").fetchone()
        if not ok or ok[0] != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {ok[0] if ok else 'no answer'}")
    except BaseException:
        db.close()
        raise
    return db


def _newer(db: sqlite3.Connection, path: str) -> set[str]:
    """The migrations the file has had; refused when one is not this undone's."""
    applied = {str(r[0]) for r in db.execute("SELECT name FROM migrations")}
    newer = sorted(applied - {name for name, _ in MIGRATIONS})
    if newer:
        raise InputError(f"{path}: written by a newer undone (migration {newer[-1]}); "
                         "use that version, or another --db")
    return applied


def check_migrations(db: sqlite3.Connection, path: str) -> None:
    """Read-only: the file must already be at this undone's schema (nothing is migrated)."""
    applied = _newer(db, path)
    missing = [n for n, _ in MIGRATIONS if n not in applied and n not in NOT_NEEDED_TO_READ]
    if missing:
        raise InputError(f"{path}: the history needs upgrading ({missing[0]}), which a "
                         "read-only file does not allow; run `undone scan` on it where it can "
                         "be written")


def migrate(db: sqlite3.Connection, path: str) -> None:
    """Apply the named migrations the file has not had, each in its own transaction (another
    process migrating the same file at the same time is waited for, not repeated)."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations "
               "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    applied = _newer(db, path)
    for name, sql in MIGRATIONS:
        if name in applied:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                db.execute("ROLLBACK")
                continue
            for stmt in sql.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                       (name, iso(_ts(utcnow()))))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def check_tables(db: sqlite3.Connection, path: str) -> None:
    """Every table and column this undone reads is there (a damaged or foreign file is
    refused here, not halfway through a report), and the stored codes mean what they mean here."""
    recorded = codes_recorded(db)
    for table, cols in TABLES.items():
        if table == "codes" and not recorded:
            continue  # read-only, from before the table: codes version 1 (check_codes)
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        lost = [c for c in cols if c not in have]
        if lost:
            raise InputError(f"{path}: not a usable undone history (table {table} "
                             f"{'is missing' if not have else 'lacks ' + lost[0]}); give "
                             "another --db")
    if recorded:
        check_codes(db, path)


def codes_recorded(db: sqlite3.Connection) -> bool:
    """Whether the file records its codes (it has had CODES_MIGRATION): always, once a
    writable open has migrated it."""
    return db.execute("SELECT 1 FROM migrations WHERE name = ?",
                      (CODES_MIGRATION,)).fetchone() is not None


def check_codes(db: sqlite3.Connection, path: str) -> None:
    """The file's ``codes`` table says what its stored integers mean: each must mean the
    same here (CODES), or every report of it would be wrong; refused, never misread."""
    rows = db.execute("SELECT kind, code, name, version FROM codes").fetchall()
    seen: dict[str, set[int]] = defaultdict(set)
    for kind, code, name, version in rows:
        ours = CODES.get(kind, {})
        here = {c: n for n, c in ours.items()}.get(code)
        if isinstance(version, int) and version > CODES_VERSION and here is None:
            raise InputError(f"{path}: written by a newer undone (stored codes "
                             f"version {version}: {kind} {code} is {name!r}); use that "
                             "version, or another --db")
        if here != name:
            raise InputError(f"{path}: not a history this undone can read: its stored "
                             f"{kind} code {code} means {name!r}, here "
                             f"{'nothing' if here is None else repr(here)}; give another "
                             "--db")
        seen[kind].add(code)
    for kind, codes in CODES.items():
        lost = sorted(set(codes.values()) - seen[kind])
        if lost:
            raise InputError(f"{path}: not a usable undone history (its codes table "
                             f"lacks {kind} {lost[0]}); give another --db")
