"""The Ansible walk: the groups and hosts of an Ansible YAML inventory, read the way
``ansible-inventory --list`` reads them.

What Ansible does, and so what this does (ansible-core 2.19, checked host by host against
``ansible-inventory --list`` on the real inventories under tests/fixtures/inventories/):

- Top-level keys are groups; a group holds ``vars``, ``children`` and ``hosts`` (a text value is
  a one-entry mapping). Every group without a parent is a child of ``all``; a host in no group
  but ``all`` is in ``ungrouped``. A group's depth is its longest path from ``all``.
- A host key is a pattern (:mod:`scanner.inventory.walk_patterns`): ranges expand to several
  hosts, and a ``:port`` sets ``ansible_port`` when the host is first added.
- Each host's variables, from the walk and the ``group_vars/`` and ``host_vars/`` beside the
  inventory, with Ansible's precedence: :mod:`scanner.inventory.walk_vars`.

Bounded: at most :data:`MAX_HOSTS` hosts and :data:`MAX_GROUPS` groups (and the bounds of
:mod:`~scanner.inventory.walk_patterns` on ranges). The walk reads no file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.inventory.model import GROUP_KEYS
from scanner.inventory.walk_patterns import expand, split_port

MAX_HOSTS = 50_000
MAX_GROUPS = 20_000


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
class Walked:
    groups: dict[str, Group]
    hosts: dict[str, HostEntry]


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


def walk(top: dict[str, Any], near_miss: Any) -> tuple[Walked, list[tuple[str, str]]]:
    """Walk the inventory's groups (``top``: the document without undone's own sections).
    Returns the walk and the problems found, each (where, what)."""
    w = _Walker()
    for name, body in top.items():
        w.group(name, body, str(name) if str(name).strip() else "top level", near_miss)
    w.reconcile()
    return Walked(w.groups, w.hosts), w.problems
