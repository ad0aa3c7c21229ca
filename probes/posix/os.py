"""posix.os: what system this is.

Reads ``uname``, ``/etc/os-release`` (or ``/usr/lib/os-release``; ``sw_vers`` on macOS), the
uptime (``/proc/uptime``, or ``sysctl kern.boottime`` on BSD and macOS), ``id -u``, the target's
clock, and which package managers are on PATH. Any user can read all of it.

Example facts (Debian 12 as root)::

    os.family "linux"              os.id "debian"             os.id_like []
    os.version_id "12"             os.version_codename "bookworm"
    os.kernel "6.1.0-27-amd64"     os.arch "x86_64"           os.hostname "web01"
    os.uptime_days 3.25            os.boot_time "2026-11-18T18:00:00Z"
    os.uid 0                       os.privileged true         os.package_manager "apt"

``os.boot_time`` is the collection time less the uptime, so a wrong clock on the target does not
move it; ``os.clock_skew_seconds`` is the target's clock less the collection time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from probes import os as family
from probes.base import Block, Facts, RawSection, guard, iso, split_blocks

PROVIDES = (
    *family.PROVIDES,
    "os.version_codename",
    "os.kernel",
    "os.uid",
    "os.package_manager",
)

# Package-manager commands in order of preference (RHEL 8+ has both dnf and a yum alias).
_MANAGERS = (
    ("apt-get", "apt"),
    ("dnf", "dnf"),
    ("yum", "yum"),
    ("zypper", "zypper"),
    ("apk", "apk"),
)
_OS_RELEASE_KEYS = {
    "ID": "os.id",
    "VERSION_ID": "os.version_id",
    "VERSION": "os.version",
    "VERSION_CODENAME": "os.version_codename",
    "NAME": "os.name",
    "PRETTY_NAME": "os.pretty_name",
}
_KEY_RE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")
_BOOTTIME_RE = re.compile(r"sec\s*=\s*(\d+)")


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    now = raw.collected_at

    family = _one_line(blocks, "uname_s", "uname -s", "os.family", facts)
    if family is not None:
        family = family.lower()
        facts.set("os.family", family)
    for block, what, fact in (
        ("uname_r", "uname -r", "os.kernel"),
        ("uname_m", "uname -m", "os.arch"),
        ("uname_n", "uname -n", "os.hostname"),
    ):
        value = _one_line(blocks, block, what, fact, facts)
        if value is not None:
            facts.set(fact, value)

    _os_release(blocks, family, facts)
    _uptime(blocks, now, facts)

    uid_text = _one_line(blocks, "uid", "id -u", "os.uid", facts)
    if uid_text is not None:
        if uid_text.isdigit():
            uid = int(uid_text)
            facts.set("os.uid", uid)
            facts.set("os.privileged", uid == 0)
        else:
            facts.error_all(("os.uid", "os.privileged"), f"id -u: not a number: {uid_text[:80]!r}")
    else:
        facts.error("os.privileged", facts.errors.get("os.uid", "id -u: no output"))

    epoch = _one_line(blocks, "epoch", "date -u +%s", "os.time", facts)
    if epoch is not None and epoch.isdigit():
        target_now = datetime.fromtimestamp(int(epoch), UTC)
        facts.set("os.time", iso(target_now))
        facts.set("os.clock_skew_seconds", round((target_now - now).total_seconds()))
    else:
        reason = facts.errors.get("os.time") or f"date -u +%s: not a number: {epoch!r}"
        facts.error_all(("os.time", "os.clock_skew_seconds"), reason)

    pm = blocks.get("package_managers")
    if pm is None or not pm.ok:
        reason = (pm or Block("", None)).why("package manager lookup")
        facts.error("os.package_manager", reason)
    else:
        found = {ln.strip() for ln in pm.lines()}
        facts.set("os.package_manager", next((m for cmd, m in _MANAGERS if cmd in found), None))


def _one_line(
    blocks: dict[str, Block], name: str, what: str, fact: str, facts: Facts
) -> str | None:
    """The first non-empty line of a block, or None after recording why as an error."""
    block = blocks.get(name)
    if block is None:
        facts.error(fact, f"{what}: no output from the target")
        return None
    if not block.ok:
        facts.error(fact, block.why(what))
        return None
    line = next((ln.strip() for ln in block.lines() if ln.strip()), "")
    if not line:
        facts.error(fact, f"{what}: empty output")
        return None
    return line


def _unquote(value: str) -> str:
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] == "'":
        return v[1:-1]
    if len(v) >= 2 and v[0] == v[-1] == '"':
        return re.sub(r'\\([\\"$`])', r"\1", v[1:-1])
    return v


def _os_release(blocks: dict[str, Block], family: str | None, facts: Facts) -> None:
    names = (*_OS_RELEASE_KEYS.values(), "os.id_like")
    block = blocks.get("os_release")
    if family == "darwin":
        _sw_vers(blocks.get("sw_vers"), facts)
        return
    if block is None or not block.ok:
        reason = (block or Block("", None)).why("/etc/os-release")
        facts.error_all(names, reason)
        return
    values: dict[str, str] = {}
    for line in block.lines():
        m = _KEY_RE.match(line.strip())
        if m:
            values[m.group(1)] = _unquote(m.group(2))
    if "ID" not in values and "NAME" not in values:
        facts.error_all(names, "/etc/os-release: no ID or NAME line in it")
        return
    for key, fact in _OS_RELEASE_KEYS.items():
        facts.set(fact, values.get(key) or None)
    if values.get("ID"):
        facts.set("os.id", values["ID"].lower())
    else:
        facts.set("os.id", "linux")  # os-release(5): ID defaults to "linux"
    facts.set("os.id_like", values.get("ID_LIKE", "").lower().split())


def _sw_vers(block: Block | None, facts: Facts) -> None:
    names = (*_OS_RELEASE_KEYS.values(), "os.id_like")
    if block is None or not block.ok:
        facts.error_all(names, (block or Block("", None)).why("sw_vers"))
        return
    values: dict[str, str] = {}
    for line in block.lines():
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    product, version = values.get("ProductName"), values.get("ProductVersion")
    if not product or not version:
        facts.error_all(names, "sw_vers: no ProductName or ProductVersion in its output")
        return
    facts.set("os.id", "macos")
    facts.set("os.id_like", [])
    facts.set("os.name", product)
    facts.set("os.version_id", version)
    facts.set("os.version", version)
    facts.set("os.version_codename", None)
    facts.set("os.pretty_name", f"{product} {version}")


def _uptime(blocks: dict[str, Block], now: datetime, facts: Facts) -> None:
    names = ("os.uptime_days", "os.boot_time")
    up = blocks.get("uptime")
    if up is not None:
        if not up.ok:
            facts.error_all(names, up.why("/proc/uptime"))
            return
        first = up.text.split()
        try:
            seconds = float(first[0])
        except (IndexError, ValueError):
            facts.error_all(names, f"/proc/uptime: not a number: {up.text.strip()[:80]!r}")
            return
        if seconds < 0:
            facts.error_all(names, "/proc/uptime: negative uptime")
            return
        facts.set("os.uptime_days", round(seconds / 86400.0, 2))
        facts.set("os.boot_time", iso(now - timedelta(seconds=seconds)))
        return
    bt = blocks.get("boottime")
    if bt is None:
        facts.error_all(names, "uptime: no output from the target")
        return
    if not bt.ok:
        facts.error_all(names, bt.why("sysctl kern.boottime"))
        return
    m = _BOOTTIME_RE.search(bt.text)
    if not m:
        facts.error_all(names, f"sysctl kern.boottime: unexpected output {bt.text.strip()[:80]!r}")
        return
    boot = datetime.fromtimestamp(int(m.group(1)), UTC)
    epoch = blocks.get("epoch")
    target_now = now
    if epoch is not None and epoch.ok and epoch.text.strip().isdigit():
        target_now = datetime.fromtimestamp(int(epoch.text.strip()), UTC)
    facts.set("os.uptime_days", round(max(0.0, (target_now - boot).total_seconds()) / 86400.0, 2))
    facts.set("os.boot_time", iso(boot))
