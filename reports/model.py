"""What every report reads out of the result document: the items left undone (grouped by rule,
oldest and most severe first), compliance per control, per-host counts, waivers, and dates in
words. Pure functions over the document's dicts; nothing here escapes (each renderer escapes for
its own format)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from reports.rows import (
    ControlGap,
    ControlRow,
    ControlVerdict,
    Coverage,
    Headline,
    HostGap,
    HostRow,
    Item,
    NotApplicable,
    NotAssessed,
    SinceLast,
    WaiverRow,
)
from scanner.result import HostRecord, Result, ResultDocument, RuleDoc, Waiver
from scanner.vocab import SEVERITIES, Owner

CONTROL_TITLES = {
    "firewalls": "Firewalls",
    "secure-configuration": "Secure configuration",
    "security-update-management": "Security updates",
    "user-access-control": "User access control",
    "malware-protection": "Malware protection",
    "backup": "Backups",
    "asset-management": "Asset management",
}
CONTROL_PLAIN = {
    "firewalls": "Firewalls stop other computers from reaching services that should not be "
                 "reachable.",
    "secure-configuration": "Computers are set up so that default passwords, unneeded services "
                            "and weak settings do not give an attacker an easy way in.",
    "security-update-management": "Security fixes are installed soon after they are released "
                                  "(within 14 days for serious ones), and systems still receive "
                                  "them.",
    "user-access-control": "Only the right people have accounts, and administrator rights are "
                           "kept to those who need them.",
    "malware-protection": "Anti-malware is installed, running and kept up to date.",
    "backup": "Data is backed up regularly and the backups can be restored.",
    "asset-management": "Every device is known, looked after and not past its working life.",
}
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
SEVERITY_WORDS = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low",
                  "info": "For information"}
OWNER_WORDS = {"provider": "the IT provider", "client": "you (the client)",
               "shared": "shared between you and the IT provider"}
STATUS_WORDS = {"pass": "Done", "fail": "Not done", "error": "Could not be checked",
                "not_applicable": "Does not apply", "waived": "Waived (accepted risk)",
                "manual": "Needs a person to check"}
CONTROL_ORDER = list(CONTROL_TITLES)


def control_title(control: str) -> str:
    return CONTROL_TITLES.get(control, control)


def control_key(control: str) -> tuple[int, str]:
    return (CONTROL_ORDER.index(control) if control in CONTROL_ORDER else 99, control)


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def day(text: Any) -> str:
    """An ISO date or time as ``22 Nov 2026`` (empty when unknown)."""
    dt = parse_time(text)
    return f"{dt.day} {dt:%b %Y}" if dt else ""


def when(text: Any) -> str:
    """An ISO time as ``22 Nov 2026 14:05 UTC``."""
    dt = parse_time(text)
    return f"{dt.day} {dt:%b %Y %H:%M} UTC" if dt else ""


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def rule_info(doc: ResultDocument, rule: str) -> RuleDoc | None:
    """What the document says of ``rule`` (None when it says nothing)."""
    return (doc.get("rules") or {}).get(rule) or None


def one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def items(doc: ResultDocument, owners: tuple[str, ...] = ("provider",),
          statuses: tuple[str, ...] = ("fail",)) -> list[Item]:
    """Failing results of these owners, one item per rule: the hosts, the oldest first seen,
    the earliest due date and the most days overdue. Overdue items first, then by severity,
    then oldest first."""
    groups: dict[tuple[str, Owner], list[Result]] = defaultdict(list)
    for r in doc.get("results", []):
        if r["status"] in statuses and r.get("owner") in owners:
            groups[(r["rule"], r["owner"])].append(r)
    out: list[Item] = []
    for (rule, owner), rs in groups.items():
        rs.sort(key=lambda r: (-(r.get("overdue_days") or 0), r.get("first_seen") or "~",
                               r["host"]))
        info = rule_info(doc, rule)
        hosts = [r["host"] for r in rs]
        first_seen = min((f for r in rs if (f := r.get("first_seen"))), default=None)
        due = min((d for r in rs if (d := r.get("due"))), default=None)
        overdue = max((r.get("overdue_days") or 0 for r in rs), default=0)
        out.append({
            "rule": rule, "owner": owner, "title": rs[0]["title"], "control": rs[0]["control"],
            "severity": rs[0]["severity"], "hosts": hosts, "results": rs,
            "heading": heading(info, rs[0]["title"]),
            "findings": [(r["host"], one_line(r["finding"])) for r in rs if r.get("finding")],
            "advice": advice(doc, rule, hosts),
            "first_seen": first_seen, "due": due, "overdue_days": overdue,
            "overdue_hosts": sum(1 for r in rs if (r.get("overdue_days") or 0) > 0),
            "reopened": any(r.get("reopened") for r in rs),
            "rationale": one_line(info.get("rationale") if info else None),
            "remediation": one_line(info.get("remediation") if info else None),
            "message": one_line(rs[0].get("message")),
            "expected": one_line(rs[0].get("expected")),
            "observed": rs[0].get("observed") or {},
        })
    out.sort(key=lambda i: (i["overdue_days"] <= 0, SEVERITY_RANK.get(i["severity"], 9),
                            i["first_seen"] or "~", -i["overdue_days"], i["rule"], i["owner"]))
    return out


NEGATIVE_START = ("no ", "not ", "nothing ", "never ", "none ", "nobody ")


def heading(info: RuleDoc | None, title: str) -> str:
    """The heading of a failing item: the rule's own words for what is wrong (``problem``);
    without them the compliant state, never made a double negative ("Not done: No ...")."""
    if info and info.get("problem"):
        return one_line(info["problem"])
    if title.lower().startswith(NEGATIVE_START):
        return f"Check failed: {title}"
    return f"Not done: {title}"


def compliance(counts: Mapping[str, int]) -> float | None:
    """Passed ÷ (passed + failed), in percent; waived, error, not applicable and manual are
    left out. None when nothing was judged."""
    p, f = counts.get("pass", 0), counts.get("fail", 0)
    return round(100.0 * p / (p + f), 1) if p + f else None


def by_control(doc: ResultDocument) -> list[ControlRow]:
    rows: list[ControlRow] = []
    summary = (doc.get("summary") or {}).get("by_control") or {}
    for control in sorted(summary, key=control_key):
        counts = summary[control]
        overdue = sum(1 for r in doc.get("results", []) if r["control"] == control
                      and r["status"] == "fail" and (r.get("overdue_days") or 0) > 0)
        rows.append({"control": control, "title": control_title(control),
                     "plain": CONTROL_PLAIN.get(control, ""), "counts": counts,
                     "compliance": compliance(counts), "overdue": overdue})
    return rows


def by_host(doc: ResultDocument) -> list[HostRow]:
    results: dict[str, list[Result]] = defaultdict(list)
    for r in doc.get("results", []):
        results[r["host"]].append(r)
    rows: list[HostRow] = []
    for h in doc.get("hosts", []):
        rs = results.get(h["name"], [])
        counts: dict[str, int] = defaultdict(int)
        for r in rs:
            counts[r["status"]] += 1
        failing = sorted((r for r in rs if r["status"] == "fail"),
                         key=lambda r: (SEVERITY_RANK.get(r["severity"], 9), r["rule"]))
        facts = h.get("facts") or {}
        rows.append({
            "name": h["name"], "address": h.get("address"),
            "system": facts.get("os.pretty_name") or h.get("platform") or "",
            "reachable": bool(h.get("reachable")), "error": h.get("error"),
            "counts": dict(counts), "compliance": compliance(counts),
            "overdue": sum(1 for r in failing if (r.get("overdue_days") or 0) > 0),
            "failing": failing,
            "roles": roles_line(h),
            "not_applicable": not_applicable(rs),
        })
    rows.sort(key=lambda r: (r["reachable"], -r["overdue"], -r["counts"].get("fail", 0),
                             r["name"]))
    return rows


NA_WORDS = {"platform": "for other systems", "role": "for other roles",
            "sections": "needing data this system does not have",
            "precondition": "with a precondition not met"}


def not_applicable(results: Iterable[Result]) -> NotApplicable:
    """What was not checked on one host because it does not apply there, and why: the count,
    a count per reason (``na_reason``) and the rules grouped by their message."""
    by_reason: dict[str, int] = defaultdict(int)
    groups: dict[str, list[Result]] = defaultdict(list)
    role: list[str] = []
    for r in results:
        if r["status"] == "not_applicable":
            by_reason[r.get("na_reason") or "precondition"] += 1
            if r.get("na_reason") == "role":
                role.append(r["rule"])
            why = one_line(r.get("message")).removeprefix("does not apply: ")
            groups[why or "does not apply"].append(r)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return {
        "count": sum(by_reason.values()),
        "by_reason": [(NA_WORDS.get(k, k), n) for k, n in sorted(
            by_reason.items(), key=lambda kv: (-kv[1], kv[0]))],
        "groups": [{"why": why, "rules": [{"rule": r["rule"], "title": r["title"]} for r in rs]}
                   for why, rs in ordered],
        "role": role,  # the rules a role left out: the scope a person may want to correct
    }


def roles_line(host: HostRecord) -> dict[str, str]:
    """The roles that scoped a host's rules in words (``text``), and what they were inferred
    from (``basis``, empty when the inventory declares them)."""
    if host.get("roles"):
        return {"text": "role: " + ", ".join(host["roles"]), "basis": ""}
    if host.get("roles_source") == "inferred" and host.get("roles_inferred"):
        return {"text": "role: " + ", ".join(host["roles_inferred"]) + " (inferred)",
                "basis": "inferred from its facts: " + one_line(host.get("roles_inferred_from"))}
    return {"text": "", "basis": ""}


def waivers(doc: ResultDocument) -> tuple[list[WaiverRow], list[WaiverRow]]:
    """(active, expired): one row per waiver (rule + approval), with the hosts it covers here."""
    # per (rule, approval): the first result it covers, its waiver, the hosts and their statuses
    Seen = dict[tuple[str, str, str, str], tuple[Result, Waiver, list[str], set[str]]]
    active: Seen = {}
    expired: Seen = {}
    for r in doc.get("results", []):
        for w, into in ((r.get("waiver"), active), (r.get("waiver_expired"), expired)):
            if not w:
                continue
            k = (r["rule"], w["reason"], w["approved_by"], w["expires"])
            _, _, hosts, statuses = into.setdefault(k, (r, w, [], set()))
            hosts.append(r["host"])
            statuses.add(r["status"])
    def done(rows: Seen) -> list[WaiverRow]:
        return [{"rule": r["rule"], "title": r["title"], "reason": w["reason"],
                 "approved_by": w["approved_by"], "expires": w["expires"], "hosts": hosts,
                 "statuses": sorted(statuses),
                 "still_failing": "fail" in statuses or "waived" in statuses}
                for r, w, hosts, statuses in sorted(rows.values(),
                                                    key=lambda x: (x[1]["expires"], x[0]["rule"]))]
    return done(active), done(expired)


def not_checked(doc: ResultDocument) -> list[dict[str, str]]:
    """Hosts that could not be reached, and rules in ``error`` on reachable hosts, grouped."""
    out: list[dict[str, str]] = []
    unreachable = {h["name"] for h in doc.get("hosts", []) if not h.get("reachable")}
    for h in doc.get("hosts", []):
        if h["name"] in unreachable:
            out.append({"host": h["name"], "what": "the whole computer",
                        "why": one_line(h.get("error") or "could not be reached")})
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in doc.get("results", []):
        if r["status"] == "error" and r["host"] not in unreachable:
            grouped[(r["host"], one_line(r.get("message")))].append(r["rule"])
    for (host, why), rules in sorted(grouped.items()):
        out.append({"host": host, "what": ", ".join(sorted(rules)), "why": why})
    return out


def manual(doc: ResultDocument) -> list[Result]:
    return [r for r in doc.get("results", []) if r["status"] == "manual"]


def headline(doc: ResultDocument) -> Headline:
    res = doc.get("results", [])
    fails = [r for r in res if r["status"] == "fail"]
    provider = [r for r in fails if r.get("owner") == "provider"]
    overdue = [r for r in fails if (r.get("overdue_days") or 0) > 0]
    estate = (doc.get("scan") or {}).get("estate") or {}
    return {
        "client": estate.get("client") or estate.get("name") or "",
        "provider": estate.get("provider") or "",
        "estate_name": estate.get("name") or estate.get("client") or "",
        "fails": len(fails), "provider_fails": len(provider),
        "provider_items": len({r["rule"] for r in provider}),
        "provider_hosts": len({r["host"] for r in provider}),
        "overdue": len(overdue),
        "overdue_provider": sum(1 for r in overdue if r.get("owner") == "provider"),
        "overdue_provider_items": len({r["rule"] for r in overdue
                                       if r.get("owner") == "provider"}),
        "oldest_overdue": max((r.get("overdue_days") or 0 for r in overdue
                               if r.get("owner") == "provider"), default=0),
        "hosts": len(doc.get("hosts", [])),
        "unreachable": sum(1 for h in doc.get("hosts", []) if not h.get("reachable")),
        "compliance": compliance((doc.get("summary") or {}).get("by_status") or {}),
        "errors": sum(1 for r in res if r["status"] == "error"),
    }


def today_of(doc: ResultDocument) -> date:
    dt = parse_time((doc.get("scan") or {}).get("started_at"))
    return dt.date() if dt else datetime.now(UTC).date()


# -- coverage: every score says what it stands on ---------------------------------------------

MACHINE_PLATFORMS = ("linux", "windows", "macos", "bsd", "network", None)


def system_noun(doc: ResultDocument) -> str:
    """What the reports call the document's hosts: computers, or systems when cloud tenants
    (or declared networks) are among them."""
    hosts = doc.get("hosts", [])
    return "computer" if all(h.get("platform") in MACHINE_PLATFORMS for h in hosts) else "system"


def _counts(results: Iterable[Result]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in results:
        counts[r["status"]] += 1
    return counts


def coverage(doc: ResultDocument) -> Coverage:
    """The headline score with what it stands on: the share of the checks that could run that
    passed, on how many of the systems, and how many checks did not run (``error``: a system
    not reached, a fact that could not be read). ``text`` says it in one sentence; every report
    prints that sentence, never the percentage alone."""
    summary = doc.get("summary") or {}
    counts = summary.get("by_status") or _counts(doc.get("results", []))
    hosts = doc.get("hosts", [])
    total = len(hosts)
    reached = sum(1 for h in hosts if h.get("reachable"))
    p, f = counts.get("pass", 0), counts.get("fail", 0)
    pct = compliance(counts)
    noun = system_noun(doc)
    not_run = counts.get("error", 0)
    on = f"on {reached} of {plural(total, noun)}" if total != 1 else (
        f"on the one {noun}" if reached else f"the one {noun} could not be checked")
    if pct is None:
        text = f"No check could run {on}" if reached else f"No check could run: {on}"
    else:
        text = f"{pct:g}% of the checks that could run passed ({p} of {p + f}), {on}"
    text += f"; {plural(not_run, 'check')} not run" if not_run else "; every check ran"
    return {"compliance": pct, "passed": p, "failed": f, "judged": p + f,
            "waived": counts.get("waived", 0), "manual": counts.get("manual", 0),
            "not_run": not_run, "not_applicable": counts.get("not_applicable", 0),
            "hosts": total, "hosts_checked": reached, "noun": noun, "text": text}


def _why_not(results: Iterable[Result], limit: int = 2) -> str:
    """Why none of these results was judged, in words: what did not apply, what could not run."""
    errors: dict[str, int] = defaultdict(int)
    na: dict[str, int] = defaultdict(int)
    for r in results:
        if r["status"] == "error":
            errors[one_line(r.get("message")) or "could not be checked"] += 1
        elif r["status"] == "not_applicable":
            na[NA_WORDS.get(r.get("na_reason") or "precondition", "does not apply")] += 1
    parts = []
    for why, _ in sorted(errors.items(), key=lambda kv: -kv[1])[:limit]:
        parts.append(f"could not run: {why}")
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} other reasons")
    if na:
        parts.append("does not apply (" + ", ".join(
            f"{n} {w}" for w, n in sorted(na.items(), key=lambda kv: -kv[1])) + ")")
    return "; ".join(parts) or "no check of it was selected"


JUDGED = ("pass", "fail", "waived", "manual")


def not_assessed(doc: ResultDocument) -> NotAssessed:
    """What was not assessed, and why: the controls no system could be judged on
    (``controls``), and per system the controls that were judged elsewhere but not there
    (``hosts``), each with the reason (unreachable, a check that could not run, nothing that
    applies)."""
    by: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for r in doc.get("results", []):
        by[(r["host"], r["control"])].append(r)
    controls = sorted({c for _, c in by}, key=control_key)
    judged_somewhere = {c for (_, c), rs in by.items()
                        if any(r["status"] in JUDGED for r in rs)}
    whole: list[ControlGap] = []
    for c in controls:
        if c not in judged_somewhere:
            rs = [r for (_, cc), xs in by.items() if cc == c for r in xs]
            whole.append({"control": c, "title": control_title(c), "why": _why_not(rs),
                          "not_run": sum(1 for r in rs if r["status"] == "error")})
    hosts: list[HostGap] = []
    for h in doc.get("hosts", []):
        missing: list[ControlGap] = []
        for c in controls:
            rs = by.get((h["name"], c), [])
            if c in judged_somewhere and rs and not any(r["status"] in JUDGED for r in rs):
                errors = sum(1 for r in rs if r["status"] == "error")
                missing.append({"control": c, "title": control_title(c), "not_run": errors,
                                "why": _why_not(rs, 1)})
        not_run = [m for m in missing if m["not_run"]]
        if not h.get("reachable"):
            hosts.append({"host": h["name"], "unreachable": True,
                          "why": one_line(h.get("error") or "could not be reached"),
                          "controls": missing})
        elif not_run:
            hosts.append({"host": h["name"], "unreachable": False, "why": "",
                          "controls": not_run})
    return {"controls": whole, "hosts": hosts,
            "complete": not whole and not hosts and not any(
                r["status"] == "error" for r in doc.get("results", []))}


def control_verdicts(doc: ResultDocument) -> list[ControlVerdict]:
    """One verdict per control for the one-page summary: ``not done`` (something failed),
    ``done`` (everything judged passed or is waived), ``not assessed`` (nothing could be
    judged), with how much of it ran."""
    whole = {c["control"]: c for c in not_assessed(doc)["controls"]}
    out: list[ControlVerdict] = []
    for c in by_control(doc):
        n = c["counts"]
        if c["control"] in whole:
            verdict = "none"
            words = "Not assessed" if whole[c["control"]]["not_run"] else "Does not apply"
        elif n.get("fail", 0):
            verdict, words = "bad", "Not done"
        elif n.get("pass", 0) or n.get("waived", 0):
            verdict, words = "good", "Done"
        else:
            verdict, words = "warn", "Needs a person"
        partly = n.get("error", 0)
        out.append({**c, "verdict": verdict, "words": words,
                    "judged": n.get("pass", 0) + n.get("fail", 0), "not_run": partly,
                    "why": whole[c["control"]]["why"] if c["control"] in whole else ""})
    return out


def advice(doc: ResultDocument, rule: str, hosts: list[str]) -> list[tuple[str, str]]:
    """What to ask for, for these hosts' own platforms only: ``[(platform words, text)]`` (one
    entry without words when one text serves them all)."""
    info = rule_info(doc, rule)
    per = (info.get("advice") if info else None) or {}
    general = one_line(info.get("remediation") if info else None)
    if not per:
        return [("", general)] if general else []
    platform = {h["name"]: h.get("platform") for h in doc.get("hosts", [])}
    texts: dict[str, list[str]] = defaultdict(list)
    for name in hosts:
        p = platform.get(name)
        texts[one_line(per[p]) if p is not None and p in per else general].append(
            PLATFORM_NAMES.get(p or "", "other systems"))
    if len(texts) == 1:
        return [("", next(iter(texts)))]
    return [(", ".join(sorted(set(ps))), t) for t, ps in texts.items()]


PLATFORM_NAMES = {"linux": "Linux", "windows": "Windows", "macos": "macOS", "bsd": "BSD",
                  "network": "network devices", "segment": "networks",
                  "m365": "Microsoft 365", "google-workspace": "Google Workspace"}


def readable(observed: Any) -> list[tuple[str, str]]:
    """Observed values as (label, text) lines a person reads: lists joined, mappings as
    ``name: members``, nothing left as JSON."""
    if not isinstance(observed, dict):
        return [("", one_line(observed))]
    out = []
    for k, v in observed.items():
        label = str(k).split(".", 1)[-1].replace("_", " ")
        out.append((label, _words(v)))
    return out


def _words(v: Any, depth: int = 0) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        if depth > 1:
            return "..."
        return "; ".join(f"{k}: {_words(x, depth + 1) if x not in ([], {}) else 'none'}"
                         for k, x in list(v.items())[:12])
    if isinstance(v, list | tuple):
        if not v:
            return "none"
        shown = [_words(x, depth + 1) if not isinstance(x, dict) else
                 str(x.get("name") or _words(x, depth + 1)) for x in v[:12]]
        return ", ".join(shown) + (f" and {len(v) - 12} more" if len(v) > 12 else "")
    return one_line(v)[:300]


def since_last(doc: ResultDocument) -> SinceLast | None:
    """What changed since the previous scan, as the history recorded it for this document
    (``history.changes``: the counts of reports/diff.py's kinds), or None without a previous
    scan."""
    hist = doc.get("history") or {}
    if not hist.get("previous_scan"):
        return None
    changes = hist.get("changes")
    if isinstance(changes, dict):
        return {"previous": hist.get("previous_scan"), "counts": dict(changes.get("counts") or {}),
                "at": changes.get("previous_at")}
    old = hist.get("since_previous")  # documents recorded before the one classification
    if isinstance(old, dict):
        return {"previous": hist.get("previous_scan"),
                "counts": {k: len(v) for k, v in old.items() if isinstance(v, list)},
                "at": None}
    return None


def top_asks(doc: ResultDocument, n: int = 3) -> list[Item]:
    """The first things to ask the provider for: their items, overdue first, then by severity,
    then the oldest (the order of :func:`items`)."""
    return items(doc, ("provider",))[:n]
