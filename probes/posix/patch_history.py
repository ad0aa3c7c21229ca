"""posix.patch_history: when packages were last upgraded, and how often.

Sources, in order: apt's ``/var/log/apt/history.log`` and its rotations (``apt-history``); when a
host has no apt history, ``/var/log/dpkg.log`` and its rotations (``dpkg-log``; one run = one
``startup archives unpack`` session); on dnf hosts ``dnf history list`` (``dnf-history``). The
script prints only a summary of each run. apt and dpkg write local time: the script also prints
``date +%z`` and the parser converts with that offset (a run on the other side of a daylight
saving change can be an hour off). dnf runs under ``TZ=UTC0``, so its times are UTC.

**A patch run is a transaction that upgraded packages**: an apt history entry with an
``Upgrade:`` line, a dpkg session that upgraded, a dnf transaction whose actions include Upgrade
(``U``) and that did not fail or abort (``#`` or ``*`` after its count). Installing new software
or removing some is not maintenance and is not counted (installing a package brings its current
version, but leaves every installed one as old as it was). Every transaction in ``patch.recent``
says whether it counted and why. dpkg sessions that follow each other within 20 seconds are one
run (apt calls dpkg several times per command), so dpkg-log counts are estimates (their basis
says so, and rules do not pass on them); dnf history gives no per-action counts (``upgraded``
and ``installed`` are null). An apt entry with an ``Error:`` line (the run did not complete)
is not counted either, as a failed dnf transaction is not.

Which runs were *security* upgrades: apt's history names each upgraded package and its old and
new version; the script adds each one's source package (dpkg-query), and the scanner matches
them against the advisory catalogue (scanner/engine/dating.py: a run that brought a version fixing
an
advisory is a security run) and sets ``patch.security_runs_*``; the internal list it reads,
``patch.upgrades``, is dropped then. Without the catalogue, and for dnf and dpkg-log hosts, those
facts are errors that say why.

Facts::

    patch.source "apt-history"                patch.history_since "2025-06-24T14:36:25Z"
    patch.last_upgrade_at "2026-11-22T00:18:50Z"   patch.days_since_last_upgrade 0.0
    patch.days_since_last 0.0                  (the last patch run: the same as the above)
    patch.last_install_at "2026-11-22T00:31:49Z"   (the last run that installed or upgraded)
    patch.runs_30d 1   patch.runs_90d 1   patch.runs_365d 3       (patch runs, as above)
    patch.security_runs_30d 1 ...              (scanner side, see above)
    patch.recent [{at, upgraded, installed, removed, command, counted, why}, ...]
                                               (every kind of transaction, newest first, 10)

``history_since`` is the oldest entry that could be read, so that "0 runs in 365 days" can be
read against how much history there was. With no history at all the facts are errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from probes import updates as family
from probes.base import Block, Facts, RawSection, age_days, guard, inner_exit, iso, split_blocks

PROVIDES = (
    *family.HISTORY,
    "patch.security_runs_30d",
    "patch.security_runs_90d",
    "patch.security_runs_365d",
    "patch.upgrades",
)
SECURITY_RUNS = ("patch.security_runs_30d", "patch.security_runs_90d", "patch.security_runs_365d")
MAX_UPGRADES_PER_RUN = 200
MAX_RUNS_LISTED = 500

_TZ_RE = re.compile(r"^([+-])(\d\d)(\d\d)$")
_COUNT_RE = re.compile(r"^(Install|Upgrade|Remove|Purge|Downgrade|Reinstall)-Count: (\d+)$")
_STAMP = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)"
_SESSION_RE = re.compile(rf"^Session: {_STAMP} {_STAMP} upgrade=(\d+) install=(\d+)$")
# apt runs dpkg several times in a row, seconds apart: sessions that close are one run.
_SAME_RUN = timedelta(seconds=20)
_DNF_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}")
_LINE_CAP = 4000


@dataclass
class _Run:
    at: datetime
    upgraded: int | None = 0
    installed: int | None = 0
    removed: int | None = 0
    command: str | None = None
    is_run: bool = False  # installed or upgraded something
    has_upgrade: bool = False  # a patch run: upgraded something
    why: str = ""
    upgrades: list[list[str | None]] | None = None  # [package, source, old, new] (apt)
    error: str | None = None  # apt's "Error:" line: the run did not complete


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
    if source == "apt-history":
        sources = _sources(blocks.get("apt_sources"))
        for e in entries:
            for u in e.upgrades or []:
                u[1] = sources.get(str(u[0]))
    _derive(entries, raw.collected_at, facts, source)


def _sources(block: Block | None) -> dict[str, str]:
    """binary package (without its architecture) -> source package, from dpkg-query."""
    out: dict[str, str] = {}
    if block is None or not block.ok:
        return out
    for line in block.lines():
        parts = line[:_LINE_CAP].split()
        if len(parts) == 2:
            out[parts[0].split(":", 1)[0]] = parts[1]
    return out


def _upgrade_list(text: str) -> list[list[str | None]]:
    """``libssl3:amd64 (3.0.11-1, 3.0.13-1), openssl:amd64 (...)`` -> [name, None, old, new]
    items (the script cuts the list; a cut last item is dropped). Partitions only."""
    out: list[list[str | None]] = []
    for item in text.split("), "):
        name, sep, versions = item.strip().partition(" (")
        old, sep2, new = versions.rstrip(")").partition(", ")
        if not sep or not sep2 or not name or " " in old or not new or " " in new.strip():
            continue
        out.append([name.split(":", 1)[0], None, old, new.strip()])
        if len(out) >= MAX_UPGRADES_PER_RUN:
            break
    return out


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
        elif line.startswith("Upgrade-List: "):
            current.upgrades = (current.upgrades or []) + _upgrade_list(line[14:_LINE_CAP])
        elif line.startswith("Error: "):
            current.error = line[len("Error: ") :].strip()[:120] or "error"
        else:
            m = _COUNT_RE.match(line.strip()[:100])
            if m:
                n = int(m.group(2))
                if m.group(1) == "Upgrade":
                    current.upgraded = (current.upgraded or 0) + n
                elif m.group(1) == "Install":
                    current.installed = (current.installed or 0) + n
                elif m.group(1) in ("Remove", "Purge"):
                    current.removed = (current.removed or 0) + n
    if not runs and any(ln.strip() for ln in block.lines()):
        return "no Start-Date line in a non-empty history"
    for r in runs:
        _classify(r)
    return runs


def _classify(r: _Run) -> None:
    """Whether a transaction is a patch run, and why (in words for the evidence)."""
    r.is_run = bool(r.upgraded or r.installed) and r.error is None
    r.has_upgrade = bool(r.upgraded) and r.error is None
    if r.error is not None:
        # like a failed dnf transaction: what it changed is not known, so it proves nothing
        r.why = f"ended with an error ({r.error}): not counted"
    elif r.has_upgrade:
        r.why = f"upgraded {r.upgraded} package{'s' if r.upgraded != 1 else ''}"
    elif r.installed:
        r.why = "installed new packages only: not an upgrade"
    elif r.removed:
        r.why = "removed packages only: not an upgrade"
    else:
        r.why = "changed no package version"


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
            run = _Run(at=at, upgraded=up, installed=inst, removed=None)
            runs.append(run)
        _classify(run)
        last_end = end
    return runs


def _dnf_row(line: str) -> tuple[str, str, str, str, str] | None:
    """``    12 | upgrade -y --security    | 2024-06-12 02:03 | I, U           |   19 EE``
    -> (id, command, date, actions, altered-and-marks); None if not such a row. The command
    may itself hold ``|``: the fields are taken from both ends. Linear: one split."""
    parts = line[:_LINE_CAP].split("|")
    if len(parts) < 5:
        return None
    ident, altered, actions, when = parts[0].strip(), parts[-1], parts[-2], parts[-3].strip()
    command = "|".join(parts[1:-3]).strip()
    if not ident.isdigit() or not _DNF_DATE_RE.fullmatch(when):
        return None
    count = altered.strip()[:20]
    if not count[:1].isdigit():
        return None
    return ident, command, when, actions, altered


def _dnf_entries(block: Block) -> list[_Run] | str:
    b = inner_exit(block)
    if not b.ok:
        err = next((ln for ln in b.lines() if ln.startswith("Error")), "")
        return f"dnf history list: {err[:200]}" if err else b.why("dnf history list")
    runs: list[_Run] = []
    header = False
    for line in b.lines():
        s = line[:_LINE_CAP].strip()
        if not s or s.startswith("----"):
            continue
        if s.startswith("ID") and "|" in s:
            header = True
            continue
        if s == "No transactions":
            continue
        row = _dnf_row(line)
        if row is None:
            return f"dnf history list: unexpected line {s[:80]!r}"
        _, command, when, action_text, altered = row
        at = _local(when, "%Y-%m-%d %H:%M", UTC)  # the script runs dnf with TZ=UTC0
        if at is None:
            return f"dnf history list: unreadable date {when!r}"
        actions = {a.strip() for a in action_text.split(",")}
        # Marks after the count: "*" aborted, "#" failed; such a transaction patched nothing.
        marks = altered.strip().lstrip("0123456789")
        failed = "*" in marks or "#" in marks
        upgrade = bool(actions & {"Upgrade", "U"})
        run = _Run(at=at, upgraded=None, installed=None, removed=None, command=command or None,
                   is_run=bool(actions & {"Install", "Upgrade", "I", "U"}) and not failed,
                   has_upgrade=upgrade and not failed)
        run.why = ("failed or aborted: patched nothing" if failed else
                   "upgraded packages" if upgrade else
                   "installed new packages only: not an upgrade"
                   if actions & {"Install", "I"} else
                   f"{', '.join(sorted(a for a in actions if a))[:40] or 'no action'}: "
                   "not an upgrade")
        runs.append(run)
    if runs and not header:
        return "dnf history list: no header line (not dnf's output?)"
    return runs


def _derive(entries: list[_Run], now: datetime, facts: Facts, source: str) -> None:
    installs = sorted((e for e in entries if e.is_run), key=lambda e: e.at, reverse=True)
    runs = sorted((e for e in entries if e.has_upgrade), key=lambda e: e.at, reverse=True)
    facts.set("patch.history_since", iso(min(e.at for e in entries)) if entries else None)
    last_any = installs[0] if installs else None
    facts.set("patch.last_install_at", iso(last_any.at) if last_any else None)
    last_up = runs[0] if runs else None
    facts.set("patch.last_upgrade_at", iso(last_up.at) if last_up else None)
    for name in ("patch.days_since_last", "patch.days_since_last_upgrade"):
        if last_up:
            facts.set(name, age_days(last_up.at, now))
        else:
            facts.error(name, "no upgrade in the readable package history")
    # dpkg sessions merged by time: the number of runs is an estimate, not a count
    basis = None if source != "dpkg-log" else {
        "basis": "estimate",
        "why": "patch runs counted from dpkg.log sessions ({bound}), which apt's history would "
               "count exactly"}
    for days in (30, 90, 365):
        since = now - timedelta(days=days)
        facts.set(f"patch.runs_{days}d", sum(1 for r in runs if r.at >= since), basis=basis)
    if source == "apt-history":
        year = now - timedelta(days=365)
        facts.set("patch.upgrades", [
            {"at": iso(r.at), "packages": r.upgrades or []}
            for r in runs if r.at >= year][:MAX_RUNS_LISTED])
        facts.error_all(SECURITY_RUNS, "which upgrades were security fixes is told by the "
                        "advisory catalogue, on the scanning machine")
    else:
        facts.error("patch.upgrades", f"{source} does not list the upgraded packages")
        facts.error_all(SECURITY_RUNS, f"{source} does not say which upgrades were security "
                        "fixes")
    recent = sorted(entries, key=lambda e: e.at, reverse=True)[:10]
    facts.set(
        "patch.recent",
        [
            {
                "at": iso(r.at),
                "upgraded": r.upgraded,
                "installed": r.installed,
                "removed": r.removed,
                "command": r.command,
                "counted": r.has_upgrade,
                "why": r.why,
            }
            for r in recent
        ],
    )
