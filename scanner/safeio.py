"""Writing an output without destroying what is at the path, and without following links.

Every file undone writes (reports, result documents, the folder index, evidence bundles, the
lifecycle catalogue, installed units) goes through :func:`write_file` or :func:`replacing`:

- what is at the path must be a regular file or nothing: a device (``-o /dev/null`` as root), a
  FIFO, a socket, a folder or a symbolic link is refused with one line (:class:`InputError`,
  exit 2), never replaced;
- the data is written to a temporary file made by :func:`tempfile.mkstemp` in the target's own
  folder (an unpredictable name, opened ``O_CREAT | O_EXCL | O_NOFOLLOW``, mode 0600), flushed,
  then moved over the target with :func:`os.replace`, so a reader never sees half a file and a
  link planted under a guessable temporary name is never followed;
- the file is created with the mode asked for (0600 unless told otherwise: reports and result
  documents hold a client's data).

:func:`check_output` runs the same checks **before** a scan starts, and also refuses an output
that is one of the run's own inputs or its history (``-o`` naming the ``--db`` file, its WAL,
its lock, the inventory), and a folder that is missing or cannot be written, so that a long scan
never ends in "cannot write the report".

:func:`open_new` creates one new file (``O_EXCL | O_NOFOLLOW``) for writers that fill a fresh
folder (the evidence bundle as a folder); :func:`private_dir` makes a folder (mode 0700) and
refuses a link in its place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from scanner.errors import InputError

PRIVATE = 0o600


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _strerror(e: OSError) -> str:
    return e.strerror or str(e)


def refuse_unless_regular(path: str, what: str) -> os.stat_result | None:
    """The ``lstat`` of ``path`` when it is a regular file, None when nothing is there; anything
    else (a link, a device, a FIFO, a folder) raises :class:`InputError`."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise InputError(f"{what} {path}: {_strerror(e)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} {path}: is {_kind(st.st_mode)}; undone writes only to a new "
                         "file or replaces a regular file (give another path)")
    return st


def _same(a: str, b: str) -> bool:
    if os.path.abspath(a) == os.path.abspath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def history_files(db: str) -> list[str]:
    """The files that make up a history: the database, its WAL and shared memory, its lock."""
    return [db, f"{db}-wal", f"{db}-shm", f"{db}-journal", f"{db}.lock"]


def check_folder_writable(folder: str, what: str) -> None:
    """Refuse, before any work, a folder that does not exist or cannot be written (a read-only
    file system, no permission): a file is created there and removed again."""
    folder = folder or "."
    if not os.path.isdir(folder):
        raise InputError(f"{what}: folder {folder} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".undone-probe-")
    except OSError as e:
        raise InputError(f"{what}: cannot write in {folder}: {_strerror(e)}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_output(path: str, what: str = "--output",
                 protect: Iterable[tuple[str, str]] = ()) -> None:
    """Everything :func:`write_file` would refuse, checked before a scan: ``path`` is a regular
    file or absent, is none of ``protect`` ((path, what it is) pairs: the history, the
    inventory, ...), and its folder exists and can be written."""
    for other, role in protect:
        if other and _same(path, other):
            raise InputError(f"{what} {path}: is {role}; give another path for the output")
    refuse_unless_regular(path, what)
    check_folder_writable(os.path.dirname(os.path.abspath(path)), f"{what} {path}")


@contextlib.contextmanager
def replacing(path: str, what: str = "output", mode: int = PRIVATE) -> Iterator[IO[bytes]]:
    """A binary file to fill; when the block ends without an exception it replaces ``path``
    (see the module's docstring), else it is removed and ``path`` is left as it was."""
    refuse_unless_regular(path, what)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                   suffix=".tmp")
    except OSError as e:
        raise InputError(f"{what} {path}: cannot write in {folder}: {_strerror(e)}") from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        refuse_unless_regular(path, what)  # nothing planted while we wrote
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_file(path: str, data: bytes | str, what: str = "output", mode: int = PRIVATE) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` safely: see the module's docstring."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with replacing(path, what, mode) as f:
        f.write(raw)


def open_new(path: str, mode: int = PRIVATE) -> IO[bytes]:
    """A new file at ``path`` for writing: never an existing file, never through a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, mode)
    return os.fdopen(fd, "wb")


def private_dir(path: str, mode: int = 0o700) -> None:
    """Make ``path`` (and missing parents) a folder; an existing link or non-folder there is
    refused, an existing folder is kept as it is."""
    missing = []
    probe = os.path.abspath(path)
    while not os.path.lexists(probe):
        missing.append(probe)
        probe = os.path.dirname(probe)
    try:
        for folder in reversed(missing):  # every folder made here gets the mode, not only the last
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder, mode)
    except OSError as e:
        raise InputError(f"{path}: cannot create the folder: {_strerror(e)}") from None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is {_kind(st.st_mode)}, expected a folder")


def read_regular(path: str, limit: int) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them: a folder, a device
    (``/dev/zero``) or a FIFO (which would hang) is refused with one line, as is a larger file.
    An unreadable path raises :class:`OSError` for the caller to word."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: is {_kind(st.st_mode)}, expected a file")
        if st.st_size > limit:
            raise InputError(f"{path}: file too large (limit {limit} bytes)")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise InputError(f"{path}: file too large (limit {limit} bytes)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def open_nofollow(path: str, flags: int, mode: int = PRIVATE) -> int:
    """``os.open`` that refuses a symbolic link at ``path`` and anything but a regular file."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputError(f"{path}: is a symbolic link; refusing to follow it") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise InputError(f"{path}: is {_kind(st.st_mode)}, expected a regular file")
    return fd
