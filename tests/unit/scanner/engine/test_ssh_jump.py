"""How a jump host is named (scanner/engine/transports/ssh_jump.py): ``[user@]host[:port]``
(IPv6 in brackets) or an inventory host by name, and which settings keep two targets from
sharing one connection to it. Connecting through a jump host is tested against SSH servers in
test_known_hosts.py and the estate (tests/integration/test_scan_ssh.py::test_jump_host)."""

from __future__ import annotations

import dataclasses

import pytest

from scanner.engine.transports.ssh_jump import jump_host, jump_key
from scanner.inventory import Host

TARGET = Host(name="t", address="10.0.0.5", user="admin", key_file="/keys/target",
              password_env="TARGET_PW", known_hosts="/kh/target", trust_on_first_use=True,
              connect_timeout=7.0, jump="unused")


@pytest.mark.parametrize(("spec", "user", "address", "port"), [
    ("bastion.example.org", "admin", "bastion.example.org", 22),
    ("ops@bastion.example.org", "ops", "bastion.example.org", 22),
    ("ops@192.0.2.1:2222", "ops", "192.0.2.1", 2222),
    ("[2001:db8::1]:2200", "admin", "2001:db8::1", 2200),
    ("ops@[2001:db8::1]", "ops", "2001:db8::1", 22),
    ("a@b@bastion:22", "a@b", "bastion", 22),
])
def test_a_written_jump_host_is_parsed_and_gets_no_credentials_of_the_target(
        spec: str, user: str, address: str, port: int) -> None:
    j = jump_host(spec, TARGET, {})
    assert (j.user, j.address, j.port) == (user, address, port)
    assert j.name == f"jump:{spec}"
    # the agent and default identity files only, never the target's key or password
    assert j.agent and j.key_file is None and j.password_env is None
    # its host key is judged by the target's trust settings
    assert (j.known_hosts, j.trust_on_first_use, j.connect_timeout) == (
        "/kh/target", True, 7.0)


def test_a_jump_host_named_in_the_inventory_is_that_host() -> None:
    bastion = Host(name="bastion", address="10.0.0.1", user="ops", password_env="B_PW")
    assert jump_host("bastion", TARGET, {"bastion": bastion}) is bastion


@pytest.mark.parametrize("field", ["address", "port", "user", "key_file", "password_env",
                                   "agent", "known_hosts", "trust_on_first_use",
                                   "connect_timeout"])
def test_every_setting_of_reach_and_trust_separates_jump_connections(field: str) -> None:
    base = jump_host("ops@192.0.2.1", TARGET, {})
    value = getattr(base, field)
    other = {bool: not value, int: 2200, float: 3.0, str: "other"}.get(type(value), "other")
    changed = dataclasses.replace(base, **{field: other})
    assert jump_key(changed) != jump_key(base)
    assert jump_key(dataclasses.replace(base, name="renamed")) == jump_key(base)
