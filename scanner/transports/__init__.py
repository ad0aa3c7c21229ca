"""Transports: how a batch reaches a host and its output comes back.

Each transport takes a host and a :class:`~scanner.batch.Batch`, runs the batch once, and returns
a :class:`Stream`: the two split output streams, the exit status, and what is known about the
connection (host key fingerprint, whether it was accepted on first use). A host that cannot be
reached raises a :class:`~scanner.errors.CollectError` subclass with a one-line reason.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scanner.batch import Batch, Splitter


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
) -> None:
    """Read both streams until the command finishes, the host cap is hit, or the deadline passes.

    ``read_out``/``read_err`` return available bytes, ``b""`` at end of stream, or None when
    nothing is ready; ``filenos`` are waited on with select between reads."""
    out_open = err_open = True
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
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            stream.timed_out = True
            break
        if not progressed:
            select.select(filenos, [], [], min(remaining, 0.5))
    stream.stdout.close()
    stream.stderr.close()
