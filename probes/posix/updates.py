"""posix.updates: pending updates, security fixes and their age, reboot, automatic updates.

**apt** (Debian, Ubuntu). ``apt-get -s dist-upgrade`` is a simulation run with no lock and no
binary cache, so it writes nothing. Each ``Inst`` line names the pockets the candidate comes
from, for example ``(1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security
[amd64])``; an update is a security update when one of its pockets has an archive ending in
``-security`` or a label containing ``Security``. Every pending update is recorded with its
pockets (``source``), because Debian also ships fixes through point releases, and with its
source package and versions as dpkg knows them (``source_package``, ``source_installed``,
``source_candidate``: advisories name source packages) and the release (``updates.os_release``).

apt gives no release date for an update. The ``Date:`` of the Release file of the pocket an
update comes from, as the target last fetched it, bounds its age from below (the update was in
that pocket when the file was made): each security update gets ``issued`` (that date) and
``basis`` ``"lower-bound"``. The scanner then dates it exactly where it can, from the advisories
or the scan history (scanner/engine/dating.py), and derives the age facts again with
:func:`age_facts`.

**dnf** (RHEL, Rocky, Alma, Fedora with dnf 4). Cache-only (``-C``) ``check-update`` (exit code
100 when updates are pending), ``updateinfo list --security`` (advisory, severity, package) and
``updateinfo info --security`` (the advisory date). Each command's standard error is kept apart
(``<block>_stderr``), so a warning is never read as data; its ``Error:`` line names a failure.
A package in several advisories (the kernel) keeps them all (``advisories``), the highest
severity, and is dated by the oldest advisory. dnf 4 prints that date as ``Updated``: libsolv
keeps the later of the advisory's issued and updated dates, so the age from it is again a lower
bound. dnf 5, yum, zypper and apk are recognised and reported as not supported yet.

Facts (apt example)::

    updates.manager "apt"            updates.pending_count 135     updates.security_count 23
    updates.os_release {"id": "debian", "version_id": "12", "codename": "bookworm"}
    updates.pending [{package, arch, installed, candidate, source, security, severity,
                      advisory, issued, basis, source_package, source_installed,
                      source_candidate}, ...]
    updates.security_packages ["libssl3", ...]
    updates.security_age_days 2.0    updates.security_age_basis "lower-bound"
    updates.security_since "2026-11-20T00:12:41Z"   (the date the age is counted from)
    updates.metadata_date "2026-11-20T02:11:10Z"    updates.metadata_age_days 2.0
    updates.reboot_required false    updates.reboot_packages []
    updates.auto_tool null           updates.auto_configured false
    updates.auto_timer_enabled true  updates.auto_timers {"apt-daily-upgrade.timer": "enabled"}

``security_age_days`` is 0.0 when nothing is pending. It is the age of the oldest pending
security update, exact only when every one of them is dated exactly; otherwise it is a lower
bound and its basis (``Facts.basis``) says how many are undated, why, and what would date them:
a rule can fail on it, never pass.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from probes import updates as family
from probes.base import (
    Block,
    Facts,
    RawSection,
    age_days,
    guard,
    inner_exit,
    iso,
    split_blocks,
)

PROVIDES = (*family.PROVIDES, "updates.os_release", "updates.security_metadata_date",
            "updates.security_metadata_age_days")

_PENDING = (
    "updates.pending_count",
    "updates.security_count",
    "updates.pending",
    "updates.security_packages",
)
_SECURITY = ("updates.security_count", "updates.security_packages")
_SEC_METADATA = ("updates.security_metadata_date", "updates.security_metadata_age_days")
_AGE = ("updates.security_age_days", "updates.security_age_basis", "updates.security_since")
_METADATA = ("updates.metadata_date", "updates.metadata_age_days")
_AUTO = (
    "updates.auto_tool",
    "updates.auto_configured",
    "updates.auto_timer_enabled",
    "updates.auto_timers",
)
_REBOOT = ("updates.reboot_required", "updates.reboot_packages")
_UNSUPPORTED = {"dnf5", "yum", "zypper", "apk", "pkg"}

# systemctl is-enabled states: which mean "will run", which mean "will not".
_ENABLED = {"enabled", "enabled-runtime", "generated", "transient"}
_NOT_ENABLED = {
    "disabled",
    "masked",
    "masked-runtime",
    "not-found",
    "static",
    "indirect",
    "linked",
    "linked-runtime",
    "bad",
}


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    mb = blocks.get("manager")
    if mb is None or mb.rc is None:
        facts.error_all(PROVIDES, "package manager: no output from the target")
        return
    manager = next((ln.strip() for ln in mb.lines() if ln.strip()), "") or None
    facts.set("updates.manager", manager)
    rest = [n for n in PROVIDES if n != "updates.manager"]
    if manager is None:
        facts.error_all(rest, "no supported package manager (apt or dnf) on the target")
    elif manager in _UNSUPPORTED:
        facts.error_all(rest, f"{manager}: not supported by undone yet (apt and dnf 4 are)")
    elif manager == "apt":
        _apt(blocks, raw.collected_at, facts)
    elif manager == "dnf":
        found = _os_release(blocks.get("os_release"), [])
        if any(found.values()):
            facts.set("updates.os_release", found)
        else:
            facts.error("updates.os_release", "release not known: /etc/os-release not read")
        _dnf(blocks, raw.collected_at, facts)
    else:
        facts.error_all(rest, f"unknown package manager {manager[:40]!r}")


# --------------------------------------------------------------------------------------- apt

_SUMMARY_RE = re.compile(r"([0-9]{1,9}) upgraded, ([0-9]{1,9}) newly installed")
_SUMMARY3_RE = re.compile(r"[ \t]*Upgrading: ([0-9]{1,9}), Installing: ([0-9]{1,9})")
_LINE_CAP = 2000  # longer lines are cut before they are looked at (linear, bounded work)


def _pocket(entry: str) -> dict[str, str | None]:
    """``Label:version/archive`` (``Debian-Security:12/oldstable-security``); the label and the
    version may be missing. Linear: two partitions, no pattern."""
    e = entry.strip()
    label: str | None = None
    head, colon, tail = e.partition(":")
    if colon and "/" not in head:
        label, e = head, tail
    version: str | None = None
    head, slash, tail = e.partition("/")
    if slash:
        version, e = head, tail
    return {"label": label, "version": version, "archive": e}


def _is_security(pocket: dict[str, str | None]) -> bool:
    archive = pocket.get("archive") or ""
    label = pocket.get("label") or ""
    return archive.endswith("-security") or "security" in label.lower()


def _inst(line: str) -> tuple[str, str | None, str, str, str] | None:
    """``Inst name [installed] (candidate origin, origin [arch])`` -> its parts, or None.
    Partitions only (no backtracking pattern), so a hostile line costs its length."""
    rest = line[5:]
    name, sep, rest = rest.partition(" ")
    if not sep or not name:
        return None
    installed: str | None = None
    if rest.startswith("["):
        installed, sep, rest = rest[1:].partition("] ")
        if not sep or " " in installed:
            return None
    if not rest.startswith("("):
        return None
    candidate, sep, rest = rest[1:].partition(" ")
    end = rest.find("])")
    if not sep or not candidate or end < 0:
        return None
    origins, sep, arch = rest[:end].rpartition(" [")
    if not sep or not origins or not arch or " " in arch:
        return None
    return name, installed, candidate, origins, arch


def _apt(blocks: dict[str, Block], now: datetime, facts: Facts) -> None:
    rel, src = blocks.get("apt_releases"), blocks.get("apt_sources")
    if rel is None or rel.rc is None or (src is not None and src.rc is None):
        # the pending list is dated and sourced from the blocks after it: a cut there would
        # leave a different list, not a shorter one
        facts.error_all([*_PENDING, *_AGE, *_METADATA, *_SEC_METADATA, "updates.os_release"],
                        "output cut off before the package lists were read")
        _reboot_debian(blocks, facts)
        _apt_auto(blocks, facts)
        return
    releases = _apt_releases(rel, now, facts)
    _apt_security_metadata(releases if rel.ok else None, now, facts)
    os_release = _os_release(blocks.get("os_release"), releases)
    if any(os_release.values()):
        facts.set("updates.os_release", os_release)
    else:
        facts.error("updates.os_release", "release not known: /etc/os-release not read and no "
                    "security pocket names it")
    pending = _apt_pending(blocks.get("apt_simulate"), blocks.get("apt_sources"), facts)
    unknown = (_apt_security_unknown(releases if rel.ok else None, pending)
               if pending is not None else None)
    if pending is not None and unknown:
        # the simulation ran, but what it says cannot be split into security fixes and others
        # (or, with no lists at all, shows nothing): a 0 here would pass CE-SU-002 falsely
        why, nothing_known = unknown
        facts.error_all(_PENDING if nothing_known else _SECURITY, why)
        facts.error_all(_AGE, why)
        if not nothing_known:
            facts.set("updates.pending", [{k: v for k, v in p.items() if not k.startswith("_")}
                                          | {"security": None} for p in pending])
    elif pending is not None:
        for p in pending:
            if p["security"]:
                found = [d for d in (_pocket_date(k, releases) for k in p["_pockets"]) if d]
                # the update is in each of its security pockets, each file's Date bounds its
                # release from above: the oldest of them bounds the age from below
                p["issued"] = iso(min(found)) if found else None
                p["basis"] = "lower-bound" if found else None
        undated = sorted({str(k.get("archive")) for p in pending if p["security"]
                          and p["issued"] is None for k in p["_pockets"]})
        why = ("no dated Release file in /var/lib/apt/lists for " + ", ".join(undated)[:150]
               if undated else "")
        public = [{k: v for k, v in p.items() if not k.startswith("_")} for p in pending]
        facts.set("updates.pending", public)
        age_facts(public, now, facts, detail=why, fix=APT_FIX)
    else:
        facts.error_all(_AGE, facts.errors.get("updates.pending", "apt-get -s: no result"))
    _reboot_debian(blocks, facts)
    _apt_auto(blocks, facts)


def _apt_security_unknown(releases: list[dict[str, Any]] | None,
                          pending: list[dict[str, Any]]) -> tuple[str, bool] | None:
    """Why apt's pending list cannot say how many security fixes wait (and whether it cannot
    say what is pending at all), or None when it can. A count of 0 is untrue when apt's lists
    were never fetched (the simulation then sees nothing to upgrade) or when no source is a
    security repository (every pending update then looks like an ordinary one, as on
    derivatives that ship their fixes in the main archive)."""
    if any(p["security"] for p in pending):
        return None  # a security source is there, and the fixes from it are counted
    if releases is None:
        return ("the Release files in /var/lib/apt/lists could not be read, so undone cannot "
                "tell whether any of apt's sources is a security repository", False)
    dated = [r for r in releases if r.get("date")]
    if not dated and not pending:
        return ("apt's package lists were never fetched (no dated Release file in "
                "/var/lib/apt/lists), so apt cannot see which updates are waiting; run "
                "`apt-get update` on the host and check that its sources can be reached", True)
    if not pending:
        return None
    if any(_release_is_security(r) for r in dated):
        return None
    n = len(pending)
    where = ("no dated Release file in /var/lib/apt/lists" if not dated else
             "no -security suite or Security label among the Release files in "
             "/var/lib/apt/lists")
    return (f"none of apt's sources is known to be a security repository ({where}), so undone "
            f"cannot tell which of the {n} pending update{'s' if n != 1 else ''} "
            f"{'are security fixes' if n != 1 else 'is a security fix'}; add the "
            f"distribution's security repository (Debian: deb.debian.org/debian-security, "
            f"Ubuntu: <release>-security) and run `apt-get update`, or check these updates by "
            f"hand", False)


def _release_is_security(r: dict[str, Any]) -> bool:
    return (_is_security({"archive": r.get("suite") or "", "label": r.get("label")})
            or _is_security({"archive": r.get("codename") or "", "label": None}))


def _apt_security_metadata(releases: list[dict[str, Any]] | None, now: datetime,
                           facts: Facts) -> None:
    """The age of the oldest security suite's list the host holds (its Release file's
    ``Date:``): a fix published after it is in none of them. The newest of all lists is no
    measure: the main archive's or a third party's list can be fresh while the security
    suite's is not (a proxy that blocks it; apt keeps the old one and only warns)."""
    if releases is None:
        facts.error_all(_SEC_METADATA, "the Release files in /var/lib/apt/lists could not be read")
        return
    dated = [r["date"] for r in releases if r.get("date") and _release_is_security(r)]
    _oldest_security_metadata(dated, "no dated Release file of a security suite in "
                              "/var/lib/apt/lists", now, facts)


def _oldest_security_metadata(dated: list[datetime], none: str, now: datetime,
                              facts: Facts) -> None:
    """The security metadata facts from the oldest of ``dated``; ``none`` when there is none."""
    if not dated:
        facts.error_all(_SEC_METADATA, none)
        return
    oldest = min(dated)
    facts.set("updates.security_metadata_date", iso(oldest))
    facts.set("updates.security_metadata_age_days", age_days(oldest, now))


APT_FIX = ("run `undone advisories refresh` on the scanning machine, so that advisories date "
           "them")


def _os_release(block: Block | None, releases: list[dict[str, Any]]) -> dict[str, str | None]:
    """ID, VERSION_ID and codename of the target's release (what the advisories are keyed by);
    the codename falls back to the security pocket's ``Codename: bookworm-security``."""
    out: dict[str, str | None] = {"id": None, "version_id": None, "codename": None}
    if block is not None and block.ok:
        for line in block.lines()[:20]:
            key, sep, value = line[:200].partition("=")
            value = value.strip().strip('"').strip("'")
            if not sep or not value:
                continue
            if key == "ID":
                out["id"] = value
            elif key == "VERSION_ID":
                out["version_id"] = value
            elif key in ("VERSION_CODENAME", "UBUNTU_CODENAME") and not out["codename"]:
                out["codename"] = value
    if not out["codename"]:
        names = {str(r.get("codename"))[: -len("-security")] for r in releases
                 if str(r.get("codename") or "").endswith("-security")}
        if len(names) == 1:
            out["codename"] = names.pop()
    return out


def _apt_sources(block: Block | None) -> dict[str, tuple[str, str, str]]:
    """binary package -> (installed version, source package, source version), from dpkg-query.
    Lines it cannot read (``dpkg-query: no packages found matching x``) are skipped: those
    packages are not installed."""
    out: dict[str, tuple[str, str, str]] = {}
    if block is None or block.rc is None:
        return out
    for line in block.lines():
        parts = line[:_LINE_CAP].split()
        if len(parts) != 4 or parts[0].startswith("dpkg-query"):
            continue
        binary, version, source, source_version = parts
        out[binary] = (version, source, source_version)
        out.setdefault(binary.split(":", 1)[0], (version, source, source_version))
    return out


def _source_of(name: str, installed: str | None, candidate: str,
               sources: dict[str, tuple[str, str, str]]) -> dict[str, str | None]:
    """The source package, its installed version and the candidate's source version, as far as
    dpkg tells: the candidate's source version is known when the installed binary version is
    its source version (or that plus a binNMU ``+bN``)."""
    row = sources.get(name)
    if row is None or installed is None or row[0] != installed:
        return {"source_package": row[1] if row else None, "source_installed": None,
                "source_candidate": None}
    version, source, source_version = row
    same = version == source_version or _strip_binnmu(version) == source_version
    return {"source_package": source, "source_installed": source_version,
            "source_candidate": _strip_binnmu(candidate) if same else None}


def _strip_binnmu(version: str) -> str:
    head, sep, tail = version.rpartition("+b")
    return head if sep and tail.isdigit() and tail.isascii() else version


def _apt_pending(block: Block | None, sources_block: Block | None, facts: Facts
                 ) -> list[dict[str, Any]] | None:
    if block is None:
        facts.error_all(_PENDING, "apt-get -s: no output from the target")
        return None
    b = inner_exit(block)
    if not b.ok:
        err = next((ln for ln in b.lines() if ln.startswith("E: ")), "")
        what = "apt-get -s dist-upgrade"
        reason = f"{what}: {err[:200]}" if err else b.why(what)
        facts.error_all(_PENDING, reason)
        return None
    sources = _apt_sources(sources_block)
    pending: list[dict[str, Any]] = []
    expected: int | None = None
    bad: list[str] = []
    for full in b.lines():
        line = full[:_LINE_CAP]
        if line.startswith("Inst "):
            got = _inst(line)
            if got is None:
                bad.append(line)
                continue
            name, installed, candidate, origins, arch = got
            pockets = [_pocket(p) for p in origins.split(", ")]
            security = [p for p in pockets if _is_security(p)]
            pending.append(
                {
                    "package": name,
                    "arch": arch,
                    "installed": installed or None,
                    "candidate": candidate,
                    "source": origins,
                    "security": bool(security),
                    "severity": None,
                    "advisory": None,
                    "issued": None,
                    "basis": None,
                    **_source_of(name, installed or None, candidate, sources),
                    "_pockets": security,
                }
            )
            continue
        s = _SUMMARY_RE.match(line) or _SUMMARY3_RE.match(line)
        if s:
            expected = int(s.group(1)) + int(s.group(2))
    if bad:
        facts.error_all(_PENDING, f"apt-get -s: unexpected line {bad[0][:150]!r}")
        return None
    if expected is None:
        facts.error_all(_PENDING, "apt-get -s: no summary line (output incomplete or not apt's)")
        return None
    if expected != len(pending):
        facts.error_all(
            _PENDING,
            f"apt-get -s: {len(pending)} Inst lines but the summary counts {expected}",
        )
        return None
    facts.set("updates.pending_count", len(pending))
    sec = [p for p in pending if p["security"]]
    facts.set("updates.security_count", len(sec))
    facts.set("updates.security_packages", sorted({p["package"] for p in sec}))
    return pending


def _apt_releases(block: Block | None, now: datetime, facts: Facts) -> list[dict[str, Any]]:
    """Release headers as dicts (lower-case keys, ``date`` as datetime); sets metadata facts."""
    if block is None or not block.ok:
        facts.error_all(_METADATA, (block or Block("", None)).why("/var/lib/apt/lists"))
        return []
    records: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in block.lines():
        key, sep, value = line[:_LINE_CAP].partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "file":
            current = {"file": value}
            records.append(current)
        elif current is not None:
            current[key] = value
    for r in records:
        try:
            r["date"] = parsedate_to_datetime(r.get("date", "")[:100]).astimezone(UTC)
        except (TypeError, ValueError, IndexError):
            r["date"] = None
    dated = [r["date"] for r in records if r["date"] is not None]
    if not dated:
        facts.error_all(
            _METADATA,
            "no dated Release file in /var/lib/apt/lists (apt lists never fetched, or unreadable)",
        )
    else:
        newest = max(dated)
        facts.set("updates.metadata_date", iso(newest))
        facts.set("updates.metadata_age_days", age_days(newest, now))
    return records


def _pocket_date(pocket: dict[str, str | None], releases: list[dict[str, Any]]) -> datetime | None:
    """Date of the Release file that lists this pocket: the newest if several files match (the
    update is in at least one of them, so the newest keeps the age a lower bound)."""
    archive, label = pocket.get("archive"), pocket.get("label")
    dates = [
        r["date"]
        for r in releases
        if r.get("date") is not None
        and archive in (r.get("suite"), r.get("codename"))
        and (not label or r.get("label") == label)
    ]
    return max(dates) if dates else None


#: bases of a pending update's date that are exact: the advisory's publication (apt, via the
#: advisory catalogue), the vendor's release date (Windows), the first scan that saw the update
#: arrive (scanner/engine/dating.py)
EXACT_BASES = ("advisory", "release-date", "history")


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def age_facts(pending: list[dict[str, Any]], now: datetime, facts: Facts, detail: str = "",
              fix: str = "") -> None:
    """The section's age facts from its pending security updates (each with ``issued`` and
    ``basis``): the age of the oldest. Exact only when every one of them is dated exactly;
    otherwise the age is a lower bound (the oldest date known, exact or bound) and says how
    many updates are not dated, ``detail`` why, and ``fix`` what would date them. Used by this
    parser and again by the scanner after it dated the updates (scanner/engine/dating.py)."""
    sec = [p for p in pending if p.get("security")]
    unclassified = sum(1 for p in pending if isinstance(p, dict) and "security" in p
                       and p["security"] is None)
    if unclassified and not sec:
        facts.error_all(("updates.security_age_days", "updates.security_age_basis",
                         "updates.security_since"),
                        f"{unclassified} pending update{'s' if unclassified != 1 else ''} "
                        f"could not be told apart as security fixes or not")
        return
    if unclassified:
        # the age of the fixes known is a lower bound: an unclassified update may be older
        detail = (f"{unclassified} pending update{'s' if unclassified != 1 else ''} from "
                  f"repositories that publish no advisories could be older fixes"
                  + (f"; {detail}" if detail else ""))
    if not sec:
        facts.set("updates.security_age_days", 0.0)
        facts.set("updates.security_age_basis", None)
        facts.set("updates.security_since", None)
        return
    exact = [(d, str(p["basis"])) for p in sec
             if p.get("basis") in EXACT_BASES and (d := _when(p.get("issued"))) is not None]
    if len(exact) == len(sec) and not unclassified:
        oldest, basis = min(exact)
        facts.set("updates.security_age_days", age_days(oldest, now))
        facts.set("updates.security_age_basis", basis)
        facts.set("updates.security_since", iso(oldest))
        return
    known = [d for d, _ in exact] + [
        d for p in sec if p.get("basis") not in EXACT_BASES
        and (d := _when(p.get("issued"))) is not None]
    oldest_known = min(known) if known else None
    n = len(sec) - len(exact)
    # "{bound}": where the reader is told the bound (scanner/rules/evaluate.py fills it in)
    why = f"release date{'s' if n != 1 else ''} of {n} pending security update" \
          f"{'s' if n != 1 else ''} unknown ({{bound}})"
    if detail and n:
        why += f": {detail}"
    elif detail:  # every known fix dated exactly, but unclassified updates remain
        why = f"{detail} (the oldest known fix: {{bound}})"
    bound = {"basis": "lower-bound", "why": why}
    if fix:
        bound["fix"] = fix
    facts.set("updates.security_age_days",
              age_days(oldest_known, now) if oldest_known else 0.0, basis=bound)
    facts.set("updates.security_age_basis", "lower-bound")
    facts.set("updates.security_since", iso(oldest_known), basis=bound)


def _reboot_debian(blocks: dict[str, Block], facts: Facts) -> None:
    flag = blocks.get("reboot_required")
    if flag is None or flag.rc is None:
        facts.error_all(_REBOOT, (flag or Block("", None)).why("/run/reboot-required"))
        return
    if flag.absent:
        facts.set("updates.reboot_required", False)
        facts.set("updates.reboot_packages", [])
        return
    if not (flag.ok or flag.denied):
        facts.error_all(_REBOOT, flag.why("/run/reboot-required"))
        return
    facts.set("updates.reboot_required", True)
    pkgs = blocks.get("reboot_packages")
    if pkgs is not None and pkgs.ok:
        facts.set("updates.reboot_packages", _unique(ln.strip() for ln in pkgs.lines()))
    elif pkgs is not None and pkgs.absent:
        facts.set("updates.reboot_packages", [])
    else:
        facts.error(
            "updates.reboot_packages",
            (pkgs or Block("", None)).why("/run/reboot-required.pkgs"),
        )


def _apt_auto(blocks: dict[str, Block], facts: Facts) -> None:
    installed = _installed_dpkg(blocks.get("auto_package"))
    if isinstance(installed, str):
        facts.error_all(("updates.auto_tool", "updates.auto_configured"), installed)
    else:
        facts.set("updates.auto_tool", "unattended-upgrades" if installed else None)
        if not installed:
            facts.set("updates.auto_configured", False)
        else:
            periodic = _apt_periodic(blocks.get("apt_periodic"))
            if isinstance(periodic, str):
                facts.error("updates.auto_configured", periodic)
            else:
                value = periodic.get("APT::Periodic::Unattended-Upgrade", "0")
                facts.set("updates.auto_configured", value.strip() not in ("", "0"))
    _timers(blocks.get("timers"), ("apt-daily-upgrade.timer",), facts)


def _installed_dpkg(block: Block | None) -> bool | str:
    """True/False from ``dpkg-query -W -f='${Status}'``, or a reason string."""
    what = "dpkg-query unattended-upgrades"
    if block is None or block.rc is None or block.missing:
        return (block or Block("", None)).why(what)
    text = block.text.strip()
    if block.ok:
        # "install ok installed", "hold ok installed"; not "deinstall ok config-files"
        status = text.split("\n")[0].split()
        return len(status) == 3 and status[2] == "installed"
    if "no packages found" in text:
        return False
    return block.why(what)


_PERIODIC_RE = re.compile(r'^(APT::Periodic::[A-Za-z0-9_-]+) "([^"]*)";')


def _apt_periodic(block: Block | None) -> dict[str, str] | str:
    if block is None:
        return "apt-config dump: no output from the target"
    b = inner_exit(block)
    if not b.ok:
        return b.why("apt-config dump")
    out: dict[str, str] = {}
    for line in b.lines():
        m = _PERIODIC_RE.match(line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _unit_states(block: Block | None) -> dict[str, str] | str:
    if block is None or not block.ok:
        if block is not None and block.missing:
            return "systemctl not found: cannot tell whether the update timers are enabled"
        return (block or Block("", None)).why("systemctl is-enabled")
    states: dict[str, str] = {}
    for line in block.lines():
        unit, _, state = line.strip().partition(" ")
        if not unit:
            continue
        state = state.strip()
        if "No such file or directory" in state or "not-found" in state:
            state = "not-found"
        states[unit] = state
    return states


def _timers(block: Block | None, install_units: tuple[str, ...], facts: Facts) -> None:
    states = _unit_states(block)
    if isinstance(states, str):
        facts.error_all(("updates.auto_timer_enabled", "updates.auto_timers"), states)
        return
    facts.set("updates.auto_timers", states)
    known = [states.get(u) for u in install_units]
    if any(s in _ENABLED for s in known):
        facts.set("updates.auto_timer_enabled", True)
    elif known and all(s in _NOT_ENABLED for s in known):
        facts.set("updates.auto_timer_enabled", False)
    else:
        odd = next(
            (
                f"{u}: {s!r}"
                for u, s in zip(install_units, known, strict=True)
                if s not in _ENABLED and s not in _NOT_ENABLED
            ),
            "",
        )
        facts.error(
            "updates.auto_timer_enabled",
            f"systemctl is-enabled gave no usable state ({odd[:120]})",
        )


def _unique(items: Any) -> list[str]:
    seen: dict[str, None] = {}
    for i in items:
        if i:
            seen.setdefault(i, None)
    return list(seen)


# --------------------------------------------------------------------------------------- dnf

_NEVRA_RE = re.compile(
    r"^(?P<name>.+)-(?:(?P<epoch>\d+):)?(?P<version>[^-:]+)-(?P<release>[^-:]+)\.(?P<arch>[^.]+)$"
)
_SEC_LIST_RE = re.compile(
    r"^(?P<id>\S+)\s+(?P<sev>[A-Za-z]+)/Sec\.\s+(?P<nevra>\S+)"
    r"(?:\s+(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d))?$"
)
_INFO_RE = re.compile(r"^\s*(Update ID|Type|Updated|Issued|Severity)\s*:\s*(.*)$")
_NAME_ARCH_RE = re.compile(r"^(?P<name>\S+)\.(?P<arch>[A-Za-z0-9_]+)$")
_EVR_RE = re.compile(r"^(?:\d+:)?[^\s:-]+-[^\s:-]+$")
# Lines dnf may print around its real output that carry no data.
_NOISE = ("Last metadata expiration check", "Security: ", "Failed to set locale",
          "Updating Subscription Management repositories", "Unable to read consumer identity",
          "This system is not registered with an entitlement server")


_SEVERITY_RANK = {"critical": 4, "important": 3, "moderate": 2, "low": 1}
DNF_DETAIL = ("dnf gives the date each advisory was last updated, which can be later than its "
              "release")
DNF_FIX = "a later scan dates them from the scan history (the first scan that saw them arrive)"


def _dnf(blocks: dict[str, Block], now: datetime, facts: Facts) -> None:
    security = _dnf_security(blocks.get("dnf_security_list"), blocks, facts)
    dates = _dnf_advisory_dates(blocks.get("dnf_security_info"), blocks)
    pending = _dnf_pending(blocks.get("dnf_check_update"), blocks, facts)
    merged = _dnf_merge(security, dates) if security is not None else None
    if pending is not None and security is not None and isinstance(dates, str):
        # Without the advisory details no entry can carry its advisory's date.
        facts.set("updates.pending_count", len(pending))
        facts.error("updates.pending", dates)
    elif pending is not None and merged is not None:
        for p in pending:
            s = merged.get((p["package"], p["arch"]))
            if s is not None:
                p.update(s)
        facts.set("updates.pending", pending)
        facts.set("updates.pending_count", len(pending))
    elif pending is not None:
        # Without the advisory list no entry can say whether it is a security fix.
        facts.set("updates.pending_count", len(pending))
        why = facts.errors.get("updates.security_count", "no security list")
        facts.error("updates.pending", why)
    repos = _dnf_repos(blocks.get("dnf_repomd"))
    # checked when nothing says which updates are security fixes: an empty security list with
    # no pending list, or a pending list (some of it from repositories without advisories)
    unknown = (_dnf_security_unknown(repos, pending) if security is not None and (
        pending if pending is not None else security == []) else None)
    silent = {str(p["source"]) for p in pending or [] if repos is not None
              and not repos.get(str(p["source"]), (False, None))[0]}
    if unknown and "updates.pending" in facts.values and repos is not None:
        # updates from repositories that publish no advisories are neither security fixes
        # nor not: their entries say so, and the age of the known fixes becomes a lower bound
        # (age_facts), here and again when the scanner dates them
        pending = [p | {"security": None} if str(p["source"]) in silent else p
                   for p in pending or []]
        facts.set("updates.pending", pending)
    if unknown and (not security or repos is None or "updates.pending" not in facts.values):
        # an empty security list from repositories that publish no advisories says nothing
        facts.error_all((*_SECURITY, *_AGE), unknown)
        if repos is None:
            facts.error("updates.pending", unknown)
    elif unknown and merged is not None and not isinstance(dates, str):
        entries = [{"security": True, **s} for s in merged.values()]
        entries += [p for p in pending or [] if p.get("security") is None]
        age_facts(entries, now, facts, detail=DNF_DETAIL, fix=DNF_FIX)
    elif unknown:
        facts.error_all(_AGE, unknown)
    elif merged is None:
        facts.error_all(_AGE, facts.errors.get("updates.security_count", "no security list"))
    elif isinstance(dates, str) and merged:
        facts.error_all(_AGE, f"age unknown: {dates}")
    else:
        entries = [{"security": True, **s} for s in merged.values()]
        undated = [e for e in entries if e["issued"] is None]
        ids = ", ".join(sorted({str(e["advisory"]) for e in undated}))[:120]
        detail = f"{DNF_DETAIL}; dnf gave no date for {ids}" if undated else DNF_DETAIL
        age_facts(entries, now, facts, detail=detail, fix=DNF_FIX)
    _dnf_metadata(blocks.get("dnf_repomd"), repos, now, facts)
    _dnf_security_metadata(repos, now, facts)
    _dnf_reboot(blocks.get("needs_restarting"), facts)
    _dnf_auto(blocks, facts)


def _dnf_merge(security: list[dict[str, Any]], dates: dict[str, datetime] | str
               ) -> dict[tuple[str, str], dict[str, Any]]:
    """Per pending package (name, arch), every advisory that lists it (the kernel often has
    several): all their ids, the highest severity, and the oldest advisory, which dates it."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for s in security:
        when = dates.get(s["advisory"]) if isinstance(dates, dict) else None
        issued = iso(when) if when is not None else s["date"]
        cur = out.setdefault((s["name"], s["arch"]), {
            "security": True, "severity": None, "advisory": None, "advisories": [],
            "issued": None, "basis": None})
        if s["advisory"] not in cur["advisories"]:
            cur["advisories"].append(s["advisory"])
        if _SEVERITY_RANK.get(s["severity"], 0) > _SEVERITY_RANK.get(cur["severity"] or "", 0) \
                or cur["severity"] is None:
            cur["severity"] = s["severity"]
        if issued is not None and (cur["issued"] is None or issued < cur["issued"]):
            cur["issued"], cur["advisory"] = issued, s["advisory"]
            cur["basis"] = "lower-bound"  # the advisory's last update: see DNF_DETAIL
        elif cur["advisory"] is None:
            cur["advisory"] = s["advisory"]
    for cur in out.values():
        cur["advisories"].sort()
    return out


def _stderr_error(blocks: dict[str, Block], name: str) -> str:
    """The first ``Error`` line dnf wrote to standard error for a block, if any."""
    err = blocks.get(f"{name}_stderr")
    lines = err.lines() if err is not None else []
    return next((ln.strip()[:200] for ln in lines if ln.strip().startswith("Error")), "")


def _dnf_pending(block: Block | None, blocks: dict[str, Block], facts: Facts
                 ) -> list[dict[str, Any]] | None:
    names = ("updates.pending", "updates.pending_count")
    if block is None:
        facts.error_all(names, "dnf check-update: no output from the target")
        return None
    b = inner_exit(block)
    if b.rc == 0:
        text_lines = [ln for ln in b.lines() if ln.strip() and not ln.startswith(_NOISE)]
        if text_lines:
            facts.error_all(names, f"dnf check-update: exit 0 but output {text_lines[0][:120]!r}")
            return None
        return []
    if b.rc != 100:
        err = _stderr_error(blocks, "dnf_check_update") or next(
            (ln[:200] for ln in b.lines() if ln.startswith("Error")), "")
        what = "dnf check-update"
        facts.error_all(names, f"{what}: {err}" if err else b.why(what))
        return None
    tokens: list[str] = []
    for full in b.lines():
        line = full[:_LINE_CAP]
        if line.startswith("Obsoleting Packages"):
            break
        if not line.strip() or line.startswith(_NOISE):
            continue
        tokens.extend(line.split())
    if not tokens or len(tokens) % 3:
        facts.error_all(names, "dnf check-update: output not in name.arch / version / repo columns")
        return None
    pending: list[dict[str, Any]] = []
    for i in range(0, len(tokens), 3):
        na, evr, repo = tokens[i : i + 3]
        m = _NAME_ARCH_RE.match(na)
        if not m or not _EVR_RE.match(evr):
            bad = " ".join(tokens[i : i + 3])[:150]
            facts.error_all(names, f"dnf check-update: unexpected entry {bad!r}")
            return None
        pending.append(
            {
                "package": m.group("name"),
                "arch": m.group("arch"),
                "installed": None,
                "candidate": evr,
                "source": repo,
                "security": False,
                "severity": None,
                "advisory": None,
                "issued": None,
                "basis": None,
            }
        )
    return pending


def _dnf_security(block: Block | None, blocks: dict[str, Block], facts: Facts
                  ) -> list[dict[str, Any]] | None:
    names = ("updates.security_count", "updates.security_packages")
    if block is None:
        facts.error_all(names, "dnf updateinfo list: no output from the target")
        return None
    b = inner_exit(block)
    if not b.ok:
        err = _stderr_error(blocks, "dnf_security_list") or next(
            (ln[:200] for ln in b.lines() if ln.startswith("Error")), "")
        facts.error_all(names, f"dnf updateinfo: {err}" if err else b.why("dnf updateinfo"))
        return None
    out: list[dict[str, Any]] = []
    for full in b.lines():
        line = full[:_LINE_CAP]
        if not line.strip() or line.startswith(_NOISE):
            continue
        m = _SEC_LIST_RE.match(line.strip())
        n = _NEVRA_RE.match(m.group("nevra")) if m else None
        if not m or not n:
            facts.error_all(names, f"dnf updateinfo list: unexpected line {line.strip()[:120]!r}")
            return None
        out.append(
            {
                "advisory": m.group("id"),
                "severity": m.group("sev").lower(),
                "name": n.group("name"),
                "arch": n.group("arch"),
                "date": _dnf_time(m.group("date") or ""),
            }
        )
    facts.set("updates.security_count", len({(s["name"], s["arch"]) for s in out}))
    facts.set("updates.security_packages", sorted({s["name"] for s in out}))
    return out


def _dnf_time(text: str) -> str | None:
    """dnf prints local time; the script runs it with TZ=UTC0, so this is UTC."""
    try:
        dt = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return iso(dt)


def _dnf_advisory_dates(block: Block | None, blocks: dict[str, Block]
                        ) -> dict[str, datetime] | str:
    if block is None:
        return "dnf updateinfo info: no output from the target"
    b = inner_exit(block)
    if not b.ok:
        err = _stderr_error(blocks, "dnf_security_info")
        return f"dnf updateinfo info: {err}" if err else b.why("dnf updateinfo info")
    dates: dict[str, datetime] = {}
    current: str | None = None
    for full in b.lines():
        m = _INFO_RE.match(full[:_LINE_CAP])
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "Update ID":
            current = value
        elif key in ("Updated", "Issued") and current:
            try:
                dt = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            except ValueError:
                continue
            dates[current] = max(dates.get(current, dt), dt)
    return dates


def _dnf_repos(block: Block | None) -> dict[str, tuple[bool, datetime | None]] | None:
    """Per cached repository (its id, from ``/var/cache/dnf/<id>-<hash>/repodata/repomd.xml``):
    whether it publishes advisories (``<data type="updateinfo">``, printed as ``updateinfo`` by
    the script) and its metadata's newest timestamp; None when the block was not read."""
    if block is None or not block.ok:
        return None
    repos: dict[str, tuple[bool, datetime | None]] = {}
    current: str | None = None
    for full in block.lines():
        line = full[:_LINE_CAP].strip()
        if line.startswith("File: "):
            parts = line[6:].split("/")
            folder = parts[-3] if len(parts) >= 3 else ""
            head, dash, tail = folder.rpartition("-")
            current = head if dash and re.fullmatch(r"[0-9a-f]{8,}", tail) else folder
            repos.setdefault(current, (False, None))
            continue
        if current is None:
            continue
        info, newest = repos[current]
        key, _, value = line.partition(" ")
        if line == "updateinfo":
            repos[current] = (True, newest)
        elif key in ("revision", "timestamp") and value.isdigit() and len(value) >= 9:
            dt = datetime.fromtimestamp(int(value), UTC)
            repos[current] = (info, dt if newest is None or dt > newest else newest)
    return repos


def _dnf_security_unknown(repos: dict[str, tuple[bool, datetime | None]] | None,
                          pending: list[dict[str, Any]] | None) -> str | None:
    """Why ``dnf updateinfo list --security`` does not show every pending security fix, or
    None when it does: only repositories that publish advisories (updateinfo) say which of
    their updates are security fixes, so every repository a pending update comes from must
    publish them (CentOS Stream's and many third-party repositories do not). With no pending
    list (dnf check-update failed), every cached repository must."""
    fix = "install those updates, use repositories that publish advisories, or check them by hand"
    if repos is None:
        return ("the repositories' metadata in /var/cache/dnf could not be read, so undone "
                "cannot tell which repositories publish security advisories")
    if pending is None:
        silent = sorted(r for r, (info, _) in repos.items() if not info)
        if repos and not silent:
            return None
        return (f"dnf check-update gave no list of pending updates, and "
                f"{', '.join(silent)[:150] if silent else 'no cached repository'} publish"
                f"{'es' if len(silent) == 1 else ''} no security advisories, so an empty "
                f"security list says nothing")
    silent = sorted({str(p["source"]) for p in pending if not repos.get(str(p["source"]),
                                                                     (False, None))[0]})
    if not silent:
        return None
    n = sum(1 for p in pending if str(p["source"]) in silent)
    return (f"{n} pending update{'s' if n != 1 else ''} come{'s' if n == 1 else ''} from "
            f"repositories that publish no security advisories ({', '.join(silent)[:150]}: no "
            f"updateinfo in their repomd.xml), so undone cannot tell whether "
            f"{'they are' if n != 1 else 'it is a'} security fix{'es' if n != 1 else ''}; {fix}")


def _dnf_security_metadata(repos: dict[str, tuple[bool, datetime | None]] | None, now: datetime,
                           facts: Facts) -> None:
    """The age of the oldest metadata among the repositories that publish advisories: a fix
    published after it was generated is in none of the lists dnf holds."""
    dated = [d for info, d in (repos or {}).values() if info and d is not None]
    _oldest_security_metadata(dated, "no cached dnf repository that publishes security "
                              "advisories has dated metadata in /var/cache/dnf", now, facts)


def _dnf_metadata(block: Block | None, repos: dict[str, tuple[bool, datetime | None]] | None,
                  now: datetime, facts: Facts) -> None:
    """The newest metadata of all cached repositories (``repos``: the block as read by
    :func:`_dnf_repos`)."""
    if block is None or repos is None:
        facts.error_all(_METADATA, (block or Block("", None)).why("/var/cache/dnf repomd.xml"))
        return
    dated = [d for _, d in repos.values() if d is not None]
    if not dated:
        facts.error_all(_METADATA, "no readable dnf metadata in /var/cache/dnf (cache empty?)")
        return
    newest = max(dated)
    facts.set("updates.metadata_date", iso(newest))
    facts.set("updates.metadata_age_days", age_days(newest, now))


def _dnf_reboot(block: Block | None, facts: Facts) -> None:
    what = "needs-restarting -r"
    if block is None or block.rc is None or block.missing:
        facts.error_all(_REBOOT, (block or Block("", None)).why(what))
        return
    text = block.text
    if block.rc == 1 and "Reboot is required" in text:
        pkgs = [ln.strip()[2:].strip() for ln in block.lines() if ln.strip().startswith("* ")]
        facts.set("updates.reboot_required", True)
        facts.set("updates.reboot_packages", _unique(pkgs))
    elif block.rc == 0 and "should not be necessary" in text:
        facts.set("updates.reboot_required", False)
        facts.set("updates.reboot_packages", [])
    else:
        facts.error_all(_REBOOT, block.why(what))


def _dnf_auto(blocks: dict[str, Block], facts: Facts) -> None:
    pkg = blocks.get("auto_package")
    installed: bool | None = None
    if pkg is not None and pkg.ok and pkg.text.strip().startswith("dnf-automatic"):
        installed = True
    elif pkg is not None and pkg.rc is not None and "is not installed" in pkg.text:
        installed = False
    _timers(blocks.get("timers"), ("dnf-automatic.timer", "dnf-automatic-install.timer"), facts)
    if installed is None:
        reason = (pkg or Block("", None)).why("rpm -q dnf-automatic")
        facts.error_all(("updates.auto_tool", "updates.auto_configured"), reason)
        return
    facts.set("updates.auto_tool", "dnf-automatic" if installed else None)
    if not installed:
        facts.set("updates.auto_configured", False)
        return
    states = facts.values.get("updates.auto_timers") or {}
    install_timer = states.get("dnf-automatic-install.timer") in _ENABLED
    conf = blocks.get("automatic_conf")
    apply: bool | None = None
    if conf is not None and conf.ok:
        section = ""
        for line in conf.lines():
            s = line.strip()
            if s.startswith("["):
                section = s.strip("[]").strip().lower()
                continue
            key, sep, value = s.partition("=")
            if sep and section == "commands" and key.strip().lower() == "apply_updates":
                apply = value.strip().lower() in ("yes", "true", "1", "on")
        if apply is None:
            apply = False  # dnf-automatic's default is apply_updates = no
    elif conf is not None and conf.absent:
        apply = False
    if apply is None and not install_timer:
        facts.error(
            "updates.auto_configured",
            (conf or Block("", None)).why("/etc/dnf/automatic.conf"),
        )
        return
    facts.set("updates.auto_configured", bool(apply) or install_timer)
