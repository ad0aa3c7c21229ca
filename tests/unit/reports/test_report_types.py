"""The renderers, outputs and evidence take the typed records of scanner/result.py, so that mypy
strict checks what they read against the contract (tests/unit/scanner/test_result_types.py checks
the records against the JSON Schema). Read from the source: every parameter that holds a result
document (``doc``), a host record (``host``) or a result (``r``) is annotated with its record
type, apart from the few listed below with the reason."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[3]
FILES = [*sorted((ROOT / "reports").glob("*.py")),
         ROOT / "scanner" / "ops" / "outputs.py", ROOT / "scanner" / "ops" / "evidence.py"]
TYPES = {"doc": "ResultDocument", "host": "HostRecord", "r": "Result"}
# (file stem, function, parameter) -> why it is not the record type
PLAIN = {
    ("jsonout", "render", "doc"): "writes any JSON mapping; hosts and results may be iterables",
    ("diff", "problems", "doc"): "checks any JSON read from a file, before it is typed",
}


def _parameters() -> list[tuple[str, str, str, str]]:
    """(file stem, function, parameter, annotation) of every parameter named in TYPES."""
    out = []
    for path in FILES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args
                for a in (*args.posonlyargs, *args.args, *args.kwonlyargs):
                    if a.arg in TYPES:
                        note = ast.unparse(a.annotation) if a.annotation else ""
                        out.append((path.stem, node.name, a.arg, note))
    return out


def test_the_finder_sees_the_renderers() -> None:
    found = {(f, fn) for f, fn, _, _ in _parameters()}
    assert {("html", "render"), ("csvout", "row"), ("access", "host_access"),
            ("outputs", "render"), ("evidence", "bundle_files")} <= found


def test_documents_hosts_and_results_are_typed() -> None:
    wrong = [f"{f}.{fn}({p}: {note or 'no annotation'})" for f, fn, p, note in _parameters()
             if (f, fn, p) not in PLAIN and note != TYPES[p]]
    assert not wrong, "expected scanner.result's types: " + ", ".join(wrong)


def test_the_exceptions_are_still_there() -> None:
    seen = {(f, fn, p) for f, fn, p, _ in _parameters()}
    assert set(PLAIN) <= seen, "an exception listed here is gone: remove it from PLAIN"
