"""The command line as a user meets it: exit codes, one line per problem, no tracebacks, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[4]


def undone(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, env=env)


@pytest.mark.parametrize(("content", "needle"), [
    ("all: {hosts: {a: {address: 192.0.2.1, prot: 22}}}", "did you mean 'port'?"),
    ("all: [", "not valid YAML"),
    ("- just\n- a list\n", "expected a mapping"),
    ("", "the inventory is empty"),
    ("all: {hosts: {a: {address: 192.0.2.1, port: 0}}}", "expected a port number"),
])
def test_bad_inventory_exit_2_one_line_no_traceback(tmp_path: Path, content: str, needle: str) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(content)
    for cmd in (["scan", str(inv)], ["validate", str(inv)]):
        p = undone(*cmd)
        assert p.returncode == 2, p.stderr
        assert "Traceback" not in p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"{inv}: ") and needle in lines[0]
        assert p.stdout == "" or cmd[0] == "validate"


def test_binary_and_missing_files(tmp_path: Path) -> None:
    b = tmp_path / "x.yaml"
    b.write_bytes(bytes(range(256)))
    p = undone("scan", str(b))
    assert p.returncode == 2 and "binary file" in p.stderr and "Traceback" not in p.stderr
    p = undone("scan", str(tmp_path / "missing.yaml"))
    assert p.returncode == 2 and "no such file" in p.stderr


def test_bad_baseline_exit_2(tmp_path: Path) -> None:
    bl = tmp_path / "mine.yaml"
    bl.write_text("baseline: {name: mine, version: '1', title: Mine}\nrules:\n"
                  "  - {id: MY-X-001, title: Something is fine, control: firewals, severity: high,"
                  " requires: [posix.nothing], check: {fact: a.b, eq: 1}, rationale: because so,"
                  " remediation: do the thing, references: {}}\n")
    p = undone("validate", str(bl))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert f"{bl}: rules[0].control:" in p.stderr
    p = undone("rules", "--baseline", "no-such-baseline")
    assert p.returncode == 2 and "no such baseline" in p.stderr


def test_unknown_param_in_inventory(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text("params: {max_security_update_age_dayz: 10}\n"
                   "all: {hosts: {me: {transport: local}}}\n")
    p = undone("scan", str(inv), "--quiet")
    assert p.returncode == 2 and "params.max_security_update_age_dayz: unknown parameter" in p.stderr


def test_rules_lists_every_rule() -> None:
    p = undone("rules")
    assert p.returncode == 0
    assert "CE-SU-002" in p.stdout and "security-update-management" in p.stdout
    data = json.loads(undone("rules", "--format", "json").stdout)
    assert {r["id"] for r in data} >= {"CE-SC-001", "PM-PAT-001"}


def test_every_command_has_help_and_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for cmd in ("scan", "validate", "rules", "report", "evidence verify", "evidence keygen",
                "lifecycle refresh", "lifecycle status", "inventory", "advisories refresh",
                "advisories status", "applications refresh", "applications status"):
        p = undone(*cmd.split(), "--help")
        assert p.returncode == 0 and "Usage:" in p.stdout
        assert f"undone {cmd}" in readme, f"README does not document `undone {cmd}`"


def test_validate_good_files() -> None:
    p = undone("validate", "inventory.example.yaml", "baselines/cyber-essentials.yaml")
    assert p.returncode == 0, p.stderr
    assert "valid inventory" in p.stdout and "valid baseline" in p.stdout


def test_rule_catalogue_is_current() -> None:
    from scanner.rules.docs import rules_markdown

    assert (ROOT / "docs" / "rules.md").read_text() == rules_markdown(), (
        "docs/rules.md is stale: python -m scanner.rules.docs > docs/rules.md")
