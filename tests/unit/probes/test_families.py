"""The fact families (probes/<family>/: malware, backup, updates, firewall, access, os,
applications, device; probes/extensions.py for browsers), checked on the source by an AST walk:

- no module under probes/ imports a private name (a leading underscore) from a module outside
  its own package, nor a private name from another section, nor a private module (``_json``,
  ``_common``) of another package: what sections share is public and lives in a family;
- each fact name a section provides is written in exactly one place: the sections compose their
  ``PROVIDES`` from the family's tuples, never a copy of them (the walk follows each ``PROVIDES``
  through its module's constants and its imports, and must end at the very fact names
  :func:`probes.sections` reports, so it cannot pass by missing a piece);
- a family package is never discovered as a section.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from pathlib import Path

import pytest

import probes
from probes import FAMILIES, SCANNER_FAMILIES, sections

ROOT = Path(probes.__file__).resolve().parent
#: the packages that hold a fact family's shared names and helpers (not sections)
FAMILY_PACKAGES = ("access", "applications", "backup", "device", "firewall", "malware", "os",
                   "updates")
FACT = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _package(module: str) -> str:
    """The package a module belongs to (a package's ``__init__`` belongs to the package)."""
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _private(module: str) -> str | None:
    """The first private part of a dotted module path, as the path up to it, or None."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_"):
            return ".".join(parts[: i + 1])
    return None


@cache
def _tree(module: str) -> ast.Module:
    return ast.parse(MODULES[module].read_text(encoding="utf-8"), filename=str(MODULES[module]))


def _imports(module: str) -> list[tuple[int, str, str | None]]:
    """(line, module imported from or imported, name imported from it or None) for every
    import of a probes module, relative imports resolved."""
    out: list[tuple[int, str, str | None]] = []
    package = _package(module)
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, None) for a in node.names
                       if a.name.split(".")[0] == "probes")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "probes":
                continue
            for a in node.names:
                if f"{base}.{a.name}" in MODULES:
                    out.append((node.lineno, f"{base}.{a.name}", None))  # a module
                else:
                    out.append((node.lineno, base, a.name))
    return out


def _violations(module: str) -> list[str]:
    problems: list[str] = []
    mine = _package(module)
    for line, target, name in _imports(module):
        where = f"{MODULES[module].relative_to(ROOT.parent)}:{line}"
        private = _private(target)
        if private is not None and private.rpartition(".")[0] != mine:
            problems.append(f"{where} imports the private module {private} of another package")
        if name is not None and name.startswith("_") and name != "*":
            if _package(target) != mine:
                problems.append(f"{where} imports the private name {name} from {target}, "
                                "outside its package")
            elif private is None:
                problems.append(f"{where} imports the private name {name} from the module "
                                f"{target} (a section's private names are its own)")
    return problems


def test_no_private_imports_between_sections_or_packages() -> None:
    problems = [p for m in MODULES for p in _violations(m)]
    assert problems == []


@pytest.mark.parametrize(("source", "expected"), [
    ("from probes.posix.malware import _primary\n", "private name _primary"),
    ("from probes.snmp._identity import cisco_version\n", "private module probes.snmp._identity"),
    ("from probes.snmp import _varbinds\n", "private module probes.snmp._varbinds"),
    ("from probes.windows.defender import _services\n", "private name _services"),
    ("from ..posix.backup import _entry\n", "private name _entry"),
])
def test_the_import_check_finds_what_it_forbids(source: str, expected: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above is no check unless it fails on the imports the review found."""
    fake = "probes.windows.backup"
    real = _tree
    monkeypatch.setattr(sys.modules[__name__], "_tree",
                        lambda m: ast.parse(source) if m == fake else real(m))
    problems = _violations(fake)
    assert any(expected in p for p in problems), problems
    # a package's own private helper module stays allowed
    assert _violations("probes.windows.defender") == []


# ---------------------------------------------------------------------------- PROVIDES once


def _constants(module: str) -> dict[str, ast.expr]:
    out: dict[str, ast.expr] = {}
    for node in _tree(module).body:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            out[node.target.id] = node.value
    return out


def _aliases(module: str) -> dict[str, tuple[str, str | None]]:
    """Local name -> (probes module, name in it, or None when the name is the module)."""
    out: dict[str, tuple[str, str | None]] = {}
    for node in _tree(module).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("probes"):
            for a in node.names:
                full = f"{node.module}.{a.name}"
                out[a.asname or a.name] = (full, None) if full in MODULES else (node.module or "",
                                                                                 a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODULES and a.asname:
                    out[a.asname] = (a.name, None)
    return out


Place = tuple[str, str]  # (module, constant) where a fact name's literal is written


def _facts(module: str, expr: ast.expr, const: str, seen: frozenset[Place] = frozenset()
           ) -> dict[str, set[Place]]:
    """Every fact name an expression of ``module`` (in its constant ``const``) stands for, with
    where each is written as a literal; names and attributes are followed into their module."""
    out: dict[str, set[Place]] = {}

    def add(found: dict[str, set[Place]]) -> None:
        for k, v in found.items():
            out.setdefault(k, set()).update(v)

    def follow(target_module: str, name: str) -> None:
        place = (target_module, name)
        if place in seen:
            return
        value = _constants(target_module).get(name)
        if value is None:
            alias = _aliases(target_module).get(name)
            assert alias is not None and alias[1] is not None, f"{target_module}.{name} unresolved"
            follow(alias[0], alias[1])
            return
        add(_facts(target_module, value, name, seen | {place}))

    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        assert FACT.match(expr.value), f"{module}.{const}: {expr.value!r} is no fact name"
        out[expr.value] = {(module, const)}
    elif isinstance(expr, ast.Tuple | ast.List):
        for e in expr.elts:
            add(_facts(module, e, const, seen))
    elif isinstance(expr, ast.Starred):
        add(_facts(module, expr.value, const, seen))
    elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        add(_facts(module, expr.left, const, seen))
        add(_facts(module, expr.right, const, seen))
    elif isinstance(expr, ast.Name):
        if expr.id in _constants(module):
            follow(module, expr.id)
        else:
            alias = _aliases(module).get(expr.id)
            assert alias is not None and alias[1] is not None, f"{module}: {expr.id} unresolved"
            follow(alias[0], alias[1])
    elif isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        alias = _aliases(module).get(expr.value.id)
        assert alias is not None and alias[1] is None, f"{module}: {ast.unparse(expr)}"
        follow(alias[0], expr.attr)
    else:
        raise AssertionError(f"{module}.{const}: cannot read {ast.unparse(expr)}")
    return out


def _section_module(name: str) -> str:
    return f"probes.{name}"


def _written() -> dict[str, set[Place]]:
    """Per fact name, where its literal is written, over every section's PROVIDES."""
    where: dict[str, set[Place]] = {}
    for name, section in sections().items():
        module = _section_module(name)
        if "PROVIDES" not in _constants(module) and "PROVIDES" not in _aliases(module):
            assert section.provides == (), name
            continue
        found = _facts(module, ast.Name("PROVIDES"), "PROVIDES")
        # the walk reads the whole PROVIDES: the very names discovery reports, no more, no less
        assert set(found) == set(section.provides), name
        assert len(section.provides) == len(set(section.provides)), f"{name}: a name twice"
        for fact, places in found.items():
            where.setdefault(fact, set()).update(places)
    return where


def test_each_fact_name_is_written_once() -> None:
    where = _written()
    copied = {fact: sorted(places) for fact, places in where.items() if len(places) > 1}
    assert copied == {}
    # the families' names are the families': a section composes them, never copies them
    written = {fact: next(iter(places))[0] for fact, places in where.items()}
    for fact, family in (("av.installed", "probes.malware"),
                         ("backup.last_success_at", "probes.backup"),
                         ("updates.pending_count", "probes.updates"),
                         ("patch.last_install_at", "probes.updates"),
                         ("firewall.default_inbound", "probes.firewall"),
                         ("accounts.admins", "probes.access"),
                         ("access.admins", "probes.access.derive"),
                         ("os.family", "probes.os"),
                         ("apps.installed", "probes.applications"),
                         ("browsers.extensions", "probes.extensions"),
                         ("device.vendor", "probes.device"),
                         ("firmware.version", "probes.device"),
                         ("tenant.name", "probes.cloud._common")):
        assert written[fact] == family, fact


def test_a_copied_fact_name_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """A section that copies a family's name instead of composing it is caught."""
    copy = ast.parse('PROVIDES = ("av.installed",)\n')
    real = _tree
    monkeypatch.setattr(sys.modules[__name__], "_tree",
                        lambda m: copy if m == "probes.posix.malware" else real(m))
    with pytest.raises(AssertionError):
        _written()  # posix.malware's PROVIDES is no longer what discovery reports
    # and with the whole list copied, the copy is named
    monkeypatch.setattr(sys.modules[__name__], "_tree",
                        lambda m: ast.parse(
                            "PROVIDES = (" + "".join(f"{n!r}, " for n in
                                                     sections()["posix.malware"].provides) + ")\n")
                        if m == "probes.posix.malware" else real(m))
    where = _written()
    assert sorted(where["av.installed"]) == [("probes.malware", "PROVIDES"),
                                             ("probes.posix.malware", "PROVIDES")]


def test_family_packages_are_not_sections() -> None:
    for family in FAMILY_PACKAGES:
        assert (ROOT / family / "__init__.py").is_file(), family
        assert family not in FAMILIES + SCANNER_FAMILIES
    assert not [n for n in sections() if n.split(".")[0] in FAMILY_PACKAGES]


def test_posix_firewall_and_gateway_share_the_one_nft_parser() -> None:
    """The nftables ruleset is parsed in one module: no other module reads nft's table and chain
    lines, and both sections that read ``nft list ruleset`` import it."""
    readers = [m for m in MODULES if re.search(r'\^(?:table|chain)\\s\+',
                                               MODULES[m].read_text(encoding="utf-8"))]
    assert readers == ["probes.firewall.nft"]
    for section in ("probes.posix.firewall", "probes.posix.gateway"):
        assert any(t == "probes.firewall.nft" for _, t, _ in _imports(section)), section
