"""windows.patch_history: when updates were installed, and how often (as posix.patch_history).

Sources, in order: the Windows Update Agent's history (``wua-history``: the newest 500 entries,
dated in UTC); when it holds no successful installation (updates applied with DISM or an
offline servicing tool do not appear there), the hot fixes Windows lists (``hotfix``:
``Win32_QuickFixEngineering``, whose ``InstalledOn`` is a date without a time). That date is
month/day/year in the invariant culture on every locale, both as WMI holds it and as PowerShell
renders its own InstalledOn property (which it parses from WMI's text with the invariant culture:
PowerShell's types.ps1xml), or a hexadecimal FILETIME on older systems; it is never read in the
host's culture (an en-GB host's ``11/12/2026`` is 12 November). See
:func:`probes.windows._json.qfe_date`.

A *run* is a UTC day on which at least one update was installed successfully (result "succeeded"
or "succeeded with errors"). Defender's signature updates (KB2267602, KB915597) are left out: they
arrive several times a day and say nothing about patching. Windows makes no difference between
installing and upgrading: ``last_upgrade_at`` is ``last_install_at``, and each run counts its
updates as ``installed`` (``upgraded`` null).

Facts::

    patch.source "wua-history"               patch.history_since "2024-01-10T09:30:00Z"
    patch.last_install_at "2026-11-12T03:04:05Z"   patch.days_since_last 10.2
    patch.last_upgrade_at "2026-11-12T03:04:05Z"   patch.days_since_last_upgrade 10.2
    patch.runs_30d 2   patch.runs_90d 4   patch.runs_365d 14
    patch.recent [{at, upgraded, installed, command}, ...]   (newest first, at most 10;
                  command: the titles of that day's updates)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from probes import updates as family
from probes.base import Facts, RawSection, age_days, guard, iso
from probes.windows._json import document, listed, number, qfe_date, read, when

PROVIDES = family.HISTORY

_SIGNATURES = ("KB2267602", "KB915597")
_INSTALL = 1
_SUCCEEDED = (2, 3)


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    doc = document(raw)
    now = raw.collected_at
    events: list[tuple[datetime, str]] = []
    oldest: datetime | None = None
    history, why_history = read(doc, "history", "Windows Update history")
    if isinstance(history, dict):
        for e in listed(history.get("entries")):
            if not isinstance(e, dict):
                continue
            at = when(e.get("date"))
            if at is None:
                continue
            oldest = at if oldest is None or at < oldest else oldest
            title = str(e.get("title") or "")
            if any(kb in title for kb in _SIGNATURES):
                continue
            ok = number(e.get("result_code")) in _SUCCEEDED
            if number(e.get("operation")) == _INSTALL and ok:
                events.append((at, title))
    source = "wua-history"
    if not events:
        hotfix_events, hotfix_oldest, why_hotfix = _hotfixes(doc)
        if hotfix_events:
            events, oldest, source = hotfix_events, hotfix_oldest, "hotfix"
        elif why_history and why_hotfix:
            facts.error_all(PROVIDES, f"{why_history}; {why_hotfix}")
            return
    facts.set("patch.source", source)
    facts.set("patch.history_since", iso(oldest))
    if not events:
        for name in PROVIDES:
            if name not in ("patch.source", "patch.history_since"):
                facts.set(name, None)
        for name in ("patch.runs_30d", "patch.runs_90d", "patch.runs_365d"):
            facts.set(name, 0)
        facts.set("patch.recent", [])
        return
    by_day: dict[str, list[tuple[datetime, str]]] = {}
    for at, title in events:
        by_day.setdefault(at.date().isoformat(), []).append((at, title))
    runs: list[tuple[datetime, list[tuple[datetime, str]]]] = sorted(
        ((max(a for a, _ in items), items) for items in by_day.values()),
        key=lambda r: r[0],
        reverse=True,
    )
    last = runs[0][0]
    facts.set("patch.last_install_at", iso(last))
    facts.set("patch.days_since_last", age_days(last, now))
    facts.set("patch.last_upgrade_at", iso(last))
    facts.set("patch.days_since_last_upgrade", age_days(last, now))
    for days in (30, 90, 365):
        since = now - timedelta(days=days)
        facts.set(f"patch.runs_{days}d", sum(1 for at, _ in runs if at >= since))
    facts.set(
        "patch.recent",
        [
            {
                "at": iso(at),
                "upgraded": None,
                "installed": len(items),
                "command": "; ".join(sorted({t for _, t in items if t}))[:300] or None,
            }
            for at, items in runs[:10]
        ],
    )


def _hotfixes(
    doc: dict[str, Any],
) -> tuple[list[tuple[datetime, str]], datetime | None, str | None]:
    items, why = read(doc, "hotfixes", "Win32_QuickFixEngineering")
    if why is not None:
        return [], None, why
    events: list[tuple[datetime, str]] = []
    for h in listed(items):
        if not isinstance(h, dict):
            continue
        raw = h.get("installed_on_raw")
        at = qfe_date(str(raw)) if raw else None
        if at is None:
            at = qfe_date(str(h.get("installed_on") or ""))
        if at is not None:
            events.append((at, str(h.get("id") or "")))
    oldest = min((a for a, _ in events), default=None)
    if not events and listed(items):
        return [], None, "Win32_QuickFixEngineering: no readable InstalledOn date"
    return events, oldest, None
