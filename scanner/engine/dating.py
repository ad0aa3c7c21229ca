"""Dating pending security updates: advisory, else the scan history, else a lower bound.

apt gives no release date for a pending update; the probe (probes/posix/updates.py) can only
bound it by the ``Date:`` of the pocket's Release file. Before a host is evaluated, the scan
dates each pending security update here, with what the scanner side knows:

1. **advisory**: the earliest advisory of the host's release for the update's source package
   whose fixed version is newer than the installed one and not newer than the candidate
   (scanner/lifecycle/advisories.py). Exact: the day the fix was published.
2. **history**: the first scan that saw the update pending, provided an earlier scan of the same
   host had read its pending updates without it (undone saw it arrive; a host whose first scan
   already showed it pending says nothing about when it arrived). Exact about undone's own
   observation. Used only if it does not contradict the bound below: the first sighting must
   not be later than the Release file that lists the update (else the host's lists lagged, and
   the update is older than undone's sighting). An update first seen by this very scan is not
   dated by the history yet.
3. **lower-bound**: what the probe gave (apt: the Release file's date; dnf: the advisory's last
   update). The update is at least that old; rules can fail on it, never pass.

Then the section's age facts are derived again from the dated list (``age_facts`` of the probe,
so one function decides what the age and its basis are), and ``updates.dating`` says what dated
what. This module is pure: the catalogue and what the history knows are passed in (the CLI
reads the history; DESIGN.md §2: the engine never imports it), so a stored scan is evaluated on
exactly the facts it recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from probes.base import Facts, iso
from probes.posix.updates import age_facts
from scanner.lifecycle import advisories
from scanner.result import HostRecord

AGE_FACTS = ("updates.security_age_days", "updates.security_age_basis", "updates.security_since")


@dataclass(frozen=True)
class Seen:
    """What the history knows of one host's pending security updates: when the host's pending
    list was last read (``last_at``), and per update key when it was first seen pending and
    when the host's list had last been read before that (``first``: key -> (first, before))."""

    last_at: datetime | None = None
    first: Mapping[str, tuple[datetime, datetime | None]] = field(default_factory=dict)


SeenLookup = Callable[[str], Seen | None]


def pending_key(p: Mapping[str, Any]) -> str:
    """One pending update as the history keys it: the package and what it is pending from (the
    installed version; for dnf, which does not say, the advisory). A newer candidate for the
    same installed version is the same pending update: its oldest fix has waited as long."""
    since = p.get("installed") or p.get("advisory") or p.get("candidate") or ""
    return f"{p.get('package')}:{p.get('arch') or ''}|{since}"[:300]


def security_keys(facts: Mapping[str, Any]) -> list[str] | None:
    """Keys of the host's pending security updates, or None when its list was not read."""
    pending = facts.get("updates.pending")
    if not isinstance(pending, list):
        return None
    return sorted({pending_key(p) for p in pending if isinstance(p, dict) and p.get("security")})


def _release_keys(os_release: Any) -> tuple[str | None, list[str]]:
    if not isinstance(os_release, dict):
        return None, []
    distro = os_release.get("id")
    if distro == "debian" and os_release.get("codename"):
        return "debian", [f"debian:{os_release['codename']}"]
    if distro == "ubuntu" and os_release.get("version_id"):
        v = os_release["version_id"]
        return "ubuntu", [f"ubuntu:{v}", f"ubuntu-pro:{v}"]
    return (str(distro) if distro else None), []


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def needs(rec: Mapping[str, Any]) -> bool:
    """Whether a host record has anything for :func:`enrich` to date or classify."""
    facts = rec.get("facts") or {}
    return "updates.pending" in facts or "patch.upgrades" in facts


def enrich(rec: HostRecord, catalogue: advisories.Catalogue | None,
           catalogue_problem: str | None, seen: Seen | None, now: datetime) -> None:
    """Date the pending security updates and tell the security upgrades of the patch runs
    apart, in the host record (facts, fact_errors, fact_basis)."""
    date_record(rec, catalogue, catalogue_problem, seen, now)
    classify_patch_runs(rec, catalogue, catalogue_problem, now)


def date_record(rec: HostRecord, catalogue: advisories.Catalogue | None,
                catalogue_problem: str | None, seen: Seen | None, now: datetime) -> None:
    """Date the pending security updates of one host record in place (facts, fact_basis)."""
    facts: dict[str, Any] = rec.get("facts") or {}
    pending = facts.get("updates.pending")
    if not isinstance(pending, list) or facts.get("updates.manager") not in ("apt", "dnf"):
        return
    if not isinstance(facts.get("updates.security_count"), int):
        # which pending updates are security fixes is not known (the probe says why in the
        # count's error): no age can be derived from the list, and its error must stand
        return
    apt = facts.get("updates.manager") == "apt"
    distro, releases = _release_keys(facts.get("updates.os_release"))
    why_not: str | None = None
    if apt:
        if catalogue_problem:
            why_not = catalogue_problem
        elif catalogue is None:
            why_not = "no advisory catalogue on the scanning machine"
        elif distro not in advisories.DISTRO_SOURCES:
            why_not = f"no advisory source for {distro or 'this distribution'}"
        elif (missing := catalogue.missing(distro)) is not None:
            why_not = missing
        elif not releases or not any(catalogue.has_release(r) for r in releases):
            newest = catalogue.newest(distro) or "none"
            name = releases[0].split(":", 1)[1] if releases else "this release"
            why_not = (f"the advisory catalogue has no advisory for {distro} {name} "
                       f"(its newest is of {newest})")
    counts = {"advisory": 0, "history": 0, "lower-bound": 0, "unknown": 0}
    not_in_catalogue = 0
    for p in pending:
        if not isinstance(p, dict) or not p.get("security"):
            continue
        bound = _when(p.get("issued")) if p.get("basis") == "lower-bound" else None
        if apt and why_not is None and catalogue is not None:
            match = _advisory(catalogue, releases, p)
            if match is not None:
                p.update(advisory=match.advisory, issued=iso(match.published), basis="advisory",
                         fixed_by=match.fixed)
                counts["advisory"] += 1
                continue
            not_in_catalogue += 1
        first = _history(seen, p, now)
        if first is not None and (bound is None or first <= bound):
            p.update(issued=iso(first), basis="history")
            counts["history"] += 1
            continue
        counts["lower-bound" if bound is not None else "unknown"] += 1
    detail, fix = _explain(apt, why_not, not_in_catalogue, catalogue)
    derived = Facts()
    age_facts(pending, now, derived, detail=detail, fix=fix)
    basis: dict[str, Any] = rec.setdefault("fact_basis", {})
    for name in AGE_FACTS:
        facts[name] = derived.values[name]
        rec.get("fact_errors", {}).pop(name, None)
        if name in derived.basis:
            basis[name] = derived.basis[name]
        else:
            basis.pop(name, None)
    if not basis:
        rec.pop("fact_basis", None)
    facts["updates.dating"] = {
        "advisory": counts["advisory"], "history": counts["history"],
        "lower_bound": counts["lower-bound"], "unknown": counts["unknown"],
        "catalogue": None if catalogue is None else {
            "built_at": catalogue.built_at,
            "newest": {n: catalogue.sources.get(n, {}).get("newest")
                       for n in advisories.DISTRO_SOURCES.get(distro or "", ())}},
        "why_not_advisories": why_not if apt else "dnf dates its own advisories",
    }


SECURITY_RUNS = ("patch.security_runs_30d", "patch.security_runs_90d",
                 "patch.security_runs_365d")


def classify_patch_runs(rec: HostRecord, catalogue: advisories.Catalogue | None,
                        catalogue_problem: str | None, now: datetime) -> None:
    """Count the patch runs that brought a security fix: a run is a security run when one of
    its upgrades went from a version before an advisory's fix to one that has it (apt hosts;
    the probe lists each run's upgrades, ``patch.upgrades``, which is dropped here)."""
    facts: dict[str, Any] = rec.get("facts") or {}
    runs = facts.pop("patch.upgrades", None)
    errors: dict[str, str] = rec.setdefault("fact_errors", {})
    errors.pop("patch.upgrades", None)
    if not isinstance(runs, list):
        return
    distro, releases = _release_keys(facts.get("updates.os_release"))
    why: str | None = None
    if catalogue_problem:
        why = catalogue_problem
    elif catalogue is None:
        why = "no advisory catalogue on the scanning machine (`undone advisories refresh`)"
    elif not releases:
        why = "the release is not known (the posix.updates section names it)"
    elif (missing := catalogue.missing(str(distro))) is not None:
        why = missing
    elif not any(catalogue.has_release(r) for r in releases):
        why = f"the advisory catalogue has no advisory for {distro} {releases[0].split(':')[1]}"
    if why is not None or catalogue is None:
        for name in SECURITY_RUNS:
            facts.pop(name, None)
            errors[name] = f"which upgrades were security fixes is not known: {why}"
        return
    security: list[datetime] = []
    for run in runs:
        at = _when(run.get("at")) if isinstance(run, dict) else None
        packages = run.get("packages") if isinstance(run, dict) else None
        if at is None or not isinstance(packages, list):
            continue
        if any(isinstance(p, list) and len(p) == 4 and isinstance(p[1], str)
               and catalogue.earliest(releases, p[1], str(p[2]), str(p[3])) is not None
               for p in packages):
            security.append(at)
    # a run whose fix the catalogue does not list (yet, or under another source package) is
    # not counted: the count is at least this
    bound = {"basis": "lower-bound", "why": "patch runs that brought a fix the advisory "
             "catalogue lists ({bound})", "fix": "run `undone advisories refresh`"}
    basis: dict[str, Any] = rec.setdefault("fact_basis", {})
    for days, name in zip((30, 90, 365), SECURITY_RUNS, strict=True):
        facts[name] = sum(1 for at in security if at >= now - timedelta(days=days))
        errors.pop(name, None)
        basis[name] = dict(bound)


def _advisory(catalogue: advisories.Catalogue, releases: list[str], p: Mapping[str, Any]
              ) -> advisories.Match | None:
    source, installed, candidate = (p.get("source_package"), p.get("source_installed"),
                                    p.get("source_candidate"))
    if not isinstance(source, str) or not isinstance(installed, str) \
            or not isinstance(candidate, str):
        return None  # not installed, or its source version unknown: no range to match
    return catalogue.earliest(releases, source, installed, candidate)


def _history(seen: Seen | None, p: Mapping[str, Any], now: datetime) -> datetime | None:
    """When undone first saw this update pending, if it saw it arrive; else None."""
    if seen is None or seen.last_at is None:
        return None
    known = seen.first.get(pending_key(p))
    if known is None:
        return None  # first seen by this very scan: nothing is known yet of how long
    first, before = known
    return first if before is not None and first <= now else None


def _explain(apt: bool, why_not: str | None, not_in_catalogue: int,
             catalogue: advisories.Catalogue | None) -> tuple[str, str]:
    """Why some updates stay undated, and what would date them."""
    later = "or a later scan dates new ones from the history"
    if not apt:
        from probes.posix.updates import DNF_DETAIL, DNF_FIX
        return DNF_DETAIL, DNF_FIX
    if why_not is not None:
        return why_not, f"run `undone advisories refresh`, {later}"
    built = (catalogue.built_at[:10] if catalogue is not None else "") or "?"
    if not_in_catalogue:
        return (f"no advisory in the catalogue refreshed on {built} for them",
                f"run `undone advisories refresh`, {later}")
    return "", ""
