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
    except (UndoneError, Exception) as e:  # noqa: BLE001 - the one place a bug becomes a line
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
@click.option("--format", "-f", "fmt", type=click.Choice(["console", "json"]), default="console",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to this file instead of standard output.")
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
         output: str | None, host_list: tuple[str, ...], concurrency: int, timeout: float,
         connect_timeout: float, section_timeout: int, trust_on_first_use: bool,
         known_hosts: str | None, waivers_file: str | None, quiet: bool, pretty: bool,
         debug: bool) -> None:
    """Scan the hosts of INVENTORY_FILE (or, without one, this machine)."""
    code = _guard(_scan, debug, inventory_file, baseline_specs, fmt, output, host_list,
                  concurrency, timeout, connect_timeout, section_timeout, trust_on_first_use,
                  known_hosts, waivers_file, quiet, pretty)
    raise SystemExit(code)


def _scan(inventory_file: str | None, baseline_specs: tuple[str, ...], fmt: str,
          output: str | None, host_list: tuple[str, ...], concurrency: int, timeout: float,
          connect_timeout: float, section_timeout: int, trust_on_first_use: bool,
          known_hosts: str | None, waivers_file: str | None, quiet: bool, pretty: bool) -> int:
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
    progress = None if quiet else _progress(sys.stderr)
    doc = scan_mod.run(inv, bls, opts, on_host=progress, host_filter=names or None)
    _write(doc, fmt, output, pretty)
    code: int = doc["summary"]["exit_code"]
    return code


def _write(doc: dict[str, Any], fmt: str, output: str | None, pretty: bool) -> None:
    from reports import console, jsonout

    buf = io.StringIO()
    if fmt == "json":
        jsonout.render(doc, buf, indent=2 if pretty else None)
    else:
        color = None if output is None and sys.stdout.isatty() else False
        console.render(doc, buf, color=color, width=None if output is None else 100)
    text = buf.getvalue()
    if output:
        tmp = f"{output}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, output)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


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


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="undone", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_BAD_INPUT
    return 0
