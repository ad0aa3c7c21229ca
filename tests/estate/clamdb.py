"""Write a ClamAV signature database container with a chosen build time, offline.

The container ``sigtool --build`` writes is a 512-byte text header padded with spaces::

    ClamAV-VDB:<time>:<version>:<signatures>:<f-level>:<MD5 of the rest>:<dsig>:<builder>:<stime>

followed by a gzip'd tar of ``COPYING``, ``<name>.info`` (which repeats the header and lists
every file with its size and SHA-256) and the signature files. Patching the time in the header of
an existing file is not enough (the ``.info`` repeats it: "Corrupted CVD header"), so the whole
container is written here.

- ``.cld`` (what freshclam keeps after applying diffs): ``clamscan --version``, ``freshclam
  --version`` and ``sigtool --info`` show its version and build time; loading it for a scan fails
  (``Digital signature not found``: only ClamAV can sign the ``.info``), and ``sigtool --info``
  exits 1 with ``Verification: Malformed database``.
- ``.cud`` (unsigned, as ``sigtool --build --unsigned`` writes): scanning works and ``sigtool
  --info`` shows the build time (exit 0), but ``--version`` does not read ``.cud`` files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

#: EICAR's MD5, size and an obviously local name: a scan of the EICAR test file finds it
TEST_SIGNATURES = b"44d88612fea8a8f36de82e1278abb02f:68:Estate.Test.EICAR-1.UNOFFICIAL\n"

#: the daily database's version grows by about one a day; anchor used to derive a plausible one
_VERSION_ANCHOR = (datetime(2026, 10, 1, tzinfo=UTC), 27780)


@dataclass(frozen=True)
class ClamDb:
    path: Path
    version: int
    build_time: datetime
    signatures: int


def daily_version(build_time: datetime) -> int:
    anchor_time, anchor_version = _VERSION_ANCHOR
    return max(1, anchor_version + (build_time - anchor_time).days)


def _header_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%d %b %Y %H-%M +0000")


def _tar_gz(members: list[tuple[str, bytes]]) -> bytes:
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def write_database(
    directory: Path,
    build_time: datetime,
    *,
    name: str = "daily",
    fmt: str = "cld",
    version: int | None = None,
    signatures: bytes = TEST_SIGNATURES,
    builder: str = "estate",
    flevel: int = 90,
) -> ClamDb:
    """Write ``<directory>/<name>.<fmt>`` built at ``build_time`` and return what it holds."""
    if fmt not in ("cld", "cud"):
        raise ValueError(f"format must be cld or cud, not {fmt!r}")
    build_time = build_time.astimezone(UTC).replace(second=0, microsecond=0)
    version = version if version is not None else daily_version(build_time)
    count = signatures.count(b"\n")
    stime = int(build_time.timestamp())
    head = f"ClamAV-VDB:{_header_time(build_time)}:{version}:{count}:{flevel}"
    info = (
        f"{head}:X:X:{builder}:{stime}\n"
        f"{name}.hdb:{len(signatures)}:{hashlib.sha256(signatures).hexdigest()}\n"
    ).encode()
    body = _tar_gz(
        [
            ("COPYING", b"Signatures made for the undone test estate.\n"),
            (f"{name}.info", info),
            (f"{name}.hdb", signatures),
        ]
    )
    header = f"{head}:{hashlib.md5(body).hexdigest()}:X:{builder}:{stime}".encode()  # noqa: S324
    path = directory / f"{name}.{fmt}"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header.ljust(512, b" ") + body)
    return ClamDb(path=path, version=version, build_time=build_time, signatures=count)


def freshclam_log(db: ClamDb, name: str = "daily") -> str:
    """A freshclam.log entry for the update that fetched ``db`` (five minutes after its build)."""
    stamp = datetime.fromtimestamp(db.build_time.timestamp() + 300, UTC)
    when = stamp.strftime("%a %b %e %H:%M:%S %Y")
    return (
        "--------------------------------------\n"
        f"ClamAV update process started at {when}\n"
        f"{name}.{db.path.suffix.lstrip('.')} updated (version: {db.version}, "
        f"sigs: {db.signatures}, f-level: 90, builder: estate)\n"
        f"Database updated ({db.signatures} signatures)\n"
    )
