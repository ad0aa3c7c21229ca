"""Bad input, fuzzed: inventories, baselines and waiver files either load or are refused with
one line per problem naming the file (and, for a problem inside the document, the key path):
never a traceback, never a hang.

In-process, hypothesis drives arbitrary text, arbitrary bytes, random documents built from
undone's own vocabulary (so the validators' deep paths are reached, not just the YAML parser)
and random mutations of the shipped baselines and the example inventory. A handful of
subprocess runs check the command-line contract (exit 2, one line per problem on stderr, no
traceback) on YAML bombs (deep nesting, billion laughs), binary, empty, non-UTF-8 and huge files.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner import inventory, yamlio
from scanner.cli.scan import _load_waivers
from scanner.errors import InputError
from scanner.rules import baselines

ROOT = Path(__file__).resolve().parents[4]
SETTINGS = settings(max_examples=200, deadline=timedelta(seconds=10),
                    suppress_health_check=[HealthCheck.too_slow])
SECTIONS: set[str] = set()  # filled lazily (importing every probe is slow-ish)

# whole-document problems carry no key path: what the YAML or the file itself is
DOCUMENT_LEVEL = (
    "top-level key", "unknown top-level key", "unknown key '", "not valid YAML", "is empty", "the inventory is", "binary file", "not UTF-8",
    "file is", "no such file", "is a directory", "expected a mapping", "no hosts",
    "permission denied", "cannot read",
)

# ------------------------------------------------------------------------------------------------
# the property


def refused_properly(problems: list[str], label: str) -> None:
    assert problems, "an InputError without a problem"
    for line in problems:
        assert isinstance(line, str) and line.strip(), problems
        assert "\n" not in line and "\r" not in line, f"more than one line: {line!r}"
        assert line.startswith(f"{label}: "), f"does not name the file: {line!r}"
        rest = line[len(label) + 2:]
        assert ": " in rest or any(k in rest for k in DOCUMENT_LEVEL), \
            f"names no key path: {line!r}"
        assert "Traceback" not in line


def loads_or_refuses(fn: Any, label: str) -> Any:
    """Call ``fn``: it returns, or raises InputError with proper lines; anything else fails."""
    try:
        return fn()
    except InputError as e:
        refused_properly(e.problems, label)
        return None


def _sections() -> set[str]:
    if not SECTIONS:
        from probes import sections

        SECTIONS.update(sections())
    return SECTIONS


# ------------------------------------------------------------------------------------------------
# strategies

INVENTORY_WORDS = sorted(
    {*inventory.HOST_KEYS, *inventory.ANSIBLE_KEYS, *inventory.ALIASES, *inventory.GROUP_KEYS,
     *inventory.SECTIONS, *inventory.BACKUP_KEYS, *inventory.SECRET_KEYS, "all", "prot",
     "adress", "hostss", "childrens", "rule", "reason", "approved_by", "expires", "owners",
     "days", "default_owner", "cidr", "name", "client", "provider", "internet_facing",
     "allowed_ports", "date", "evidence", "ansible_ssh_common_args", "web[01:03]", "h[1:99999]"}
)
BASELINE_WORDS = sorted(
    {"baseline", "rules", "params", "name", "version", "title", "description", "id_prefix",
     "id", "control", "severity", "owner", "applies_to", "platforms", "roles", "requires",
     "when", "check", "observe", "rationale", "remediation", "references", "cyber_essentials",
     "cis_v8", "iso27001_2022", "note", "default", "all", "any", "none", "fact", "eq", "ne",
     "in", "not_in", "lt", "le", "gt", "ge", "contains", "not_contains", "empty", "matches",
     "exists", "param"}
)
SCALAR_WORDS = [
    "ssh", "local", "winrm", "linux", "windows", "server", "provider", "client", "high",
    "critical", "firewalls", "backup", "restic", "borg", "offline", "manual", "posix.os",
    "posix.sshd", "os.id", "CE-XX-001", "2026-01-01", "2099-12-31", "192.0.2.1", "10.0.0.0/8",
    "[", "(", "*", ".*", "(a+)+$", "{param: x}", "~/key", "../../etc/passwd", "\x1b[2J",
    "<script>", "=cmd|' /C calc'!A0", "", " ", "yes", "no", "on", "null",
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(SCALAR_WORDS),
    st.text(max_size=30),
)


def documents(words: list[str]) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(words), st.text(max_size=12), st.integers(-3, 3))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.dictionaries(keys, inner, max_size=6),
        ),
        max_leaves=40,
    )


def _dump(data: Any) -> str | None:
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        return None


def mutated(base: Any) -> st.SearchStrategy[Any]:
    """``base`` with a few random edits: a key dropped, a value replaced, a key added."""

    @st.composite
    def edit(draw: st.DrawFn) -> Any:
        doc = copy.deepcopy(base)
        for _ in range(draw(st.integers(1, 4))):
            node = doc
            path: list[Any] = []
            while isinstance(node, dict | list) and node and draw(st.booleans()):
                key = draw(st.sampled_from(sorted(node, key=str) if isinstance(node, dict)
                                           else list(range(len(node)))))
                path.append(key)
                node = node[key]
            if not path:
                continue
            parent = doc
            for k in path[:-1]:
                parent = parent[k]
            action = draw(st.sampled_from(["drop", "replace", "add"]))
            if action == "drop":
                del parent[path[-1]]
            elif action == "replace":
                parent[path[-1]] = draw(documents(BASELINE_WORDS + INVENTORY_WORDS))
            elif isinstance(parent, dict):
                parent[draw(st.sampled_from(BASELINE_WORDS + INVENTORY_WORDS))] = draw(scalars)
        return doc

    return edit()


def _yaml_file(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


EXAMPLE_INVENTORY = _yaml_file("inventory.example.yaml")
SHIPPED_BASELINE = _yaml_file("baselines/cyber-essentials.yaml")

# ------------------------------------------------------------------------------------------------
# in-process


def _inventory(text: str) -> Any:
    return inventory.parse(yamlio.load_text(text, "inv.yaml"), "inv.yaml")


@SETTINGS
@given(st.text(max_size=600))
def test_inventory_from_any_text(text: str) -> None:
    loads_or_refuses(lambda: _inventory(text), "inv.yaml")


@SETTINGS
@given(documents(INVENTORY_WORDS))
def test_inventory_from_random_documents(data: Any) -> None:
    text = _dump(data)
    if text is not None:
        loads_or_refuses(lambda: _inventory(text), "inv.yaml")


@SETTINGS
@given(mutated(EXAMPLE_INVENTORY))
def test_inventory_example_mutated(data: Any) -> None:
    text = _dump(data)
    if text is not None:
        loads_or_refuses(lambda: _inventory(text), "inv.yaml")


@SETTINGS
@given(st.one_of(documents(BASELINE_WORDS), mutated(SHIPPED_BASELINE)))
def test_baseline_from_random_and_mutated_documents(data: Any) -> None:
    text = _dump(data)
    if text is not None:
        loads_or_refuses(lambda: baselines.parse(text, "rules.yaml", _sections()), "rules.yaml")


@SETTINGS
@given(st.text(max_size=600))
def test_baseline_from_any_text(text: str) -> None:
    loads_or_refuses(lambda: baselines.parse(text, "rules.yaml", _sections()), "rules.yaml")


WAIVER_WORDS = ["rule", "hosts", "reason", "approved_by", "expires", "waivers", "*", "all"]
_TMP = Path(tempfile.mkdtemp(prefix="undone-fuzz-"))


@SETTINGS
@given(st.one_of(
    documents(WAIVER_WORDS + SCALAR_WORDS),
    st.lists(st.fixed_dictionaries({}, optional={
        k: st.one_of(scalars, st.lists(st.sampled_from(["h1", "*", "web01"]), max_size=3))
        for k in ("rule", "hosts", "reason", "approved_by", "expires", "note")}), max_size=4
    ).map(lambda ws: {"waivers": ws}),
))
def test_waivers_file(data: Any) -> None:
    text = _dump(data)
    if text is None:
        return
    path = _TMP / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    loads_or_refuses(lambda: _load_waivers(str(path)), str(path))


@SETTINGS
@given(st.binary(max_size=800))
def test_any_bytes_as_a_file(data: bytes) -> None:
    path = _TMP / "blob.yaml"
    path.write_bytes(data)
    label = str(path)
    loaded = loads_or_refuses(lambda: yamlio.load_file(path), label)
    if loaded is not None:
        loads_or_refuses(lambda: inventory.parse(loaded, label), label)


BOMBS = {
    "deep-flow": "[" * 50_000 + "]" * 50_000,
    "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(2000)) + "  " * 2000 + "x: 1\n",
    "deep-mapping-flow": "a: " + "{b: " * 5000 + "1" + "}" * 5000 + "\n",
    "billion-laughs": "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
              for i in range(8)),
    "many-aliases": "x: &x 1\nall:\n  hosts:\n" + "".join(f"    h{i}: {{port: *x}}\n"
                                                       for i in range(400)),
    "recursive-alias": "a: &a [*a]\n",
    "merge-keys": "base: &b {port: 22}\nall:\n  hosts:\n    h1:\n      <<: *b\n      <<: *b\n",
    "duplicate-keys": "all:\n  hosts:\n    h1: {}\n  hosts:\n    h2: {}\n",
    "tags": "!!python/object/apply:os.system ['echo pwned']\n",
    "big-int": "all:\n  hosts:\n    h1: {port: " + "9" * 5000 + "}\n",
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_yaml_bombs_are_refused_fast_in_process(name: str) -> None:
    started = time.monotonic()
    for fn, label in ((lambda: _inventory(BOMBS[name]), "inv.yaml"),
                      (lambda: baselines.parse(BOMBS[name], "rules.yaml", _sections()),
                       "rules.yaml")):
        loads_or_refuses(fn, label)
    assert time.monotonic() - started < 10


# ------------------------------------------------------------------------------------------------
# the command line contract, on files


def _files(tmp: Path) -> dict[str, Path]:
    files = {}
    for name, text in BOMBS.items():
        files[name] = tmp / f"{name}.yaml"
        files[name].write_text(text, encoding="utf-8")
    files["binary"] = tmp / "binary.yaml"
    files["binary"].write_bytes(os.urandom(4096) + b"\x00")
    files["empty"] = tmp / "empty.yaml"
    files["empty"].write_bytes(b"")
    files["latin1"] = tmp / "latin1.yaml"
    files["latin1"].write_bytes("all:\n  hosts:\n    caf\xe9: {}\n".encode("latin-1"))
    files["huge"] = tmp / "huge.yaml"
    with open(files["huge"], "wb") as f:
        f.truncate(yamlio.MAX_BYTES + 1)  # sparse: 8 MiB + 1 of nothing
    files["directory"] = tmp / "a-directory.yaml"
    files["directory"].mkdir()
    files["missing"] = tmp / "missing.yaml"
    return files


def _undone(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDONE_")}
    env["HOME"] = str(cwd)
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("kind", ["billion-laughs", "deep-flow", "binary", "empty", "huge",
                                  "latin1", "directory", "tags", "duplicate-keys", "missing"])
def test_command_line_refuses_with_exit_2_and_one_line_per_problem(kind: str,
                                                                   tmp_path: Path) -> None:
    path = _files(tmp_path)[kind]
    runs = {
        "validate": ["validate", str(path)],
        "scan inventory": ["scan", str(path), "--no-history"],
        "scan --baseline": ["scan", "--baseline", str(path), "--no-history"],
        "scan --waivers": ["scan", "--waivers", str(path), "--no-history"],
    }
    if kind not in ("billion-laughs", "binary", "huge", "tags"):
        runs = {"validate": runs["validate"]}  # the scan's options: a few kinds are enough
    for what, args in runs.items():
        started = time.monotonic()
        p = _undone(*args, cwd=tmp_path)
        elapsed = time.monotonic() - started
        assert p.returncode == 2, (what, p.returncode, p.stderr)
        assert "Traceback" not in p.stderr and "internal error" not in p.stderr, (what, p.stderr)
        assert elapsed < 30, (what, elapsed)
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert lines, what
        if kind == "directory":
            # a folder is an option error, not a file's problem: click's usage error (several
            # lines; reported) or `scan`'s rules for a folder of inventories
            continue
        for line in lines:
            assert line.startswith(f"{path}"), (what, line)
        assert not p.stdout.strip(), (what, p.stdout)
