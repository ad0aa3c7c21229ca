"""CSV report: one row per result, normal quoting, and no formula injection."""

from __future__ import annotations

import csv
import io

import pytest

from reports import csvout
from tests.unit.reports.test_reports import doc


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_starts_get_an_apostrophe(start: str) -> None:
    d = doc(message=f'{start}HYPERLINK("http://192.0.2.9","click")')
    d["results"][0]["host"] = f"{start}cmd|' /C calc'!A0"
    buf = io.StringIO()
    csvout.render(d, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue().removeprefix(csvout.BOM), newline="")))
    assert rows[0]["message"] == f"'{start}HYPERLINK(\"http://192.0.2.9\",\"click\")"
    assert rows[0]["host"].startswith("'" + start)


def test_rows_columns_and_quoting() -> None:
    d = doc(message='has "quotes", commas\nand a new line')
    r = d["results"][0]
    r.update(first_seen="2026-10-01T08:00:00Z", due="2026-10-15", overdue_days=3)
    r["waiver_expired"] = {"reason": "x", "approved_by": "Head", "expires": "2026-09-30"}
    buf = io.StringIO()
    csvout.render(d, buf)
    text = buf.getvalue().removeprefix(csvout.BOM)
    assert text.startswith(",".join(csvout.COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 1
    row = rows[0]
    assert row["message"] == 'has "quotes", commas\nand a new line'
    assert row["overdue_days"] == "3" and row["due"] == "2026-10-15"
    assert row["waiver_expired_on"] == "2026-09-30" and row["reopened"] == "no"
    assert row["observed"].startswith("{")


def test_numbers_and_empty_cells_are_left_alone() -> None:
    assert csvout.neutralise(-3) == -3
    assert csvout.neutralise(None) == ""
    assert csvout.neutralise("-3") == "'-3"
    assert csvout.neutralise("a=b") == "a=b"


def test_excel_reads_accents_from_utf8_with_a_byte_order_mark(tmp_path: object) -> None:
    """Excel takes a CSV without a byte order mark for the machine's ANSI code page, so
    "Zürich" would show as "ZÃ¼rich"; with the mark it reads UTF-8 (and utf-8-sig, as
    Python's csv readers are told to, drops it)."""
    from pathlib import Path

    d = doc(message="Salle des maîtres: mot de passe réutilisé", host="école-zürich")
    path = Path(str(tmp_path)) / "results.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csvout.render(d, f)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the UTF-8 byte order mark, once
    assert raw.count(b"\xef\xbb\xbf") == 1
    assert "école-zürich".encode() in raw
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert next(iter(rows[0])) == "host"  # the mark is not part of the first column's name
    assert rows[0]["host"] == "école-zürich"
    assert rows[0]["message"] == "Salle des maîtres: mot de passe réutilisé"
    # what a reader that ignores the mark would see instead is mojibake: the mark is needed
    assert raw.decode("cp1252", errors="replace").find("école") == -1
