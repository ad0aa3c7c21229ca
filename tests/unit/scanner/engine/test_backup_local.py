"""posix.backup end to end on this machine: real restic and borg repositories made in temporary
directories, scanned through the engine (``scanner.engine.collect.collect_host`` with a local host that
declares them, passwords in the scanner's environment as the inventory names them).

It proves: backdated snapshots give the ages they should; a wrong password, a missing repository
and a hanging tool give that repository an error with the reason, never a pass, while the others
are still read; the password appears nowhere in the host record (facts, errors, evidence
excerpts) and on no process's command line while the scan runs; the repositories and the
scanning user's files are unchanged afterwards (borg's own transient lock files aside).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from probes import sections
from scanner.engine.collect import collect_host
from scanner.engine.options import Options
from scanner.inventory import Contract, Host
from scanner.rules.baselines import load
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.rules.scope import HostView

ROOT = Path(__file__).resolve().parents[4]
RESTIC_PW = "Lc-restic-" + os.urandom(6).hex()
BORG_PW = "Lc-borg-" + os.urandom(6).hex()
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pytestmark = pytest.mark.skipif(
    shutil.which("restic") is None or shutil.which("borg") is None,
    reason="restic and borg are needed for the local end-to-end backup tests",
)


@dataclass
class Repos:
    base: Path
    restic: Path
    borg: Path
    home: Path
    dumps: Path
    now: datetime
    restic_times: list[datetime]
    borg_times: list[datetime]


def _run(argv: list[str], env: dict[str, str]) -> None:
    subprocess.run(argv, check=True, env={"PATH": PATH, **env}, capture_output=True)


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> Repos:
    base = tmp_path_factory.mktemp("backup-local")
    home = base / "home"
    home.mkdir()
    data = base / "data"
    data.mkdir()
    (data / "ledger.csv").write_text("date,amount\n2026-01-01,100\n")
    now = datetime.now(UTC).replace(microsecond=0)
    restic_times = [now - timedelta(days=d) for d in (12, 3, 0.5)]
    borg_times = [now - timedelta(days=d) for d in (9, 2.25)]
    renv = {"RESTIC_PASSWORD": RESTIC_PW, "HOME": str(home), "TZ": "UTC"}
    restic = base / "restic"
    _run(["restic", "init", "-q", "--no-cache", "-r", str(restic)], renv)
    for t in restic_times:
        _run(["restic", "-q", "--no-cache", "-r", str(restic), "backup", "--host", "local",
              "--time", t.strftime("%Y-%m-%d %H:%M:%S"), str(data)], renv)
    benv = {"BORG_PASSPHRASE": BORG_PW, "HOME": str(home), "TZ": "UTC",
            "BORG_SELFTEST": "disabled"}
    borg = base / "borg"
    _run(["borg", "init", "--encryption=repokey", str(borg)], benv)
    for t in borg_times:
        _run(["borg", "create", "--timestamp", t.strftime("%Y-%m-%dT%H:%M:%S"),
              f"{borg}::local-{t:%Y%m%dT%H%M}", str(data)], benv)
    dumps = base / "dumps"
    dumps.mkdir()
    (dumps / f"db-{now - timedelta(days=1):%Y-%m-%d_%H%M}.sql.gz").write_bytes(b"")
    return Repos(base, restic, borg, home, dumps, now, restic_times, borg_times)


def _tree_digest(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


class CmdlineWatch:
    """Reads every process's command line, again and again, while a scan runs."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = [s.encode() for s in secrets]
        self.hits: list[str] = []
        self.polls = 0
        self.seen_sections = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"undone section posix.backup" in cmdline:
                    self.seen_sections = True
                for s in self.secrets:
                    if s in cmdline:
                        self.hits.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
            self.polls += 1
            time.sleep(0.01)

    def __enter__(self) -> CmdlineWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _host(backups: list[dict[str, Any]]) -> Host:
    return Host(name="local1", address="localhost", transport="local", roles=("server",),
                platform="linux", backups=tuple(backups))


def _scan(host: Host, watch: list[str] | None = None) -> tuple[dict[str, Any], CmdlineWatch]:
    section = sections()["posix.backup"]
    w = CmdlineWatch(watch or [])
    with w:
        rec = collect_host(host, [section], Options(timeout=120, section_timeout=60))
    return rec, w


def _results(rec: dict[str, Any]) -> dict[str, str]:
    rules = [r for b in load() for r in b.rules if "posix.backup" in r.requires]
    params: dict[str, Any] = {}
    for b in load():
        params.update(b.params)
    view = HostView(name=rec["name"], platform="linux", roles=("server",), reachable=True,
                    error=None, facts=rec["facts"], fact_errors=rec["fact_errors"],
                    sections=rec["sections"])
    return {r["rule"]: r["status"] for r in evaluate_host(view, compile_rules(rules, params),
                                                          Contract())}


def _repo(rec: dict[str, Any], name: str) -> dict[str, Any]:
    found = [r for r in rec["facts"]["backup.repositories"] if r["name"] == name]
    assert len(found) == 1, rec["facts"].get("backup.repositories")
    return dict(found[0])


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, repos: Repos) -> Iterator[None]:
    monkeypatch.setenv("HOME", str(repos.home))  # the scanning user made the backups
    monkeypatch.setenv("UNDONE_TEST_RESTIC_PW", RESTIC_PW)
    monkeypatch.setenv("UNDONE_TEST_BORG_PW", BORG_PW)
    yield


def _declared(repos: Repos) -> list[dict[str, Any]]:
    return [
        {"kind": "restic", "name": "nightly", "repository": str(repos.restic),
         "password_env": "UNDONE_TEST_RESTIC_PW",
         "restore_test": {"date": (repos.now - timedelta(days=20)).date().isoformat(),
                          "evidence": "https://tickets.example/RT-9"}},
        {"kind": "borg", "name": "offsite", "repository": str(repos.borg),
         "password_env": "UNDONE_TEST_BORG_PW", "isolation": "separate-credentials"},
    ]


def _no_secret_anywhere(rec: dict[str, Any]) -> None:
    dump = json.dumps(rec)
    assert RESTIC_PW not in dump
    assert BORG_PW not in dump


def test_real_repositories_backdated_ages_and_no_secret_leak(env: None, repos: Repos) -> None:
    before = {p: _tree_digest(p) for p in (repos.restic, repos.borg)}
    home_before = _tree_digest(repos.home)
    rec, watch = _scan(_host(_declared(repos)), [RESTIC_PW, BORG_PW])
    assert rec["reachable"], rec["error"]
    assert rec["sections"]["posix.backup"]["status"] == "ok", rec["sections"]["posix.backup"]
    facts = rec["facts"]
    assert {k: v for k, v in rec["fact_errors"].items() if k.startswith("backup.")} == {}
    restic, borg = _repo(rec, "nightly"), _repo(rec, "offsite")
    assert restic["status"] == borg["status"] == "ok"
    assert restic["snapshots"] == 3 and borg["snapshots"] == 2
    collected = datetime.fromisoformat(
        rec["sections"]["posix.backup"]["collected_at"].replace("Z", "+00:00"))
    assert restic["last_success_at"] == repos.restic_times[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert borg["last_success_at"] == repos.borg_times[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert restic["first_snapshot_at"] == repos.restic_times[0].strftime("%Y-%m-%dT%H:%M:%SZ")
    expected = round((collected - repos.restic_times[-1]).total_seconds() / 86400, 1)
    assert abs(restic["last_success_age_days"] - expected) <= 0.1
    assert abs(borg["last_success_age_days"] - 2.2) <= 0.1
    assert abs(facts["backup.last_success_age_days"] - 0.5) <= 0.1  # the freshest
    assert facts["backup.restore_test_basis"] == "inventory-attestation"
    assert facts["backup.isolated_copy"] is True
    assert restic["size_bytes"] and borg["size_bytes"]
    # judged: fresh enough for both backup-age rules
    results = _results(rec)
    assert results["PM-BAK-002"] == "pass"
    assert results["PM-BAK-003"] == "pass"
    assert results["PM-BAK-004"] == "pass"
    assert results["PM-BAK-005"] == "pass"
    # the password: not in the record, not on any command line while the scan ran
    _no_secret_anywhere(rec)
    assert watch.polls > 3
    assert watch.hits == []
    # read-only: the repositories are byte-for-byte unchanged, and so are borg's files
    for path, digest in before.items():
        assert _tree_digest(path) == digest, path
    assert _tree_digest(repos.home) == home_before


def test_wrong_password_and_missing_repository_are_errors(env: None, repos: Repos,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDONE_TEST_RESTIC_PW", "not-" + RESTIC_PW)
    backups = [
        *_declared(repos),
        {"kind": "borg", "name": "gone", "repository": str(repos.base / "no-such-borg"),
         "password_env": "UNDONE_TEST_BORG_PW"},
        {"kind": "restic", "name": "unset", "repository": str(repos.restic),
         "password_env": "UNDONE_TEST_NOT_SET"},
    ]
    rec, _ = _scan(_host(backups), [RESTIC_PW, BORG_PW])
    nightly, offsite = _repo(rec, "nightly"), _repo(rec, "offsite")
    gone, unset = _repo(rec, "gone"), _repo(rec, "unset")
    assert nightly["status"] == "error"
    assert "wrong password" in nightly["error"]
    assert offsite["status"] == "ok"  # the scan went on
    assert gone["status"] == "error" and "not found" in gone["error"]
    assert unset["status"] == "error"
    assert "named by this backup's password_env is not set" in unset["error"]
    assert "UNDONE_TEST_NOT_SET" not in unset["error"]  # L4: the name may be the secret
    assert "backup.last_success_age_days" not in rec["facts"]
    reason = rec["fact_errors"]["backup.last_success_age_days"]
    assert "wrong password" in reason and "nightly" in reason
    results = _results(rec)
    assert results["PM-BAK-002"] == "error"
    assert results["PM-BAK-003"] == "error"
    _no_secret_anywhere(rec)
    assert "not-" + RESTIC_PW not in json.dumps(rec)


DRIVER = """
import json, sys
sys.path.insert(0, {root!r})
from probes import sections
from scanner.engine.collect import collect_host
from scanner.engine.options import Options
from scanner.inventory import Host
backups = json.loads(sys.argv[1])
host = Host(name="local1", address="localhost", transport="local", roles=("server",),
            platform="linux", backups=tuple(backups))
rec = collect_host(host, [sections()["posix.backup"]], Options(timeout=120, section_timeout=60))
print(json.dumps(rec))
"""


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare (a private mount namespace)")
def test_hanging_tool_is_an_error_within_the_section_limit(env: None, repos: Repos,
                                                           tmp_path: Path) -> None:
    # a restic that never answers, first in the batch's PATH (/usr/local/bin) in a private mount
    # namespace; four declared backups, so each tool gets tool_timeout(4) = 10 s
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "restic").write_text("#!/bin/sh\nexec sleep 3600\n")
    (fake / "restic").chmod(0o755)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(root=str(ROOT)))
    backups = [
        *_declared(repos),
        {"kind": "directory", "name": "dumps", "repository": str(repos.dumps)},
        {"kind": "restic", "name": "second", "repository": str(repos.restic),
         "password_env": "UNDONE_TEST_RESTIC_PW"},
    ]
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            f'mount --bind {fake} /usr/local/bin && exec "$@"', "wrap",
            sys.executable, str(driver), json.dumps(backups)]
    watch = CmdlineWatch([RESTIC_PW, BORG_PW])
    t0 = time.monotonic()
    with watch:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False,
                              env=dict(os.environ))
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = json.loads(proc.stdout)
    assert rec["sections"]["posix.backup"]["status"] == "ok"  # the section itself finished
    assert elapsed < 60, elapsed  # two hanging calls of 10 s each, well inside the limit
    for name in ("nightly", "second"):
        r = _repo(rec, name)
        assert r["status"] == "error"
        assert "timed out after 10 s" in r["error"]
    assert _repo(rec, "offsite")["status"] == "ok"
    assert _repo(rec, "dumps")["status"] == "ok"
    assert "timed out" in rec["fact_errors"]["backup.last_success_age_days"]
    assert _results(rec)["PM-BAK-003"] == "error"
    _no_secret_anywhere(rec)
    assert watch.seen_sections  # the scan was watched while it ran
    assert watch.hits == []
