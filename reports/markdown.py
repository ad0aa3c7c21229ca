r"""Markdown report: short enough to paste into a ticket or an email.

What the provider has left undone (overdue first, then by severity, then oldest), what is the
client's or shared, what could not be checked, waivers and expired waivers, then a table per
control. Target text is escaped for Markdown: inline formatting characters (``\ ` * _ [ ] | ~``)
are backslashed, ``<``, ``>`` and ``&`` become entities (Markdown renderers pass raw HTML
through), and line breaks become spaces, so text never starts a line (no headings, lists or
quotes from a target) and never leaves its table cell.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

from reports import clean, model
from reports.rows import Item
from scanner.result import Result, ResultDocument

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
MAX_HOSTS = 10


def esc(value: Any) -> str:
    """Text safe to put anywhere in a Markdown line: formatting and HTML are neutralised."""
    text = " ".join(clean(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def cell(value: Any) -> str:
    return esc(value) or " "


def _hosts(names: list[str]) -> str:
    shown = ", ".join(esc(n) for n in names[:MAX_HOSTS])
    more = len(names) - MAX_HOSTS
    return shown + (f" and {more} more" if more > 0 else "")


def _item(it: Item, ask: str | None, noun: str = "computer") -> list[str]:
    tags = [model.SEVERITY_WORDS.get(it["severity"], it["severity"])]
    if it["overdue_days"] > 0:
        tags.append(f"**overdue by {model.plural(it['overdue_days'], 'day')}**")
    elif it["due"]:
        tags.append(f"due {model.day(it['due'])}")
    if it["reopened"]:
        tags.append("came back after being fixed")
    lines = [f"### {esc(it['heading'])}", "",
             f"*{' · '.join(tags)} · {esc(model.control_title(it['control']))} · "
             f"{esc(it['rule'])}*", "",
             f"- **Where:** {_hosts(it['hosts'])} ({model.plural(len(it['hosts']), noun)})"]
    for host, text in it["findings"][:5]:
        lines.append(f"- **Found on {esc(host)}:** {esc(text)}")
    if len(it["findings"]) > 5:
        lines.append(f"- and on {model.plural(len(it['findings']) - 5, 'more ' + noun)}")
    if it["first_seen"]:
        lines.append(f"- **First seen:** {model.day(it['first_seen'])}")
    if it["rationale"]:
        lines.append(f"- **What it means:** {esc(it['rationale'])}")
    prefix = f"Ask {esc(ask)} to do this: " if ask else ""
    for words, text in it["advice"]:
        where = f" ({esc(words)})" if words else ""
        lines.append(f"- **What to ask for{where}:** {prefix}{esc(text)}")
    if it["message"]:
        lines.append(f"- *Technical detail ({esc(it['rule'])}, on {esc(it['hosts'][0])}):* "
                     f"{esc(it['message'])}")
    lines.append("")
    return lines


def render(doc: ResultDocument, out: TextIO, **_: Any) -> None:
    h = model.headline(doc)
    noun = model.system_noun(doc)  # computers, or systems when tenants are among them
    provider = h["provider"] or "your IT provider"
    scan = doc["scan"]
    lines = [f"# What {esc(provider)} has left undone", ""]
    sub = [esc(h["estate_name"])] if h["estate_name"] else []
    sub += [f"checked {model.when(scan['started_at'])}", model.plural(h["hosts"], noun)]
    if h["unreachable"]:
        sub.append(f"{h['unreachable']} not reached")
    lines += [" · ".join(sub), ""]
    if h["provider_items"]:
        who = esc(provider)
        text = (f"**{who[:1].upper() + who[1:]} has {model.plural(h['provider_items'], 'item')} "
                f"left undone on {model.plural(h['provider_hosts'], noun)}")
        if h["overdue_provider_items"]:
            text += (f"; {h['overdue_provider_items']} overdue, the oldest by "
                     f"{model.plural(h['oldest_overdue'], 'day')}")
        lines += [text + ".**", ""]
    else:
        lines += ["Nothing the IT provider is responsible for was found undone.", ""]
    lines += [f"**Score and coverage:** {esc(model.coverage(doc)['text'])}.", ""]
    since = model.since_last(doc)
    if since:
        from reports import diff

        lines += [f"**Since the last scan:** {diff.counts_line(since['counts'], 'nothing changed')}"
                  ".", ""]

    lines += [f"## Left undone by {esc(provider)}", ""]
    provider_items = model.items(doc, ("provider",))
    for it in provider_items:
        lines += _item(it, provider, noun)
    if not provider_items:
        lines += ["Nothing.", ""]
    other = model.items(doc, ("client", "shared"))
    if other:
        lines += ["## For you, or shared with the provider", ""]
        for it in other:
            lines += _item(it, None, noun)

    unchecked = model.not_checked(doc)
    if unchecked:
        lines += ["## Could not be checked", "", "| Computer | What | Why |", "|---|---|---|"]
        lines += [f"| {cell(n['host'])} | {cell(n['what'])} | {cell(n['why'])} |"
                  for n in unchecked]
        lines.append("")
    assessed = model.not_assessed(doc)
    if assessed["controls"] or assessed["hosts"]:
        lines += ["## Not assessed", "", "| Where | Control | Why |", "|---|---|---|"]
        lines += [f"| every system | {cell(c['title'])} | {cell(c['why'])} |"
                  for c in assessed["controls"]]
        for hh in assessed["hosts"]:
            if hh["unreachable"]:
                lines.append(f"| {cell(hh['host'])} | every control | not reached: "
                             f"{cell(hh['why'])} |")
            else:
                lines += [f"| {cell(hh['host'])} | {cell(c['title'])} | {cell(c['why'])} |"
                          for c in hh["controls"]]
        lines.append("")
    manual = model.manual(doc)
    if manual:
        lines += ["## Needs a person to look", ""]
        for r in manual:
            seen = r.get("finding") or "; ".join(
                f"{label}: {text}" if label else text for label, text in
                model.readable(r.get("observed") or {}))
            lines.append(f"- **{esc(r['host'])}**, {esc(r['title'])} ({esc(r['rule'])}): "
                         f"{esc(seen)}")
        lines.append("")
    active, expired = model.waivers(doc)
    if active or expired:
        lines += ["## Waivers", "", "| Check | Computers | Reason | Approved by | Expires |",
                  "|---|---|---|---|---|"]
        for w in active:
            lines.append(f"| {cell(w['rule'])} {cell(w['title'])} | {_hosts(w['hosts'])} | "
                         f"{cell(w['reason'])} | {cell(w['approved_by'])} | "
                         f"{model.day(w['expires'])} |")
        for w in expired:
            lines.append(f"| {cell(w['rule'])} {cell(w['title'])} | {_hosts(w['hosts'])} | "
                         f"{cell(w['reason'])} | {cell(w['approved_by'])} | "
                         f"**expired {model.day(w['expires'])}: no longer applies** |")
        lines.append("")
    lines += ["## By control", "", "| Control | Passed | Not done | Overdue | Not run |",
              "|---|---:|---:|---:|---:|"]
    for c in model.by_control(doc):
        counts = c["counts"]
        pct = "" if c["compliance"] is None else f" ({c['compliance']:g}%)"
        lines.append(f"| {esc(c['title'])} | {counts.get('pass', 0)}{pct} | "
                     f"{counts.get('fail', 0)} | {c['overdue']} | {counts.get('error', 0)} |")
    lines += _not_checked_here(doc)
    lines += ["", f"*Scan {esc(scan['id'])}, undone {esc(doc.get('tool', {}).get('version', ''))}"
              ".*", ""]
    out.write("\n".join(lines))


def _not_checked_here(doc: ResultDocument) -> list[str]:
    """Per computer, the rules that do not apply there and why, as the console's line under
    each host says it (nothing vanishes; the CSV and JSON give each rule's reason)."""
    of_host: dict[str, list[Result]] = {}
    for r in doc.get("results", []):
        of_host.setdefault(r["host"], []).append(r)
    rows = []
    role = model.NA_WORDS["role"]
    for h in doc.get("hosts", []):
        na = model.not_applicable(of_host.get(h["name"], []))
        if na["count"]:
            why = ", ".join(f"{n} {words}" + (f": {', '.join(na['role'])}" if words == role
                                              else "") for words, n in na["by_reason"])
            rows.append(f"| {cell(h['name'])} | {model.plural(na['count'], 'rule')} | "
                        f"{cell(why)} |")
    if not rows:
        return []
    return ["", "## Not checked here (does not apply)", "", "| Computer | Rules | Why |",
            "|---|---:|---|", *rows]
