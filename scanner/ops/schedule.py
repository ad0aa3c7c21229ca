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
- ``Nice=10``, ``IOSchedulingClass=idle``.
- ``Documentation=``: this page's source, ``docs/operations.md``, where it is installed (a
  ``file:`` reference that exists on this machine; see :func:`documentation_uri`).
- Standard error goes to the journal: one line per host and a summary line per scan.
- ``--known-hosts <state folder>/<name>.known_hosts`` (``<name>/known_hosts`` for a folder;
  unless the scan options name one): undone's own known_hosts, the only file trust on first use
  writes, kept per schedule in the unit's private, writable state folder rather than under a
  home folder that ``ProtectHome=read-only`` keeps read-only (issue 15, H1).

**Least privilege** (issue 15, M7). A system unit runs as a dedicated user, ``undone`` by default
(``--run-as USER``; ``--run-as dynamic`` for systemd's ``DynamicUser=yes``; ``--run-as root``
only when asked), in a sandbox: ``UMask=0077`` and ``StateDirectoryMode=0700`` (reports, result
documents and histories are the client's data: files 0600 in a 0700 folder), ``PrivateTmp=``,
``ProtectSystem=strict`` (only the state folder is writable), ``ProtectHome=read-only``,
``NoNewPrivileges=``, ``PrivateDevices=``, the kernel, clock, host name and control groups
protected, namespaces, mounts, SUID/SGID and real-time scheduling refused, native system calls
of the ``@system-service`` set but not ``@privileged``, and no capabilities at all unless the
inventory declares networks, when ``CAP_NET_RAW`` (and ``AF_PACKET``) is granted for nmap's SYN
and UDP scans, and nothing else. ``systemd-analyze security`` rates the unit in the tests (the
figure is in docs/security.md). User units (``--user``) keep ``UMask=0077`` and
``NoNewPrivileges=``; the rest needs a system manager.

The cron line sources the same environment file, creates and enters the state folder with
``umask 077``, and pipes the scan's output to ``logger -t <name>`` so it reaches syslog or the
journal rather than a mail every night, **keeping the scan's exit code** as the line's own (a
plain ``| logger`` would give logger's).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scanner import safeio
from scanner.errors import InputError

CADENCES = ("hourly", "daily", "weekdays", "weekly", "monthly")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SYSTEM_UNIT_DIR = "/etc/systemd/system"
SYSTEM_STATE_DIR = "/var/lib/undone"
SYSTEM_ENV_DIR = "/etc/undone"
_AT_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_UNIT_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_SYSTEMD_PLAIN = re.compile(r"^[A-Za-z0-9_./:=,+@-]+$")


RUN_AS_DEFAULT = "undone"
_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def documentation_uri() -> str:
    """A ``Documentation=`` reference that exists here: ``docs/operations.md`` of a source
    checkout or of the installed package's documentation (``share/doc/undone``), else this
    module, whose docstring says what the units hold."""
    here = Path(__file__).resolve()
    candidates = [here.parents[2] / "docs" / "operations.md",
                  Path(sys.prefix) / "share" / "doc" / "undone" / "operations.md",
                  Path("/usr/local/share/doc/undone/operations.md"),
                  Path("/usr/share/doc/undone/operations.md")]
    for c in candidates:
        if c.is_file():
            return "file:" + str(c)
    return "file:" + str(here)


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
    scan_args: tuple[str, ...] = ()  # more `undone scan` options (paths made absolute)
    workdir: str = "/"  # where they were given (the cron line's folder before the state's)
    run_as: str = RUN_AS_DEFAULT  # system units: a user name, "dynamic" or "root"
    networks: bool = False  # the inventory declares networks: nmap may need CAP_NET_RAW

    @property
    def argv(self) -> list[str]:
        """The scheduled ``undone scan`` command line."""
        if self.folder:
            keep = ["--db", os.path.join(self.state_dir, self.name, "history"),
                    "--output", os.path.join(self.state_dir, self.name, "reports")]
            known = os.path.join(self.state_dir, self.name, "known_hosts")
        else:
            keep = ["--db", os.path.join(self.state_dir, f"{self.name}.sqlite"),
                    "--format", "html",
                    "--output", os.path.join(self.state_dir, f"{self.name}.html")]
            known = os.path.join(self.state_dir, f"{self.name}.known_hosts")
        if not any(a == "--known-hosts" or a.startswith("--known-hosts=")
                   for a in self.scan_args):  # trust on first use writes only in the state
            keep += ["--known-hosts", known]
        return [*self.command, "scan", self.inventory, *keep, *self.scan_args]

    @property
    def when(self) -> str:
        return describe(self.every, self.at, self.day)


def make(inventory: str, every: str, at: str, day: str = "mon", user: bool = False,
         name: str | None = None, state_dir: str | None = None,
         scan_args: Sequence[str] = (), command: Sequence[str] | None = None,
         run_as: str | None = None, networks: bool = False) -> Schedule:
    run_as = run_as or RUN_AS_DEFAULT
    if run_as not in ("dynamic", "root") and not _USER_RE.match(run_as):
        raise InputError(f"--run-as {run_as!r}: expected a user name, 'dynamic' "
                         "(DynamicUser=yes) or 'root'")
    if user and run_as != RUN_AS_DEFAULT:
        raise InputError("--run-as: a user unit (--user) runs as that user; give one or the "
                         "other")
    if run_as == "dynamic" and state_dir and os.path.abspath(state_dir) != SYSTEM_STATE_DIR:
        raise InputError(f"--run-as dynamic: the state folder is systemd's ({SYSTEM_STATE_DIR}"
                         "); leave --state-dir out, or name a dedicated user")
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
        run_as=run_as,
        networks=networks,
    )


def _systemd_word(arg: str) -> str:
    """One word of an ``ExecStart=`` line: ``%`` and ``$`` escaped (systemd would expand them);
    quoted when it holds anything but plain characters."""
    text = arg.replace("%", "%%").replace("$", "$$")
    if _SYSTEMD_PLAIN.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sandbox(s: Schedule) -> list[str]:
    """The least-privilege settings of a system unit (see the module's docstring)."""
    lines = ["# least privilege: its own user, private files, a read-only system"]
    if s.run_as == "dynamic":
        lines += ["DynamicUser=yes", f"Environment=HOME={SYSTEM_STATE_DIR}"]
    elif s.run_as != "root":
        lines += [f"User={s.run_as}", f"Group={s.run_as}"]
    lines.append("UMask=0077")
    if s.state_dir == default_state_dir(s.user):
        lines += ["StateDirectory=undone", "StateDirectoryMode=0700"]
    else:
        lines.append(f"ReadWritePaths={_systemd_word(s.state_dir)}")
    lines += [
        "PrivateTmp=yes",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "NoNewPrivileges=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "RestrictSUIDSGID=yes",
        "RestrictRealtime=yes",
        "RestrictNamespaces=yes",
        "LockPersonality=yes",
        "RemoveIPC=yes",
        "SystemCallArchitectures=native",
        "PrivateMounts=yes",
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged",
        "SystemCallErrorNumber=EPERM",
    ]
    families = "AF_UNIX AF_INET AF_INET6 AF_NETLINK"
    if s.networks:  # nmap's SYN and UDP scans, ARP discovery: raw sockets, nothing more
        lines += ["# the inventory declares networks: nmap may open raw sockets",
                  f"RestrictAddressFamilies={families} AF_PACKET",
                  "CapabilityBoundingSet=CAP_NET_RAW",
                  "AmbientCapabilities=CAP_NET_RAW"]
    else:
        lines += [f"RestrictAddressFamilies={families}", "CapabilityBoundingSet="]
    return lines


def service_text(s: Schedule) -> str:
    what = "inventories in" if s.folder else "estate in"
    lines = [
        "# Written by `undone schedule`; one undone scan, started by the timer of the same name.",
        "[Unit]",
        f"Description=undone compliance scan of the {what} {s.inventory}",
        f"Documentation={_systemd_word(documentation_uri())}",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={s.state_dir.replace('%', '%%')}",  # a path setting: no quotes
        f"ExecStart={' '.join(_systemd_word(a) for a in s.argv)}",
        "# 1: findings, 3: incomplete scan; these are results, not failures of the unit",
        "SuccessExitStatus=1 3",
        f"EnvironmentFile=-{_systemd_word(s.env_file)}",
        "Nice=10",
        "IOSchedulingClass=idle",
    ]
    if s.user:
        if s.state_dir == default_state_dir(s.user):
            lines += ["StateDirectory=undone", "StateDirectoryMode=0700"]
        lines += ["UMask=0077", "NoNewPrivileges=yes"]
    else:
        lines += _sandbox(s)
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
    """The crontab line (cron has no unit files): private files (``umask 077``), the state
    folder, the environment file if present, the scan with its output to syslog, and the scan's
    own exit code as the line's (``rc`` comes back on a spare descriptor past the pipe to
    ``logger``). ``%`` is escaped: cron would turn it into a line break."""
    env = shlex.quote(s.env_file)
    state = shlex.quote(s.state_dir)
    scan = " ".join(shlex.quote(a) for a in s.argv)
    body = (f"umask 077; mkdir -p {state} && cd {state} || exit 1; "
            f"set -a; [ -r {env} ] && . {env}; set +a; "
            f"rc=$( {{ {{ {scan} 2>&1 3>&-; echo $? >&3; }} | "
            f"logger -t {shlex.quote(s.name)} >/dev/null 3>&-; }} 3>&1 ); "
            'exit "${rc:-1}"')
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
        for path, text in files.items():  # units are world-readable, as systemd's own
            safeio.write_file(path, text, "unit", mode=0o644)
        if s.state_dir != default_state_dir(s.user):  # systemd makes the default one
            _own_state_dir(s)
    except OSError as e:
        raise InputError(f"{folder}: cannot write the units: {e.strerror or e}"
                         + (" (run as root, or give --user)" if not s.user else "")) from None
    return list(files)


def _own_state_dir(s: Schedule) -> None:
    """A state folder of one's own (``ReadWritePaths=`` needs it to exist): 0700, owned by the
    unit's user when that user exists."""
    import pwd

    os.makedirs(s.state_dir, mode=0o700, exist_ok=True)
    os.chmod(s.state_dir, 0o700)
    if not s.user and s.run_as not in ("root", "dynamic") and os.geteuid() == 0:
        try:
            pw = pwd.getpwnam(s.run_as)
        except KeyError:
            return
        os.chown(s.state_dir, pw.pw_uid, pw.pw_gid)


def user_hint(s: Schedule) -> str | None:
    """How to make the unit's user, when it does not exist yet."""
    import pwd

    if s.user or s.run_as in ("root", "dynamic"):
        return None
    try:
        pwd.getpwnam(s.run_as)
        return None
    except KeyError:
        return (f"useradd --system --home-dir {SYSTEM_STATE_DIR} --shell /usr/sbin/nologin "
                f"{s.run_as}  (then give it read access to the inventory and its SSH keys)")


def activate_hint(s: Schedule) -> str:
    ctl = "systemctl --user" if s.user else "systemctl"
    return f"{ctl} daemon-reload && {ctl} enable --now {s.name}.timer"
