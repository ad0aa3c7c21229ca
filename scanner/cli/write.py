"""Writing reports from the command line: the result document rendered in each format, sent to
its file or to standard output, and the checks that an output path neither destroys one of the
scan's own inputs nor needs a folder that cannot be made."""

from __future__ import annotations

import os
import sys

from scanner import safeio
from scanner.cli.boundary import quiet_stdout as _quiet_stdout
from scanner.errors import InputError
from scanner.ops import outputs
from scanner.result import ResultDocument
from scanner.rules import baselines


def _default_db() -> str:
    from scanner.history import store as history

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


def _render(doc: ResultDocument, fmt: str, output: str | None, pretty: bool,
            verbose: bool = False) -> str:
    """The result document in ``fmt`` (scanner/ops/outputs.py); the console report in colour
    and at the terminal's width when it goes to a terminal."""
    tty = output is None and sys.stdout.isatty()
    return outputs.render(doc, fmt, pretty, verbose, color=None if tty else False,
                          width=None if tty else 110)


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


def _write(doc: ResultDocument, fmt: str, output: str | None, pretty: bool,
           verbose: bool = False) -> None:
    _emit(_render(doc, fmt, output, pretty, verbose), output)


def _write_all(doc: ResultDocument, pairs: list[tuple[str, str | None]], pretty: bool,
               new_folder: str | None = None, verbose: bool = False) -> None:
    """Every report asked for, from the one document (scanner/ops/outputs.py), into
    ``new_folder`` (made here, 0700) when the one --output was a folder still to make."""
    if new_folder:
        safeio.private_dir(new_folder)
    for fmt, output in pairs:
        _write(doc, fmt, output, pretty, verbose)
