"""``undone validate`` warnings and ``--waivers FILE`` with host names (issue 16)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scanner import inventory
from scanner.cli.app import main
from scanner.errors import InventoryError
from scanner.inventory import lint

INV = """estate: {name: School}
all:
  hosts:
    web01: {address: 192.0.2.10, roles: [server, webfarm]}
    web01-alias: {address: 192.0.2.10, roles: [server]}
"""
WAIVERS = """waivers:
  - {rule: CE-SC-0005, hosts: [web01], reason: r, approved_by: a, expires: 2026-01-01}
  - {rule: CE-SC-005, hosts: [web01-alias], reason: r, approved_by: a, expires: 2027-06-01}
"""


def test_waivers_file_with_host_names_is_checked_against_the_inventory(tmp_path: Path) -> None:
    inv = inventory.parse(inventory.yamlio.load_text(INV, "inv.yaml"), "inv.yaml")
    waivers = inventory.parse_waivers(inventory.yamlio.load_text(WAIVERS, "w.yaml"), "w.yaml")
    merged = inventory.with_waivers(inv, waivers, "w.yaml")
    assert merged.waivers[1].hosts == ("web01",)  # the alias is its machine
    bad = inventory.parse_waivers(inventory.yamlio.load_text(
        "waivers: [{rule: R, hosts: [nosuch], reason: r, approved_by: a, expires: 2027-01-01}]",
        "w.yaml"), "w.yaml")
    with pytest.raises(InventoryError, match=r"names host .nosuch., which is not in inv\.yaml"):
        inventory.with_waivers(inv, bad, "w.yaml")


def test_validate_warns_about_unknown_rules_old_waivers_and_unused_roles(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "inv.yaml").write_text(INV)
    (tmp_path / "w.yaml").write_text(WAIVERS)
    assert main(["validate", str(tmp_path / "inv.yaml"), str(tmp_path / "w.yaml")]) == 0
    err = capsys.readouterr().err
    assert "rule CE-SC-0005 is in no baseline (did you mean CE-SC-005?)" in err
    assert "expired on 2026-01-01, more than 90 days ago" in err
    assert "role 'webfarm'" in err and "role 'server'" not in err


def test_lint_is_quiet_on_a_clean_inventory() -> None:
    inv = inventory.load("inventory.example.yaml")
    rule_ids = {"CE-SC-005"}
    assert lint.warnings(inv, "inventory.example.yaml", rule_ids, set(), date(2026, 12, 7)) == []


def test_validate_lists_hosts_it_will_not_scan(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "hosts.yml"
    f.write_text("all:\n  hosts:\n    c1: {ansible_connection: community.docker.docker}\n"
                 "    s1: {ansible_host: 192.0.2.3}\n")
    assert main(["validate", str(f)]) == 0
    captured = capsys.readouterr()
    assert "(1 hosts, 1 not scanned)" in captured.out
    assert "c1: not scanned: connection community.docker.docker" in captured.err
