"""HTML report: one self-contained file for a non-technical reader (a head teacher, an office
manager), rendered from the result document only.

First what the provider has left undone (overdue first, then the most severe, then the oldest),
each with what it means and what to ask for; then what is the client's or shared, what could not
be checked, waivers (expired ones too), compliance by control and by computer, and overdue items
over time. Charts are inline SVG; there is no script, no web font and no link to fetch, and a
Content-Security-Policy forbids loading anything, so the file opens offline and prints cleanly.

The Jinja2 environment has autoescaping on explicitly: every value that came from a target
(host names, messages, observed values) is text, never markup.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, TextIO

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from reports import access, applications, charts, clean, diff, model, tenants, undated
from scanner.result import ResultDocument


def _capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _hostlist(names: list[str], limit: int = 12) -> str:
    """``a, b, c and 4 more``."""
    shown = ", ".join(clean(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` value: text loses terminal escapes and control characters (then Jinja
    escapes it); ``None`` prints as nothing."""
    if value is None:
        return ""
    if isinstance(value, Markup):  # a macro's output: already escaped inside the template
        return value
    return clean(value) if isinstance(value, str) else value


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=True,  # always: target output is untrusted
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters["capitalize_first"] = _capitalize_first
    env.globals.update(
        day=model.day, when=model.when, plural=model.plural, short=_short,
        control_title=model.control_title, severity_words=model.SEVERITY_WORDS,
        owner_words=model.OWNER_WORDS, status_words=model.STATUS_WORDS, hostlist=_hostlist,
        readable=model.readable,
        access_tone={"client": "good", "shared": "good", "provider-only": "bad", "nobody": "bad",
                     "not-declared": "muted", "unknown": "warn", "not-scanned": "warn"},
    )
    return env


def _trend(doc: ResultDocument) -> dict[str, Any]:
    points = ((doc.get("history") or {}).get("trend")) or []
    return charts.lines([
        {"name": "overdue items", "tone": "a",
         "points": [(p["at"], p["overdue"]) for p in points]},
        {"name": "open items", "tone": "b", "points": [(p["at"], p["open"]) for p in points]},
    ])


def context(doc: ResultDocument) -> dict[str, Any]:
    h = model.headline(doc)
    provider_name = h["provider"] or "your IT provider"
    active, expired = model.waivers(doc)
    controls = model.by_control(doc)
    since = model.since_last(doc)
    scan = doc["scan"]
    rules = doc.get("rules") or {}
    return {
        "title": f"What {provider_name} has left undone",
        "version": doc.get("tool", {}).get("version", ""),
        "schema": doc.get("schema", ""),
        "scan": scan,
        "complete": scan.get("complete", True),
        "h": h,
        "cov": model.coverage(doc),
        "verdicts": model.control_verdicts(doc),
        "assessed": model.not_assessed(doc),
        "asks": model.top_asks(doc),
        "since": since,
        "since_line": diff.counts_line(since["counts"], "nothing changed") if since else "",
        "provider_name": provider_name,
        "provider_items": model.items(doc, ("provider",)),
        "other_items": model.items(doc, ("client", "shared")),
        "not_checked": model.not_checked(doc),
        "manual": model.manual(doc),
        "waivers": active,
        "expired": expired,
        "controls": controls,
        "control_chart": charts.bars([
            {"label": c["title"], "value": c["compliance"],
             "note": f"{c['counts'].get('pass', 0)} done, {c['counts'].get('fail', 0)} not done"}
            for c in controls]),
        "hosts": model.by_host(doc),
        "rule_heading": lambda r: model.heading(rules.get(r["rule"]), r["title"]),
        "access_rows": access.access_view(doc) if access.in_use(doc) else [],
        "tenant_rows": tenants.tenant_view(doc),
        "noun": model.system_noun(doc),  # computers, or systems when tenants are among them
        "trend_chart": _trend(doc),
        "undated_firmware": undated.devices(doc),
        "applications": applications.estate(doc),
    }


def render(doc: ResultDocument, out: TextIO, **_: Any) -> None:
    out.write(environment().get_template("scan.html.j2").render(context(doc)))


def render_summary(doc: ResultDocument, out: TextIO, **_: Any) -> None:
    """The one-page summary alone (``--format summary``): HTML that prints on one A4 page."""
    out.write(environment().get_template("summary.html.j2").render(context(doc)))
