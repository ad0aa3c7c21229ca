"""Many estates in one run: ``undone scan FOLDER`` scans every inventory in a folder (one per
client) and writes an index of them all.

A signal (SIGINT, SIGTERM, SIGHUP; ``Options.cancel``, set by the command line) stops the run as
it stops one scan: no estate or host starts, each estate under way keeps the hosts that finished
in its report and history (its scan stays unfinished there, its document says ``interrupted``,
nobody is notified), estates not started are listed as ``interrupted``, and the index is written.

Each inventory (``*.yaml`` / ``*.yml`` directly in the folder; hidden files are skipped) is one
estate, keyed by its file name: ``acme.yaml`` is the estate ``acme``. Each estate is run as a
single inventory is, by scanner/ops/run.py, and gets

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
from scanner.engine.options import Options
from scanner.engine.transports import INTERRUPTED, one_line
from scanner.errors import BusyError, InputError
from scanner.history import store as history
from scanner.ops import envpolicy, lock
from scanner.ops import run as run_mod
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


@dataclass
class Settings:
    """What every estate of the run shares."""

    baselines: list[Baseline]
    options: Options  # a template: each estate gets its own copy, with the shared budget
    output: str
    db_dir: str
    notify: bool | None = None  # None: where the inventory has a notify section
    trust_on_first_use: bool = False
    # lines for the log, without the ``undone: `` prefix: ``log`` what a person must see
    # (problems, notifications), ``chatter`` the progress (hosts, summaries; not --quiet)
    log: Callable[[str], None] = lambda line: None
    chatter: Callable[[str], None] = lambda line: None
    debug: bool = False  # --debug: an estate's internal error prints its traceback
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


def _load_all(paths: list[str], debug: bool = False) -> list[_Loaded]:
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
            if debug:
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
    prefix = f"{key}: "
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
        if settings.debug:
            traceback.print_exc()
    return est


class _HostLines:
    """A folder run's progress: one line per host as it lands (a log has no live bar)."""

    def __init__(self, chatter: Callable[[str], None], prefix: str) -> None:
        self.chatter = chatter
        self.prefix = prefix

    def start(self, planned: int) -> None:
        pass

    def host(self, rec: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> None:
        self.chatter(self.prefix + run_mod.host_line(rec, results))

    def stop(self) -> None:
        pass


def _scan_estate(item: _Loaded, settings: Settings, budget: threading.Semaphore | None,
                 est: Estate, prefix: str, db: str) -> None:
    """One estate of the folder: its own history, report, JSON and notifications, run as a
    single inventory is (scanner/ops/run.py)."""
    key = item.key
    if item.problems or item.inv is None:
        raise InputError(item.problems or [f"{item.path}: could not be loaded"])
    inv = item.inv
    est.name = clean(inv.estate.get("client") or inv.estate.get("name") or key)
    report, result = f"{key}.html", f"{key}.json"
    req = run_mod.Request(
        inventory=inv, baselines=settings.baselines,
        options=dataclasses.replace(settings.options, budget=budget), history=db,
        notify=settings.notify, trust_on_first_use=settings.trust_on_first_use,
        reports=(run_mod.Report("html", os.path.join(settings.output, report)),
                 run_mod.Report("json", os.path.join(settings.output, result))),
        clock=settings.clock, stopped_by=settings.stopped_by)
    hooks = run_mod.Hooks(log=lambda line: settings.log(prefix + line),
                          chatter=lambda line: settings.chatter(prefix + line),
                          watcher=_HostLines(settings.chatter, prefix))
    outcome = run_mod.run_estate(req, hooks)
    est.report, est.json = report, result
    est.exit_code = outcome.exit_code
    est.row = index_report.estate_row(outcome.document)
    est.notified = [f"{o.channel}: {o.detail}" for o in outcome.notify.sent]
    if outcome.interruption is not None:
        est.problems = [outcome.interruption]


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
        loaded = _load_all(paths, settings.debug)
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
    settings.chatter(clean(f"{n} estates: {scanned} scanned, {n - scanned} not scanned; "
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
