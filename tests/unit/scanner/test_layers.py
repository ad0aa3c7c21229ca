"""No import cycles among scanner's modules (docs/architecture.md). The layering itself is
checked by ``lint-imports`` in CI (the contracts in pyproject.toml); a cycle inside one layer
is not a layering breach, so it is looked for here, over every import, lazy ones included."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

import scanner


def cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), sorted."""
    mods = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in mods}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for m in mods:
        if m not in index:
            visit(m)
    return sorted(found)


def test_scanner_has_no_import_cycles() -> None:
    graph = grimp.build_graph("scanner", "probes", "reports", cache_dir=None)  # never stale
    assert cycles(graph, "scanner") == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(m)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert cycles(graph, "p") == [["p.a", "p.b"]]


def private_probe_imports(root: Path) -> list[str]:
    """Imports of a private probe module or name (``probes.x._y``, ``from probes.x import _y``)
    in the Python files under ``root``: the scanner uses what a probe package exports."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("probes")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("probes"):
                names = [f"{node.module}.{a.name}" for a in node.names]
            found += [f"{path.relative_to(root.parent)}:{node.lineno} {n}" for n in names
                      if any(part.startswith("_") for part in n.split("."))]
    return found


def test_scanner_imports_no_private_probe_module_or_name() -> None:
    assert private_probe_imports(Path(scanner.__file__).parent) == []


def test_the_private_import_finder_finds_one(tmp_path: Path) -> None:
    pkg = tmp_path / "scanner"
    pkg.mkdir()
    (pkg / "a.py").write_text("from probes.cloud._common import SCHEMA\n"
                              "from probes.cloud import SCHEMA as S\n")
    (pkg / "b.py").write_text("import probes.windows._office\nfrom probes.posix import _x\n")
    assert private_probe_imports(pkg) == [
        "scanner/a.py:1 probes.cloud._common.SCHEMA",
        "scanner/b.py:1 probes.windows._office",
        "scanner/b.py:2 probes.posix._x",
    ]
