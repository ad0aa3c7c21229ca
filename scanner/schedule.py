"""Scheduling the way Linux admins already do it: a systemd service + timer pair, or a cron line.

undone has no daemon of its own. ``undone schedule INVENTORY --every weekly --at 02:00`` prints
(and with ``--install`` writes) a ``oneshot`` service that runs one ``undone scan`` and a timer
that starts it; where systemd is not running it prints the crontab line instead, and never edits
a crontab itself. Each scheduled estate gets its own history and report under a state folder
(``/var/lib/undone``, or ``~/.local/state/undone`` with ``--user``): two estates must never share
a history, or each would be compared with the other.

What the units say, and why:

- ``SuccessExitStatus=1 3``: findings (1) and an incomplete scan (3) are results, not failures of
  the unit; bad input (2), an internal error (4) and a busy estate (5) do fail it, so
  ``systemctl --failed`` shows what needs a person.
- ``Persistent=true``: a scan missed while the machine was off runs at the next boot.
- ``EnvironmentFile=-/etc/undone/<name>.env`` (optional): where SMTP and webhook credentials
  live, by the names the inventory's ``notify`` section gives; never in the unit.
- ``Nice=10``, ``IOSchedulingClass=idle``; system units also ``NoNewPrivileges=yes`` and
  ``ProtectSystem=full``.
- Standard error goes to the journal: one line per host and a summary line per scan.

The cron line sources the same environment file, and pipes the scan's standard error to
``logger -t <name>`` so it reaches syslog or the journal rather than a mail every night.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from scanner.errors import InputError

CADENCES = ("hourly", "daily", "weekdays", "weekly", "monthly")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SYSTEM_UNIT_DIR = "/etc/systemd/system"
SYSTEM_STATE_DIR = "/var/lib/undone"
SYSTEM_ENV_DIR = "/etc/undone"
_AT_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_UNIT_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_SYSTEMD_PLAIN = re.compile(r"^[A-Za-z0-9_./:=,+@-]+$")


def systemd_running() -> bool:
    """Whether this machine is booted with systemd (``sd_booted()``'s test)."""
    return os.path.isdir("/run/systemd/system")


def parse_at(text: str) -> tuple[int, int]:
    m = _AT_RE.match(text.strip())
    if not m:
        raise InputError(f"--at {text!r}: expected a time of day, HH:MM (24-hour), e.g. 02:00")
    return int(m.group(1)), int(m.group(2))


def unit_name(inventory: str, name: str | None = None) -> str:
    """``undone-<name>``, from ``name`` or the inventory's file (or folder) name; only the
    characters a unit name may hold."""
    base = name or os.path.splitext(os.path.basename(os.path.normpath(inventory)))[0]
    base = _UNIT_SAFE.sub("-", base).strip("-.") or "estate"
    return base if base.startswith("undone-") else f"undone-{base}"


def on_calendar(every: str, at: tuple[int, int], day: str = "mon") -> str:
    """The timer's ``OnCalendar=`` expression."""
    hh, mm = at
    weekday = day.capitalize()
    return {
        "hourly": f"*-*-* *:{mm:02d}:00",
        "daily": f"*-*-* {hh:02d}:{mm:02d}:00",
        "weekdays": f"Mon..Fri *-*-* {hh:02d}:{mm:02d}:00",
        "weekly": f"{weekday} *-*-* {hh:02d}:{mm:02d}:00",
        "monthly": f"*-*-01 {hh:02d}:{mm:02d}:00",
    }[every]


def cron_schedule(every: str, at: tuple[int, int], day: str = "mon") -> str:
    """The five time fields of the crontab line."""
    hh, mm = at
    dow = (DAYS.index(day) + 1) % 7  # cron: 0 is Sunday
    return {
        "hourly": f"{mm} * * * *",
        "daily": f"{mm} {hh} * * *",
        "weekdays": f"{mm} {hh} * * 1-5",
        "weekly": f"{mm} {hh} * * {dow}",
        "monthly": f"{mm} {hh} 1 * *",
    }[every]


def describe(every: str, at: tuple[int, int], day: str = "mon") -> str:
    hh, mm = at
    return {
        "hourly": f"every hour at minute {mm:02d}",
        "daily": f"every day at {hh:02d}:{mm:02d}",
        "weekdays": f"Monday to Friday at {hh:02d}:{mm:02d}",
        "weekly": f"every {day.capitalize()} at {hh:02d}:{mm:02d}",
        "monthly": f"on the 1st of every month at {hh:02d}:{mm:02d}",
    }[every]


def undone_command() -> list[str]:
    """How to start this undone: its installed ``undone`` script, else this Python with
    ``-m scanner``."""
    here = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(here) == "undone" and os.access(here, os.X_OK):
        return [here]
    found = shutil.which("undone")
    if found:
        return [os.path.abspath(found)]
    return [os.path.abspath(sys.executable), "-m", "scanner"]


def default_state_dir(user: bool) -> str:
    if not user:
        return SYSTEM_STATE_DIR
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "state")
    return os.path.join(base, "undone")


def default_unit_dir(user: bool) -> str:
    if not user:
        return SYSTEM_UNIT_DIR
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "systemd", "user")


def default_env_file(name: str, user: bool) -> str:
    if not user:
        return os.path.join(SYSTEM_ENV_DIR, f"{name}.env")
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "undone", f"{name}.env")


@dataclass(frozen=True)
class Schedule:
    """One scheduled estate (or folder of estates): what runs, when, and where it keeps things."""

    name: str
    inventory: str  # absolute
    folder: bool  # a folder of inventories (undone scan FOLDER)
    every: str
    at: tuple[int, int]
    day: str
    user: bool
    state_dir: str
    env_file: str
    command: tuple[str, ...]  # how to start undone
    scan_args: tuple[str, ...] = ()  # more `undone scan` options, as given
    workdir: str = "/"  # where they were given: relative paths in them stay right

    @property
    def argv(self) -> list[str]:
        """The scheduled ``undone scan`` command line."""
        if self.folder:
            keep = ["--db", os.path.join(self.state_dir, self.name, "history"),
                    "--output", os.path.join(self.state_dir, self.name, "reports")]
        else:
            keep = ["--db", os.path.join(self.state_dir, f"{self.name}.sqlite"),
                    "--format", "html",
                    "--output", os.path.join(self.state_dir, f"{self.name}.html")]
        return [*self.command, "scan", self.inventory, *keep, *self.scan_args]

    @property
    def when(self) -> str:
        return describe(self.every, self.at, self.day)


def make(inventory: str, every: str, at: str, day: str = "mon", user: bool = False,
         name: str | None = None, state_dir: str | None = None,
         scan_args: Sequence[str] = (), command: Sequence[str] | None = None) -> Schedule:
    if every not in CADENCES:
        raise InputError(f"--every {every!r}: expected one of {', '.join(CADENCES)}")
    if day not in DAYS:
        raise InputError(f"--day {day!r}: expected one of {', '.join(DAYS)}")
    path = os.path.abspath(inventory)
    for arg in (path, state_dir or "", *scan_args):
        if "\n" in arg or "\r" in arg:
            raise InputError(f"{arg!r}: a line break cannot go into a unit or crontab line")
    unit = unit_name(path, name)
    return Schedule(
        name=unit, inventory=path, folder=os.path.isdir(path), every=every, at=parse_at(at),
        day=day, user=user,
        state_dir=os.path.abspath(state_dir) if state_dir else default_state_dir(user),
        env_file=default_env_file(unit, user),
        command=tuple(command) if command else tuple(undone_command()),
        scan_args=tuple(scan_args),
        workdir=os.getcwd(),
    )


def _systemd_word(arg: str) -> str:
    """One word of an ``ExecStart=`` line: ``%`` and ``$`` escaped (systemd would expand them);
    quoted when it holds anything but plain characters."""
    text = arg.replace("%", "%%").replace("$", "$$")
    if _SYSTEMD_PLAIN.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def service_text(s: Schedule) -> str:
    what = "inventories in" if s.folder else "estate in"
    lines = [
        "# Written by `undone schedule`; one undone scan, started by the timer of the same name.",
        "[Unit]",
        f"Description=undone compliance scan of the {what} {s.inventory}",
        "Documentation=https://undone.invalid/docs/operations",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={_systemd_word(s.workdir)}",
        f"ExecStart={' '.join(_systemd_word(a) for a in s.argv)}",
        "# 1: findings, 3: incomplete scan; these are results, not failures of the unit",
        "SuccessExitStatus=1 3",
        f"EnvironmentFile=-{_systemd_word(s.env_file)}",
        "Nice=10",
        "IOSchedulingClass=idle",
    ]
    if s.state_dir == default_state_dir(s.user):
        lines.append("StateDirectory=undone")
    if not s.user:
        lines += ["NoNewPrivileges=yes", "ProtectSystem=full"]
    return "\n".join(lines) + "\n"


def timer_text(s: Schedule) -> str:
    return "\n".join([
        "# Written by `undone schedule`.",
        "[Unit]",
        f"Description=Start {s.name}.service {s.when}",
        "",
        "[Timer]",
        f"OnCalendar={on_calendar(s.every, s.at, s.day)}",
        "Persistent=true",
        "AccuracySec=1min",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]) + "\n"


def cron_line(s: Schedule) -> str:
    """The crontab line (cron has no unit files): the environment file if present, the scan,
    standard error to syslog. ``%`` is escaped: cron would turn it into a line break."""
    env = shlex.quote(s.env_file)
    scan = " ".join(shlex.quote(a) for a in s.argv)
    body = (f"cd {shlex.quote(s.workdir)} || exit 1; set -a; [ -r {env} ] && . {env}; set +a; "
            f"{scan} 2>&1 | "
            f"logger -t {shlex.quote(s.name)}")
    return f"{cron_schedule(s.every, s.at, s.day)} {body.replace('%', chr(92) + '%')}"


def cron_text(s: Schedule) -> str:
    return (f"# {s.name}: undone scan of {s.inventory}, {s.when} (add with `crontab -e`"
            f"{'' if s.user else ' as root'})\n{cron_line(s)}\n")


def install(s: Schedule, unit_dir: str | None = None, force: bool = False) -> list[str]:
    """Write the service and timer into ``unit_dir`` (default: the system's, or the user's with
    ``user``); an existing different file is kept unless ``force``. Returns the paths."""
    folder = unit_dir or default_unit_dir(s.user)
    files = {os.path.join(folder, f"{s.name}.service"): service_text(s),
             os.path.join(folder, f"{s.name}.timer"): timer_text(s)}
    for path, text in files.items():
        if os.path.exists(path) and not force:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    raise InputError(f"{path}: exists and differs; give --force to replace it "
                                     "(or --name for another schedule)")
    try:
        os.makedirs(folder, exist_ok=True)
        for path, text in files.items():
            tmp = f"{path}.tmp-{os.getpid()}"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"{folder}: cannot write the units: {e.strerror or e}"
                         + (" (run as root, or give --user)" if not s.user else "")) from None
    return list(files)


def activate_hint(s: Schedule) -> str:
    ctl = "systemctl --user" if s.user else "systemctl"
    return f"{ctl} daemon-reload && {ctl} enable --now {s.name}.timer"
