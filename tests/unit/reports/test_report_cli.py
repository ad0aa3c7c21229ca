"""`undone scan` with history, every report format and evidence; `undone report` in each of its
modes; `undone evidence verify`. Real local scans with a small baseline that reads only
`posix.os`, so each takes well under a second."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).parents[3]
SCHEMA = json.loads((ROOT / "scanner" / "schema" / "scan.schema.json").read_text())
BASELINE = """\
baseline: {name: mini, version: "1", title: A small baseline for tests, id_prefix: TS}
rules:
  - id: TS-OS-001
    title: The machine runs Linux
    control: asset-management
    severity: info
    requires: [posix.os]
    check: {fact: os.family, eq: linux}
    rationale: Test rule that passes.
    remediation: Nothing to do.
    references: {}
  - id: TS-OS-002
    title: The machine runs as user 12345
    control: secure-configuration
    severity: high
    requires: [posix.os]
    check: {fact: os.uid, eq: 12345}
    rationale: Test rule that fails.
    remediation: Nothing to do either.
    references: {}
"""


def undone(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("UNDONE_DB", "UNDONE_SIGNING_KEY")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, env=full)


@pytest.fixture()
def setup(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "mini.yaml").write_text(BASELINE)
    (tmp_path / "inv.yaml").write_text(
        "estate: {name: Test School, provider: Test IT}\n"
        "contract: {days: {high: 7}}\n"
        "all: {hosts: {alpha: {transport: local}, beta: {transport: local}}}\n")
    return {"inv": str(tmp_path / "inv.yaml"), "bl": str(tmp_path / "mini.yaml"),
            "db": str(tmp_path / "h.sqlite"), "dir": str(tmp_path)}


def scan(s: dict[str, str], *extra: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return undone("scan", s["inv"], "--baseline", s["bl"], "--db", s["db"], "--quiet", *extra,
                  env=env)


def test_scan_records_history_and_writes_every_format(setup: dict[str, str]) -> None:
    p = scan(setup, "--format", "json")
    assert p.returncode == 1, p.stderr
    d = json.loads(p.stdout)
    jsonschema.validate(d, SCHEMA)
    fail = next(r for r in d["results"] if r["status"] == "fail")
    assert fail["first_seen"][:10] == d["scan"]["started_at"][:10]
    assert fail["overdue_days"] == 0 and fail["due"] is not None
    assert d["history"]["trend"][-1]["open"] == 2
    out = Path(setup["dir"])
    for fmt, name in (("html", "r.html"), ("csv", "r.csv"), ("junit", "r.xml"),
                      ("markdown", "r.md"), ("console", "r.txt")):
        p = scan(setup, "--format", fmt, "--output", str(out / name))
        assert p.returncode == 1, p.stderr
        assert p.stdout == ""
    assert "What Test IT has left undone" in (out / "r.html").read_text()
    rows = list(csv.DictReader(io.StringIO((out / "r.csv").read_text(), newline="")))
    # the scanner's own connection rules are judged on every scan (not applicable locally)
    ours = [r for r in rows if r["rule"].startswith("TS-")]
    assert {r["rule"] for r in ours} == {"TS-OS-001", "TS-OS-002"} and len(ours) == 4
    assert {r["status"] for r in rows if not r["rule"].startswith("TS-")} <= {"not_applicable"}
    assert ET.parse(out / "r.xml").getroot().get("tests") == str(len(rows))  # noqa: S314
    assert "### Not done: The machine runs as user 12345" in (out / "r.md").read_text()
    lst = undone("report", "--list", "--db", setup["db"])
    assert lst.returncode == 0 and len(lst.stdout.splitlines()) == 6


def test_report_modes(setup: dict[str, str]) -> None:
    env = {"UNDONE_DB": setup["db"]}  # the environment variable names the history too
    for _ in range(2):
        assert scan(setup).returncode == 1
    p = undone("report", "--format", "json", env=env)
    assert p.returncode == 0, p.stderr
    rebuilt = json.loads(p.stdout)
    jsonschema.validate(rebuilt, SCHEMA)
    ours = [r for r in rebuilt["results"] if r["rule"].startswith("TS-")]
    assert rebuilt["scan"]["reconstructed"] is True and len(ours) == 4
    p = undone("report", "--diff", "previous", "latest", "--format", "json", env=env)
    assert p.returncode == 0, p.stderr
    assert sum(json.loads(p.stdout)["counts"].values()) == 0  # nothing changed
    p = undone("report", "--from", "2020-01-01", "--format", "html", env=env)
    assert p.returncode == 0 and "Contract review" in p.stdout
    p = undone("report", "--from", "2020-01-01", "--format", "markdown", env=env)
    assert p.returncode == 0 and "## Maintenance per host" in p.stdout
    bad = [(["report", "--from", "2020-01-01", "--format", "csv"], "only for the report of one"),
           (["report", "latest", "--list"], "give only one of"),
           (["report", "--from", "yesterday"], "expected a date"),
           (["report", "--from", "2030-01-02", "--to", "2030-01-01"], "is after"),
           (["report", "no-such-scan"], "no scan 'no-such-scan'")]
    for args, needle in bad:
        p = undone(*args, env=env)
        assert p.returncode == 2 and needle in p.stderr, (args, p.stderr)
        assert "Traceback" not in p.stderr
    p = undone("report", "--db", str(Path(setup["dir"]) / "none.sqlite"))
    assert p.returncode == 2 and "no history here yet" in p.stderr


def test_diff_of_two_json_files(setup: dict[str, str]) -> None:
    out = Path(setup["dir"])
    scan(setup, "--format", "json", "--output", str(out / "a.json"), "--no-history")
    scan(setup, "--format", "json", "--output", str(out / "b.json"), "--no-history")
    assert not Path(setup["db"]).exists()
    first = json.loads((out / "a.json").read_text())
    assert all(r["first_seen"] is None for r in first["results"])
    p = undone("report", "--diff", str(out / "a.json"), str(out / "b.json"))
    assert p.returncode == 0 and "no change" in p.stdout, p.stdout


def test_scan_with_evidence(setup: dict[str, str]) -> None:
    out = Path(setup["dir"])
    p = scan(setup, "--evidence", str(out / "e.zip"))
    assert p.returncode == 2 and "needs --signing-key" in p.stderr
    assert not Path(setup["db"]).exists()  # refused before scanning anything
    assert undone("evidence", "keygen", str(out / "k.pem")).returncode == 0
    p = scan(setup, "--evidence", str(out / "e.zip"),
             env={"UNDONE_SIGNING_KEY": str(out / "k.pem")})
    assert p.returncode == 1, p.stderr
    p = undone("evidence", "verify", str(out / "e.zip"), "--public-key", str(out / "k.pem.pub"))
    assert p.returncode == 0, p.stderr
    p = scan(setup, "--evidence", str(out / "e.zip"), "--signing-key", str(out / "k.pem"))
    assert p.returncode == 2 and "already exists" in p.stderr


def test_several_reports_from_one_scan(setup: dict[str, str]) -> None:
    out = Path(setup["dir"])
    p = scan(setup, "-f", "html", "-f", "json", "-f", "summary", "-f", "csv",
             "-o", str(out / "all") + "/")
    assert p.returncode == 1, p.stderr
    assert p.stdout == ""  # every report went to its file
    folder = out / "all"
    assert sorted(f.name for f in folder.iterdir()) == [
        "report.html", "result.json", "results.csv", "summary.html"]
    doc = json.loads((folder / "result.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    # one scan: the same scan id in every report
    assert doc["scan"]["id"] in (folder / "report.html").read_text()
    assert doc["scan"]["id"] in (folder / "summary.html").read_text()
    assert 'class="standalone"' in (folder / "summary.html").read_text()
    assert (folder / "results.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(undone("report", "--list", "--db", setup["db"]).stdout.splitlines()) == 1
    # a file per format, in order
    p = scan(setup, "--format", "json", "--format", "markdown",
             "--output", str(out / "a.json"), "--output", str(out / "a.md"))
    assert p.returncode == 1, p.stderr
    assert json.loads((out / "a.json").read_text())["schema"] == "undone.scan/1"
    assert (out / "a.md").read_text().startswith("# What Test IT has left undone")
    # mismatches are bad input, one line, and nothing is scanned
    before = len(undone("report", "--list", "--db", setup["db"]).stdout.splitlines())
    for args, words in ((("-f", "html", "-f", "json"), "several reports need a place each"),
                        (("-f", "html", "-f", "json", "-o", str(out / "x.html")),
                         "given 1 times for 2 formats")):
        p = scan(setup, *args)
        assert p.returncode == 2 and words in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
    assert len(undone("report", "--list", "--db", setup["db"]).stdout.splitlines()) == before
    # the one-page summary of a recorded scan
    p = undone("report", "--format", "summary", "--db", setup["db"])
    assert p.returncode == 0 and "Verdict per control" in p.stdout
    p = undone("report", "--from", "2020-01-01", "--format", "summary", "--db", setup["db"])
    assert p.returncode == 2 and "only for the report of one scan" in p.stderr


def test_progress_is_one_line_per_host_without_a_terminal(setup: dict[str, str]) -> None:
    p = undone("scan", setup["inv"], "--baseline", setup["bl"], "--no-history")
    assert p.returncode == 1
    lines = [line for line in p.stderr.splitlines() if line.startswith("undone: ")]
    hosts = [line for line in lines if " ok " in line or "UNREACHABLE" in line]
    assert len(hosts) == 2 and {h.split()[1] for h in hosts} == {"alpha", "beta"}
    assert "\x1b" not in p.stderr  # no live display where there is no terminal


def test_a_live_progress_line_on_a_terminal(setup: dict[str, str]) -> None:
    """Standard error on a terminal (a pty): rich draws the live line, hosts done of the total."""
    import pty
    import select

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("UNDONE_DB", "UNDONE_SIGNING_KEY")}
    env["TERM"] = "xterm"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", setup["inv"], "--baseline", setup["bl"],
         "--no-history", "--format", "json", "--output", str(Path(setup["dir"]) / "p.json")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, cwd=ROOT, env=env)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 1
    text = seen.decode("utf-8", "replace")
    assert "scanning" in text and "2/2" in text and "hosts" in text, text
    assert "not reached" in text  # the live line counts unreachable hosts so far
    assert "undone: alpha (" not in text  # no plain per-host lines on a terminal


def test_verbose_console_lists_every_rule_that_does_not_apply(setup: dict[str, str]) -> None:
    """Nothing vanishes from the console either: `-v` names, under each computer, every rule
    that does not apply there with why (without it, a count per reason)."""
    Path(setup["bl"]).write_text(BASELINE + """\
  - id: TS-WIN-001
    title: The machine runs Windows
    control: asset-management
    severity: info
    applies_to: {platforms: [windows]}
    requires: [posix.os]
    check: {fact: os.family, eq: windows}
    rationale: Test rule for another system.
    remediation: Nothing to do.
    references: {}
""")
    why = "a rule for Windows; this is a Linux host: TS-WIN-001"
    for args in ((), ("-v",)):
        p = scan(setup, "--format", "console", *args)
        assert p.returncode == 1, p.stderr
        assert p.stdout.count("not checked here: 3 rules (2 for other systems, 1 with a "
                              "precondition not met)") == 2, p.stdout
        assert (p.stdout.count(why) == 2) is bool(args), p.stdout  # alpha and beta
        p = undone("report", "--db", setup["db"], *args)
        assert p.returncode == 0, p.stderr
        assert (p.stdout.count(why) == 2) is bool(args), p.stdout


def test_the_report_of_a_recorded_scan_is_the_scans_own(setup: dict[str, str]) -> None:
    """`undone report` of a scan gives the files the scan wrote, byte for byte (the HTML says
    it was rebuilt from the history, and nothing else differs): the same rows in the same order,
    whatever the inventory's order of hosts and the baselines' order of rules."""
    d = Path(setup["dir"])
    Path(setup["inv"]).write_text(
        "estate: {name: Test School, provider: Test IT}\n"
        "all: {hosts: {zulu: {transport: local}, alpha: {transport: local}}}\n")
    Path(setup["bl"]).write_text(BASELINE.replace("TS-OS-001", "TS-OS-009"))
    formats = {"console": "report.txt", "csv": "results.csv", "junit": "junit.xml",
               "markdown": "report.md", "html": "report.html", "summary": "summary.html"}
    args = [a for f in formats for a in ("-f", f)]
    p = scan(setup, *args, "-o", str(d / "scan") + "/")
    assert p.returncode == 1, p.stderr
    for fmt, name in formats.items():
        p = undone("report", "--db", setup["db"], "-f", fmt, "-o", str(d / f"report-{name}"))
        assert p.returncode == 0, p.stderr
        live = (d / "scan" / name).read_text(encoding="utf-8")
        rebuilt = (d / f"report-{name}").read_text(encoding="utf-8")
        if fmt in ("html", "summary"):
            rebuilt = rebuilt.replace(" · rebuilt from the history", "")
        if fmt == "junit":  # how long each host took is not kept in the history
            live, rebuilt = (re.sub(r' time="[0-9.]+"', "", x) for x in (live, rebuilt))
        assert rebuilt == live, fmt
    rows = list(csv.DictReader(io.StringIO((d / "scan" / "results.csv").read_text(
        encoding="utf-8-sig"))))
    ours = [(r["host"], r["rule"]) for r in rows if r["rule"].startswith("TS-")]
    assert ours == [("alpha", "TS-OS-002"), ("alpha", "TS-OS-009"),
                    ("zulu", "TS-OS-002"), ("zulu", "TS-OS-009")]
