"""The ``backup.*`` facts: a host's backups, how fresh they are, whether a restore was tested,
and whether one copy is isolated.

``posix.backup`` and ``windows.backup`` describe each backup (declared in the inventory or
discovered) as one record (:func:`entry`), and :func:`summarise` turns the records into the
host's ``backup.*`` facts, the same way on every platform, so one rule set judges them all. What
each fact and record field means is told in :mod:`probes.posix.backup`.

A family package is not a section: :func:`probes.sections` finds sections only in the folders
it lists.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from probes.base import Facts, age_days, iso, parse_utc

PROVIDES = (
    "backup.declared",
    "backup.discovered",
    "backup.count",
    "backup.repositories",
    "backup.last_success_at",
    "backup.last_success_age_days",
    "backup.restore_tested_at",
    "backup.restore_tested_age_days",
    "backup.restore_test_evidence",
    "backup.restore_test_basis",
    "backup.isolated_copy",
)

#: declared backups read per host, at most
MAX_REPOSITORIES = 32
#: the isolation a declared backup may claim
ISOLATION = ("offline", "immutable", "separate-credentials")
#: the restore test's facts (the inventory's attestation)
RESTORE = (
    "backup.restore_tested_at",
    "backup.restore_tested_age_days",
    "backup.restore_test_evidence",
    "backup.restore_test_basis",
)
#: the freshest success over every backup
SUCCESS = ("backup.last_success_at", "backup.last_success_age_days")



def redact(repository: str) -> str:
    """A repository string with any password in a URL masked (``rest:https://u:***@host/``)."""
    return re.sub(r"(://[^/@:\s]+:)[^@/\s]+@", r"\1***@", repository)


def entry(name: str, kind: str, source: str, repository: str | None) -> dict[str, Any]:
    """A backup's record, status ok and every value unknown until its parser reads it."""
    return {
        "name": name,
        "kind": kind,
        "source": source,
        "repository": redact(repository) if repository else None,
        "status": "ok",
        "error": None,
        "snapshots": None,
        "first_snapshot_at": None,
        "last_success_at": None,
        "last_success_age_days": None,
        "last_attempt_at": None,
        "last_attempt_result": None,
        "size_bytes": None,
        "size_basis": None,
        "last_check_at": None,
        "isolation": None,
        "restore_test": None,
        "detail": {},
    }


def error(r: dict[str, Any], reason: str) -> dict[str, Any]:
    """Mark the record as not readable, with the reason (cut at 300 characters)."""
    r["status"] = "error"
    r["error"] = reason[:300]
    return r


def set_success(r: dict[str, Any], when: datetime | None, now: datetime) -> None:
    """The record's newest success and its age at ``now`` (null when there is none)."""
    r["last_success_at"] = iso(when)
    r["last_success_age_days"] = None if when is None else age_days(when, now)


def summarise(repos: list[dict[str, Any]], now: datetime, facts: Facts) -> None:
    """The host's ``backup.*`` facts beyond the counts, from its backups' records."""
    broken = [r for r in repos if r["status"] == "error"]
    if broken:
        why = "; ".join(f"{r['name']}: {r['error']}" for r in broken)[:400]
        facts.error_all(SUCCESS, f"backup not readable: {why}")
    else:
        done = [
            t
            for t in (parse_utc(r["last_success_at"] or "") for r in repos if r["status"] == "ok")
            if t is not None
        ]
        if done:
            newest = max(done)
            facts.set("backup.last_success_at", iso(newest))
            facts.set("backup.last_success_age_days", age_days(newest, now))
        else:
            facts.set("backup.last_success_at", None)
            facts.set("backup.last_success_age_days", None)
    tests = [(r["restore_test"]["date"], r["restore_test"]) for r in repos if r["restore_test"]]
    dated = [(d, t) for d, t in tests if parse_utc(d) is not None]
    if dated:
        date, test = max(dated, key=lambda x: x[0])
        when = parse_utc(date) or now
        facts.set("backup.restore_tested_at", date)
        facts.set("backup.restore_tested_age_days", age_days(when, now))
        facts.set("backup.restore_test_evidence", test.get("evidence"))
        facts.set("backup.restore_test_basis", "inventory-attestation")
    else:
        for name in RESTORE:
            facts.set(name, None)
    isolated = [r for r in repos if r["isolation"]]
    if any(r["status"] in ("ok", "offline") for r in isolated):
        facts.set("backup.isolated_copy", True)
    elif isolated:
        r = isolated[0]
        facts.error("backup.isolated_copy",
                    f"the isolated copy {r['name']} could not be read: {r['error']}")
    else:
        facts.set("backup.isolated_copy", False)
