"""The local transport: the same batch, run on this machine with ``sh -s``, no SSH."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading

from scanner.engine.batch import Batch
from scanner.engine.transports import Stream, new_stream, pump
from scanner.errors import CollectError
from scanner.inventory import Host


def run(host: Host, batch: Batch, deadline: float, cap: int, total_cap: int,
        cancel: threading.Event | None = None, idle: float | None = None) -> Stream:
    """Run the batch with ``sh -s`` in a session of its own; whatever ends the reading (done,
    time limit, cap, ``cancel``), the whole process group is killed and reaped before
    returning, so no probe shell outlives the host's collection."""
    argv = ["sudo", "-n", "sh", "-s"] if host.become and os.geteuid() != 0 else ["sh", "-s"]
    stream = new_stream(batch, cap, total_cap)
    try:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, the script goes on stdin
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as e:
        raise CollectError(f"cannot start sh: {e.strerror or e}") from None
    if proc.stdin is None or proc.stdout is None or proc.stderr is None:  # pragma: no cover
        raise CollectError("cannot open pipes to sh")
    try:
        proc.stdin.write(batch.script.encode("utf-8"))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    os.set_blocking(out_fd, False)
    os.set_blocking(err_fd, False)

    def reader(fd: int) -> bytes | None:
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            return None

    try:
        pump(stream, [out_fd, err_fd], lambda: reader(out_fd), lambda: reader(err_fd), deadline,
             cancel, idle)
    finally:
        # the group, not only sh: a section's tools (find, apt-get) must not outlive it either
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, 9)
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    stream.exit_status = proc.returncode
    stream.connection = {"transport": "local"}
    return stream
