"""The Ansible walk: an Ansible YAML inventory, with the ``group_vars/`` and ``host_vars/`` beside
it, read to each host's variables the way ``ansible-inventory --list`` reads them.

What Ansible does, and so what this does (ansible-core 2.19, checked host by host against
``ansible-inventory --list`` on the real inventories under tests/fixtures/inventories/):

- Top-level keys are groups; a group holds ``vars``, ``children`` and ``hosts`` (a text value is
  a one-entry mapping). Every group without a parent is a child of ``all``; a host in no group
  but ``all`` is in ``ungrouped``. A group's depth is its longest path from ``all``.
- A host key is a pattern: ``web[01:20:2].example.org`` (numeric ranges with an optional stride,
  zero-padded when the start is, several ranges multiply), ``node[a:f]`` (letters), and an
  optional ``:port`` (``[2001:db8::1]:2222`` for IPv6) that sets ``ansible_port`` when the host is
  first added.
- A host's variables, later winning (VARIABLE_PRECEDENCE's default): the inventory's ``all``
  vars; every other group's inventory vars, groups sorted by (depth, ``ansible_group_priority``,
  name); ``group_vars/all``; ``group_vars/<group>`` in the same order; the host's own inventory
  vars (each occurrence in file order); ``host_vars/<host>``. A value replaces the one before it
  (hash_behaviour ``replace``).
- ``group_vars/NAME`` is the first of ``NAME``, ``NAME.yml``, ``NAME.yaml``, ``NAME.json`` that
  exists; a folder is read whole, files sorted by name, sub-folders without an extension
  recursed, hidden files and ``~`` backups skipped, files with other extensions ignored.

Bounded: ranges are counted before they are expanded (at most :data:`MAX_RANGE_HOSTS` hosts a
pattern, :data:`MAX_HOSTS` in all, bounds of at most 9 digits), vars files are regular files
read through :mod:`scanner.yamlio` (at most :data:`MAX_VARS_FILES` of them), and a host or group
name is never used as a path unless it is a plain name (no ``/``, not ``.`` or ``..``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner import yamlio
from scanner.errors import InputError

MAX_RANGE_HOSTS = 10_000
MAX_HOSTS = 50_000
MAX_GROUPS = 20_000
MAX_VARS_FILES = 2_000
MAX_RANGE_DIGITS = 9
VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")
GROUP_KEYS = ("hosts", "vars", "children")
VAULT_HEADER = b"$ANSIBLE_VAULT;"


class WalkError(Exception):
    """One problem at one place: ``where`` (a key path or a file) and ``what``."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


@dataclass
class Layer:
    """One source of a host's variables, in precedence order: where it is, and what it sets."""

    where: str
    vars: dict[str, Any]


@dataclass
class Group:
    name: str
    where: str
    vars: dict[str, Any] = field(default_factory=dict)
    depth: int = 0
    priority: int = 1
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


@dataclass
class HostEntry:
    name: str
    where: str  # where the host is first declared
    groups: list[str] = field(default_factory=list)  # the groups it is listed in, in order
    layers: list[Layer] = field(default_factory=list)  # its own inventory vars, in file order


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
class Walked:
    groups: dict[str, Group]
    hosts: dict[str, HostEntry]
    group_files: dict[str, list[Layer]] = field(default_factory=dict)
    host_files: dict[str, list[Layer]] = field(default_factory=dict)
    sealed: dict[str, list[str]] = field(default_factory=dict)  # entity key -> encrypted files


# -- host patterns --------------------------------------------------------------------------

_BRACKETED_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
_RANGE = re.compile(r"^(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?$", re.I)


_PLAIN_LABEL = re.compile(r"^\w(?:[\w-]*\w)?$")


def _label_ok(label: str) -> bool:
    """One dot-separated label of a host pattern: word characters, ``-``/``_`` and bracketed
    ranges, starting with a word character or a range and not ending with ``-`` or ``_``."""
    if not label or label[-1] in "-_":
        return False
    if "[" not in label:
        return bool(_PLAIN_LABEL.match(label))
    i = 0
    first = True
    while i < len(label):
        c = label[i]
        if c == "[":
            end = label.find("]", i)
            if end < 0 or not _RANGE.match(label[i + 1 : end]):
                return False
            i = end + 1
        elif c.isalnum() or c == "_" or (c == "-" and not first):
            i += 1
        else:
            return False
        first = False
    return True


def _is_host_pattern(text: str) -> bool:
    """A host name, IPv4 or IPv6 address, possibly with ranges (Ansible's parse_address)."""
    if ":" in re.sub(r"\[[^\]]*\]", "", text):  # a ':' outside a range ([1:3]): IPv6
        try:
            ipaddress.IPv6Address(text)
            return True
        except ValueError:
            return False
    return all(_label_ok(lab) for lab in text.split("."))


def split_port(pattern: str) -> tuple[str, int | None]:
    """``host:port`` and ``[host]:port`` keys: the host pattern and the port. A key whose host
    part is not a host name or address is a name as it stands, with no port (as in Ansible)."""
    host, port = pattern, None
    for rx in (_BRACKETED_PORT, _HOST_PORT):
        m = rx.match(host)
        if m:
            host, port = m.group(1), int(m.group(2)) if len(m.group(2)) <= 6 else None
    if port is None and host != pattern:
        return pattern, None
    if not _is_host_pattern(host):
        return pattern, None
    return host, port


def _first_range(line: str) -> tuple[str, str, str]:
    """Ansible's cut of a pattern at its first ``[`` and first ``]``: head, range, tail."""
    a = line.index("[")
    cut = line[:a] + "|" + line[a + 1 :]
    b = cut.find("]")
    if b < 0:
        raise ValueError("a '[' without its ']'")
    cut = cut[:b] + "|" + cut[b + 1 :]
    parts = cut.split("|")
    if len(parts) != 3:
        raise ValueError("'|' in a host pattern")
    return parts[0], parts[1], parts[2]


def _range_items(nrange: str) -> tuple[list[str] | range, int]:
    """The items of one range and the zero-padding width (0: none)."""
    bounds = nrange.split(":")
    if len(bounds) not in (2, 3):
        raise ValueError("a host range is begin:end or begin:end:step")
    beg, end = bounds[0] or "0", bounds[1]
    step_text = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise ValueError("a host range needs its end")
    for part in (beg, end, step_text):
        if len(part) > MAX_RANGE_DIGITS:
            raise ValueError(f"a range bound of {len(part)} characters (at most "
                             f"{MAX_RANGE_DIGITS})")
    width = 0
    if beg[0] == "0" and len(beg) > 1:
        width = len(beg)
        if len(end) != width:
            raise ValueError("a zero-padded range needs begin and end of the same width")
    letters = string.ascii_letters
    if beg in letters and end in letters and not beg.isdigit():
        i_beg, i_end = letters.index(beg), letters.index(end)
        if i_beg > i_end:
            raise ValueError("a host range must have begin <= end")
        step = int(step_text)
        if step == 0:
            raise ValueError("a host range step of 0")
        return list(letters[i_beg : i_end + 1 : step]), 0
    if not (beg.isascii() and beg.isdigit() and end.isascii() and end.isdigit()
            and step_text.isascii() and step_text.isdigit()):
        raise ValueError(f"[{nrange}] is not a range of numbers or letters")
    step = int(step_text)
    if step == 0:
        raise ValueError("a host range step of 0")
    return range(int(beg), int(end) + 1, step), width


def range_count(pattern: str) -> int:
    """How many names a pattern expands to, counted without expanding it."""
    total = 1
    line = pattern
    while "[" in line:
        head, nrange, tail = _first_range(line)
        items, _ = _range_items(nrange)
        total *= len(items)
        if total == 0:
            return 0
        line = head + tail
    return total


def expand(pattern: str) -> list[str]:
    """Ansible's expansion of a host pattern's ranges (``web[01:03]`` -> web01 web02 web03).
    Raises ValueError with the reason for a pattern Ansible would refuse, or one that would make
    more than :data:`MAX_RANGE_HOSTS` hosts."""
    if "[" not in pattern:
        return [pattern]
    n = range_count(pattern)
    if n > MAX_RANGE_HOSTS:
        raise ValueError(f"would make {n} hosts; the limit is {MAX_RANGE_HOSTS} a pattern")
    out: list[str] = []
    todo = [pattern]
    while todo:
        line = todo.pop(0)
        if "[" not in line:
            out.append(line)
            continue
        head, nrange, tail = _first_range(line)
        items, width = _range_items(nrange)
        for item in items:
            text = str(item).zfill(width) if isinstance(item, int) else str(item)
            todo.append(head + text + tail)
    return out


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


# -- the walk -------------------------------------------------------------------------------


class _Walker:
    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        self.hosts: dict[str, HostEntry] = {}
        self.problems: list[tuple[str, str]] = []
        self.add_group("all", "all")
        self.add_group("ungrouped", "all")
        self.add_child("all", "ungrouped")

    def problem(self, where: str, what: str) -> None:
        self.problems.append((where, what))

    def add_group(self, name: str, where: str) -> Group:
        g = self.groups.get(name)
        if g is None:
            if len(self.groups) >= MAX_GROUPS:
                raise WalkError(where, f"more than {MAX_GROUPS} groups")
            g = self.groups[name] = Group(name, where)
        return g

    def _descendants(self, name: str) -> set[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            for c in self.groups[todo.pop()].children:
                if c not in seen:
                    seen.add(c)
                    todo.append(c)
        return seen

    def add_child(self, parent: str, child: str, where: str = "") -> None:
        if child == parent or parent in self._descendants(child):
            self.problem(where or child, f"groups '{parent}' and '{child}' contain each other "
                         "(Ansible refuses a group loop)")
            return
        p, c = self.groups[parent], self.groups[child]
        if child not in p.children:
            p.children.append(child)
        if parent not in c.parents:
            c.parents.append(parent)
        # depth: the longest path from all, pushed down to every descendant
        todo = [(child, p.depth + 1)]
        while todo:
            name, depth = todo.pop()
            g = self.groups[name]
            if g.depth < depth:
                g.depth = depth
                todo.extend((k, depth + 1) for k in g.children)

    def add_host(self, name: str, group: str, port: int | None, where: str) -> HostEntry:
        h = self.hosts.get(name)
        if h is None:
            if len(self.hosts) >= MAX_HOSTS:
                raise WalkError(where, f"more than {MAX_HOSTS} hosts")
            h = self.hosts[name] = HostEntry(name, where)
            if port:  # as Ansible: only when the host is first added
                h.layers.append(Layer(where, {"ansible_port": port}))
        if group not in h.groups:
            h.groups.append(group)
        return h

    def group(self, name: Any, body: Any, where: str, near_miss: Any) -> str | None:
        if not isinstance(name, str) or not name.strip():
            self.problem(where, f"group name {name!r} is not text")
            return None
        if body is not None and not isinstance(body, dict):
            self.problem(where, f"group '{name}' is {_kind(body)}, expected a mapping with "
                                "hosts, vars or children")
            return None
        self.add_group(name, where)
        if body is None:
            return name
        for key, value in body.items():
            if key not in GROUP_KEYS:
                # Ansible skips other keys with a warning; a near miss would lose hosts or vars
                guess = near_miss(str(key), GROUP_KEYS)
                if guess:
                    self.problem(where, f"unknown key '{key}' in group '{name}' (did you mean "
                                        f"'{guess}'?); expected hosts, vars or children")
                continue
            if isinstance(value, str):
                value = {value: None}
            if value is None:
                continue
            if not isinstance(value, dict):
                what = {"vars": "variables", "hosts": "host names", "children": "groups"}[key]
                self.problem(f"{where}.{key}", f"expected a mapping of {what}, found "
                                               f"{_kind(value)}")
                continue
            if key == "vars":
                for var, v in value.items():
                    if not isinstance(var, str):
                        self.problem(f"{where}.vars", f"variable name {var!r} is not text")
                    elif var == "ansible_group_priority":
                        try:
                            self.groups[name].priority = int(v)
                        except (TypeError, ValueError):
                            self.problem(f"{where}.vars", f"ansible_group_priority is {v!r}, "
                                                          "expected a whole number")
                    else:
                        self.groups[name].vars[var] = v
                        self.groups[name].where = f"{where}.vars"
            elif key == "children":
                for sub, sbody in value.items():
                    child = self.group(sub, sbody, f"{where}.children.{sub}".rstrip("."),
                                       near_miss)
                    if child is not None:
                        self.add_child(name, child, f"{where}.children.{sub}")
            else:
                for pattern, hvars in value.items():
                    self.host_pattern(name, pattern, hvars, f"{where}.hosts")
        return name

    def host_pattern(self, group: str, pattern: Any, hvars: Any, where: str) -> None:
        if not isinstance(pattern, str):
            self.problem(where, f"host name {pattern!r} is not text (Ansible needs host names "
                                "as text: quote it)")
            return
        hwhere = f"{where}.{pattern}"
        if not pattern.strip():
            self.problem(where, "a host name is empty")
            return
        if hvars is not None and not isinstance(hvars, dict):
            self.problem(hwhere, f"expected a mapping of the host's variables, found "
                                 f"{_kind(hvars)}")
            return
        host, port = split_port(pattern)
        try:
            names = expand(host)
        except ValueError as e:
            self.problem(hwhere, f"host range: {e}")
            return
        bad = [k for k in (hvars or {}) if not isinstance(k, str)]
        if bad:
            self.problem(hwhere, f"variable name {bad[0]!r} is not text")
            return
        for n in names:
            h = self.add_host(n, group, port, hwhere)
            if hvars:
                h.layers.append(Layer(hwhere, dict(hvars)))

    def reconcile(self) -> None:
        for name in list(self.groups):
            if name != "all" and not self.groups[name].parents:
                self.add_child("all", name)
        for h in self.hosts.values():
            if not [g for g in h.groups if g not in ("all", "ungrouped")]:
                if "ungrouped" not in h.groups:
                    h.groups.append("ungrouped")
            elif "ungrouped" in h.groups:
                h.groups.remove("ungrouped")


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def walk(top: dict[str, Any], base: Path | None,
         near_miss: Any) -> tuple[Walked, list[tuple[str, str]]]:
    """Walk the inventory's groups (``top``: the document without undone's own sections) and,
    when ``base`` is a folder, the group_vars/ and host_vars/ in it. Returns the walk and the
    problems found, each (where, what)."""
    w = _Walker()
    for name, body in top.items():
        w.group(name, body, str(name) if str(name).strip() else "top level", near_miss)
    w.reconcile()
    walked = Walked(w.groups, w.hosts)
    if base is not None and ((base / "group_vars").is_dir() or (base / "host_vars").is_dir()):
        reader = _VarsReader(base)
        try:
            for g in w.groups:
                walked.group_files[g], sealed = reader.read("group_vars", g)
                if sealed:
                    walked.sealed[f"group:{g}"] = sealed
            for h in w.hosts:
                walked.host_files[h], sealed = reader.read("host_vars", h)
                if sealed:
                    walked.sealed[f"host:{h}"] = sealed
        except WalkError as e:
            w.problem(e.where, e.what)
        except InputError as e:
            for line in e.problems:
                w.problems.append(("", line))
    return walked, w.problems


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


def host_vars(walked: Walked, name: str) -> RawHost:
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
    layers.extend(walked.group_files.get("all", []))
    for g in ordered:
        layers.extend(walked.group_files.get(g.name, []))
    layers.extend(h.layers)
    layers.extend(walked.host_files.get(name, []))
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    index: dict[str, int] = {}
    for i, layer in enumerate(layers):
        for k, v in layer.vars.items():
            merged[k] = v
            origin[k] = layer.where
            index[k] = i
    sealed = [f for key in ["group:all", *(f"group:{g.name}" for g in ordered), f"host:{name}"]
              for f in walked.sealed.get(key, [])]
    return RawHost(name=name, where=h.where, vars=merged, origin=origin, layers=layers,
                   index=index,
                   groups=tuple(sorted(g.name for g in ordered)), sealed=tuple(sealed))
