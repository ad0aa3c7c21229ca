"""Notifications on change, not on every run: by email (SMTP) and by webhook (JSON POST).

An IT lead who has a scan run every week wants to hear only when something changed. After a scan
is recorded in the history, :func:`from_history` compares it with the **previous complete scan
of the same estate** (rebuilt from the history) and :func:`changes` sorts what differs, in the
one classification of reports/diff.py, so that a message and ``undone report --diff`` of the
same two scans say the same thing:

- ``new``: failing now, not failing at the previous scan, never failed before;
- ``regressed``: the same, for a finding that had been fixed once (``reopened``);
- ``overdue``: failing in both scans, not overdue at the previous one, overdue now (with a daily
  schedule: "became overdue today"; still overdue is not news);
- ``newly_waived`` / ``no_longer_waived``: a failing finding a waiver now accepts, or no longer;
- ``no_longer_checked``: failing at the previous scan, not judged now (its host not reached, a
  fact not read, out of scope, or not in this scan): not a fix;
- ``rule_changed``: the rule's check changed between the scans and its verdict with it: neither
  a fix nor a new finding;
- ``unreachable``: a host reachable at the previous scan (or new to the estate) that could not be
  reached now;
- ``reachable``: a host unreachable at the previous scan that answered now;
- ``fixed``: failing (``fail`` or ``waived``) at the previous scan, ``pass`` now (or
  ``not_applicable`` because the thing is gone); a host that was not scanned is never counted
  as fixed.

The first scan of an estate is its baseline: there is nothing to compare, so nothing is sent.
A scan with no change sends nothing. Each channel sends only the kinds in its ``on`` list.

The message is short and plain: a subject that counts the changes, one line per change (host,
check title, rule id, severity), the totals now, and the report: attached to the email as HTML
(``attach_report``), linked by ``report_url``.

**A message never carries a target's words.** A host that could not be reached is given a
fixed reason for its kind of error (:data:`REASONS`), never its error text, which can hold what
the target or anyone in the middle sent (an SSH identification string arrives before any host
key is checked; a WinRM fault is the server's text); the same holds for the webhook's JSON. Every
other value (host names, titles, the estate's name) is made safe for its channel: one line
without control characters or bidirectional overrides in e-mail (:func:`plain`), and in the
webhook's ``text`` also Slack's ``&<>`` as entities, Markdown's specials escaped and ``@``
mentions broken (:func:`chat`). Secrets never enter
a message: SMTP credentials and webhook headers are read from the environment variables the
inventory names, at send time, and appear nowhere else.

Sending never holds the scan's exit beyond ``timeout`` seconds (default 10): each channel runs in
its own daemon thread and is abandoned, with one line saying so, when the time is up. A failure
to notify is reported on standard error and does not change the scan's exit code.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from reports import clean, model
from scanner import __version__

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
# reports/diff.py's kinds about findings, as this module names them (still overdue is no news)
FROM_DIFF = {"new": "new", "regressed": "regressed", "became_overdue": "overdue",
             "no_longer_waived": "no_longer_waived", "newly_waived": "newly_waived",
             "no_longer_checked": "no_longer_checked", "rule_changed": "rule_changed",
             "fixed": "fixed"}
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
FAILING = ("fail", "waived")
RESOLVED = ("pass", "not_applicable")
DEFAULT_TIMEOUT = 10.0
MAX_LINES = 25  # per kind; the report has the rest


@dataclass
class Outcome:
    """What became of one channel: ``ok``, and one line for the log."""

    channel: str
    ok: bool
    detail: str


# -- what changed --------------------------------------------------------------------------------

def _finding(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"host": r["host"], "rule": r["rule"],
            "title": r.get("heading") or r.get("title") or r["rule"],
            "control": r.get("control"), "severity": r.get("severity"),
            "owner": r.get("owner"), "first_seen": r.get("first_seen"), "due": r.get("due"),
            "overdue_days": r.get("overdue_days")}


def _sort_key(e: Mapping[str, Any]) -> tuple[Any, ...]:
    return (-(e.get("overdue_days") or 0), model.SEVERITY_RANK.get(e.get("severity") or "", 9),
            e["host"], e.get("rule") or "")


def changes(prev: Mapping[str, Any], cur: Mapping[str, Any],
            opened: set[tuple[str, str]] | None = None) -> dict[str, Any]:
    """What changed from ``prev`` (the previous complete scan's result document) to ``cur``
    (this scan's, with its history fields: ``first_seen``, ``due``, ``overdue_days``,
    ``reopened``). ``opened``: the (host, rule) pairs whose open finding the history says began
    after ``prev`` (exact where two scans fall in one second); without it, ``first_seen`` later
    than ``prev`` finished. Returns an ``undone.changes/1`` document; ``total`` 0: no change.

    The findings' kinds are reports/diff.py's (:func:`reports.diff.build`), the one
    classification; ``opened`` is accepted for callers of earlier versions and not needed."""
    from reports import diff

    pscan, cscan = prev.get("scan") or {}, cur.get("scan") or {}
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    classified = diff.build(dict(prev), dict(cur))["changes"]
    for kind, mine in FROM_DIFF.items():
        out[mine] = [_finding(e) for e in classified[kind]]
    was_reachable = {h["name"]: bool(h.get("reachable")) for h in prev.get("hosts", [])}
    for h in cur.get("hosts", []):
        then = was_reachable.get(h["name"])
        kind = h.get("error_kind")
        item = {"host": h["name"], "address": h.get("address"), "error_kind": kind,
                "error": REASONS.get(str(kind), OTHER_REASON) if not h.get("reachable") else ""}
        if not h.get("reachable") and then is not False:
            out["unreachable"].append(item)
        elif h.get("reachable") and then is False:
            out["reachable"].append(item)
    for k in KINDS:
        out[k].sort(key=_sort_key)
    head = model.headline(dict(cur))
    return {
        "schema": "undone.changes/1",
        "estate": dict(cscan.get("estate") or {}),
        "inventory": cscan.get("inventory"),
        "scan": {"id": cscan.get("id"), "started_at": cscan.get("started_at"),
                 "finished_at": cscan.get("finished_at"), "hosts": head["hosts"]},
        "previous": {"id": pscan.get("id"), "started_at": pscan.get("started_at"),
                     "finished_at": pscan.get("finished_at")},
        "counts": {k: len(v) for k, v in out.items()},
        "total": sum(len(v) for v in out.values()),
        "changes": out,
        "now": {"fail": head["fails"], "overdue": head["overdue"],
                "unreachable": head["unreachable"], "hosts": head["hosts"],
                "exit_code": (cur.get("summary") or {}).get("exit_code")},
    }


def from_history(history: Any, doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The changes since the previous complete scan recorded in ``history`` (a
    :class:`scanner.history.History` that has just finished ``doc``), or None when this is the
    estate's first complete scan."""
    prev_id = (doc.get("history") or {}).get("previous_scan")
    if not prev_id:
        return None
    # the previous scan's document, as History.finish rebuilt it to say what changed
    prev = getattr(history, "previous_doc", None)
    if not prev or (prev.get("scan") or {}).get("id") != prev_id:
        prev = history.document(prev_id, changes=False)
    return changes(prev, doc)


def select(change: Mapping[str, Any], kinds: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``change`` keeping only ``kinds``."""
    keep = {k: (list(v) if k in kinds else []) for k, v in change["changes"].items()}
    return {**change, "changes": keep, "counts": {k: len(v) for k, v in keep.items()},
            "total": sum(len(v) for v in keep.values())}


# -- the message ---------------------------------------------------------------------------------

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


# -- sending -------------------------------------------------------------------------------------

def _env(name: str | None, what: str) -> str | None:
    if not name:
        return None
    value = os.environ.get(name)
    if value is None:
        raise _NotSent(f"environment variable {name} ({what}) is not set")
    return value


class _NotSent(Exception):
    """A channel could not send; the message is one line and holds no secret."""


def _send_email(cfg: Mapping[str, Any], subj: str, body: str,
                attachment: tuple[str, bytes] | None, timeout: float) -> str:
    user = _env(cfg.get("username_env"), "username_env")
    password = _env(cfg.get("password_env"), "password_env")
    msg = EmailMessage()
    msg["Subject"] = subj
    msg["From"] = cfg["from"]
    msg["To"] = ", ".join(cfg["to"])
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid("undone", domain=str(cfg["from"]).rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    if attachment is not None:
        name, data = attachment
        msg.add_attachment(data, maintype="text", subtype="html", filename=name)
    ctx = ssl.create_default_context(cafile=cfg.get("ca_file"))
    host, port = cfg["smtp_host"], int(cfg["smtp_port"])
    local = socket.gethostname() or "localhost"  # no DNS lookup: the scanner may have none
    try:
        smtp: smtplib.SMTP
        if cfg.get("ssl"):
            smtp = smtplib.SMTP_SSL(host, port, local_hostname=local, timeout=timeout,
                                    context=ctx)
        else:
            smtp = smtplib.SMTP(host, port, local_hostname=local, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if cfg.get("starttls", True) and not cfg.get("ssl"):
                if not smtp.has_extn("starttls"):
                    raise _NotSent(f"{host}:{port} does not offer STARTTLS, which the inventory "
                                   "asks for (notify.email.starttls); not sent")
                smtp.starttls(context=ctx)
                smtp.ehlo()
            if user is not None and password is not None:
                smtp.login(user, password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as e:
        raise _NotSent(f"{host}:{port} refused the login ({e.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as e:
        raise _NotSent(f"{host}:{port} refused every recipient: "
                       f"{', '.join(sorted(e.recipients))}") from None
    except ssl.SSLError as e:
        raise _NotSent(f"TLS with {host}:{port} failed: {e.reason or e}") from None
    except (smtplib.SMTPException, OSError) as e:
        raise _NotSent(f"SMTP to {host}:{port} failed: {type(e).__name__}: {e}") from None
    sent = [a for a in cfg["to"] if a not in refused]
    return f"email sent to {', '.join(sent)} via {host}:{port}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook answers where it is: following a redirect would carry the POST (and its
    headers, which may hold a token) to somewhere the inventory never named."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        raise _NotSent(f"the webhook answered HTTP {code} (a redirect); redirects are not "
                       "followed: give the final URL")


def _headers(cfg: Mapping[str, Any]) -> dict[str, str]:
    name = cfg.get("headers_env")
    raw = _env(name, "headers_env")
    out: dict[str, str] = {}
    if raw is None:
        return out
    for i, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or any(c in key for c in " \t\r"):
            raise _NotSent(f"environment variable {name} (headers_env): line {i} is not "
                           "'Name: value'")
        out[key.strip()] = value.strip()
    return out


def _send_webhook(cfg: Mapping[str, Any], payload: dict[str, Any], timeout: float) -> str:
    url = cfg.get("url") or _env(cfg.get("url_env"), "url_env") or ""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        where = f"environment variable {cfg.get('url_env')}" if cfg.get("url_env") else "url"
        raise _NotSent(f"{where}: not an http(s) URL")
    shown = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"
    headers = {"Content-Type": "application/json", "User-Agent": f"undone/{__version__}"}
    headers.update(_headers(cfg))
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - scheme checked above
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(req, timeout=timeout) as resp:
            resp.read(65536)
            status = resp.status
    except urllib.error.HTTPError as e:
        raise _NotSent(f"webhook {shown} answered HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        why = getattr(e, "reason", e)
        raise _NotSent(f"webhook {shown} failed: {why}") from None
    return f"webhook {shown} answered HTTP {status}"


def payload(change: Mapping[str, Any], body: str, report_url: str | None) -> dict[str, Any]:
    """The webhook's JSON: ``text`` (what chat systems such as Slack and Mattermost show) and
    ``undone`` (the change document, for ticketing systems)."""
    doc = {k: change[k] for k in ("schema", "estate", "inventory", "scan", "previous", "counts",
                                  "total", "changes", "now")}
    if report_url:
        doc["report_url"] = report_url
    return {"text": body, "undone": doc}


def send(cfg: Mapping[str, Any], change: Mapping[str, Any],
         report: tuple[str, Callable[[], bytes]] | None = None) -> list[Outcome]:
    """Send ``change`` on every channel of the inventory's ``notify`` section that has something
    in its ``on`` list; returns one :class:`Outcome` per channel that had something to send.
    ``report`` is (file name, a function giving the HTML report), attached to emails."""
    timeout = float(cfg.get("timeout") or DEFAULT_TIMEOUT)
    url = cfg.get("report_url")
    jobs: list[tuple[str, Callable[[], str]]] = []
    email = cfg.get("email")
    if email:
        mine = select(change, email.get("on") or cfg.get("on") or KINDS)
        if mine["total"]:
            attach = None
            if report is not None and email.get("attach_report", True):
                attach = (report[0], report[1]())
            body = text(mine, url, attach[0] if attach else None)
            jobs.append(("email", lambda: _send_email(email, subject(mine), body, attach,
                                                      timeout)))
    hook = cfg.get("webhook")
    if hook:
        mine_w = select(change, hook.get("on") or cfg.get("on") or KINDS)
        if mine_w["total"]:
            data = payload(mine_w, text(mine_w, url, esc=chat), url)
            jobs.append(("webhook", lambda: _send_webhook(hook, data, timeout)))
    results: dict[str, Outcome] = {}

    def run(name: str, job: Callable[[], str]) -> None:
        try:
            results[name] = Outcome(name, True, job())
        except _NotSent as e:
            results[name] = Outcome(name, False, str(e))
        except Exception as e:  # noqa: BLE001 - a failed notification must not fail the scan
            results[name] = Outcome(name, False, f"{type(e).__name__}: {e}")

    threads = []
    for name, job in jobs:
        t = threading.Thread(target=run, args=(name, job), name=f"undone-notify-{name}",
                             daemon=True)
        t.start()
        threads.append((name, t))
    deadline = time.monotonic() + timeout + 1.0
    out = []
    for name, t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        out.append(results.get(name) or Outcome(
            name, False, f"no answer within {timeout:g}s; gave up (the scan is recorded)"))
    return out
