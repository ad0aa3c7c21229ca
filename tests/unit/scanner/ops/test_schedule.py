"""`undone schedule`: systemd service + timer text checked by systemd's own tools where they
are installed (`systemd-analyze verify` and `calendar`; no service is started), crontab lines
checked field by field and by `sh -n`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.cli.app import main
from scanner.errors import InputError
from scanner.ops import schedule

ROOT = Path(__file__).resolve().parents[4]

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
        assert "UMask=0077" in service and "NoNewPrivileges=yes" in service
        assert "ProtectSystem" not in service and "User=" not in service  # a system manager's
    else:
        assert "--db /var/lib/undone/undone-acme-dental.sqlite" in service
        assert "EnvironmentFile=-/etc/undone/undone-acme-dental.env" in service
        assert "StateDirectory=undone" in service and "ProtectSystem=strict" in service
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
    assert s.argv[-6:] == ["--db", "/srv/undone/undone-clients/history", "--output",
                           "/srv/undone/undone-clients/reports", "--known-hosts",
                           "/srv/undone/undone-clients/known_hosts"]
    assert "StateDirectory" not in schedule.service_text(s)  # not the default state folder


# -- least privilege (issue 15, M7), the cron line's exit code and the documentation (issue 16) --

NETWORKS = "networks:\n  - {name: lan, cidr: 192.0.2.0/24}\n"
SCORE = re.compile(r"Overall exposure level for \S+: (\d+\.\d+)")
# the service undone 0.1.0 wrote (root, ProtectSystem=full): the control that shows the score
# threshold below tells a sandboxed unit from an open one
OLD_SERVICE = """[Unit]
Description=undone compliance scan of the estate in /etc/undone/acme.yaml
[Service]
Type=oneshot
ExecStart=/usr/bin/true
SuccessExitStatus=1 3
Nice=10
IOSchedulingClass=idle
StateDirectory=undone
NoNewPrivileges=yes
ProtectSystem=full
"""
#: `systemd-analyze security --offline=true` of the generated system unit (systemd 252, Debian
#: 12), written down in docs/security.md; lower is better, "OK" is below 4.0
MAX_EXPOSURE = 2.0


def _exposure(unit: Path) -> float:
    assert ANALYZE is not None
    p = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager", str(unit)],
                       capture_output=True, text=True, timeout=120, cwd=unit.parent)
    m = SCORE.search(p.stdout + p.stderr)
    assert m is not None, (p.stdout, p.stderr)
    return float(m.group(1))


def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln and not ln.startswith("#")]


@needs_analyze
@pytest.mark.parametrize("networks", [False, True])
def test_system_unit_runs_with_least_privilege_and_a_low_exposure(
        tmp_path: Path, networks: bool, capsys: pytest.CaptureFixture[str]) -> None:
    inv = tmp_path / "acme.yaml"
    inv.write_text((NETWORKS if networks else "") + INVENTORY)
    units = tmp_path / "units"
    assert main(["schedule", str(inv), "--install", "--unit-dir", str(units)]) == 0
    out = capsys.readouterr().out
    service_path = units / "undone-acme.service"
    service = _lines(service_path.read_text())
    for setting in ("User=undone", "Group=undone", "UMask=0077", "StateDirectory=undone",
                    "StateDirectoryMode=0700", "PrivateTmp=yes", "ProtectSystem=strict",
                    "ProtectHome=read-only", "NoNewPrivileges=yes", "PrivateDevices=yes"):
        assert setting in service, setting
    if networks:  # nmap's raw sockets, and nothing else
        assert "CapabilityBoundingSet=CAP_NET_RAW" in service
        assert "AmbientCapabilities=CAP_NET_RAW" in service
    else:
        assert "CapabilityBoundingSet=" in service
        assert not any("CAP_NET_RAW" in ln or ln.startswith("AmbientCapabilities")
                       for ln in service)
    if "useradd" not in out:  # the user exists on this machine: no hint
        assert "make its user first" not in out
    else:
        assert "make its user first: useradd --system" in out
    p = _verify(units, service_path, units / "undone-acme.timer")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    score = _exposure(service_path)
    assert score <= MAX_EXPOSURE, score
    old = tmp_path / "old" / "undone-acme.service"
    old.parent.mkdir()
    old.write_text(OLD_SERVICE)
    assert _exposure(old) > 2 * MAX_EXPOSURE  # the threshold tells the two apart


@needs_analyze
def test_dynamic_user_and_root_units_verify(tmp_path: Path, inv: Path) -> None:
    for run_as, want in (("dynamic", "DynamicUser=yes"), ("root", "UMask=0077"),
                         ("scanner", "User=scanner")):
        s = schedule.make(str(inv), "daily", "02:00", run_as=run_as)
        units = tmp_path / run_as
        paths = [Path(p) for p in schedule.install(s, str(units))]
        service = paths[0].read_text()
        assert want in service and "ProtectSystem=strict" in service
        if run_as == "root":
            assert "User=" not in service and "DynamicUser" not in service
        p = _verify(units, *paths)
        assert p.returncode == 0 and p.stderr == "", (run_as, p.stderr)
    with pytest.raises(InputError, match="--run-as 'bad user'"):
        schedule.make(str(inv), "daily", "02:00", run_as="bad user")
    with pytest.raises(InputError, match="--run-as dynamic: the state folder"):
        schedule.make(str(inv), "daily", "02:00", run_as="dynamic", state_dir="/srv/x")


def test_a_custom_state_folder_is_private_and_writable_in_the_sandbox(tmp_path: Path,
                                                                      inv: Path) -> None:
    state = tmp_path / "state"
    s = schedule.make(str(inv), "daily", "02:00", state_dir=str(state))
    service = schedule.service_text(s)
    assert f"ReadWritePaths={state}" in service and f"WorkingDirectory={state}" in service
    schedule.install(s, str(tmp_path / "units"))
    assert state.is_dir() and (state.stat().st_mode & 0o777) == 0o700


def test_relative_paths_in_scan_options_are_made_absolute(tmp_path: Path, inv: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    """The unit runs in its state folder, so a relative path given where `undone schedule` ran
    must not change meaning."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("baseline: {}\n")
    (tmp_path / "w.yaml").write_text("waivers: []\n")
    assert main(["schedule", str(inv), "--systemd", "--", "-b", "mine.yaml", "--baseline",
                 "cyber-essentials", "--waivers=w.yaml", "--concurrency", "4"]) == 0
    out = capsys.readouterr().out
    assert f"-b {tmp_path}/mine.yaml --baseline cyber-essentials --waivers={tmp_path}/w.yaml" \
        " --concurrency 4" in out


def _fake_tools(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for undone (prints a line on stderr, exits with $FAKE_RC) and for logger
    (appends what it reads to a file), so the real crontab line can run here."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "syslog"
    (bin_dir / "undone").write_text('#!/bin/sh\necho "undone: done: exit $FAKE_RC" >&2\n'
                                    'exit "$FAKE_RC"\n')
    (bin_dir / "logger").write_text(f'#!/bin/sh\ncat >> "{log}"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    return bin_dir, log


def test_cron_line_keeps_the_scans_exit_code(tmp_path: Path, inv: Path) -> None:
    bin_dir, log = _fake_tools(tmp_path)
    s = schedule.make(str(inv), "daily", "02:00", state_dir=str(tmp_path / "state 1"),
                      command=[str(bin_dir / "undone")])
    body = schedule.cron_line(s).split(" ", 5)[5].replace("\\%", "%")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    for code in (0, 1, 2, 3, 4, 5):
        p = subprocess.run(["sh", "-c", body], env={**env, "FAKE_RC": str(code)},
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == code, (code, p.stdout, p.stderr)
        assert p.stdout == ""  # nothing for cron to mail
    assert log.read_text().splitlines() == [f"undone: done: exit {c}" for c in range(6)]
    assert (tmp_path / "state 1").is_dir()
    # the control: the line as undone 0.1.0 wrote it gave logger's exit code, not the scan's
    old = subprocess.run(["sh", "-c", f"{bin_dir}/undone 2>&1 | logger -t x"],
                         env={**env, "FAKE_RC": "4"}, timeout=30)
    assert old.returncode == 0


@needs_analyze
def test_units_name_documentation_that_exists(tmp_path: Path, inv: Path) -> None:
    s = schedule.make(str(inv), "daily", "02:00")
    doc = [ln for ln in schedule.service_text(s).splitlines()
           if ln.startswith("Documentation=")]
    assert len(doc) == 1 and "undone.invalid" not in doc[0]
    uri = doc[0].split("=", 1)[1]
    assert uri.startswith("file:/") and Path(uri[5:]).is_file(), uri
    assert Path(uri[5:]).name == "operations.md"  # this page's source, in the checkout
    paths = [Path(p) for p in schedule.install(s, str(tmp_path / "units"))]
    assert _verify(tmp_path / "units", *paths).returncode == 0


SETPRIV = shutil.which("setpriv")
NMAP = shutil.which("nmap")


@pytest.mark.skipif(SETPRIV is None or NMAP is None or os.geteuid() != 0,
                    reason="needs root, setpriv (util-linux) and nmap")
def test_the_capability_a_unit_grants_is_what_nmap_needs(tmp_path: Path) -> None:
    """As the unit's user (not root) with CAP_NET_RAW ambient, as systemd grants it, undone
    treats nmap as privileged (SYN and UDP scans) and nmap can do a SYN scan; without the
    capability it falls back to connect scans. Loopback only."""
    assert SETPRIV is not None and NMAP is not None
    drop = [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups"]
    cap = ["--inh-caps=+net_raw", "--ambient-caps=+net_raw"]
    code = ("from scanner.engine.transports import nmap; p = nmap.privileged(); "
            "print(p, ' '.join(nmap.arguments({}, p, 10)[0]))")
    with_cap = subprocess.run([*drop, *cap, sys.executable, "-c", code], capture_output=True,
                              text=True, timeout=60, cwd=ROOT)
    assert with_cap.stdout.startswith("True -n -sS --privileged"), with_cap.stderr
    without = subprocess.run([*drop, sys.executable, "-c", code], capture_output=True,
                             text=True, timeout=60, cwd=ROOT)
    assert without.stdout.startswith("False -n -sT"), without.stderr
    syn = subprocess.run([*drop, *cap, NMAP, "-n", "--privileged", "-sS", "-p", "9",
                          "127.0.0.1"], capture_output=True, text=True, timeout=60)
    assert syn.returncode == 0 and "9/tcp" in syn.stdout, syn.stdout + syn.stderr


def test_trust_on_first_use_in_a_unit_records_keys_in_its_state_folder_only(
        tmp_path: Path) -> None:
    """Issue 15, H1: trust on first use writes only undone's own known_hosts, "under its state
    folder". The scheduled command line (the unit's and the cron line's) names
    ``<state>/known_hosts``: run as scheduled against an SSH server on 127.0.0.1, the key lands
    there and nowhere under the home folder (which ``ProtectHome=read-only`` keeps read-only, so
    before, a unit's first use could not record anything)."""
    from tests.sshserver import SSHServer, serving

    state, home = tmp_path / "state", tmp_path / "home"
    state.mkdir(mode=0o700)
    home.mkdir()
    with serving(SSHServer("empty", passwords={"root": "pw"})) as srv:
        inv = tmp_path / "acme.yaml"
        inv.write_text(json.dumps({"all": {"hosts": {"h": {
            "address": "127.0.0.1", "port": srv.port, "user": "root",
            "password_env": "UNDONE_TEST_SSH_PW"}}}}))
        s = schedule.make(str(inv), "daily", "02:00", state_dir=str(state),
                          scan_args=["--trust-on-first-use", "--quiet"],
                          command=[sys.executable, "-m", "scanner"])
        own = state / "undone-acme.known_hosts"
        env = dict(os.environ, HOME=str(home), UNDONE_TEST_SSH_PW="pw")
        env.pop("XDG_DATA_HOME", None)
        p = subprocess.run(s.argv, cwd=state, env=env, capture_output=True, text=True,
                           timeout=120, check=False)
        assert p.returncode in (0, 1, 3), p.stderr
        assert own.read_text() == srv.known_hosts_line() + "\n"
        assert [f for f in home.rglob("*") if f.is_file()] == []
    assert s.argv[s.argv.index("--known-hosts") + 1] == str(own)
    # an explicit --known-hosts among the scan options is kept, not doubled
    mine = schedule.make(str(inv), "daily", "02:00", state_dir=str(state),
                         scan_args=["--known-hosts=/etc/undone/known_hosts"])
    assert "--known-hosts" not in mine.argv
    assert mine.argv[-1] == "--known-hosts=/etc/undone/known_hosts"
