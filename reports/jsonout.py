"""JSON report: the result document itself (``schema: undone.scan/1``).

Compact by default, ``indent`` for people. Large documents are written piece by piece with the
C JSON encoder (``json.dumps`` per chunk of hosts or results; ``json.dump`` alone falls back to
the pure-Python encoder), so rendering 10,000 hosts × 100 rules takes seconds and never holds the
whole text in memory; ``results`` may be any iterable, evaluated as it is written. Control
characters from targets are escaped by JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

CHUNK = 500
STREAMED = ("hosts", "results")


def _write_list(items: Iterable[Any], out: TextIO, indent: int | None) -> None:
    if indent:
        out.write(json.dumps(list(items), indent=indent, ensure_ascii=False))
        return
    out.write("[")
    first = True
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            text = json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))
            out.write(text[1:-1] if first else "," + text[1:-1])
            first = False
            chunk = []
    if chunk:
        text = json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))
        out.write(text[1:-1] if first else "," + text[1:-1])
    out.write("]")


def render(doc: dict[str, Any], out: TextIO, indent: int | None = None) -> None:
    if indent:
        out.write(json.dumps(doc, indent=indent, ensure_ascii=False, default=list))
        out.write("\n")
        return
    out.write("{")
    for i, (key, value) in enumerate(doc.items()):
        if i:
            out.write(",")
        out.write(json.dumps(key) + ":")
        if key in STREAMED and not isinstance(value, dict):
            _write_list(value, out, indent)
        else:
            out.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    out.write("}\n")
