"""posix.sshd: the OpenSSH server's effective settings.

As root the script asks the daemon itself (``sshd -T``), which resolves Include files, defaults
and the distribution's patches: ``sshd.source`` is ``"sshd -T"``. When that cannot run (not
root, or sshd refuses, e.g. "Missing privilege separation directory" on a host where sshd has
never started) the script prints ``/etc/ssh/sshd_config`` and the files it includes, and this
parser applies sshd's own rules: the first value of a keyword wins (``Port`` accumulates),
``Include`` files are read in place in lexical order (an included file starts in the Match
context of the line that includes it), and a ``Match`` block lasts to the next ``Match`` line or
the end of the file it is in. Only what applies to every connection counts: the global section,
and ``Match all`` blocks, whose values (the first one wins among them) override the global ones
for every connection, as ``sshd -T`` shows them (checked with OpenSSH 9.2). Keys set nowhere take
the upstream OpenSSH default for the version (listed in ``sshd.defaults_used``);
``sshd.source`` is then ``"config-files"`` and ``sshd.source_reason`` says why. Options given to
sshd on its command line (RHEL 8 passes its crypto policy that way) are not visible in the
files: run as root.

Facts::

    sshd.installed true           sshd.source "sshd -T"       sshd.source_reason null
    sshd.version "9.2"            sshd.permitrootlogin "prohibit-password"
    sshd.passwordauthentication "yes"     sshd.permitemptypasswords "no"
    sshd.kbdinteractiveauthentication "no"    sshd.pubkeyauthentication "yes"
    sshd.x11forwarding "yes"      sshd.maxauthtries 6         sshd.ports [22]
    sshd.ciphers [...]            sshd.macs [...]             sshd.kexalgorithms [...]
    sshd.weak_algorithms []
    sshd.defaults_used []         sshd.config_files []

``without-password`` (the old name, which ``sshd -T`` still prints) becomes
``prohibit-password``. ``weak_algorithms`` lists the offered ciphers, MACs and key exchanges that
are obsolete: CBC modes, 3DES, arcfour, blowfish, cast128, HMAC-MD5, truncated HMAC-SHA1-96,
HMAC-RIPEMD160 and the SHA-1 Diffie-Hellman groups. Full-length HMAC-SHA1 and UMAC-64, which
upstream OpenSSH 9.x still offers by default, are weaker than their SHA-2 peers but not broken
(ssh-audit rates them a warning), so they are not listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from probes.base import Block, Facts, RawSection, glob_match, guard, split_blocks

PROVIDES = (
    "sshd.installed",
    "sshd.source",
    "sshd.source_reason",
    "sshd.version",
    "sshd.permitrootlogin",
    "sshd.passwordauthentication",
    "sshd.permitemptypasswords",
    "sshd.kbdinteractiveauthentication",
    "sshd.pubkeyauthentication",
    "sshd.x11forwarding",
    "sshd.maxauthtries",
    "sshd.ports",
    "sshd.ciphers",
    "sshd.macs",
    "sshd.kexalgorithms",
    "sshd.weak_algorithms",
    "sshd.defaults_used",
    "sshd.config_files",
)

_YESNO = (
    "permitrootlogin",
    "passwordauthentication",
    "permitemptypasswords",
    "kbdinteractiveauthentication",
    "pubkeyauthentication",
    "x11forwarding",
)
_LISTS = ("ciphers", "macs", "kexalgorithms")
_KEYS = (*_YESNO, "maxauthtries", "port", *_LISTS)
_ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication"}

_CIPHERS_7 = (
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com"
)
_MACS_7 = (
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
    "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
    "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"
)
_KEX_TAIL = (
    "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
    "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
)
_ECDH = "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521"
_KEX_9 = (
    f"sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
    f"{_ECDH},{_KEX_TAIL}"
)
_KEX_85 = (
    f"curve25519-sha256,curve25519-sha256@libssh.org,{_ECDH},"
    f"sntrup761x25519-sha512@openssh.com,{_KEX_TAIL}"
)
# Upstream defaults by version range [low, high): (key, low, high, value). Outside the ranges
# undone does not know the default, and an unset key is an error rather than a guess.
_DEFAULTS: tuple[tuple[str, tuple[int, int], tuple[int, int], str], ...] = (
    ("permitrootlogin", (7, 0), (99, 0), "prohibit-password"),
    ("permitrootlogin", (3, 0), (7, 0), "yes"),
    ("passwordauthentication", (3, 0), (99, 0), "yes"),
    ("permitemptypasswords", (3, 0), (99, 0), "no"),
    ("kbdinteractiveauthentication", (3, 0), (99, 0), "yes"),
    ("pubkeyauthentication", (3, 0), (99, 0), "yes"),
    ("x11forwarding", (3, 0), (99, 0), "no"),
    ("maxauthtries", (3, 9), (99, 0), "6"),
    ("port", (1, 0), (99, 0), "22"),
    ("ciphers", (7, 0), (10, 0), _CIPHERS_7),
    ("macs", (7, 0), (10, 0), _MACS_7),
    ("kexalgorithms", (9, 0), (9, 9), _KEX_9),
    ("kexalgorithms", (8, 5), (9, 0), _KEX_85),
)

_VERSION_RE = re.compile(r"OpenSSH_(\d+)\.(\d+)(p\d+)?")
_KV_RE = re.compile(r"^(\S+?)(?:\s*=\s*|\s+)(.*)$")
_PATH_PREFIX = "# undone-path: "


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    binary = blocks.get("sshd")
    if binary is None or binary.rc is None:
        facts.error_all(PROVIDES, (binary or Block("", None)).why("sshd"))
        return
    if binary.missing:
        facts.set("sshd.installed", False)
        return
    if not binary.ok:
        facts.error_all(PROVIDES, binary.why("sshd"))
        return
    facts.set("sshd.installed", True)

    vblock = blocks.get("version")
    version = _version(vblock)
    if version is not None:
        facts.set("sshd.version", f"{version[0]}.{version[1]}{version[2]}")
    elif vblock is None or vblock.rc is None:
        facts.error("sshd.version", (vblock or Block("", None)).why("sshd -V"))
    else:
        first = next((ln.strip() for ln in vblock.lines() if ln.strip()), "")
        facts.error("sshd.version", f"sshd -V: no OpenSSH version in {first[:80]!r}")

    t = blocks.get("sshd_T")
    if t is not None and t.ok:
        settings = _from_sshd_t(t)
        if isinstance(settings, str):
            facts.error_all([n for n in PROVIDES if n not in facts.values], settings)
            return
        facts.set("sshd.source", "sshd -T")
        facts.set("sshd.source_reason", None)
        facts.set("sshd.defaults_used", [])
        facts.set("sshd.config_files", [])
        _emit(settings, {}, facts)
        return

    if t is None or t.rc is None:
        reason = (t or Block("", None)).why("sshd -T")
        facts.error_all([n for n in PROVIDES if n not in facts.values], reason)
        return
    why = "sshd -T needs root" if t.denied else t.why("sshd -T")
    facts.set("sshd.source", "config-files")
    facts.set("sshd.source_reason", why)
    _from_files(blocks, version, facts)


def _version(block: Block | None) -> tuple[int, int, str] | None:
    if block is None:
        return None
    m = _VERSION_RE.search(block.text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), m.group(3) or ""


def _from_sshd_t(block: Block) -> dict[str, list[str]] | str:
    if block.has_long_line:
        return "sshd -T: a line longer than undone reads; its settings cannot be trusted whole"
    values: dict[str, list[str]] = {}
    for line in block.lines():
        key, _, value = line.strip().partition(" ")
        key = _ALIASES.get(key.lower(), key.lower())
        if key in _KEYS:
            values.setdefault(key, []).append(value.strip())
    if "permitrootlogin" not in values or "port" not in values:
        first = next((ln.strip() for ln in block.lines() if ln.strip()), "")
        return f"sshd -T: unexpected output {first[:120]!r}"
    return values


#: Include patterns times files undone tries in one parse: a real sshd_config needs a few
#: hundred; a hostile output with thousands of patterns and files would cost minutes (issue 15,
#: M1). Past it the walk stops following includes and what is unset is unknown.
MAX_INCLUDE_MATCHES = 100_000


@dataclass
class _Walk:
    files: dict[str, Block]
    values: dict[str, list[str]] = field(default_factory=dict)
    # values set in "Match all" blocks: they override the global ones for every connection
    match_all: dict[str, list[str]] = field(default_factory=dict)
    # the file (and why: not readable, a line too long, too many Include matches) after which
    # keys not yet set are unknown
    uncertain_after: str | None = None
    unsure: set[str] = field(default_factory=set)
    read: list[str] = field(default_factory=list)
    matched: int = 0  # Include patterns tried against files, bounded by MAX_INCLUDE_MATCHES


_UNLISTED = "# undone-unlisted:"


def _config_files(blocks: dict[str, Block]) -> tuple[dict[str, Block], list[str]]:
    """The configuration files by path, and the paths the script could not list (a name with a
    line break: where it comes in the order is unknown)."""
    files: dict[str, Block] = {}
    unlisted: list[str] = []
    for name, block in blocks.items():
        if not name.startswith("config."):
            continue
        lines = block.text.split("\n")
        if not lines or not lines[0].startswith(_PATH_PREFIX):
            continue
        path = lines[0][len(_PATH_PREFIX) :].strip()
        if len(lines) > 1 and lines[1].startswith(_UNLISTED):
            unlisted.append(path)
            continue
        files[path] = Block("\n".join(lines[1:]), block.rc)
    return files, unlisted


def _from_files(
    blocks: dict[str, Block], version: tuple[int, int, str] | None, facts: Facts
) -> None:
    settings = [f"sshd.{k}" for k in (*_YESNO, "maxauthtries", "ports", *_LISTS)]
    derived = ("sshd.weak_algorithms", "sshd.defaults_used", "sshd.config_files")
    end = blocks.get("end")
    if end is None or end.rc is None:  # a half-printed end block is a cut too
        facts.error_all((*settings, *derived), "sshd: output cut off before every file was read")
        return
    files, unlisted = _config_files(blocks)
    if unlisted:
        facts.error_all(
            (*settings, *derived),
            f"an included configuration file's name holds a line break or a tab "
            f"({unlisted[0][:80]!r}): its place in the order is unknown, so no setting read from "
            "the files can be trusted (run as root so sshd -T is used)",
        )
        return
    main = files.get("/etc/ssh/sshd_config")
    if main is None or not main.ok:
        reason = (main or Block("", None)).why("/etc/ssh/sshd_config")
        if main is not None and main.denied:
            reason = "/etc/ssh/sshd_config: not readable (run as root so sshd -T can be used)"
        facts.error_all((*settings, *derived), reason)
        return
    walk = _Walk(files=files)
    _walk_file(walk, "/etc/ssh/sshd_config", 0, "global")
    walk.values.update(walk.match_all)
    facts.set("sshd.config_files", walk.read)
    defaults_used: list[str] = []
    errors: dict[str, str] = {}
    for key in _KEYS:
        if key in walk.values and key not in walk.unsure:
            continue
        if walk.uncertain_after is not None:
            errors[key] = (
                f"{walk.uncertain_after}, so the value is unknown (run as root so sshd -T "
                "reports it)"
            )
            walk.values.pop(key, None)
            continue
        default = _default(key, version)
        if default is None:
            ver = f"{version[0]}.{version[1]}" if version else "unknown"
            errors[key] = (
                f"not set in the config files and the OpenSSH {ver} default is not known to "
                "undone (run as root so sshd -T reports it)"
            )
            continue
        walk.values[key] = [default]
        defaults_used.append("ports" if key == "port" else key)
    # "+", "-", "^" forms of the algorithm lists are relative to the default.
    for key in _LISTS:
        raw = walk.values.get(key, [""])[0]
        if raw[:1] in ("+", "-", "^"):
            base = _default(key, version)
            if base is None:
                errors[key] = f"{key} {raw[:40]} modifies a default undone does not know"
                walk.values.pop(key, None)
            else:
                walk.values[key] = [_modify(base, raw)]
    facts.set("sshd.defaults_used", sorted(defaults_used))
    _emit(walk.values, errors, facts)


def _walk_file(walk: _Walk, path: str, depth: int, context: str) -> None:
    """Read one file in place. ``context``: "global", "all" (inside ``Match all``) or "other"
    (inside a Match block for some connections only, whose settings are not counted)."""
    block = walk.files.get(path)
    if block is None or depth > 16:
        return
    if not block.ok:
        if not block.absent and walk.uncertain_after is None:
            walk.uncertain_after = f"{path}: not readable"
        return
    walk.read.append(path)
    if block.has_long_line and walk.uncertain_after is None:
        walk.uncertain_after = f"{path}: a line longer than undone reads"
    for line in block.lines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = _KV_RE.match(s)
        if not m:
            continue
        key, value = m.group(1).lower(), m.group(2).strip()
        key = _ALIASES.get(key, key)
        if key == "match":
            criteria = [w.lower() for w in _words(value)]
            context = "all" if criteria == ["all"] else "other"
            continue
        if context == "other":
            continue
        if key == "include":
            # each pattern once: a hostile line repeating one word thousands of times costs a
            # match per file, not per word (issue 15, M1)
            for pattern in dict.fromkeys(_words(value)):
                if not pattern.startswith("/"):
                    pattern = "/etc/ssh/" + pattern
                walk.matched += len(walk.files)
                if walk.matched > MAX_INCLUDE_MATCHES:
                    if walk.uncertain_after is None:
                        walk.uncertain_after = (f"{path}: more Include patterns and files than "
                                                "undone follows")
                    break
                for found in sorted(p for p in walk.files if glob_match(pattern, p)):
                    _walk_file(walk, found, depth + 1, context)
            continue
        if key not in _KEYS:
            continue
        target = walk.values if context == "global" else walk.match_all
        if key == "port":
            if context == "global":  # sshd refuses Port inside a Match block
                walk.values.setdefault("port", []).extend(_words(value))
                if walk.uncertain_after is not None:
                    walk.unsure.add("port")
        elif key not in target:
            target[key] = [_words(value)[0] if _words(value) else ""]
            if walk.uncertain_after is not None:
                walk.unsure.add(key)


def _words(value: str) -> list[str]:
    out: list[str] = []
    for m in re.finditer(r'"([^"]*)"|(\S+)', value):
        if m.group(2) is not None and m.group(2).startswith("#"):
            break  # a trailing comment
        out.append(m.group(1) if m.group(1) is not None else m.group(2))
    return out


def _default(key: str, version: tuple[int, int, str] | None) -> str | None:
    if version is None:
        return None
    v = version[:2]
    for k, low, high, value in _DEFAULTS:
        if k == key and low <= v < high:
            return value
    return None


def _modify(base: str, spec: str) -> str:
    items = [a for a in base.split(",") if a]
    extra = [a for a in spec[1:].split(",") if a]
    if spec[0] == "+":
        return ",".join(items + [a for a in extra if a not in items])
    if spec[0] == "^":
        return ",".join(extra + [a for a in items if a not in extra])
    return ",".join(a for a in items if not any(glob_match(p, a, slash=True) for p in extra))


def _emit(values: dict[str, list[str]], errors: dict[str, str], facts: Facts) -> None:
    for key in _YESNO:
        name = f"sshd.{key}"
        if key in errors:
            facts.error(name, errors[key])
            continue
        v = values[key][0].lower()
        facts.set(name, "prohibit-password" if v == "without-password" else v)
    if "maxauthtries" in errors:
        facts.error("sshd.maxauthtries", errors["maxauthtries"])
    else:
        text = values["maxauthtries"][0]
        if text.isdigit():
            facts.set("sshd.maxauthtries", int(text))
        else:
            facts.error("sshd.maxauthtries", f"MaxAuthTries is not a number: {text[:40]!r}")
    if "port" in errors:
        facts.error("sshd.ports", errors["port"])
    else:
        ports = sorted({int(p) for p in values["port"] if p.isdigit()})
        if ports and len(ports) == len(set(values["port"])):
            facts.set("sshd.ports", ports)
        else:
            facts.error("sshd.ports", f"unreadable Port value(s): {values['port'][:5]!r}")
    weak: set[str] = set()
    complete = True
    for key in _LISTS:
        name = f"sshd.{key}"
        if key in errors:
            facts.error(name, errors[key])
            complete = False
            continue
        algos = [a.strip().lower() for a in values[key][0].split(",") if a.strip()]
        facts.set(name, algos)
        weak.update(a for a in algos if _weak(a))
    if complete:
        facts.set("sshd.weak_algorithms", sorted(weak))
    else:
        facts.error(
            "sshd.weak_algorithms",
            "not every algorithm list is known: " + next(iter(errors.values()), "")[:200],
        )


_WEAK_KEX = {
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
}


def _weak(algo: str) -> bool:
    a = algo.lower()
    return (
        a in _WEAK_KEX
        or bool(re.search(r"-cbc(@|$)", a))
        or "3des" in a
        or a.startswith(("arcfour", "blowfish", "cast128", "hmac-md5", "hmac-sha1-96",
                         "hmac-ripemd160", "ssh-dss"))
    )
