"""The contract-period report, for a renewal meeting: rendered from an ``undone.period/1``
document (built from the history by ``scanner.history.History.period``).

It shows the trend of compliance per control, the findings opened and closed, the mean time to
remediate, SLA breaches per month (a finding still open the day after its due date), and per host
a maintenance timeline: when packages were actually upgraded (installing or removing software is
not maintenance), backups taken and malware signatures updated, each marked *proactive* (no
finding of that control was open at the time) or *reactive*
(done while undone had a finding open), which shows whether the provider looked after the estate
or only answered reports. Formats: console, Markdown, HTML (self-contained, as the scan report),
JSON.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from reports import charts, clean, markdown, model

KIND_WORDS = {"patch": "packages upgraded", "backup": "backups taken",
              "signatures": "malware signatures updated"}
MAX_ROWS = 200
MAX_TIMELINE_HOSTS = 60


def verdict(summary: dict[str, dict[str, Any]]) -> str:
    pro = sum(s["proactive"] for s in summary.values())
    re_ = sum(s["reactive"] for s in summary.values())
    if pro + re_ == 0:
        return "no maintenance recorded"
    if pro >= 2 * re_:
        return "mostly proactive"
    if re_ >= 2 * pro:
        return "mostly reactive"
    return "mixed"


def _months_chart(pdoc: dict[str, Any]) -> dict[str, Any]:
    months = pdoc["months"]
    return charts.lines([
        {"name": "opened", "tone": "a", "points": [(m["month"] + "-01", m["opened"])
                                                   for m in months]},
        {"name": "closed", "tone": "c", "points": [(m["month"] + "-01", m["closed"])
                                                   for m in months]},
        {"name": "SLA breaches", "tone": "b", "points": [(m["month"] + "-01", m["breaches"])
                                                         for m in months]},
    ])


def _control_charts(pdoc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for control in sorted(pdoc["controls"], key=model.control_key):
        c = pdoc["controls"][control]
        out.append({"control": control, "title": model.control_title(control),
                    "start": c["start"], "end": c["end"], "not_run_end": c.get("not_run_end"),
                    "chart": charts.lines([{"name": model.control_title(control), "tone": "c",
                                            "points": [(p["at"], p["compliance"])
                                                       for p in c["points"]]}],
                                          width=640, height=150, percent=True)})
    return out


def _timeline(pdoc: dict[str, Any]) -> dict[str, Any]:
    hosts = sorted(pdoc["maintenance"], key=lambda m: (-m["findings_opened"], m["host"]))
    rows = []
    for m in hosts[:MAX_TIMELINE_HOSTS]:
        marks = [{"at": e["at"], "kind": e["kind"], "proactive": e["proactive"],
                  "title": f"{model.when(e['at'])}: {KIND_WORDS.get(e['kind'], e['kind'])}"
                           f" ({'proactive' if e['proactive'] else 'reactive'})"}
                 for e in m["events"]]
        rows.append({"label": m["host"], "marks": marks})
    p = pdoc["period"]
    return charts.timeline(rows, p["from"], p["to"] + "T23:59:59Z")


def coverage_line(pdoc: dict[str, Any]) -> str:
    """The period's score with what it stands on, as of its last scan: "62% of the checks that
    could run passed (…), on 5 of 7 computers; 27 checks not run"."""
    points = pdoc.get("coverage") or []
    if not points:
        return "No scan in this period"
    last = points[-1]
    p, f = last["pass"], last["fail"]
    on = f"on {last['hosts_reached']} of {model.plural(last['hosts'], 'computer')}"
    text = (f"{last['compliance']:g}% of the checks that could run passed ({p} of {p + f}), {on}"
            if last["compliance"] is not None else f"No check could run, {on}")
    text += (f"; {model.plural(last['not_run'], 'check')} not run" if last["not_run"]
             else "; every check ran")
    return f"At the last scan of the period ({model.day(last['at'])}): {text}"


def overdue_words(pdoc: dict[str, Any]) -> str:
    """``3 overdue on 31 Mar 2026`` (the period's end, or today when the end is to come)."""
    o = pdoc["open_at_end"]
    return f"{o['overdue']} overdue on {model.day(o.get('as_of') or pdoc['period']['to'])}"


def fixed_words(pdoc: dict[str, Any]) -> Any:
    """What the "Fixed" column says of a finding: the day it was fixed, "not yet", or, for one
    closed without a fix (the rule changed, no longer checked), that and the day, never a date
    that reads as a fix."""
    why = {(i["host"], i["rule"], i["first_seen"]): i["why"]
           for i in pdoc.get("closed_not_fixed") or []}

    def words(item: dict[str, Any]) -> str:
        if not item.get("resolved"):
            return "not yet"
        reason = why.get((item["host"], item["rule"], item["first_seen"]))
        day = model.day(item["resolved"])
        return f"not fixed: {reason} ({day})" if reason else day
    return words


def month_name(month: str, short: bool = False) -> str:
    """``2026-03`` as ``March 2026`` (``Mar 26`` when short)."""
    try:
        dt = datetime.strptime(month, "%Y-%m")
    except ValueError:
        return month
    return f"{dt:%b %y}" if short else f"{dt:%B %Y}"


def context(pdoc: dict[str, Any]) -> dict[str, Any]:
    estate = pdoc.get("estate") or {}
    maint = [{**m, "verdict": verdict(m["summary"])} for m in pdoc["maintenance"]]
    return {
        "p": pdoc, "provider_name": estate.get("provider") or "the IT provider",
        "estate_name": estate.get("name") or estate.get("client") or "",
        "version": (pdoc.get("tool") or {}).get("version", ""),
        "months_chart": _months_chart(pdoc), "control_charts": _control_charts(pdoc),
        "timeline": _timeline(pdoc), "maintenance": maint, "kind_words": KIND_WORDS,
        "max_rows": MAX_ROWS, "timeline_hosts": min(len(maint), MAX_TIMELINE_HOSTS),
        "month_name": month_name, "coverage_line": coverage_line(pdoc),
        "overdue_words": overdue_words(pdoc), "fixed_words": fixed_words(pdoc),
    }


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:g}%"


def _console(pdoc: dict[str, Any], out: TextIO, color: bool | None, width: int | None) -> None:
    con = Console(file=out, width=width, highlight=False, soft_wrap=False,
                  force_terminal=color if color else None, no_color=color is False, emoji=False)
    p = pdoc["period"]
    con.print(Text(f"undone contract review {p['from']} to {p['to']}", style="bold"))
    s = pdoc["scans"]
    con.print(Text(f"{s['total']} scans ({s['interrupted']} interrupted), "
                   f"{len(pdoc['hosts'])} hosts", style="dim"))
    con.print(Text(coverage_line(pdoc) + "."))
    con.print()
    con.print(Text("Compliance per control (start → end)", style="bold underline"))
    for control in sorted(pdoc["controls"], key=model.control_key):
        c = pdoc["controls"][control]
        not_run = c.get("not_run_end") or 0
        con.print(Text(f"  {model.control_title(control):<28} {_pct(c['start']):>7} → "
                       f"{_pct(c['end'])}" + (f"  ({not_run} not run)" if not_run else "")))
    m = pdoc["mttr"]["all"]
    con.print()
    con.print(Text(f"Opened {len(pdoc['opened'])}, closed {len(pdoc['closed'])}, mean time to "
                   f"remediate {m['mean_days'] if m['mean_days'] is not None else 'n/a'} days, "
                   f"SLA breaches {len(pdoc['breaches'])}, open at the end "
                   f"{pdoc['open_at_end']['total']} ({overdue_words(pdoc)})"))
    other = pdoc.get("closed_not_fixed") or []
    if other:
        con.print(Text(f"Closed without a fix (not in the time to remediate): {len(other)} ("
                       + ", ".join(f"{n} {w}" for w, n in _whys(other)) + ")"))
    con.print()
    con.print(Text("Month     opened closed breaches  MTTR", style="bold underline"))
    for mo in pdoc["months"]:
        mttr = "" if mo["mttr_days"] is None else str(mo["mttr_days"])
        con.print(Text(f"  {mo['month']}  {mo['opened']:>6} {mo['closed']:>6} "
                       f"{mo['breaches']:>8}  {mttr:>5}"))
    con.print()
    con.print(Text("Maintenance per host", style="bold underline"))
    for h in pdoc["maintenance"]:
        parts = []
        for kind, s2 in sorted(h["summary"].items()):
            parts.append(f"{KIND_WORDS.get(kind, kind)} {s2['count']} "
                         f"({s2['proactive']} proactive, {s2['reactive']} reactive)")
        con.print(Text(f"  {clean(h['host'])}: {verdict(h['summary'])}"
                       + (": " + "; ".join(parts) if parts else "")))


def _whys(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    out: dict[str, int] = {}
    for i in items:
        out[i["why"]] = out.get(i["why"], 0) + 1
    return sorted(out.items(), key=lambda kv: -kv[1])


def _markdown(pdoc: dict[str, Any], out: TextIO) -> None:
    esc, cell = markdown.esc, markdown.cell
    p = pdoc["period"]
    estate = pdoc.get("estate") or {}
    lines = [f"# Contract review: {model.day(p['from'])} to {model.day(p['to'])}", ""]
    if estate.get("name") or estate.get("provider"):
        lines += [" · ".join(esc(x) for x in (estate.get("name"), estate.get("provider")) if x),
                  ""]
    m = pdoc["mttr"]["all"]
    lines += [f"- Findings opened: {len(pdoc['opened'])}; closed: {len(pdoc['closed'])}",
              f"- Mean time to remediate: "
              f"{m['mean_days'] if m['mean_days'] is not None else 'n/a'} days "
              f"({m['count']} closed)",
              f"- SLA breaches: {len(pdoc['breaches'])}",
              f"- Open at the end: {pdoc['open_at_end']['total']} ({overdue_words(pdoc)})",
              f"- Closed without a fix (the rule changed, or no longer checked; not in the time "
              f"to remediate): {len(pdoc.get('closed_not_fixed') or [])}",
              f"- {esc(coverage_line(pdoc))}",
              f"- Scans: {pdoc['scans']['total']} ({pdoc['scans']['interrupted']} interrupted)",
              "", "## Compliance per control", "",
              "Share of the checks that could run that passed; \"not run\" counts the checks that "
              "could not (a computer not reached, a fact not read) at the last scan.", "",
              "| Control | Start | End | Not run |", "|---|---:|---:|---:|"]
    for control in sorted(pdoc["controls"], key=model.control_key):
        c = pdoc["controls"][control]
        lines.append(f"| {esc(model.control_title(control))} | {_pct(c['start'])} | "
                     f"{_pct(c['end'])} | {c.get('not_run_end') or 0} |")
    lines += ["", "## By month", "", "| Month | Opened | Closed | SLA breaches | MTTR (days) |",
              "|---|---:|---:|---:|---:|"]
    for mo in pdoc["months"]:
        lines.append(f"| {mo['month']} | {mo['opened']} | {mo['closed']} | {mo['breaches']} | "
                     f"{mo['mttr_days'] if mo['mttr_days'] is not None else ''} |")
    if pdoc["breaches"]:
        fixed = fixed_words(pdoc)
        lines += ["", "## SLA breaches", "",
                  "| Computer | Check | Severity | Due | Days late | Resolved |",
                  "|---|---|---|---|---:|---|"]
        for b in pdoc["breaches"][:MAX_ROWS]:
            lines.append(f"| {cell(b['host'])} | {esc(b['rule'])} {esc(b['title'])} | "
                         f"{b['severity']} | {model.day(b['due'])} | {b['days_late']} | "
                         f"{fixed(b)} |")
    lines += ["", "## Maintenance per host", "",
              "| Computer | Verdict | Patches | Backups | Signatures |", "|---|---|---|---|---|"]
    for h in pdoc["maintenance"]:
        def show(kind: str, s: dict[str, dict[str, Any]] = h["summary"]) -> str:
            x = s.get(kind)
            return (f"{x['count']} ({x['reactive']} reactive), last {model.day(x['last'])}"
                    if x else "none")
        lines.append(f"| {cell(h['host'])} | {verdict(h['summary'])} | {show('patch')} | "
                     f"{show('backup')} | {show('signatures')} |")
    lines.append("")
    out.write("\n".join(lines))


def render(pdoc: dict[str, Any], out: TextIO, fmt: str = "console", color: bool | None = None,
           width: int | None = None, indent: int | None = 2) -> None:
    if fmt == "json":
        json.dump(pdoc, out, indent=indent, ensure_ascii=False)
        out.write("\n")
    elif fmt == "markdown":
        _markdown(pdoc, out)
    elif fmt == "html":
        from reports import html

        out.write(html.environment().get_template("period.html.j2").render(context(pdoc)))
    else:
        _console(pdoc, out, color, width)
