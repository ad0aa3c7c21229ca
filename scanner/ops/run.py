"""One estate, end to end: the scan use case, written once.

``undone scan INVENTORY`` (scanner/cli/scan.py) and every estate of ``undone scan FOLDER``
(scanner/ops/estates.py) run :func:`run_estate`, in this order:

1. **lock** the estate (``<history>.lock``, scanner/ops/lock.py) for the whole run: scan,
   reports, notifications and evidence; a second scan of the estate is :class:`BusyError`
   (exit 5). A scan that keeps no history takes no lock.
2. **history**: open it (scanner/history/store.py). A history named by the user (``--db``, or a
   folder run's ``<db folder>/<estate>.sqlite``) that cannot be used is bad input (exit 2); the
   default one is skipped with a warning and the scan goes on.
3. **scan** (scanner/scan.py), each host recorded in the history as it lands, credentials in
   repository strings redacted before anything sees them.
4. **finish** the scan in the history, or, when a signal stopped it (``Options.cancel``), mark
   the document interrupted and keep the scan unfinished there.
5. **what changed** since the previous scan, when the inventory has a ``notify`` section, the
   scan finished and is recorded, and notifications are not turned off.
6. **reports**: every report asked for, rendered from the one document.
7. **notify** of what changed (scanner/ops/notify.py), the HTML report attached.
8. **evidence**: the signed bundle, when asked for (scanner/ops/evidence.py).

Nothing here prints: lines for the log go to :class:`Hooks` (``log`` always, ``chatter`` unless
``--quiet``), without the ``undone: `` prefix the caller adds. Nothing here decides the process's
exit code either: :class:`Outcome` carries the document's exit code and the signal that stopped
the run, and the command line maps them (scanner/cli/boundary.py). Errors are raised
(``InputError``, ``BusyError``), never printed: the caller's boundary turns them into exit codes,
one process (the command line) or one estate of a folder (scanner/ops/estates.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from reports import clean
from scanner import safeio
from scanner.errors import InputError

if TYPE_CHECKING:  # imported where used: the command line starts without the engine
    from scanner import inventory
    from scanner.engine.options import Options
    from scanner.history.store import History
    from scanner.ops import notify
    from scanner.redact import Redactor
    from scanner.result import Dating, HostRecord, Result, ResultDocument, ScanHeader
    from scanner.rules.baselines import Baseline

__all__ = ["Evidence", "HistoryOutcome", "Hooks", "NotifyOutcome", "Outcome", "Report",
           "Request", "Watcher", "check", "host_line", "run_estate", "summary_line"]


def _nothing(line: str) -> None:
    """A log that keeps nothing."""


@dataclass(frozen=True)
class Report:
    """One report to write: its format and file (None: standard output, ``Hooks.stdout``)."""

    fmt: str
    path: str | None = None


@dataclass(frozen=True)
class Evidence:
    """Where the signed evidence bundle goes, the key that signs it, and the inputs it seals."""

    path: str
    key: Any  # an Ed25519 private key (scanner/ops/evidence.py)
    inventory_path: str | None = None
    waivers_path: str | None = None


@dataclass(frozen=True)
class Request:
    """What one estate's run is asked to do (the options object of :func:`run_estate`)."""

    inventory: inventory.Inventory  # loaded and checked, waivers applied
    baselines: Sequence[Baseline]
    options: Options  # this run's own (``cancel`` set by whoever handles the signals)
    history: str | None  # the history file; None: keep no history (``--no-history``)
    history_named: bool = True  # named by the user: a problem with it is bad input
    notify: bool | None = None  # --notify/--no-notify; None: when the inventory has a section
    trust_on_first_use: bool = False
    host_filter: tuple[str, ...] = ()  # --hosts; empty: every host
    reports: tuple[Report, ...] = ()
    report_folder: str | None = None  # made (0700) just before the reports are written
    evidence: Evidence | None = None
    clock: Callable[[], datetime] | None = None
    # the signal that stopped the run (SIGINT, SIGTERM, SIGHUP), once ``options.cancel`` is set
    stopped_by: Callable[[], str | None] = lambda: None

    def interrupted(self) -> str | None:
        cancel = self.options.cancel
        if cancel is None or not cancel.is_set():
            return None
        return self.stopped_by() or "a signal"


class Watcher(Protocol):
    """Whoever shows the scan's progress (scanner/cli/progress.py's ``Progress``)."""

    def start(self, planned: int) -> None: ...

    def host(self, rec: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> None: ...

    def stop(self) -> None: ...


def _render(doc: ResultDocument, report: Report) -> str:
    """A report as it is written to a file (scanner/ops/outputs.py)."""
    from scanner.ops import outputs

    return outputs.render(doc, report.fmt)


@dataclass
class Hooks:
    """How a run is shown: lines for the log, the progress of the scan, standard output, and
    the renderer of each report (the command line's knows the terminal)."""

    log: Callable[[str], None] = _nothing  # what a person must see: warnings, failures, notices
    chatter: Callable[[str], None] = _nothing  # the summary and evidence lines (not --quiet)
    watcher: Watcher | None = None
    stdout: Callable[[str], None] = _nothing  # a report without a file
    render: Callable[[ResultDocument, Report], str] = _render


@dataclass
class HistoryOutcome:
    path: str | None = None  # where the scan was recorded; None: not recorded
    finished: bool = False  # recorded as finished (an interrupted scan stays unfinished)
    warnings: list[str] = field(default_factory=list)  # why the default history was skipped


@dataclass
class NotifyOutcome:
    compared: bool = False  # the decision: compared with the previous scan, to tell of changes
    change: dict[str, Any] | None = None  # what changed (scanner/ops/notify.py)
    sent: list[notify.Outcome] = field(default_factory=list)  # one per channel, when sent
    failure: str | None = None  # the comparison failed (the scan does not)


@dataclass
class Outcome:
    """What one estate's run did. ``exit_code`` is the document's (0, 1 or 3; at least 3 when
    interrupted); the command line adds 128 + the signal's number when ``interrupted``."""

    document: ResultDocument
    exit_code: int
    interrupted: str | None = None  # the signal that stopped the run
    hosts_finished: int = 0
    history: HistoryOutcome = field(default_factory=HistoryOutcome)
    written: list[Report] = field(default_factory=list)
    notify: NotifyOutcome = field(default_factory=NotifyOutcome)
    evidence_files: int | None = None
    interruption: str | None = None  # what the log was told of the interruption


def check(req: Request) -> list[str]:
    """Problems with a request, found before anything is scanned (exit 2): ``--notify``
    insists on a history and a ``notify`` section (docs/operations.md)."""
    problems = []
    if req.notify and (req.history is None or req.inventory.notify is None):
        problems.append("--notify: needs the history (not --no-history) and a notify section "
                        "in the inventory (see docs/operations.md)")
    return problems


def host_line(rec: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> str:
    """``web01 (192.0.2.10) ok 812ms fail=3 pass=40`` (or ``UNREACHABLE: why``): one host as it
    lands, for a log."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    state = "ok" if rec.get("reachable") else f"UNREACHABLE: {rec.get('error')}"
    tally = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    return clean(f"{rec['name']} ({rec.get('address')}) {state} "
                 f"{rec.get('duration_ms', 0)}ms {tally}")


def summary_line(doc: ResultDocument) -> str:
    """``done: 12 hosts (1 unreachable), 310 pass, 47 fail (5 overdue), 9 error; exit 1 in
    38s``: the end of a scan, for a log."""
    s = doc.get("summary") or {}
    st = s.get("by_status") or {}
    overdue = sum(1 for r in doc.get("results", [])
                  if r["status"] == "fail" and (r.get("overdue_days") or 0) > 0)
    took = ""
    scan = doc.get("scan") or {}
    start, end = str(scan.get("started_at")), str(scan.get("finished_at"))
    with contextlib.suppress(ValueError):
        secs = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
        took = f" in {secs:.0f}s"
    return clean(f"done: {s.get('hosts_total', 0)} hosts ({s.get('hosts_unreachable', 0)}"
                 f" unreachable), {st.get('pass', 0)} pass, {st.get('fail', 0)} fail "
                 f"({overdue} overdue), {st.get('error', 0)} error; exit {s.get('exit_code')}"
                 f"{took}")


class _Lines:
    """The run's two logs; target text in a line is cleaned of control characters."""

    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks

    def log(self, line: str) -> None:
        self.hooks.log(clean(line))

    def chatter(self, line: str) -> None:
        self.hooks.chatter(clean(line))


def _open_history(req: Request, held: contextlib.ExitStack, out: HistoryOutcome,
                  say: _Lines) -> History | None:
    """The estate's history, its lock held in ``held``; None without one."""
    from scanner.history import store as history
    from scanner.ops import lock

    if req.history is None:
        return None
    try:
        history.check_file(req.history)  # before its lock file is made beside it
        held.enter_context(lock.hold(req.history))
        hist = history.open_history(req.history)
    except InputError as e:
        held.close()  # the lock goes with the history it guards
        if req.history_named:  # asked for by name: a problem with it is bad input
            raise
        for line in e.problems:  # the default place: scan anyway, and say so
            out.warnings.append(f"warning: not recording history: {line} (give --db, or "
                                "--no-history)")
            say.log(out.warnings[-1])
        return None
    out.path = req.history
    return hist


def _inventory_for(req: Request) -> inventory.Inventory:
    inv = req.inventory
    if req.trust_on_first_use:
        inv = dataclasses.replace(inv, hosts=tuple(
            dataclasses.replace(h, trust_on_first_use=True) for h in inv.hosts))
    return inv


def _options_for(req: Request) -> Options:
    opts = dataclasses.replace(req.options)  # the caller's stay as they were
    if req.evidence is not None:
        opts.excerpt = opts.cap  # the bundle keeps each section's whole output
    return opts


def run_estate(req: Request, hooks: Hooks | None = None) -> Outcome:
    """Run one estate end to end (the module's docstring says in which order); raises
    ``InputError`` (exit 2) and ``BusyError`` (exit 5) before anything is scanned."""
    from scanner.redact import Redactor

    hooks = hooks or Hooks()
    problems = check(req)
    if problems:
        raise InputError(problems)
    say = _Lines(hooks)
    inv = _inventory_for(req)
    redactor = Redactor.for_inventory(inv)
    for u in inv.unscannable:  # listed, never silently dropped nor scanned over SSH
        say.log(f"{u.name}: not scanned: {u.reason}")
    with contextlib.ExitStack() as held:  # the estate's lock, for the whole run
        kept = HistoryOutcome()
        hist = _open_history(req, held, kept, say)
        try:
            outcome = _scan(req, inv, hist, redactor, hooks.watcher, say)
        finally:
            if hist is not None:
                hist.close()
        outcome.history = kept
        outcome.history.finished = outcome.interrupted is None and hist is not None
        _deliver(req, inv, outcome, redactor, hooks, say)
    return outcome


def _scan(req: Request, inv: inventory.Inventory, hist: History | None, redactor: Redactor,
          watcher: Watcher | None, say: _Lines) -> Outcome:
    """Scan, each host recorded as it lands; finish the scan in the history (or mark it
    interrupted); what changed since the previous scan, when someone is to be told."""
    from scanner import scan as scan_mod
    from scanner.engine.collect import mark_interrupted
    from scanner.ops import notify, outputs

    contract = inv.contract

    def on_start(doc: ScanHeader, planned: int) -> None:
        if hist is not None:
            hist.begin(doc, contract.days, planned)
        if watcher is not None:
            watcher.start(planned)

    def on_host(rec: HostRecord, results: list[Result]) -> Mapping[str, Dating] | None:
        # credentials in repository strings never reach the history or the progress lines
        # (masked copies: evaluation's records are never edited)
        rec, results = redactor.value(rec), redactor.value(results)
        dates = hist.record(rec, results) if hist is not None else None
        if watcher is not None:
            watcher.host(rec, results)
        return dates  # the scan dates the document's results with it

    outputs.load_renderers([r.fmt for r in req.reports])
    try:
        made = scan_mod.run(inv, list(req.baselines), _options_for(req),
                            on_host=on_host, host_filter=list(req.host_filter) or None,
                            on_start=on_start, clock=req.clock,
                            seen=hist.updates_seen if hist is not None else None)
    finally:
        if watcher is not None:
            watcher.stop()
    doc: ResultDocument = redactor.value(made)  # and never an output
    signame = req.interrupted()
    if signame is not None:  # the history keeps the hosts that finished, the scan unfinished
        mark_interrupted(doc, signame)
    elif hist is not None:
        hist.finish(doc)
    told = NotifyOutcome()
    wants = req.notify if req.notify is not None else True
    if signame is None and hist is not None and inv.notify is not None and wants:
        told.compared = True
        try:
            told.change = notify.from_history(hist, doc)
        except Exception as e:  # noqa: BLE001 - notifying must not fail the scan
            told.failure = f"cannot compare with the previous scan: {type(e).__name__}: {e}"
            say.log(f"notification FAILED: {told.failure}")
    return Outcome(document=doc, exit_code=int(doc["summary"]["exit_code"]),
                   interrupted=signame, notify=told,
                   hosts_finished=sum(1 for h in doc.get("hosts", [])
                                      if h.get("error_kind") != "interrupted"))


def _deliver(req: Request, inv: inventory.Inventory, outcome: Outcome, redactor: Redactor,
             hooks: Hooks, say: _Lines) -> None:
    """The reports, then (for a scan that finished) the summary line, the notification and
    the evidence bundle."""
    doc = outcome.document
    html = _write_reports(req, hooks, doc, outcome)
    if outcome.interrupted is not None:
        kept = " and were recorded" if outcome.history.path is not None else ""
        outcome.interruption = (f"interrupted by {outcome.interrupted}: "
                                f"{outcome.hosts_finished} of {len(doc.get('hosts', []))} "
                                f"hosts finished{kept}; the rest were not scanned")
        say.log(outcome.interruption)
        return  # nobody is told of a scan that did not finish, and nothing is sealed
    named = next((os.path.basename(r.path) for r in outcome.written
                  if r.fmt == "html" and r.path), None)
    say.chatter(summary_line(doc) + (f"; report {named}" if named else ""))
    change = outcome.notify.change
    if change is not None and change["total"] and inv.notify is not None:
        if _stopped_late(req, outcome, say, "nobody was notified"):
            return
        outcome.notify.sent = _send(inv.notify, change, doc, named, html, hooks, say)
    if req.evidence is not None:
        if _stopped_late(req, outcome, say, "no evidence was sealed"):
            return
        outcome.evidence_files = _seal(req.evidence, req.baselines, doc, redactor, say)


def _stopped_late(req: Request, outcome: Outcome, say: _Lines, what: str) -> bool:
    """A signal that came after the scan finished (while the reports were written or a message
    was sent) still stops the run before its next slow step, and the exit code says so."""
    signame = req.interrupted()
    if signame is None:
        return False
    outcome.interrupted = signame
    outcome.interruption = (f"interrupted by {signame} after the scan finished (it is recorded "
                            f"and its reports written); {what}")
    say.log(outcome.interruption)
    return True


def _write_reports(req: Request, hooks: Hooks, doc: ResultDocument, outcome: Outcome
                   ) -> dict[str, str]:
    """Every report asked for, from the one document; returns the HTML report's text, if one
    was rendered (the notification attaches it)."""
    if req.report_folder:
        safeio.private_dir(req.report_folder)
    html: dict[str, str] = {}
    for report in req.reports:
        text = hooks.render(doc, report)
        if report.path:
            safeio.write_file(report.path, text, "--output")
        else:
            hooks.stdout(text)
        if report.fmt == "html":
            html.setdefault("text", text)
        outcome.written.append(report)
    return html


def _send(cfg: dict[str, Any], change: dict[str, Any], doc: ResultDocument,
          named: str | None, html: dict[str, str], hooks: Hooks, say: _Lines
          ) -> list[notify.Outcome]:
    """Tell of what changed; one line per channel. A failed notification does not change the
    scan's exit code."""
    from scanner.ops import notify

    name = named or f"undone-{doc['scan']['id']}.html"

    def report() -> bytes:
        if "text" not in html:
            html["text"] = hooks.render(doc, Report("html"))
        return html["text"].encode("utf-8")

    try:
        sent = notify.send(cfg, change, (name, report))
    except Exception as e:  # noqa: BLE001 - notifying must not fail the scan
        sent = [notify.Outcome("all", False, f"{type(e).__name__}: {e}")]
    for o in sent:
        say.log(f"{'notified' if o.ok else 'notification FAILED'}: {o.detail}")
    return sent


def _seal(ev: Evidence, bls: Sequence[Baseline], doc: ResultDocument, redactor: Redactor,
          say: _Lines) -> int:
    """The signed evidence bundle: the document, the inventory, waivers and baselines used."""
    from scanner.ops import evidence
    from scanner.rules import baselines as baselines_mod

    used = []
    for b in bls:
        _, text = baselines_mod.resolve(b.name if b.name in baselines_mod.SHIPPED
                                        and b.path.startswith("baselines/") else b.path)
        used.append((b.name, text))
    n = evidence.write(ev.path, doc, ev.key, inventory_path=ev.inventory_path,
                       waivers_path=ev.waivers_path, baselines=used, redactor=redactor)
    say.chatter(f"evidence bundle {ev.path}: {n} files, signed by "
                f"{evidence.fingerprint(ev.key.public_key())}")
    return n
