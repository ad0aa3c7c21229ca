"""``undone inventory``: the dry run, and undone's own settings in an Ansible inventory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner import inventory, yamlio
from scanner.cli.app import main


def parse(text: str) -> inventory.Inventory:
    return inventory.parse(yamlio.load_text(text, "inv.yaml"), "inv.yaml")


def test_list_shows_what_undone_connects_to_and_never_a_secret(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "hosts.yml"
    f.write_text("""all:
  vars: {ansible_user: ops, ansible_ssh_private_key_file: ~/.ssh/ops}
  children:
    web:
      hosts:
        web1: {ansible_host: 192.0.2.1, ansible_ssh_common_args: '-J jump@192.0.2.254:2222'}
        web2: {ansible_host: 192.0.2.2, undone_password_env: WEB2_PW, ansible_password: s3cret}
    dockers:
      hosts:
        c1: {ansible_connection: community.docker.docker}
""")
    assert main(["inventory", str(f), "--list"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert doc["read_as"] == "ansible" and doc["reader"] == "built-in"
    web1 = doc["hosts"]["web1"]
    assert (web1["address"], web1["port"], web1["user"], web1["transport"], web1["jump"]) == (
        "192.0.2.1", 22, "ops", "ssh", "jump@192.0.2.254:2222")
    assert web1["credential"] == "key_file" and web1["credential_ref"].endswith("/.ssh/ops")
    assert doc["hosts"]["web2"]["credential"] == "key_file"
    assert "s3cret" not in out
    assert "community.docker.docker" in doc["not_scanned"]["c1"]["reason"]
    assert main(["inventory", str(f), "--host", "web1"]) == 0
    assert json.loads(capsys.readouterr().out)["jump"] == "jump@192.0.2.254:2222"
    assert main(["inventory", str(f), "--host", "nosuch"]) == 2
    assert "no host 'nosuch'" in capsys.readouterr().err


def test_application_variables_do_not_collide_in_an_ansible_inventory() -> None:
    inv = parse("""all:
  children:
    pfsense:
      vars: {role: firewall, port: 8443, user: webadmin, host: fw.example.org}
      hosts:
        fw1: {ansible_host: 192.0.2.9, undone_roles: [firewall], undone: {password_env: FW_PW}}
""")
    h = inv.hosts[0]
    assert inv.dialect == "ansible"
    assert (h.address, h.port, h.user, h.roles, h.password_env) == (
        "192.0.2.9", 22, None, ("firewall",), "FW_PW")


def test_short_keys_stay_undone_s_in_an_undone_inventory() -> None:
    inv = parse("""estate: {name: School}
all:
  hosts:
    s1: {ansible_host: 192.0.2.10, port: 2222, roles: [server], user: audit}
""")
    h = inv.hosts[0]
    assert inv.dialect == "undone" and (h.port, h.roles, h.user) == (2222, ("server",), "audit")


def test_a_near_miss_of_an_undone_setting_is_one_line() -> None:
    with pytest.raises(inventory.InventoryError) as e:
        parse("all: {hosts: {a: {ansible_host: 192.0.2.1, undone_prot: 22}}}")
    assert e.value.problems == [
        "inv.yaml: all.hosts.a: unknown undone setting 'undone_prot' (did you mean "
        "'undone_port'?)"]


def test_the_more_specific_place_wins_between_undone_and_ansible_keys() -> None:
    inv = parse("""estate: {name: School}
all:
  vars: {user: audit}
  hosts:
    a: {address: 192.0.2.1, ansible_user: admin}
    b: {address: 192.0.2.2}
""")
    assert [h.user for h in inv.hosts] == ["admin", "audit"]


def test_table_on_a_terminal(tmp_path: Path) -> None:
    from scanner.cli.inventory import _table, document

    table = _table(document(inventory.load("inventory.example.yaml")))
    first = table.splitlines()[0].split()
    assert first[:4] == ["HOST", "TRANSPORT", "ADDRESS", "PORT"]
    assert "office-pc01" in table and "admin@127.0.0.1:2225" in table
    assert "7 hosts to scan (read as undone inventory" in table


def test_a_group_named_networks_is_a_group() -> None:
    inv = parse("""all:
  children:
    networks:
      hosts:
        sw1: {ansible_host: 192.0.2.20, ansible_connection: network_cli,
              ansible_network_os: community.routeros.routeros}
""")
    h = inv.hosts[0]
    assert inv.networks == () and h.groups == ("networks",)
    assert (h.transport, h.device, h.platform) == ("ssh", "routeros", "network")


def test_ungrouped_hosts_keep_no_group() -> None:
    inv = parse("all: {hosts: {a: {ansible_host: 192.0.2.1}}}")
    assert inv.hosts[0].groups == ()
