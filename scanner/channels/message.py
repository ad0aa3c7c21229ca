"""The message every channel tells, in undone's words: its kinds of change and their titles,
the subject (:func:`subject`), the text (:func:`text`), and the escaping that makes a value safe
for a channel (:func:`plain` for e-mail, :func:`chat` for chat webhooks).

**A message never carries a target's words.** A host that could not be reached is given a
fixed reason for its kind of error (:data:`REASONS`), never its error text, which can hold what
the target or anyone in the middle sent (an SSH identification string arrives before any host
key is checked; a WinRM fault is the server's text); the same holds for the webhook's JSON. Every
other value (host names, titles, the estate's name) is made safe for its channel: one line
without control characters or bidirectional overrides in e-mail (:func:`plain`), and in the
webhook's ``text`` also Slack's ``&<>`` as entities, Markdown's specials escaped and ``@``
mentions broken (:func:`chat`). Secrets never enter a message: a channel reads them from the
environment variables the inventory names, at send time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from reports import clean, model

# the kinds of change, in the order a message lists them (scanner/ops/notify.py sorts a scan's
# changes into them; a channel's `on` list names some of them)
KINDS = ("new", "regressed", "overdue", "no_longer_waived", "newly_waived",
         "no_longer_checked", "rule_changed", "unreachable", "reachable", "fixed")
TITLES = {
    "new": "New findings",
    "regressed": "Came back after being fixed",
    "overdue": "Became overdue",
    "no_longer_waived": "No longer waived",
    "newly_waived": "Newly waived (accepted, not fixed)",
    "no_longer_checked": "No longer checked (not a fix)",
    "rule_changed": "Rule changed (neither fixed nor new)",
    "unreachable": "Could not be reached",
    "reachable": "Reachable again",
    "fixed": "Fixed",
}
WORDS = {"new": "new", "regressed": "regressed", "overdue": "overdue",
         "no_longer_waived": "no longer waived", "newly_waived": "newly waived",
         "no_longer_checked": "no longer checked", "rule_changed": "rule changed",
         "unreachable": "unreachable", "reachable": "reachable again", "fixed": "fixed"}
# Why a host could not be reached, in undone's words: a fixed reason per kind of error. The
# host's own error text is never put in a message: it can hold what the target (or anyone in
# the middle) sent, such as an SSH identification string or a WinRM fault.
REASONS = {
    "unreachable": "no connection (refused, timed out, no route, or the name did not resolve)",
    "host-key": "its host key was unknown or not the one on record; the connection was refused",
    "auth": "it refused the credentials undone offered",
    "timeout": "it did not finish within its time limit",
    "error": "the connection failed (the report says how)",
}
OTHER_REASON = "it could not be checked (the report says why)"
MAX_LINES = 25  # per kind; the report has the rest

# characters that steer a reader's eye or a renderer: bidirectional overrides and isolates
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                                  "\u200e\u200f\u061c"))
_MARKDOWN = re.compile(r"([\\`*_~\[\]()|])")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")


def plain(value: Any) -> str:
    """A value for a plain-text message (the e-mail): one line, no control characters, no
    bidirectional overrides."""
    return model.one_line(clean(value)).translate(_BIDI)


def chat(value: Any) -> str:
    """A value for a chat message (the webhook's ``text``, read by Slack, Mattermost, Teams):
    Slack's ``&<>`` as entities (no ``<!channel>``, no ``<url|label>``), Markdown's specials
    behind a backslash (no ``[label](url)``, no emphasis), and ``@`` kept from mentioning
    (``@channel``, ``@all``) with a zero-width joiner."""
    text = plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN.sub(r"\\\1", text)
    return _MENTION.sub("@\u2060", text)


def estate_name(change: Mapping[str, Any], esc: Callable[[Any], str] = plain) -> str:
    estate = change.get("estate") or {}
    name = estate.get("client") or estate.get("name")
    if not name:
        inv = change.get("inventory") or "estate"
        name = os.path.splitext(os.path.basename(str(inv)))[0]
    return esc(plain(name)[:80]) or "estate"


def subject(change: Mapping[str, Any]) -> str:
    parts = [f"{n} {WORDS[k]}" for k in KINDS if (n := change["counts"][k])]
    return f"undone: {estate_name(change)}: " + (", ".join(parts) or "no change")


def _line(kind: str, e: Mapping[str, Any], esc: Callable[[Any], str] = plain) -> str:
    host = esc(e["host"])
    if kind in ("unreachable", "reachable"):
        why = ""
        if kind == "unreachable":  # a fixed reason by kind, never the host's own words
            why = f": {esc(REASONS.get(str(e.get('error_kind')), OTHER_REASON))}"
        return f"- {host}{why}"
    extra = ""
    if kind == "overdue" or (e.get("overdue_days") or 0) > 0:
        extra = f", {esc(e.get('overdue_days'))} days overdue (due {esc(e.get('due'))})"
    elif kind in ("new", "regressed") and e.get("due"):
        extra = f", due {esc(e['due'])}"
    title = esc(e.get("title") or "")
    return f"- {host}: {title} ({esc(e['rule'])}, {esc(e.get('severity') or '')}{extra})"


def text(change: Mapping[str, Any], report_url: str | None = None,
         attached: str | None = None, esc: Callable[[Any], str] = plain) -> str:
    """The message: what changed, one line each, then where things stand now. ``esc`` makes
    each value safe for the channel: :func:`plain` (e-mail) or :func:`chat` (webhook)."""
    s, p, now = change["scan"], change["previous"], change["now"]
    lines = [f"undone scanned {estate_name(change, esc)} "
             f"({model.plural(s['hosts'], 'computer')}); "
             f"the scan finished {model.when(s['finished_at'])}.",
             f"Changes since the previous scan ({model.when(p['finished_at'] or p['started_at'])})"
             ":", ""]
    for kind in KINDS:
        entries = change["changes"][kind]
        if not entries:
            continue
        lines.append(f"{TITLES[kind]} ({len(entries)}):")
        lines.extend(_line(kind, e, esc) for e in entries[:MAX_LINES])
        if len(entries) > MAX_LINES:
            lines.append(f"- ... and {len(entries) - MAX_LINES} more (see the report)")
        lines.append("")
    lines.append(f"Now: {model.plural(now['fail'], 'finding')} open, {now['overdue']} overdue, "
                 f"{model.plural(now['unreachable'], 'computer')} not reached "
                 f"(exit code {now['exit_code']}).")
    if report_url:
        lines.append(f"Report: {plain(report_url)}")  # the inventory's own link, kept usable
    if attached:
        lines.append(f"The full report is attached ({esc(attached)}).")
    lines.append(f"Scan {esc(s['id'])}, compared with {esc(p['id'])}.")
    return "\n".join(lines) + "\n"
