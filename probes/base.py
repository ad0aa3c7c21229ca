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

This module imports nothing of ``scanner`` (probes never import the engine).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RC_OK = 0
RC_ABSENT = 2
RC_TIMEOUT = 124
RC_DENIED = 126
RC_MISSING = 127

_BLOCK_RE = re.compile(r"^@@block ([A-Za-z0-9_.:/-]+)$")
_RC_RE = re.compile(r"^@@rc (-?\d+)$")
_EXIT_RE = re.compile(r"^@@exit (-?\d+)$")


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
        return self.text.splitlines()

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
        first = next((ln.strip() for ln in self.text.splitlines() if ln.strip()), "")
        detail = f": {first[:200]}" if first else ""
        return f"{what}: exit code {self.rc}{detail}"


def split_blocks(stdout: str) -> dict[str, Block]:
    """Split a section's stdout into its prelude blocks. A block with no ``@@rc`` line (output
    cut off) gets ``rc=None``. Text before the first block is ignored."""
    blocks: dict[str, Block] = {}
    name: str | None = None
    buf: list[str] = []
    for line in stdout.split("\n"):
        m = _BLOCK_RE.match(line)
        if m:
            if name is not None:
                blocks[name] = Block("\n".join(buf), None)
            name, buf = m.group(1), []
            continue
        r = _RC_RE.match(line)
        if r and name is not None:
            blocks[name] = Block("\n".join(buf), int(r.group(1)))
            name, buf = None, []
            continue
        if name is not None:
            buf.append(line)
    if name is not None:
        blocks[name] = Block("\n".join(buf), None)
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
#: on it (scanner/evaluate.py).
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
