"""Renderers: one module per format, each rendering only the result document (DESIGN.md §3).

Every renderer exposes ``render(doc: ResultDocument, out: TextIO, **options) -> None``
(``scanner.result``'s typed records: with the vocabularies, the only part of scanner reports
import). Text that came from a target (facts, messages, raw output) is untrusted: each renderer
escapes it for its format, and :func:`clean` strips terminal control sequences from anything
shown on a console.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)

#: every format a report is written in (``--format`` of ``undone scan`` and ``undone report``), with
#: the file each gets in an output folder (scanner/ops/outputs.py): the one list of formats
FILE_NAMES = {"console": "report.txt", "json": "result.json", "html": "report.html",
              "summary": "summary.html", "csv": "results.csv", "junit": "junit.xml",
              "markdown": "report.md"}
FORMATS = tuple(FILE_NAMES)
#: the module of each format rendered by its own ``render`` (console, summary and JSON are
#: written by the command line, which adds options of its own)
RENDERERS = {"html": "html", "csv": "csvout", "junit": "junit", "markdown": "markdown"}


def clean(text: object) -> str:
    """``text`` as a string with terminal escape sequences and control characters removed."""
    return _CONTROL.sub("", str(text))
