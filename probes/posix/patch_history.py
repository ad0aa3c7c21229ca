"""posix.patch_history: when packages were last installed or upgraded, and how often.

Sources, in order: apt's ``/var/log/apt/history.log`` and its rotations (``apt-history``); when a
host has no apt history, ``/var/log/dpkg.log`` and its rotations (``dpkg-log``; one run = one
``startup archives unpack`` session); on dnf hosts ``dnf history list`` (``dnf-history``). The
script prints only a summary of each run. apt and dpkg write local time: the script also prints
``date +%z`` and the parser converts with that offset (a run on the other side of a daylight
saving change can be an hour off). dnf runs under ``TZ=UTC0``, so its times are UTC.

A *run* is an apt history entry that installed or upgraded something, a dpkg session that did,
or a dnf transaction whose actions include Install or Upgrade and that did not fail or abort
(``#`` or ``*`` after its count). Removals alone are not runs. dpkg sessions that follow each
other within 20 seconds are one run (apt calls dpkg several times per command), so dpkg-log
counts are approximate; dnf history gives no per-action counts (``upgraded`` and ``installed``
are null).

Facts::

    patch.source "apt-history"                patch.history_since "2025-06-24T14:36:25Z"
    patch.last_install_at "2026-11-22T00:18:50Z"   patch.days_since_last 0.0
    patch.last_upgrade_at "2026-11-22T00:18:50Z"   patch.days_since_last_upgrade 0.0
    patch.runs_30d 1   patch.runs_90d 1   patch.runs_365d 3
    patch.recent [{at, upgraded, installed, command}, ...]   (newest first, at most 10)

``history_since`` is the oldest entry that could be read, so that "0 runs in 365 days" can be
read against how much history there was. With no history at all the facts are errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from probes.base import Block, Facts, RawSection, age_days, guard, inner_exit, iso, split_blocks

PROVIDES = (
    "patch.source",
    "patch.last_install_at",
    "patch.days_since_last",
    "patch.last_upgrade_at",
    "patch.days_since_last_upgrade",
    "patch.runs_30d",
    "patch.runs_90d",
    "patch.runs_365d",
    "patch.history_since",
    "patch.recent",
)

_TZ_RE = re.compile(r"^([+-])(\d\d)(\d\d)$")
_COUNT_RE = re.compile(r"^(Install|Upgrade|Remove|Purge|Downgrade|Reinstall)-Count: (\d+)$")
_STAMP = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)"
_SESSION_RE = re.compile(rf"^Session: {_STAMP} {_STAMP} upgrade=(\d+) install=(\d+)$")
# apt runs dpkg several times in a row, seconds apart: sessions that close are one run.
_SAME_RUN = timedelta(seconds=20)
_DNF_ROW_RE = re.compile(
    r"^\s*(\d+)\s*\|(.*?)\|\s*(\d{4}-\d\d-\d\d \d\d:\d\d)\s*\|(.*?)\|\s*(\d+)(.*)$"
)


@dataclass
class _Run:
    at: datetime
    upgraded: int | None = 0
    installed: int | None = 0
    command: str | None = None
    is_run: bool = False
    has_upgrade: bool = False


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    tzb = blocks.get("tz")
    if tzb is None:
        facts.error_all(PROVIDES, "patch history: no output from the target")
        return
    end = blocks.get("end")
    if end is None or end.rc is None:  # a half-printed end block is a cut too
        facts.error_all(PROVIDES, "patch history: output cut off before the section finished")
        return
    offset = _offset(tzb)

    apt = {k: b for k, b in blocks.items() if k.startswith("apt_history:")}
    dpkg = {k: b for k, b in blocks.items() if k.startswith("dpkg_log:")}
    dnf = blocks.get("dnf_history")
    entries: list[_Run]
    if apt:
        source, result = "apt-history", _read_all(apt, offset, _apt_entries)
    elif dpkg:
        source, result = "dpkg-log", _read_all(dpkg, offset, _dpkg_entries)
    elif dnf is not None:
        source, result = "dnf-history", _dnf_entries(dnf)
    else:
        facts.error_all(
            PROVIDES,
            "no package history on the target (no apt history.log, dpkg.log or dnf history)",
        )
        return
    if isinstance(result, str):
        facts.error_all(PROVIDES, result)
        return
    entries = result
    facts.set("patch.source", source)
    _derive(entries, raw.collected_at, facts)


def _offset(block: Block) -> timezone:
    """The target's UTC offset from ``date +%z``; UTC when it cannot be read."""
    m = _TZ_RE.match(block.text.strip()) if block.ok else None
    if not m:
        return UTC
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return timezone(-delta if m.group(1) == "-" else delta)


def _local(text: str, fmt: str, offset: timezone) -> datetime | None:
    try:
        return datetime.strptime(" ".join(text.split()), fmt).replace(tzinfo=offset).astimezone(UTC)
    except ValueError:
        return None


def _read_all(
    blocks: dict[str, Block],
    offset: timezone,
    reader: Callable[[Block, timezone], list[_Run] | str],
) -> list[_Run] | str:
    runs: list[_Run] = []
    for name in sorted(blocks):
        block = blocks[name]
        what = name.split(":", 1)[1]
        if not block.ok:
            return block.why(what)
        got = reader(block, offset)
        if isinstance(got, str):
            return f"{what}: {got}"
        runs.extend(got)
    return runs


def _apt_entries(block: Block, offset: timezone) -> list[_Run] | str:
    runs: list[_Run] = []
    current: _Run | None = None
    for line in block.lines():
        if not line.strip():
            continue
        if line.startswith("Start-Date: "):
            at = _local(line[len("Start-Date: ") :], "%Y-%m-%d %H:%M:%S", offset)
            if at is None:
                return f"unreadable Start-Date {line[:60]!r}"
            current = _Run(at=at)
            runs.append(current)
        elif current is None:
            continue
        elif line.startswith("Commandline: "):
            current.command = line[len("Commandline: ") :].strip()
        else:
            m = _COUNT_RE.match(line.strip())
            if m:
                n = int(m.group(2))
                if m.group(1) == "Upgrade":
                    current.upgraded = (current.upgraded or 0) + n
                elif m.group(1) == "Install":
                    current.installed = (current.installed or 0) + n
    if not runs and any(ln.strip() for ln in block.lines()):
        return "no Start-Date line in a non-empty history"
    for r in runs:
        r.is_run = bool(r.upgraded or r.installed)
        r.has_upgrade = bool(r.upgraded)
    return runs


def _dpkg_entries(block: Block, offset: timezone) -> list[_Run] | str:
    runs: list[_Run] = []
    last_end: datetime | None = None
    for line in block.lines():
        if not line.strip():
            continue
        m = _SESSION_RE.match(line.strip())
        if not m:
            return f"unexpected line {line.strip()[:80]!r}"
        at = _local(m.group(1), "%Y-%m-%d %H:%M:%S", offset)
        end = _local(m.group(2), "%Y-%m-%d %H:%M:%S", offset)
        if at is None or end is None:
            return f"unreadable date in {line.strip()[:80]!r}"
        up, inst = int(m.group(3)), int(m.group(4))
        if runs and last_end is not None and timedelta(0) <= at - last_end <= _SAME_RUN:
            run = runs[-1]
            run.upgraded = (run.upgraded or 0) + up
            run.installed = (run.installed or 0) + inst
        else:
            run = _Run(at=at, upgraded=up, installed=inst)
            runs.append(run)
        run.is_run = bool(run.upgraded or run.installed)
        run.has_upgrade = bool(run.upgraded)
        last_end = end
    return runs


def _dnf_entries(block: Block) -> list[_Run] | str:
    b = inner_exit(block)
    if not b.ok:
        err = next((ln for ln in b.lines() if ln.startswith("Error")), "")
        return f"dnf history list: {err[:200]}" if err else b.why("dnf history list")
    runs: list[_Run] = []
    header = False
    for line in b.lines():
        s = line.strip()
        if not s or s.startswith("----"):
            continue
        if s.startswith("ID") and "|" in s:
            header = True
            continue
        if s == "No transactions":
            continue
        m = _DNF_ROW_RE.match(line)
        if not m:
            return f"dnf history list: unexpected line {s[:80]!r}"
        at = _local(m.group(3), "%Y-%m-%d %H:%M", UTC)  # the script runs dnf with TZ=UTC0
        if at is None:
            return f"dnf history list: unreadable date {m.group(3)!r}"
        actions = {a.strip() for a in m.group(4).split(",")}
        # Marks after the count: "*" aborted, "#" failed; such a transaction patched nothing.
        failed = "*" in m.group(6) or "#" in m.group(6)
        is_run = bool(actions & {"Install", "Upgrade", "I", "U"}) and not failed
        runs.append(
            _Run(
                at=at,
                upgraded=None,
                installed=None,
                command=m.group(2).strip() or None,
                is_run=is_run,
                has_upgrade=bool(actions & {"Upgrade", "U"}),
            )
        )
    if runs and not header:
        return "dnf history list: no header line (not dnf's output?)"
    return runs


def _derive(entries: list[_Run], now: datetime, facts: Facts) -> None:
    runs = sorted((e for e in entries if e.is_run), key=lambda e: e.at, reverse=True)
    facts.set("patch.history_since", iso(min(e.at for e in entries)) if entries else None)
    last = runs[0] if runs else None
    facts.set("patch.last_install_at", iso(last.at) if last else None)
    if last:
        facts.set("patch.days_since_last", age_days(last.at, now))
    else:
        facts.error("patch.days_since_last", "no install or upgrade in the readable history")
    upgrades = [r for r in runs if r.has_upgrade]
    last_up = upgrades[0] if upgrades else None
    facts.set("patch.last_upgrade_at", iso(last_up.at) if last_up else None)
    if last_up:
        facts.set("patch.days_since_last_upgrade", age_days(last_up.at, now))
    else:
        facts.error("patch.days_since_last_upgrade", "no upgrade in the readable history")
    for days in (30, 90, 365):
        since = now - timedelta(days=days)
        facts.set(f"patch.runs_{days}d", sum(1 for r in runs if r.at >= since))
    facts.set(
        "patch.recent",
        [
            {
                "at": iso(r.at),
                "upgraded": r.upgraded,
                "installed": r.installed,
                "command": r.command,
            }
            for r in runs[:10]
        ],
    )
