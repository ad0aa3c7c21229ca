"""Issue 15 M5: blocks inside a section cannot be forged by data. Real section scripts run on this
machine through the engine (``scanner.engine.collect.collect_host``, local transport, as
tests/unit/scanner/engine/test_backup_local.py does), with hostile names in every listing a probe prints: a
declared backup folder, /etc/sudoers.d, /etc/ssh/sshd_config.d, /etc/cron.d, ClamAV's database
directory, and freshclam's log. A hostile name holds line breaks, tabs, ``@@block``/``@@rc``
marker lines and whole forged listing lines.

Before the fix, one file named ``x\\n@@rc 0\\n@@block bk2.snapshots\\n...`` in a declared backup
folder made another repository's backup read as new. Now the prelude writes every data line that
begins with ``@@`` with one more ``@``, listings show line breaks and tabs as ``?``, a block name
seen twice is an error, and a name that cannot be listed makes what depends on it unknown.

The /etc and /var listings are made in a private mount namespace (``unshare --mount``, then bind
mounts of temporary folders), so this machine's own files never change; those tests need root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from probes import sections
from probes.base import ForgedBlock, split_blocks
from scanner.engine.collect import collect_host
from scanner.engine.options import Options
from scanner.inventory import Host

ROOT = Path(__file__).resolve().parents[3]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FORGED_JSON = (
    '[{"time": "2099-01-01T00:00:00Z", "id": "f0f0", "short_id": "f0f0", "paths": ["data"],'
    ' "hostname": "forged"}]'
)
# names an unprivileged user can create in a folder they can write
HOSTILE = [
    f"x\n@@rc 0\n@@block bk2.snapshots\n{FORGED_JSON}\n@@rc 0\n@@block bk1.tree",
    "y\n4102444800\tdb-2099-12-31_2359.sql.gz",  # a forged listing line (epoch of 2100)
    "@@rc 0",
    "@@block end",
    "tab\there",
]


def _host(backups: list[dict[str, Any]]) -> Host:
    return Host(name="local1", address="localhost", transport="local", roles=("server",),
                platform="linux", backups=tuple(backups))


def _make_hostile(folder: Path, names: list[str] = HOSTILE, age_days: float = 100) -> None:
    """The hostile files, dated ``age_days`` ago (so that only what they forge could look new)."""
    when = (datetime.now(UTC) - timedelta(days=age_days)).timestamp()
    for name in names:
        (folder / name).write_bytes(b"")
        os.utime(folder / name, (when, when))


def test_a_marker_in_the_data_is_escaped_and_unescaped() -> None:
    out = "@@block a\n@@@block b\n@@@@rc 0\nplain\n@@rc 0\n@@block end\n\n@@rc 0\n"
    blocks = split_blocks(out)
    assert set(blocks) == {"a", "end"}
    assert blocks["a"].lines() == ["@@block b", "@@@rc 0", "plain"]
    with pytest.raises(ForgedBlock, match="appears twice"):
        split_blocks("@@block a\n1\n@@rc 0\n@@block a\n2\n@@rc 0\n")


@pytest.mark.skipif(shutil.which("restic") is None, reason="restic is needed")
def test_hostile_names_in_a_backup_folder_forge_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's attack, for real: a declared folder of dated dumps that anybody can write,
    then a root-only restic repository whose newest snapshot is 40 days old."""
    home = tmp_path / "home"
    home.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x")
    now = datetime.now(UTC).replace(microsecond=0)
    pw = "pw-" + os.urandom(6).hex()
    repo = tmp_path / "restic"
    env = {"PATH": PATH, "RESTIC_PASSWORD": pw, "HOME": str(home), "TZ": "UTC"}
    subprocess.run(["restic", "init", "-q", "--no-cache", "-r", str(repo)], env=env, check=True,
                   capture_output=True)
    subprocess.run(["restic", "-q", "--no-cache", "-r", str(repo), "backup", "--time",
                    (now - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S"), str(data)],
                   env=env, check=True, capture_output=True)
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    (dumps / f"db-{now - timedelta(days=3):%Y-%m-%d_%H%M}.sql.gz").write_bytes(b"")
    _make_hostile(dumps)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("UNDONE_TEST_HOSTILE_PW", pw)
    host = _host([
        {"kind": "directory", "name": "dumps", "repository": str(dumps)},
        {"kind": "restic", "name": "nightly", "repository": str(repo),
         "password_env": "UNDONE_TEST_HOSTILE_PW"},
    ])
    rec = collect_host(host, [sections()["posix.backup"]], Options(timeout=120,
                                                                    section_timeout=60))
    section = rec["sections"]["posix.backup"]
    assert section["status"] == "ok", section
    repos = {r["name"]: r for r in rec["facts"]["backup.repositories"]}
    nightly = repos["nightly"]
    assert nightly["status"] == "ok" and nightly["snapshots"] == 1, nightly  # none forged
    assert 39.9 <= nightly["last_success_age_days"] <= 40.1, nightly
    folder = repos["dumps"]
    assert 2.9 <= folder["last_success_age_days"] <= 3.1, (folder, section["stdout"][-3000:])
    assert "2099" not in json.dumps(rec["facts"])
    # the raw output shows the hostile names escaped: nothing starts a line with a bare marker
    raw = section["stdout"]
    assert raw.split("\n").count("@@block bk2.snapshots") == 1  # the real one, none forged
    assert "x?@@rc 0?@@block bk2.snapshots?" in raw and "\t@@rc 0\n" in raw
    assert "y?4102444800?db-2099-12-31_2359.sql.gz" in raw


def test_a_forged_duplicate_block_is_an_error_never_the_last_word() -> None:
    """If some output still repeated a block (a script printing data unescaped), the section's
    facts are errors, not the forged values."""
    text = (ROOT / "tests/fixtures/posix/backup/restic_ok.out").read_text()
    cfg = json.loads((ROOT / "tests/fixtures/posix/backup/restic_ok.config.json").read_text())
    start = text.index("@@block bk1.snapshots")
    end = text.index("@@rc", start)
    forged = f"@@block bk1.snapshots\n{FORGED_JSON}\n"
    from probes.base import RawSection

    facts = sections()["posix.backup"].parse(
        RawSection("posix.backup", text[:end] + "@@rc 0\n" + forged + text[end:], config=cfg)
    )
    assert "backup.repositories" not in facts.values
    assert "appears twice" in facts.errors["backup.repositories"]


# ------------------------------------------------ /etc and /var listings in a mount namespace

_ENGINE = """
import json, os, sys
from probes import sections
from scanner.engine.collect import collect_host
from scanner.engine.options import Options
from scanner.inventory import Host
host = Host(name="local1", address="localhost", transport="local", roles=("server",),
            platform="linux")
names = sys.argv[1].split(",")
rec = collect_host(host, [sections()[n] for n in names], Options(
    timeout=120, section_timeout=60, excerpt=int(os.environ.get("UNDONE_TEST_EXCERPT", 8192))))
print(json.dumps(rec, default=str))
"""


def _in_namespace(mounts: dict[str, Path], names: list[str]) -> dict[str, Any]:
    """Run the engine on ``names`` in a private mount namespace with ``mounts`` bound over the
    machine's folders (which must exist)."""
    binds = " && ".join(f"mount --bind {src} {dst}" for dst, src in mounts.items())
    script = f"{binds} && exec {sys.executable} -c \"$UNDONE_ENGINE\" {','.join(names)}"
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        env={**os.environ, "UNDONE_ENGINE": _ENGINE, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec: dict[str, Any] = json.loads(proc.stdout)
    return rec


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="bind mounts in a private mount namespace need root and unshare",
)


@needs_root
def test_hostile_names_in_etc_listings(tmp_path: Path) -> None:
    sudoers_d = tmp_path / "sudoers.d"
    sudoers_d.mkdir()
    (sudoers_d / "README").write_text("# plain\n")
    # names sudo would read (no dot, no "~"): the rules are unknown, never forged
    for name in ("z\n@@rc 0\n@@block end", "w\n# undone-path: sudoers\n@@rc 2"):
        (sudoers_d / name).write_text("ALL ALL=(ALL) NOPASSWD: ALL\n")
    (sudoers_d / "skipped\nby sudo.bak").write_text("ALL ALL=(ALL) NOPASSWD: ALL\n")
    sshd_d = tmp_path / "sshd_config.d"
    sshd_d.mkdir()
    (sshd_d / "a\n@@rc 0\n@@block end.conf").write_text("PasswordAuthentication yes\n")
    cron_d = tmp_path / "cron.d"
    cron_d.mkdir()
    (cron_d / "e2scrub_all").write_text("# nothing\n")
    evil = "fc\n@@rc 0\n@@block mdatp_health\nreal_time_protection_enabled : true"
    (cron_d / evil).write_text("0 * * * * root freshclam\n")
    for folder in (sudoers_d, sshd_d, cron_d):
        folder.chmod(0o755)
    rec = _in_namespace(
        {"/etc/sudoers.d": sudoers_d, "/etc/ssh/sshd_config.d": sshd_d, "/etc/cron.d": cron_d},
        ["posix.accounts", "posix.sshd", "posix.malware"],
    )
    for name in ("posix.accounts", "posix.sshd", "posix.malware"):
        assert rec["sections"][name]["status"] == "ok", rec["sections"][name]
    errors = rec["fact_errors"]
    # sudo reads the hostile file (no dot in its name); undone cannot list it: unknown
    assert "holds a line break" in errors["sudo.nopasswd"]
    assert "accounts.sudoers_users" not in rec["facts"]
    # no Microsoft Defender forged from a crontab's name
    products = [p["name"] for p in rec["facts"].get("av.products") or []]
    assert "Microsoft Defender for Endpoint" not in products
    lines = rec["sections"]["posix.malware"]["stdout"].split("\n")
    assert "@@block mdatp_health" not in lines  # the name is shown on one line, with "?"
    assert any(ln.startswith("/etc/cron.d/fc?@@rc 0?@@block mdatp_health?") for ln in lines)
    # sshd -T runs as root here when it can; either way nothing was forged
    assert "end.conf" not in json.dumps(rec["facts"].get("sshd.config_files") or [])


@needs_root
def test_hostile_names_and_lines_in_clamav_listings(tmp_path: Path) -> None:
    db = tmp_path / "clamav"
    db.mkdir()
    header = "ClamAV-VDB:22 Nov 2026 00-00 +0000:27831:1:90:x:x:builder:1795305600".ljust(512)
    (db / "daily.cld").write_bytes(header.encode())
    # (a file name cannot hold "/": the forged paths are relative)
    forged = "\n".join(["x", "@@rc 0", "@@block clam_db", "Dir: forged", "File: forged-daily.cld",
                        "Header: ClamAV-VDB:x:99999:1:90:x:x:b:4102444800", "y.cvd"])
    (db / forged).write_bytes(b"junk")
    logs = tmp_path / "log"
    logs.mkdir()
    (logs / "freshclam.log").write_text(
        "ClamAV update process started at Sun Nov 22 00:49:23 2026\n"
        "@@rc 0\n@@block mdatp_health\nreal_time_protection_enabled : true\n"
        "daily.cld database is up-to-date (version: 27831, sigs: 1, f-level: 90, builder: x)\n"
    )
    for p in (db, logs):
        p.chmod(0o755)
    if not Path("/var/log/clamav").is_dir() or not Path("/var/lib/clamav").is_dir():
        pytest.skip("ClamAV's folders are not on this machine")
    rec = _in_namespace({"/var/lib/clamav": db, "/var/log/clamav": logs}, ["posix.malware"])
    assert rec["sections"]["posix.malware"]["status"] == "ok"
    clam = next(p for p in rec["facts"]["av.products"] if p["name"] == "ClamAV")
    assert clam["signature_version"] == "27831", clam  # not the forged 99999
    assert clam["signature_date"] == "2026-11-22T00:00:00Z", clam  # the real header's time
    versions = [d.get("version") for d in clam["detail"]["databases"]]
    assert "99999" not in versions and "27831" in versions
    names = [p["name"] for p in rec["facts"]["av.products"]]
    assert "Microsoft Defender for Endpoint" not in names



# -- earlier notes of issue 15: a missing awk or grep never reads as an empty result -------------

_TOOL_WORD = {t: re.compile(rf"(^|[|;&({{`]|\$\(|then|do|else)\s*{t}\s")
              for t in ("awk", "grep")}


def _uses(script: str, tool: str) -> bool:
    code = "\n".join(ln for ln in script.splitlines() if not ln.lstrip().startswith("#"))
    return bool(_TOOL_WORD[tool].search(code))


@needs_root
@pytest.mark.parametrize("tool", ["awk", "grep"])
def test_a_section_whose_tool_is_missing_is_an_error_never_empty(tmp_path: Path,
                                                                 tool: str) -> None:
    """Every POSIX section script that runs ``awk`` or ``grep`` as a command, run on this
    machine with that tool made unusable (a non-executable file bound over it in a private mount
    namespace: the batch sets its own PATH): the section ends in error (its script names the
    missing tool) and none of its facts has a value. Before, a pipeline into a missing awk
    printed nothing and the section read as "nothing there" (posix.patch_history: no upgrade
    recorded)."""
    variants = {"awk": ("awk", "mawk", "gawk", "nawk", "original-awk"),
                "grep": ("grep", "egrep", "fgrep")}[tool]
    real = {os.path.realpath(p) for v in variants if (p := shutil.which(v, path=PATH))}
    real = {p for p in real if os.path.basename(p) in variants}  # egrep may be a script
    assert real, f"{tool} is not installed here"
    blank = tmp_path / "not-executable"
    blank.write_text("")
    blank.chmod(0o644)
    names = sorted(n for n, s in sections().items()
                   if n.startswith("posix.") and _uses(s.script, tool))
    assert names, f"no section runs {tool}?"
    rec = _in_namespace({p: blank for p in sorted(real)}, names)
    for name in names:
        status, provides = rec["sections"][name], sections()[name].provides
        if status["status"] == "error":  # the script stopped: undone_need
            assert f"needs {tool}, which is not on the target" in status["error"], status
        else:  # the script lists its tools (applications, browsers): the parser sees the gap
            assert all(tool in (rec["fact_errors"].get(f) or "") for f in provides), (
                name, {f: rec["fact_errors"].get(f) for f in provides})
        valued = sorted(f for f in provides if f in rec["facts"])
        assert valued == [], (name, valued)


@needs_root
def test_sudoers_includes_on_garbage_stay_bounded(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Earlier note of issue 15: the include walk of ``accounts.sh`` (``for ... in $(awk ...)``)
    grew without bound on garbage. A sudoers bound over /etc/sudoers in a private mount
    namespace names 20,000 includes (globs, ``$(...)``, long words, files including
    themselves): the walk lists at most 64 files, 32 includes a file and 5 levels, globs are
    never expanded, and the section ends in seconds."""
    import time

    inc = tmp_path / "inc"
    inc.mkdir()
    for i in range(40):  # files that include each other and themselves
        (inc / f"f{i}").write_text("".join(f"#include {inc}/f{j}\n" for j in range(40)))
    words = ["/etc/*", "$(touch /tmp/undone-pwned)", "`id`", "x" * 5000, "/etc/sudoers",
             f"{inc}/f0", "\"/etc/passwd\"", "@includedir /etc"]
    sudoers = tmp_path / "sudoers"
    sudoers.write_text("root ALL=(ALL:ALL) ALL\n" + "".join(
        f"#include {words[i % len(words)]}{i}\n@include {inc}/f{i % 40}\n"
        for i in range(10_000)))
    sudoers.chmod(0o440)
    monkeypatch.setenv("UNDONE_TEST_EXCERPT", str(1 << 24))  # the record keeps all it read
    t = time.monotonic()
    rec = _in_namespace({"/etc/sudoers": sudoers}, ["posix.accounts"])
    took = time.monotonic() - t
    out = rec["sections"]["posix.accounts"]["stdout"]
    blocks = [ln for ln in out.split("\n") if ln.startswith("@@block sudoers.")]
    assert 1 < len(blocks) <= 64, len(blocks)
    assert not os.path.exists("/tmp/undone-pwned")
    assert "/etc/passwd" not in [ln.removeprefix("# undone-path: ") for ln in out.split("\n")]
    assert took < 60, took
