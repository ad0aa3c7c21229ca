"""`undone schedule`: systemd service + timer text checked by systemd's own tools where they
are installed (`systemd-analyze verify` and `calendar`; no service is started), crontab lines
checked field by field and by `sh -n`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scanner import schedule
from scanner.cli import main

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed "
                                   "(apt-get install systemd; nothing needs to run)")
INVENTORY = "all:\n  hosts:\n    h1: {transport: local}\n"


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    p = tmp_path / "acme dental.yaml"  # a space: quoting must hold
    p.write_text(INVENTORY)
    return p


def _verify(folder: Path, *units: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, "verify", *map(str, units)], cwd=folder,
                          capture_output=True, text=True, timeout=60)


@needs_analyze
@pytest.mark.parametrize("every", schedule.CADENCES)
def test_on_calendar_is_what_systemd_reads(every: str) -> None:
    expr = schedule.on_calendar(every, (2, 30), "wed")
    assert ANALYZE is not None
    p = subprocess.run([ANALYZE, "calendar", expr], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    normalized = re.search(r"Normalized form: (.+)", p.stdout)
    assert normalized is not None and normalized.group(1).strip() == expr
    want = {"hourly": ":30:00", "daily": " 02:30:00", "weekdays": "Mon..Fri",
            "weekly": "Wed ", "monthly": "-01 02:30:00"}[every]
    assert want in expr


@pytest.mark.parametrize(("every", "fields"), [
    ("hourly", "30 * * * *"), ("daily", "30 2 * * *"), ("weekdays", "30 2 * * 1-5"),
    ("weekly", "30 2 * * 3"), ("monthly", "30 2 1 * *")])
def test_cron_fields(every: str, fields: str) -> None:
    assert schedule.cron_schedule(every, (2, 30), "wed") == fields
    assert schedule.cron_schedule("weekly", (2, 30), "sun").endswith(" 0")


@needs_analyze
@pytest.mark.parametrize("user", [False, True])
def test_units_pass_systemd_analyze_verify(tmp_path: Path, inv: Path, user: bool,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state 100%"))
    s = schedule.make(str(inv), "weekly", "02:00", "mon", user=user,
                      scan_args=["--baseline", "cyber-essentials", "--max-rate", "5"])
    assert s.name == "undone-acme-dental"
    units = tmp_path / "units"
    paths = [Path(p) for p in schedule.install(s, str(units))]
    assert [p.name for p in paths] == ["undone-acme-dental.service", "undone-acme-dental.timer"]
    p = _verify(units, *paths)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    service = paths[0].read_text()
    assert "Type=oneshot" in service and "SuccessExitStatus=1 3" in service
    assert f'"{inv}"' in service  # the space is quoted
    if user:
        assert '"' + str(tmp_path / "state 100%%" / "undone") in service  # % escaped
        assert "NoNewPrivileges" not in service
    else:
        assert "--db /var/lib/undone/undone-acme-dental.sqlite" in service
        assert "EnvironmentFile=-/etc/undone/undone-acme-dental.env" in service
        assert "StateDirectory=undone" in service and "ProtectSystem=full" in service
    timer = paths[1].read_text()
    assert "OnCalendar=Mon *-*-* 02:00:00" in timer and "Persistent=true" in timer
    assert "WantedBy=timers.target" in timer


@needs_analyze
def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    """The check above is worth something: the same tool refuses a unit with a bad ExecStart."""
    bad = tmp_path / "undone-bad.service"
    bad.write_text("[Service]\nType=oneshot\nExecStart=relative/undone scan\n")
    assert _verify(tmp_path, bad).returncode != 0


def test_cron_line_is_valid_shell_with_percent_escaped(tmp_path: Path) -> None:
    inv = tmp_path / "50% off.yaml"
    inv.write_text(INVENTORY)
    s = schedule.make(str(inv), "daily", "2:05", state_dir=str(tmp_path / "state"))
    line = schedule.cron_line(s)
    fields = line.split(" ", 5)
    assert fields[:5] == ["5", "2", "*", "*", "*"]
    command = fields[5]
    assert "%" not in command.replace("\\%", "")  # cron would cut the line at a bare %
    unescaped = command.replace("\\%", "%")
    assert subprocess.run(["sh", "-n", "-c", unescaped], timeout=30).returncode == 0
    assert "| logger -t undone-50-off" in command
    assert f"--db {tmp_path}/state/undone-50-off.sqlite" in command
    text = schedule.cron_text(s)
    assert text.startswith("# undone-50-off: undone scan of") and "crontab -e" in text


def test_cli_prints_cron_where_systemd_is_absent_and_never_edits_a_crontab(
        inv: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule, "systemd_running", lambda: False)
    calls: list[object] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(a))
    assert main(["schedule", str(inv), "--every", "weekly", "--day", "fri", "--at", "23:45",
                 "--install"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1].startswith("45 23 * * 5 ")
    assert "undone never edits a crontab" in err and calls == []


def test_cli_install_writes_units_once_and_refuses_to_clobber(
        tmp_path: Path, inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    units = tmp_path / "units"
    argv = ["schedule", str(inv), "--every", "daily", "--install", "--unit-dir", str(units)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"wrote {units}/undone-acme-dental.service" in out
    assert "start it: systemctl daemon-reload && systemctl enable --now " \
           "undone-acme-dental.timer" in out
    assert main(argv) == 0  # the same again: fine
    assert main([*argv[:3], "weekly", *argv[4:]]) == 2  # different: refused
    assert "exists and differs; give --force" in capsys.readouterr().err
    assert main([*argv[:3], "weekly", *argv[4:], "--force"]) == 0
    assert "OnCalendar=Mon" in (units / "undone-acme-dental.timer").read_text()


def test_cli_prints_units_and_checks_its_input(tmp_path: Path, inv: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", str(inv), "--systemd", "--name", "nightly",
                 "--", "--concurrency", "4"]) == 0
    out = capsys.readouterr().out
    assert "# /etc/systemd/system/undone-nightly.service" in out
    assert "--concurrency 4" in out and "[Timer]" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("all:\n  hosts:\n    h1: {prot: 22}\n")
    cases = [
        (["schedule", str(bad)], "unknown key 'prot'"),
        (["schedule", str(inv), "--at", "25:00"], "--at '25:00': expected a time of day"),
        (["schedule", str(inv), "--", "--output", "x.html"], "--output: set by the schedule"),
        (["schedule", str(inv), "--", "--concurency", "4"], "No such option"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, (argv, err)


def test_folder_of_inventories_gets_a_folder_for_history_and_reports(tmp_path: Path) -> None:
    folder = tmp_path / "clients"
    folder.mkdir()
    (folder / "acme.yaml").write_text(INVENTORY)
    s = schedule.make(str(folder), "daily", "01:00", state_dir="/srv/undone")
    assert s.folder and s.name == "undone-clients"
    assert s.argv[-4:] == ["--db", "/srv/undone/undone-clients/history", "--output",
                           "/srv/undone/undone-clients/reports"]
    assert "StateDirectory" not in schedule.service_text(s)  # not the default state folder
