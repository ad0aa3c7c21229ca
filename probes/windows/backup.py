"""windows.backup: Windows Server Backup and Veeam, in the ``backup.*`` facts of the family
:mod:`probes.backup` (same names, same meaning as posix.backup: see :mod:`probes.posix.backup`).

* **Windows Server Backup** (``Get-WBSummary``, fields as Microsoft documents them): the last
  successful backup, the last attempt and its result (``LastBackupResultHR``, 0 is success), the
  number of versions kept. Found by itself when the feature is installed and a backup policy is
  set or a backup has run; declared in the inventory as ``kind: windows-server-backup``.
* **Veeam Backup & Replication** (its PowerShell module, on the backup server): one entry per job,
  with the job's last session and its newest successful one (Success or Warning). A declared
  ``kind: veeam`` whose ``name`` or ``repository`` is a job's name is that job; otherwise it
  stands for all the jobs found (the newest success of any).
* **Veeam Agent for Microsoft Windows**: recognised as installed; its job results are not read
  (no output of it was verified), so its entry is an error saying so, never a value.

Restore tests and isolation come from the inventory's declarations, as on Linux.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from probes.backup import (
    ISOLATION,
    MAX_REPOSITORIES,
    PROVIDES,
    entry,
    error,
    set_success,
    summarise,
)
from probes.base import Facts, RawSection, guard, iso
from probes.windows._json import document, listed, number, read, when

__all__ = ["PROVIDES", "parse"]

_KINDS = ("windows-server-backup", "veeam")


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    doc = document(raw)
    now = raw.collected_at
    declared = [dict(b) for b in list(raw.config.get("backups") or [])[:MAX_REPOSITORIES]]
    wsb, wsb_why = read(doc, "wsb", "Get-WBSummary")
    veeam, veeam_why = read(doc, "veeam", "Veeam Backup & Replication")
    agent, _ = read(doc, "veeam_agent", "Veeam Agent")
    jobs = (
        [j for j in listed((veeam or {}).get("jobs")) if isinstance(j, dict)]
        if isinstance(veeam, dict)
        else []
    )
    claimed: set[str] = set()
    repos: list[dict[str, Any]] = []
    wsb_used = False
    for i, decl in enumerate(declared, 1):
        kind = str(decl.get("kind") or "")
        r = entry(str(decl.get("name") or f"{kind}-{i}"), kind, "declared", decl.get("repository"))
        r["isolation"] = decl.get("isolation") if decl.get("isolation") in ISOLATION else None
        rt = decl.get("restore_test")
        if isinstance(rt, Mapping) and rt.get("date"):
            r["restore_test"] = {"date": str(rt["date"]), "evidence": rt.get("evidence")}
        if kind == "windows-server-backup":
            wsb_used = True
            _wsb(r, wsb, wsb_why, now)
        elif kind == "veeam":
            _veeam_declared(r, decl, jobs, veeam, veeam_why, agent, claimed, now)
        else:
            error(r, f"backup kind {kind!r} is not read on Windows (only {', '.join(_KINDS)})")
        repos.append(r)
    discovered = 0
    if not wsb_used and isinstance(wsb, dict) and (wsb.get("policy") or wsb.get("last_backup")):
        r = entry("windows-server-backup", "windows-server-backup", "discovered", None)
        _wsb(r, wsb, None, now)
        repos.append(r)
        discovered += 1
    for job in jobs:
        name = str(job.get("name") or "")
        if name in claimed:
            continue
        r = entry(name or "veeam-job", "veeam", "discovered", None)
        _veeam_job(r, job, now)
        repos.append(r)
        discovered += 1
    if agent is True and not any(r["kind"] == "veeam" for r in repos):
        r = entry("veeam-agent", "veeam", "discovered", None)
        error(
            r,
            "Veeam Agent for Microsoft Windows is installed; its job results are not read "
            "by undone yet (declare and check it on its Veeam server instead)",
        )
        repos.append(r)
        discovered += 1
    facts.set("backup.declared", len(declared))
    facts.set("backup.discovered", discovered)
    facts.set("backup.count", len(repos))
    facts.set("backup.repositories", repos)
    summarise(repos, now, facts)
    # a backup tool that could not be read may hold backups nobody declared: "none found"
    # would be a guess
    unread = [w for w, used in ((wsb_why, wsb_used), (veeam_why, False)) if w and not used]
    if unread:
        reason = "backups could not be looked for: " + "; ".join(unread)
        for name in ("backup.discovered", "backup.count"):
            facts.error(name, reason[:300])
        if not repos:
            for name in ("backup.last_success_at", "backup.last_success_age_days"):
                facts.error(name, reason[:300])


def _wsb(r: dict[str, Any], wsb: Any, why: str | None, now: datetime) -> None:
    if why is not None:
        error(r, why)
        return
    if not isinstance(wsb, dict):
        error(r, "Windows Server Backup is not installed (no Get-WBSummary)")
        return
    last = when(wsb.get("last_success"))
    set_success(r, last, now)
    r["snapshots"] = number(wsb.get("versions"))
    r["repository"] = wsb.get("target") or r["repository"]
    attempt = when(wsb.get("last_backup"))
    r["last_attempt_at"] = iso(attempt)
    hr = number(wsb.get("last_result_hr"))
    if attempt is not None and hr is not None:
        r["last_attempt_result"] = "success" if hr == 0 else f"failed (0x{hr & 0xFFFFFFFF:08X})"
    r["detail"] = {"policy": wsb.get("policy"), "next_backup": wsb.get("next_backup")}


def _veeam_job(r: dict[str, Any], job: dict[str, Any], now: datetime) -> None:
    set_success(r, when(job.get("last_success")), now)
    r["last_attempt_at"] = iso(when(job.get("last_end")))
    result = str(job.get("last_result") or "").strip().lower()
    r["last_attempt_result"] = result or None
    r["detail"] = {"job_type": job.get("type"), "schedule_enabled": job.get("enabled")}


def _veeam_declared(
    r: dict[str, Any],
    decl: dict[str, Any],
    jobs: list[dict[str, Any]],
    veeam: Any,
    why: str | None,
    agent: Any,
    claimed: set[str],
    now: datetime,
) -> None:
    if why is not None:
        error(r, why)
        return
    if not jobs:
        if agent is True:
            error(
                r,
                "Veeam Agent for Microsoft Windows is installed; its job results are not "
                "read by undone yet",
            )
        elif veeam is None:
            error(r, "Veeam Backup & Replication's PowerShell module is not on this host")
        else:
            error(r, "Veeam Backup & Replication has no jobs")
        return
    wanted = {str(decl.get(k)) for k in ("name", "repository") if decl.get(k)}
    match = [j for j in jobs if str(j.get("name")) in wanted]
    if match:
        claimed.add(str(match[0].get("name")))
        _veeam_job(r, match[0], now)
        return
    claimed.update(str(j.get("name")) for j in jobs)
    successes = [d for d in (when(j.get("last_success")) for j in jobs) if d is not None]
    set_success(r, max(successes) if successes else None, now)
    latest = max(jobs, key=lambda j: str(j.get("last_end") or ""))
    r["last_attempt_at"] = iso(when(latest.get("last_end")))
    r["last_attempt_result"] = str(latest.get("last_result") or "").lower() or None
    r["detail"] = {"jobs": [j.get("name") for j in jobs]}
