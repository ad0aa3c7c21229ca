"""The ``undone`` command line. The only place exceptions become messages and exit codes.

Exit codes (DESIGN.md §3): 0 every rule passed or is waived; 1 at least one ``fail``; 2 bad usage
or invalid input (nothing scanned); 3 no ``fail`` but the scan is incomplete; 4 an internal error
(a bug: one line, ``--debug`` for the traceback); 5 another scan of the same estate is running
(scanner/lock.py; nothing scanned). ``evidence verify`` gives 3 for a bundle that is intact but
whose signer no trusted key vouches for; a closed standard output (``undone rules | head``) ends
a command quietly with 141 (128 + SIGPIPE, as the shells report it). Usage errors are one line.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import click

from reports import clean
from scanner import __version__, baselines, envpolicy, inventory, safeio, yamlio
from scanner.collect import Options
from scanner.errors import BusyError, InputError, UndoneError
from scanner.redact import Redactor
from scanner.transports import one_line

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 4
EXIT_BUSY = 5  # another scan of the same estate holds its lock (scanner/lock.py)
EXIT_UNVERIFIED = 3  # evidence verify: intact, but signed by a key nobody vouched for
EXIT_BROKEN_PIPE = 141  # the reader of standard output went away (128 + SIGPIPE, as the shells)
SCAN_FORMATS = ("console", "json", "html", "summary", "csv", "junit", "markdown")
RENDERERS = {"html": "html", "csv": "csvout", "junit": "junit", "markdown": "markdown"}


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


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _fail_input(problems: list[str]) -> None:
    for line in problems:
        click.echo(clean(one_line(line)), err=True)
    raise _Exit(EXIT_BAD_INPUT)


def _quiet_stdout() -> None:
    """After a broken pipe: point standard output at /dev/null, so that nothing written later
    (nor the interpreter's flush at exit) raises again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _guard(fn: Callable[..., int], debug: bool, *args: Any, **kwargs: Any) -> int:
    try:
        return fn(*args, **kwargs)
    except _Exit as e:
        return e.code
    except BrokenPipeError:  # `undone rules | head`: the reader has what it wanted
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except InputError as e:
        for line in e.problems:
            click.echo(clean(one_line(line)), err=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        click.echo("undone: interrupted", err=True)
        return 130
    except BusyError as e:
        click.echo(clean(f"undone: {e}"), err=True)
        return EXIT_BUSY
    except (UndoneError, Exception) as e:  # the one place a bug becomes a line  # noqa: BLE001 - one failure must not stop the rest
        if debug:
            traceback.print_exc()
        click.echo(clean(one_line(f"undone: internal error: {type(e).__name__}: {e} "
                                  "(run with --debug for the traceback)")), err=True)
        return EXIT_INTERNAL


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="undone")
def cli() -> None:
    """undone: what your IT support provider has left undone.

    Scans the machines in an inventory (or this machine) against Cyber Essentials-style
    baselines and reports each gap, who owns it, and since when.
    """


def _load_waivers(path: str) -> tuple[inventory.Waiver, ...]:
    return inventory.parse_waivers(yamlio.load_file(path), path)


@cli.command()
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
                      bool(no_history or evidence_path or host_list or waivers_file))
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
                 single_only: bool) -> int:
    """``undone scan FOLDER``: every inventory in the folder, one estate each (scanner/multi.py)."""
    import threading

    from scanner import multi

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
    out_lock = threading.Lock()

    def log(line: str) -> None:
        with out_lock:
            click.echo(clean(one_line(line)), err=True)

    settings = multi.Settings(
        baselines=bls,
        options=Options(concurrency=concurrency, timeout=timeout,
                        connect_timeout=connect_timeout, section_timeout=section_timeout,
                        max_rate=max_rate,
                        known_hosts=os.path.abspath(known_hosts) if known_hosts else None),
        output=output, db_dir=db_dir or multi.default_db_dir(), notify=notify_opt,
        trust_on_first_use=trust_on_first_use, known_hosts=None,
        log=log if not quiet else (lambda line: None))
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
        import signal

        left = sum(1 for e in index["estates"] if e["status"] == "interrupted")
        click.echo(clean(f"undone: interrupted by {stop.signal}: {left} of "
                         f"{len(index['estates'])} estates not started; the others kept the "
                         "hosts that finished"), err=True)
        return 128 + int(getattr(signal, stop.signal))
    code: int = index["exit_code"]
    return code


def _default_db() -> str:
    from scanner import history

    return history.default_path()


def _inputs_of(db: str | None, inventory_file: str | None, waivers_file: str | None,
               signing_key: str | None, known_hosts: str | None,
               baseline_specs: tuple[str, ...] = (), evidence_path: str | None = None,
               ) -> list[tuple[str, str]]:
    """What an output must never be: the history (and its WAL, lock ...), the run's inputs."""
    out: list[tuple[str, str]] = []
    if db:
        out += [(f, "the history (--db)" if f == db else "part of the history (--db)")
                for f in safeio.history_files(db)]
    out += [(p, what) for p, what in ((inventory_file, "the inventory"),
                                      (waivers_file, "the waivers file"),
                                      (signing_key, "the signing key"),
                                      (known_hosts, "the known_hosts file"),
                                      (evidence_path, "the evidence bundle")) if p]
    out += [(b, "a baseline") for b in baseline_specs if b not in baselines.SHIPPED]
    return out


def _new_folder_problems(folder: str) -> list[str]:
    """Why the reports' folder ``folder`` (absent yet) could not be made at the end of a scan."""
    probe = os.path.abspath(folder)
    while not os.path.lexists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe) or os.path.islink(probe):
        return [f"--output {folder}: {probe} is not a folder; give a folder for the reports"]
    try:
        safeio.check_folder_writable(probe, f"--output {folder}")
    except InputError as e:
        return list(e.problems)
    return []


def _output_problems(path: str, what: str, protect: list[tuple[str, str]]) -> list[str]:
    try:
        safeio.check_output(path, what, protect)
    except InputError as e:
        return e.problems
    return []


class _Keep:
    """Where a scan is kept: history and evidence options."""

    def __init__(self, db: str | None, no_history: bool, evidence: str | None,
                 signing_key: str | None) -> None:
        self.db = db
        self.no_history = no_history
        self.evidence = evidence
        self.signing_key = signing_key


def _scan(inventory_file: str | None, baseline_specs: tuple[str, ...],
          fmt: tuple[str, ...] | str, output: tuple[str, ...] | str | None,
          host_list: tuple[str, ...], concurrency: int, timeout: float,
          connect_timeout: float, section_timeout: int, trust_on_first_use: bool,
          known_hosts: str | None, waivers_file: str | None, quiet: bool, pretty: bool,
          keep: _Keep | None = None, notify: bool | None = None,
          max_rate: float | None = None, verbose: bool = False) -> int:
    import dataclasses

    from scanner import scan as scan_mod

    problems: list[str] = []
    inv = None
    try:
        inv = inventory.load(inventory_file) if inventory_file else inventory.local_inventory()
        for u in inv.unscannable:  # listed, never silently dropped nor scanned over SSH
            click.echo(clean(f"undone: {u.name}: not scanned: {u.reason}"), err=True)
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
        from scanner import evidence

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
    if notify and (keep.no_history or (inv is not None and inv.notify is None)):
        problems.append("--notify: needs the history (not --no-history) and a notify section in "
                        "the inventory (see docs/operations.md)")
    from scanner import outputs

    pairs: list[tuple[str, str | None]] = []
    try:  # which report goes where: several from one scan (scanner/outputs.py)
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
    if problems or inv is None or bls is None:
        _fail_input(problems)
        return EXIT_BAD_INPUT
    if waivers and waivers_file:
        inv = inventory.with_waivers(inv, waivers, waivers_file)  # host names checked here
    if trust_on_first_use:
        hosts = tuple(dataclasses.replace(h, trust_on_first_use=True) for h in inv.hosts)
        inv = dataclasses.replace(inv, hosts=hosts)
    names = [n.strip() for item in host_list for n in item.split(",") if n.strip()]
    # --known-hosts is undone's own file (the only one trust on first use writes to)
    opts = Options(concurrency=concurrency, timeout=timeout, connect_timeout=connect_timeout,
                   section_timeout=section_timeout, max_rate=max_rate,
                   known_hosts=os.path.abspath(known_hosts) if known_hosts else None)
    if keep.evidence:
        opts.excerpt = opts.cap  # the bundle keeps each section's whole output
    from scanner.progress import Progress

    progress = None if quiet else Progress(sys.stderr, concurrency)
    hist = None
    held = contextlib.ExitStack()
    if not keep.no_history:
        from scanner import history, lock

        try:
            history.check_file(keep.db or history.default_path())  # before its lock file
            held.enter_context(lock.hold(keep.db or history.default_path()))
            hist = history.open_history(keep.db)
        except InputError as e:
            held.close()  # the lock goes with the history it guards
            if keep.db:  # asked for by name: a problem with it is bad input
                raise
            for line in e.problems:  # the default place: scan anyway, and say so
                click.echo(clean(f"undone: warning: not recording history: {line} "
                                 "(give --db, or --no-history)"), err=True)
    contract = inv.contract
    redactor = Redactor.for_inventory(inv)

    def on_start(doc: dict[str, Any], planned: int) -> None:
        if hist is not None:
            hist.begin(doc, contract.days, planned)
        if progress is not None:
            progress.start(planned)

    def on_host(rec: dict[str, Any], results: list[dict[str, Any]]) -> None:
        redactor.value(rec)  # credentials in repository strings never reach an output
        redactor.value(results)
        if hist is not None:
            hist.record(rec, results)
        if progress is not None:
            progress.host(rec, results)

    change = None
    with held:
        try:
            with _stop_on_signals() as stop:
                opts.cancel = stop.event
                doc = scan_mod.run(inv, bls, opts, on_host=on_host, host_filter=names or None,
                                   on_start=on_start,
                                   seen=hist.updates_seen if hist is not None else None)
            redactor.value(doc)  # (each host's record and results already were, as they landed)
            if stop.signal:  # the history keeps the hosts that finished, the scan unfinished
                return _interrupted(doc, stop.signal, pairs, pretty, new_folder, verbose)
            if hist is not None:
                hist.finish(doc)
                if inv.notify is not None and notify is not False:
                    from scanner import notify as notify_mod

                    try:
                        change = notify_mod.from_history(hist, doc)
                    except Exception as e:  # noqa: BLE001 - notifying must not fail the scan
                        click.echo(clean(f"undone: notification FAILED: cannot compare with the "
                                         f"previous scan: {type(e).__name__}: {e}"), err=True)
        finally:
            if progress is not None:
                progress.stop()
            if hist is not None:
                hist.close()
    _write_all(doc, pairs, pretty, new_folder, verbose)
    if not quiet:
        from scanner.multi import summary_line

        click.echo(summary_line(doc), err=True)
    if change is not None and change["total"] and inv.notify is not None:
        html_out = next((out for f, out in pairs if f == "html" and out), None)
        _notify(inv.notify, change, doc, "html" if html_out else "", html_out)
    if keep.evidence and key is not None:
        from scanner import evidence

        used = []
        for b in bls:
            _, text = baselines.resolve(b.name if b.name in baselines.SHIPPED
                                            and b.path.startswith("baselines/") else b.path)
            used.append((b.name, text))
        n = evidence.write(keep.evidence, doc, key, inventory_path=inventory_file,
                           waivers_path=waivers_file, baselines=used, redactor=redactor)
        if not quiet:
            click.echo(clean(f"undone: evidence bundle {keep.evidence}: {n} files, signed by "
                             f"{evidence.fingerprint(key.public_key())}"), err=True)
    code: int = doc["summary"]["exit_code"]
    return code


class _Stop:
    def __init__(self) -> None:
        import threading

        self.event = threading.Event()
        self.signal: str | None = None


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    """While scanning, SIGINT, SIGTERM and SIGHUP stop the scan instead of killing the process:
    hosts not finished stop within a second or two, what finished is kept (scanner/collect.py).
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


def _interrupted(doc: dict[str, Any], signame: str, pairs: list[tuple[str, str | None]],
                 pretty: bool, new_folder: str | None = None, verbose: bool = False) -> int:
    """Report an interrupted scan as such (never as "everything checked passed"): the
    document says ``complete: false``, its exit code is at least 3, and the process exits
    128 + the signal's number."""
    import signal

    from scanner.collect import mark_interrupted

    mark_interrupted(doc, signame)
    _write_all(doc, pairs, pretty, new_folder, verbose)
    done = sum(1 for h in doc.get("hosts", []) if h.get("error_kind") != "interrupted")
    click.echo(clean(f"undone: interrupted by {signame}: {done} of {len(doc.get('hosts', []))} "
                     "hosts finished and were recorded; the rest were not scanned"), err=True)
    return 128 + int(getattr(signal, signame))


def _notify(cfg: dict[str, Any], change: dict[str, Any], doc: dict[str, Any], fmt: str,
            output: str | None) -> None:
    """Send word of what changed (scanner/notify.py); one line per channel on stderr. A failed
    notification does not change the scan's exit code."""
    from scanner import notify as notify_mod

    if fmt == "html" and output:
        name = os.path.basename(output)

        def report() -> bytes:
            with open(output, "rb") as f:
                return f.read()
    else:
        name = f"undone-{doc['scan']['id']}.html"

        def report() -> bytes:
            return _render(doc, "html", None, False).encode("utf-8")
    try:
        outcomes = notify_mod.send(cfg, change, (name, report))
    except Exception as e:  # noqa: BLE001 - notifying must not fail the scan
        outcomes = [notify_mod.Outcome("all", False, f"{type(e).__name__}: {e}")]
    for o in outcomes:
        word = "notified" if o.ok else "notification FAILED"
        click.echo(clean(f"undone: {word}: {o.detail}"), err=True)


def _render(doc: dict[str, Any], fmt: str, output: str | None, pretty: bool,
            verbose: bool = False) -> str:
    """The result document in ``fmt`` (one module per format in ``reports``)."""
    import importlib

    buf = io.StringIO()
    if fmt == "json":
        from reports import jsonout

        jsonout.render(doc, buf, indent=2 if pretty else None)
    elif fmt == "summary":
        from reports import html

        html.render_summary(doc, buf)
    elif fmt == "console":
        from reports import console

        color = None if output is None and sys.stdout.isatty() else False
        width = None if output is None and sys.stdout.isatty() else 110
        console.render(doc, buf, color=color, width=width, verbose=verbose)
    else:
        module = importlib.import_module(f"reports.{RENDERERS[fmt]}")
        module.render(doc, buf)
    return buf.getvalue()


def _emit(text: str, output: str | None) -> None:
    """The report to ``output`` (0600, never over a device, link or folder: scanner/safeio.py)
    or to standard output; a reader that went away loses the rest, quietly."""
    if output:
        safeio.write_file(output, text, "--output")
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()


def _write(doc: dict[str, Any], fmt: str, output: str | None, pretty: bool,
           verbose: bool = False) -> None:
    _emit(_render(doc, fmt, output, pretty, verbose), output)


def _write_all(doc: dict[str, Any], pairs: list[tuple[str, str | None]], pretty: bool,
               new_folder: str | None = None, verbose: bool = False) -> None:
    """Every report asked for, from the one document (scanner/outputs.py), into
    ``new_folder`` (made here, 0700) when the one --output was a folder still to make."""
    if new_folder:
        safeio.private_dir(new_folder)
    for fmt, output in pairs:
        _write(doc, fmt, output, pretty, verbose)


def _kind(data: Any) -> str:
    if isinstance(data, dict) and "rules" in data and "baseline" in data:
        return "baseline"
    if isinstance(data, dict) and set(data) == {"waivers"}:
        return "waivers"
    return "inventory"


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def validate(files: tuple[str, ...], debug: bool) -> None:
    """Check inventories, baselines and waiver files; one line per problem."""
    raise SystemExit(_guard(_validate, debug, files))


def _validate(files: tuple[str, ...]) -> int:
    from datetime import UTC, datetime

    from probes import sections
    from scanner.inventory import lint

    bad = False
    try:  # warnings name rules and roles of the shipped baselines and of those given here
        known = baselines.load(None)
    except InputError:
        known = []
    extra = [f for f in files if os.path.isfile(f)]
    rule_ids = {r.id for b in known for r in b.rules}
    used_roles = {role for b in known for r in b.rules for role in r.roles}
    today = datetime.now(UTC).date()
    inventories: list[inventory.Inventory] = []
    waiver_files: list[tuple[str, tuple[inventory.Waiver, ...]]] = []
    for path in extra:
        try:
            data = yamlio.load_file(path)
            if _kind(data) == "baseline":
                label, text = baselines.resolve(path)
                b = baselines.parse(text, label, set(sections()))
                rule_ids |= {r.id for r in b.rules}
                used_roles |= {role for r in b.rules for role in r.roles}
        except InputError:
            pass
    for path in files:
        try:
            try:
                data = yamlio.load_file(path)
            except InputError:
                # not YAML: an Ansible INI inventory is read through Ansible, or gets its line
                inv = inventory.load(path)
                click.echo(f"{clean(path)}: valid inventory ({len(inv.hosts)} hosts)")
                continue
            kind = _kind(data)
            if kind == "baseline":
                label, text = baselines.resolve(path)
                b = baselines.parse(text, label, set(sections()))
                click.echo(f"{clean(path)}: valid baseline {clean(b.name)} ({len(b.rules)} rules)")
            elif kind == "waivers":
                w = _load_waivers(path)
                click.echo(f"{clean(path)}: valid waivers file ({len(w)} waivers)")
                waiver_files.append((path, w))
                for line in lint.waiver_warnings(w, path, rule_ids, today):
                    click.echo(clean(line), err=True)
            else:
                inv = inventory.load(path)
                problems = envpolicy.check(inv, path)  # what scan would refuse, refused here
                if problems:
                    raise InputError(problems)
                click.echo(f"{clean(path)}: valid inventory ({len(inv.hosts)} hosts"
                           + (f", {len(inv.tenants)} tenants" if inv.tenants else "")
                           + (f", {len(inv.unscannable)} not scanned" if inv.unscannable else "")
                           + ")")
                inventories.append(inv)
                for u in inv.unscannable:
                    click.echo(clean(f"{path}: {u.name}: not scanned: {u.reason}"), err=True)
                for line in lint.warnings(inv, path, rule_ids, used_roles, today):
                    click.echo(clean(line), err=True)
        except InputError as e:
            bad = True
            for line in e.problems:
                click.echo(clean(line), err=True)
    for path, w in waiver_files:  # a waivers file given with an inventory: its host names too
        for inv in inventories:
            try:
                inventory.with_waivers(inv, w, path)
            except InputError as e:
                bad = True
                for line in e.problems:
                    click.echo(clean(line), err=True)
    return EXIT_BAD_INPUT if bad else 0


@cli.command("rules")
@click.option("--baseline", "-b", "baseline_specs", multiple=True,
              help="Baseline name or path (repeatable). Default: every shipped baseline.")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def rules_cmd(baseline_specs: tuple[str, ...], fmt: str, debug: bool) -> None:
    """List the rules: id, control, severity, title."""
    raise SystemExit(_guard(_rules, debug, baseline_specs, fmt))


def _rules(baseline_specs: tuple[str, ...], fmt: str) -> int:
    bls = baselines.load(list(baseline_specs) or None)
    rows = [(r.id, r.control, r.severity, r.title, b.name) for b in bls for r in b.rules]
    if fmt == "json":
        click.echo(json.dumps([{"id": i, "control": c, "severity": s, "title": t, "baseline": b}
                               for i, c, s, t, b in rows], indent=2))
        return 0
    w = max(len(r[0]) for r in rows)
    cw = max(len(r[1]) for r in rows)
    for i, c, s, t, _ in rows:
        click.echo(f"{i:<{w}}  {c:<{cw}}  {s:<8}  {t}")
    return 0


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("inventory_path", type=click.Path(exists=True))
@click.argument("scan_options", nargs=-1, type=click.UNPROCESSED)
@click.option("--every", type=click.Choice(("hourly", "daily", "weekdays", "weekly", "monthly")),
              default="daily", show_default=True, help="How often to scan.")
@click.option("--at", "at", default="02:00", show_default=True, metavar="HH:MM",
              help="Time of day (local time of this machine); for hourly, its minute.")
@click.option("--day", type=click.Choice(("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
              default="mon", show_default=True, help="Day of the week, for --every weekly.")
@click.option("--name", help="Name of the schedule (default: undone-<inventory name>).")
@click.option("--user", "user_mode", is_flag=True,
              help="A user unit (~/.config/systemd/user) instead of a system one.")
@click.option("--cron/--systemd", "cron", default=None,
              help="A crontab line, or systemd units. Default: systemd units where systemd is "
                   "running, else a crontab line.")
@click.option("--install", is_flag=True,
              help="Write the units (/etc/systemd/system, or the user's with --user) and print "
                   "how to start the timer. A crontab line is only ever printed, never added.")
@click.option("--unit-dir", type=click.Path(file_okay=False),
              help="Where --install writes the units (implies --systemd).")
@click.option("--state-dir", type=click.Path(file_okay=False),
              help="Where the scheduled scans keep history and reports (default /var/lib/undone,"
                   " or ~/.local/state/undone with --user).")
@click.option("--force", is_flag=True, help="With --install, replace units that differ.")
@click.option("--run-as", "run_as", metavar="USER",
              help="System units: the user the scans run as (default: undone, a dedicated "
                   "user), 'dynamic' for systemd's DynamicUser=yes, or 'root'.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def schedule(inventory_path: str, scan_options: tuple[str, ...], every: str, at: str, day: str,
             name: str | None, user_mode: bool, cron: bool | None, install: bool,
             unit_dir: str | None, state_dir: str | None, force: bool, debug: bool,
             run_as: str | None = None) -> None:
    """Run `undone scan INVENTORY_PATH` on a schedule: print (or --install) a systemd service
    and timer, or a crontab line where systemd is absent. INVENTORY_PATH is an inventory or a
    folder of them; SCAN_OPTIONS after `--` go to `undone scan` (e.g. -- --baseline
    cyber-essentials --max-rate 5)."""
    raise SystemExit(_guard(_schedule, debug, inventory_path, scan_options, every, at, day, name,
                            user_mode, cron, install, unit_dir, state_dir, force, run_as))


def _absolute_scan_args(args: tuple[str, ...]) -> tuple[str, ...]:
    """The scan options with every relative path made absolute (the unit runs in its state
    folder): values of scan's path options, and of --baseline when it names a file."""
    paths = {o for p in scan.params if isinstance(p, click.Option)
             and isinstance(p.type, click.Path) for o in p.opts}
    paths |= {"--baseline", "-b"}
    out: list[str] = []
    take = False
    for a in args:
        if take:
            take = False
            keep = a in baselines.SHIPPED or os.path.isabs(a) or not (
                os.path.exists(a) or os.sep in a or a.endswith((".yaml", ".yml")))
            out.append(a if keep else os.path.abspath(a))
            continue
        opt, eq, value = a.partition("=")
        if opt in paths and a.startswith("--") and eq:
            keep = value in baselines.SHIPPED or os.path.isabs(value) or not value
            out.append(a if keep else f"{opt}={os.path.abspath(value)}")
        else:
            take = a in paths
            out.append(a)
    return tuple(out)


def _schedule(inventory_path: str, scan_options: tuple[str, ...], every: str, at: str, day: str,
              name: str | None, user_mode: bool, cron: bool | None, install: bool,
              unit_dir: str | None, state_dir: str | None, force: bool,
              run_as: str | None = None) -> int:
    from scanner import schedule as sched

    if os.path.isdir(inventory_path):
        from scanner import multi

        networks = False
        for path in multi.inventories(inventory_path):  # at least one inventory there
            with contextlib.suppress(InputError):  # an invalid one is its own estate's problem
                networks = networks or bool(inventory.load(path).networks)
    else:
        networks = bool(inventory.load(inventory_path).networks)
    reserved = {"--db", "--output", "-o", "--format", "-f"} & {a.split("=")[0]
                                                              for a in scan_options}
    if reserved:
        raise InputError(f"{', '.join(sorted(reserved))}: set by the schedule (history and "
                         "report go to --state-dir); give the other scan options only")
    try:  # the scan options must be ones `undone scan` takes
        scan.make_context("scan", [inventory_path, *scan_options], resilient_parsing=False)
    except click.ClickException as e:
        raise InputError(f"scan options {' '.join(scan_options)!r}: {e.format_message()}"
                         ) from None
    s = sched.make(inventory_path, every, at, day, user=user_mode, name=name,
                   state_dir=state_dir, scan_args=_absolute_scan_args(scan_options),
                   run_as=run_as, networks=networks)
    use_cron = cron if cron is not None else (unit_dir is None and not sched.systemd_running())
    if use_cron:
        click.echo(sched.cron_text(s), nl=False)
        if install:
            click.echo(clean(f"# undone never edits a crontab: add the line above with "
                             f"`crontab -e`{'' if user_mode else ' (as root)'}; credentials for "
                             f"notifications go in {s.env_file}"), err=True)
        return 0
    if install:
        paths = sched.install(s, unit_dir, force)
        for path in paths:
            click.echo(clean(f"wrote {path}"))
        hint = sched.user_hint(s)
        if hint:
            click.echo(clean(f"make its user first: {hint}"))
        click.echo(clean(f"start it: {sched.activate_hint(s)}"))
        click.echo(clean(f"credentials for notifications (optional): {s.env_file}"))
        return 0
    folder = unit_dir or sched.default_unit_dir(user_mode)
    click.echo(f"# {clean(os.path.join(folder, s.name + '.service'))}")
    click.echo(sched.service_text(s))
    click.echo(f"# {clean(os.path.join(folder, s.name + '.timer'))}")
    click.echo(sched.timer_text(s), nl=False)
    return 0


REPORT_FORMATS = ("console", "summary", "html", "markdown", "json", "csv", "junit")
# a contract period is dated within these (9999-12-31 overflowed the day after it)
DATE_MIN, DATE_MAX = date(1970, 1, 1), date(2199, 12, 31)


def _date(value: str | None, option: str) -> Any:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r}: expected a date, YYYY-MM-DD") from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise InputError(f"{option} {value}: expected a date from {DATE_MIN} to {DATE_MAX}")
    return day


MAX_DOCUMENT = 1024 ** 3  # a result document read for --diff


def _read_document(path: str) -> dict[str, Any]:
    """A result document from a file: a regular file (never a FIFO that would hang), bounded,
    JSON, and shaped as `undone report --diff` needs (reports/diff.py), or one line, exit 2."""
    from reports import diff as diff_mod

    try:
        data = safeio.read_regular(path, MAX_DOCUMENT)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise InputError(f"{path}: not a result document (not JSON: "
                         f"{str(e)[:100] or type(e).__name__})") from None
    bad = diff_mod.problems(doc)
    if bad:
        raise InputError(f"{path}: not a result document of undone scan --format json: "
                         + "; ".join(bad))
    result: dict[str, Any] = doc
    return result


def _load_doc(spec: str, hist_path: str | None) -> dict[str, Any]:
    """A result document: a JSON file written by `undone scan --format json`, or a scan in the
    history (its id, a unique prefix of it, `latest` or `previous`)."""
    if os.path.exists(spec):
        return _read_document(spec)
    from scanner import history

    with history.open_history(hist_path, create=False, readonly=True) as h:
        return h.document(spec)


@cli.command()
@click.argument("scan_id", required=False)
@click.option("--from", "date_from", metavar="DATE",
              help="Start of a contract period (YYYY-MM-DD): gives the period report.")
@click.option("--to", "date_to", metavar="DATE",
              help="End of the period, inclusive (YYYY-MM-DD; default today).")
@click.option("--diff", nargs=2, metavar="OLD NEW",
              help="Compare two scans (ids from the history, or result JSON files): new, "
                   "fixed, regressed, still overdue.")
@click.option("--list", "list_scans", is_flag=True, help="List the scans in the history.")
@click.option("--format", "-f", "fmt", type=click.Choice(REPORT_FORMATS), default="console",
              show_default=True, help="Output format (csv and junit: a single scan only).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to this file instead of standard output.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), envvar="UNDONE_DB",
              help="History file. Default: $UNDONE_DB, else ~/.local/share/undone/history.sqlite.")
@click.option("--pretty", is_flag=True, help="Indent JSON output.")
@click.option("--verbose", "-v", is_flag=True,
              help="Console report: under each computer, every rule that does not apply there "
                   "with why; findings' texts uncut.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def report(scan_id: str | None, date_from: str | None, date_to: str | None,
           diff: tuple[str, str] | None, list_scans: bool, fmt: str, output: str | None,
           db_path: str | None, pretty: bool, debug: bool, verbose: bool = False) -> None:
    """Render a report from the history.

    With SCAN_ID (default: the latest scan), that scan's report, rebuilt from the history.
    With --from/--to, the contract-period report for a renewal meeting: compliance per control,
    findings opened and closed, mean time to remediate, SLA breaches per month, and each host's
    maintenance timeline. With --diff OLD NEW, what changed between two scans.
    """
    raise SystemExit(_guard(_report, debug, scan_id, date_from, date_to, diff or None,
                            list_scans, fmt, output, db_path, pretty, verbose))


def _report(scan_id: str | None, date_from: str | None, date_to: str | None,
            diff: tuple[str, str] | None, list_scans: bool, fmt: str, output: str | None,
            db_path: str | None, pretty: bool, verbose: bool = False) -> int:
    from scanner import history

    modes = [m for m, on in (("SCAN_ID", scan_id), ("--from/--to", date_from or date_to),
                             ("--diff", diff), ("--list", list_scans)) if on]
    if len(modes) > 1:
        raise InputError(f"{' and '.join(modes)}: give only one of SCAN_ID, --from/--to, "
                         "--diff and --list")
    if output:
        db = db_path or history.default_path()
        inputs = _inputs_of(db, None, None, None, None)
        inputs += [(p, "an input of --diff") for p in (diff or ())]
        safeio.check_output(output, "--output", inputs)
    color = None if output is None and sys.stdout.isatty() else False
    width = None if output is None else 100
    indent = 2 if pretty or fmt != "json" else None
    buf = io.StringIO()
    if list_scans:
        with history.open_history(db_path, create=False, readonly=True) as h:
            rows = h.scans()
        if fmt == "json":
            json.dump(rows, buf, indent=indent)
            buf.write("\n")
        else:
            for r in rows:
                state = "complete" if r["complete"] else "INTERRUPTED"
                buf.write(clean(f"{r['id']}  {r['started_at']}  {state:<11}  {r['hosts']:>5} "
                                f"hosts  {r['fail']:>6} fail") + "\n")
        _emit(buf.getvalue(), output)
        return 0
    if (date_from or date_to or diff) and fmt in ("csv", "junit", "summary"):
        raise InputError(f"--format {fmt}: only for the report of one scan; the period report "
                         "and the diff are console, html, markdown or json")
    if date_from or date_to:
        from reports import period

        start, end = _date(date_from, "--from"), _date(date_to, "--to")
        with history.open_history(db_path, create=False, readonly=True) as h:
            pdoc = h.period(start, end)
        period.render(pdoc, buf, fmt, color=color, width=width, indent=indent)
    elif diff:
        from reports import diff as diff_mod

        old, new = (_load_doc(spec, db_path) for spec in diff)
        diff_mod.render(diff_mod.build(old, new), buf, fmt, color=color, width=width,
                        indent=indent)
    else:
        with history.open_history(db_path, create=False, readonly=True) as h:
            doc = h.document(scan_id)
        buf.write(_render(doc, fmt, output, pretty, verbose))
    _emit(buf.getvalue(), output)
    return 0


@cli.group()
def evidence() -> None:
    """Evidence bundles: signed copies of a scan and everything it was judged against."""


@evidence.command("verify")
@click.argument("bundle", type=click.Path())
@click.option("--public-key", type=click.Path(dir_okay=False), envvar="UNDONE_EVIDENCE_PUBLIC_KEY",
              help="The signer's public key (PEM or OpenSSH), or a file of ssh-ed25519 lines, "
                   "one per trusted signer (or $UNDONE_EVIDENCE_PUBLIC_KEY). Without it the key "
                   "inside the bundle is used, which proves integrity but not who signed "
                   "(exit 3).")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def evidence_verify(bundle: str, public_key: str | None, debug: bool) -> None:
    """Check BUNDLE's signature and every file against its manifest; name any file that
    changed. Exit 0 intact and signed by a trusted key, 1 something changed or a member no
    bundle holds, 2 not a bundle or a bad key, 3 intact but the signer not verified."""
    raise SystemExit(_guard(_evidence_verify, debug, bundle, public_key))


def _evidence_verify(bundle: str, public_key: str | None) -> int:
    from scanner import evidence as ev

    keys = ev.load_public_keys(public_key) if public_key else []
    verdict = ev.verify(bundle, trusted=keys)
    for line in ev.report_lines(bundle, verdict):
        click.echo(clean(line), err=not (verdict.ok and verdict.trusted))
    if not verdict.ok:
        return 1
    return 0 if verdict.trusted else EXIT_UNVERIFIED


@evidence.command("keygen")
@click.argument("key_file", type=click.Path(dir_okay=False))
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def evidence_keygen(key_file: str, debug: bool) -> None:
    """Make an Ed25519 signing key: KEY_FILE (private, mode 0600) and KEY_FILE.pub."""
    raise SystemExit(_guard(_evidence_keygen, debug, key_file))


def _evidence_keygen(key_file: str) -> int:
    from scanner import evidence as ev

    priv, pub = ev.keygen(key_file)
    key = ev.load_private_key(priv)
    click.echo(f"{clean(priv)}: private key (keep it safe); {clean(pub)}: public key; "
               f"fingerprint {ev.fingerprint(key.public_key())}")
    return 0


from scanner.cli_advisories import advisories_group  # noqa: E402 - its commands call back here
from scanner.cli_lifecycle import lifecycle_group  # noqa: E402 - its commands call back here

cli.add_command(lifecycle_group)
cli.add_command(advisories_group)

from scanner.cli_inventory import inventory_cmd  # noqa: E402 - the dry run: what undone connects to

cli.add_command(inventory_cmd)

from scanner.cli_applications import applications_group  # noqa: E402 - release catalogue

cli.add_command(applications_group)


def _usage_line(e: click.ClickException) -> str:
    """A click usage error as one line: what is wrong, and where the help is."""
    ctx = getattr(e, "ctx", None)
    where = ctx.command_path if ctx is not None else "undone"
    text = " ".join(e.format_message().split())
    hint = f" (see `{where} --help`)" if isinstance(e, click.UsageError) else ""
    return clean(f"{where}: {text}{hint}")


def main(argv: list[str] | None = None) -> int:
    """The ``undone`` command. Usage errors are one line and exit 2; a reader that goes away
    (``undone rules | head``) ends the command quietly."""
    args = sys.argv[1:] if argv is None else list(argv)
    for i, a in enumerate(args, 1):
        if "\x00" in a:  # no path, name or value can hold one (os.stat would raise)
            click.echo(f"undone: argument {i} holds a NUL byte; no path or value can", err=True)
            return EXIT_BAD_INPUT
    try:
        rv = cli.main(args=args, prog_name="undone", standalone_mode=False)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_BAD_INPUT
    except click.exceptions.NoArgsIsHelpError as e:  # `undone` alone: the help, as --help
        click.echo(e.format_message())
        return 0
    except click.ClickException as e:
        with contextlib.suppress(BrokenPipeError):
            click.echo(_usage_line(e), err=True)
        return EXIT_BAD_INPUT
    except (click.Abort, KeyboardInterrupt, EOFError):
        click.echo("undone: interrupted", err=True)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as e:  # noqa: BLE001 - outside any command's guard (while parsing): a bug
        click.echo(clean(one_line(f"undone: internal error: {type(e).__name__}: {e}")),
                   err=True)
        return EXIT_INTERNAL
    return rv if isinstance(rv, int) else 0
