"""Many estates in one run: ``undone scan FOLDER`` scans every inventory in a folder (one per
client) and writes an index of them all.

A signal (SIGINT, SIGTERM, SIGHUP; ``Options.cancel``, set by the command line) stops the run as
it stops one scan: no estate or host starts, each estate under way keeps the hosts that finished
in its report and history (its scan stays unfinished there, its document says ``interrupted``,
nobody is notified), estates not started are listed as ``interrupted``, and the index is written.

Each inventory (``*.yaml`` / ``*.yml`` directly in the folder; hidden files are skipped) is one
estate, keyed by its file name: ``acme.yaml`` is the estate ``acme``. Each estate gets

- its own history, ``<db folder>/acme.sqlite``, and its own lock beside it (scanner/ops/lock.py),
  so estates are never compared with each other and two runs never scan one estate at once;
- its own report and result document in the output folder: ``acme.html`` and ``acme.json``;
- its own notifications (the inventory's ``notify`` section, scanner/ops/notify.py);
- its own exit code, per the contract (0, 1, 3; 2 for an invalid inventory, 5 when another scan
  of it was running, 4 for an internal error).

The index (``index.html`` and ``index.json`` in the output folder, reports/index.py) lists every
estate with its compliance by control, overdue count and last scan time, linking its report; an
estate that could not be scanned is listed with why (and its last good report, if there is one).

Total concurrency is bounded across estates: ``--concurrency`` host slots are shared by every
estate of the run (``Options.budget``), and up to :data:`MAX_PARALLEL_ESTATES` estates are under
way at once. ``--max-rate`` and the per-site caps apply within each estate (each is a different
client site). One estate's failure never stops the others: every estate runs inside its own
error boundary, and the run's exit code is the worst of the estates' codes, in the order
4 (internal error) > 2 (invalid input) > 5 (busy) > 1 (findings) > 3 (incomplete) > 0.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reports import clean
from reports import index as index_report
from scanner import __version__, clock, inventory, safeio
from scanner.engine.collect import mark_interrupted
from scanner.engine.options import Options
from scanner.engine.transports import INTERRUPTED, one_line
from scanner.errors import BusyError, InputError
from scanner.history import store as history
from scanner.ops import envpolicy, lock, notify
from scanner.redact import Redactor
from scanner.result import Dating, HostRecord, Result, ScanHeader, as_json
from scanner.rules.baselines import Baseline

MAX_PARALLEL_ESTATES = 8
EXIT_RANK = {0: 0, 3: 1, 1: 2, 5: 3, 2: 4, 4: 5}
_KEY_RE = re.compile(r"[^A-Za-z0-9_.-]+")


def worst(codes: list[int]) -> int:
    """The exit code of many scans: the worst of theirs (0 when there are none)."""
    return max(codes, key=lambda c: EXIT_RANK.get(c, 6), default=0)


def inventories(folder: str) -> list[str]:
    """The inventory files of a folder, sorted by name."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as e:
        raise InputError(f"{folder}: cannot list the folder: {e.strerror or e}") from None
    out = [os.path.join(folder, n) for n in names
           if n.endswith((".yaml", ".yml")) and not n.startswith(".")
           and os.path.isfile(os.path.join(folder, n))]
    if not out:
        raise InputError(f"{folder}: no inventories here (*.yaml or *.yml files, one per "
                         "estate)")
    return out


def estate_key(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    return _KEY_RE.sub("-", stem).strip("-.") or "estate"


def default_db_dir() -> str:
    return os.path.join(os.path.dirname(history.default_path()), "estates")


def summary_line(doc: dict[str, Any], prefix: str = "undone: ") -> str:
    """One line for the log at the end of a scan: hosts, failures, overdue, exit code."""
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
    return clean(f"{prefix}done: {s.get('hosts_total', 0)} hosts ({s.get('hosts_unreachable', 0)}"
                 f" unreachable), {st.get('pass', 0)} pass, {st.get('fail', 0)} fail "
                 f"({overdue} overdue), {st.get('error', 0)} error; exit {s.get('exit_code')}"
                 f"{took}")


def progress_line(rec: Mapping[str, Any], results: Sequence[Mapping[str, Any]],
                  prefix: str) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    state = "ok" if rec.get("reachable") else f"UNREACHABLE: {rec.get('error')}"
    tally = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    return clean(f"{prefix}{rec['name']} ({rec['address']}) {state} "
                 f"{rec.get('duration_ms', 0)}ms {tally}")


@dataclass
class Settings:
    """What every estate of the run shares."""

    baselines: list[Baseline]
    options: Options  # a template: each estate gets its own copy, with the shared budget
    output: str
    db_dir: str
    notify: bool | None = None  # None: where the inventory has a notify section
    trust_on_first_use: bool = False
    known_hosts: str | None = None
    log: Callable[[str], None] = lambda line: None
    clock: Callable[[], datetime] | None = None
    # the signal that stopped the run (SIGINT, SIGTERM, SIGHUP), once ``options.cancel`` is set
    stopped_by: Callable[[], str | None] = lambda: None

    def interrupted(self) -> str | None:
        cancel = self.options.cancel
        return (self.stopped_by() or "a signal") if cancel is not None and cancel.is_set() \
            else None


@dataclass
class Estate:
    """The outcome of one estate: a row of the index."""

    key: str
    name: str
    inventory: str
    status: str = "scanned"  # scanned, invalid, busy, error
    exit_code: int | None = None
    problems: list[str] = field(default_factory=list)
    row: dict[str, Any] = field(default_factory=dict)
    report: str | None = None
    json: str | None = None
    notified: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key, "name": self.name, "inventory": self.inventory,
            "inventory_file": os.path.basename(self.inventory), "status": self.status,
            "exit_code": self.exit_code, "problems": self.problems, "report": self.report,
            "json": self.json, "notified": self.notified,
            "scan": None, "last_scan": None, "hosts": None, "unreachable": None, "fail": None,
            "overdue": None, "compliance": None, "controls": {},
        }
        out.update(self.row)
        return out


def _write(path: str, text: str) -> None:
    """0600, under an unpredictable temporary name, never over a link (scanner/safeio.py)."""
    safeio.write_file(path, text, "--output")


@dataclass
class _Loaded:
    """An inventory of the folder, loaded before any estate is scanned."""

    path: str
    key: str
    inv: inventory.Inventory | None = None
    problems: list[str] = field(default_factory=list)
    crashed: str | None = None  # an internal error while loading it


def _load_all(paths: list[str]) -> list[_Loaded]:
    """Load every inventory; refuse estates that would share a history and a report
    (``acme.yaml`` and ``acme.yml``), and check every estate's variables against the others'
    (scanner/ops/envpolicy.py). One inventory's problem never stops the others."""
    loaded = []
    for path in paths:
        item = _Loaded(path, estate_key(path))
        try:
            item.inv = inventory.load(path)
        except InputError as e:
            item.problems = [clean(p) for p in e.problems]
        except Exception as e:  # noqa: BLE001 - one estate's failure must not stop the others
            item.crashed = clean(one_line(f"internal error: {type(e).__name__}: {e}"))
            if os.environ.get("UNDONE_DEBUG"):
                traceback.print_exc()
        loaded.append(item)
    by_key: dict[str, list[_Loaded]] = {}
    for item in loaded:
        by_key.setdefault(item.key, []).append(item)
    for key, items in by_key.items():
        if len(items) > 1:
            names = [os.path.basename(i.path) for i in items]
            for item in items:
                others = ", ".join(n for n in names if n != os.path.basename(item.path))
                item.problems.append(clean(
                    f"{item.path}: estate key {key!r} is also that of {others}: the estates "
                    "would share one history and one report; rename one of the files"))
    for item in loaded:
        if item.key == "index":
            item.problems.append(clean(f"{item.path}: estate key 'index' is the folder's own "
                                       "(index.html, index.json); rename the file"))
    prefixes = envpolicy.folder_prefixes((i.key, i.inv) for i in loaded)
    for item in loaded:
        if item.inv is not None and not item.problems:
            item.problems = [clean(p) for p in envpolicy.check(item.inv, item.path, item.key,
                                                               prefixes)]
    return loaded


def _last_good(est: Estate, db: str, output: str) -> None:
    """For an estate not scanned now: when it was last scanned, and that report if kept."""
    if os.path.exists(db):
        with contextlib.suppress(InputError, OSError, ValueError, KeyError):
            with history.open_history(db, create=False, readonly=True) as h:
                done = [s for s in h.scans() if s["complete"]]
            if done:
                est.row["last_scan"] = done[-1]["finished_at"]
    if os.path.exists(os.path.join(output, f"{est.key}.html")):
        est.report = f"{est.key}.html"


def scan_estate(item: _Loaded, settings: Settings, budget: threading.Semaphore | None
                ) -> Estate:
    """Scan one estate inside its own error boundary; never raises."""
    key = item.key
    est = Estate(key=key, name=key, inventory=os.path.abspath(item.path))
    prefix = f"undone: {key}: "
    db = os.path.join(settings.db_dir, f"{key}.sqlite")
    if settings.interrupted() is not None:  # stopped before this estate started
        est.status, est.exit_code = "interrupted", 3
        est.problems = [f"not scanned: {INTERRUPTED}"]
        with contextlib.suppress(Exception):
            _last_good(est, db, settings.output)
        return est
    if item.crashed is not None:  # a bug met while loading it: this estate only
        est.status, est.exit_code, est.problems = "error", 4, [item.crashed]
        with contextlib.suppress(Exception):
            _last_good(est, db, settings.output)
        settings.log(f"{prefix}{item.crashed}")
        return est
    try:
        _scan_estate(item, settings, budget, est, prefix, db)
    except BusyError as e:
        est.status, est.exit_code, est.problems = "busy", lock.EXIT_BUSY, [str(e)]
        _last_good(est, db, settings.output)
        settings.log(f"{prefix}{e}")
    except InputError as e:
        est.status, est.exit_code, est.problems = "invalid", 2, [clean(p) for p in e.problems]
        _last_good(est, db, settings.output)
        for line in est.problems:
            settings.log(f"{prefix}{line}")
    except Exception as e:  # noqa: BLE001 - one estate's failure must not stop the others
        est.status, est.exit_code = "error", 4
        est.problems = [clean(one_line(f"internal error: {type(e).__name__}: {e}"))]
        with contextlib.suppress(Exception):
            _last_good(est, db, settings.output)
        settings.log(f"{prefix}{est.problems[0]}")
        if os.environ.get("UNDONE_DEBUG"):
            traceback.print_exc()
    return est


def _scan_estate(item: _Loaded, settings: Settings, budget: threading.Semaphore | None,
                 est: Estate, prefix: str, db: str) -> None:
    from reports import html as html_report
    from scanner import scan as scan_mod

    key = item.key
    if item.problems or item.inv is None:
        raise InputError(item.problems or [f"{item.path}: could not be loaded"])
    inv = item.inv
    est.name = clean(inv.estate.get("client") or inv.estate.get("name") or key)
    if settings.trust_on_first_use or settings.known_hosts:
        kh = os.path.abspath(settings.known_hosts) if settings.known_hosts else None
        inv = dataclasses.replace(inv, hosts=tuple(dataclasses.replace(
            h, trust_on_first_use=h.trust_on_first_use or settings.trust_on_first_use,
            known_hosts=h.known_hosts or kh) for h in inv.hosts))
    want_notify = settings.notify if settings.notify is not None else inv.notify is not None
    opts = dataclasses.replace(settings.options, budget=budget)
    redactor = Redactor.for_inventory(inv)
    with lock.hold(db):
        hist = history.open_history(db)
        change = None
        try:
            def on_start(doc: ScanHeader, planned: int) -> None:
                hist.begin(doc, inv.contract.days, planned)

            def on_host(rec: HostRecord, results: list[Result]) -> Mapping[str, Dating]:
                redactor.value(rec)
                redactor.value(results)
                dates = hist.record(rec, results)
                settings.log(progress_line(rec, results, prefix))
                return dates  # the scan dates the document's results with it

            doc = as_json(scan_mod.run(inv, settings.baselines, opts, on_host=on_host,
                                       on_start=on_start, clock=settings.clock,
                                       seen=hist.updates_seen))
            redactor.value(doc)
            signame = settings.interrupted()
            if signame is not None:  # the history keeps what finished, the scan unfinished
                mark_interrupted(doc, signame)
                done = sum(1 for h in doc["hosts"] if h.get("error_kind") != "interrupted")
                est.problems = [f"interrupted by {signame}: {done} of {len(doc['hosts'])} "
                                "hosts finished and were recorded"]
            else:
                hist.finish(doc)
            if signame is None and want_notify and inv.notify is not None:
                try:
                    change = notify.from_history(hist, doc)
                except Exception as e:  # noqa: BLE001 - notifying must not fail the scan
                    settings.log(clean(f"{prefix}notification FAILED: cannot compare with "
                                       f"the previous scan: {type(e).__name__}: {e}"))
        finally:
            hist.close()
        report_text = io.StringIO()
        html_report.render(doc, report_text)
        est.report, est.json = f"{key}.html", f"{key}.json"
        _write(os.path.join(settings.output, est.report), report_text.getvalue())
        _write(os.path.join(settings.output, est.json),
               json.dumps(doc, ensure_ascii=False) + "\n")
        est.exit_code = int(doc["summary"]["exit_code"])
        est.row = index_report.estate_row(doc)
        settings.log(summary_line(doc, prefix) + f"; report {est.report}")
        if change is not None and change["total"] and inv.notify is not None:
            data = report_text.getvalue().encode("utf-8")
            try:
                outcomes = notify.send(inv.notify, change, (est.report, lambda: data))
            except Exception as e:  # noqa: BLE001 - notifying must not fail the scan
                outcomes = [notify.Outcome("all", False, f"{type(e).__name__}: {e}")]
            for o in outcomes:
                word = "notified" if o.ok else "notification FAILED"
                est.notified.append(f"{o.channel}: {o.detail}")
                settings.log(clean(f"{prefix}{word}: {o.detail}"))


def check_folders(output: str, db_dir: str) -> None:
    """Before scanning: the output and history folders exist (or can be made) and can be
    written; a file in their place is refused."""
    for folder, what in ((output, "--output"), (db_dir, "--db")):
        if os.path.lexists(folder) and not os.path.isdir(folder):
            raise InputError(f"{what} {folder}: is not a folder; with a folder of inventories, "
                             "give a folder")
        probe = folder
        while not os.path.exists(probe):
            probe = os.path.dirname(os.path.abspath(probe))
        safeio.check_folder_writable(probe, f"{what} {folder}")


def run(folder: str, settings: Settings) -> dict[str, Any]:
    """Scan every estate of ``folder``; write each estate's report and the index; return the
    index document (``exit_code`` is the run's)."""
    paths = inventories(folder)
    check_folders(settings.output, settings.db_dir)
    try:  # private: reports and histories hold the clients' data
        os.makedirs(settings.output, mode=0o700, exist_ok=True)
        os.makedirs(settings.db_dir, mode=0o700, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create {e.filename}: {e.strerror or e}") from None
    t0 = time.monotonic()
    with lock.hold(os.path.join(settings.output, ".undone")):
        loaded = _load_all(paths)
        budget = threading.BoundedSemaphore(max(1, settings.options.concurrency))
        parallel = max(1, min(len(paths), settings.options.concurrency, MAX_PARALLEL_ESTATES))
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="undone-estate") as pool:
            estates = list(pool.map(lambda item: scan_estate(item, settings, budget), loaded))
        now = (settings.clock or clock.now)()
        index = {
            "schema": index_report.SCHEMA,
            "tool": {"name": "undone", "version": __version__},
            "generated_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "folder": os.path.abspath(folder),
            "exit_code": worst([e.exit_code if e.exit_code is not None else 4 for e in estates]),
            "estates": [e.as_dict() for e in estates],
        }
        buf = io.StringIO()
        index_report.render(index, buf, "html")
        _write(os.path.join(settings.output, "index.html"), buf.getvalue())
        _write(os.path.join(settings.output, "index.json"),
               json.dumps(index, indent=2, ensure_ascii=False) + "\n")
    n = len(estates)
    scanned = sum(1 for e in estates if e.status == "scanned")
    settings.log(clean(f"undone: {n} estates: {scanned} scanned, {n - scanned} not scanned; "
                       f"exit {index['exit_code']} in {time.monotonic() - t0:.0f}s; index "
                       f"{os.path.join(settings.output, 'index.html')}"))
    return index


def console_lines(index: dict[str, Any]) -> list[str]:
    """One line per estate for standard output, then the index's path."""
    rows = index["estates"]
    width = max((len(e["key"]) for e in rows), default=6)
    out = []
    for e in rows:
        if e["status"] == "scanned":
            what = (f"{e['hosts']} hosts ({e['unreachable']} unreachable), {e['fail']} fail, "
                    f"{e['overdue']} overdue  {e['report']}")
        else:
            what = (f"{index_report.STATUS_WORDS[e['status']]}, not scanned: "
                    + (e["problems"] or [""])[0])
        out.append(clean(f"{e['key']:<{width}}  exit {e['exit_code']}  {what}"))
    return out
