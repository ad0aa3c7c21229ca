"""reports/jsonout.py encodes with orjson's fast path and falls back, chunk by chunk, to
``OPT_NON_STR_KEYS`` and then to the standard library: the bytes must be those of the encoder it
replaced (orjson with ``OPT_NON_STR_KEYS`` for everything, the standard library where orjson
refuses), whichever path each chunk takes."""

from __future__ import annotations

import io
import json
from collections import OrderedDict
from typing import Any

import orjson
import pytest

from reports import jsonout


def before(value: Any) -> bytes:
    """The encoder before issue 17's last speed-up (main at 1b38077)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                          default=list).encode("utf-8")


class Text(str):
    pass


VALUES: list[Any] = [
    {"a": 1, "b": [1.5, -0.0, 1e16, 2.5e-8, None, True], "c": "é ✓ \x1b[2J \u2028"},
    {1: "a", 2: "b"},  # keys that are not text: orjson's slower option
    {1: [1e16, float("nan")]},  # ... where the standard library would write NaN
    {"x": [{"y": {3: None}}]},  # ... deep inside
    {True: 1, None: 2, 1.5: 3},
    {"a": 1, 2: "mixed"},
    {"big": 2**70},  # orjson refuses integers over 64 bits: the standard library
    {"set": {1}},  # orjson refuses a set: the standard library, as a list
    {Text("k"): Text("v")},  # subclasses of str
    OrderedDict([("z", 1), ("a", 2)]),
    {"nan": float("nan"), "inf": float("inf")},
    [],
    {},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_each_value_encodes_as_before(value: Any) -> None:
    assert jsonout._dumpb(value) == before(value)
    assert jsonout._dumps(value) == before(value).decode("utf-8")


def test_the_fast_path_is_taken_for_text_keys_and_left_for_others() -> None:
    # (else the test above would pass with the old encoder and prove nothing about the new one)
    plain = {"a": [1, {"b": None}]}
    assert orjson.dumps(plain) == jsonout._dumpb(plain)
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps({1: "a"})
    assert jsonout._dumpb({1: "a"}) == b'{"1":"a"}'
    odd = {1: [1e16, float("nan")]}  # orjson's option, not the standard library
    assert json.dumps(odd, separators=(",", ":")).encode() != jsonout._dumpb(odd) == \
        b'{"1":[1e+16,null]}'


def test_a_stream_with_one_odd_chunk_is_written_as_before() -> None:
    """A streamed list whose chunks take different paths (fast, non-text keys, standard library)
    gives the bytes the old encoder gave, chunk by chunk, to a byte stream and to text."""
    results = [{"host": f"h{i}", "observed": {}} for i in range(3 * jsonout.CHUNK + 7)]
    results[jsonout.CHUNK + 3]["observed"] = {7: float("nan")}
    results[2 * jsonout.CHUNK + 1]["observed"] = {"big": 2**70}
    doc = {"schema": "undone.scan/1", "hosts": [], "results": results}
    n = jsonout.CHUNK
    chunks = [before(results[i:i + n])[1:-1] for i in range(0, len(results), n)]
    want = b'{"schema":"undone.scan/1","hosts":[],"results":[' + b",".join(chunks) + b"]}\n"
    assert b"null" in chunks[1] and b"NaN" not in want  # each chunk took its own path

    buf = io.BytesIO()
    out = io.TextIOWrapper(buf, encoding="utf-8", newline="")
    jsonout.render({**doc, "results": iter(results)}, out)
    out.flush()
    assert buf.getvalue() == want

    text = io.StringIO()
    jsonout.render({**doc, "results": iter(results)}, text)
    assert text.getvalue().encode("utf-8") == want
