"""Hostile and odd inventories: every one is one line and exit 2, or loads into values the scan
can use (what validate accepts, scan accepts). Issue 15 (H1 inventory side, L4, L6, input bombs,
validate == scan) and issue 16 (INI inventories)."""

from __future__ import annotations

import json
import math
import os
import string
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scanner import inventory, yamlio
from scanner.cli.app import main
from scanner.errors import InputError, InventoryError
from scanner.inventory import connection as conn
from scanner.inventory import walk_patterns


def parse(text: str) -> inventory.Inventory:
    return inventory.parse(yamlio.load_text(text, "inv.yaml"), "inv.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(InputError) as e:
        parse(text)
    for line in e.value.problems:
        assert "\n" not in line and line.startswith("inv.yaml")
    return e.value.problems


# -- the YAML loader (L6, bombs) ------------------------------------------------------------

def test_self_referencing_anchor_is_refused_at_once() -> None:
    t = time.monotonic()
    with pytest.raises(InputError, match="anchor is used inside itself"):
        yamlio.load_text("all: &x {children: {a: *x, b: *x}}", "inv.yaml")
    assert time.monotonic() - t < 1


def test_alias_fan_out_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(InputError, match="alias bomb"):
        yamlio.load_text("\n".join(lines), "inv.yaml")


@pytest.mark.parametrize("text", ["x: !!bool maybe", "x: !!int abc", "x: !!float x",
                                  "x: !!timestamp 2026-13-45", "x: " + "9" * 5000,
                                  "x: !!binary 'z'", "x: !!python/object:os.system x"])
def test_explicit_tags_that_cannot_be_read_are_one_line(text: str) -> None:
    with pytest.raises(InputError) as e:
        yamlio.load_text(text, "inv.yaml")
    assert e.value.problems[0].startswith("inv.yaml: not valid YAML")


def test_ansible_tags_and_merge_keys_load() -> None:
    data = yamlio.load_text("d: &d {a: 1, b: 1}\nx:\n  <<: *d\n  b: 2\nv: !vault |\n  $ANSIBLE_VAULT"
                            ";1.1;AES256\n  3131\nu: !unsafe '{{ raw }}'\n", "inv.yaml")
    assert data["x"] == {"a": 1, "b": 2}
    assert isinstance(data["v"], yamlio.Vaulted) and "ANSIBLE" not in repr(data["v"])
    assert isinstance(data["u"], yamlio.Unsafe) and not conn.is_template(data["u"])


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null"])
def test_devices_are_refused_without_reading(path: str) -> None:
    with pytest.raises(InputError, match="is a device"):
        yamlio.load_file(path)


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "inv.yaml"
    os.mkfifo(fifo)
    t = time.monotonic()
    with pytest.raises(InputError, match="FIFO"):
        inventory.load(fifo)
    assert time.monotonic() - t < 2
    assert main(["validate", str(fifo)]) == 2


def test_c_loader_is_used() -> None:
    assert yamlio.WITH_LIBYAML and issubclass(yamlio._Loader, __import__("yaml").CSafeLoader)


# -- ranges ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, why", [
    ("pc[0:9999][0:9999]", "would make 100000000 hosts"),
    ("pc[0:" + "9" * 5000 + "]", "range bound of 5000 characters"),
    ("pc[1:5:0]", "step of 0"),
    ("pc[05:1]", "same width"),
])
def test_ranges_that_would_explode_are_refused(name: str, why: str) -> None:
    t = time.monotonic()
    with pytest.raises(InventoryError) as e:
        inventory.parse({"all": {"hosts": {name: {}}}}, "inv.yaml")
    lines = e.value.problems
    assert any(why in line for line in lines), lines
    assert time.monotonic() - t < 1


def test_strides_letters_and_padding() -> None:
    assert walk_patterns.expand("web[01:09:3]") == ["web01", "web04", "web07"]
    assert walk_patterns.expand("n[a:c]-[1:2]") == ["na-1", "na-2", "nb-1", "nb-2", "nc-1", "nc-2"]
    assert walk_patterns.split_port("db1.example.org:5522") == ("db1.example.org", 5522)
    assert walk_patterns.split_port("[2001:db8::1]:2200") == ("2001:db8::1", 2200)
    assert walk_patterns.split_port("2001:db8::1") == ("2001:db8::1", None)


_pattern_chars = st.sampled_from([*list("ab09-._:[]"), "[1:3]", "[a:c]", "[01:10:3]", "[0:2]"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_pattern_chars, min_size=1, max_size=8).map("".join))
@example("a[1:3]:0")  # a range's ':' is not an IPv6 address's: found by this test
def test_expansion_and_ports_match_ansible(pattern: str) -> None:
    """Our expansion and host:port split against ansible-core's own functions."""
    pytest.importorskip("ansible")
    from ansible.plugins.inventory.yaml import InventoryModule

    try:
        theirs: Any = InventoryModule()._expand_hostpattern(pattern)
    except Exception:  # noqa: BLE001 - Ansible refuses it: so must we
        theirs = None
    try:
        host, port = walk_patterns.split_port(pattern)
        ours: Any = (walk_patterns.expand(host), port)
    except ValueError:
        ours = None
    if theirs is not None and ours is not None:
        assert ours == (list(theirs[0]), theirs[1])
    elif theirs is not None:  # we refuse only what is too big
        assert len(theirs[0]) > walk_patterns.MAX_RANGE_HOSTS
    else:
        assert ours is None, f"Ansible refuses {pattern!r}, undone reads {ours}"


# -- addresses, jump hosts, secrets (H1, L4) ---------------------------------------------------

@pytest.mark.parametrize("address", ["192.0.2.1\n* * * * * root sh", "-oProxyCommand=x",
                                     "a b", "host\x00name", "\u2028x"])
def test_address_is_a_host_name_or_ip_only(address: str) -> None:
    for key in ("address", "ansible_host"):
        doc = {"all": {"hosts": {"h": {key: address, "key_file": "/k"}}}}
        with pytest.raises(InventoryError) as e:
            inventory.parse(doc, "inv.yaml")
        assert any("not a host name or IP address" in p or "control character" in p
                   for p in e.value.problems), e.value.problems


@pytest.mark.parametrize("jump", ["admin@bastion\nevil", "-oProxyCommand=x", "a b@c",
                                  "u@h:99999", "a,b"])
def test_jump_is_a_host_name_or_ip_only(jump: str) -> None:
    for key, value in (("jump", jump), ("ansible_ssh_common_args", f"-J '{jump}'")):
        doc = {"estate": {"name": "x"},
               "all": {"hosts": {"h": {"address": "192.0.2.1", key: value}}}}
        with pytest.raises(InventoryError):
            inventory.parse(doc, "inv.yaml")


@pytest.mark.parametrize("key", ["password_env", "community_env", "snmp_auth_key_env",
                                 "undone_password_env"])
def test_a_secret_in_the_wrong_key_is_never_echoed(key: str) -> None:
    doc = {"all": {"hosts": {"h": {"address": "192.0.2.1", key: "Winter2026!"}}}}
    with pytest.raises(InventoryError) as e:
        inventory.parse(doc, "inv.yaml")
    assert e.value.problems and not any("Winter2026" in p for p in e.value.problems)


def test_ansible_password_is_never_echoed_nor_used(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text("all: {hosts: {h: {ansible_host: 192.0.2.1, ansible_password: Winter2026!,"
                   " ansible_user: bob}}}\n")
    assert main(["inventory", str(inv), "--list"]) == 0
    out = capsys.readouterr().out
    assert "Winter2026" not in out and '"credential": "none"' in out


def test_port_of_unicode_digits_is_one_line() -> None:
    assert any("port number" in p for p in problems("all: {hosts: {h: {ansible_host: 192.0.2.1,"
                                                    " ansible_port: '²'}}}"))


def test_nul_in_a_path_is_one_line() -> None:
    doc = {"all": {"hosts": {"h": {"address": "192.0.2.1", "key_file": "/k\x00ey"}}}}
    with pytest.raises(InventoryError, match="control character"):
        inventory.parse(doc, "inv.yaml")


# -- what validate accepts, scan accepts ----------------------------------------------------

BASE = "all: {hosts: {h: {address: 192.0.2.1, key_file: /k}}}\n"


@pytest.mark.parametrize("section, expected", [
    ("waivers: [{rule: R, hosts: [h], reason: r, approved_by: a, expires: 2027-01-01T10:00:00}]",
     "date and time"),
    ("params: {max_security_update_age_days: .nan}", "finite"),
    ("params: {max_security_update_age_days: .inf}", "finite"),
    ("contract: {days: {high: 3000000}}", "0 to 3650"),
    ("waivers: [{rule: R, hosts: [h], reason: r, approved_by: a, expires: 9999-12-31}]",
     "between 2000 and 2999"),
])
def test_values_the_scan_cannot_use_are_refused_by_validate(section: str, expected: str) -> None:
    assert any(expected in p for p in problems(BASE + section))


def test_long_email_address_is_linear() -> None:
    t = time.monotonic()
    lines = problems(BASE + "notify: {email: {to: ['" + "a" * 80_000 + "@x'], from: u@x.org, "
                     "smtp_host: smtp.x.org}}")
    assert any("'to' has" in p for p in lines)
    assert time.monotonic() - t < 1


_values = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.text(alphabet=string.printable + "\x00²٣\u2028", max_size=20),
                    st.dates(), st.datetimes())


@settings(max_examples=300, deadline=None)
@given(port=_values, days=_values, param=_values, expires=_values, address=_values)
def test_whatever_validate_accepts_the_scan_can_use(port: Any, days: Any, param: Any,
                                                    expires: Any, address: Any) -> None:
    """Random values in the places the fuzzing found: if parse accepts them, every consumer of
    the result (the evaluator's waiver dates, due dates, ports, addresses) works."""
    doc = {"all": {"hosts": {"h": {"address": address, "port": port, "key_file": "/k"}}},
           "contract": {"days": {"high": days}},
           "params": {"p": param},
           "waivers": [{"rule": "R", "hosts": ["h"], "reason": "r", "approved_by": "a",
                        "expires": expires}]}
    try:
        inv = inventory.parse(doc, "inv.yaml")
    except InventoryError as e:
        assert all("\n" not in p for p in e.problems)
        return
    h = inv.hosts[0]
    assert isinstance(h.port, int) and 1 <= h.port <= 65535
    assert conn.valid_address(h.address)
    w = inv.waivers[0]
    assert type(w.expires) is date and (w.expires < date(2026, 12, 7) or True)
    for sev, n in inv.contract.days.items():
        assert sev and date(2026, 12, 7) + timedelta(days=n)  # no overflow
    for v in inv.params.values():
        assert not isinstance(v, float) or math.isfinite(v)


# -- INI and plugin inventories (issue 16) ----------------------------------------------------

def test_ini_inventory_gets_one_line_naming_the_conversion(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.inventory import via_ansible

    monkeypatch.setattr(via_ansible, "available", lambda: False)
    ini = tmp_path / "hosts.ini"
    ini.write_text("[web]\nweb1 ansible_host=192.0.2.5\n\n[web:vars]\nansible_user=ops\n")
    assert main(["validate", str(ini)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ansible-inventory -i" in err[0] and "undone[ansible]" in err[0]


def test_ini_inventory_is_read_through_ansible(tmp_path: Path) -> None:
    pytest.importorskip("ansible")
    ini = tmp_path / "hosts.ini"
    ini.write_text("[web]\nweb1 ansible_host=192.0.2.5 ansible_port=2222\n\n[web:vars]\n"
                   "ansible_user=ops\n")
    inv = inventory.load(ini)
    h = inv.hosts[0]
    assert (inv.reader, h.name, h.address, h.port, h.user) == (
        "ansible-core", "web1", "192.0.2.5", 2222, "ops")


def test_templates_are_evaluated_through_ansible(tmp_path: Path) -> None:
    pytest.importorskip("ansible")
    f = tmp_path / "hosts.yml"
    f.write_text("all:\n  vars: {base: 192.0.2}\n  hosts:\n    a: {ansible_host: '{{ base }}.7'}\n")
    with pytest.raises(InventoryError, match="Jinja2 template"):
        inventory.load(f, reader="built-in")
    assert inventory.load(f).hosts[0].address == "192.0.2.7"


def test_plugin_configuration_gets_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.inventory import via_ansible

    monkeypatch.setattr(via_ansible, "available", lambda: False)
    f = tmp_path / "aws_ec2.yml"
    f.write_text("plugin: amazon.aws.aws_ec2\nregions: [eu-west-2]\n")
    with pytest.raises(InventoryError) as e:
        inventory.load(f)
    assert len(e.value.problems) == 1 and "ansible-inventory -i" in e.value.problems[0]


def test_vault_values_are_read_through_ansible_with_the_users_password_file(
        tmp_path: Path) -> None:
    """The extra decrypts with the user's own vault settings (ANSIBLE_VAULT_PASSWORD_FILE); the
    built-in reader refuses the host, naming the variable and the extra."""
    pytest.importorskip("ansible")
    import subprocess
    import sys

    from ansible.parsing.vault import VaultLib, VaultSecret

    cipher = VaultLib([("default", VaultSecret(b"correct horse"))]).encrypt("ops").decode()
    body = "\n".join("        " + line for line in cipher.splitlines())
    f = tmp_path / "hosts.yml"
    f.write_text(f"all:\n  hosts:\n    a:\n      ansible_host: 192.0.2.4\n"
                 f"      ansible_user: !vault |\n{body}\n")
    with pytest.raises(InventoryError, match="host a: ansible_user is encrypted with Ansible "
                                             "Vault"):
        inventory.load(f, reader="built-in")
    pw = tmp_path / "vault-pass"
    pw.write_text("correct horse\n")
    env = {**os.environ, "ANSIBLE_VAULT_PASSWORD_FILE": str(pw)}
    out = subprocess.run([sys.executable, "-m", "scanner", "inventory", str(f), "--list"],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["reader"] == "ansible-core" and doc["hosts"]["a"]["user"] == "ops"
    assert "correct horse" not in out.stdout + out.stderr
