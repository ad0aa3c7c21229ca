"""The read loop every shell transport shares (scanner/engine/transports/__init__.py): a host that
sends nothing is stopped as stalled after the idle time, an interrupted scan stops it within
half a second, and errors quoting a target's words stay one line (issue 15, L3)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from probes import sections
from scanner.engine.batch import build
from scanner.engine.transports import INTERRUPTED, Stream, new_stream, one_line, pump


def _stream() -> Stream:
    batch = build([s for n, s in sections().items() if n == "posix.os"])
    return new_stream(batch, 4096, 16384)


def _silent_pipe() -> tuple[int, int]:
    r, w = os.pipe()
    os.set_blocking(r, False)
    return r, w


def _reader(fd: int) -> Callable[[], bytes | None]:
    def read() -> bytes | None:
        try:
            return os.read(fd, 4096)
        except BlockingIOError:
            return None
    return read


def test_a_silent_host_is_stopped_as_stalled_after_the_idle_time() -> None:
    r, w = _silent_pipe()
    stream = _stream()
    t0 = time.monotonic()
    pump(stream, [r], _reader(r), lambda: None, time.monotonic() + 30, idle=0.5)
    assert 0.5 <= time.monotonic() - t0 < 2
    assert stream.error is not None and "sent nothing for 0.5s" in stream.error
    assert not stream.timed_out
    os.close(r)
    os.close(w)


def test_an_interruption_stops_the_read_within_half_a_second() -> None:
    r, w = _silent_pipe()
    stream = _stream()
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    pump(stream, [r], _reader(r), lambda: None, time.monotonic() + 30, cancel)
    assert time.monotonic() - t0 < 0.3 + 0.7
    assert stream.error == INTERRUPTED
    os.close(r)
    os.close(w)


def test_one_line_escapes_every_line_break() -> None:
    text = "a\nb\rc\x0bd\x0ce\x1cf\x85g\u2028h\u2029i"
    out = one_line(text)
    assert out.splitlines() == [out]
    assert out == "a\\nb\\rc\\x0bd\\x0ce\\x1cf\\x85g\\u2028h\\u2029i"
