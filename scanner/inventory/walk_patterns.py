"""Ansible host patterns: the host keys of an inventory, ``web[01:20:2].example.org`` and the like,
split and expanded as Ansible does (its ``parse_address`` and ``expand_hostname_range``).

A host key is a pattern: numeric ranges with an optional stride (``web[01:20:2]``), zero-padded
when the start is, several ranges multiply; letter ranges (``node[a:f]``); and an optional
``:port`` (``[2001:db8::1]:2222`` for IPv6), which sets ``ansible_port`` when the host is first
added (:mod:`scanner.inventory.walk`).

Bounded: ranges are counted before they are expanded (at most :data:`MAX_RANGE_HOSTS` hosts a
pattern), and a range bound has at most :data:`MAX_RANGE_DIGITS` characters.
"""

from __future__ import annotations

import ipaddress
import re
import string

MAX_RANGE_HOSTS = 10_000
MAX_RANGE_DIGITS = 9

_BRACKETED_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
_RANGE = re.compile(r"^(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?$", re.I)


_PLAIN_LABEL = re.compile(r"^\w(?:[\w-]*\w)?$")


def _label_ok(label: str) -> bool:
    """One dot-separated label of a host pattern: word characters, ``-``/``_`` and bracketed
    ranges, starting with a word character or a range and not ending with ``-`` or ``_``."""
    if not label or label[-1] in "-_":
        return False
    if "[" not in label:
        return bool(_PLAIN_LABEL.match(label))
    i = 0
    first = True
    while i < len(label):
        c = label[i]
        if c == "[":
            end = label.find("]", i)
            if end < 0 or not _RANGE.match(label[i + 1 : end]):
                return False
            i = end + 1
        elif c.isalnum() or c == "_" or (c == "-" and not first):
            i += 1
        else:
            return False
        first = False
    return True


def _is_host_pattern(text: str) -> bool:
    """A host name, IPv4 or IPv6 address, possibly with ranges (Ansible's parse_address)."""
    if ":" in re.sub(r"\[[^\]]*\]", "", text):  # a ':' outside a range ([1:3]): IPv6
        try:
            ipaddress.IPv6Address(text)
            return True
        except ValueError:
            return False
    return all(_label_ok(lab) for lab in text.split("."))


def split_port(pattern: str) -> tuple[str, int | None]:
    """``host:port`` and ``[host]:port`` keys: the host pattern and the port. A key whose host
    part is not a host name or address is a name as it stands, with no port (as in Ansible)."""
    host, port = pattern, None
    for rx in (_BRACKETED_PORT, _HOST_PORT):
        m = rx.match(host)
        if m:
            host, port = m.group(1), int(m.group(2)) if len(m.group(2)) <= 6 else None
    if port is None and host != pattern:
        return pattern, None
    if not _is_host_pattern(host):
        return pattern, None
    return host, port


def _first_range(line: str) -> tuple[str, str, str]:
    """Ansible's cut of a pattern at its first ``[`` and first ``]``: head, range, tail."""
    a = line.index("[")
    cut = line[:a] + "|" + line[a + 1 :]
    b = cut.find("]")
    if b < 0:
        raise ValueError("a '[' without its ']'")
    cut = cut[:b] + "|" + cut[b + 1 :]
    parts = cut.split("|")
    if len(parts) != 3:
        raise ValueError("'|' in a host pattern")
    return parts[0], parts[1], parts[2]


def _range_items(nrange: str) -> tuple[list[str] | range, int]:
    """The items of one range and the zero-padding width (0: none)."""
    bounds = nrange.split(":")
    if len(bounds) not in (2, 3):
        raise ValueError("a host range is begin:end or begin:end:step")
    beg, end = bounds[0] or "0", bounds[1]
    step_text = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise ValueError("a host range needs its end")
    for part in (beg, end, step_text):
        if len(part) > MAX_RANGE_DIGITS:
            raise ValueError(f"a range bound of {len(part)} characters (at most "
                             f"{MAX_RANGE_DIGITS})")
    width = 0
    if beg[0] == "0" and len(beg) > 1:
        width = len(beg)
        if len(end) != width:
            raise ValueError("a zero-padded range needs begin and end of the same width")
    letters = string.ascii_letters
    if beg in letters and end in letters and not beg.isdigit():
        i_beg, i_end = letters.index(beg), letters.index(end)
        if i_beg > i_end:
            raise ValueError("a host range must have begin <= end")
        step = int(step_text)
        if step == 0:
            raise ValueError("a host range step of 0")
        return list(letters[i_beg : i_end + 1 : step]), 0
    if not (beg.isascii() and beg.isdigit() and end.isascii() and end.isdigit()
            and step_text.isascii() and step_text.isdigit()):
        raise ValueError(f"[{nrange}] is not a range of numbers or letters")
    step = int(step_text)
    if step == 0:
        raise ValueError("a host range step of 0")
    return range(int(beg), int(end) + 1, step), width


def range_count(pattern: str) -> int:
    """How many names a pattern expands to, counted without expanding it."""
    total = 1
    line = pattern
    while "[" in line:
        head, nrange, tail = _first_range(line)
        items, _ = _range_items(nrange)
        total *= len(items)
        if total == 0:
            return 0
        line = head + tail
    return total


def expand(pattern: str) -> list[str]:
    """Ansible's expansion of a host pattern's ranges (``web[01:03]`` -> web01 web02 web03).
    Raises ValueError with the reason for a pattern Ansible would refuse, or one that would make
    more than :data:`MAX_RANGE_HOSTS` hosts."""
    if "[" not in pattern:
        return [pattern]
    n = range_count(pattern)
    if n > MAX_RANGE_HOSTS:
        raise ValueError(f"would make {n} hosts; the limit is {MAX_RANGE_HOSTS} a pattern")
    out: list[str] = []
    todo = [pattern]
    while todo:
        line = todo.pop(0)
        if "[" not in line:
            out.append(line)
            continue
        head, nrange, tail = _first_range(line)
        items, width = _range_items(nrange)
        for item in items:
            text = str(item).zfill(width) if isinstance(item, int) else str(item)
            todo.append(head + text + tail)
    return out
