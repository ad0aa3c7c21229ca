"""A host's variables from the Ansible walk: the ``group_vars/`` and ``host_vars/`` files beside the
inventory, and Ansible's variable precedence over them and the inventory's own vars, as
``ansible-inventory --list`` merges them (checked as :mod:`scanner.inventory.walk` says).

- A host's variables, later winning (VARIABLE_PRECEDENCE's default): the inventory's ``all``
  vars; every other group's inventory vars, groups sorted by (depth, ``ansible_group_priority``,
  name); ``group_vars/all``; ``group_vars/<group>`` in the same order; the host's own inventory
  vars (each occurrence in file order); ``host_vars/<host>``. A value replaces the one before it
  (hash_behaviour ``replace``).
- ``group_vars/NAME`` is the first of ``NAME``, ``NAME.yml``, ``NAME.yaml``, ``NAME.json`` that
  exists; a folder is read whole, files sorted by name, sub-folders without an extension
  recursed, hidden files and ``~`` backups skipped, files with other extensions ignored. A
  Vault-encrypted file is not read: it is named on the hosts it applies to.

Bounded: vars files are regular files read through :mod:`scanner.yamlio` (at most
:data:`MAX_VARS_FILES` of them), and a host or group name is never used as a path unless it is a
plain name (no ``/``, not ``.`` or ``..``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner import yamlio
from scanner.errors import InputError
from scanner.inventory.walk import Layer, Walked, WalkError

MAX_VARS_FILES = 2_000
VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")
VAULT_HEADER = b"$ANSIBLE_VAULT;"


@dataclass
class RawHost:
    """A host as Ansible sees it: its variables merged with Ansible's precedence, where each
    came from, its groups, and any Vault-encrypted vars file that applies to it."""

    name: str
    where: str
    vars: dict[str, Any]
    origin: dict[str, str]
    layers: list[Layer]
    index: dict[str, int]  # the layer each variable's value comes from
    groups: tuple[str, ...]  # every group but all, sorted (Ansible's group_names)
    sealed: tuple[str, ...] = ()  # Vault-encrypted vars files whose variables apply to it


@dataclass
class VarsFiles:
    """The ``group_vars/`` and ``host_vars/`` files of a walk, by group and by host name."""

    groups: dict[str, list[Layer]] = field(default_factory=dict)
    hosts: dict[str, list[Layer]] = field(default_factory=dict)
    sealed: dict[str, list[str]] = field(default_factory=dict)  # entity key -> encrypted files


# -- vars files -----------------------------------------------------------------------------

_SAFE_NAME = re.compile(r"^[^/\x00]+$")


class _VarsReader:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.count = 0
        self.cache: dict[str, tuple[list[Layer], list[str]]] = {}

    def _files(self, folder: Path, name: str) -> list[Path]:
        for ext in VARS_EXTENSIONS:
            p = folder / (name + ext)
            if p.is_dir():
                return self._dir_files(p, 0)
            if p.exists():
                return [p]
        return []

    def _dir_files(self, folder: Path, depth: int) -> list[Path]:
        if depth > 8:
            return []
        found: list[Path] = []
        for entry in sorted(os.listdir(folder)):
            if entry.startswith(".") or entry.endswith("~"):
                continue
            p = folder / entry
            ext = os.path.splitext(entry)[1]
            if p.is_dir() and not ext:
                found.extend(self._dir_files(p, depth + 1))
            elif p.is_file() and ext in VARS_EXTENSIONS:
                found.append(p)
        return found

    def read(self, kind: str, name: str) -> tuple[list[Layer], list[str]]:
        """The layers of ``group_vars/NAME`` or ``host_vars/NAME`` and the encrypted files."""
        key = f"{kind}/{name}"
        if key in self.cache:
            return self.cache[key]
        layers: list[Layer] = []
        sealed: list[str] = []
        folder = self.base / kind
        if (_SAFE_NAME.match(name) and name not in (".", "..") and folder.is_dir()
                and not name.startswith(os.sep)):
            for path in self._files(folder, name):
                self.count += 1
                if self.count > MAX_VARS_FILES:
                    raise WalkError(kind, f"more than {MAX_VARS_FILES} vars files")
                rel = str(path.relative_to(self.base))
                data = yamlio.read_regular(path, label=rel, what="a vars file (YAML)")
                if data.lstrip().startswith(VAULT_HEADER):
                    sealed.append(rel)
                    continue
                loaded = yamlio.load_text(yamlio.decode(data, rel), rel)
                if loaded is None:
                    continue
                if not isinstance(loaded, dict):
                    raise WalkError(rel, "expected a mapping of variables")
                bad = [k for k in loaded if not isinstance(k, str)]
                if bad:
                    raise WalkError(rel, f"variable name {bad[0]!r} is not text")
                layers.append(Layer(rel, loaded))
        self.cache[key] = (layers, sealed)
        return layers, sealed


def read_files(walked: Walked, base: Path | None) -> tuple[VarsFiles, list[tuple[str, str]]]:
    """The vars files of every group and host of ``walked`` when ``base`` is a folder with a
    group_vars/ or host_vars/ in it. Returns them and the problems found, each (where, what)."""
    files = VarsFiles()
    problems: list[tuple[str, str]] = []
    if base is not None and ((base / "group_vars").is_dir() or (base / "host_vars").is_dir()):
        reader = _VarsReader(base)
        try:
            for g in walked.groups:
                files.groups[g], sealed = reader.read("group_vars", g)
                if sealed:
                    files.sealed[f"group:{g}"] = sealed
            for h in walked.hosts:
                files.hosts[h], sealed = reader.read("host_vars", h)
                if sealed:
                    files.sealed[f"host:{h}"] = sealed
        except WalkError as e:
            problems.append((e.where, e.what))
        except InputError as e:
            for line in e.problems:
                problems.append(("", line))
    return files, problems


# -- precedence -----------------------------------------------------------------------------


def ancestors(walked: Walked, groups: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(groups)
    while todo:
        g = todo.pop()
        if g in seen or g not in walked.groups:
            continue
        seen.add(g)
        todo.extend(walked.groups[g].parents)
    return seen


def host_vars(walked: Walked, files: VarsFiles, name: str) -> RawHost:
    """One host's variables with Ansible's precedence (see the module's docstring)."""
    h = walked.hosts[name]
    member = ancestors(walked, h.groups) | {"all"}
    ordered = sorted((walked.groups[g] for g in member if g != "all"),
                     key=lambda g: (g.depth, g.priority, g.name))
    layers: list[Layer] = []
    allg = walked.groups["all"]
    if allg.vars:
        layers.append(Layer("all.vars", allg.vars))
    layers.extend(Layer(f"{g.where}", g.vars) for g in ordered if g.vars)
    layers.extend(files.groups.get("all", []))
    for g in ordered:
        layers.extend(files.groups.get(g.name, []))
    layers.extend(h.layers)
    layers.extend(files.hosts.get(name, []))
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    index: dict[str, int] = {}
    for i, layer in enumerate(layers):
        for k, v in layer.vars.items():
            merged[k] = v
            origin[k] = layer.where
            index[k] = i
    sealed = [f for key in ["group:all", *(f"group:{g.name}" for g in ordered), f"host:{name}"]
              for f in files.sealed.get(key, [])]
    return RawHost(name=name, where=h.where, vars=merged, origin=origin, layers=layers,
                   index=index,
                   groups=tuple(sorted(g.name for g in ordered)), sealed=tuple(sealed))
