"""Small helpers shared by the estate modules: the error type, paths, time and process helpers."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
SCENARIO_DIR = PACKAGE_DIR / "scenarios"
HOST_INIT = PACKAGE_DIR / "host-init.sh"

#: Where estates keep their state, host trees and the template cache (override with
#: ``UNDONE_ESTATE_DIR``). It must be on a filesystem that can hold overlayfs upper directories.
DEFAULT_STATE_DIR = Path("/tmp/undone-estate")

#: The estate subnets are ``10.213.<run id>.0/24``; run ids are ``1..MAX_RUN_ID``.
SUBNET_PREFIX = "10.213"
MAX_RUN_ID = 250


class EstateError(RuntimeError):
    """The estate could not be built, reached or torn down; the message says what and why."""


def state_dir() -> Path:
    return Path(os.environ.get("UNDONE_ESTATE_DIR", str(DEFAULT_STATE_DIR)))


def is_tmpfs(path: Path) -> bool:
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    best = ("", "")
    target = str(path.resolve())
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]):
            best = (point, fields[2])
    return best[1] == "tmpfs"


def data_root() -> Path:
    """Where running estates keep their host trees (override with ``UNDONE_ESTATE_DATA``).

    A tmpfs when there is one (/dev/shm): on this kind of machine the disk takes ~0.1 ms per
    file created or removed, 40 times tmpfs, and a host tree is ~50 files (~0.4 MB of memory).
    """
    env = os.environ.get("UNDONE_ESTATE_DATA")
    if env:
        return Path(env)
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and is_tmpfs(shm):
        return shm / "undone-estate"
    return state_dir() / "data"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def days_before(now: datetime, days: float) -> datetime:
    return (now - timedelta(days=days)).replace(microsecond=0)


def run(
    argv: Sequence[str],
    *,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    check: bool = True,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output; on failure raise :class:`EstateError` with the output."""
    full_env = None
    if env is not None:
        full_env = dict(os.environ)
        full_env.update(env)
    try:
        proc = subprocess.run(
            list(argv),
            input=input_text,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise EstateError(f"{what or argv[0]}: command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise EstateError(f"{what or ' '.join(argv)}: timed out after {timeout:g} s") from exc
    if check and proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()
        raise EstateError(
            f"{what or ' '.join(argv)}: exit {proc.returncode}"
            + (f": {out[-2000:]}" if out else "")
        )
    return proc


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` (making its directory if needed) with file mode ``mode``."""
    data = text.encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def set_mtime(path: Path, moment: datetime) -> None:
    stamp = moment.timestamp()
    os.utime(path, (stamp, stamp), follow_symlinks=False)


def process_start_time(pid: int) -> int | None:
    """The start time (clock ticks after boot) of a live process, or None if it is gone.

    Recorded with every PID the estate starts, so that a later teardown never signals a process
    that merely reuses the number.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            data = handle.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    fields = data[data.rfind(")") + 2 :].split()
    if fields and fields[0] == "Z":
        return None
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int, start_time: int | None) -> bool:
    current = process_start_time(pid)
    return current is not None and (start_time is None or current == start_time)
