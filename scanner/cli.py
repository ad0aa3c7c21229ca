"""The ``undone`` command line. The only place exceptions become messages and exit codes.

Exit codes (DESIGN.md §3): 0 every rule passed or is waived; 1 at least one ``fail``; 2 bad usage
or invalid input (nothing scanned); 3 no ``fail`` but the scan is incomplete; 4 an internal error
(a bug: one line, ``--debug`` for the traceback).
"""

from __future__ import annotations

import io
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TextIO

import click

from reports import clean
from scanner import __version__, baselines, inventory, yamlio
from scanner.collect import Options
from scanner.errors import InputError, UndoneError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 4
SCAN_FORMATS = ("console", "json", "html", "csv", "junit", "markdown")
RENDERERS = {"html": "html", "csv": "csvout", "junit": "junit", "markdown": "markdown"}


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _fail_input(problems: list[str]) -> None:
    for line in problems:
        click.echo(clean(line), err=True)
    raise _Exit(EXIT_BAD_INPUT)


def _guard(fn: Callable[..., int], debug: bool, *args: Any, **kwargs: Any) -> int:
    try:
        return fn(*args, **kwargs)
    except _Exit as e:
        return e.code
    except InputError as e:
        for line in e.problems:
            click.echo(clean(line), err=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        click.echo("undone: interrupted", err=True)
        return 130
    except (UndoneError, Exception) as e:  # the one place a bug becomes a line  # noqa: BLE001 - one failure must not stop the rest
        if debug:
            traceback.print_exc()
        click.echo(f"undone: internal error: {type(e).__name__}: {clean(e)} "
                   "(run with --debug for the traceback)", err=True)
        return EXIT_INTERNAL


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="undone")
def cli() -> None:
    """undone: what your IT support provider has left undone.

    Scans the machines in an inventory (or this machine) against Cyber Essentials-style
    baselines and reports each gap, who owns it, and since when.
    """


def _load_waivers(path: str) -> tuple[inventory.Waiver, ...]:
    data = yamlio.load_file(path)
    if isinstance(data, dict) and set(data) <= {"waivers"}:
        data = data.get("waivers")
    inv = inventory.parse({"all": {"hosts": {"placeholder.invalid": None}}, "waivers": data}, path)
    return inv.waivers


def _progress(stream: TextIO) -> Callable[[dict[str, Any], list[dict[str, Any]]], None]:
    def on_host(rec: dict[str, Any], results: list[dict[str, Any]]) -> None:
        counts: dict[str, int] = {}
        for r in results:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        state = "ok" if rec.get("reachable") else f"UNREACHABLE: {rec.get('error')}"
        tally = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        stream.write(clean(f"undone: {rec['name']} ({rec['address']}) {state} "
                           f"{rec.get('duration_ms', 0)}ms {tally}") + "\n")
        stream.flush()
    return on_host


@cli.command()
@click.argument("inventory_file", required=False, type=click.Path(dir_okay=False))
@click.option("--baseline", "-b", "baseline_specs", multiple=True,
              help="Baseline name or path (repeatable). Default: every shipped baseline.")
@click.option("--format", "-f", "fmt", type=click.Choice(SCAN_FORMATS), default="console",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to this file instead of standard output.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), envvar="UNDONE_DB",
              help="History file (SQLite). Default: $UNDONE_DB, else "
                   "~/.local/share/undone/history.sqlite.")
@click.option("--no-history", is_flag=True,
              help="Do not record this scan (first_seen, due and overdue_days stay empty).")
@click.option("--evidence", "evidence_path", type=click.Path(),
              help="Write a signed evidence bundle to this folder, or ZIP file (name.zip).")
@click.option("--signing-key", type=click.Path(dir_okay=False), envvar="UNDONE_SIGNING_KEY",
              help="Ed25519 private key (PEM or OpenSSH) that signs the evidence bundle "
                   "(or $UNDONE_SIGNING_KEY).")
@click.option("--hosts", "host_list", multiple=True,
              help="Scan only these inventory hosts (repeatable or comma-separated).")
@click.option("--concurrency", "-j", type=click.IntRange(1, 512), default=16, show_default=True,
              help="Hosts collected at once.")
@click.option("--timeout", type=click.FloatRange(1, 86400), default=120.0, show_default=True,
              help="Seconds allowed for each host, connection included.")
@click.option("--connect-timeout", type=click.FloatRange(0.1, 600), default=10.0,
              show_default=True, help="Seconds allowed to connect and authenticate.")
@click.option("--section-timeout", type=click.IntRange(1, 3600), default=60, show_default=True,
              help="Seconds each probe section may run on the target.")
@click.option("--trust-on-first-use", is_flag=True,
              help="Accept (and record) host keys not yet in known_hosts. Changed keys are "
                   "always refused.")
@click.option("--known-hosts", type=click.Path(dir_okay=False),
              help="known_hosts file to verify host keys against (besides ~/.ssh/known_hosts).")
@click.option("--waivers", "waivers_file", type=click.Path(dir_okay=False),
              help="YAML file of waivers (rule, hosts, reason, approved_by, expires).")
@click.option("--quiet", "-q", is_flag=True, help="No per-host progress lines on stderr.")
@click.option("--pretty", is_flag=True, help="Indent JSON output.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def scan(inventory_file: str | None, baseline_specs: tuple[str, ...], fmt: str,
         output: str | None, db_path: str | None, no_history: bool, evidence_path: str | None,
         signing_key: str | None, host_list: tuple[str, ...], concurrency: int, timeout: float,
         connect_timeout: float, section_timeout: int, trust_on_first_use: bool,
         known_hosts: str | None, waivers_file: str | None, quiet: bool, pretty: bool,
         debug: bool) -> None:
    """Scan the hosts of INVENTORY_FILE (or, without one, this machine).

    Each host is recorded in the history as it lands (unless --no-history), so an interrupted
    scan keeps what it collected.
    """
    code = _guard(_scan, debug, inventory_file, baseline_specs, fmt, output, host_list,
                  concurrency, timeout, connect_timeout, section_timeout, trust_on_first_use,
                  known_hosts, waivers_file, quiet, pretty,
                  _Keep(db_path, no_history, evidence_path, signing_key))
    raise SystemExit(code)


class _Keep:
    """Where a scan is kept: history and evidence options."""

    def __init__(self, db: str | None, no_history: bool, evidence: str | None,
                 signing_key: str | None) -> None:
        self.db = db
        self.no_history = no_history
        self.evidence = evidence
        self.signing_key = signing_key


def _scan(inventory_file: str | None, baseline_specs: tuple[str, ...], fmt: str,
          output: str | None, host_list: tuple[str, ...], concurrency: int, timeout: float,
          connect_timeout: float, section_timeout: int, trust_on_first_use: bool,
          known_hosts: str | None, waivers_file: str | None, quiet: bool, pretty: bool,
          keep: _Keep | None = None) -> int:
    import dataclasses

    from scanner import scan as scan_mod

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
    if problems or inv is None or bls is None:
        _fail_input(problems)
        return EXIT_BAD_INPUT
    if waivers:
        inv = dataclasses.replace(inv, waivers=inv.waivers + waivers)
    if trust_on_first_use or known_hosts:
        kh = os.path.abspath(known_hosts) if known_hosts else None
        hosts = tuple(dataclasses.replace(
            h, trust_on_first_use=h.trust_on_first_use or trust_on_first_use,
            known_hosts=h.known_hosts or kh) for h in inv.hosts)
        inv = dataclasses.replace(inv, hosts=hosts)
    names = [n.strip() for item in host_list for n in item.split(",") if n.strip()]
    opts = Options(concurrency=concurrency, timeout=timeout, connect_timeout=connect_timeout,
                   section_timeout=section_timeout)
    if keep.evidence:
        opts.excerpt = opts.cap  # the bundle keeps each section's whole output
    progress = None if quiet else _progress(sys.stderr)
    hist = None
    if not keep.no_history:
        from scanner import history

        try:
            hist = history.open_history(keep.db)
        except InputError as e:
            if keep.db:  # asked for by name: a problem with it is bad input
                raise
            for line in e.problems:  # the default place: scan anyway, and say so
                click.echo(clean(f"undone: warning: not recording history: {line} "
                                 "(give --db, or --no-history)"), err=True)
    contract = inv.contract

    def on_start(doc: dict[str, Any], planned: int) -> None:
        if hist is not None:
            hist.begin(doc, contract.days, planned)

    def on_host(rec: dict[str, Any], results: list[dict[str, Any]]) -> None:
        if hist is not None:
            hist.record(rec, results)
        if progress is not None:
            progress(rec, results)

    try:
        doc = scan_mod.run(inv, bls, opts, on_host=on_host, host_filter=names or None,
                           on_start=on_start)
        if hist is not None:
            hist.finish(doc)
    finally:
        if hist is not None:
            hist.close()
    _write(doc, fmt, output, pretty)
    if keep.evidence and key is not None:
        from scanner import evidence

        used = []
        for b in bls:
            _, text = baselines.resolve(b.name if b.name in baselines.SHIPPED
                                            and b.path.startswith("baselines/") else b.path)
            used.append((b.name, text))
        n = evidence.write(keep.evidence, doc, key, inventory_path=inventory_file,
                           waivers_path=waivers_file, baselines=used)
        if not quiet:
            click.echo(clean(f"undone: evidence bundle {keep.evidence}: {n} files, signed by "
                             f"{evidence.fingerprint(key.public_key())}"), err=True)
    code: int = doc["summary"]["exit_code"]
    return code


def _render(doc: dict[str, Any], fmt: str, output: str | None, pretty: bool) -> str:
    """The result document in ``fmt`` (one module per format in ``reports``)."""
    import importlib

    buf = io.StringIO()
    if fmt == "json":
        from reports import jsonout

        jsonout.render(doc, buf, indent=2 if pretty else None)
    elif fmt == "console":
        from reports import console

        color = None if output is None and sys.stdout.isatty() else False
        width = None if output is None and sys.stdout.isatty() else 110
        console.render(doc, buf, color=color, width=width)
    else:
        module = importlib.import_module(f"reports.{RENDERERS[fmt]}")
        module.render(doc, buf)
    return buf.getvalue()


def _emit(text: str, output: str | None) -> None:
    if output:
        tmp = f"{output}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, output)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _write(doc: dict[str, Any], fmt: str, output: str | None, pretty: bool) -> None:
    _emit(_render(doc, fmt, output, pretty), output)


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
    from probes import sections

    bad = False
    for path in files:
        try:
            data = yamlio.load_file(path)
            kind = _kind(data)
            if kind == "baseline":
                label, text = baselines.resolve(path)
                b = baselines.parse(text, label, set(sections()))
                click.echo(f"{clean(path)}: valid baseline {clean(b.name)} ({len(b.rules)} rules)")
            elif kind == "waivers":
                w = _load_waivers(path)
                click.echo(f"{clean(path)}: valid waivers file ({len(w)} waivers)")
            else:
                inv = inventory.parse(data, path)
                click.echo(f"{clean(path)}: valid inventory ({len(inv.hosts)} hosts)")
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


REPORT_FORMATS = ("console", "html", "markdown", "json", "csv", "junit")


def _date(value: str | None, option: str) -> Any:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r}: expected a date, YYYY-MM-DD") from None


def _load_doc(spec: str, hist_path: str | None) -> dict[str, Any]:
    """A result document: a JSON file written by `undone scan --format json`, or a scan in the
    history (its id, a unique prefix of it, `latest` or `previous`)."""
    if os.path.isfile(spec):
        try:
            with open(spec, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise InputError(f"{spec}: not a result document ({e})") from None
        if not isinstance(doc, dict) or doc.get("schema") != "undone.scan/1":
            raise InputError(f"{spec}: not a result document (schema undone.scan/1)")
        return doc
    from scanner import history

    with history.open_history(hist_path, create=False) as h:
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
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def report(scan_id: str | None, date_from: str | None, date_to: str | None,
           diff: tuple[str, str] | None, list_scans: bool, fmt: str, output: str | None,
           db_path: str | None, pretty: bool, debug: bool) -> None:
    """Render a report from the history.

    With SCAN_ID (default: the latest scan), that scan's report, rebuilt from the history.
    With --from/--to, the contract-period report for a renewal meeting: compliance per control,
    findings opened and closed, mean time to remediate, SLA breaches per month, and each host's
    maintenance timeline. With --diff OLD NEW, what changed between two scans.
    """
    raise SystemExit(_guard(_report, debug, scan_id, date_from, date_to, diff or None,
                            list_scans, fmt, output, db_path, pretty))


def _report(scan_id: str | None, date_from: str | None, date_to: str | None,
            diff: tuple[str, str] | None, list_scans: bool, fmt: str, output: str | None,
            db_path: str | None, pretty: bool) -> int:
    from scanner import history

    modes = [m for m, on in (("SCAN_ID", scan_id), ("--from/--to", date_from or date_to),
                             ("--diff", diff), ("--list", list_scans)) if on]
    if len(modes) > 1:
        raise InputError(f"{' and '.join(modes)}: give only one of SCAN_ID, --from/--to, "
                         "--diff and --list")
    color = None if output is None and sys.stdout.isatty() else False
    width = None if output is None else 100
    indent = 2 if pretty or fmt != "json" else None
    buf = io.StringIO()
    if list_scans:
        with history.open_history(db_path, create=False) as h:
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
    if (date_from or date_to or diff) and fmt in ("csv", "junit"):
        raise InputError(f"--format {fmt}: only for the report of one scan; the period report "
                         "and the diff are console, html, markdown or json")
    if date_from or date_to:
        from reports import period

        start, end = _date(date_from, "--from"), _date(date_to, "--to")
        with history.open_history(db_path, create=False) as h:
            pdoc = h.period(start, end)
        period.render(pdoc, buf, fmt, color=color, width=width, indent=indent)
    elif diff:
        from reports import diff as diff_mod

        old, new = (_load_doc(spec, db_path) for spec in diff)
        diff_mod.render(diff_mod.build(old, new), buf, fmt, color=color, width=width,
                        indent=indent)
    else:
        with history.open_history(db_path, create=False) as h:
            doc = h.document(scan_id)
        buf.write(_render(doc, fmt, output, pretty))
    _emit(buf.getvalue(), output)
    return 0


@cli.group()
def evidence() -> None:
    """Evidence bundles: signed copies of a scan and everything it was judged against."""


@evidence.command("verify")
@click.argument("bundle", type=click.Path())
@click.option("--public-key", type=click.Path(dir_okay=False),
              help="The signer's public key (PEM or OpenSSH). Without it the key inside the "
                   "bundle is used, which proves integrity but not who signed.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def evidence_verify(bundle: str, public_key: str | None, debug: bool) -> None:
    """Check BUNDLE's signature and every file against its manifest; name any file that
    changed. Exit 0 intact, 1 something changed, 2 not a bundle or a bad key."""
    raise SystemExit(_guard(_evidence_verify, debug, bundle, public_key))


def _evidence_verify(bundle: str, public_key: str | None) -> int:
    from scanner import evidence as ev

    key = ev.load_public_key(public_key) if public_key else None
    verdict = ev.verify(bundle, key)
    for line in ev.report_lines(bundle, verdict):
        click.echo(clean(line), err=not verdict.ok)
    return 0 if verdict.ok else 1


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


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="undone", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_BAD_INPUT
    return 0
