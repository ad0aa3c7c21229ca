"""Inventory loading and strict validation: one line per problem naming file and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner import inventory, yamlio
from scanner.errors import InputError


def parse(text: str) -> inventory.Inventory:
    return inventory.parse(yamlio.load_text(text, "inv.yaml"), "inv.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(InputError) as e:
        parse(text)
    return e.value.problems


ANSIBLE = """
all:
  vars:
    ansible_user: admin
    ansible_ssh_private_key_file: /keys/id_ed25519
    ntp_server: 192.0.2.1          # an Ansible variable undone ignores
  children:
    webservers:
      hosts:
        web1: {ansible_host: 192.0.2.10, ansible_port: 2222, http_port: 80}
        web[2:3].example.org:
    dbservers:
      vars: {ansible_become: true, backup_window: "02:00"}
      hosts:
        db1: {ansible_host: 192.0.2.20}
"""


def test_existing_ansible_inventory_works_unchanged() -> None:
    inv = parse(ANSIBLE)
    by = {h.name: h for h in inv.hosts}
    assert set(by) == {"web1", "web2.example.org", "web3.example.org", "db1"}
    assert by["web1"].address == "192.0.2.10" and by["web1"].port == 2222
    assert by["web1"].user == "admin" and by["web1"].key_file == "/keys/id_ed25519"
    assert by["web2.example.org"].address == "web2.example.org"
    assert by["db1"].become is True and by["web1"].become is False
    assert by["web1"].transport == "ssh"


def test_inheritance_host_over_child_over_parent_and_roles_union() -> None:
    inv = parse("""
all:
  vars: {user: root, port: 2200, roles: [endpoint]}
  children:
    office:
      vars: {user: admin}
      children:
        servers:
          vars: {port: 22, roles: [server]}
          hosts:
            s1: {address: 192.0.2.1, user: ops}
            s2: {address: 192.0.2.2}
      hosts:
        pc1: {address: 192.0.2.3}
""")
    by = {h.name: h for h in inv.hosts}
    assert (by["s1"].user, by["s1"].port) == ("ops", 22)
    assert (by["s2"].user, by["s2"].port) == ("admin", 22)
    assert (by["pc1"].user, by["pc1"].port) == ("admin", 2200)
    assert set(by["s1"].roles) == {"endpoint", "server"}
    assert by["pc1"].roles == ("endpoint",)
    assert by["s1"].groups == ("office", "servers")


def test_jump_from_ansible_ssh_common_args() -> None:
    inv = parse("all: {hosts: {h: {address: 192.0.2.5, ansible_ssh_common_args: "
                "'-o ProxyJump=admin@bastion.example.org:2222'}}}")
    assert inv.hosts[0].jump == "admin@bastion.example.org:2222"


@pytest.mark.parametrize(("text", "expected"), [
    ("all: {hosts: {files01: {address: 192.0.2.1, prot: 22}}}",
     "inv.yaml: all.hosts.files01: unknown key 'prot' (did you mean 'port'?)"),
    ("all: {children: {servers: {hosts: {files01: {adress: 192.0.2.1}}}}}",
     "inv.yaml: all.children.servers.hosts.files01: unknown key 'adress' (did you mean 'address'?)"),
    ("all: {hosts: {h: {address: 192.0.2.1, port: seventy}}}",
     "inv.yaml: all.hosts.h: 'port' is 'seventy', expected a port number 1-65535"),
    ("all: {hosts: {h: {address: 192.0.2.1, become: maybe}}}",
     "inv.yaml: all.hosts.h: 'become' is text, expected true or false"),
    ("all: {hosts: {h: {address: 192.0.2.1, roles: [server, sever]}}}",
     "inv.yaml: all.hosts.h: 'roles' has unknown role 'sever' (did you mean 'server'?)"),
    ("all: {hosts: {h: {address: 192.0.2.1, roles: [Web Server]}}}",
     "inv.yaml: all.hosts.h: 'roles' has role 'Web Server', expected a lower-case name"),
    ("all: {hosts: {h: {address: 192.0.2.1, password: hunter2}}}",
     "inv.yaml: all.hosts.h: 'password' holds a secret"),
    ("all: {hosts: {h: {address: 192.0.2.1, password_env: 'not a name'}}}",
     "expected the NAME of an environment variable"),
    ("all: {hosts: {'two words': {}}}",
     "inv.yaml: all.hosts.two words: no address"),
    ("all: {hosts: {a: {address: 192.0.2.1}, b: {address: 192.0.2.1}}}",
     "inv.yaml: all.hosts.b: duplicate host: same address 192.0.2.1:22 as host 'a'"),
    ("all: {hosts: {a: {address: 192.0.2.1}}}\ncontrat: {owners: {}}",
     "inv.yaml: unknown top-level key 'contrat' (did you mean 'contract'?)"),
    ("all: {hosts: {a: {address: 192.0.2.1}}}\ncontract: {owners: {backups: client}}",
     "inv.yaml: contract.owners: unknown control 'backups'"),
    ("all: {hosts: {a: {address: 192.0.2.1}}}\nestate: {client: 5}",
     "inv.yaml: estate.client: is a number, expected text"),
    ("all: {hots: {a: {address: 192.0.2.1}}}",
     "inv.yaml: all: unknown key 'hots' in group 'all' (did you mean 'hosts'?)"),
    ("all: {hosts: [a, b]}",
     "inv.yaml: all.hosts: expected a mapping of host names, found a list"),
    ("all: {hosts: {a: {address: 192.0.2.1}}}\nwaivers: [{rule: CE-SC-001, reason: r}]",
     "inv.yaml: waivers[0]: 'approved_by' is missing or not text"),
    ("all: {vars: {user: root}}", "inv.yaml: all: no hosts"),
])
def test_bad_inventory_one_line_each(text: str, expected: str) -> None:
    lines = problems(text)
    assert any(expected in line for line in lines), lines
    assert all("\n" not in line for line in lines)


def test_every_problem_is_reported_at_once() -> None:
    lines = problems("all: {hosts: {a: {address: 192.0.2.1, prot: 22, become: maybe}, "
                     "b: {address: 192.0.2.2, user: [x]}}}")
    assert len(lines) == 3


def test_ansible_variables_and_plurals_are_not_near_misses() -> None:
    inv = parse("all: {hosts: {a: {address: 192.0.2.1, users: [x], ports: [1], "
                "ansible_python_interpreter: /usr/bin/python3, http_port: 80}}}")
    assert inv.hosts[0].port == 22


@pytest.mark.parametrize("text", ["", "[1, 2]", "just text", "42"])
def test_not_a_mapping(text: str) -> None:
    lines = problems(text)
    assert len(lines) == 1 and lines[0].startswith("inv.yaml: the inventory is")


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("all:\n  hosts: {a: [\n")
    with pytest.raises(InputError) as e:
        inventory.load(p)
    assert e.value.problems[0].startswith(f"{p}: not valid YAML (line")


def test_duplicate_yaml_key_is_an_error() -> None:
    lines = problems("all:\n  hosts:\n    a: {address: 192.0.2.1}\n    a: {address: 192.0.2.2}\n")
    assert "duplicate key 'a'" in lines[0]


def test_alias_bomb_and_binary_refused(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True))
    with pytest.raises(InputError, match="alias bomb"):
        yamlio.load_text(bomb, "bomb.yaml")
    b = tmp_path / "bin.yaml"
    b.write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match="binary file"):
        yamlio.load_file(b)
    with pytest.raises(InputError, match="nested deeper"):
        yamlio.load_text("[" * 200 + "]" * 200, "deep.yaml")


def test_waivers_parse_and_cover() -> None:
    inv = parse("all: {hosts: {a: {address: 192.0.2.1}}}\nwaivers:\n"
                "  - {rule: CE-SC-003, hosts: [a], reason: legacy app, approved_by: Head, "
                "expires: 2027-01-31}\n")
    w = inv.waivers[0]
    assert w.covers("CE-SC-003", "a") and not w.covers("CE-SC-003", "b")
    assert str(w.expires) == "2027-01-31"


def test_example_inventory_is_valid() -> None:
    inv = inventory.load(Path(__file__).parents[2] / "inventory.example.yaml")
    assert inv.hosts


def test_key_file_relative_to_inventory(tmp_path: Path) -> None:
    p = tmp_path / "inv.yaml"
    p.write_text("all: {hosts: {a: {address: 192.0.2.1, key_file: keys/id}}}")
    assert inventory.load(p).hosts[0].key_file == str(tmp_path / "keys" / "id")
