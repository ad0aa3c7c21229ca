"""What changed between two scans: the one classification every report of changes uses.

:func:`build` compares two result documents (from ``--format json`` files, or rebuilt from the
history) pair by pair (host × rule) and gives an ``undone.diff/1`` document; :func:`render`
writes it as console text, Markdown, HTML or JSON. ``undone report --diff``, the e-mail and
webhook change summary (scanner/ops/notify.py) and the one-page summary's "since the last scan" all
come from :func:`build`, so they say the same thing about the same two scans.

Findings (a failing result is ``fail``, or ``waived``: a waiver accepts a gap, it does not close
it):

- **new**: failing now, not failing in the old scan, and never failed before;
- **regressed**: the same for a finding that was fixed once (the history marks it ``reopened``;
  without history, a pair that passed in the old scan);
- **fixed**: failing in the old scan, ``pass`` now, or ``not_applicable`` because its
  precondition no longer holds (the thing is gone), under the same rule;
- **newly waived**: ``fail`` then, ``waived`` now: accepted, not fixed;
- **no longer waived**: ``waived`` then, ``fail`` now (the waiver expired or was withdrawn);
- **no longer checked**: failing in the old scan, and now not judged: ``error`` (the host was
  not reached, a fact could not be read), out of scope (``not_applicable`` for its platform,
  role or sections), or missing from the new scan (a host not scanned, a rule dropped);
- **rule changed**: the rule's check differs between the scans (``expected`` changed, for
  instance a threshold in the baseline) and the verdict went with it: neither fixed nor new;
- **became overdue**: failing in both, past its due date now and not at the old scan;
- **still overdue**: failing in both and overdue in both.

Systems: **unreachable** (reached in the old scan, or new to it, and not reached now) and
**reachable again**.

Only **fixed** is a remediation: newly waived, no longer checked and rule changed never count as
fixed, so they never enter a time-to-fix figure (the history closes such findings with their
own reason, scanner/history/store.py).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from reports import clean, markdown, model
from scanner.result import Result, ResultDocument, RuleDoc
from scanner.vocab import STATUSES

FAILING = ("fail", "waived")
KINDS = ("new", "regressed", "became_overdue", "still_overdue", "no_longer_waived",
         "newly_waived", "no_longer_checked", "rule_changed", "fixed")
HOST_KINDS = ("unreachable", "reachable")
KIND_TITLES = {"new": "New findings", "regressed": "Came back after being fixed",
               "became_overdue": "Became overdue", "still_overdue": "Still overdue",
               "no_longer_waived": "No longer waived", "newly_waived": "Newly waived",
               "no_longer_checked": "No longer checked", "rule_changed": "Rule changed",
               "fixed": "Fixed", "unreachable": "Could not be reached",
               "reachable": "Reachable again"}
KIND_WORDS = {"new": "new", "regressed": "came back", "became_overdue": "became overdue",
              "still_overdue": "still overdue", "no_longer_waived": "no longer waived",
              "newly_waived": "newly waived", "no_longer_checked": "no longer checked",
              "rule_changed": "rule changed", "fixed": "fixed",
              "unreachable": "not reached", "reachable": "reachable again"}
# a not_applicable that means the thing is gone (its precondition), not that it left the scope
OUT_OF_SCOPE = ("platform", "role", "sections")


_TEXT = ("host", "rule", "title", "control", "severity")
_TEXT_OR_NONE = ("owner", "first_seen", "due", "message")


def problems(doc: Any) -> list[str]:
    """Why ``doc`` cannot be compared (what :func:`build` and :func:`render` read), as key
    paths; empty when it can. A file that is not a result document is bad input, never a
    crash."""
    if not isinstance(doc, dict):
        return [f"(top level): expected an object, found {type(doc).__name__}"]
    if doc.get("schema") != "undone.scan/1":
        return ["schema: expected \"undone.scan/1\""]
    out: list[str] = []
    for key, kind in (("scan", dict), ("tool", dict), ("hosts", list), ("results", list)):
        if key in doc and not isinstance(doc[key], kind):
            out.append(f"{key}: expected {'an object' if kind is dict else 'a list'}")
    if out:
        return out
    scan = doc.get("scan") or {}
    for key in ("id", "started_at"):
        if scan.get(key) is not None and not isinstance(scan[key], str):
            out.append(f"scan.{key}: expected text")
    if not isinstance(scan.get("estate") or {}, dict):
        out.append("scan.estate: expected an object")
    if not isinstance((doc.get("tool") or {}).get("version", ""), str):
        out.append("tool.version: expected text")
    for i, r in enumerate(doc.get("results") or []):
        where = f"results[{i}]"
        if not isinstance(r, dict):
            out.append(f"{where}: expected an object")
        else:
            for key in _TEXT:
                if not isinstance(r.get(key), str):
                    out.append(f"{where}.{key}: expected text")
            for key in _TEXT_OR_NONE:
                if r.get(key) is not None and not isinstance(r[key], str):
                    out.append(f"{where}.{key}: expected text or null")
            if r.get("status") not in STATUSES:
                out.append(f"{where}.status: expected one of {', '.join(STATUSES)}")
            days = r.get("overdue_days")
            if days is not None and (not isinstance(days, int) or isinstance(days, bool)):
                out.append(f"{where}.overdue_days: expected a whole number or null")
        if len(out) >= 3:
            break
    return out


def _entry(old: Result | None, new: Result, why: str = "",
           rules: Mapping[str, RuleDoc] | None = None) -> dict[str, Any]:
    info = (rules or {}).get(new["rule"])
    e = {"host": new["host"], "rule": new["rule"], "title": new["title"],
         # what is wrong, in the rule's words (never "Not done: No ..."), for the kinds about
         # failing results; the others read with the rule's title (the compliant state)
         "heading": model.one_line(info.get("problem") if info else None) or new["title"],
         "control": new["control"], "severity": new["severity"], "owner": new["owner"],
         "old_status": old["status"] if old else None, "new_status": new["status"],
         "first_seen": new.get("first_seen") or (old.get("first_seen") if old else None),
         "due": new.get("due") or (old.get("due") if old else None),
         "overdue_days": new.get("overdue_days"), "message": new.get("message") or ""}
    if why:
        e["why"] = why
    return e


def classify(old: Result | None, new: Result | None,
             old_started: str = "") -> tuple[str, str] | None:
    """The kind of change of one (host, rule) pair from ``old`` to ``new`` (either may be
    None: the pair is missing from that scan), and why in words; None: nothing to report."""
    was = old["status"] if old else None
    now = new["status"] if new else None
    if new is None:
        return ("no_longer_checked", "not in the new scan") if was in FAILING else None
    if old is not None and (was in FAILING) != (now in FAILING) and \
            now not in ("error", "manual") and was not in ("error", "manual") and \
            (old.get("expected") or "") != (new.get("expected") or "") and \
            not (now == "not_applicable" and new.get("na_reason") in OUT_OF_SCOPE):
        return ("rule_changed", f"the check was '{old.get('expected')}', is now "
                                f"'{new.get('expected')}'")
    if now in FAILING and was not in FAILING:
        first = new.get("first_seen")
        if was in ("error", "manual") and first and old_started and first < old_started:
            return None  # open since before the old scan, which could not judge it
        reopened = bool(new.get("reopened")) or (first is None and was in ("pass",
                                                                           "not_applicable"))
        return ("regressed" if reopened else "new"), ""
    if now == "waived" and was == "fail":
        return "newly_waived", ""
    if now == "fail" and was == "waived":
        return "no_longer_waived", ""
    if was in FAILING and now not in FAILING:
        if now == "pass" or (now == "not_applicable"
                             and new.get("na_reason") not in OUT_OF_SCOPE):
            return "fixed", ""
        if now == "not_applicable":
            return "no_longer_checked", model.one_line(new.get("message"))
        return "no_longer_checked", model.one_line(new.get("message")) or str(now)
    if now == "fail" and was == "fail" and (new.get("overdue_days") or 0) > 0:
        if old is not None and not (old.get("overdue_days") or 0) and \
                old.get("overdue_days") is not None:
            return "became_overdue", ""
        return "still_overdue", ""
    return None


def build(old: ResultDocument, new: ResultDocument) -> dict[str, Any]:
    """The ``undone.diff/1`` document of what changed from ``old`` to ``new``."""
    before = {(r["host"], r["rule"]): r for r in old.get("results", [])}
    rules = {**(old.get("rules") or {}), **(new.get("rules") or {})}
    old_started = str((old.get("scan") or {}).get("started_at") or "")
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in (*KINDS, *HOST_KINDS)}
    seen = set()
    for r in new.get("results", []):
        key = (r["host"], r["rule"])
        seen.add(key)
        o = before.get(key)
        kind = classify(o, r, old_started)
        if kind is not None:
            out[kind[0]].append(_entry(o, r, kind[1], rules))
    for key, o in before.items():
        if key not in seen and o["status"] in FAILING:
            out["no_longer_checked"].append({**_entry(o, o, "not in the new scan", rules),
                                             "new_status": None, "overdue_days": None})
    was_reachable = {h["name"]: bool(h.get("reachable")) for h in old.get("hosts", [])}
    for h in new.get("hosts", []):
        then = was_reachable.get(h["name"])
        item = {"host": h["name"], "address": h.get("address"),
                "error": model.one_line(clean(h.get("error") or ""))[:200]}
        if not h.get("reachable") and then is not False:
            out["unreachable"].append(item)
        elif h.get("reachable") and then is False:
            out["reachable"].append(item)
    for k in KINDS:
        out[k].sort(key=lambda e: (-(e["overdue_days"] or 0),
                                   model.SEVERITY_RANK.get(e["severity"], 9), e["host"],
                                   e["rule"]))
    for k in HOST_KINDS:
        out[k].sort(key=lambda e: e["host"])

    def head(d: ResultDocument) -> dict[str, Any]:
        s = d.get("scan") or {}
        return {"id": s.get("id"), "started_at": s.get("started_at"),
                "finished_at": s.get("finished_at"), "hosts": len(d.get("hosts", []))}
    return {"schema": "undone.diff/1", "tool": new.get("tool") or {},
            "estate": (new.get("scan") or {}).get("estate") or {},
            "scans": {"old": head(old), "new": head(new)},
            "counts": {k: len(v) for k, v in out.items()}, "changes": out}


FAILING_KINDS = ("new", "regressed", "became_overdue", "still_overdue", "no_longer_waived",
                 "newly_waived")


def _label(kind: str, e: dict[str, Any]) -> str:
    """What to call an entry: what is wrong for a failing one, the rule's title otherwise."""
    return str(e.get("heading") or e["title"]) if kind in FAILING_KINDS else str(e["title"])


def counts_line(counts: dict[str, int], empty: str = "no change") -> str:
    """``3 new, 1 fixed, 2 newly waived``: the kinds that happened, in the order of
    :data:`KINDS`."""
    parts = [f"{counts[k]} {KIND_WORDS[k]}" for k in (*KINDS, *HOST_KINDS) if counts.get(k)]
    return ", ".join(parts) or empty


def _console(diff: dict[str, Any], out: TextIO, color: bool | None, width: int | None) -> None:
    con = Console(file=out, width=width, highlight=False, soft_wrap=False,
                  force_terminal=color if color else None, no_color=color is False, emoji=False)
    o, n = diff["scans"]["old"], diff["scans"]["new"]
    con.print(Text(f"undone diff  {clean(o['id'])} ({clean(o['started_at'])}) → "
                   f"{clean(n['id'])} ({clean(n['started_at'])})", style="bold"))
    con.print(Text(counts_line(diff["counts"])))
    styles = {"new": "bold red", "regressed": "magenta", "fixed": "green",
              "still_overdue": "red", "became_overdue": "red", "newly_waived": "magenta",
              "no_longer_waived": "red", "no_longer_checked": "yellow", "rule_changed": "cyan",
              "unreachable": "yellow", "reachable": "green"}
    for kind in (*KINDS, *HOST_KINDS):
        entries = diff["changes"][kind]
        if not entries:
            continue
        con.print()
        con.print(Text(f"{KIND_TITLES[kind]} ({len(entries)})", style="bold underline"))
        for e in entries:
            line = Text("  ")
            if kind in HOST_KINDS:
                line.append(clean(e["host"]), style=styles[kind])
                if e.get("error"):
                    line.append(f"  {clean(e['error'])}")
                con.print(line)
                continue
            line.append(f" [{e['severity']}] {clean(e['host'])} {clean(e['rule'])} ")
            line.append(clean(_label(kind, e)))
            if e.get("overdue_days"):
                line.append(f"  ({e['overdue_days']} days overdue)", style="red")
            if e.get("why"):
                line.append(f"  ({clean(e['why'])})", style="dim")
            con.print(line)


def _markdown(diff: dict[str, Any], out: TextIO) -> None:
    esc = markdown.esc
    o, n = diff["scans"]["old"], diff["scans"]["new"]
    lines = [f"# Changes from {model.day(o['started_at'])} to {model.day(n['started_at'])}", "",
             counts_line(diff["counts"]).capitalize() + ".", ""]
    for kind in HOST_KINDS:
        entries = diff["changes"][kind]
        if entries:
            lines += [f"## {KIND_TITLES[kind]} ({len(entries)})", ""]
            lines += [f"- {esc(e['host'])}" + (f": {esc(e['error'])}" if e.get("error") else "")
                      for e in entries]
            lines.append("")
    for kind in KINDS:
        entries = diff["changes"][kind]
        if not entries:
            continue
        lines += [f"## {KIND_TITLES[kind]} ({len(entries)})", "",
                  "| Computer | Check | Severity | First seen | Overdue |",
                  "|---|---|---|---|---:|"]
        for e in entries:
            why = f" ({esc(e['why'])})" if e.get("why") else ""
            lines.append(f"| {markdown.cell(e['host'])} | {esc(e['rule'])} {esc(_label(kind, e))}"
                         f"{why} | {esc(e['severity'])} | {model.day(e['first_seen'])} | "
                         f"{e['overdue_days'] or ''} |")
        lines.append("")
    lines += [f"*Scans {esc(o['id'])} and {esc(n['id'])}.*", ""]
    out.write("\n".join(lines))


def render(diff: dict[str, Any], out: TextIO, fmt: str = "console", color: bool | None = None,
           width: int | None = None, indent: int | None = 2) -> None:
    if fmt == "json":
        json.dump(diff, out, indent=indent, ensure_ascii=False)
        out.write("\n")
    elif fmt == "markdown":
        _markdown(diff, out)
    elif fmt == "html":
        from reports import html

        out.write(html.environment().get_template("diff.html.j2").render(
            diff=diff, kinds=KINDS, host_kinds=HOST_KINDS, kind_titles=KIND_TITLES,
            label=_label,
            counts_line=counts_line(diff["counts"]),
            version=(diff.get("tool") or {}).get("version", "")))
    else:
        _console(diff, out, color, width)


def text(diff: dict[str, Any], fmt: str = "console") -> str:
    buf = io.StringIO()
    render(diff, buf, fmt, color=False, width=120)
    return buf.getvalue()
