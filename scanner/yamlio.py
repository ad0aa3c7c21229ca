"""Safe YAML loading for files a user hands to undone (inventories, baselines, waivers).

``yaml.SafeLoader`` never runs code, but on its own it accepts alias bombs (a billion laughs
document is cheap for PyYAML, which shares the aliased objects, but not for anything that walks
the result), anchors used inside themselves (``all: &x {children: {a: *x}}`` builds a structure
that contains itself: anything that walks it never ends), unbounded nesting, huge files, devices
and FIFOs, explicit tags whose constructors raise (``!!bool maybe``) and duplicate keys that
silently override. This loader refuses each with an :class:`~scanner.errors.InputError` naming
the file, in one line.

Parsing and composing run in libyaml (``yaml.CSafeLoader``: about 4x faster than the pure-Python
loader, measured in docs/benchmarks.md); libyaml itself refuses nesting deeper than 1,000 levels.
The checks on the composed node graph (depth, aliases, self-reference, expanded size) then run in
one linear walk before anything is constructed. Where libyaml is missing, the pure-Python parser
is used with the same checks.

Ansible's own tags are read, so that an Ansible inventory loads: ``!vault`` becomes
:class:`Vaulted` (never decrypted here, never shown), ``!unsafe`` becomes :class:`Unsafe` (text
Ansible would not template).
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scanner.errors import InputError

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 200
MAX_EXPANDED_NODES = 200_000

try:  # libyaml, when PyYAML was built with it (the wheels on PyPI are)
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
    WITH_LIBYAML = True
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Base = yaml.SafeLoader
    WITH_LIBYAML = False


class Vaulted:
    """A value encrypted with Ansible Vault (``!vault``): undone never decrypts or shows it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<vaulted value>"


class Unsafe(str):
    """Text tagged ``!unsafe``: Ansible never templates it, so ``{{`` in it is literal."""

    __slots__ = ()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check_graph(root: Node) -> None:
    """One walk over the composed nodes: nesting depth, aliases (a node reached again), a node
    that contains itself, and the size the document would have with every alias expanded.
    Raises yaml.YAMLError naming the line. Scalars are counted, not pushed (most nodes are
    scalars: this keeps the walk a small part of the load)."""
    expanded: dict[int, int] = {}
    height: dict[int, int] = {}
    scalars: set[int] = set()
    on_path: set[int] = set()
    aliases = 0
    limit = MAX_EXPANDED_NODES

    def too_deep(node: Node) -> yaml.YAMLError:
        return yaml.YAMLError(
            f"nested deeper than {MAX_DEPTH} levels (line {node.start_mark.line + 1})")

    # iterative post-order walk over collections: (node, depth, children done?)
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    if isinstance(root, ScalarNode):
        return
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        kids: list[Node] = ([n for pair in node.value for n in pair]
                            if isinstance(node, MappingNode) else node.value)
        if done:
            on_path.discard(key)
            size = 1
            h = 1
            for k in kids:
                kk = id(k)
                if kk in expanded:
                    size += expanded[kk]
                    h = max(h, height[kk] + 1)
                else:
                    size += 1
                    h = max(h, 2)
            expanded[key] = min(size, limit + 1)
            height[key] = h
            if size > limit:
                raise yaml.YAMLError(
                    f"expands to more than {limit} nodes through aliases"
                    " (refused as a possible alias bomb)"
                )
            if depth + h - 1 > MAX_DEPTH:
                raise too_deep(node)
            continue
        if key in on_path:
            raise yaml.YAMLError(
                f"an anchor is used inside itself (line {node.start_mark.line + 1}): the "
                "document would contain itself without end"
            )
        if key in expanded:  # reached again: an alias
            aliases += 1
            if aliases > MAX_ALIASES:
                raise yaml.YAMLError(
                    f"more than {MAX_ALIASES} aliases (refused as a possible alias bomb)"
                )
            if depth + height[key] - 1 > MAX_DEPTH:
                raise too_deep(node)
            continue
        if depth > MAX_DEPTH:
            raise too_deep(node)
        on_path.add(key)
        stack.append((node, depth, True))
        for kid in reversed(kids):
            if isinstance(kid, ScalarNode):
                kk = id(kid)
                if kk in scalars:
                    aliases += 1
                    if aliases > MAX_ALIASES:
                        raise yaml.YAMLError(
                            f"more than {MAX_ALIASES} aliases (refused as a possible alias "
                            "bomb)")
                else:
                    scalars.add(kk)
            else:
                stack.append((kid, depth + 1, False))


class _Loader(_Base):  # type: ignore[misc,valid-type]
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # ``<<: *defaults``: merged keys may be overridden, that is their use
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    line = key_node.start_mark.line + 1
                    shown = key if isinstance(key, str) and len(key) <= 80 else "(long key)"
                    raise yaml.YAMLError(f"duplicate key {shown!r} at line {line}")
                seen.add(key)
            except TypeError:
                raise yaml.YAMLError(
                    f"unhashable key at line {key_node.start_mark.line + 1}"
                ) from None
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _vault(loader: yaml.SafeLoader, node: Node) -> Vaulted:
    return Vaulted()


def _unsafe(loader: yaml.SafeLoader, node: Node) -> Any:
    if isinstance(node, ScalarNode):
        return Unsafe(loader.construct_scalar(node))
    if isinstance(node, SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, MappingNode):
        return loader.construct_mapping(node, deep=True)
    return None  # pragma: no cover


_Loader.add_constructor("!vault", _vault)
_Loader.add_constructor("!unsafe", _unsafe)

# what a constructor raises on a value it cannot read (``!!int abc``, ``!!bool maybe``, an
# integer of 5,000 digits, ``!!timestamp 2026-13-45``, ``!!binary`` that is not base64)
_VALUE_ERRORS = (ValueError, OverflowError, KeyError, TypeError, IndexError, AttributeError)


def load_text(text: str, label: str) -> Any:
    """Parse YAML text; ``label`` names the file in error messages."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_graph(node)
            try:
                return loader.construct_document(node)
            except _VALUE_ERRORS as e:
                raise yaml.YAMLError(f"a value cannot be read: {type(e).__name__}") from None
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise InputError(f"{label}: not valid YAML{where}: {_one_line(str(problem))}") from None
    except RecursionError:
        raise InputError(f"{label}: not valid YAML: nested too deeply") from None


def read_regular(path: str | os.PathLike[str], limit: int = MAX_BYTES, what: str = "a YAML file",
                 label: str | None = None) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them. A directory, device, FIFO or
    socket is refused without reading (a FIFO is opened non-blocking, so it cannot hang us),
    and so is a file that grows past the limit while it is read."""
    label = str(path) if label is None else label
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise InputError(f"{label}: is a directory, expected {what}") from None
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except PermissionError:
        raise InputError(f"{label}: permission denied") from None
    except OSError as e:
        if e.errno == errno.ENXIO:  # a FIFO with no writer, a socket
            raise InputError(f"{label}: not a regular file, expected {what}") from None
        raise InputError(f"{label}: cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{label}: is a directory, expected {what}")
        if not stat.S_ISREG(st.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else
                    "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                    "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise InputError(f"{label}: is {kind}, expected {what}")
        if st.st_size > limit:
            raise InputError(f"{label}: file is {st.st_size} bytes; the limit is {limit}")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise InputError(f"{label}: file is more than {limit} bytes; the limit is {limit}")
        return b"".join(chunks)
    except OSError as e:
        raise InputError(f"{label}: cannot read: {e.strerror or e}") from None
    finally:
        os.close(fd)


def decode(data: bytes, label: str) -> str:
    """UTF-8 text of a file's bytes; binary or non-UTF-8 content is refused in one line."""
    if b"\x00" in data:
        raise InputError(f"{label}: binary file, expected YAML text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{label}: not UTF-8 text (byte {e.start})") from None


def load_file(path: str | os.PathLike[str]) -> Any:
    """Read (a regular file only, bounded) and parse a YAML file; a file that is not UTF-8 text
    is refused."""
    label = str(path)
    return load_text(decode(read_regular(path, label=label), label), label)
