"""Transports: how a batch reaches a host and its output comes back.

Each transport takes a host and a :class:`~scanner.engine.batch.Batch`, runs the batch once, and
returns
a :class:`Stream`: the two split output streams, the exit status, and what is known about the
connection (host key fingerprint, whether it was accepted on first use). A host that cannot be
reached raises a :class:`~scanner.errors.CollectError` subclass with a one-line reason.

Which transports an inventory host may name, and how the collector dispatches a host to one, is
in :mod:`scanner.engine.transports.registry`: a new transport is its module here and its entry
there.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scanner.engine.batch import Batch, Splitter

# what str.splitlines() breaks a line at, shown escaped: an error that quotes a target's words
# (a banner, a fault text, a file name) stays one line in logs, the journal and syslog
_LINE_BREAKS = {c: repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
_ONE_LINE = str.maketrans(_LINE_BREAKS)

#: why a host's collection stopped when the scan was interrupted (SIGINT, SIGTERM, SIGHUP)
INTERRUPTED = "the scan was interrupted"


def unset_variable(key: str) -> str:
    """A host's error when the environment variable its ``key`` (``password_env``,
    ``community_env`` ...) names is not set. The name is not repeated: it travels into reports,
    the history and notifications, and a secret written into the key by mistake would travel
    with it (issue 15, L4); the inventory says which variable it is."""
    return (f"the environment variable named by {key} is not set on the scanner (its name is "
            "not repeated here: see the inventory)")


def one_line(text: object) -> str:
    """``text`` as one line: every line break (also U+0085, U+2028, U+2029) escaped."""
    return str(text).translate(_ONE_LINE)


@dataclass
class Stream:
    stdout: Splitter
    stderr: Splitter
    exit_status: int | None = None
    timed_out: bool = False
    error: str | None = None
    connection: dict[str, Any] = field(default_factory=dict)
    stderr_tail: bytes = b""


def new_stream(batch: Batch, cap: int, total_cap: int) -> Stream:
    return Stream(
        Splitter(batch, cap, total_cap), Splitter(batch, cap // 4 or 1, total_cap // 4 or 1)
    )


def pump(
    stream: Stream,
    filenos: list[int],
    read_out: Callable[[], bytes | None],
    read_err: Callable[[], bytes | None],
    deadline: float,
    cancel: threading.Event | None = None,
    idle: float | None = None,
) -> None:
    """Read both streams until the command finishes, the host cap is hit, the deadline passes,
    nothing has come for ``idle`` seconds (the host stalled), or ``cancel`` is set (the scan was
    interrupted: within half a second).

    ``read_out``/``read_err`` return available bytes, ``b""`` at end of stream, or None when
    nothing is ready; ``filenos`` are waited on with select between reads."""
    out_open = err_open = True
    last = time.monotonic()
    while out_open or err_open:
        progressed = False
        if out_open:
            data = read_out()
            if data == b"":
                out_open = False
            elif data:
                stream.stdout.feed(data)
                progressed = True
        if err_open:
            data = read_err()
            if data == b"":
                err_open = False
            elif data:
                stream.stderr.feed(data)
                stream.stderr_tail = (stream.stderr_tail + data)[-2048:]
                progressed = True
        if stream.stdout.over_total:
            stream.error = "output exceeded the host's output cap; the rest was not read"
            break
        why = stream.stdout.over_read or stream.stderr.over_read
        if why:
            stream.error = f"{why}; the rest was not read"
            break
        now = time.monotonic()
        remaining = deadline - now
        if remaining <= 0:
            stream.timed_out = True
            break
        if cancel is not None and cancel.is_set():
            stream.error = INTERRUPTED
            break
        if progressed:
            last = now
        elif idle is not None and now - last > idle:
            stream.error = (f"the host sent nothing for {idle:g}s (stalled; no section runs "
                            "that long without output)")
            break
        if not progressed:
            select.select(filenos, [], [], min(remaining, 0.5))
    stream.stdout.close()
    stream.stderr.close()
