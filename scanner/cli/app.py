"""The ``undone`` command line. The only place exceptions become messages and exit codes.

Exit codes (DESIGN.md §3): 0 every rule passed or is waived; 1 at least one ``fail``; 2 bad usage
or invalid input (nothing scanned); 3 no ``fail`` but the scan is incomplete; 4 an internal error
(a bug: one line, ``--debug`` for the traceback); 5 another scan of the same estate is running
(scanner/ops/lock.py; nothing scanned). ``evidence verify`` gives 3 for a bundle that is intact but
whose signer no trusted key vouches for; a closed standard output (``undone rules | head``) ends
a command quietly with 141 (128 + SIGPIPE, as the shells report it). Usage errors are one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

import click

from reports import clean
from scanner import __version__, inventory, yamlio
from scanner.cli.advisories import advisories_group
from scanner.cli.applications import applications_group
from scanner.cli.boundary import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_UNVERIFIED,
)
from scanner.cli.boundary import guard as _guard
from scanner.cli.boundary import quiet_stdout as _quiet_stdout
from scanner.cli.inventory import inventory_cmd
from scanner.cli.lifecycle import lifecycle_group
from scanner.cli.report import report
from scanner.cli.scan import _load_waivers, scan
from scanner.engine.transports import one_line
from scanner.errors import InputError
from scanner.ops import envpolicy
from scanner.rules import baselines


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="undone")
def cli() -> None:
    """undone: what your IT support provider has left undone.

    Scans the machines in an inventory (or this machine) against Cyber Essentials-style
    baselines and reports each gap, who owns it, and since when.
    """


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
    from scanner.ops import schedule as sched

    if os.path.isdir(inventory_path):
        from scanner.ops import estates as multi

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
    from scanner.ops import evidence as ev
    from scanner.ops import evidence_verify

    keys = ev.load_public_keys(public_key) if public_key else []
    verdict = evidence_verify.verify(bundle, trusted=keys)
    for line in evidence_verify.report_lines(bundle, verdict):
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
    from scanner.ops import evidence as ev

    priv, pub = ev.keygen(key_file)
    key = ev.load_private_key(priv)
    click.echo(f"{clean(priv)}: private key (keep it safe); {clean(pub)}: public key; "
               f"fingerprint {ev.fingerprint(key.public_key())}")
    return 0


# the commands that live in modules of their own
for _command in (scan, report, inventory_cmd, advisories_group, applications_group,
                 lifecycle_group):
    cli.add_command(_command)


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
