"""``undone scan``: one inventory (or this machine), or a folder of inventories (one estate
each, scanner/ops/estates.py).

This module parses the options, loads and checks every input before anything is scanned, turns
SIGINT, SIGTERM and SIGHUP into a clean stop, shows the progress and log lines on standard error,
and maps the outcome to an exit code (scanner/cli/boundary.py). The scan itself (lock, history,
scan, notify, reports, evidence) is scanner/ops/run.py's, the same for one inventory and for
each estate of a folder."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import click

from reports import FORMATS, clean
from scanner import inventory, yamlio
from scanner.cli.boundary import (
    EXIT_BAD_INPUT,
)
from scanner.cli.boundary import fail_input as _fail_input
from scanner.cli.boundary import guard as _guard
from scanner.cli.write import (
    _default_db,
    _emit,
    _inputs_of,
    _new_folder_problems,
    _output_problems,
    _render,
)
from scanner.engine.options import Options
from scanner.engine.transports import one_line
from scanner.errors import InputError
from scanner.ops import envpolicy, run
from scanner.rules import baselines

SCAN_FORMATS = FORMATS


class _Finite(click.FloatRange):
    """A number in a range, never NaN: ``--timeout nan`` would pass every comparison with the
    bounds and leave every host "unreachable"."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        rv = super().convert(value, param, ctx)
        if isinstance(rv, float) and not math.isfinite(rv):
            self.fail(f"{value!r} is not a number in the range {self._describe_range()}",
                      param, ctx)
        return rv


def _load_waivers(path: str) -> tuple[inventory.Waiver, ...]:
    return inventory.parse_waivers(yamlio.load_file(path), path)


@click.command()
@click.argument("inventory_file", required=False, type=click.Path())
@click.option("--baseline", "-b", "baseline_specs", multiple=True,
              help="Baseline name or path (repeatable). Default: every shipped baseline.")
@click.option("--format", "-f", "fmt", type=click.Choice(SCAN_FORMATS), multiple=True,
              help="Output format (default console; repeatable: several reports from one "
                   "scan, each with its own --output or all in one --output FOLDER/). summary: "
                   "the one-page summary, HTML to print.")
@click.option("--output", "-o", "output", type=click.Path(writable=True), multiple=True,
              help="Write the report to this file instead of standard output (one per --format, "
                   "in the same order, or one folder for them all). With a folder of "
                   "inventories: the folder for every estate's report and the index (required).")
@click.option("--db", "db_path", type=click.Path(), envvar="UNDONE_DB",
              help="History file (SQLite). Default: $UNDONE_DB, else "
                   "~/.local/share/undone/history.sqlite. With a folder of inventories: the "
                   "folder of the estates' histories (default ~/.local/share/undone/estates).")
@click.option("--no-history", is_flag=True,
              help="Do not record this scan (first_seen, due and overdue_days stay empty).")
@click.option("--notify/--no-notify", "notify_opt", default=None,
              help="Send the inventory's notifications of what changed since the previous scan "
                   "(default: when the inventory has a notify section).")
@click.option("--max-rate", type=_Finite(0.01, 10000), default=None,
              help="At most this many new connections a second (per estate), so a scan never "
                   "floods a client's link or a bastion. Default: no limit.")
@click.option("--evidence", "evidence_path", type=click.Path(),
              help="Write a signed evidence bundle to this folder, or ZIP file (name.zip).")
@click.option("--signing-key", type=click.Path(dir_okay=False), envvar="UNDONE_SIGNING_KEY",
              help="Ed25519 private key (PEM or OpenSSH) that signs the evidence bundle "
                   "(or $UNDONE_SIGNING_KEY).")
@click.option("--hosts", "host_list", multiple=True,
              help="Scan only these inventory hosts (repeatable or comma-separated).")
@click.option("--concurrency", "-j", type=click.IntRange(1, 512), default=16, show_default=True,
              help="Hosts collected at once.")
@click.option("--timeout", type=_Finite(1, 86400), default=120.0, show_default=True,
              help="Seconds allowed for each host, connection included.")
@click.option("--connect-timeout", type=_Finite(0.1, 600), default=10.0,
              show_default=True, help="Seconds allowed to connect and authenticate.")
@click.option("--section-timeout", type=click.IntRange(1, 3600), default=60, show_default=True,
              help="Seconds each probe section may run on the target.")
@click.option("--trust-on-first-use", is_flag=True,
              help="Accept (and record) host keys not yet in known_hosts. Changed keys are "
                   "always refused.")
@click.option("--known-hosts", type=click.Path(dir_okay=False),
              help="undone's own known_hosts file: host keys are verified against it (besides "
                   "~/.ssh/known_hosts) and trust on first use records keys in it, and only in "
                   "it. Default: ~/.local/share/undone/known_hosts.")
@click.option("--waivers", "waivers_file", type=click.Path(dir_okay=False),
              help="YAML file of waivers (rule, hosts, reason, approved_by, expires).")
@click.option("--quiet", "-q", is_flag=True, help="No per-host progress lines on stderr.")
@click.option("--pretty", is_flag=True, help="Indent JSON output.")
@click.option("--verbose", "-v", is_flag=True,
              help="Console report: under each computer, every rule that does not apply there "
                   "with why; findings' texts uncut.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def scan(inventory_file: str | None, baseline_specs: tuple[str, ...], fmt: tuple[str, ...],
         output: tuple[str, ...], db_path: str | None, no_history: bool, evidence_path: str | None,
         signing_key: str | None, host_list: tuple[str, ...], concurrency: int, timeout: float,
         connect_timeout: float, section_timeout: int, trust_on_first_use: bool,
         known_hosts: str | None, waivers_file: str | None, quiet: bool, pretty: bool,
         debug: bool, notify_opt: bool | None = None, max_rate: float | None = None,
         verbose: bool = False) -> None:
    """Scan the hosts of INVENTORY_FILE (or, without one, this machine).

    Each host is recorded in the history as it lands (unless --no-history), so an interrupted
    scan keeps what it collected. INVENTORY_FILE may be a folder of inventories, one per
    estate: each is scanned into its own history and report in --output, with an index.html of
    them all (see docs/operations.md).
    """
    if inventory_file and os.path.isdir(inventory_file):
        source = click.get_current_context().get_parameter_source("db_path")
        if db_path and source == click.core.ParameterSource.ENVIRONMENT:
            db_path = os.path.join(os.path.dirname(db_path), "estates")  # $UNDONE_DB: one file
        if len(fmt) > 1 or len(output) > 1:
            click.echo("--format/--output: with a folder of inventories, one --format (console "
                       "or json) and one --output FOLDER", err=True)
            raise SystemExit(EXIT_BAD_INPUT)
        code = _guard(_scan_folder, debug, inventory_file, baseline_specs,
                      fmt[0] if fmt else "console", output[0] if output else None, db_path,
                      concurrency, timeout, connect_timeout, section_timeout, trust_on_first_use,
                      known_hosts, quiet, notify_opt, max_rate,
                      bool(no_history or evidence_path or host_list or waivers_file), debug)
        raise SystemExit(code)
    code = _guard(_scan, debug, inventory_file, baseline_specs, fmt, output, host_list,
                  concurrency, timeout, connect_timeout, section_timeout, trust_on_first_use,
                  known_hosts, waivers_file, quiet, pretty,
                  _Keep(db_path, no_history, evidence_path, signing_key), notify=notify_opt,
                  max_rate=max_rate, verbose=verbose)
    raise SystemExit(code)


def _scan_folder(folder: str, baseline_specs: tuple[str, ...], fmt: str, output: str | None,
                 db_dir: str | None, concurrency: int, timeout: float, connect_timeout: float,
                 section_timeout: int, trust_on_first_use: bool, known_hosts: str | None,
                 quiet: bool, notify_opt: bool | None, max_rate: float | None,
                 single_only: bool, debug: bool = False) -> int:
    """``undone scan FOLDER``: every inventory in the folder, one estate each
    (scanner/ops/estates.py, each estate run by scanner/ops/run.py)."""
    from scanner.ops import estates as multi

    problems = []
    if not output:
        problems.append(f"{folder}: a folder of inventories needs --output FOLDER for the "
                        "estates' reports and the index")
    elif os.path.isfile(output):
        problems.append(f"--output {output}: with a folder of inventories, give a folder")
    if db_dir and os.path.isfile(db_dir):
        problems.append(f"--db {db_dir}: with a folder of inventories, give a folder for the "
                        "estates' histories (one file each)")
    if fmt not in ("console", "json"):
        problems.append(f"--format {fmt}: with a folder of inventories every estate gets "
                        "ESTATE.html and ESTATE.json in --output; standard output has the "
                        "summary (console) or the index (json)")
    if single_only:
        problems.append("--no-history, --evidence, --hosts and --waivers are for one inventory; "
                        "with a folder, put waivers in each estate's inventory")
    bls = None
    try:
        bls = baselines.load(list(baseline_specs) or None)
    except InputError as e:
        problems.extend(e.problems)
    if output and not problems:
        try:  # before any estate is scanned, not after them all
            multi.check_folders(output, db_dir or multi.default_db_dir())
        except InputError as e:
            problems.extend(e.problems)
    if problems or bls is None or output is None:
        _fail_input(problems)
        return EXIT_BAD_INPUT
    say = _say()
    settings = multi.Settings(
        baselines=bls,
        options=Options(concurrency=concurrency, timeout=timeout,
                        connect_timeout=connect_timeout, section_timeout=section_timeout,
                        max_rate=max_rate,
                        known_hosts=os.path.abspath(known_hosts) if known_hosts else None),
        output=output, db_dir=db_dir or multi.default_db_dir(), notify=notify_opt,
        trust_on_first_use=trust_on_first_use, log=say, chatter=_quiet if quiet else say,
        debug=debug)
    with _stop_on_signals() as stop:  # as for one inventory: a signal stops every estate
        settings.options.cancel = stop.event
        settings.stopped_by = lambda: stop.signal
        index = multi.run(folder, settings)
    if fmt == "json":
        click.echo(json.dumps(index, indent=2, ensure_ascii=False))
    else:
        for line in multi.console_lines(index):
            click.echo(line)
        click.echo(clean(f"index: {os.path.join(output, 'index.html')}"))
    if stop.signal:
        left = sum(1 for e in index["estates"] if e["status"] == "interrupted")
        say(f"interrupted by {stop.signal}: {left} of {len(index['estates'])} estates not "
            "started; the others kept the hosts that finished")
    return _exit_code(int(index["exit_code"]), stop.signal)


class _Keep:
    """Where a scan is kept: history and evidence options."""

    def __init__(self, db: str | None, no_history: bool, evidence: str | None,
                 signing_key: str | None) -> None:
        self.db = db
        self.no_history = no_history
        self.evidence = evidence
        self.signing_key = signing_key


def _say(prefix: str = "undone: ") -> Callable[[str], None]:
    """A line for the log on standard error, one line whatever the target put in it."""
    out_lock = threading.Lock()

    def say(line: str) -> None:
        with out_lock:
            click.echo(clean(one_line(prefix + line)), err=True)

    return say


def _quiet(line: str) -> None:
    """--quiet: the line is not shown."""


def _scan(inventory_file: str | None, baseline_specs: tuple[str, ...],
          fmt: tuple[str, ...] | str, output: tuple[str, ...] | str | None,
          host_list: tuple[str, ...], concurrency: int, timeout: float,
          connect_timeout: float, section_timeout: int, trust_on_first_use: bool,
          known_hosts: str | None, waivers_file: str | None, quiet: bool, pretty: bool,
          keep: _Keep | None = None, notify: bool | None = None,
          max_rate: float | None = None, verbose: bool = False) -> int:
    """One inventory: the inputs loaded and checked, then the estate's run
    (scanner/ops/run.py)."""
    problems: list[str] = []
    inv = None
    try:
        inv = inventory.load(inventory_file) if inventory_file else inventory.local_inventory()
    except InputError as e:
        problems.extend(e.problems)
    bls = None
    try:
        bls = baselines.load(list(baseline_specs) or None)
    except InputError as e:
        problems.extend(e.problems)
    waivers: tuple[inventory.Waiver, ...] = ()
    if waivers_file:
        try:
            waivers = _load_waivers(waivers_file)
        except InputError as e:
            problems.extend(e.problems)
    keep = keep or _Keep(None, True, None, None)
    key = None
    if keep.evidence:
        from scanner.ops import evidence

        if not keep.signing_key:
            problems.append(f"--evidence {keep.evidence}: needs --signing-key KEY (or "
                            f"${evidence.KEY_ENV}) to sign the bundle; make one with "
                            "`undone evidence keygen KEY`")
        else:
            try:
                key = evidence.load_private_key(keep.signing_key)
            except InputError as e:
                problems.extend(e.problems)
        try:
            evidence.check_target(keep.evidence)
        except InputError as e:
            problems.extend(e.problems)
    from scanner.ops import outputs

    pairs: list[tuple[str, str | None]] = []
    try:  # which report goes where: several from one scan (scanner/ops/outputs.py)
        pairs = outputs.plan((fmt,) if isinstance(fmt, str) else fmt,
                             (output,) if isinstance(output, str) else output or ())
    except InputError as e:
        problems.extend(e.problems)
    new_folder = outputs.folder_to_create((output,) if isinstance(output, str)
                                          else tuple(output or ()))
    if inv is not None:
        problems.extend(envpolicy.check(inv, inventory_file or "(this machine)"))
    if host_list and not any(n.strip() for item in host_list for n in item.split(",")):
        problems.append(f"--hosts {','.join(host_list)!r}: names no host; give inventory host "
                        "names, comma-separated (or leave --hosts out to scan every host)")
    if any(path for _, path in pairs):
        protect = _inputs_of(None if keep.no_history else (keep.db or _default_db()),
                             inventory_file, waivers_file, keep.signing_key, known_hosts,
                             baseline_specs, keep.evidence)
        if new_folder:  # made at the end: the nearest folder that exists must take a new one
            problems.extend(_new_folder_problems(new_folder))
        else:
            for _, path in pairs:
                if path:
                    problems.extend(_output_problems(path, "--output", protect))
    req = None
    if inv is not None and bls is not None:
        if waivers and waivers_file and not problems:
            inv = inventory.with_waivers(inv, waivers, waivers_file)  # host names checked here
        names = tuple(n.strip() for item in host_list for n in item.split(",") if n.strip())
        req = run.Request(
            inventory=inv, baselines=bls,
            # --known-hosts is undone's own file (the only one trust on first use writes to)
            options=Options(concurrency=concurrency, timeout=timeout,
                            connect_timeout=connect_timeout, section_timeout=section_timeout,
                            max_rate=max_rate,
                            known_hosts=os.path.abspath(known_hosts) if known_hosts else None),
            history=None if keep.no_history else (keep.db or _default_db()),
            history_named=bool(keep.db), notify=notify,
            trust_on_first_use=trust_on_first_use, host_filter=names,
            reports=tuple(run.Report(f, path) for f, path in pairs), report_folder=new_folder,
            evidence=run.Evidence(keep.evidence, key, inventory_file, waivers_file)
            if keep.evidence and key is not None else None)
        problems.extend(run.check(req))
    if problems or req is None:
        _fail_input(problems)
        return EXIT_BAD_INPUT
    from scanner.cli.progress import Progress

    say = _say()
    hooks = run.Hooks(
        log=say, chatter=_quiet if quiet else say,
        watcher=None if quiet else Progress(sys.stderr, concurrency),
        stdout=lambda text: _emit(text, None),
        render=lambda doc, r: _render(doc, r.fmt, r.path, pretty, verbose))
    with _stop_on_signals() as stop:  # the history keeps the hosts that finished
        req = dataclasses.replace(req, stopped_by=lambda: stop.signal)
        req.options.cancel = stop.event
        outcome = run.run_estate(req, hooks)
    return _exit_code(outcome.exit_code, outcome.interrupted)


def _exit_code(code: int, interrupted: str | None) -> int:
    """The process's exit code: the scan's, or 128 + the number of the signal that stopped it
    (130 for Ctrl-C, 143 for SIGTERM)."""
    if interrupted is None:
        return code
    import signal

    sig = getattr(signal, interrupted, None)
    return 128 + int(sig) if sig is not None else max(code, 3)


class _Stop:
    def __init__(self) -> None:
        import threading

        self.event = threading.Event()
        self.signal: str | None = None


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    """While scanning, SIGINT, SIGTERM and SIGHUP stop the scan instead of killing the process:
    hosts not finished stop within a second or two, what finished is kept
    (scanner/engine/collect.py).
    A second signal stops at once."""
    import signal

    stop = _Stop()

    def handler(signum: int, frame: object) -> None:
        if stop.event.is_set():
            raise KeyboardInterrupt
        stop.signal = signal.Signals(signum).name
        stop.event.set()

    names = ("SIGINT", "SIGTERM", "SIGHUP")
    old = {n: signal.signal(getattr(signal, n), handler) for n in names if hasattr(signal, n)}
    try:
        yield stop
    finally:
        for n, h in old.items():
            signal.signal(getattr(signal, n), h)
