"""``undone lifecycle refresh --from DIR`` on garbage exports (issue 15: 580 of 2,500 mutated
exports gave exit 4 with 26 distinct exceptions): truncated JSON, wrong types, missing keys, huge
numbers, deep nesting, binary. Whatever the files hold, the command gives exit 2 and one line
that names the file and what was expected, and writes nothing.

A hypothesis budget that fits CI (``FUZZ_EXAMPLES``, 150 by default; about 5 s here): each
example builds an export, breaks one of its files, and runs the real command in-process."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.cli.app import cli
from scanner.lifecycle import catalogue as lifecycle
from scanner.lifecycle import model as lifecycle_model

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))


def valid_products() -> dict[str, Any]:
    """A minimal, valid endoflife.date products.json: every product undone needs."""
    return {
        slug: {"title": slug.title(), "category": "os", "releases": [
            {"releaseCycle": "1", "releaseDate": "2024-01-01", "eol": "2030-01-01",
             "latest": "1.2", "latestReleaseDate": "2024-06-01"}]}
        for slug in lifecycle_model.PRODUCTS
    }


def write_export(root: Path) -> Path:
    src = root / "export"
    (src / "release-data").mkdir(parents=True, exist_ok=True)
    (src / "products.json").write_text(json.dumps(valid_products()))
    (src / "release-data" / "routeros.json").write_text(json.dumps(
        {"releases": {}, "versions": {"7.21.5": {"name": "7.21.5", "date": "2026-07-06"}}}))
    return src


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=20), st.just("2026-13-45"), st.just("9999-99-99"))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
HUGE = "1" * 5000


@st.composite
def garbage(draw: st.DrawFn) -> tuple[str, bytes]:
    """(which file, its new bytes)."""
    target = draw(st.sampled_from(["products.json", "release-data/routeros.json"]))
    base: Any = valid_products() if target == "products.json" else {
        "versions": {"7.21.5": {"name": "7.21.5", "date": "2026-07-06"}}}
    kind = draw(st.sampled_from(["binary", "truncated", "mutate", "drop", "huge", "deep",
                                 "top"]))
    text = json.dumps(base)
    if kind == "binary":
        return target, draw(st.binary(min_size=1, max_size=200)) + b"\xff\xfe"
    if kind == "truncated":
        cut = draw(st.integers(min_value=0, max_value=len(text) - 1))
        return target, text[:cut].encode()
    if kind == "huge":
        return target, text.replace("2024-01-01", HUGE, 1).replace('"2024-01-01"', HUGE).replace(
            '"2026-07-06"', HUGE).encode()
    if kind == "deep":
        return target, ("[" * 100_000 + "]" * 100_000).encode()
    if kind == "top":
        return target, json.dumps(draw(json_value)).encode()
    rng = random.Random(draw(st.integers(0, 2**32)))
    if target == "products.json":
        slug = rng.choice(list(lifecycle_model.PRODUCTS))
        holder: dict[str, Any] = base[slug]
        if kind == "mutate" and rng.random() < 0.6:
            holder = base[slug]["releases"][0]
    else:
        holder = base["versions"]["7.21.5"] if rng.random() < 0.5 else base
    key = rng.choice(sorted(holder))
    if kind == "drop":
        del holder[key]
        if target == "products.json" and rng.random() < 0.3:
            del base[rng.choice(list(lifecycle_model.PRODUCTS))]
    else:
        new = draw(json_value)
        if new == holder[key]:
            new = {"not": "a value"}
        holder[key] = new
    return target, json.dumps(base).encode()


def refresh(src: Path, out: Path) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["lifecycle", "refresh", "--from", str(src), "--out", str(out)])
    return r.exit_code, r.stderr


def test_a_valid_export_refreshes(tmp_path: Path) -> None:
    src = write_export(tmp_path)
    code, err = refresh(src, tmp_path / "out")
    assert code == 0, err
    assert (tmp_path / "out" / "catalogue.json").exists()


@pytest.mark.parametrize("target, content, words", [
    ("products.json", b'{"debian": {"title": "Debian", "rel', "not valid JSON"),
    ("products.json", b"\x00\x01\xff binary", "not UTF-8 text"),
    ("products.json", b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
    ("products.json", b'{"debian": ' + HUGE.encode() + b"}", "expected"),
    ("products.json", b"[]", "expected an object of products, got a list"),
    ("products.json", b"{}", "missing products"),
    ("release-data/routeros.json", b'{"versions": {"7.1": {"date": 20260706}}}',
     "versions.7.1.date: expected a date"),
])
def test_known_garbage_gives_one_line(tmp_path: Path, target: str, content: bytes,
                                      words: str) -> None:
    src = write_export(tmp_path)
    (src / target).write_bytes(content)
    code, err = refresh(src, tmp_path / "out")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and target.split("/")[-1] in err and words in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_a_wrong_type_deep_in_a_release_names_its_key_path(tmp_path: Path) -> None:
    src = write_export(tmp_path)
    doc = valid_products()
    doc["debian"]["releases"][0]["eol"] = {"when": "later"}
    (src / "products.json").write_text(json.dumps(doc))
    code, err = refresh(src, tmp_path / "out")
    assert code == 2
    assert "products.json: debian '1'.eol: expected a date (YYYY-MM-DD), true, false or null" in err


def test_a_garbage_kev_file_writes_no_catalogue(tmp_path: Path) -> None:
    src = write_export(tmp_path)
    kev = tmp_path / "kev.json"
    kev.write_bytes(b'{"catalogVersion": "1", "vulnerabilities": 5}')
    r = CliRunner().invoke(cli, ["lifecycle", "refresh", "--from", str(src), "--out",
                                 str(tmp_path / "out"), "--kev", str(kev)])
    assert r.exit_code == 2 and "kev.json" in r.stderr and "expected" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "catalogue.json").exists()  # nothing half-written


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(broken=garbage())
def test_garbage_exports_always_give_exit_2_and_one_line(tmp_path: Path,
                                                         broken: tuple[str, bytes]) -> None:
    target, content = broken
    src = write_export(tmp_path)
    (src / target).write_bytes(content)
    out = tmp_path / "out"
    for stale in out.glob("*"):
        stale.unlink()
    code, err = refresh(src, out)
    if code == 0:
        # a mutation that kept the export valid (a key undone does not read): then it must
        # have written a catalogue that loads
        lifecycle.catalogue_from_json((out / "catalogue.json").read_text(), "catalogue.json")
        return
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert Path(target).name in lines[0] and "expected" in lines[0], lines[0]
    assert "internal error" not in err and "Traceback" not in err
