"""posix.applications: the applications that matter, installed beside the operating system.

Facts::

    apps.installed [{name, version, source, scope, id, path, channel}, ...]
    apps.count 7
    apps.incomplete []     (why the list may miss applications: more than 2000 were found)

``source`` is ``dpkg``, ``rpm``, ``snap``, ``flatpak``, ``opt`` (a self-contained install
found by its ``application.ini``) or ``bundle`` (a macOS application); ``scope`` is
``machine`` or ``user`` (a flatpak installation, a bundle under ``/Users/*/Applications`` or an
install in a home folder). ``version`` is as the source gives it (a Debian version keeps its
epoch and revision: the scanner side maps it to the upstream one). Only installed packages are
listed (dpkg ``ii``/``hi``; ``rc``, removed with configuration left, is not installed).

Every command output and file excerpt arrives base64-encoded on one line (the script's own
framing), so a hostile name or version (line breaks, section markers) is data, never structure.
A source whose tool is absent is simply not there; a tool that fails makes ``apps.installed``
an error naming it, never a shorter list.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from probes import applications as family
from probes.base import Block, Facts, RawSection, guard, inner_exit, split_blocks

PROVIDES = family.PROVIDES

MAX_ITEMS = 2000
TOOLS = ("base64", "tr", "head", "grep")  # what the script needs (its tools block lists them)
_PKG = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,127}$")
_VERSION = re.compile(r"^[A-Za-z0-9.+:~_ ()-]{1,64}$")
_PLIST_PAIR = re.compile(r"<key>(\w+)</key>\s*\n?\s*<string>([^<]{0,200})</string>")


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def decode(text: str) -> str:
    """One base64 field of the section (invalid base64 raises ValueError)."""
    t = text.strip()
    if not t:
        return ""
    try:
        return base64.b64decode(t, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"not base64 ({e})") from None


def records(block: Block | None) -> list[str]:
    """The lines of a block of records whose fields are base64 (one line may hold a whole file's
    base64: it is never cut, unlike :meth:`Block.lines`; decoding it is what bounds it)."""
    if block is None:
        return []
    return [ln for ln in block.text.split("\n") if ln]


def _decoded(block: Block | None) -> Block | None:
    """A block whose text is one base64 line (a command's output and its @@exit line)."""
    if block is None:
        return None
    if block.rc is None:
        return Block("", None)
    if not block.ok:
        return block
    return inner_exit(Block(decode(block.text), block.rc))


def _parse(raw: RawSection, facts: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    end = blocks.get("end")
    if end is None or end.rc is None:
        facts.error_all(PROVIDES, "posix.applications: output incomplete (no end marker)")
        return
    tools = blocks.get("tools")
    lacking = [t for t in TOOLS if t not in (tools.text.split() if tools else [])]
    if lacking:
        facts.error_all(PROVIDES, f"posix.applications: the target lacks {', '.join(lacking)}, "
                                  "which the section needs (its output would be incomplete)")
        return
    items: list[dict[str, Any]] = []
    problems: list[str] = []
    dpkg = _decoded(blocks.get("dpkg"))
    if dpkg is not None:
        items += _dpkg(dpkg, problems)
    rpm = _decoded(blocks.get("rpm"))
    if rpm is not None:
        items += _rpm(rpm, problems)
    snap = _decoded(blocks.get("snap"))
    if snap is not None:
        items += _snap(snap, problems)
    flatpak = _decoded(blocks.get("flatpak"))
    if flatpak is not None:
        items += _flatpak(flatpak, problems)
    opt = blocks.get("opt")
    if opt is not None and opt.ok:
        items += _opt(opt)
    incomplete: list[str] = []
    platform = (blocks.get("platform") or Block("", 0)).text.strip()
    if "pkgtool" in blocks and platform != "Darwin":
        incomplete.append("neither dpkg-query nor rpm answers on this host: packaged "
                          "applications are not listed")
    bundles = blocks.get("bundles")
    if bundles is not None:
        if bundles.ok:
            items += _bundles(bundles)
        else:
            problems.append(bundles.why("application bundles"))
    if problems:
        facts.error_all(PROVIDES, "; ".join(problems)[:500])
        return
    facts.set("apps.installed", items[:MAX_ITEMS])
    facts.set("apps.count", len(items))
    # a list cut to its first MAX_ITEMS can prove a failure, never a pass
    if len(items) > MAX_ITEMS:
        incomplete.append(f"{len(items)} applications found, only the first {MAX_ITEMS} are "
                          "listed")
    facts.set("apps.incomplete", incomplete)


def _dpkg(block: Block, problems: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in block.lines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue  # "dpkg-query: no packages found matching ..." for the names not there
        status, name, version = (p.strip() for p in parts)
        if status[:2] not in ("ii", "hi") or not _PKG.match(name) or not _VERSION.match(version):
            continue
        out.append({"name": name, "version": version, "source": "dpkg", "scope": "machine"})
    if block.rc not in (0, 1) or (block.rc == 1 and not out and "no packages found" not in
                                  block.text):
        problems.append(block.why("dpkg-query"))
    return out


def _rpm(block: Block, problems: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in block.lines():
        parts = line.split("\t")
        if len(parts) != 2 or not _PKG.match(parts[0].strip()):
            continue  # "package X is not installed"
        version = parts[1].strip()
        if version.startswith("0:"):
            version = version[2:]
        if _VERSION.match(version):
            out.append({"name": parts[0].strip(), "version": version, "source": "rpm",
                        "scope": "machine"})
    if block.rc not in (0, 1):
        problems.append(block.why("rpm -q"))
    return out


def _snap(block: Block, problems: list[str]) -> list[dict[str, Any]]:
    lines = block.lines()
    if block.rc != 0:
        text = block.text.lower()
        if "no snaps are installed" in text:
            return []
        problems.append(block.why("snap list"))
        return []
    out: list[dict[str, Any]] = []
    header = lines[0].split() if lines else []
    if header[:2] != ["Name", "Version"]:
        if any(ln.strip() for ln in lines):
            problems.append("snap list: output not understood (no Name/Version header)")
        return []
    for line in lines[1:]:
        cols = line.split()
        if len(cols) < 2 or not _PKG.match(cols[0]) or not _VERSION.match(cols[1]):
            continue
        out.append({"name": cols[0], "version": cols[1], "source": "snap", "scope": "machine",
                    "channel": cols[3] if len(cols) > 3 else None})
    return out


def _flatpak(block: Block, problems: list[str]) -> list[dict[str, Any]]:
    if block.rc != 0:
        problems.append(block.why("flatpak list"))
        return []
    out: list[dict[str, Any]] = []
    for line in block.lines():
        cols = line.split("\t")
        if len(cols) < 2 or not re.match(r"^[A-Za-z0-9_.-]{3,255}$", cols[0].strip()):
            continue
        app, version = cols[0].strip(), cols[1].strip()
        installation = cols[4].strip() if len(cols) > 4 else ""
        out.append({"name": app, "id": app, "version": version[:64], "source": "flatpak",
                    "scope": "user" if installation == "user" else "machine",
                    "channel": cols[2].strip() if len(cols) > 2 else None})
    return out


def _opt(block: Block) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in records(block):
        parts = line.split("\t")
        if len(parts) != 4 or parts[0] != "ini":
            continue
        path, ini, channel = decode(parts[1]), decode(parts[2]), decode(parts[3])
        values = dict(ln.split("=", 1) for ln in ini.split("\n") if "=" in ln)
        name, version = values.get("Name", "").strip(), values.get("Version", "").strip()
        if not name or not version:
            continue
        m = re.search(r'"app\.update\.channel"\s*,\s*"([A-Za-z0-9_-]{1,40})"', channel)
        out.append({"name": name[:80], "version": version[:64], "source": "opt",
                    "scope": "user" if path.startswith(("/home/", "/root/")) else "machine",
                    "path": path[:300], "vendor": values.get("Vendor", "").strip()[:80] or None,
                    "channel": m.group(1) if m else None})
    return out


def _bundles(block: Block) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in records(block):
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] != "bundle":
            continue
        path, snippet = decode(parts[1]), decode(parts[2])
        keys = dict(_PLIST_PAIR.findall(snippet))
        version = keys.get("CFBundleShortVersionString") or keys.get("CFBundleVersion") or ""
        name = (keys.get("CFBundleDisplayName") or keys.get("CFBundleName")
                or path.rsplit("/", 1)[-1].removesuffix(".app"))
        out.append({"name": name.strip()[:120], "version": version.strip()[:64],
                    "id": keys.get("CFBundleIdentifier", "").strip()[:200] or None,
                    "source": "bundle", "path": path[:300],
                    "scope": "user" if path.startswith("/Users/") else "machine"})
    return out
