"""Safe YAML loading for files a user hands to undone (inventories, baselines, waivers).

``yaml.SafeLoader`` never runs code, but on its own it accepts alias bombs (a billion laughs
document is cheap for PyYAML, which shares the aliased objects, but not for anything that walks
the result), unbounded nesting, huge files and duplicate keys that silently override. This loader
refuses all four with an :class:`~scanner.errors.InputError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

from scanner.errors import InputError

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 200
MAX_EXPANDED_NODES = 200_000


def _expanded_size(node: Node, memo: dict[int, int]) -> int:
    """Nodes the document would have with every alias expanded (an alias bomb is small on disk
    and huge here)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a cycle counts once
    size = 1
    if isinstance(node, MappingNode):
        for k, v in node.value:
            size += _expanded_size(k, memo) + _expanded_size(v, memo)
    elif isinstance(node.value, list):
        for child in node.value:
            size += _expanded_size(child, memo)
    size = min(size, MAX_EXPANDED_NODES + 1)
    memo[key] = size
    return size


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(
                    f"more than {MAX_ALIASES} aliases (refused as a possible alias bomb)"
                )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    line = key_node.start_mark.line + 1
                    raise yaml.YAMLError(f"duplicate key {key!r} at line {line}")
                seen.add(key)
            except TypeError:
                raise yaml.YAMLError(
                    f"unhashable key at line {key_node.start_mark.line + 1}"
                ) from None
        return super().construct_mapping(node, deep=deep)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def load_text(text: str, label: str) -> Any:
    """Parse YAML text; ``label`` names the file in error messages."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            # only aliases can make a document bigger than it is (a large plain inventory is
            # not a bomb, and counting its nodes again costs time)
            if loader._aliases and _expanded_size(node, {}) > MAX_EXPANDED_NODES:
                raise yaml.YAMLError(
                    f"expands to more than {MAX_EXPANDED_NODES} nodes through aliases"
                    " (refused as a possible alias bomb)"
                )
            try:
                return loader.construct_document(node)
            except (ValueError, OverflowError) as e:  # e.g. an integer of 5,000 digits
                raise yaml.YAMLError(f"a value cannot be read: {e}") from None
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise InputError(f"{label}: not valid YAML{where}: {_one_line(str(problem))}") from None
    except RecursionError:
        raise InputError(f"{label}: not valid YAML: nested too deeply") from None


def load_file(path: str | os.PathLike[str]) -> Any:
    """Read and parse a YAML file with a size cap; a file that is not UTF-8 text is refused."""
    p = Path(path)
    label = str(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{label}: file is {size} bytes; the limit is {MAX_BYTES}")
        data = p.read_bytes()
    except IsADirectoryError:
        raise InputError(f"{label}: is a directory, expected a YAML file") from None
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except PermissionError:
        raise InputError(f"{label}: permission denied") from None
    except OSError as e:
        raise InputError(f"{label}: cannot read: {e.strerror or e}") from None
    if b"\x00" in data:
        raise InputError(f"{label}: binary file, expected YAML text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{label}: not UTF-8 text (byte {e.start})") from None
    return load_text(text, label)
