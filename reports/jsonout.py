"""JSON report: the result document itself (``schema: undone.scan/1``).

Compact by default, ``indent`` for people. Large documents are written piece by piece, a chunk of
hosts or results at a time, so rendering 10,000 hosts × 100 rules never holds the whole text in
memory; ``results`` may be any iterable, evaluated as it is written. Chunks are encoded with
orjson (about ten times faster than the standard library's C encoder here; see
docs/benchmarks.md), falling back to ``json`` for anything orjson refuses. Control characters
from targets are escaped by JSON either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, BinaryIO, TextIO, cast

import orjson


def _orjson(value: Any) -> bytes | None:
    """``value`` in compact JSON by orjson, or None where orjson refuses it. A key that is not
    text (a fact's mapping keyed by numbers) needs OPT_NON_STR_KEYS, which takes orjson's slower
    path for every mapping (a result costs 0.49 µs instead of 0.29): only a chunk that has such a
    key is encoded again with it. Both give the same bytes for text keys."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError included
        pass
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return None


def _dumps(value: Any) -> str:
    """Compact JSON text, as ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``."""
    data = _orjson(value)
    if data is None:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=list)
    return data.decode("utf-8")


# Results per encoded chunk. Small on purpose: a streamed result is then freed before the
# collector's youngest generation fills (700 allocations), instead of surviving into the oldest
# one, whose every pass walks all the host records (with 500, rendering 10,000 hosts × 100 rules
# took 17 full passes, 0.5 s; with 100, one). Each chunk costs one orjson call and one write.
CHUNK = 100
STREAMED = ("hosts", "results")


def _chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, CHUNK)):  # taken in C, not item by item
        yield chunk


def _write_list(items: Iterable[Any], out: TextIO, indent: int | None) -> None:
    if indent:
        out.write(json.dumps(list(items), indent=indent, ensure_ascii=False))
        return
    raw = _binary(out)
    first = True
    if raw is not None:
        # straight to the file's bytes: no str round trip, no copies of the chunk
        raw.write(b"[")
        for chunk in _chunks(items):
            data = memoryview(_dumpb(chunk))[1:-1]
            if data.nbytes:
                if not first:
                    raw.write(b",")
                raw.write(data)
                first = False
        raw.write(b"]")
        return
    out.write("[")
    for chunk in _chunks(items):
        text = _dumps(chunk)[1:-1]
        if text:
            out.write(text if first else "," + text)
            first = False
    out.write("]")


def _binary(out: TextIO) -> BinaryIO | None:
    """The byte stream under ``out`` when it is UTF-8 text over a buffer (flushed first)."""
    buf = getattr(out, "buffer", None)
    if buf is None or (getattr(out, "encoding", "") or "").lower().replace("-", "") != "utf8":
        return None
    out.flush()
    return cast(BinaryIO, buf)


def _dumpb(value: Any) -> bytes:
    data = _orjson(value)
    if data is None:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=list).encode(
            "utf-8"
        )
    return data


def render(doc: Mapping[str, Any], out: TextIO, indent: int | None = None) -> None:
    """Any JSON document, the result document's ``hosts`` and ``results`` streamed in chunks
    (they may be any iterable): nothing here reads the document's fields."""
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
            out.write(_dumps(value))
    out.write("}\n")
