"""The estate: many real, different hosts on one machine, brought up from a scenario.

Each SSH host is a network namespace on a private bridge with its own address, running its own
sshd as PID 1's child in private mount, UTS and PID namespaces, with its own view of the files
probes read (see builder.py). SNMP devices are real snmpd agents in their own namespaces. The
scanner under test runs in the scanner namespace (:attr:`Estate.scanner_ns`), which is on the
bridge and has no route out.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import yaml

from . import keys, netns
from .builder import (
    LOGIN_RECORDS,
    TREE_MOUNTS,
    BaseAccounts,
    HostBuilder,
    RunContext,
    make_backups,
    password_hash,
)
from .common import (
    HOST_INIT,
    MAX_RUN_ID,
    EstateError,
    data_root,
    is_tmpfs,
    iso,
    pid_alive,
    process_start_time,
    sha256_file,
    state_dir,
    utcnow,
    write_text,
)
from .common import run as run_cmd
from .scenario import AdvisorySpec, HostSpec, Scenario, load_scenario
from .templates import Templates, file_lock

SCANNER_OCTET = 2
#: The estate's dates are relative to the day it comes up, so its verdicts hold on any day; the
#: shipped lifecycle snapshot's age is not: past its default limit (400 days) every lifecycle
#: rule would turn to error. Tests that judge lifecycle verdicts on the estate scan with this
#: (its age is checked at a fixed moment in tests/unit/scanner/lifecycle/test_lifecycle.py instead).
ANY_LIFECYCLE_AGE = {"max_lifecycle_data_age_days": 100000}
STATE_VERSION = 1
REQUIRED_TOOLS = ("ip", "unshare", "mount", "openssl", "dpkg", "apt-get")


def _which(name: str) -> bool:
    return (
        shutil.which(name, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        is not None
    )


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def write_advisories(folder: Path, advisories: list[AdvisorySpec], now: datetime
                     ) -> dict[str, Any]:
    """The estate's advisory records in the Debian security tracker's list format (the format
    of tests/fixtures/advisories/debian, newest entry first), dated ``age_days`` before ``now``:
    ``folder/DSA/list`` and ``folder/DLA/list``. Generated for the test estate, not Debian's."""
    dated = sorted(((now - timedelta(days=a.age_days), a) for a in advisories),
                   key=lambda x: x[0], reverse=True)
    published = {}
    for kind in ("DSA", "DLA"):
        lines = []
        for when, a in dated:
            if not a.id.startswith(kind):
                continue
            day = f"{when.day:02d} {_MONTHS[when.month - 1]} {when.year}"
            lines += [f"[{day}] {a.id} {a.package} - security update",
                      f"\t{{CVE-2026-{10000 + int(a.id[4:].split('-')[0]) % 90000}}}",
                      f"\t[{a.release}] - {a.package} {a.fixed}"]
            published[a.id] = when.date().isoformat()
        write_text(folder / kind / "list", "\n".join(lines) + ("\n" if lines else ""))
    return {"dir": str(folder), "published": published}


def preflight(scenario: Scenario | None = None) -> list[str]:
    """What stops an estate from coming up here (empty when nothing does)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("the estate needs root (network namespaces, mounts)")
    tools = set(REQUIRED_TOOLS) | {"sshd", "ssh"}
    if scenario is not None:
        for host in scenario.hosts:
            if host.kind == "snmp":
                tools |= {"snmpd"}
            if host.restic:
                tools.add("restic")
            if host.borg:
                tools.add("borg")
            if host.firewall:
                tools.add("nft")
    missing = sorted(t for t in tools if not _which(t))
    if missing:
        problems.append("missing tools: " + ", ".join(missing))
    try:
        filesystems = Path("/proc/filesystems").read_text(encoding="ascii")
        if "overlay" not in filesystems:
            problems.append("overlayfs is not available (modprobe overlay)")
    except OSError:
        problems.append("cannot read /proc/filesystems")
    if _which("dpkg"):
        arch = subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=False
        )
        if arch.stdout.strip() != "amd64":
            problems.append(
                f"the frozen apt repository is amd64-only; this machine is {arch.stdout.strip()}"
            )
    if not Path("/var/lib/dpkg/status").exists():
        problems.append("this machine is not Debian-like (no /var/lib/dpkg/status)")
    return problems


# ------------------------------------------------------------------------------------------------
# state files


def _runs_dir() -> Path:
    return state_dir() / "runs"


def _state_path(run_id: int) -> Path:
    return _runs_dir() / f"ue{run_id}" / "state.json"


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_state(path: Path, state: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=False), encoding="utf-8")
    tmp.rename(path)


def _run_is_live(state: Mapping[str, Any]) -> bool:
    owner = state.get("owner")
    if owner is None:  # detached (command line): lives until `down`
        return True
    return pid_alive(int(owner["pid"]), owner.get("start"))


def _all_states() -> dict[int, dict[str, Any]]:
    states: dict[int, dict[str, Any]] = {}
    runs = _runs_dir()
    if not runs.exists():
        return states
    for entry in runs.iterdir():
        if entry.name.startswith("ue") and entry.name[2:].isdigit():
            state = _read_state(entry / "state.json")
            states[int(entry.name[2:])] = state or {
                "run_id": int(entry.name[2:]),
                "dir": str(data_root() / entry.name),
                "owner": {"pid": 0},
            }
    return states


def _teardown_state(
    run_id: int, state: Mapping[str, Any] | None, keep_dir: bool = False
) -> list[int]:
    """Remove everything of one run: processes, namespaces, links, route, files."""
    names = netns.Names(run_id)
    found = netns.leftovers(run_id).get(run_id, {"netns": [], "links": [], "routes": []})
    recorded = [(int(p["pid"]), p.get("start")) for p in (state or {}).get("pids", [])]
    all_ns = sorted(set(found["netns"]) | set((state or {}).get("netns", [])))
    # Stray processes in our namespaces (a command a test started in the scanner namespace, or
    # anything of a run whose state file is lost). Hosts' own processes die with their PID 1.
    scan_ns = names.netns("scan")
    in_ns: list[tuple[int, int | None]] = []
    for ns in found["netns"]:
        if state is None or not state.get("pids") or ns == scan_ns:
            in_ns += netns.netns_pids(ns)
    alive = netns.kill_pids(recorded + in_ns)
    netns.destroy_network(run_id, all_ns)
    if not keep_dir:
        data = Path(str((state or {}).get("dir") or data_root() / f"ue{run_id}"))
        for directory in (data, _runs_dir() / f"ue{run_id}"):
            _discard(directory)
    return alive


def _discard(directory: Path) -> None:
    """Move a directory out of the way now and delete it in the background.

    Deleting 200 host trees costs ~1 s here (the disk is mounted with ``discard``); nothing
    waits for it. Trash left by an interrupted deletion is removed at the next ``up``.
    """
    if not directory.exists():
        return
    if is_tmpfs(directory):
        shutil.rmtree(directory, ignore_errors=True)
        return
    trash = state_dir() / "trash" / f"{directory.name}-{time.time_ns()}"
    trash.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.rename(trash)
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)
        return
    _empty_trash()


def _empty_trash() -> None:
    trash = state_dir() / "trash"
    if trash.exists() and any(trash.iterdir()):
        subprocess.Popen(  # background: nothing waits for it
            ["rm", "-rf", "--", *map(str, trash.iterdir())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


def _owned_by_live_process(state: Mapping[str, Any]) -> bool:
    owner = state.get("owner")
    return owner is not None and pid_alive(int(owner["pid"]), owner.get("start"))


def cleanup(run_id: int | None = None, include_live: bool = False) -> list[int]:
    """Tear estates down; returns the run ids removed.

    By default: detached estates (the command line's ``up``), estates whose owning process died,
    and orphan namespaces/links/routes of crashed runs, but not estates a live process owns.
    ``run_id``: only that run, whatever its owner. ``include_live``: every estate.
    """
    removed = []
    with file_lock(state_dir() / "lock"):
        states = _all_states()
        found = netns.leftovers()
        for k in sorted(set(states) | set(found)):
            if run_id is not None and k != run_id:
                continue
            state = states.get(k)
            if (
                run_id is None
                and not include_live
                and state is not None
                and _owned_by_live_process(state)
            ):
                continue
            _teardown_state(k, state)
            removed.append(k)
    return removed


def runs_status() -> list[dict[str, Any]]:
    """One summary per estate on this machine (for ``python -m tests.estate status``)."""
    rows = []
    states = _all_states()
    found = netns.leftovers()
    for k in sorted(set(states) | set(found)):
        state = states.get(k) or {}
        pids = [(int(p["pid"]), p.get("start")) for p in state.get("pids", [])]
        owner = state.get("owner")
        rows.append(
            {
                "run_id": k,
                "scenario": state.get("scenario"),
                "status": state.get("status", "orphan" if k not in states else "unknown"),
                "owner": "detached" if owner is None and state else (owner or {}).get("pid"),
                "live": bool(state) and _run_is_live(state),
                "hosts": len(state.get("hosts", [])),
                "processes_alive": sum(1 for pid, start in pids if pid_alive(pid, start)),
                "netns": len(found.get(k, {}).get("netns", [])),
                "dir": state.get("dir"),
                "up_at": state.get("now"),
            }
        )
    return rows


# ------------------------------------------------------------------------------------------------
# the estate


class Estate:
    """A running estate. Make one with :meth:`up` (or :meth:`attach` to a running one)."""

    def __init__(
        self, state: dict[str, Any], procs: dict[str, subprocess.Popen[bytes]] | None = None
    ) -> None:
        self._state = state
        self._procs = procs or {}
        self._down = False
        self._old_sigterm: Any = None
        self._hosts_by_name: dict[str, dict[str, Any]] = {h["name"]: h for h in state["hosts"]}

    # -- creation -------------------------------------------------------------------------------

    @classmethod
    def up(
        cls,
        scenario: str | Path | Mapping[str, Any] | Scenario,
        run_id: int | None = None,
        *,
        detach: bool = False,
        ready_timeout: float = 60.0,
    ) -> Estate:
        """Bring an estate up from a scenario (path, name under scenarios/, dict or Scenario).

        ``run_id`` picks the subnet ``10.213.<run_id>.0/24`` and the name prefix ``ue<run_id>``
        (default: the lowest free one). ``detach``: the estate outlives this process (the
        command line's ``up``); otherwise its processes die with it and it is torn down at exit.
        """
        started = time.monotonic()
        spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        problems = preflight(spec)
        if problems:
            raise EstateError("cannot build the estate here: " + "; ".join(problems))
        if run_id is not None and not 1 <= run_id <= MAX_RUN_ID:
            raise EstateError(f"run id must be 1..{MAX_RUN_ID}, got {run_id}")
        base = state_dir()
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        base.chmod(0o700)
        with file_lock(base / "lock"):
            states = _all_states()
            found = netns.leftovers()
            # namespaces with running processes but no state here: an estate of another state
            # directory (UNDONE_ESTATE_DIR) that someone is using; never torn down from here
            busy = {k for k in found if k not in states
                    and any(netns.netns_pids(ns) for ns in found[k]["netns"])}
            for k in sorted(set(states) | set(found)):
                old = states.get(k)
                if k in busy and k != run_id:
                    continue
                if old is not None and _run_is_live(old) and k != run_id:
                    continue
                if old is not None and _owned_by_live_process(old) and k == run_id:
                    raise EstateError(
                        f"run id {k} is in use by live process {old['owner']['pid']}; pick"
                        f" another or run `python -m tests.estate down --run-id {k}`"
                    )
                _teardown_state(k, old)
            live_ids = {k for k, s in _all_states().items() if _run_is_live(s)} | busy
            if data_root().exists():
                for entry in data_root().iterdir():  # trees of runs whose state file is gone
                    if entry.name[2:].isdigit() and int(entry.name[2:]) not in live_ids:
                        _discard(entry)
            _empty_trash()
            if run_id is None:
                live = {k for k, s in _all_states().items() if _run_is_live(s)} | busy
                free = [k for k in range(1, MAX_RUN_ID + 1) if k not in live]
                if not free:
                    raise EstateError("no free estate run id")
                run_id = free[0]
            state_path = _state_path(run_id)
            shutil.rmtree(state_path.parent, ignore_errors=True)
            state_path.parent.mkdir(parents=True, mode=0o700)
            run_dir = data_root() / f"ue{run_id}"
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            run_dir.parent.chmod(0o700)
            run_dir.mkdir(mode=0o700)
            owner = (
                None if detach else {"pid": os.getpid(), "start": process_start_time(os.getpid())}
            )
            names = netns.Names(run_id)
            state: dict[str, Any] = {
                "version": STATE_VERSION,
                "run_id": run_id,
                "status": "building",
                "scenario": spec.name,
                "scenario_source": spec.source,
                "owner": owner,
                "dir": str(run_dir),
                "prefix": names.prefix,
                "bridge": names.bridge,
                "subnet": names.subnet,
                "scanner_ns": names.netns("scan"),
                "scanner_address": names.address(SCANNER_OCTET),
                "netns": [],
                "pids": [],
                "hosts": [],
                "timings": {},
            }
            _write_state(_state_path(int(state["run_id"])), state)
        estate = cls(state)
        try:
            estate._build(
                spec, names, run_dir, owned=not detach, ready_timeout=ready_timeout, started=started
            )
        except BaseException:
            estate.down()
            raise
        if not detach:
            estate._install_exit_hooks()
        return estate

    def _build(
        self,
        spec: Scenario,
        names: netns.Names,
        run_dir: Path,
        *,
        owned: bool,
        ready_timeout: float,
        started: float,
    ) -> None:
        state = self._state
        timings: dict[str, float] = {}
        mark = time.monotonic()
        templates = Templates()
        templates.ensure_basics()
        timings["templates"] = time.monotonic() - mark

        mark = time.monotonic()
        now = utcnow()
        state["now"] = iso(now)
        if spec.advisories:
            state["advisories"] = write_advisories(run_dir / "advisories", spec.advisories, now)
        client = keys.generate("ed25519")
        key_file = run_dir / "keys" / "id_ed25519"
        client.write(key_file, "undone-estate-client")
        state["key_file"] = str(key_file)
        ctx = RunContext(
            dir=run_dir,
            now=now,
            client_public=client.public,
            templates=templates,
            base=BaseAccounts.from_machine(),
            password_hash=password_hash(),
        )
        if any(a.password == "known" for h in spec.hosts for a in h.accounts):
            ctx.known_password = "Pw-" + secrets.token_urlsafe(18)
            ctx.known_password_hash = password_hash(ctx.known_password)
        hosts: list[dict[str, Any]] = []
        jobs = []
        firewalls: dict[str, str] = {}
        members: list[tuple[str, str]] = [(names.netns("scan"), names.address(SCANNER_OCTET))]
        for host in spec.hosts:
            assert host.octet is not None
            address = names.address(host.octet)
            ns = names.netns(host.name)
            members.append((ns, address))
            if host.kind == "snmp":
                hosts.append(self._snmp_truth(host, address, ns, run_dir))
                continue
            built = HostBuilder(ctx, host, address, ns).build()
            built.truth["inventory"] = dict(host.inventory)
            hosts.append(built.truth)
            jobs += built.jobs
            if built.firewall:
                firewalls[ns] = built.firewall
                write_text(built.host_dir / "firewall.nft", built.firewall)
        state["hosts"] = hosts
        self._hosts_by_name = {h["name"]: h for h in hosts}
        timings["trees"] = time.monotonic() - mark

        mark = time.monotonic()
        make_backups(jobs, templates, workers=max(1, min(4, os.cpu_count() or 1)))
        timings["backups"] = time.monotonic() - mark

        mark = time.monotonic()
        state["netns"] = [ns for ns, _ in members]
        _write_state(_state_path(int(state["run_id"])), state)
        netns.create_network(names, members)
        for ns, _rules in firewalls.items():
            host_dir = run_dir / "hosts" / ns[len(names.prefix) + 1 :]
            run_cmd(
                ["ip", "netns", "exec", ns, "nft", "-f", str(host_dir / "firewall.nft")],
                what=f"{ns}: nft",
            )
        timings["network"] = time.monotonic() - mark

        mark = time.monotonic()
        for truth in hosts:
            if truth["kind"] == "ssh":
                host_dir = run_dir / "hosts" / truth["name"]
                argv = [
                    "ip", "netns", "exec", truth["netns"],
                    "unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child",
                    "--mount-proc", "sh", str(HOST_INIT), str(host_dir),
                ]  # fmt: skip
                self._procs[truth["name"]] = netns.spawn(
                    argv, str(host_dir / "init.log"), owned=owned
                )
            else:
                device_dir = run_dir / "snmp" / truth["name"]
                argv = [
                    "ip", "netns", "exec", truth["netns"],
                    "snmpd", "-f", "-C", "-c", str(device_dir / "snmpd.conf"),
                    "-Lf", str(device_dir / "snmpd.log"), "-p", str(device_dir / "snmpd.pid"),
                ]  # fmt: skip
                env = dict(os.environ, SNMP_PERSISTENT_DIR=str(device_dir / "persist"), MIBS="")
                self._procs[truth["name"]] = netns.spawn(
                    argv, str(device_dir / "stdout.log"), env=env, owned=owned
                )
        state["pids"] = [
            {"name": name, "pid": proc.pid, "start": process_start_time(proc.pid)}
            for name, proc in self._procs.items()
        ]
        _write_state(_state_path(int(state["run_id"])), state)
        timings["spawn"] = time.monotonic() - mark

        mark = time.monotonic()
        targets = []
        for truth in hosts:
            if truth["kind"] == "ssh":
                open_ports = [
                    p
                    for p in truth["tcp_ports"]
                    if not truth["firewall"] or p in truth["firewall"]["open"]
                ]
                tarpit = (truth.get("fault") or {}).get("kind") == "tarpit"
                targets.append(
                    netns.Target(
                        truth["name"], truth["address"], open_ports[0], "tcp" if tarpit else "ssh"
                    )
                )
            else:
                targets.append(
                    netns.Target(
                        truth["name"], truth["address"], 161, "snmp", truth["snmp"]["community"]
                    )
                )
        netns.wait_ready(state["scanner_ns"], targets, ready_timeout, self._dead_hosts)
        timings["ready"] = time.monotonic() - mark

        self._write_known_hosts(run_dir / "known_hosts")
        state["known_hosts"] = str(run_dir / "known_hosts")
        state["status"] = "up"
        timings["total"] = time.monotonic() - started
        state["timings"] = {k: round(v, 3) for k, v in timings.items()}
        _write_state(_state_path(int(state["run_id"])), state)
        self.write_inventory(run_dir / "inventory.yaml")

    def _snmp_truth(self, host: HostSpec, address: str, ns: str, run_dir: Path) -> dict[str, Any]:
        snmp = host.snmp
        assert snmp is not None
        device_dir = run_dir / "snmp" / host.name
        (device_dir / "persist").mkdir(parents=True)
        subnet = address.rsplit(".", 1)[0] + ".0/24"
        lines = [
            f"agentAddress udp:{address}:161",
            f"rocommunity {snmp.community} {subnet}",
            f"sysDescr {snmp.sysdescr}",
            f"sysObjectID {snmp.sysobjectid}",
            f"sysName {snmp.sysname}",
        ]
        if snmp.syslocation:
            lines.append(f"sysLocation {snmp.syslocation}")
        if snmp.syscontact:
            lines.append(f"sysContact {snmp.syscontact}")
        for oid, (kind, value) in snmp.extra.items():
            shown = f'"{value}"' if kind == "octet_str" else value
            lines.append(f"override {oid} {kind} {shown}")
        write_text(device_dir / "snmpd.conf", "\n".join(lines) + "\n", 0o600)
        return {
            "name": host.name,
            "kind": "snmp",
            "address": address,
            "netns": ns,
            "roles": list(host.roles),
            "udp_ports": [161],
            "snmp": {
                "sysdescr": snmp.sysdescr,
                "sysobjectid": snmp.sysobjectid,
                "sysname": snmp.sysname,
                "syslocation": snmp.syslocation,
                "syscontact": snmp.syscontact,
                "community": snmp.community,
                "extra": snmp.extra,
            },
            "inventory": {},
        }

    def _dead_hosts(self) -> list[str]:
        dead = []
        for name, proc in self._procs.items():
            code = proc.poll()
            if code is not None:
                host = self._hosts_by_name[name]
                base = (
                    Path(self._state["dir"]) / ("hosts" if host["kind"] == "ssh" else "snmp") / name
                )
                log = base / ("init.log" if host["kind"] == "ssh" else "snmpd.log")
                try:
                    tail = log.read_text(encoding="utf-8", errors="replace")[-600:].strip()
                except OSError:
                    tail = "(no log)"
                dead.append(f"{name} (exit {code}): {tail}")
        return dead

    def _write_known_hosts(self, path: Path) -> None:
        lines = []
        for host in self.hosts:
            if host["kind"] != "ssh":
                continue
            for port in host["tcp_ports"]:
                where = host["address"] if port == 22 else f"[{host['address']}]:{port}"
                for public in host["sshd"]["host_keys"].values():
                    lines.append(f"{where} {public}\n")
        write_text(path, "".join(lines))

    def _install_exit_hooks(self) -> None:
        atexit.register(self.down)
        if threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGTERM)
            if current in (signal.SIG_DFL, None):
                self._old_sigterm = current

                def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
                    raise KeyboardInterrupt("SIGTERM")

                signal.signal(signal.SIGTERM, on_sigterm)

    @classmethod
    def attach(cls, run_id: int | None = None) -> Estate:
        """The running estate ``run_id`` (default: the only one that is up)."""
        states = {
            k: s for k, s in _all_states().items() if s.get("status") == "up" and s.get("hosts")
        }
        if run_id is None:
            if len(states) != 1:
                raise EstateError(
                    f"{len(states)} estates are up"
                    f" ({', '.join(map(str, sorted(states))) or 'none'}); name one with --run-id"
                )
            run_id = next(iter(states))
        if run_id not in states:
            raise EstateError(f"no estate with run id {run_id} is up")
        return cls(dict(states[run_id]))

    # -- teardown -------------------------------------------------------------------------------

    def down(self) -> None:
        """Tear the estate down: processes, namespaces, bridge, route, files. Idempotent."""
        if self._down:
            return
        self._down = True
        atexit.unregister(self.down)
        if self._old_sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._old_sigterm)
        run_id = int(self._state["run_id"])
        keep = os.environ.get("UNDONE_ESTATE_KEEP") == "1"
        with file_lock(state_dir() / "lock"):
            _teardown_state(run_id, self._state, keep_dir=keep)
        for proc in self._procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)

    def __enter__(self) -> Estate:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    # -- what tests use -------------------------------------------------------------------------

    @property
    def run_id(self) -> int:
        return int(self._state["run_id"])

    @property
    def scanner_ns(self) -> str:
        """The namespace on the bridge (no route out) from which tests run the scanner."""
        return str(self._state["scanner_ns"])

    @property
    def scanner_address(self) -> str:
        return str(self._state["scanner_address"])

    @property
    def subnet(self) -> str:
        return str(self._state["subnet"])

    @property
    def dir(self) -> Path:
        return Path(self._state["dir"])

    @property
    def key_file(self) -> Path:
        """The client's private key (ed25519), authorised for root on every host."""
        return Path(self._state["key_file"])

    @property
    def known_hosts(self) -> Path:
        return Path(self._state["known_hosts"])

    @property
    def advisories(self) -> dict[str, Any]:
        """The scenario's advisory records: ``dir`` (DSA/list and DLA/list, for `undone
        advisories refresh --from`) and per advisory id its published day."""
        return dict(self._state.get("advisories") or {})

    @property
    def now(self) -> datetime:
        """The moment the scenario's relative ages were resolved against (UTC)."""
        return datetime.fromisoformat(str(self._state["now"]).replace("Z", "+00:00"))

    @property
    def timings(self) -> dict[str, float]:
        return dict(self._state.get("timings", {}))

    @property
    def hosts(self) -> list[dict[str, Any]]:
        """Every host's truth: what the scenario set, with absolute dates (ISO 8601, UTC)."""
        return list(self._state["hosts"])

    @property
    def state_file(self) -> Path:
        """The estate's state: names, PIDs and every host's truth (JSON)."""
        return _state_path(self.run_id)

    def host(self, name: str) -> dict[str, Any]:
        try:
            return self._hosts_by_name[name]
        except KeyError:
            raise EstateError(f"no host {name!r} in this estate") from None

    def tree(self, name: str) -> Path:
        """The host's private files on this machine (see builder.py for the layout)."""
        if self.host(name)["kind"] != "ssh":
            raise EstateError(f"{name} is an SNMP device: it has no file tree")
        return self.dir / "hosts" / name / "tree"

    def snapshot(self, name: str) -> dict[str, str]:
        """``{path as the host sees it: sha256}`` of every file of the host's private tree.

        Whiteouts show as ``"whiteout"``, symlinks as ``"symlink:<target>"``. The login records
        sshd writes at each login (wtmp, btmp, lastlog) are left out. A read-only scan must leave
        this unchanged.
        """
        tree = self.tree(name)
        result: dict[str, str] = {}
        for sub, mount_point in TREE_MOUNTS.items():
            base = tree / sub
            if base.is_file():
                result[mount_point] = sha256_file(base)
                continue
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames.sort()
                for filename in sorted(
                    filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]
                ):
                    path = Path(dirpath) / filename
                    host_path = mount_point + "/" + str(path.relative_to(base))
                    if host_path in LOGIN_RECORDS:
                        continue
                    info = path.lstat()
                    if stat.S_ISLNK(info.st_mode):
                        result[host_path] = "symlink:" + os.readlink(path)
                    elif stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
                        result[host_path] = "whiteout"
                    elif stat.S_ISREG(info.st_mode):
                        result[host_path] = sha256_file(path)
        return result

    def run_in_scanner(self, argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``argv`` in the scanner namespace (``ip netns exec``).

        Output is captured as text unless ``capture_output``/``text``/``stdout`` say otherwise;
        ``timeout`` defaults to 300 s and ``check`` to False.
        """
        if "stdout" not in kw and "stderr" not in kw:
            kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 300)
        kw.setdefault("check", False)
        return subprocess.run(["ip", "netns", "exec", self.scanner_ns, *argv], **kw)

    def ssh_argv(
        self, host: str, command: str = "", *, user: str = "root", port: int | None = None
    ) -> list[str]:
        """The OpenSSH client command line ``ssh`` uses (for the scanner namespace)."""
        truth = self.host(host)
        if port is None:
            open_ports = [
                p
                for p in truth["tcp_ports"]
                if not truth["firewall"] or p in truth["firewall"]["open"]
            ]
            port = 22 if 22 in open_ports else open_ports[0]
        argv = [
            "ssh", "-F", "/dev/null", "-i", str(self.key_file),
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-o", "KexAlgorithms=curve25519-sha256",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            "-o", "ControlMaster=no", "-o", "ControlPath=none",
            "-p", str(port), f"{user}@{truth['address']}",
        ]  # fmt: skip
        if command:
            argv += ["--", command]
        return argv

    def ssh(
        self,
        host: str,
        command: str,
        *,
        user: str = "root",
        port: int | None = None,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` on ``host`` with the OpenSSH client, from the scanner namespace."""
        return self.run_in_scanner(
            self.ssh_argv(host, command, user=user, port=port), timeout=timeout
        )

    def connect(self, address: str, port: int = 22, timeout: float = 5.0) -> socket.socket:
        """A TCP socket to an estate address, opened in the scanner namespace (for ``sock=``)."""
        return netns.connect(self.scanner_ns, address, port, timeout)

    def write_inventory(
        self, path: str | Path, hosts: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None, **extra_vars: Any
    ) -> Path:
        """Write an undone inventory (Ansible-shaped YAML) for ``hosts`` (default: every SSH host).

        ``extra_vars`` go into ``all.vars`` beside user, key_file and known_hosts; ``params``
        into the inventory's ``params`` (the baselines' parameters: name only those of the
        baselines the scan uses). A host's scenario ``inventory:`` block is merged into its
        entry. SNMP devices are listed (group ``network``, ``transport: snmp``) only when named
        in ``hosts``.
        """
        names = (
            list(hosts)
            if hosts is not None
            else [h["name"] for h in self.hosts if h["kind"] == "ssh"]
        )
        linux: dict[str, dict[str, Any]] = {}
        network: dict[str, dict[str, Any]] = {}
        for name in names:
            truth = self.host(name)
            if truth["kind"] == "ssh":
                entry: dict[str, Any] = {"address": truth["address"]}
                open_ports = [
                    p
                    for p in truth["tcp_ports"]
                    if not truth["firewall"] or p in truth["firewall"]["open"]
                ]
                if 22 not in open_ports:
                    entry["port"] = open_ports[0]
                entry["roles"] = list(truth["roles"])
                entry.update(truth.get("inventory") or {})
                linux[name] = entry
            else:
                network[name] = {
                    "address": truth["address"],
                    "roles": list(truth["roles"]),
                    "transport": "snmp",
                }
        variables: dict[str, Any] = {
            "user": "root",
            "key_file": str(self.key_file),
            "known_hosts": str(self.known_hosts),
        }
        variables.update(extra_vars)
        children: dict[str, Any] = {}
        if linux:
            children["linux"] = {"hosts": linux}
        if network:
            children["network"] = {"hosts": network}
        document: dict[str, Any] = {"all": {"vars": variables, "children": children}}
        if params:
            document["params"] = dict(params)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            f"# undone inventory for test estate ue{self.run_id} ({self._state.get('scenario')}),"
            f" written {iso(utcnow())}\n"
            + yaml.safe_dump(document, sort_keys=False, default_flow_style=None),
            encoding="utf-8",
        )
        return target

    @property
    def processes(self) -> dict[str, int]:
        """The outer PID of each host (``unshare``) and SNMP device (``snmpd``)."""
        return {p["name"]: int(p["pid"]) for p in self._state.get("pids", [])}

    def alive(self) -> dict[str, bool]:
        """Whether each host's recorded process is still running."""
        return {
            p["name"]: pid_alive(int(p["pid"]), p.get("start")) for p in self._state.get("pids", [])
        }

    def __repr__(self) -> str:
        scenario = self._state.get("scenario")
        return f"<Estate ue{self.run_id} {scenario}: {len(self.hosts)} hosts, {self.subnet}>"
