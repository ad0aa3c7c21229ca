"""known_hosts files: read safely, matched as OpenSSH matches them, written only to undone's own.

Which files (:class:`~scanner.engine.transports.ssh_hostkey.KnownHosts`): the inventory
host's ``known_hosts``, undone's own file (``--known-hosts FILE`` on the command line, else
``$XDG_DATA_HOME/undone/known_hosts``, i.e. ``~/.local/share/undone/known_hosts``), then
``~/.ssh/known_hosts`` and ``/etc/ssh/ssh_known_hosts``. All are read; **only undone's own file
is ever written** (trust on first use appends to it), so an inventory cannot make undone write
to a file of its choosing.

Reading (:func:`read`): a file that is missing holds nothing; one that is not a regular file
(a FIFO, a device, a folder) or is larger than :data:`MAX_FILE` is not read and says so; undone's
own file is opened without following a link and must belong to the scanner's user. A line that
is not a known_hosts entry is skipped and reported as ``line N of FILE is not a known_hosts
entry``, never with its text (an inventory may name any file, say a ``.my.cnf``, as known_hosts).

Matching (:meth:`Entry.matches`), as OpenSSH's ``sshd(8)`` "SSH_KNOWN_HOSTS FILE FORMAT": a line
is ``[marker] patterns keytype base64 [comment]``; patterns are comma-separated names with ``*``
and ``?`` wildcards, ``!`` negation and ``|1|salt|hash`` hashed names, matched against ``host``
(port 22) or ``[host]:port``, case-insensitively. Markers:

* ``@revoked``: the key must never be accepted for the hosts the line names, whatever else says
  so; as a certificate authority, no certificate it signed is accepted either.
* ``@cert-authority``: the key is a certificate authority; a host certificate it signed is
  accepted for a host the line names (:func:`check_certificate`: a host certificate, valid now,
  naming the host among its principals, without critical options, signed with SHA-2 or EdDSA).

What undone supports of host certificates (paramiko verifies the key exchange signature with the
certified key but does not check the certificate itself; undone does): certificates of
``ssh-ed25519``, ``ecdsa-sha2-nistp256/384/521`` and RSA (``rsa-sha2-256/512``) keys, signed by a
CA key of those types. Stricter than OpenSSH: a host certificate with no principals (valid for
any host to OpenSSH) is refused. A host certificate whose CA is not trusted falls back to its
plain key, as OpenSSH does. Not supported: KRL files (``RevokedHostKeys``), ``@cert-authority``
for ``sk-`` (security key) CAs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import stat
from dataclasses import dataclass, field

import paramiko

from scanner.engine.transports.hostcerts import (
    Certificate,
    check_certificate,
    parse_certificate,
)
from scanner.engine.transports.sshwire import (
    CERT_ALGORITHMS,
    CERT_SUFFIX,
    PLAIN_ALGORITHMS,
    blob_type,
    fingerprint_blob,
)

MAX_FILE = 16 * 1024 * 1024  # bytes of one known_hosts file read
MAX_LINE = 16 * 1024  # an RSA 16384-bit certificate line is about 6 KiB
MARKERS = {"@cert-authority": "cert-authority", "@revoked": "revoked"}
_KEY_TYPE = re.compile(r"[A-Za-z0-9@._+-]{1,80}")
_HASHED = re.compile(r"\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)")
# what undone writes: a host name, an IPv4/IPv6 literal (zone allowed), [that]:port
_RECORDABLE = re.compile(r"(?:\[[0-9A-Za-z._:%-]{1,253}\]:[0-9]{1,5}|[0-9A-Za-z._:%-]{1,253})")
class Refused(Exception):
    """A known_hosts file cannot be used as asked (undone's own file is a link, not a regular
    file, not the scanner user's, or a name is not one undone records)."""


def default_own_file() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                          "share")
    return os.path.join(base, "undone", "known_hosts")


def lookup_name(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


# -- patterns ----------------------------------------------------------------------------------


def _wildcard(name: str, pattern: str) -> bool:
    """``*`` and ``?`` matching in linear time (greedy with one backtrack point)."""
    n = p = 0
    star = -1
    mark = 0
    while n < len(name):
        if p < len(pattern) and pattern[p] == "*":
            star, mark = p, n
            p += 1
        elif p < len(pattern) and pattern[p] in ("?", name[n]):
            n += 1
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            n = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _one(name: str, pattern: str) -> bool:
    m = _HASHED.fullmatch(pattern)
    if m is not None:
        try:
            salt = base64.b64decode(m.group(1))
            want = base64.b64decode(m.group(2))
        except ValueError:
            return False
        got = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
        return hmac.compare_digest(got, want)
    return _wildcard(name.lower(), pattern.lower())


# -- entries and files -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    marker: str  # "" (a host's key), "cert-authority" or "revoked"
    patterns: tuple[str, ...]
    key_type: str
    blob: bytes
    source: str
    line: int

    def matches(self, name: str) -> bool:
        """OpenSSH's rule: some pattern matches and no negated one does."""
        hit = False
        for pat in self.patterns:
            if pat.startswith("!"):
                if _one(name, pat[1:]):
                    return False
            elif not hit and _one(name, pat):
                hit = True
        return hit

    @property
    def where(self) -> str:
        return f"line {self.line} of {self.source}"


@dataclass
class File:
    path: str
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_line(text: str, source: str, line: int) -> Entry | None:
    """One known_hosts line as an entry; None if it is not one (the caller reports that)."""
    fields = text.split()
    marker = ""
    if fields and fields[0].startswith("@"):
        if fields[0] not in MARKERS:
            return None
        marker = MARKERS[fields[0]]
        fields = fields[1:]
    if len(fields) < 3:
        return None
    patterns, key_type, b64 = fields[0], fields[1], fields[2]
    if not _KEY_TYPE.fullmatch(key_type) or key_type.endswith(CERT_SUFFIX):
        return None
    try:
        blob = base64.b64decode(b64, validate=True)
        inner = blob_type(blob)
    except (ValueError, UnicodeDecodeError):
        return None
    if inner != key_type:
        return None
    pats = tuple(p for p in patterns.split(",") if p)
    if not pats or any(p in ("!", "") for p in pats):
        return None
    return Entry(marker, pats, key_type, blob, source, line)


def _open(path: str, own: bool) -> tuple[int | None, str | None]:
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if own:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None, None
    except OSError as e:
        if own and os.path.islink(path):
            return None, f"{path} is a symbolic link; undone does not follow it; not read"
        return None, f"{path} cannot be read ({e.strerror or e}); not read"
    why = _unusable(fd, path, own)
    if why is not None:
        os.close(fd)
        return None, why + "; not read"
    return fd, None


def _unusable(fd: int, path: str, own: bool) -> str | None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file"
    if own and hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"{path} does not belong to the scanner's user (uid {os.geteuid()})"
    if st.st_size > MAX_FILE:
        return f"{path} is larger than {MAX_FILE // (1024 * 1024)} MiB"
    return None


def read(path: str, own: bool = False) -> File:
    """Parse one known_hosts file. Never raises; what could not be used is in ``problems``,
    which name line numbers and the file, never the content."""
    out = File(path)
    fd, why = _open(path, own)
    if why is not None:
        out.problems.append(why)
    if fd is None:
        return out
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= MAX_FILE:
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        out.problems.append(f"{path} cannot be read ({e.strerror or e}); not read")
        return out
    finally:
        os.close(fd)
    if size > MAX_FILE:
        out.problems.append(f"{path} is larger than {MAX_FILE // (1024 * 1024)} MiB; not read")
        return out
    data = b"".join(chunks)
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.strip()
        if not raw or raw.startswith(b"#"):
            continue
        entry = None
        if len(raw) <= MAX_LINE:
            try:
                entry = parse_line(raw.decode("utf-8"), path, number)
            except UnicodeDecodeError:
                entry = None
        if entry is None:
            out.problems.append(f"line {number} of {path} is not a known_hosts entry")
        else:
            out.entries.append(entry)
    return out


def append(path: str, name: str, key: paramiko.PKey) -> Entry:
    """Trust on first use: append ``name keytype key`` to undone's own file (created 0600 in a
    0700 folder if missing), opened without following a link, and only if it is a regular file
    of the scanner's user. Raises :class:`Refused` otherwise, or for a name that is not a host
    name or address."""
    if not _RECORDABLE.fullmatch(name) or name.startswith("-"):
        raise Refused("the host's address is not a plain host name or IP address; its key is "
                      "not recorded")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK
                     | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as e:
        if os.path.islink(path):
            raise Refused(f"{path} is a symbolic link; undone does not follow it") from None
        raise Refused(f"{path} cannot be written ({e.strerror or e})") from None
    try:
        why = _unusable(fd, path, own=True)
        if why is not None:
            raise Refused(why)
        blob = key.asbytes()
        line = f"{name} {key.get_name()} {base64.b64encode(blob).decode('ascii')}\n"
        os.write(fd, line.encode("ascii"))
    finally:
        os.close(fd)
    return Entry("", (name,), key.get_name(), blob, path, 0)


@dataclass
class Decision:
    """What the known_hosts entries say of the key a host offered."""

    state: str  # verified | certificate | unknown | changed | revoked | bad-certificate
    reason: str = ""  # one line, for a refusal
    expected: str | None = None  # the fingerprint on record (changed)
    entry: Entry | None = None  # the entry that decided
    certificate: Certificate | None = None


def decide(entries: list[Entry], name: str, host: str, key_blob: bytes,
           cert_blob: bytes | None = None, now: float | None = None) -> Decision:
    """Judge the key a host offered (``key_blob``: its plain public key; ``cert_blob``: the
    certificate, when it offered one) against the entries matching ``name`` (``host`` or
    ``[host]:port``); ``host`` is what a certificate must name among its principals."""
    matching = [e for e in entries if e.matches(name)]
    revoked = {e.blob: e for e in matching if e.marker == "revoked"}
    if key_blob in revoked:
        return Decision("revoked", f"its key is marked @revoked ({revoked[key_blob].where})",
                        entry=revoked[key_blob])
    if cert_blob is not None:
        try:
            cert = parse_certificate(cert_blob)
        except ValueError as e:
            return Decision("bad-certificate", f"its host certificate cannot be read ({e})")
        if cert.ca_blob in revoked:
            ca = revoked[cert.ca_blob]
            return Decision("revoked", "its certificate was signed by a certificate authority "
                            f"marked @revoked ({ca.where})", entry=ca)
        cas = [e for e in matching if e.marker == "cert-authority" and e.blob == cert.ca_blob]
        if cas:
            try:
                check_certificate(cert, host, cas[0], now)
            except ValueError as e:
                return Decision("bad-certificate", f"its host certificate (id "
                                f"{cert.key_id[:80]!r}, serial {cert.serial}) is refused: {e}",
                                entry=cas[0], certificate=cert)
            return Decision("certificate", entry=cas[0], certificate=cert)
        # no trusted authority signed it: judge the plain key, as OpenSSH does
    plain = [e for e in matching if e.marker == ""]
    for entry in plain:
        if entry.blob == key_blob:
            return Decision("verified", entry=entry)
    if plain:
        offered = blob_type(key_blob)
        same = [e for e in plain if e.key_type == offered] or plain
        return Decision("changed", expected=fingerprint_blob(same[0].blob), entry=same[0])
    return Decision("unknown")


def preferred_algorithms(entries: list[Entry], name: str) -> list[str]:
    """Host key algorithms to ask for first: certificates when a certificate authority is
    trusted for ``name``, then the types of the keys on record for it (so a host with several
    keys offers the one known)."""
    matching = [e for e in entries if e.matches(name)]
    revoked = {e.blob for e in matching if e.marker == "revoked"}
    out: list[str] = []
    if any(e.marker == "cert-authority" and e.blob not in revoked for e in matching):
        for algs in CERT_ALGORITHMS.values():
            out.extend(algs)
    for e in matching:
        if e.marker == "":
            for alg in PLAIN_ALGORITHMS.get(e.key_type, (e.key_type,)):
                if alg not in out:
                    out.append(alg)
    return out


__all__ = [
    "CERT_ALGORITHMS",
    "PLAIN_ALGORITHMS",
    "Certificate",
    "Decision",
    "Entry",
    "File",
    "Refused",
    "append",
    "check_certificate",
    "decide",
    "default_own_file",
    "fingerprint_blob",
    "lookup_name",
    "parse_certificate",
    "preferred_algorithms",
    "read",
]
