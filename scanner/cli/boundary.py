"""The command line's one boundary: where exceptions become messages and exit codes.

Every command runs its work through :func:`guard`: bad input (``InputError``) is one line per
problem and exit 2, a busy estate exit 5, an interruption 130, a closed pipe 141, and anything
else, a bug, one line and exit 4 (``--debug`` prints the traceback). Exit codes are DESIGN.md
§3's, from scanner/vocab.py.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from reports import clean
from scanner.engine.transports import one_line
from scanner.errors import BusyError, InputError, UndoneError
from scanner.vocab import EXIT_BAD_INPUT, EXIT_BUSY, EXIT_INTERNAL

EXIT_UNVERIFIED = 3  # evidence verify: intact, but signed by a key nobody vouched for
EXIT_BROKEN_PIPE = 141  # the reader of standard output went away (128 + SIGPIPE, as the shells)


class Exit(Exception):
    """Leave a command with this exit code (its message already shown)."""

    def __init__(self, code: int) -> None:
        self.code = code


def fail_input(problems: list[str]) -> None:
    for line in problems:
        click.echo(clean(one_line(line)), err=True)
    raise Exit(EXIT_BAD_INPUT)


def quiet_stdout() -> None:
    """After a broken pipe: point standard output at /dev/null, so that nothing written later
    (nor the interpreter's flush at exit) raises again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def guard(fn: Callable[..., int], debug: bool, *args: Any, **kwargs: Any) -> int:
    try:
        return fn(*args, **kwargs)
    except Exit as e:
        return e.code
    except BrokenPipeError:  # `undone rules | head`: the reader has what it wanted
        quiet_stdout()
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


__all__ = ["EXIT_BAD_INPUT", "EXIT_BROKEN_PIPE", "EXIT_BUSY", "EXIT_INTERNAL", "EXIT_UNVERIFIED",
           "Exit", "fail_input", "guard", "quiet_stdout"]
