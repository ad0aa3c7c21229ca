"""Debian version ordering (``dpkg --compare-versions``), for dating pending updates.

A version is ``[epoch:]upstream[-revision]``; the revision is everything after the last ``-``,
the epoch everything before the first ``:``. Epochs compare as numbers; upstream and revision
compare as dpkg's ``verrevcmp`` does: alternately a run of non-digits, character by character
(``~`` sorts before anything, even the end of the string; letters before other characters), then
a run of digits as a number. So ``1.0~rc1 < 1.0 < 1.0+deb12u1 < 1.0-1``, and
``3.0.11-1~deb12u2 < 3.0.11-1`` (a backport or stable update sorts before the unstable upload
it comes from).

Versions come from targets (untrusted): anything is accepted and ordered, in linear time; nothing
raises. Tested against ``dpkg --compare-versions``
(tests/unit/scanner/lifecycle/test_debversion.py).
"""

from __future__ import annotations

import re
from functools import lru_cache

_PARTS = re.compile(r"([^0-9]*)([0-9]*)")
_EPOCH = re.compile(r"[0-9]{1,9}")

# a digit run compares as a number: (its length without leading zeros, those digits), so that a
# run of any length compares right without converting it
Number = tuple[int, str]
Key = tuple[tuple[bytes, Number], ...]


# A non-digit run is compared character by character in dpkg's order: "~" before anything
# (even the end of the run), letters before other characters (as bytes, like dpkg). Each byte is
# translated so that plain bytes comparison (in C) gives that order, and the run ends with
# _STOP: "~" -> 1, end -> 2, letters -> 3.. in ASCII order, other bytes -> after them in order
# (digits never occur in a non-digit run). Characters beyond Latin-1 (not valid in a version)
# compare as "?".
_STOP = b"\x02"


def _table() -> bytes:
    letters = [b for b in range(256) if chr(b).isascii() and chr(b).isalpha()]
    others = [b for b in range(256) if b not in letters and b != ord("~")
              and not chr(b).isdigit()]
    table = bytearray(256)
    table[ord("~")] = 1
    for rank, b in enumerate(letters + others, start=3):
        table[b] = rank
    return bytes(table)


_TABLE = _table()


def _key(part: str) -> Key:
    """(non-digit run in comparable form, digit run as a number) pairs of ``part``."""
    out: list[tuple[bytes, Number]] = []
    for m in _PARTS.finditer(part):
        text, digits = m.group(1), m.group(2).lstrip("0")
        if not m.group(1) and not m.group(2):
            continue
        run = text.encode("latin-1", "replace").translate(_TABLE) + _STOP
        out.append((run, (len(digits), digits)))
    return tuple(out)


_END: tuple[bytes, Number] = (_STOP, (0, ""))


def _cmp_keys(a: Key, b: Key) -> int:
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else _END
        y = b[i] if i < len(b) else _END
        if x != y:
            return -1 if x < y else 1
    return 0


@lru_cache(maxsize=65536)
def parse(version: str) -> tuple[int, Key, Key]:
    """(epoch, upstream key, revision key) of a version string."""
    v = version.strip()
    epoch = 0
    head, colon, rest = v.partition(":")
    if colon and _EPOCH.fullmatch(head):
        epoch, v = int(head), rest
    upstream, dash, revision = v.rpartition("-")
    if not dash:
        upstream, revision = v, ""
    return epoch, _key(upstream), _key(revision)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, equal to or after ``b``."""
    ea, ua, ra = parse(a)
    eb, ub, rb = parse(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _cmp_keys(ua, ub) or _cmp_keys(ra, rb)


def lt(a: str, b: str) -> bool:
    return compare(a, b) < 0


def le(a: str, b: str) -> bool:
    return compare(a, b) <= 0


_BINNMU = re.compile(r"\+b[0-9]+$")


def source_version(binary_version: str) -> str:
    """The source version a binary version was built from, as far as the version tells: a
    binary-only rebuild (binNMU) appends ``+bN`` to the source version (Debian Policy 5.6.12)."""
    return _BINNMU.sub("", binary_version)
