"""Differences between two scans: new, fixed, regressed, still overdue.

:func:`build` compares two result documents (from ``--format json`` files, or rebuilt from the
history) pair by pair (host × rule) and gives an ``undone.diff/1`` document; :func:`render`
writes it as console text, Markdown, HTML or JSON.

- **fixed**: failing (``fail`` or ``waived``) in the old scan, ``pass`` or ``not_applicable`` now.
- **new**: failing now, not failing in the old scan, and never failed before.
- **regressed**: failing now, not failing in the old scan, and fixed once before (the history
  marks it ``reopened``; without history, a pair that passed in the old scan).
- **still overdue**: failing in both, and past its due date now.

A pair missing from the new scan (a host not scanned, a rule dropped) is not counted as fixed.
"""

from __future__ import annotations

import io
import json
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from reports import clean, markdown, model

FAILING = ("fail", "waived")
RESOLVED = ("pass", "not_applicable")
KINDS = ("new", "regressed", "fixed", "still_overdue")
KIND_TITLES = {"new": "New findings", "regressed": "Came back after being fixed",
               "fixed": "Fixed", "still_overdue": "Still overdue"}


STATUSES = ("pass", "fail", "error", "not_applicable", "waived", "manual")
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


def _entry(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    return {"host": new["host"], "rule": new["rule"], "title": new["title"],
            "control": new["control"], "severity": new["severity"], "owner": new["owner"],
            "old_status": old["status"] if old else None, "new_status": new["status"],
            "first_seen": new.get("first_seen") or (old or {}).get("first_seen"),
            "due": new.get("due") or (old or {}).get("due"),
            "overdue_days": new.get("overdue_days"), "message": new.get("message") or ""}


def build(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    before = {(r["host"], r["rule"]): r for r in old.get("results", [])}
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for r in new.get("results", []):
        o = before.get((r["host"], r["rule"]))
        was = o["status"] if o else None
        if r["status"] in FAILING and was not in FAILING:
            reopened = bool(r.get("reopened")) or (r.get("first_seen") is None
                                                    and was in RESOLVED)
            out["regressed" if reopened else "new"].append(_entry(o, r))
        elif r["status"] in RESOLVED and was in FAILING:
            out["fixed"].append(_entry(o, r))
        elif r["status"] == "fail" and was in FAILING and (r.get("overdue_days") or 0) > 0:
            out["still_overdue"].append(_entry(o, r))
    for k in KINDS:
        out[k].sort(key=lambda e: (-(e["overdue_days"] or 0),
                                   model.SEVERITY_RANK.get(e["severity"], 9), e["host"],
                                   e["rule"]))

    def head(d: dict[str, Any]) -> dict[str, Any]:
        s = d.get("scan") or {}
        return {"id": s.get("id"), "started_at": s.get("started_at"),
                "hosts": len(d.get("hosts", []))}
    return {"schema": "undone.diff/1", "tool": new.get("tool") or {},
            "estate": (new.get("scan") or {}).get("estate") or {},
            "scans": {"old": head(old), "new": head(new)},
            "counts": {k: len(v) for k, v in out.items()}, "changes": out}


def _console(diff: dict[str, Any], out: TextIO, color: bool | None, width: int | None) -> None:
    con = Console(file=out, width=width, highlight=False, soft_wrap=False,
                  force_terminal=color if color else None, no_color=color is False, emoji=False)
    o, n = diff["scans"]["old"], diff["scans"]["new"]
    con.print(Text(f"undone diff  {clean(o['id'])} ({clean(o['started_at'])}) → "
                   f"{clean(n['id'])} ({clean(n['started_at'])})", style="bold"))
    c = diff["counts"]
    con.print(Text(f"{c['new']} new, {c['regressed']} regressed, {c['fixed']} fixed, "
                   f"{c['still_overdue']} still overdue"))
    styles = {"new": "bold red", "regressed": "magenta", "fixed": "green",
              "still_overdue": "red"}
    for kind in KINDS:
        entries = diff["changes"][kind]
        if not entries:
            continue
        con.print()
        con.print(Text(f"{KIND_TITLES[kind]} ({len(entries)})", style="bold underline"))
        for e in entries:
            line = Text("  ")
            line.append(f"{kind.upper().replace('_', ' '):<13}", style=styles[kind])
            line.append(f" [{e['severity']}] {clean(e['host'])} {clean(e['rule'])} ")
            line.append(clean(e["title"]))
            if e.get("overdue_days"):
                line.append(f"  ({e['overdue_days']} days overdue)", style="red")
            con.print(line)


def _markdown(diff: dict[str, Any], out: TextIO) -> None:
    esc = markdown.esc
    o, n = diff["scans"]["old"], diff["scans"]["new"]
    c = diff["counts"]
    lines = [f"# Changes from {model.day(o['started_at'])} to {model.day(n['started_at'])}", "",
             f"{c['new']} new, {c['regressed']} came back after being fixed, {c['fixed']} fixed, "
             f"{c['still_overdue']} still overdue.", ""]
    for kind in KINDS:
        entries = diff["changes"][kind]
        if not entries:
            continue
        lines += [f"## {KIND_TITLES[kind]} ({len(entries)})", "",
                  "| Computer | Check | Severity | First seen | Overdue |",
                  "|---|---|---|---|---:|"]
        for e in entries:
            lines.append(f"| {markdown.cell(e['host'])} | {esc(e['rule'])} {esc(e['title'])} | "
                         f"{esc(e['severity'])} | {model.day(e['first_seen'])} | "
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
            diff=diff, kinds=KINDS, kind_titles=KIND_TITLES,
            version=(diff.get("tool") or {}).get("version", "")))
    else:
        _console(diff, out, color, width)


def text(diff: dict[str, Any], fmt: str = "console") -> str:
    buf = io.StringIO()
    render(diff, buf, fmt, color=False, width=120)
    return buf.getvalue()
