"""posix.backup: the host's backups, how fresh they are, whether a restore was tested, and
whether one copy is isolated.

A backup is *declared* in the inventory (``backups:`` host variable: kind, repository, credentials
by reference, isolation, restore_test) or *discovered* where no credentials are needed
(``/etc/rsnapshot.conf``, ``veeamconfig``, ``tmutil`` on macOS). Each becomes one entry of
``backup.repositories``; host-level facts summarise them (the record, the summary and the fact
names are the family's, :mod:`probes.backup`, which windows.backup shares).

Facts::

    backup.declared 2      backup.discovered 0      backup.count 2
    backup.repositories [{name, kind, source, repository, status, error, snapshots,
                          first_snapshot_at, last_success_at, last_success_age_days,
                          last_attempt_at, last_attempt_result, size_bytes, size_basis,
                          last_check_at, isolation, restore_test, detail}, ...]
    backup.last_success_at "2026-11-21T02:00:00Z"   backup.last_success_age_days 0.9
    backup.restore_tested_at "2026-10-01"           backup.restore_tested_age_days 52.0
    backup.restore_test_evidence "https://..."
    backup.restore_test_basis "inventory-attestation"
    backup.isolated_copy true

- ``status`` is ``ok``, ``error`` (with ``error``: the reason, e.g. "wrong password", "environment
  variable X is not set", "timed out after 20 s"), or ``offline`` for a repository declared
  ``isolation: offline`` that is not reachable now (that is what offline means: it neither counts
  as an error nor as a recent backup).
- ``backup.last_success_age_days`` is the freshest over all repositories. If any repository
  could not be read, it is an **error** naming that repository and its reason, never a value: a
  broken repository must not hide behind a working one. No backup at all: null.
- ``last_attempt_*``: only where the tool records attempts: borg (a newest archive that is a
  checkpoint means the last run was interrupted), rsnapshot (its log), Veeam (its sessions).
  restic and PBS keep no record of failed runs: null.
- ``last_check_at`` is always null: ``restic check`` and ``borg check`` are expensive and take
  locks, so undone never runs them, and neither tool records when a check last ran.
- ``size_bytes``: restic, the deduplicated data in the repository (``stats --mode raw-data``);
  borg, disk usage of a local repository directory (``du``; ``borg info`` is not run: it opens
  and may rebuild borg's chunk cache, a write); PBS, the newest snapshot's size; else null.
- The restore test is the inventory's attestation (``restore_test: {date, evidence}``), reported as
  such (``restore_test_basis``); the freshest over the host's backups. None: the facts are null,
  and the restore rule fails (never tested is not compliant).
- ``isolated_copy``: a repository declared ``offline``, ``immutable`` or ``separate-credentials``
  that is readable (or offline as declared). Nothing is detected without a declaration: borg's
  ``append_only`` flag in a repository's own config is reported in ``detail`` but not counted,
  since whoever can write the repository can clear it.

**Secrets.** :func:`environment` hands the section, per declared repository, its kind, repository,
password file path (on the target) and the password read from the scanner's environment variable
the inventory names (``password_env``). An unset or empty variable is never sent as an empty
password: the section gets a marker instead, skips the tool, and the repository's error says
"environment variable X is not set". The script passes a password to its one tool in that tool's
environment (``RESTIC_PASSWORD``, ``BORG_PASSPHRASE``, ``PBS_PASSWORD``; a password file as
``RESTIC_PASSWORD_FILE``, ``BORG_PASSCOMMAND``, ``PBS_PASSWORD_FILE``), with the repository too
(``RESTIC_REPOSITORY``, ``BORG_REPO``, ``PBS_REPOSITORY``), never on a command line, and never
prints either.

**Read-only.** restic runs with ``--no-lock --no-cache`` (strace: no file created or written).
borg runs ``list --json --bypass-lock`` with ``BORG_SELFTEST=disabled`` and only for a repository
its security directory already knows as this user (``~/.config/borg/security/<id>``: key-type,
location, manifest-timestamp) with its cache directory in place; otherwise borg would record the
repository (and create those directories) on first access, so it is not run and the repository's
error says why. ``BORG_RELOCATED_REPO_ACCESS_IS_OK=no`` and
``BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=no`` make borg refuse, not record, a moved or unknown
unencrypted repository. What borg 1.2 still does and cannot be told not to (strace): Python's
``tempfile`` creates and removes one small file in ``$TMPDIR`` (``/tmp``) when borg imports its
test helpers at start-up, and where this user has a borg cache for the repository, borg takes and
releases its cache-configuration lock (``lock.exclusive``/``lock.roster`` under
``~/.cache/borg/<id>``, removed before it exits); ``--bypass-lock`` covers the repository lock only.

**Time limits.** Each tool call runs under ``timeout`` (or a shell watchdog where the target has
none): ``tool_timeout()`` seconds, shared out so that every declared repository fits in the
engine's section limit; a tool that hangs gives that repository an error and the rest go on.

**Remote repositories** (sftp:, rest:, s3:, ssh:// for borg, PBS): the tool on the target connects
to the repository the inventory names, as it does when it makes the backups; the section opens no
other connection. Repository strings are reported with any password in a URL masked.

Formats: restic 0.14 and borg 1.2 were tested on real repositories made here; rsnapshot and dated
directories on real directory listings; PBS (``snapshot list`` JSON: ``backup-type``,
``backup-id``, ``backup-time`` in seconds, ``size``, ``protected``) from the Proxmox Backup Server
API type, Veeam Agent's ``session list`` and Time Machine's ``tmutil`` from their documentation
and public examples (not run here; see tests/fixtures/posix/backup/SOURCE.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from probes.backup import (
    ISOLATION,
    MAX_REPOSITORIES,
    PROVIDES,
    entry,
    error,
    redact,
    set_success,
    summarise,
)
from probes.base import Block, Facts, RawSection, guard, iso, parse_utc, split_blocks
from probes.base import lines as text_lines

# PROVIDES and redact are the family's (probes/backup/), named here too
__all__ = ["PROVIDES", "environment", "parse", "redact", "tool_timeout"]


def tool_timeout(declared: int) -> int:
    """Seconds each backup tool may run: shared out so that every declared repository fits in the
    engine's default section limit (60 s), between 5 and 20."""
    return max(5, min(20, 40 // max(1, declared)))


def environment(
    config: Mapping[str, Any], secret: Callable[[str], str | None]
) -> dict[str, str]:
    """Variables for the section's script: per declared backup its kind, repository, password
    file and password (from the scanner's environment variable ``password_env`` names), or a
    marker (``password_env``, never the name) when it is unset or empty."""
    backups = list(config.get("backups") or [])[:MAX_REPOSITORIES]
    env = {"UNDONE_BK_N": str(len(backups)), "UNDONE_BK_TIMEOUT": str(tool_timeout(len(backups)))}
    for i, b in enumerate(backups, 1):
        env[f"UNDONE_BK{i}_KIND"] = str(b.get("kind") or "")
        if b.get("repository"):
            env[f"UNDONE_BK{i}_REPO"] = str(b["repository"])
        if b.get("password_file"):
            env[f"UNDONE_BK{i}_PWFILE"] = str(b["password_file"])
        name = b.get("password_env")
        if name:
            value = secret(str(name))
            if value:
                env[f"UNDONE_BK{i}_SECRET"] = value
            else:
                # a marker, not the name: a secret written into password_env by mistake
                # must reach neither the target nor the section's output (issue 15, L4)
                env[f"UNDONE_BK{i}_NOSECRET"] = "password_env"
    return env



def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    end = blocks.get("end")
    if end is None or end.rc is None:
        facts.error_all(PROVIDES, "posix.backup: output incomplete (no end marker)")
        return
    now = raw.collected_at
    clock = _clock(blocks.get("clock"))
    declared = [dict(b) for b in list(raw.config.get("backups") or [])[:MAX_REPOSITORIES]]
    broken = blocks.get("config_error")
    if broken is not None and declared:
        why = f"the section's settings could not be built: {_first_line(broken.text)}"
        repos = [error(entry(str(b.get("name") or f"backup-{i}"), str(b.get("kind") or ""),
                               "declared", b.get("repository")), why)
                 for i, b in enumerate(declared, 1)]
    else:
        repos = [_declared(i, b, blocks, now, clock) for i, b in enumerate(declared, 1)]
    disc = blocks.get("discovered")
    discovered = 0
    if disc is not None and disc.ok and disc.text.strip().isdigit():
        discovered = int(disc.text.strip())
    repos += [_discovered(j, blocks, now, clock) for j in range(1, discovered + 1)]
    facts.set("backup.declared", len(declared))
    facts.set("backup.discovered", discovered)
    facts.set("backup.count", len(repos))
    facts.set("backup.repositories", repos)
    summarise(repos, now, facts)


# ------------------------------------------------------------------------------------ helpers


class _Clock:
    def __init__(self, offset: timezone, timeout: int) -> None:
        self.offset = offset
        self.timeout = timeout


def _clock(block: Block | None) -> _Clock:
    offset: timezone = UTC
    timeout = 20
    if block is not None and block.ok:
        for line in block.lines():
            s = line.strip()
            m = re.fullmatch(r"([+-])(\d\d)(\d\d)", s)
            if m:
                delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
                offset = timezone(-delta if m.group(1) == "-" else delta)
            elif s.startswith("timeout ") and s[8:].isdigit():
                timeout = int(s[8:])
    return _Clock(offset, timeout)


def _first_line(text: str, prefer: tuple[str, ...] = ()) -> str:
    lines = [ln.strip() for ln in text_lines(text) if ln.strip()]
    for p in prefer:
        for ln in lines:
            if p in ln:
                return ln[:200]
    return lines[0][:200] if lines else ""


def _tool_failure(tool: str, block: Block, clock: _Clock, prefer: tuple[str, ...] = ()) -> str:
    if block.rc is None:
        return f"{tool}: output cut off before it finished"
    if block.rc == 127:
        return f"{tool}: command not found on the target"
    if block.rc == 124:
        slow = "the tool hung or the repository is slow"
        return f"{tool}: timed out after {clock.timeout} s ({slow})"
    detail = _first_line(block.text, prefer)
    return f"{tool}: failed (exit {block.rc})" + (f": {detail}" if detail else "")


def _meta(block: Block | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if block is None or not block.ok:
        return out
    for line in block.lines():
        key, _, value = line.strip().partition(" ")
        if key:
            out[key] = value
    return out


def _credentials(r: dict[str, Any], meta: dict[str, str], needed: bool) -> bool:
    """False (and the entry in error) when the repository's credentials are not usable."""
    state = meta.get("secret", "")
    if state.startswith("missing "):
        # not named: a secret written into password_env by mistake would reach every report
        error(r, "the environment variable named by this backup's password_env is not set "
                  "on the scanner; the repository was not read")
        return False
    pwfile = meta.get("password_file")
    if state != "set" and pwfile in ("unreadable", "absent"):
        error(r, f"password file {'not readable' if pwfile == 'unreadable' else 'not found'}"
                  " on the target (password_file of this backup)")
        return False
    if needed and state != "set" and pwfile is None:
        error(r, "no password declared (password_env or password_file): the repository is "
                  "encrypted and cannot be read without one")
        return False
    return True


# ------------------------------------------------------------------------------ declared


def _declared(
    i: int, decl: dict[str, Any], blocks: dict[str, Block], now: datetime, clock: _Clock
) -> dict[str, Any]:
    kind = str(decl.get("kind") or "")
    repo = decl.get("repository")
    r = entry(str(decl.get("name") or f"{kind}-{i}"), kind, "declared", repo)
    r["isolation"] = decl.get("isolation") if decl.get("isolation") in ISOLATION else None
    rt = decl.get("restore_test")
    if isinstance(rt, Mapping) and rt.get("date"):
        r["restore_test"] = {"date": str(rt["date"]), "evidence": rt.get("evidence")}
    prefix = f"bk{i}"
    meta = _meta(blocks.get(f"{prefix}.meta"))
    if not meta:
        return error(r, "not read: the section's output for this backup is missing")
    readers: dict[str, Callable[[dict[str, Any], str, dict[str, Block], datetime, _Clock], None]]
    readers = {
        "restic": _restic,
        "borg": _borg,
        "rsnapshot": _rsnapshot,
        "directory": _directory,
        "pbs": _pbs,
        "veeam": _veeam,
        "timemachine": _timemachine,
    }
    if kind == "windows-server-backup":
        return error(r, "windows-server-backup is read by the Windows sections, not posix.backup")
    if kind not in readers:
        return error(r, f"backup kind {kind!r} is not supported by posix.backup")
    needs_password = kind in ("restic", "pbs")
    if kind in ("restic", "borg", "pbs") and not _credentials(r, meta, needs_password):
        return r
    readers[kind](r, prefix, blocks, now, clock)
    if r["status"] == "error" and r["isolation"] == "offline" and r["detail"].get("unreachable"):
        r["status"] = "offline"
    return r


def _discovered(j: int, blocks: dict[str, Block], now: datetime, clock: _Clock) -> dict[str, Any]:
    prefix = f"d{j}"
    meta = _meta(blocks.get(f"{prefix}.meta"))
    kind = meta.get("kind", "")
    r = entry(f"{kind} (found: {meta.get('from', '?')})", kind, "discovered",
               meta.get("repository"))
    if kind == "rsnapshot":
        _rsnapshot(r, prefix, blocks, now, clock)
    elif kind == "veeam":
        _veeam(r, prefix, blocks, now, clock)
    elif kind == "timemachine":
        _timemachine(r, prefix, blocks, now, clock)
    else:
        error(r, f"discovered backup of unknown kind {kind!r}")
    return r


# --------------------------------------------------------------------------------- restic


def _json_line(text: str, opener: str) -> Any:
    """The JSON document that starts the first line beginning with ``opener`` (the tools print
    warnings before it). Read from the whole text, never from lines cut at MAX_LINE (restic
    writes all its snapshots on one line), and whether it spans one line or several (the same
    output pretty-printed, as restic's documentation shows it)."""
    pos = 0
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith(opener):
            start = pos + line.index(opener)
            value, _ = json.JSONDecoder().raw_decode(text, start)
            return value
        pos += len(line) + 1
    raise ValueError(f"no JSON {opener!r} in the output")


def _restic(
    r: dict[str, Any], prefix: str, blocks: dict[str, Block], now: datetime, clock: _Clock
) -> None:
    block = blocks.get(f"{prefix}.snapshots")
    if block is None:
        error(r, "restic: not run (output incomplete)")
        return
    if not block.ok:
        reason = _tool_failure("restic snapshots", block, clock, ("Fatal:",))
        if "wrong password" in block.text:
            reason = "wrong password: " + reason
        elif "unable to open config file" in block.text or "does not exist" in block.text:
            reason = "repository not found: " + reason
            r["detail"]["unreachable"] = True
        error(r, reason)
        return
    try:
        snaps = _json_line(block.text, "[")
    except ValueError as e:
        if any(ln.strip() == "null" for ln in block.lines()):
            snaps = []  # restic before 0.11 prints null for no snapshots (restic issue #2979)
        else:
            error(r, f"restic snapshots: unexpected output ({e}): {_first_line(block.text)!r}")
            return
    damaged = [ln.strip() for ln in block.lines() if "could not load snapshot" in ln]
    if damaged:
        # restic skips a snapshot it cannot decrypt and still exits 0: never a pass on that
        error(r, f"repository damaged: restic could not load {len(damaged)} snapshot(s): "
                  f"{damaged[0][:160]}")
        return
    times = sorted(t for t in (parse_utc(str(s.get("time", ""))) for s in snaps) if t)
    r["snapshots"] = len(snaps)
    r["first_snapshot_at"] = iso(times[0]) if times else None
    set_success(r, times[-1] if times else None, now)
    r["detail"]["hosts"] = sorted({str(s.get("hostname")) for s in snaps if s.get("hostname")})
    stats = blocks.get(f"{prefix}.stats")
    if stats is not None and stats.ok:
        try:
            total = _json_line(stats.text, "{").get("total_size")
            if isinstance(total, int):
                r["size_bytes"] = total
                r["size_basis"] = "restic stats --mode raw-data"
        except ValueError:
            r["detail"]["size_error"] = "restic stats: unexpected output"
    elif stats is not None:
        r["detail"]["size_error"] = _tool_failure("restic stats", stats, clock, ("Fatal:",))


# ----------------------------------------------------------------------------------- borg

_CHECKPOINT = re.compile(r"\.checkpoint(\.\d+)?$")


def _borg(
    r: dict[str, Any], prefix: str, blocks: dict[str, Block], now: datetime, clock: _Clock
) -> None:
    known = _meta(blocks.get(f"{prefix}.known"))
    listing = blocks.get(f"{prefix}.list")
    if listing is not None and listing.missing:
        error(r, "borg: command not found on the target")
        return
    if not known:
        error(r, "borg: not run (output incomplete)")
        return
    repo_state = known.get("repository", "")
    if repo_state == "absent":
        r["detail"]["unreachable"] = True
        error(r, "repository not found on the target")
        return
    if repo_state == "unreadable":
        error(r, "repository not readable as this user (permission denied on its config); run "
                  "the scan as the user that makes the backups (become)")
        return
    if repo_state == "no-id":
        error(r, "repository config has no id: damaged, or not a borg repository")
        return
    if repo_state == "not-a-repository":
        error(r, "not a borg repository (it has no config file)")
        return
    if "append_only" in known:
        r["detail"]["append_only"] = known["append_only"].strip().lstrip("= ").strip() == "1"
    security = known.get("security", "")
    if security.startswith("unknown"):
        where = security[len("unknown") :].strip()
        error(r, "borg has no record of this repository for this user "
                  f"({where or 'its security directory'}); reading it would make borg write one, "
                  "so it was not read: scan as the user that makes the backups (become), or run "
                  "`borg list` once as this user")
        return
    if known.get("dirs", "").startswith("missing"):
        error(r, "borg's config or cache directory is missing for this user "
                  f"({known['dirs'][8:]}); borg would create it, so the repository was not read")
        return
    if listing is None:
        error(r, "borg: not run (output incomplete)")
        return
    if not listing.ok:
        reason = _tool_failure("borg list", listing, clock, ("Error:", "Exception:"))
        text = listing.text
        if "passphrase supplied" in text and "incorrect" in text:
            reason = "wrong passphrase: " + reason
        elif "does not exist" in text:
            reason = "repository not found: " + reason
            r["detail"]["unreachable"] = True
        elif "previously located at" in text:
            reason = "repository moved (borg refuses, not records, the new location): " + reason
        error(r, reason)
        return
    start = listing.text.find("{")
    try:
        data = json.loads(listing.text[start:]) if start >= 0 else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("archives"), list):
        error(r, f"borg list: unexpected output: {_first_line(listing.text)!r}")
        return
    archives = []
    for a in data["archives"]:
        when = parse_utc(str(a.get("time") or a.get("start") or ""))  # TZ=UTC: naive is UTC
        if when is not None:
            archives.append((when, bool(_CHECKPOINT.search(str(a.get("name", ""))))))
    archives.sort()
    complete = [t for t, cp in archives if not cp]
    r["snapshots"] = len(complete)
    r["first_snapshot_at"] = iso(complete[0]) if complete else None
    set_success(r, complete[-1] if complete else None, now)
    if archives:
        r["last_attempt_at"] = iso(archives[-1][0])
        r["last_attempt_result"] = "interrupted" if archives[-1][1] else "ok"
    r["detail"]["checkpoints"] = len(archives) - len(complete)
    du = blocks.get(f"{prefix}.du")
    if du is not None and du.ok:
        m = re.match(r"^(\d+)\s", du.text.strip())
        if m:
            r["size_bytes"] = int(m.group(1)) * 1024
            r["size_basis"] = "disk usage of the repository directory (du -sk)"


# ---------------------------------------------------------------- rsnapshot and directories


def _tree(
    r: dict[str, Any], block: Block | None, what: str
) -> list[tuple[datetime | None, str]] | None:
    if block is None:
        error(r, f"{what}: not read (output incomplete)")
        return None
    if block.absent:
        r["detail"]["unreachable"] = True
        error(r, f"{what}: {_first_line(block.text) or 'not found on the target'}")
        return None
    if not block.ok:
        error(r, f"{what}: {_first_line(block.text) or block.why(what)}")
        return None
    out: list[tuple[datetime | None, str]] = []
    for line in block.lines():
        epoch, sep, name = line.partition("\t")
        if not sep:
            continue
        when = datetime.fromtimestamp(int(epoch), UTC) if epoch.strip().isdigit() else None
        out.append((when, name))
    return out


def _rsnap_line(line: str) -> tuple[str, str] | None:
    """(time text, what) of an rsnapshot log line ``[TIME] /usr/bin/rsnapshot [-c FILE ...]
    INTERVAL: WHAT``; None for its other lines (the commands it logs at higher verbosity)."""
    if not line.startswith("["):
        return None
    when, sep, rest = line[1:].partition("]")
    head, sep2, what = rest.partition(": ")
    words = head.split()
    if not sep or not sep2 or len(words) < 2 or not words[0].endswith("rsnapshot"):
        return None
    if not re.fullmatch(r"[A-Za-z0-9_-]+", words[-1]):
        return None
    return when, what.strip()


def _rsnap_time(text: str, offset: timezone) -> datetime | None:
    for fmt in ("%d/%b/%Y:%H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=offset).astimezone(UTC)
        except ValueError:
            continue
    return None


def _rsnapshot(
    r: dict[str, Any], prefix: str, blocks: dict[str, Block], now: datetime, clock: _Clock
) -> None:
    entries = _tree(r, blocks.get(f"{prefix}.tree"), "rsnapshot snapshot_root")
    if entries is None:
        return
    snaps = [(t, n) for t, n in entries if re.fullmatch(r"[A-Za-z0-9_-]+\.\d+", n)]
    r["snapshots"] = len(snaps)
    latest = [t for t, n in snaps if n.endswith(".0") and t is not None]
    # rsnapshot sets the mtime of <interval>.0 to when that backup ran
    set_success(r, max(latest) if latest else None, now)
    dated = sorted(t for t, _ in snaps if t is not None)
    r["first_snapshot_at"] = iso(dated[0]) if dated else None
    r["detail"]["success_basis"] = "mtime of <interval>.0, which rsnapshot sets after each run"
    log = blocks.get(f"{prefix}.log")
    if log is not None and log.ok:
        last: tuple[datetime, str] | None = None
        for line in log.lines():
            parts = _rsnap_line(line.strip())
            if parts is None:
                continue
            when = _rsnap_time(parts[0], clock.offset)
            what = parts[1]
            if when is None:
                continue
            if what.startswith("completed successfully"):
                last = (when, "ok")
            elif what.startswith("completed, but with some warnings"):
                last = (when, "warnings")
            elif what.startswith("ERROR"):
                last = (when, "failed")
            elif what.startswith("started"):
                last = (when, "running or interrupted")
        if last is not None:
            r["last_attempt_at"] = iso(last[0])
            r["last_attempt_result"] = last[1]
    elif log is not None:
        r["detail"]["log_error"] = log.why("rsnapshot log")


_DATED = re.compile(
    r"(?P<y>20\d\d)-?(?P<m>[01]\d)-?(?P<d>[0-3]\d)"
    r"(?:[T_ .-]?(?P<H>[0-2]\d)[:.-]?(?P<M>[0-5]\d)(?:[:.-]?(?P<S>[0-5]\d))?)?"
)


def _name_date(name: str, offset: timezone) -> datetime | None:
    m = _DATED.search(name)
    if not m:
        return None
    try:
        return datetime(
            int(m["y"]), int(m["m"]), int(m["d"]),
            int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0), tzinfo=offset,
        ).astimezone(UTC)
    except ValueError:
        return None


def _directory(
    r: dict[str, Any], prefix: str, blocks: dict[str, Block], now: datetime, clock: _Clock
) -> None:
    entries = _tree(r, blocks.get(f"{prefix}.tree"), "backup directory")
    if entries is None:
        return
    # a date after the collection (a day of clock skew allowed) is no backup made yet: a name
    # anybody who can write the folder may choose; it never counts, and the detail says so
    latest = now + timedelta(days=1)
    named_all = [d for d in (_name_date(n, clock.offset) for _, n in entries) if d is not None]
    named = [d for d in named_all if d <= latest]
    if named_all:
        times = sorted(named)
        r["detail"]["success_basis"] = "dates in the entries' names (target's local time)"
        future = len(named_all) - len(named)
    else:
        mtimes = [t for t, _ in entries if t is not None]
        times = sorted(t for t in mtimes if t <= latest)
        r["detail"]["success_basis"] = "modification times (no dated names)"
        future = len(mtimes) - len(times)
    if future:
        r["detail"]["future_dated_entries_ignored"] = future
    r["snapshots"] = len(times)
    r["first_snapshot_at"] = iso(times[0]) if times else None
    set_success(r, times[-1] if times else None, now)


# ------------------------------------------------------------------------------------ PBS


def _pbs(
    r: dict[str, Any], prefix: str, blocks: dict[str, Block], now: datetime, clock: _Clock
) -> None:
    block = blocks.get(f"{prefix}.snapshots")
    if block is None:
        error(r, "proxmox-backup-client: not run (output incomplete)")
        return
    if not block.ok:
        error(r, _tool_failure("proxmox-backup-client snapshot list", block, clock, ("Error",)))
        return
    try:
        snaps = _json_line(block.text, "[")
    except ValueError as e:
        error(r, f"proxmox-backup-client: unexpected output ({e})")
        return
    rows = [s for s in snaps if isinstance(s, dict) and isinstance(s.get("backup-time"), int)]
    rows.sort(key=lambda s: s["backup-time"])
    r["snapshots"] = len(rows)
    if rows:
        r["first_snapshot_at"] = iso(datetime.fromtimestamp(rows[0]["backup-time"], UTC))
        set_success(r, datetime.fromtimestamp(rows[-1]["backup-time"], UTC), now)
        if isinstance(rows[-1].get("size"), int):
            r["size_bytes"] = rows[-1]["size"]
            r["size_basis"] = "size of the newest snapshot (PBS)"
        r["detail"]["protected"] = sum(1 for s in rows if s.get("protected") is True)
        r["detail"]["groups"] = sorted(
            {f"{s.get('backup-type')}/{s.get('backup-id')}" for s in rows}
        )


# ---------------------------------------------------------------------------------- Veeam

_VEEAM_TIME = re.compile(r"\b(20\d\d-\d\d-\d\d \d\d:\d\d(?::\d\d)?)\b")
_VEEAM_STATES = ("Success", "Warning", "Failed", "Running", "Stopped", "Canceled", "Cancelled")


def _veeam(
    r: dict[str, Any], prefix: str, blocks: dict[str, Block], now: datetime, clock: _Clock
) -> None:
    block = blocks.get(f"{prefix}.sessions")
    if block is None or not block.ok:
        error(r, _tool_failure("veeamconfig session list", block or Block("", None), clock))
        return
    sessions: list[tuple[datetime, datetime | None, str]] = []
    for line in block.lines():
        times = _VEEAM_TIME.findall(line)
        state = next((s for s in _VEEAM_STATES if re.search(rf"\b{s}\b", line)), None)
        if not times or state is None:
            continue
        parsed = []
        for t in times:
            fmt = "%Y-%m-%d %H:%M:%S" if t.count(":") == 2 else "%Y-%m-%d %H:%M"
            parsed.append(datetime.strptime(t, fmt).replace(tzinfo=clock.offset).astimezone(UTC))
        sessions.append((parsed[0], parsed[1] if len(parsed) > 1 else None, state))
    r["detail"]["format"] = "unverified: parsed leniently (date and state per line)"
    if not sessions and block.text.strip():
        if re.search(r"\b(no sessions|Total amount: 0)\b", block.text, re.I):
            r["snapshots"] = 0
            return
        error(r, "veeamconfig session list: no session recognised in its output "
                  f"({_first_line(block.text)!r}); undone has no verified sample of this format")
        return
    sessions.sort()
    ok = [end or start for start, end, state in sessions if state in ("Success", "Warning")]
    r["snapshots"] = len(ok)
    set_success(r, max(ok) if ok else None, now)
    if sessions:
        start, _, state = sessions[-1]
        r["last_attempt_at"] = iso(start)
        r["last_attempt_result"] = state.lower()


# --------------------------------------------------------------------------- Time Machine

_TM_NAME = re.compile(r"(\d{4}-\d\d-\d\d-\d{6})(?:\.backup)?/?$")


def _tm_time(path: str, offset: timezone) -> datetime | None:
    m = _TM_NAME.search(path.strip())
    if not m:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%d-%H%M%S").replace(tzinfo=offset).astimezone(UTC)


def _timemachine(
    r: dict[str, Any], prefix: str, blocks: dict[str, Block], now: datetime, clock: _Clock
) -> None:
    latest = blocks.get(f"{prefix}.latest")
    if latest is None:
        error(r, "tmutil: not run (output incomplete)")
        return
    text = latest.text.strip()
    when = _tm_time(text_lines(text)[-1], clock.offset) if text else None
    if when is None:
        reason = _tool_failure("tmutil latestbackup", latest, clock)
        if latest.ok:
            reason = f"tmutil latestbackup: no backup path in its output ({_first_line(text)!r})"
        if "mount" in text.lower() or "not available" in text.lower():
            r["detail"]["unreachable"] = True
        error(r, reason)
        return
    set_success(r, when, now)
    listing = blocks.get(f"{prefix}.list")
    if listing is not None and listing.ok:
        times = sorted(t for t in (_tm_time(ln, clock.offset) for ln in listing.lines()) if t)
        r["snapshots"] = len(times) or None
        r["first_snapshot_at"] = iso(times[0]) if times else None
    dest = blocks.get(f"{prefix}.destinations")
    if dest is not None and dest.ok:
        kinds = re.findall(r"^Kind[ \t]*:[ \t]*(\S+)", dest.text, re.M)
        if kinds:
            r["detail"]["destination_kinds"] = kinds
