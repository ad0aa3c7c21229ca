"""CSV report: one row per result (host × rule), for spreadsheets.

The file starts with a UTF-8 byte order mark, so that Excel opens it as UTF-8 and names with
accents (a school in Zürich, "Salle des maîtres") stay intact; other readers skip it (Python:
``encoding="utf-8-sig"``; LibreOffice and Google Sheets detect it).

Besides normal CSV quoting, every text cell that a spreadsheet would read as a formula (starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading apostrophe, so a
hostile host's output cannot become a formula in the reader's spreadsheet (CSV injection).
"""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from scanner.result import Result, ResultDocument, Waiver

COLUMNS = ("host", "rule", "title", "control", "severity", "owner", "status", "first_seen",
           "due", "overdue_days", "reopened", "message", "expected", "observed",
           "waiver_reason", "waiver_approved_by", "waiver_expires", "waiver_expired_on",
           "finding")
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell value safe to open in a spreadsheet: text that starts like a formula gets a
    leading apostrophe; numbers and empty cells are left as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def row(r: Result) -> list[Any]:
    w: Waiver | dict[str, str] = r.get("waiver") or {}
    we: Waiver | dict[str, str] = r.get("waiver_expired") or {}
    values = [
        r["host"], r["rule"], r["title"], r["control"], r["severity"], r["owner"], r["status"],
        r.get("first_seen"), r.get("due"), r.get("overdue_days"), bool(r.get("reopened")),
        r.get("message"), r.get("expected"),
        json.dumps(r.get("observed") or {}, ensure_ascii=False, sort_keys=True, default=str),
        w.get("reason") or we.get("reason"), w.get("approved_by") or we.get("approved_by"),
        w.get("expires"), we.get("expires"), r.get("finding"),
    ]
    return [neutralise(v) for v in values]


def render(doc: ResultDocument, out: TextIO, **_: Any) -> None:
    out.write(BOM)
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in doc.get("results", []):
        writer.writerow(row(r))
