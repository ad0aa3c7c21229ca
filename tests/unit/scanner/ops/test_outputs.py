"""Writing an output never destroys what is at the path (issue 15): a device, a link, a FIFO, a
folder, the history or one of the run's inputs named as the output is refused with one line and
exit 2 before anything is scanned; a missing or read-only output folder is found before the
scan, not after it; every output is created 0600 under an unpredictable temporary name, and no
planted link is followed (L1). These estates are this machine over the local transport."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from scanner import safeio
from scanner.cli.app import main
from scanner.errors import InputError
from scanner.ops import outputs
from tests.unit.scanner.ops.test_notify import BASELINE

ROOT = Path(__file__).resolve().parents[4]
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (device nodes, mounts)")


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("UNDONE_DB", raising=False)
    (tmp_path / "inv.yaml").write_text("all:\n  hosts:\n    h1: {transport: local}\n")
    (tmp_path / "bl.yaml").write_text(BASELINE)
    (tmp_path / "waivers.yaml").write_text("waivers: []\n")
    return tmp_path


def scan(here: Path, *args: str) -> int:
    return main(["scan", str(here / "inv.yaml"), "-b", str(here / "bl.yaml"), "-q", *args])


def scans_in(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as c:
        return int(c.execute("SELECT COUNT(*) FROM scans").fetchone()[0])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(err: str, needle: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert "Traceback" not in err


@ROOT_ONLY
def test_a_device_named_as_output_is_refused_and_stays_a_device(
        here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`-o /dev/null` as root turned /dev/null into a regular file holding a report. The same
    device (1, 3) is made here, so a regression cannot damage the machine's own /dev/null."""
    null = here / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    db = here / "h.sqlite"
    assert scan(here, "--db", str(db), "-o", str(null)) == 2
    one_line(capsys.readouterr().err, f"--output {null}: is a character device")
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert scans_in(db) == 0  # refused before scanning
    assert main(["report", "--db", str(db), "-o", "/dev/null"]) == 2
    assert "is a character device" in capsys.readouterr().err
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


@pytest.mark.parametrize("kind", ["link", "fifo", "folder", "db", "wal", "lock", "inventory",
                                  "waivers", "baseline"])
def test_what_is_at_an_output_path_is_never_replaced(
        here: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = here / "h.sqlite"
    assert scan(here, "--db", str(db), "-o", str(here / "first.txt")) == 0  # a history to keep
    victim = here / "victim.txt"
    victim.write_text("precious\n")
    target = {"db": db, "wal": Path(f"{db}-wal"), "lock": Path(f"{db}.lock"),
              "inventory": here / "inv.yaml", "waivers": here / "waivers.yaml",
              "baseline": here / "bl.yaml"}.get(kind, here / "out")
    if kind == "link":
        target.symlink_to(victim)
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":  # a folder takes the reports; where its report.txt goes is a folder
        (target / "report.txt").mkdir(parents=True)
    elif kind == "wal":
        target.write_bytes(b"")
    kept = {p: digest(p) for p in (db, here / "inv.yaml", here / "bl.yaml", victim,
                                   here / "waivers.yaml") if p.is_file()}
    capsys.readouterr()
    assert scan(here, "--db", str(db), "--waivers", str(here / "waivers.yaml"),
                "-o", str(target)) == 2
    want = {"link": "is a symbolic link", "fifo": "is a FIFO", "folder": "is a folder",
            "db": "is the history (--db)", "wal": "is part of the history (--db)",
            "lock": "is part of the history (--db)", "inventory": "is the inventory",
            "waivers": "is the waivers file", "baseline": "is a baseline"}[kind]
    named = target / "report.txt" if kind == "folder" else target
    one_line(capsys.readouterr().err, f"--output {named}: {want}")
    assert {p: digest(p) for p in kept} == kept
    assert scans_in(db) == 1  # nothing scanned
    if kind == "link":
        assert target.is_symlink()
    elif kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert main(["report", "--db", str(db), "-o", str(db)]) == 2  # the report side too
    one_line(capsys.readouterr().err, f"--output {db}: is the history (--db)")
    assert scans_in(db) == 1


def test_a_missing_output_folder_is_found_before_the_scan(
        here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = here / "h.sqlite"
    assert scan(here, "--db", str(db), "-o", str(here / "nowhere" / "r.html")) == 2
    one_line(capsys.readouterr().err, f"folder {here / 'nowhere'} does not exist")
    assert scans_in(db) == 0  # was: the whole scan ran, was recorded, then exit 4


READ_ONLY_RUN = """
set -e
mount --bind "$1/ro" "$1/mnt"
mount -o remount,ro,bind "$1/mnt"
shift
"$@"
"""


def in_read_only(here: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run undone where ``here/mnt`` is a read-only view of ``here/ro`` (a private mount
    namespace: nothing outside the test sees it)."""
    (here / "ro").mkdir(exist_ok=True)
    (here / "mnt").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDONE_")}
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                           READ_ONLY_RUN, "sh", str(here), sys.executable, "-m", "scanner",
                           *argv], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=env)


@ROOT_ONLY
def test_a_read_only_output_folder_or_evidence_place_is_found_before_the_scan(
        here: Path) -> None:
    db = here / "h.sqlite"
    base = ["scan", str(here / "inv.yaml"), "-b", str(here / "bl.yaml"), "-q", "--db", str(db)]
    p = in_read_only(here, *base, "-o", str(here / "mnt" / "r.html"))
    assert p.returncode == 2, p.stderr
    one_line(p.stderr, "Read-only file system")
    key = here / "k.pem"
    assert main(["evidence", "keygen", str(key)]) == 0
    for target in ("bundle.zip", "bundle", "new/deeper/bundle"):
        p = in_read_only(here, *base, "--signing-key", str(key), "--evidence",
                         str(here / "mnt" / target))
        assert p.returncode == 2, (target, p.stderr)
        one_line(p.stderr, "Read-only file system")
    assert scans_in(db) == 0


def test_outputs_are_private_and_no_planted_link_is_followed(
        here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = here / "victim.txt"
    victim.write_text("precious\n")
    out = here / "report.json"
    # undone 0.1.0 wrote <output>.tmp-<pid> with open(): a link planted there was followed
    Path(f"{out}.tmp-{os.getpid()}").symlink_to(victim)
    db = here / "h.sqlite"
    assert scan(here, "--db", str(db), "-f", "json", "-o", str(out)) == 0
    assert victim.read_text() == "precious\n"
    assert (out.stat().st_mode & 0o777) == 0o600 and out.read_text().startswith("{")
    assert (db.stat().st_mode & 0o777) == 0o600
    assert (Path(f"{db}.lock").stat().st_mode & 0o777) == 0o600
    assert not [p for p in here.iterdir() if p.name.startswith(".report.json.")]  # no leftovers
    assert main(["report", "--db", str(db), "-f", "html", "-o", str(here / "r.html")]) == 0
    assert ((here / "r.html").stat().st_mode & 0o777) == 0o600
    # the lock file's name is predictable too: a link there is refused, never followed
    Path(f"{db}.lock").unlink()
    Path(f"{db}.lock").symlink_to(victim)
    capsys.readouterr()
    assert scan(here, "--db", str(db), "-o", str(here / "again.json")) == 2
    one_line(capsys.readouterr().err, "is a symbolic link; refusing to follow it")
    assert victim.read_text() == "precious\n"


def test_the_helper(tmp_path: Path) -> None:
    """scanner/safeio.py: the one helper every writer uses (reports, evidence, index, units,
    the lifecycle catalogue)."""
    p = tmp_path / "a.txt"
    safeio.write_file(str(p), "one")
    safeio.write_file(str(p), b"two", mode=0o644)
    assert p.read_text() == "two" and (p.stat().st_mode & 0o777) == 0o644
    link = tmp_path / "link"
    link.symlink_to(p)
    with pytest.raises(InputError, match="is a symbolic link"):
        safeio.write_file(str(link), "three")
    with pytest.raises(RuntimeError), safeio.replacing(str(p)) as f:  # a failed writer...
        f.write(b"half")
        raise RuntimeError
    assert p.read_text() == "two" and sorted(x.name for x in tmp_path.iterdir()) == [
        "a.txt", "link"]  # ...leaves the old file and no temporary one
    with pytest.raises(InputError, match="is a folder"):
        safeio.check_output(str(tmp_path), "--output")
    with pytest.raises(InputError, match="is the history"):
        safeio.check_output(str(tmp_path / "x" / ".." / "a.txt"), "--output",
                            [(str(p), "the history")])
    with safeio.open_new(str(tmp_path / "new")) as f:
        f.write(b"x")
    with pytest.raises(FileExistsError):
        safeio.open_new(str(tmp_path / "new"))
    safeio.private_dir(str(tmp_path / "d1" / "d2"))
    assert all((tmp_path / d).stat().st_mode & 0o777 == 0o700 for d in ("d1", "d1/d2"))


# -- several reports from one scan (scanner/ops/outputs.py): which format goes where --

def test_one_format_goes_to_standard_output_or_its_file() -> None:
    assert outputs.plan((), ()) == [("console", None)]
    assert outputs.plan(("json",), ()) == [("json", None)]
    assert outputs.plan(("html",), ("r.html",)) == [("html", "r.html")]


def test_a_file_per_format_in_order(tmp_path: Path) -> None:
    got = outputs.plan(("html", "json", "csv"), ("a.html", "b.json", "c.csv"))
    assert got == [("html", "a.html"), ("json", "b.json"), ("csv", "c.csv")]


def test_a_folder_takes_every_format(tmp_path: Path) -> None:
    got = outputs.plan(("html", "summary", "json"), (str(tmp_path),))
    assert got == [("html", str(tmp_path / "report.html")),
                   ("summary", str(tmp_path / "summary.html")),
                   ("json", str(tmp_path / "result.json"))]
    new = str(tmp_path / "new") + "/"
    pairs = outputs.plan(("csv",), (new,))
    assert pairs == [("csv", new + "results.csv")]
    assert outputs.folder_to_create((new,)) == str(tmp_path / "new")
    assert outputs.folder_to_create((str(tmp_path / "new" / "r.csv"),)) is None  # a typo, refused


@pytest.mark.parametrize(("formats", "outs", "words"), [
    (("html", "json"), (), "several reports need a place each"),
    (("html", "json"), ("a.html",), "given 1 times for 2 formats"),
    (("html", "json"), ("a", "a"), "one file is given for two formats"),
    (("html", "html"), ("a", "b"), "a format is given twice"),
    (("html", "json"), ("a.html", "out/"), "a folder takes every report"),
])
def test_mismatches_are_one_clear_line(formats: tuple[str, ...], outs: tuple[str, ...],
                                       words: str) -> None:
    with pytest.raises(InputError) as e:
        outputs.plan(formats, outs)
    assert len(e.value.problems) == 1 and words in e.value.problems[0]
