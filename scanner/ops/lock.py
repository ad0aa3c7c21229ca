"""One scan of an estate at a time: an ``fcntl`` lock on a file beside the estate's history.

A timer that fires while last night's scan is still running (a slow site, a hung host) must not
start a second scan of the same estate: the two would record interleaved hosts in one history and
double the load on the client's link. :func:`hold` takes an exclusive, non-blocking ``flock`` on
``<history>.lock`` and keeps it for the scan's life; the kernel drops it when the process ends,
however it ends (a ``SIGKILL`` leaves no stale lock to clean up). The file holds the holder's pid
and start time, so the refusal can say who holds it. It is opened ``O_NOFOLLOW`` (mode 0600):
a symbolic link planted at its predictable name is refused, never followed.

A second scan exits with :data:`EXIT_BUSY` (5) and one line::

    undone: another scan of this estate is running (pid 4242, since 2026-11-22T02:00:03Z;
    lock /var/lib/undone/acme.sqlite.lock); nothing scanned

5 rather than 2: exit 2 says "your input is wrong, fix it", while a busy estate is not a
mistake and needs no one; a cron wrapper or a monitoring check can tell the two apart.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from datetime import UTC, datetime

from scanner import safeio
from scanner.errors import BusyError, InputError

EXIT_BUSY = 5


def path_for(history_path: str) -> str:
    """The lock file of the estate whose history is ``history_path``."""
    return f"{history_path}.lock"


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("ascii", "replace").split()
    except OSError:
        return ""
    pid = next((t[4:] for t in text if t.startswith("pid=")), "")
    since = next((t[6:] for t in text if t.startswith("since=")), "")
    parts = [f"pid {pid}" if pid.isdigit() else "", f"since {since}" if since else ""]
    return ", ".join(p for p in parts if p)


@contextlib.contextmanager
def hold(history_path: str) -> Iterator[str]:
    """Hold the estate's lock for the ``with`` block (yields the lock file's path); raises
    :class:`BusyError` at once if another process holds it."""
    lock_path = path_for(history_path)
    folder = os.path.dirname(os.path.abspath(lock_path))
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        # never through a link planted at the lock's (predictable) name, never a device
        fd = safeio.open_nofollow(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise InputError(f"{lock_path}: cannot open the scan lock: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _holder(fd)
            raise BusyError(
                f"another scan of this estate is running ({who + '; ' if who else ''}"
                f"lock {lock_path}); nothing scanned"
            ) from None
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid={os.getpid()} since={since}\n".encode("ascii"), 0)
        try:
            yield lock_path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
