"""The history's stored codes and its schema: what each small integer in the file means, and
the named migrations that build and upgrade the tables.

A stored status, severity, owner, maintenance kind and reason a finding closed is a small
integer whose meaning is written here literally (never derived from the order of a tuple), and
recorded in the file's own ``codes`` table; scanner/history/store.py checks the two agree on
every open.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

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
    # When undone first saw each pending security update (scanner/engine/dating.py, the "history"
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

#: what of a host's record is kept as its profile (roles and owner)
HOST_PROFILE = ("roles", "roles_inferred", "roles_inferred_from", "roles_source", "owner")


# a stored blob: canonical JSON, zlib-compressed when that is smaller
def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def _unpack(body: bytes) -> Any:
    if body[:1] != b"{":
        body = zlib.decompress(body)
    return json.loads(body)
