"""One batch per host: every needed section in one script, sent on standard input, and the
splitter that takes the one stream that comes back apart again.

The script runs each section as ``sh -c BODY </dev/null`` (under ``timeout`` where the target has
it), so a section cannot read the rest of the batch from standard input, and a section that hangs
is killed on the target while the others still run. Around each section it prints a begin and an
end marker on both stdout and stderr. A marker carries a random nonce made for this connection
only, so no file or command output on the target (say, a log holding the markers of an earlier
run) can forge a section; the nonce is assembled from two shell variables so that the script's own
text, if a section printed it, does not contain a marker either.

The splitter is incremental and bounded: it keeps at most ``cap`` bytes per section and
``total_cap`` for the host, marks what it cut as truncated, and never holds a whole oversized line.
It also says when to stop reading at all (``over_read``): past ``READ_CAP_FACTOR`` times the host
cap in all, or past the host cap outside any section (a session that only floods).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

from probes import Section, prelude

DEFAULT_SECTION_CAP = 2 * 1024 * 1024
DEFAULT_TOTAL_CAP = 16 * 1024 * 1024
#: bytes read from one host, kept or not, before the rest is left unread: a host that floods
#: (in a section past its cap, or outside any section) costs the scanner bounded work
READ_CAP_FACTOR = 8
DEFAULT_SECTION_TIMEOUT = 60

_HEADER = """\
# undone batch: read-only probe sections, run once, writing nothing on this machine.
export LC_ALL=C LANG=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH
umask 077
"""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


@dataclass(frozen=True)
class Batch:
    script: str
    nonce: str
    sections: tuple[str, ...]
    script_sha256: dict[str, str]

    def marker_re(self) -> re.Pattern[bytes]:
        return re.compile(
            rb"^==undone:" + self.nonce.encode() + rb":(BEGIN|END):([a-z0-9_.]+)(?::(-?\d+))?==$"
        )


_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def build(
    sections: list[Section],
    section_timeout: int = DEFAULT_SECTION_TIMEOUT,
    env: dict[str, dict[str, str]] | None = None,
) -> Batch:
    """The batch script. ``env`` gives, per section, variables exported to that section's script
    only (set before it runs and unset after), so secrets travel on standard input and never on a
    command line."""
    sections = [s for s in sections if s.on_target]  # scanner-side sections have no script
    nonce = secrets.token_hex(16)
    half = len(nonce) // 2
    lines = [
        _HEADER,
        f"_u1={nonce[:half]}; _u2={nonce[half:]}",
        "_ut=$(command -v timeout 2>/dev/null)",
        'undone_mark() { printf \'\\n==undone:%s%s:%s==\\n\' "$_u1" "$_u2" "$1"; '
        'printf \'\\n==undone:%s%s:%s==\\n\' "$_u1" "$_u2" "$1" >&2; }',
        "undone_section() {",
        '  undone_mark "BEGIN:$1"',
        '  if [ -n "$_ut" ]; then "$_ut" -k 5 "$3" sh -c "$2" </dev/null; '
        'else sh -c "$2" </dev/null; fi',
        '  undone_mark "END:$1:$?"',
        "}",
    ]
    digests: dict[str, str] = {}
    for s in sections:
        body = prelude(s.family) + "\n" + s.script
        digests[s.name] = hashlib.sha256(body.encode("utf-8")).hexdigest()
        section_env = (env or {}).get(s.name, {})
        for name, value in section_env.items():
            if not _ENV_NAME.match(name):
                raise ValueError(f"bad environment variable name {name!r} for {s.name}")
            lines.append(f"{name}={_quote(value)}; export {name}")
        lines.append(f"undone_section {s.name} {_quote(body)} {int(section_timeout)}")
        if section_env:
            lines.append("unset " + " ".join(section_env))
    lines.append("exit 0")
    return Batch("\n".join(lines) + "\n", nonce, tuple(s.name for s in sections), digests)


@dataclass
class Part:
    """One section's share of a stream."""

    data: bytearray = field(default_factory=bytearray)
    truncated: bool = False
    ended: bool = False
    exit_code: int | None = None
    size: int = 0  # bytes seen, kept or not


class Splitter:
    """Feed bytes of one stream (stdout or stderr); collect each section's part."""

    def __init__(
        self, batch: Batch, cap: int = DEFAULT_SECTION_CAP, total_cap: int = DEFAULT_TOTAL_CAP
    ) -> None:
        self._re = batch.marker_re()
        self._cap = cap
        self._total_cap = total_cap
        self._total = 0
        self._pending = bytearray()
        self._current: Part | None = None
        self._current_name: str | None = None
        self._expected = set(batch.sections)
        self.parts: dict[str, Part] = {}
        self.stray = 0  # bytes outside any section
        self.over_total = False
        self.seen = 0  # bytes fed, kept or not
        self.over_read: str | None = None  # why reading should stop, past the read caps
        self._read_cap = READ_CAP_FACTOR * total_cap
        self._stray_cap = total_cap

    def _emit(self, chunk: bytes | bytearray) -> None:
        part = self._current
        if part is None:
            self.stray += len(chunk)
            if self.stray > self._stray_cap and self.over_read is None:
                self.over_read = (
                    f"the host sent more than {self._stray_cap} bytes outside any section"
                )
            return
        part.size += len(chunk)
        room = min(self._cap - len(part.data), self._total_cap - self._total)
        if room <= 0:
            part.truncated = True
            if self._total >= self._total_cap:
                self.over_total = True
            return
        take = chunk[:room]
        part.data += take
        self._total += len(take)
        if len(take) < len(chunk):
            part.truncated = True

    def _line(self, line: bytes) -> None:
        # line excludes the trailing newline
        if line.startswith(b"==undone:"):
            m = self._re.match(line)
            if m:
                kind, name = m.group(1), m.group(2).decode()
                if kind == b"BEGIN" and name in self._expected and name not in self.parts:
                    self._current = self.parts[name] = Part()
                    self._current_name = name
                    return
                if kind == b"END" and name == self._current_name and self._current is not None:
                    self._current.ended = True
                    code = m.group(3)
                    self._current.exit_code = int(code) if code is not None else None
                    # the marker printer adds a newline before the end marker
                    if self._current.data.endswith(b"\n"):
                        del self._current.data[-1]
                    self._current = None
                    self._current_name = None
                    return
        self._emit(line + b"\n")

    def feed(self, data: bytes) -> None:
        self.seen += len(data)
        if self.seen > self._read_cap and self.over_read is None:
            self.over_read = f"the host sent more than {self._read_cap} bytes"
        self._pending += data
        while True:
            nl = self._pending.find(b"\n")
            if nl < 0:
                break
            line = bytes(self._pending[:nl])
            del self._pending[: nl + 1]
            self._line(line)
        # a line longer than the cap cannot be a marker: pass it on instead of holding it
        if len(self._pending) > 4096:
            self._emit(self._pending)
            self._pending = bytearray()

    def close(self) -> None:
        if self._pending:
            self._line(bytes(self._pending))
            self._pending = bytearray()
        if self._current is not None:
            # the stream ended inside a section: keep what came, mark it
            self._current.truncated = True
            self._current = None
