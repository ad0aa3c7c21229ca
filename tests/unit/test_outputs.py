"""Several reports from one scan (scanner/outputs.py): which format goes where."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner import outputs
from scanner.errors import InputError


def test_one_format_goes_to_standard_output_or_its_file() -> None:
    assert outputs.plan((), ()) == [("console", None)]
    assert outputs.plan(("json",), ()) == [("json", None)]
    assert outputs.plan(("html",), ("r.html",)) == [("html", "r.html")]


def test_a_file_per_format_in_order(tmp_path: Path) -> None:
    got = outputs.plan(("html", "json", "csv"), ("a.html", "b.json", "c.csv"))
    assert got == [("html", "a.html"), ("json", "b.json"), ("csv", "c.csv")]


def test_a_folder_takes_every_format(tmp_path: Path) -> None:
    got = outputs.plan(("html", "summary", "json"), (str(tmp_path),))
    assert got == [("html", str(tmp_path / "report.html")),
                   ("summary", str(tmp_path / "summary.html")),
                   ("json", str(tmp_path / "result.json"))]
    new = str(tmp_path / "new") + "/"
    pairs = outputs.plan(("csv",), (new,))
    assert pairs == [("csv", new + "results.csv")]
    assert outputs.folder_to_create(pairs) == str(tmp_path / "new")


@pytest.mark.parametrize(("formats", "outs", "words"), [
    (("html", "json"), (), "several reports need a place each"),
    (("html", "json"), ("a.html",), "given 1 times for 2 formats"),
    (("html", "json"), ("a", "a"), "one file is given for two formats"),
    (("html", "html"), ("a", "b"), "a format is given twice"),
    (("html", "json"), ("a.html", "out/"), "a folder takes every report"),
])
def test_mismatches_are_one_clear_line(formats: tuple[str, ...], outs: tuple[str, ...],
                                       words: str) -> None:
    with pytest.raises(InputError) as e:
        outputs.plan(formats, outs)
    assert len(e.value.problems) == 1 and words in e.value.problems[0]
