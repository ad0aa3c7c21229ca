"""SNMP varbinds as text, in the format of net-snmp's tools with numeric OIDs (``snmpget -On``)::

    .1.3.6.1.2.1.1.1.0 = STRING: "Cisco IOS Software, C2960 Software ..."
    .1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.9.1.1208
    .1.3.6.1.2.1.1.3.0 = Timeticks: (51) 0:00:00.51
    .1.3.6.1.2.1.2.2.1.6.2 = Hex-STRING: 4A EF 53 17 56 71
    .1.3.6.1.2.1.99.1.0 = No Such Object available on this agent at this OID

A quoted STRING may span lines (a sysDescr often holds line breaks); inside it net-snmp escapes
``"`` and ``\\`` with a backslash. The scanner's own SNMP client (pysnmp) writes its results in
the same format (:func:`format_varbind`), so recorded net-snmp output and live results go through
the one parser. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_RE = re.compile(r"^\.?(\d+(?:\.\d+)*) = (.*)$")
_TYPED_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): ?(.*)$", re.S)
_TICKS_RE = re.compile(r"^\((\d+)\)")

#: the answers that mean "no value here"
MISSING = {
    "No Such Object available on this agent at this OID": "noSuchObject",
    "No Such Instance currently exists at this OID": "noSuchInstance",
    "No more variables left in this MIB View (It is past the end of the MIB tree)": "endOfMibView",
}


@dataclass(frozen=True)
class Varbind:
    """One OID (dotted, no leading dot) and its value. ``kind`` is the net-snmp type word
    (``STRING``, ``OID``, ``Timeticks``, ``INTEGER``, ``Hex-STRING``, ...) or one of
    ``noSuchObject``/``noSuchInstance``/``endOfMibView``; ``value`` is the text (a STRING
    unquoted and unescaped, an OID without its leading dot, Timeticks as the tick count)."""

    oid: str
    kind: str
    value: str

    @property
    def missing(self) -> bool:
        return self.kind in MISSING.values()


def _unquote(text: str) -> str:
    body = text[1:-1] if len(text) >= 2 and text[0] == '"' and text[-1] == '"' else text
    return re.sub(r'\\(["\\])', r"\1", body)


def _closed(text: str) -> bool:
    """Whether a value that starts with a quote has its closing (unescaped) quote."""
    if not text.startswith('"'):
        return True
    i, n = 1, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i == n - 1 or not text[i + 1 :].strip()
        i += 1
    return False


def _value(oid: str, rest: str) -> Varbind:
    rest = rest.rstrip("\r")
    if rest in MISSING:
        return Varbind(oid, MISSING[rest], "")
    if rest.startswith('"'):  # an empty or untyped string: = ""
        return Varbind(oid, "STRING", _unquote(rest.strip()))
    m = _TYPED_RE.match(rest)
    if m is None:
        return Varbind(oid, "unknown", rest)
    kind, val = m.group(1), m.group(2)
    if kind == "STRING":
        return Varbind(oid, kind, _unquote(val.strip()) if val.startswith('"') else val)
    if kind == "OID":
        return Varbind(oid, kind, val.strip().lstrip("."))
    if kind == "Timeticks":
        t = _TICKS_RE.match(val.strip())
        return Varbind(oid, kind, t.group(1) if t else val.strip())
    return Varbind(oid, kind, val.strip())


def parse_varbinds(text: str) -> dict[str, Varbind]:
    """Every varbind of a net-snmp style text, by OID (later lines win). Lines that are not
    varbinds (a tool's error message) are skipped; a STRING cut off before its closing quote
    keeps what arrived."""
    out: dict[str, Varbind] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        m = _LINE_RE.match(lines[i])
        i += 1
        if m is None:
            continue
        oid, rest = m.group(1), m.group(2)
        head = rest[len("STRING: ") :] if rest.startswith("STRING: ") else rest
        if head.startswith('"'):
            while not _closed(head) and i < len(lines):
                head += "\n" + lines[i]
                rest += "\n" + lines[i]
                i += 1
        out[oid] = _value(oid, rest)
    return out


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _ticks(ticks: int) -> str:
    days, rem = divmod(ticks, 8640000)
    hours, rem = divmod(rem, 360000)
    minutes, rem = divmod(rem, 6000)
    seconds, hundredths = divmod(rem, 100)
    lead = f"{days} day{'s' if days != 1 else ''}, " if days else ""
    return f"({ticks}) {lead}{hours}:{minutes:02d}:{seconds:02d}.{hundredths:02d}"


def format_varbind(oid: str, kind: str, value: str | bytes | int) -> str:
    """One varbind as net-snmp prints it (``-On``). ``kind`` is ``STRING`` (bytes or text; bytes
    that are not printable text become ``Hex-STRING``), ``OID``, ``Timeticks`` (an int),
    ``INTEGER``, ``Gauge32``, ``Counter32``, ``Counter64``, ``IpAddress``, or one of the missing
    kinds (``noSuchObject``, ``noSuchInstance``, ``endOfMibView``)."""
    head = "." + oid.lstrip(".") + " = "
    for words, missing in MISSING.items():
        if kind == missing:
            return head + words
    if kind == "STRING":
        if isinstance(value, bytes):
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is None or any(ord(c) < 32 and c not in "\r\n\t" for c in text):
                return head + "Hex-STRING: " + " ".join(f"{b:02X}" for b in value) + " "
        else:
            text = str(value)
        return head + (f'"{_escape(text)}"' if text == "" else f'STRING: "{_escape(text)}"')
    if kind == "OID":
        return head + "OID: ." + str(value).lstrip(".")
    if kind == "Timeticks":
        return head + "Timeticks: " + _ticks(int(value))
    shown = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return head + f"{kind}: {shown}"
