"""posix.backup: recorded outputs (tests/fixtures/posix/backup/SOURCE.md), the environment hook
that carries the secrets, and awkward cases."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from probes.base import Facts, RawSection, split_blocks
from probes.posix import backup as probe

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "posix" / "backup"
SCRIPT = ROOT / "probes" / "posix" / "backup.sh"
PRELUDE = ROOT / "probes" / "posix" / "_prelude.sh"
CASES = sorted(p.stem for p in FIXTURES.glob("*.out"))
SUCCESS = ("backup.last_success_at", "backup.last_success_age_days")


def text(case: str) -> str:
    return (FIXTURES / f"{case}.out").read_text()


def config(case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{case}.config.json").read_text())
    return data


def collected(stdout: str) -> datetime:
    return datetime.fromtimestamp(int(split_blocks(stdout)["clock"].lines()[0]), UTC)


def parse(stdout: str, cfg: dict[str, Any], at: datetime | None = None) -> Facts:
    if at is None:
        try:
            at = collected(stdout)
        except (KeyError, IndexError, ValueError):
            at = datetime(2026, 11, 22, tzinfo=UTC)
    return probe.parse(RawSection("posix.backup", stdout, collected_at=at, config=cfg))


def fixture(case: str) -> Facts:
    return parse(text(case), config(case))


def repo(facts: Facts, index: int = 0) -> dict[str, Any]:
    return dict(facts.values["backup.repositories"][index])


# ------------------------------------------------------------------ the environment hook


def test_environment_carries_secrets_by_reference_and_markers_for_unset() -> None:
    cfg = {
        "backups": [
            {"kind": "restic", "name": "a", "repository": "/srv/r", "password_env": "PW_A"},
            {"kind": "borg", "name": "b", "repository": "ssh://u@h/./b", "password_env": "PW_B"},
            {"kind": "borg", "name": "c", "repository": "/srv/c", "password_env": "PW_C"},
            {"kind": "restic", "name": "d", "repository": "/srv/d", "password_file": "/etc/pw"},
            {"kind": "rsnapshot", "name": "e", "repository": "/snap"},
        ]
    }
    secrets = {"PW_A": "s3cret one", "PW_C": ""}
    env = probe.environment(cfg, secrets.get)
    assert env["UNDONE_BK_N"] == "5"
    assert env["UNDONE_BK_TIMEOUT"] == str(probe.tool_timeout(5)) == "8"
    assert env["UNDONE_BK1_SECRET"] == "s3cret one"
    assert env["UNDONE_BK1_REPO"] == "/srv/r"
    assert env["UNDONE_BK1_KIND"] == "restic"
    # unset and empty variables: a marker, never an empty password, nor the variable's name (a
    # secret written into password_env by mistake would reach the target: issue 15, L4)
    assert "UNDONE_BK2_SECRET" not in env
    assert env["UNDONE_BK2_NOSECRET"] == "password_env"
    assert "UNDONE_BK3_SECRET" not in env
    assert env["UNDONE_BK3_NOSECRET"] == "password_env"
    assert not any("PW_B" in v or "PW_C" in v for v in env.values())
    assert env["UNDONE_BK4_PWFILE"] == "/etc/pw"
    assert "UNDONE_BK4_SECRET" not in env and "UNDONE_BK4_NOSECRET" not in env
    assert env["UNDONE_BK5_KIND"] == "rsnapshot"
    assert all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", k) for k in env)
    assert all(v != "" for v in env.values())


def test_environment_with_no_backups() -> None:
    env = probe.environment({"backups": [], "roles": ["server"]}, lambda _: None)
    assert env == {"UNDONE_BK_N": "0", "UNDONE_BK_TIMEOUT": "20"}


def test_tool_timeout_fits_the_section_limit() -> None:
    assert probe.tool_timeout(0) == probe.tool_timeout(1) == 20
    assert probe.tool_timeout(4) == 10
    assert probe.tool_timeout(32) == 5
    for n in range(1, 33):
        assert 5 <= probe.tool_timeout(n) <= 20


def test_redact_masks_passwords_in_urls() -> None:
    assert probe.redact("rest:https://backup:hunter2@rs.example:8000/host") == (
        "rest:https://backup:***@rs.example:8000/host"
    )
    assert probe.redact("/srv/backup/restic") == "/srv/backup/restic"
    assert probe.redact("ssh://borg@nas.example/./repo") == "ssh://borg@nas.example/./repo"


# --------------------------------------------------------------------- restic, captured


def test_restic_ok() -> None:
    facts = fixture("restic_ok")
    assert facts.errors == {}
    v = facts.values
    assert v["backup.declared"] == 1
    assert v["backup.discovered"] == 0
    assert v["backup.count"] == 1
    r = repo(facts)
    assert r["name"] == "nightly"
    assert r["kind"] == "restic"
    assert r["source"] == "declared"
    assert r["status"] == "ok"
    assert r["error"] is None
    assert r["snapshots"] == 3
    assert r["last_success_age_days"] == 0.8
    assert r["last_attempt_at"] is None and r["last_attempt_result"] is None  # restic keeps none
    assert r["last_check_at"] is None
    assert r["size_bytes"] and r["size_basis"] == "restic stats --mode raw-data"
    assert r["detail"]["hosts"] == ["fixture"]
    assert v["backup.last_success_at"] == r["last_success_at"]
    assert v["backup.last_success_age_days"] == 0.8
    # the backdated snapshots: 40, 8 and 0.8 days before the capture
    first = datetime.fromisoformat(r["first_snapshot_at"].replace("Z", "+00:00"))
    assert round((collected(text("restic_ok")) - first).total_seconds() / 86400) == 40
    assert v["backup.restore_tested_age_days"] == 30.0
    assert v["backup.restore_test_evidence"] == "https://tickets.example/RT-1042"
    assert v["backup.restore_test_basis"] == "inventory-attestation"
    assert v["backup.isolated_copy"] is False


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("restic_wrong_password", "wrong password"),
        ("restic_missing_repo", "repository not found"),
        ("restic_corrupt_config", "panic"),
        ("restic_corrupt_snapshot", "repository damaged: restic could not load 1 snapshot"),
        ("restic_env_unset", "named by this backup's password_env is not set"),
        ("restic_hangs", "timed out after 5 s"),
        ("borg_wrong_passphrase", "wrong passphrase"),
        ("borg_unknown_to_user", "borg has no record of this repository for this user"),
        ("borg_corrupt_config", "repository config has no id"),
        ("timemachine_unmounted_public", "Failed to mount"),
    ],
)
def test_unreadable_repository_is_an_error_never_a_pass(case: str, reason: str) -> None:
    facts = fixture(case)
    r = repo(facts)
    assert r["status"] == "error"
    assert reason in r["error"]
    for name in SUCCESS:
        assert name not in facts.values
        assert reason in facts.errors[name]
        assert r["name"] in facts.errors[name]


def test_restic_corrupt_snapshot_is_caught_although_restic_exits_0() -> None:
    block = split_blocks(text("restic_corrupt_snapshot"))["bk1.snapshots"]
    assert block.rc == 0  # restic's own verdict
    assert repo(fixture("restic_corrupt_snapshot"))["status"] == "error"


# ----------------------------------------------------------------------- borg, captured


def test_borg_ok_with_an_interrupted_run() -> None:
    facts = fixture("borg_ok")
    assert facts.errors == {}
    r = repo(facts)
    assert r["status"] == "ok"
    assert r["snapshots"] == 3  # the checkpoint is not a complete backup
    assert r["last_success_age_days"] == 0.5
    assert r["last_attempt_result"] == "interrupted"
    assert r["last_attempt_at"] > r["last_success_at"]
    assert r["detail"]["checkpoints"] == 1
    assert r["detail"]["append_only"] is False
    assert r["size_bytes"] and r["size_bytes"] % 1024 == 0
    assert r["isolation"] == "separate-credentials"
    assert facts.values["backup.isolated_copy"] is True
    assert facts.values["backup.restore_tested_at"] is None
    assert facts.values["backup.restore_tested_age_days"] is None


def test_borg_offline_copy_that_is_not_attached() -> None:
    facts = fixture("borg_missing_repo")
    assert facts.errors == {}
    r = repo(facts)
    assert r["status"] == "offline"  # declared offline: unreachable is expected
    assert "not found" in r["error"]
    assert facts.values["backup.isolated_copy"] is True
    assert facts.values["backup.last_success_age_days"] is None


def test_missing_repository_not_declared_offline_is_an_error() -> None:
    cfg = config("borg_missing_repo")
    del cfg["backups"][0]["isolation"]
    facts = parse(text("borg_missing_repo"), cfg)
    assert repo(facts)["status"] == "error"
    assert "backup.last_success_age_days" in facts.errors
    assert facts.values["backup.isolated_copy"] is False


def test_isolated_copy_unreadable_is_an_error() -> None:
    cfg = config("borg_wrong_passphrase")
    cfg["backups"][0]["isolation"] = "immutable"
    facts = parse(text("borg_wrong_passphrase"), cfg)
    assert "could not be read" in facts.errors["backup.isolated_copy"]


# ------------------------------------------------------------ rsnapshot and directories


def test_rsnapshot_found_and_dated_directory_declared() -> None:
    facts = fixture("rsnapshot_and_directory")
    assert facts.errors == {}
    v = facts.values
    assert v["backup.declared"] == 1
    assert v["backup.discovered"] == 1
    assert v["backup.count"] == 2
    dumps, snap = repo(facts, 0), repo(facts, 1)
    assert dumps["name"] == "db-dumps" and dumps["kind"] == "directory"
    assert dumps["snapshots"] == 3
    # dated names, not the files' (recent) modification times
    assert dumps["last_success_age_days"] == 1.2
    assert "names" in dumps["detail"]["success_basis"]
    assert snap["source"] == "discovered" and snap["kind"] == "rsnapshot"
    assert snap["snapshots"] == 4
    assert snap["last_success_age_days"] == 0.6  # mtime of daily.0
    assert snap["last_attempt_result"] == "failed"
    assert v["backup.last_success_age_days"] == 0.6  # the freshest of the two
    assert v["backup.restore_tested_age_days"] == 120.0
    assert v["backup.restore_test_evidence"] == "ticket RT-77"


def test_rsnapshot_iso_log_times_are_read_too() -> None:
    out = re.sub(
        r"\[(\d\d)/Nov/2026:(\d\d:\d\d:\d\d)\]", r"[2026-11-\1T\2]", text("rsnapshot_and_directory")
    )
    assert out != text("rsnapshot_and_directory")
    r = repo(parse(out, config("rsnapshot_and_directory")), 1)
    assert r["last_attempt_result"] == "failed"
    assert r["last_attempt_at"] == repo(fixture("rsnapshot_and_directory"), 1)["last_attempt_at"]


def test_no_backup_at_all() -> None:
    facts = fixture("none")
    assert facts.errors == {}
    assert facts.values == {
        "backup.declared": 0,
        "backup.discovered": 0,
        "backup.count": 0,
        "backup.repositories": [],
        "backup.last_success_at": None,
        "backup.last_success_age_days": None,
        "backup.restore_tested_at": None,
        "backup.restore_tested_age_days": None,
        "backup.restore_test_evidence": None,
        "backup.restore_test_basis": None,
        "backup.isolated_copy": False,
    }


# ------------------------------------------------------------ PBS, Veeam, Time Machine


def test_pbs_from_its_api_type() -> None:
    facts = fixture("pbs_constructed")
    assert facts.errors == {}
    r = repo(facts)
    assert r["snapshots"] == 2
    assert r["last_success_at"] == "2025-03-02T01:00:00Z"
    assert r["last_success_age_days"] == 0.3
    assert r["size_bytes"] == 2151677952
    assert r["detail"]["protected"] == 1
    assert r["detail"]["groups"] == ["host/web01"]
    assert r["repository"] == "backup@pbs@pbs.example:store1"
    assert facts.values["backup.isolated_copy"] is True


def test_veeam_sessions_read_leniently_and_never_guessed() -> None:
    facts = fixture("veeam_constructed")
    r = repo(facts)
    assert r["status"] == "ok"
    assert r["snapshots"] == 1
    assert r["last_success_at"] == "2025-03-01T02:09:00Z"
    assert r["last_attempt_at"] == "2025-03-02T02:00:00Z"
    assert r["last_attempt_result"] == "failed"
    assert "unverified" in r["detail"]["format"]
    out = text("veeam_constructed").replace("Success", "Done").replace("Failed", "Bad")
    r = repo(parse(out, config("veeam_constructed")))
    assert r["status"] == "error"
    assert "no session recognised" in r["error"]


def test_time_machine_from_public_output() -> None:
    facts = fixture("timemachine_public")
    assert facts.errors == {}
    r = repo(facts)
    # 2011-08-26-104514 in the Mac's local time (-0700)
    assert r["last_success_at"] == "2011-08-26T17:45:14Z"
    assert r["snapshots"] == 7
    assert r["first_snapshot_at"] == "2011-07-04T19:03:52Z"
    assert r["detail"]["destination_kinds"] == ["Local"]


def test_time_machine_disk_not_mounted_is_offline_when_declared_so() -> None:
    cfg = config("timemachine_unmounted_public")
    cfg["backups"][0]["isolation"] = "offline"
    facts = parse(text("timemachine_unmounted_public"), cfg)
    assert repo(facts)["status"] == "offline"
    assert facts.values["backup.isolated_copy"] is True


def test_settings_the_engine_could_not_build_make_every_declared_backup_an_error() -> None:
    out = text("none").replace(
        "@@block discovered\n",
        "@@block config_error\nValueError: bad repository\n\n@@rc 0\n@@block discovered\n",
    )
    facts = parse(out, config("restic_ok"))
    r = repo(facts)
    assert r["status"] == "error"
    assert "could not be built: ValueError: bad repository" in r["error"]
    assert "backup.last_success_age_days" in facts.errors


def test_kinds_not_read_here() -> None:
    cfg = {"backups": [{"kind": "windows-server-backup", "name": "wsb"}]}
    out = "@@block clock\n1\n+0000\n\n@@rc 0\n@@block bk1.meta\nkind windows-server-backup\n" \
          "secret none\n\n@@rc 0\n@@block discovered\n0\n\n@@rc 0\n@@block end\n\n@@rc 0\n"
    r = repo(parse(out, cfg))
    assert r["status"] == "error" and "Windows sections" in r["error"]


# ------------------------------------------------------------------------------------ all


@pytest.mark.parametrize("stdout", ["", "garbage\n", "@@block clock\n1\n", "\x00\xff"])
def test_empty_garbage_or_cut_output_gives_only_errors(stdout: str) -> None:
    facts = parse(stdout, config("restic_ok"), datetime(2026, 11, 22, tzinfo=UTC))
    assert facts.values == {}
    assert set(facts.errors) == set(probe.PROVIDES)


@pytest.mark.parametrize("case", CASES)
def test_truncation_never_changes_a_value(case: str) -> None:
    full_text = text(case)
    at = collected(full_text)
    full = parse(full_text, config(case), at).values
    lines = full_text.split("\n")
    for i in range(0, len(lines), max(1, len(lines) // 40)):
        cut = parse("\n".join(lines[:i]), config(case), at)
        for name, value in cut.values.items():
            assert full[name] == value, (case, i, name)


@pytest.mark.parametrize("case", CASES)
def test_fact_names_and_no_secret_in_any_output(case: str) -> None:
    facts = fixture(case)
    assert all(re.fullmatch(r"backup\.[a-z0-9_]+", n) for n in probe.PROVIDES)
    assert set(facts.values) | set(facts.errors) == set(probe.PROVIDES)
    for secret in ("fixture-restic-Pa55", "fixture-borg-Pa55"):
        assert secret not in text(case)
        assert secret not in json.dumps(facts.values) + json.dumps(facts.errors)


# ------------------------------------------------------------------------------ the script


def test_script_is_posix_sh_read_only_and_passes_shellcheck() -> None:
    script = SCRIPT.read_text()
    assert script.startswith("# undone section posix.backup:")
    assert "Privilege:" in script[:2500]
    code = "\n".join(ln for ln in script.split("\n") if not ln.lstrip().startswith("#"))
    # the tools only read; check/prune/forget/create/info never run
    assert "--no-lock --no-cache" in code
    assert "--bypass-lock" in code
    assert "BORG_SELFTEST=disabled" in code
    for verb in ("check", "prune", "forget", "create", "delete", "unlock", "init", "compact",
                 "rebuild-index", "info", "mount", "break-lock"):
        assert not re.search(rf"\b(restic|borg|_bk_restic_run \S+|_bk_borg_run \S+)\s+{verb}\b",
                             code), verb
    # secrets are never printed and never placed on a command line
    for line in code.split("\n"):
        if re.search(r"_bk_pw\b|_bk_s\$|_SECRET", line) and "printf" in line:
            pytest.fail(f"a line prints a secret: {line.strip()}")
    assert not re.search(r"(restic|borg|proxmox-backup-client)[^\n]*(\$_bk_pw|\$_bk_repo)", code)
    for command in ("rm", "touch", "tee", "mktemp", "mkdir", "cp", "mv", "chmod", "chown"):
        assert not re.search(rf"(^|[;&|(]|\s){command}\s", code), command
    subprocess.run(["sh", "-n", str(SCRIPT)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    subprocess.run(["shellcheck", "-s", "sh", str(SCRIPT)], check=True)


def _tool_dir(tmp_path: Path, names: list[str]) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in names:
        found = shutil.which(name)
        assert found, name
        os.symlink(found, bin_dir / name)
    return bin_dir


def test_watchdog_ends_a_hanging_tool_where_the_target_has_no_timeout(tmp_path: Path) -> None:
    # a PATH with no `timeout`: the script's own watchdog must end the hanging restic
    bin_dir = _tool_dir(tmp_path, ["sh", "sleep", "date", "sed", "head", "tail", "cat", "stat",
                                   "uname", "grep", "tr"])
    (bin_dir / "restic").write_text("#!/bin/sh\nexec sleep 300\n")
    (bin_dir / "restic").chmod(0o755)
    body = PRELUDE.read_text() + "\n" + SCRIPT.read_text()
    cfg = {"backups": [{"kind": "restic", "name": "r", "repository": "/nowhere",
                        "password_env": "PW"}]}
    env = {"PATH": str(bin_dir), "LC_ALL": "C", "HOME": str(tmp_path)}
    env.update(probe.environment(cfg, {"PW": "pw"}.get))
    env["UNDONE_BK_TIMEOUT"] = "2"
    t0 = time.monotonic()
    proc = subprocess.run([str(bin_dir / "sh"), "-c", body], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    elapsed = time.monotonic() - t0
    assert elapsed < 15, elapsed
    blocks = split_blocks(proc.stdout)
    assert blocks["bk1.snapshots"].rc == 124
    facts = parse(proc.stdout, cfg)
    assert "timed out after 2 s" in repo(facts)["error"]


# ------------------------------------------------ public outputs (SOURCE.md, "Public outputs")


def _public(case: str) -> dict[str, Any]:
    text = (FIXTURES / f"{case}.out").read_text()
    cfg = json.loads((FIXTURES / f"{case}.config.json").read_text())
    facts = probe.parse(RawSection("posix.backup", text, config=cfg,
                                   collected_at=datetime(2026, 12, 7, tzinfo=UTC)))
    assert not facts.errors, facts.errors
    found = facts.values["backup.repositories"]
    assert len(found) == 1
    return dict(found[0])


def test_restic_documentation_snapshots_pretty_printed_with_offsets() -> None:
    """restic's manual shows ``snapshots --json | jq .``: several lines, times with a +01:00
    offset and nanoseconds. Before, a JSON document over several lines was "unexpected output"."""
    r = _public("public_restic_doc_snapshots")
    assert r["status"] == "ok" and r["snapshots"] == 2
    assert r["first_snapshot_at"] == "2017-03-11T08:57:43Z"
    assert r["last_success_at"] == "2017-03-11T08:58:57Z"


def test_borg_documentation_list_json() -> None:
    r = _public("public_borg_doc_list")
    assert r["status"] == "ok" and r["snapshots"] == 1
    assert r["last_success_at"] == "2017-08-07T12:27:20Z"  # borg 1.x writes UTC under TZ=UTC


def test_restic_snapshots_on_one_line_longer_than_a_parsed_line() -> None:
    """restic prints all snapshots on one line: JSON is read from the block's whole text, never
    from lines cut at MAX_LINE (a repository with hundreds of snapshots)."""
    text = (FIXTURES / "restic_ok.out").read_text()
    cfg = json.loads((FIXTURES / "restic_ok.config.json").read_text())
    start = text.index("@@block bk1.snapshots\n") + len("@@block bk1.snapshots\n")
    end = text.index("\n@@rc", start)
    snaps = json.loads(text[start:end].strip())
    many = [dict(snaps[0], id=f"{i:064x}", time=f"2026-10-{1 + i % 28:02d}T00:00:00Z")
            for i in range(400)] + snaps
    line = json.dumps(many)
    assert len(line) > 4096 * 10
    facts = probe.parse(RawSection("posix.backup", text[:start] + line + text[end:], config=cfg,
                                   collected_at=datetime(2026, 12, 7, tzinfo=UTC)))
    repo = facts.values["backup.repositories"][0]
    assert repo["status"] == "ok" and repo["snapshots"] == 403


# ----------------------------------- second round: restic before 0.11, real rsnapshot logs


def test_restic_before_0_11_prints_null_for_no_snapshots() -> None:
    """restic 0.9/0.10 (Debian 10, Ubuntu 20.04) print ``null`` for a repository without
    snapshots (restic issue #2979). Before, that was "unexpected output", an error where a
    person reads "no snapshots"; now: readable, no snapshot, so no success to count."""
    r = _public("public_restic_null_empty_repo")
    assert r["status"] == "ok" and r["error"] is None
    assert r["snapshots"] == 0 and r["last_success_at"] is None


def _rsnapshot_found(case: str) -> dict[str, Any]:
    facts = parse(text(case), config(case), datetime(2026, 12, 7, tzinfo=UTC))
    found = [r for r in facts.values["backup.repositories"] if r["kind"] == "rsnapshot"]
    assert len(found) == 1
    return dict(found[0])


def test_rsnapshot_log_of_a_real_installation() -> None:
    """rsnapshot issue #220: a ``sync`` interval, a lockfile ERROR of one run while another ran,
    and the newest line a completed daily run."""
    r = _rsnapshot_found("public_rsnapshot_log_issue220")
    assert (r["last_attempt_at"], r["last_attempt_result"]) == ("2018-12-11T08:29:41Z", "ok")


def test_rsnapshot_log_with_a_config_option_on_its_command_line() -> None:
    """rsnapshot issue #256: ``/usr/bin/rsnapshot -c /etc/rsnapshot.conf daily: started`` (run
    with ``-c``) and verbose lines between. Before, a line with options was not recognised and
    the run that started and never finished was not seen."""
    r = _rsnapshot_found("public_rsnapshot_log_issue256")
    assert r["last_attempt_at"] == "2020-04-14T13:55:28Z"
    assert r["last_attempt_result"] == "running or interrupted"
