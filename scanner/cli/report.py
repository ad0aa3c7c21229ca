"""``undone report``: a recorded scan rebuilt from the history (a scan id, ``latest``,
``previous``), a contract period (``--from``/``--to``), the changes between two scans
(``--diff``) or the list of scans, in any report format."""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import click

from reports import FORMATS, clean
from scanner import safeio
from scanner.cli.boundary import guard as _guard
from scanner.cli.write import (
    _emit,
    _inputs_of,
    _render,
)
from scanner.errors import InputError

if TYPE_CHECKING:
    from scanner.result import ResultDocument

REPORT_FORMATS = FORMATS
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


def _read_document(path: str) -> ResultDocument:
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
    # the one boundary where a document comes in as plain JSON: checked above for what the
    # reports read (reports/diff.py's problems), typed from here on
    return cast("ResultDocument", doc)


def _load_doc(spec: str, hist_path: str | None) -> ResultDocument:
    """A result document: a JSON file written by `undone scan --format json`, or a scan in the
    history (its id, a unique prefix of it, `latest` or `previous`)."""
    if os.path.exists(spec):
        return _read_document(spec)
    from scanner.history import store as history

    with history.open_history(hist_path, create=False, readonly=True) as h:
        return h.document(spec)


@click.command()
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
    from scanner.history import store as history

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
