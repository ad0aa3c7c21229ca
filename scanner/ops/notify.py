"""Notifications on change, not on every run: what changed, and sending it on each channel.

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

Each channel (``email``, ``webhook``, ...) is a module of scanner/channels/ with its settings
check, its message and its sender; :data:`scanner.channels.CHANNELS` is their one list, and
:func:`send` only dispatches to them. What the message says, and how a channel keeps a target's
words out of it, is scanner/channels/message.py.

Sending never holds the scan's exit beyond ``timeout`` seconds (default 10): each channel runs in
its own daemon thread and is abandoned, with one line saying so, when the time is up. A failure
to notify is reported on standard error and does not change the scan's exit code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from reports import model
from scanner import channels
from scanner.channels.message import KINDS, OTHER_REASON, REASONS
from scanner.result import ResultDocument

if TYPE_CHECKING:
    from scanner.history.store import History

# reports/diff.py's kinds about findings, as this module names them (still overdue is no news)
FROM_DIFF = {"new": "new", "regressed": "regressed", "became_overdue": "overdue",
             "no_longer_waived": "no_longer_waived", "newly_waived": "newly_waived",
             "no_longer_checked": "no_longer_checked", "rule_changed": "rule_changed",
             "fixed": "fixed"}
DEFAULT_TIMEOUT = 10.0


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


def changes(prev: ResultDocument, cur: ResultDocument,
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
    classified = diff.build(prev, cur)["changes"]
    for kind, mine in FROM_DIFF.items():
        out[mine] = [_finding(e) for e in classified[kind]]
    was_reachable = {h["name"]: bool(h.get("reachable")) for h in prev.get("hosts", [])}
    for h in cur.get("hosts", []):
        then = was_reachable.get(h["name"])
        error_kind = h.get("error_kind")
        item = {"host": h["name"], "address": h.get("address"), "error_kind": error_kind,
                "error": (REASONS.get(str(error_kind), OTHER_REASON) if not h.get("reachable")
                          else "")}
        if not h.get("reachable") and then is not False:
            out["unreachable"].append(item)
        elif h.get("reachable") and then is False:
            out["reachable"].append(item)
    for k in KINDS:
        out[k].sort(key=_sort_key)
    head = model.headline(cur)
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


def from_history(history: History, doc: ResultDocument) -> dict[str, Any] | None:
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


# -- sending -------------------------------------------------------------------------------------

def send(cfg: Mapping[str, Any], change: Mapping[str, Any],
         report: tuple[str, Callable[[], bytes]] | None = None) -> list[Outcome]:
    """Send ``change`` on every channel of the inventory's ``notify`` section that has something
    in its ``on`` list; returns one :class:`Outcome` per channel that had something to send.
    ``report`` is (file name, a function giving the HTML report), for a channel that attaches it
    (the e-mail). The channels are :data:`scanner.channels.CHANNELS`, in its order."""
    timeout = float(cfg.get("timeout") or DEFAULT_TIMEOUT)
    url = cfg.get("report_url")
    jobs: list[tuple[str, Callable[[], str]]] = []
    for name, channel in channels.CHANNELS.items():
        own = cfg.get(name)
        if not own:
            continue
        mine = select(change, own.get("on") or cfg.get("on") or KINDS)
        if mine["total"]:  # the message is made here; only its sending is timed
            message = channel.compose(own, channels.News(mine, url, report))
            jobs.append((name, partial(channel.send, own, message, timeout)))
    results: dict[str, Outcome] = {}

    def run(name: str, job: Callable[[], str]) -> None:
        try:
            results[name] = Outcome(name, True, job())
        except channels.NotSent as e:
            results[name] = Outcome(name, False, str(e))
        except Exception as e:  # noqa: BLE001 - a failed notification must not fail the scan
            # an unforeseen error's text may quote a secret the channel was sending with (a
            # webhook's URL, a header): only its kind is shown
            results[name] = Outcome(name, False, f"{type(e).__name__} (its text is not shown: "
                                                 "it may quote a secret)")

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
