"""Maintenance events: what a host reports about its own upkeep (the last security update, the
last successful backup, the last signature update), read from its facts, and the control each
kind serves. The history records them for the period report's timelines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scanner.history.times import (
    _parse_time,
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
