"""The command line, fuzzed (issue 15): whatever it is given, undone answers with a contract exit
code, and bad input is exit 2 with its problem on standard error; never an internal error
(exit 4), never a traceback, never a hang.

Hypothesis drives the real ``undone`` in-process (``scanner.cli.main``) with generated
argument sets over every command, inventories, baselines, waiver files, histories (real ones,
damaged byte by byte and row by row), result documents (for ``report --diff``), evidence
bundles (members added, renamed, doubled, flipped) and lifecycle catalogues and exports. Every
scan is of this machine over the local transport (an inventory naming any other address is
validated, never scanned), and every file undone may write is under the test's folder.

The budget fits CI: ``FUZZ_EXAMPLES`` examples per arm (default 100; about 30 s for all
arms here), derandomized so that a run is reproducible. The figures of a long run (inputs tried,
exit codes seen) are in docs/security.md; ``pytest -s`` prints this run's. A long run:
``FUZZ_EXAMPLES=2500 pytest tests/unit/scanner/cli/test_fuzz_cli.py -s --timeout=0`` (about 17 minutes).
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import random
import shutil
import sqlite3
import stat
import warnings
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner import inventory
from scanner.cli.app import main
from tests.unit.scanner.inventory.test_fuzz_inputs import (
    BASELINE_WORDS,
    INVENTORY_WORDS,
    documents,
    mutated,
)
from tests.unit.scanner.ops.test_notify import BASELINE

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=60), derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
CONTRACT = (0, 1, 2, 3, 5)
SEEN: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
LOCAL_INVENTORY = "all:\n  hosts:\n    h1: {transport: local}\n    h2: {transport: local}\n"


# -- the place everything happens ---------------------------------------------------------------

class World:
    """A folder of inputs: inventories, baselines, waivers, a history of two scans, result
    documents, a signed evidence bundle and its key, odd files (a FIFO, a device, a link)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        w = root / "w"
        w.mkdir()
        self.w = w
        (w / "inv.yaml").write_text(LOCAL_INVENTORY)
        (w / "bl.yaml").write_text(BASELINE)
        (w / "waivers.yaml").write_text(
            "waivers:\n  - {rule: NT-OS-001, hosts: [h1], reason: test, approved_by: me, "
            "expires: 2099-01-01}\n")
        (w / "empty.yaml").write_text("")
        (w / "text.json").write_text("not json")
        (w / "folder").mkdir()
        os.mkfifo(w / "fifo")
        (w / "link").symlink_to(w / "inv.yaml")
        if os.geteuid() == 0:
            os.mknod(w / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        self.db = w / "h.sqlite"
        for _ in range(2):
            code, _, err = run(["scan", str(w / "inv.yaml"), "-b", str(w / "bl.yaml"), "-q",
                                "--db", str(self.db), "-f", "json", "-o", str(w / "r.json")])
            assert code == 0, err
        assert run(["evidence", "keygen", str(w / "k.pem")])[0] == 0
        code, _, err = run(["scan", str(w / "inv.yaml"), "-b", str(w / "bl.yaml"), "-q",
                            "--no-history", "--signing-key", str(w / "k.pem"), "--evidence",
                            str(w / "ev.zip")])
        assert code == 0, err
        self.history = self.db.read_bytes()
        self.result = json.loads((w / "r.json").read_text())
        self.bundle = (w / "ev.zip").read_bytes()

    def paths(self) -> list[str]:
        """Paths an argument may name: good and bad inputs (a FIFO, a device, a link), and
        places to write (all here)."""
        w = self.w
        names = ["inv.yaml", "bl.yaml", "waivers.yaml", "empty.yaml", "text.json", "folder",
                 "link", "h.sqlite", "r.json", "ev.zip", "k.pem", "k.pem.pub",
                 "new.html", "new.zip", "new-folder", "nowhere/x.html", "h.sqlite-wal",
                 "h.sqlite.lock", "fifo"]
        if (w / "null").exists():
            names.append("null")
        return [str(w / n) for n in names]


@contextlib.contextmanager
def isolated(root: Path) -> Iterator[None]:
    """Every default place undone reads or writes (history, lifecycle, units, state, and the
    working folder a relative path lands in) is under ``root``; none of undone's variables
    leaks in from the test's environment."""
    saved = dict(os.environ)
    cwd = os.getcwd()
    (root / "cwd").mkdir(exist_ok=True)
    os.chdir(root / "cwd")  # a relative path an argument names lands here
    for k in list(os.environ):
        if k.startswith("UNDONE_") or k.endswith("_proxy") or k.endswith("_PROXY"):
            del os.environ[k]
    os.environ.update(XDG_DATA_HOME=str(root / "data"), XDG_STATE_HOME=str(root / "state"),
                      XDG_CONFIG_HOME=str(root / "config"),
                      UNDONE_LIFECYCLE_DIR=str(root / "lifecycle"))
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def check(arm: str, argv: list[str]) -> int:
    code, _, err = run(argv)
    SEEN[arm][code] += 1
    assert code in CONTRACT, (code, argv, err)
    assert "internal error" not in err and "Traceback" not in err, (argv, err)
    if code == 2:
        assert err.strip(), argv  # bad input says what is wrong
    return code


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("fuzz")
    with isolated(root):
        yield World(root)


@pytest.fixture(autouse=True)
def _isolated(world: World) -> Iterator[None]:
    with isolated(world.root):
        yield


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    for arm, counts in sorted(SEEN.items()):
        print(f"fuzz {arm}: {sum(counts.values())} inputs, exit codes "
              f"{dict(sorted(counts.items()))}")


def _scratch(world: World) -> Path:
    """A fresh folder for what one example writes."""
    d = world.root / "x"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(exist_ok=True)
    return d


# -- argument sets --------------------------------------------------------------------------------

NUMBERS = ["nan", "NaN", "inf", "-inf", "1e999", "0", "-1", "1", "0.5", "2", "120", "86401",
           "", "abc", "1,5", "\x00", "9" * 400]
WORDS = ["", ",", " , ", "h1", "h1,h2", "nosuch", "latest", "previous", "2026-01-01",
         "9999-12-31", "0001-01-01", "2026-02-30", "cyber-essentials", "-", "--", "x" * 300,
         "\u202e", "../../etc/passwd", "%s%n", "dynamic", "root", "undone"]


@st.composite
def argument_sets(draw: st.DrawFn, world: World) -> list[str]:
    paths = world.paths()
    yaml_paths = paths
    value = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(WORDS), st.sampled_from(paths),
                      st.text(max_size=12))
    yaml_value = st.one_of(st.sampled_from(WORDS), st.sampled_from(yaml_paths))
    w = world.w
    command = draw(st.sampled_from(["scan", "report", "validate", "rules", "verify", "keygen",
                                    "schedule", "lifecycle"]))
    opts: list[str] = []

    def some(options: list[str], flags: tuple[str, ...] = ()) -> None:
        for opt in draw(st.lists(st.sampled_from(options + list(flags)), max_size=4)):
            opts.append(opt)
            if opt not in flags:
                opts.append(draw(yaml_value if opt == "--waivers" else value))

    if command == "scan":
        some(["--timeout", "--connect-timeout", "--max-rate", "--concurrency",
              "--section-timeout", "--hosts", "--format", "--output", "--db", "--waivers",
              "--evidence", "--signing-key", "--known-hosts"],
             ("--no-history", "--pretty", "--notify", "--no-notify"))
        inv = draw(st.sampled_from([str(w / "inv.yaml"), str(w / "empty.yaml"),
                                    str(w / "folder"), str(w / "text.json"), str(w / "link")]))
        return ["scan", inv, "-b", str(w / "bl.yaml"), "-q", *opts]
    if command == "report":
        some(["--from", "--to", "--format", "--output", "--db"], ("--list", "--pretty"))
        if draw(st.booleans()):
            opts += ["--diff", draw(st.sampled_from(paths + WORDS[:8])),
                     draw(st.sampled_from(paths + WORDS[:8]))]
        head = [draw(st.sampled_from(WORDS))] if draw(st.booleans()) else []
        db = ["--db", str(w / "h.sqlite")] if "--db" not in opts else []
        return ["report", *head, *db, *opts]
    if command == "validate":
        return ["validate", *draw(st.lists(st.sampled_from(yaml_paths), min_size=1,
                                           max_size=3))]
    if command == "rules":
        some(["--baseline", "--format"])
        return ["rules", *opts]
    if command == "verify":
        some(["--public-key"])
        return ["evidence", "verify", draw(st.sampled_from(paths)), *opts]
    if command == "keygen":
        return ["evidence", "keygen", draw(st.sampled_from(
            [*paths, str(_scratch(world) / "key.pem")]))]
    if command == "schedule":
        some(["--every", "--at", "--day", "--name", "--state-dir", "--run-as"],
             ("--user", "--cron", "--systemd"))
        if draw(st.booleans()):  # --install only ever into the test's own folder
            opts += ["--install", "--unit-dir", str(_scratch(world) / "units")]
        extra = ["--", *draw(st.lists(st.sampled_from(["--max-rate", "5", "--db", "x", "-b",
                                                       "cyber-essentials", "--nope", "nan"]),
                                      max_size=3))] if draw(st.booleans()) else []
        return ["schedule", draw(st.sampled_from([str(w / "inv.yaml"), *yaml_paths])), *opts,
                *extra]
    return ["lifecycle", "status"]


@FUZZ
@given(data=st.data())
def test_argument_sets(world: World, data: st.DataObject) -> None:
    argv = data.draw(argument_sets(world))
    check("arguments", argv)


# -- inventories, baselines, waivers ----------------------------------------------------------------

def _only_local(path: Path) -> bool:
    """Scan only what touches nothing but this machine."""
    try:
        inv = inventory.load(str(path))
    except Exception:  # noqa: BLE001 - refused or broken: not scanned here
        return False
    return bool(inv.hosts) and not inv.networks and all(
        h.transport == "local" and not h.jump for h in inv.hosts)


def _write_yaml(path: Path, doc: Any) -> bool:
    try:
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    except (yaml.YAMLError, ValueError, TypeError, RecursionError, UnicodeEncodeError):
        return False
    return True


LOCAL_DOC = yaml.safe_load(LOCAL_INVENTORY + "estate: {client: Acme, env_prefix: ACME_}\n"
                           "contract: {days: {high: 14}}\n")


@FUZZ
@given(doc=st.one_of(mutated(LOCAL_DOC), documents(INVENTORY_WORDS)))
def test_inventories(world: World, doc: Any) -> None:
    d = _scratch(world)
    inv = d / "inv.yaml"
    if not _write_yaml(inv, doc):
        return
    check("inventories", ["validate", str(inv)])
    if _only_local(inv):
        check("inventories", ["scan", str(inv), "-b", str(world.w / "bl.yaml"), "-q",
                              "--db", str(d / "h.sqlite"), "-o", str(d / "out.txt")])


BASELINE_DOC = yaml.safe_load(BASELINE)


@FUZZ
@given(doc=st.one_of(mutated(BASELINE_DOC), documents(BASELINE_WORDS)))
def test_baselines(world: World, doc: Any) -> None:
    d = _scratch(world)
    bl = d / "bl.yaml"
    if not _write_yaml(bl, doc):
        return
    check("baselines", ["validate", str(bl)])
    check("baselines", ["rules", "-b", str(bl)])
    check("baselines", ["scan", str(world.w / "inv.yaml"), "-b", str(bl), "-q",
                        "--no-history"])


WAIVERS_DOC = {"waivers": [{"rule": "NT-OS-001", "hosts": ["h1"], "reason": "test",
                             "approved_by": "me", "expires": "2099-01-01"}]}


@FUZZ
@given(doc=st.one_of(mutated(WAIVERS_DOC), documents(INVENTORY_WORDS)))
def test_waivers(world: World, doc: Any) -> None:
    d = _scratch(world)
    wv = d / "waivers.yaml"
    if not _write_yaml(wv, doc):
        return
    check("waivers", ["validate", str(wv)])
    check("waivers", ["scan", str(world.w / "inv.yaml"), "-b", str(world.w / "bl.yaml"), "-q",
                      "--no-history", "--waivers", str(wv)])


# -- histories ----------------------------------------------------------------------------------

COLUMNS = [(t, c) for t, c in (
    ("scans", "uid"), ("scans", "started_at"), ("scans", "finished_at"), ("scans", "meta"),
    ("scans", "summary"), ("hosts", "name"), ("hosts", "platform"), ("rules", "meta"),
    ("blobs", "body"), ("scan_hosts", "offset"), ("scan_hosts", "error"),
    ("changes", "status"), ("changes", "detail"), ("current", "status"),
    ("findings", "due_day"), ("findings", "severity"), ("findings", "opened_at"),
    ("events", "kind"))]
SQL_VALUES = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.floats(),
                       st.text(max_size=20), st.binary(max_size=20),
                       st.sampled_from(["{", "{}", "[]", '{"estate": 5}', "null"]))


@FUZZ
@given(kind=st.sampled_from(["bytes", "rows", "truncate"]), data=st.data())
def test_histories(world: World, kind: str, data: st.DataObject) -> None:
    d = _scratch(world)
    db = d / "h.sqlite"
    raw = bytearray(world.history)
    if kind == "bytes":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = data.draw(st.integers(0, 255))
        db.write_bytes(bytes(raw))
    elif kind == "truncate":
        db.write_bytes(bytes(raw[: data.draw(st.integers(0, len(raw)))]))
    else:
        db.write_bytes(bytes(raw))
        with sqlite3.connect(db) as c:
            for _ in range(data.draw(st.integers(1, 3))):
                table, column = data.draw(st.sampled_from(COLUMNS))
                with contextlib.suppress(sqlite3.IntegrityError):  # NOT NULL, UNIQUE: skip
                    c.execute(f"UPDATE {table} SET {column} = ?",  # noqa: S608 - names are ours
                              (data.draw(SQL_VALUES),))
    mode = data.draw(st.sampled_from([[], ["--list"], ["latest", "-f", "json"],
                                      ["--from", "2020-01-01"], ["--diff", "previous", "latest"],
                                      ["-f", "html"], ["-f", "csv"]]))
    check("histories", ["report", "--db", str(db), *mode])
    if data.draw(st.integers(0, 4)) == 0:  # and a scan recorded into it
        check("histories", ["scan", str(world.w / "inv.yaml"), "-b", str(world.w / "bl.yaml"),
                            "-q", "--db", str(db), "-o", str(d / "o.txt")])


# -- result documents ---------------------------------------------------------------------------

JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=10))
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)


def _json_mutation(doc: Any, rng: random.Random, new: Any) -> Any:
    node = doc
    while isinstance(node, dict | list) and node and rng.random() < 0.75:
        key = rng.choice(sorted(node, key=str)) if isinstance(node, dict) else \
            rng.randrange(len(node))
        child = node[key]
        if not isinstance(child, dict | list) or not child or rng.random() < 0.3:
            if rng.random() < 0.3:
                del node[key]
            else:
                node[key] = new
            return doc
        node = child
    return new if rng.random() < 0.1 else doc


@FUZZ
@given(seed=st.integers(0, 2**32), new=JSON_VALUE, as_bytes=st.booleans(),
       flips=st.lists(st.integers(0, 10**7), max_size=4))
def test_result_documents(world: World, seed: int, new: Any, as_bytes: bool,
                          flips: list[int]) -> None:
    d = _scratch(world)
    doc = json.loads(json.dumps(world.result))
    rng = random.Random(seed)
    doc = _json_mutation(doc, rng, new)
    raw = bytearray(json.dumps(doc).encode())
    if as_bytes:
        for f in flips:
            raw[f % len(raw)] = f % 256
    (d / "a.json").write_bytes(bytes(raw))
    good = str(world.w / "r.json")
    order = [str(d / "a.json"), good] if rng.random() < 0.5 else [good, str(d / "a.json")]
    check("result documents", ["report", "--diff", *order, "-f",
                               rng.choice(["console", "json", "html", "markdown"])])


# -- evidence bundles ---------------------------------------------------------------------------

@FUZZ
@given(kind=st.sampled_from(["flip", "add", "rename", "double", "drop", "mode", "truncate"]),
       data=st.data())
def test_evidence_bundles(world: World, kind: str, data: st.DataObject) -> None:
    d = _scratch(world)
    bundle = d / "b.zip"
    if kind in ("flip", "truncate"):
        raw = bytearray(world.bundle)
        if kind == "truncate":
            raw = raw[: data.draw(st.integers(0, len(raw)))]
        else:
            for _ in range(data.draw(st.integers(1, 6))):
                raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        bundle.write_bytes(bytes(raw))
    else:
        with zipfile.ZipFile(io.BytesIO(world.bundle)) as z:
            members = [(i, z.read(i)) for i in z.infolist()]
        names = [m[0].filename for m in members]
        pick = data.draw(st.sampled_from(range(len(members))))
        name = data.draw(st.sampled_from(["../x", "/abs", "a\\b", "x/", "result.json", "",
                                          "sections/", ".", names[pick]]))
        if kind == "add":
            members.append((zipfile.ZipInfo(name or "n"), data.draw(st.binary(max_size=50))))
        elif kind == "rename":
            info = members[pick][0]
            info.filename = name or "n"
        elif kind == "double":
            members.append(members[pick])
        elif kind == "drop":
            members.pop(pick)
        else:
            members[pick][0].create_system = 3
            members[pick][0].external_attr = data.draw(st.sampled_from(
                [stat.S_IFLNK, stat.S_IFCHR, stat.S_IFIFO, stat.S_IFDIR, 0])) << 16
        with contextlib.suppress(Exception), zipfile.ZipFile(bundle, "w") as z, \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for info, blob in members:
                z.writestr(info, blob)
    if not bundle.exists():
        return
    key = ["--public-key", str(world.w / "k.pem.pub")] if data.draw(st.booleans()) else []
    code = check("evidence bundles", ["evidence", "verify", str(bundle), *key])
    if code == 0:  # "ok" only for the genuine contents, signed by the key given
        assert key and _contents(bundle.read_bytes()) == _contents(world.bundle)


def _contents(zip_bytes: bytes) -> list[tuple[str, bytes]]:
    """The files of a ZIP (an empty folder entry, as `zip -r` adds, holds nothing)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        return sorted((i.filename, z.read(i)) for i in z.infolist() if not i.is_dir())


# -- lifecycle catalogues and exports -----------------------------------------------------------

DEEP = b"[" * 50_000 + b"]" * 50_000


@FUZZ
@given(kind=st.sampled_from(["catalogue", "export"]), content=st.one_of(
    st.binary(max_size=300), JSON_VALUE.map(lambda v: json.dumps(v).encode()), st.just(DEEP),
    st.just(b'{"schema": "undone.lifecycle/1"}')))
def test_lifecycle_catalogues_and_exports(world: World, kind: str, content: bytes) -> None:
    """A refreshed catalogue that is garbage (read by every scan and by `lifecycle status`),
    and exports whose files are garbage as a whole. Exports damaged inside a valid structure,
    and nested too deeply, are fuzzed by tests/unit/scanner/lifecycle/test_lifecycle_refresh_fuzz.py (the
    lifecycle refresh's own hardening, on the "firmware" branch)."""
    if kind == "export" and content == DEEP:
        return
    d = _scratch(world)
    if kind == "catalogue":
        folder = Path(os.environ["UNDONE_LIFECYCLE_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "catalogue.json").write_bytes(content)
        check("lifecycle", ["lifecycle", "status"])
        check("lifecycle", ["scan", str(world.w / "inv.yaml"), "-b", str(world.w / "bl.yaml"),
                            "-q", "--no-history"])
        (folder / "catalogue.json").unlink()
        return
    src = d / "export"
    (src / "release-data").mkdir(parents=True)
    (src / "products.json").write_bytes(content)
    check("lifecycle", ["lifecycle", "refresh", "--from", str(src), "--out", str(d / "out")])
