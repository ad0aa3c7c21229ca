"""Renderers: one module per format, each rendering only the result document (DESIGN.md §3).

Every renderer exposes ``render(doc: dict, out: TextIO, **options) -> None``. Text that came from
a target (facts, messages, raw output) is untrusted: each renderer escapes it for its format, and
:func:`clean` strips terminal control sequences from anything shown on a console.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)

FORMATS = ("console", "json", "html", "csv", "junit", "markdown")


def clean(text: object) -> str:
    """``text`` as a string with terminal escape sequences and control characters removed."""
    return _CONTROL.sub("", str(text))
