"""JSON report: the result document itself (``schema: undone.scan/1``), written as one line of
compact JSON (``indent`` for people). Control characters from targets are escaped by JSON."""

from __future__ import annotations

import json
from typing import Any, TextIO


def render(doc: dict[str, Any], out: TextIO, indent: int | None = None) -> None:
    json.dump(doc, out, indent=indent, ensure_ascii=False, separators=None if indent else (",", ":"))
    out.write("\n")
