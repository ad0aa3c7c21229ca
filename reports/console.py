"""Console report: a readable summary grouped by control: what failed, why, and what to do.

Built with rich ``Text`` objects (never markup strings), so nothing a target printed can style or
move the terminal; control characters are stripped first. Without a terminal (cron, a pipe) rich
prints plain lines.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TextIO

from rich.console import Console
from rich.text import Text

from reports import access, clean, model, tenants
from scanner.result import Result, ResultDocument
from scanner.vocab import SEVERITIES

CONTROL_TITLES = {
    "firewalls": "Firewalls",
    "secure-configuration": "Secure configuration",
    "security-update-management": "Security updates",
    "user-access-control": "User access control",
    "malware-protection": "Malware protection",
    "backup": "Backups",
    "asset-management": "Asset management",
}
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
STATUS_STYLE = {"fail": "bold red", "error": "yellow", "manual": "cyan", "waived": "magenta",
                "pass": "green", "not_applicable": "dim"}
EXIT_WORDS = {0: "everything checked passed", 1: "findings", 2: "bad input",
              3: "incomplete: some things could not be checked", 4: "internal error"}
MAX_HOSTS_LISTED = 6


def _hosts(names: list[str]) -> str:
    shown = ", ".join(clean(n) for n in names[:MAX_HOSTS_LISTED])
    more = len(names) - MAX_HOSTS_LISTED
    return shown + (f" (+{more} more)" if more > 0 else "")


def render(doc: ResultDocument, out: TextIO, width: int | None = None,
           color: bool | None = None, verbose: bool = False) -> None:
    console = Console(file=out, width=width, highlight=False, soft_wrap=False,
                      force_terminal=color if color else None, no_color=color is False,
                      emoji=False)
    scan = doc["scan"]
    summary = doc["summary"]
    head = Text()
    head.append(f"undone {doc['tool']['version']}", style="bold")
    head.append(f"  scan {clean(scan['id'])}  {scan['started_at']}")
    console.print(head)
    base = ", ".join(f"{clean(b['name'])} {clean(b['version'])}" for b in scan["baselines"])
    console.print(Text(f"baselines: {base}", style="dim"))
    if scan.get("complete") is False:
        why = f" by {clean(scan['interrupted'])}" if scan.get("interrupted") else ""
        console.print(Text(f"INTERRUPTED{why}: this scan did not finish; hosts not scanned are "
                           "listed as such, and nothing here says the rest passed",
                           style="bold red"))
    if scan.get("estate"):
        est = scan["estate"]
        who = " / ".join(clean(est[k]) for k in ("client", "provider") if est.get(k))
        if who:
            console.print(Text(f"estate: {who}", style="dim"))

    # hosts
    console.print()
    of_host: dict[str, list[Result]] = defaultdict(list)
    for r in doc["results"]:
        of_host[r["host"]].append(r)
    for h in doc["hosts"]:
        line = Text("  ")
        if h.get("reachable"):
            line.append("● ", style="green")
        else:
            line.append("✖ ", style="bold red")
        line.append(clean(h["name"]), style="bold")
        facts = h.get("facts", {})
        desc = facts.get("os.pretty_name") or h.get("platform") or ""
        line.append(f"  {clean(h.get('transport'))}  {clean(desc)}")
        roles = h.get("roles") or (h.get("roles_inferred") if h.get("roles_source") == "inferred"
                                   else None)
        if roles:
            line.append(f"  [{clean(', '.join(roles))}"
                        f"{', inferred' if not h.get('roles') else ''}]", style="dim")
        if h.get("error"):
            line.append(f"  {clean(h['error'])}", style="red")
        key = (h.get("connection") or {}).get("host_key") or {}
        if key.get("accepted_on_first_use"):
            line.append(f"  (host key {clean(key.get('fingerprint'))} accepted on first use)",
                        style="yellow")
        console.print(line)
        _not_applicable(console, of_host.get(h["name"], []), verbose)

    # findings grouped by control, then by rule; a host that was not reached is its own line
    # above (nothing on it was judged), never one error per rule
    unreached = {h["name"] for h in doc["hosts"] if not h.get("reachable")}
    by_control: dict[str, dict[str, list[Result]]] = defaultdict(lambda: defaultdict(list))
    tallies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in doc["results"]:
        tallies[r["control"]][r["status"]] += 1  # every result: the same counts as elsewhere
        if r["host"] not in unreached:
            by_control[r["control"]][r["rule"]].append(r)
    for control in sorted(by_control, key=lambda c: list(CONTROL_TITLES).index(c)
                          if c in CONTROL_TITLES else 99):
        rules = by_control[control]
        counts = tallies[control]
        console.print()
        title = Text(CONTROL_TITLES.get(control, control), style="bold underline")
        tally = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(counts.items()))
        title.append(f"  ({tally})", style="dim")
        console.print(title)
        ordered = sorted(rules.items(), key=lambda kv: (
            min(["fail", "error", "manual", "waived", "pass", "not_applicable"].index(r["status"])
                for r in kv[1]),
            SEVERITY_RANK.get(kv[1][0]["severity"], 9), kv[0]))
        for rule_id, rs in ordered:
            by_status: dict[str, list[Result]] = defaultdict(list)
            for r in rs:
                by_status[r["status"]].append(r)
            first = rs[0]
            for status in ("fail", "error", "manual", "waived"):
                group = by_status.get(status)
                if not group:
                    continue
                line = Text("  ")
                line.append(f"{status.upper():<6}", style=STATUS_STYLE[status])
                line.append(f" [{first['severity']}] {rule_id} ", style="bold")
                line.append(clean(model.heading(model.rule_info(doc, rule_id), first["title"])
                                  if status in ("fail", "waived") else first["title"]))
                console.print(line)
                console.print(Text(f"         on: {_hosts([r['host'] for r in group])}",
                                   style="dim"))
                for r in group[: 3 if verbose else 1]:
                    found = r.get("finding")
                    if found:
                        console.print(Text(f"         found: {_cut(clean(found), verbose)}"))
                    if r.get("message") and not (status == "manual" and found):
                        prefix = {"manual": "see", "error": "why"}.get(
                            status, "rule" if found else "why")
                        why = _cut(clean(r["message"]), verbose)
                        console.print(Text(f"         {prefix}: {why}",
                                           style="dim" if found else ""))
                    if status == "manual" and r.get("observed") and not found:
                        for label, text in model.readable(r["observed"])[:4]:
                            console.print(Text(f"         {clean(label)}: {clean(text)[:200]}"))
                    if status == "waived" and r.get("waiver"):
                        w = r["waiver"]
                        console.print(Text(f"         waived by {clean(w['approved_by'])} until "
                                           f"{clean(w['expires'])}: {clean(w['reason'])}"))
                if status == "fail":
                    since = _since(group)
                    if since:
                        console.print(Text(f"         {since}", style="red" if "overdue" in since
                                           else "dim"))
                    expired = next((r["waiver_expired"] for r in group
                                    if r.get("waiver_expired")), None)
                    if expired:
                        console.print(Text(f"         waiver expired {clean(expired['expires'])} "
                                           f"(approved by {clean(expired['approved_by'])}): "
                                           f"{clean(expired['reason'])}", style="yellow"))
                    for words, text in model.advice(doc, rule_id, [r["host"] for r in group]):
                        console.print(Text(f"         do:  {clean(words) + ': ' if words else ''}"
                                           f"{clean(text)}", style="cyan"))
            passed = len(by_status.get("pass", []))
            if passed and not any(by_status.get(s) for s in ("fail", "error", "manual", "waived")):
                line = Text("  ")
                line.append("pass  ", style="green")
                line.append(f" {rule_id} {clean(first['title'])}", style="dim")
                if len(rs) > 1:
                    line.append(f" ({passed} hosts)", style="dim")
                console.print(line)

    # who can administer each system: the client, the provider (reports/access.py)
    access.print_console(doc, console)
    tenants.print_console(doc, console)  # and each cloud tenant (reports/tenants.py)

    console.print()
    assessed = model.not_assessed(doc)
    for c in assessed["controls"]:
        console.print(Text(f"Not assessed: {c['title']} on every system: {clean(c['why'])}",
                           style="yellow"))
    for hh in assessed["hosts"]:
        if hh["unreachable"]:
            what = f"not reached, nothing checked ({clean(hh['why'])[:160]})"
        else:
            what = "; ".join(f"{c['title']} ({clean(c['why'])[:120]})" for c in hh["controls"])
        console.print(Text(f"Not assessed on {clean(hh['host'])}: {what}", style="yellow"))
    cov = model.coverage(doc)
    console.print(Text(f"Score: {cov['text']}.", style="bold"))
    bs = summary["by_status"]
    tail = Text("Summary: ", style="bold")
    parts = [f"{bs.get(s, 0)} {s.replace('_', ' ')}" for s in
             ("pass", "fail", "error", "manual", "waived", "not_applicable") if bs.get(s)]
    tail.append(", ".join(parts) or "no results")
    tail.append(f"  |  hosts: {summary['hosts_total']}, "
                f"unreachable: {summary['hosts_unreachable']}")
    console.print(tail)
    code = summary["exit_code"]
    console.print(Text(f"Exit code {code}: {EXIT_WORDS.get(code, '')}",
                       style="bold red" if code == 1 else ("yellow" if code == 3 else "green")))


def _not_applicable(console: Console, results: list[Result], verbose: bool) -> None:
    """One line per host: what was not checked there because it does not apply, and why, naming
    the rules a role left out (``verbose``: every reason with its rules)."""
    na = model.not_applicable(results)
    if not na["count"]:
        return
    role = model.NA_WORDS["role"]
    why = ", ".join(f"{n} {words}" + (f": {_hosts(na['role'])}" if words == role else "")
                    for words, n in na["by_reason"])
    console.print(Text(f"      not checked here: {model.plural(na['count'], 'rule')} ({why})",
                       style="dim"))
    if verbose:
        for g in na["groups"]:
            console.print(Text(f"        {clean(g['why'])}: "
                               + ", ".join(clean(r["rule"]) for r in g["rules"]), style="dim"))


def _cut(text: str, verbose: bool) -> str:
    return text if verbose or len(text) <= 300 else text[:297] + "..."


def _since(group: list[Result]) -> str:
    """``since 2026-10-01, due 2026-10-15, 38 days overdue`` for the oldest of a group."""
    dated = [r for r in group if r.get("first_seen")]
    if not dated:
        return ""
    worst = max(dated, key=lambda r: (r.get("overdue_days") or 0, -len(r["first_seen"] or "")))
    oldest = min(f for r in dated if (f := r["first_seen"]))
    text = f"since {clean(oldest)[:10]}, due {clean(worst.get('due') or '?')}"
    overdue = worst.get("overdue_days") or 0
    if overdue:
        n = sum(1 for r in dated if (r.get("overdue_days") or 0) > 0)
        text += f", {overdue} days overdue" + (f" ({n} hosts overdue)" if len(group) > 1 else "")
    if any(r.get("reopened") for r in group):
        text += "; came back after being fixed"
    return text
