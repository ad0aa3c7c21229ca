"""What a probe section is made of, shared by every section and by the engine.

A *section* is a read-only script that runs on the target (``probes/<family>/<topic>.sh``) paired
with a parser of the same stem (``probes/<family>/<topic>.py``). The engine sends the scripts of
every needed section in one batch, splits the output it gets back, and hands each section's part
to its parser as a :class:`RawSection`. The parser returns :class:`Facts`: values it could read,
and for each fact it could not determine, the reason. Parsers normalise and derive (ages in days,
lists of offending accounts) but never judge: there is no policy value in this package.

Inside a section's stdout, scripts use the helpers of ``probes/posix/_prelude.sh``, which print
*blocks*::

    @@block <name>
    ...output of one command or file...
    @@rc <exit code>

:func:`split_blocks` turns that back into ``{name: Block}``. Conventional block exit codes (set by
the prelude): ``0`` ok, ``127`` command not found, ``126`` not permitted / not readable,
``124`` timed out, ``2`` file absent.

**Data cannot forge a block.** The prelude writes every line of data that begins with ``@@`` with
one more ``@`` (``@@block x`` becomes ``@@@block x``), and :func:`split_blocks` takes that ``@``
off again, so only the prelude's own lines are markers. A block name seen twice in one section is
an error (:class:`ForgedBlock`), never "the last one wins": the section's facts become errors.

**Linear time, bounded lines, a budget.** Target output is untrusted. Parsers look at lines
through :func:`lines` (or :meth:`Block.lines`), which cuts each line at :data:`MAX_LINE`
characters and splits on ``\n`` only (Python's ``splitlines`` would also split on ``\x1c``,
``\x85`` or ``\u2028``, which a file name may hold). The engine runs every parser through
:func:`run_parser`: past :data:`PARSE_BUDGET_S` seconds of CPU the parse stops (checked while
lines are read) or its result is thrown away, and the section is an error, never a pass.

This module imports nothing of ``scanner`` (probes never import the engine).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RC_OK = 0
RC_ABSENT = 2
RC_TIMEOUT = 124
RC_DENIED = 126
RC_MISSING = 127

#: the longest line a line parser looks at (characters); the rest of a longer line is cut off.
#: Real lines are far shorter (the longest seen in the fixtures: an ``sshd -T`` algorithm list
#: of about 900); JSON is read from a block's whole text, never line by line.
MAX_LINE = 4096
#: CPU seconds one parse may take before its section becomes an error (the worst input at the
#: 2 MiB section cap takes well under a second: docs/security.md)
PARSE_BUDGET_S = 3.0

_BLOCK_RE = re.compile(r"^@@block ([A-Za-z0-9_.:/-]{1,200})$")
_RC_RE = re.compile(r"^@@rc (-?\d{1,9})$")
_EXIT_RE = re.compile(r"^@@exit (-?\d{1,9})$")


class ParseBudgetExceeded(Exception):
    """A parse ran past its CPU budget: its section is an error (nothing it read is judged)."""


class ForgedBlock(ValueError):
    """A section's output names one block twice: something other than the prelude wrote it."""


_deadline: ContextVar[float | None] = ContextVar("undone_parse_deadline", default=None)
_budget: ContextVar[float] = ContextVar("undone_parse_budget", default=PARSE_BUDGET_S)


def check_budget() -> None:
    """Raise :class:`ParseBudgetExceeded` when the parse running in this thread is over its
    budget (called as lines are read, so a slow parse stops rather than only being judged
    afterwards)."""
    d = _deadline.get()
    if d is not None and time.thread_time() > d:
        raise ParseBudgetExceeded(
            f"parsing used more than its {_budget.get():g} s CPU budget; the output was not "
            "judged (a hostile or runaway output?)"
        )


def run_parser(
    name: str, parse: Callable[[RawSection], Facts], raw: RawSection, budget: float | None = None
) -> Facts:
    """Run one parser under its CPU time budget. Raises :class:`ParseBudgetExceeded` (which the
    engine records as the section's error, and every fact it provides as unknown) when the parse
    stops at a budget check or finishes past the budget."""
    limit = PARSE_BUDGET_S if budget is None else budget
    start = time.thread_time()
    token = _deadline.set(start + limit)
    token_b = _budget.set(limit)
    try:
        facts = parse(raw)
    finally:
        _deadline.reset(token)
        _budget.reset(token_b)
    used = time.thread_time() - start
    if used > limit:
        raise ParseBudgetExceeded(
            f"{name}: parsing took {used:.1f} s of CPU, over its {limit:g} s budget; the output "
            "was not judged"
        )
    return facts


def lines(text: str) -> list[str]:
    """The lines of ``text`` as a line parser should see them: split on ``\n`` only (a ``\r``
    before it dropped), each cut at :data:`MAX_LINE` characters; no empty last line for a text
    that ends with a newline."""
    check_budget()
    out = text.split("\n")
    if out and out[-1] == "":
        out.pop()
    for i, ln in enumerate(out):
        if len(ln) > MAX_LINE:
            ln = ln[:MAX_LINE]
            out[i] = ln
        if ln.endswith("\r"):
            out[i] = ln[:-1]
    return out


_GLOB_CACHE: dict[tuple[str, bool], re.Pattern[str] | None] = {}
_GLOB_MAX = 1024


def _glob_regex(pattern: str, slash: bool) -> re.Pattern[str] | None:
    """A regular expression for a shell glob (``*``, ``?``, ``[...]``), built in linear time
    (fnmatch's translation is quadratic on runs of ``[`` in Python 3.11) and matched without
    backtracking between stars (each piece between two stars is an atomic group, found at its
    first place, as a glob matcher does). ``slash``: whether ``*`` and ``?`` match ``/``."""
    any_char = "." if slash else "[^/]"
    pieces: list[str] = []
    i, n = 0, len(pattern)
    current: list[str] = []
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            pieces.append("".join(current))
            current = []
            while i < n and pattern[i] == "*":
                i += 1
        elif c == "?":
            current.append(any_char)
        elif c == "[":
            j = i
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            close = pattern.find("]", j)
            if close < 0:
                current.append(re.escape(c))
                continue
            body = pattern[i:close]
            i = close + 1
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            inner = "".join("\\" + ch if ch in "\\^[]" else ch for ch in body)
            current.append(f"[{'^' if negate else ''}{inner}]")
        else:
            current.append(re.escape(c))
    if not pieces:  # no star
        regex = "".join(current) + r"\Z"
    else:
        head, middle, tail = pieces[0], pieces[1:], "".join(current)
        star = f"{any_char}*"
        regex = head + "".join(f"(?>{star}?{m})" for m in middle) + f"{star}{tail}\\Z"
    try:
        return re.compile(regex, re.DOTALL)
    except re.error:
        return None


def glob_match(pattern: str, name: str, *, slash: bool = False) -> bool:
    """Whether ``name`` matches the shell glob ``pattern``, in time linear in their lengths for
    a fixed number of stars; patterns or names longer than 1024 characters never match."""
    if len(pattern) > _GLOB_MAX or len(name) > _GLOB_MAX:
        return False
    key = (pattern, slash)
    if key not in _GLOB_CACHE:
        if len(_GLOB_CACHE) > 4096:
            _GLOB_CACHE.clear()
        _GLOB_CACHE[key] = _glob_regex(pattern, slash)
    rx = _GLOB_CACHE[key]
    return rx is not None and rx.match(name) is not None


def escape_line(line: str) -> str:
    """The prelude's escape, for framing done in Python: a line of data that begins with ``@@``
    gets one more ``@`` (what :func:`split_blocks` takes off again)."""
    return "@" + line if line.startswith("@@") else line


def frame(name: str, text: str, rc: int | None) -> str:
    """One block as the prelude writes it, with its data escaped."""
    body = "\n".join(escape_line(ln) for ln in text.split("\n"))
    end = "" if rc is None else f"\n@@rc {rc}\n"
    return f"@@block {name}\n{body}{end}"


@dataclass(frozen=True)
class RawSection:
    """One section's share of a host's output, as the engine collected it."""

    name: str
    stdout: str
    stderr: str = ""
    exit_code: int | None = 0
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    truncated: bool = False
    # the host's declared configuration for probes (e.g. its backups), from the inventory; holds
    # references to secrets (environment variable names), never secret values
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Block:
    """Output of one command or file inside a section, with its exit code."""

    text: str
    rc: int | None

    @property
    def ok(self) -> bool:
        return self.rc == RC_OK

    @property
    def missing(self) -> bool:
        return self.rc == RC_MISSING

    @property
    def absent(self) -> bool:
        return self.rc == RC_ABSENT

    @property
    def denied(self) -> bool:
        return self.rc == RC_DENIED

    def lines(self) -> list[str]:
        """The block's lines, each cut at :data:`MAX_LINE` (see :func:`lines`)."""
        return lines(self.text)

    @property
    def has_long_line(self) -> bool:
        """Whether a line is longer than :data:`MAX_LINE` (so :meth:`lines` cut it): a parser
        whose facts could depend on the rest of such a line says it cannot tell."""
        return any(len(ln) > MAX_LINE for ln in self.text.split("\n"))

    def why(self, what: str) -> str:
        """A one-line reason this block gives no usable data, for an error fact."""
        if self.rc == RC_MISSING:
            return f"{what}: command not found on the target"
        if self.rc == RC_DENIED:
            return f"{what}: permission denied (run with become/sudo for this check)"
        if self.rc == RC_ABSENT:
            return f"{what}: not present on the target"
        if self.rc == RC_TIMEOUT:
            return f"{what}: timed out on the target"
        if self.rc is None:
            return f"{what}: output cut off before the command finished"
        first = next((ln.strip() for ln in lines(self.text) if ln.strip()), "")
        detail = f": {first[:200]}" if first else ""
        return f"{what}: exit code {self.rc}{detail}"


def split_blocks(stdout: str) -> dict[str, Block]:
    """Split a section's stdout into its prelude blocks. A block with no ``@@rc`` line (output
    cut off) gets ``rc=None``. Text outside blocks is ignored. Escaped data lines (``@@@...``)
    lose their extra ``@``. Raises :class:`ForgedBlock` when a name comes twice."""
    blocks: dict[str, Block] = {}
    name: str | None = None
    buf: list[str] = []

    def close(rc: int | None) -> None:
        if name is None:  # pragma: no cover - called only with a block open
            return
        if name in blocks:
            raise ForgedBlock(
                f"block {name!r} appears twice in the output: the output was forged or garbled "
                "(not judged)"
            )
        blocks[name] = Block("\n".join(buf), rc)

    for i, line in enumerate(stdout.split("\n")):
        if not i % 8192:
            check_budget()
        if line.startswith("@@"):
            if line.startswith("@@@"):
                line = line[1:]
            else:
                m = _BLOCK_RE.match(line)
                if m:
                    if name is not None:
                        close(None)
                    name, buf = m.group(1), []
                    continue
                r = _RC_RE.match(line)
                if r and name is not None:
                    close(int(r.group(1)))
                    name, buf = None, []
                    continue
        if name is not None:
            buf.append(line)
    if name is not None:
        close(None)
    return blocks


def inner_exit(block: Block) -> Block:
    """For a block whose command ran in a pipeline, written as
    ``{ cmd; printf '@@exit %s\\n' "$?"; } | filter``: the same text without the ``@@exit`` line,
    and the command's own exit code (the block's own ``@@rc`` is the filter's). A block cut off,
    or with no ``@@exit`` line, gets ``rc=None``; a block that failed before the pipeline keeps
    its own code (for example 127, command not found)."""
    if block.rc is None:
        return Block(block.text, None)
    keep: list[str] = []
    rc: int | None = None
    for line in block.text.split("\n"):
        m = _EXIT_RE.match(line)
        if m:
            rc = int(m.group(1))
            continue
        keep.append(line)
    if rc is None and block.rc != RC_OK:
        rc = block.rc
    return Block("\n".join(keep), rc)


#: How a value is known, when it is not simply read (see :meth:`Facts.set`): the true value is
#: at least it, at most it, or near it. A rule can fail on what such a value proves, never pass
#: on it (scanner/rules/evaluate.py).
INEXACT = ("lower-bound", "upper-bound", "estimate")


class Facts:
    """What a parser found: values (``set``) and, per fact it could not determine, why
    (``error``). Fact names are ``<topic>.<field>`` in lower snake case.

    A value that is not exact says so (``basis``): ``{"basis": "lower-bound", "why": "...",
    "fix": "..."}``, where ``why`` says what is not known (``{bound}`` in it marks where the
    reader is told the bound, "at least 2 days") and ``fix`` what would make it known. Exact
    values carry none."""

    __slots__ = ("basis", "errors", "values")

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.basis: dict[str, dict[str, str]] = {}

    def set(self, name: str, value: Any, basis: dict[str, str] | None = None) -> None:
        self.values[name] = value
        self.errors.pop(name, None)
        if basis is not None:
            self.basis[name] = dict(basis)
        else:
            self.basis.pop(name, None)

    def error(self, name: str, reason: str) -> None:
        self.errors[name] = reason
        self.values.pop(name, None)
        self.basis.pop(name, None)

    def error_all(self, names: list[str] | tuple[str, ...], reason: str) -> None:
        for n in names:
            self.error(n, reason)

    def update(self, other: Facts) -> None:
        for k, v in other.values.items():
            self.set(k, v, other.basis.get(k))
        for k, r in other.errors.items():
            self.error(k, r)


def guard(
    raw: RawSection, provides: Iterable[str], body: Callable[[RawSection, Facts], None]
) -> Facts:
    """Run a parser body so that it never raises: if it fails on some output, every fact in
    ``provides`` that it had not settled yet becomes an error naming the failure (a parser bug
    or an output never seen before must never look like a compliant value)."""
    facts = Facts()
    try:
        body(raw, facts)
    except ParseBudgetExceeded:
        raise  # the whole section is an error, not just the facts still open
    except Exception as exc:  # whatever the output, a parser returns facts  # noqa: BLE001 - one failure must not stop the rest
        reason = f"{raw.name}: could not parse the output ({type(exc).__name__}: {exc})"[:300]
        for name in provides:
            if name not in facts.values and name not in facts.errors:
                facts.error(name, reason)
    return facts


def parse_utc(text: str) -> datetime | None:
    """Parse an ISO 8601 date or date-time; naive values are taken as UTC."""
    t = text.strip()
    if not t:
        return None
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_days(then: datetime, now: datetime) -> float:
    """Age in days, one decimal, never negative (clock skew on a target is not an age)."""
    return max(0.0, round((now - then).total_seconds() / 86400.0, 1))
