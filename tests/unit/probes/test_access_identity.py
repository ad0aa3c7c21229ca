"""The grammar of declared administrator identities (probes/access/identity.py) and the derived
access.* facts on made-up account lists (probes/access/derive.py)."""

from __future__ import annotations

import pytest

from probes.access import derive, identity
from probes.access.derive import Account
from probes.base import Facts


@pytest.mark.parametrize(("text", "kind", "name", "domain"), [
    ("alice", "user", "alice", None),
    ("svc.backup-01", "user", "svc.backup-01", None),
    ("PC01$", "user", "PC01$", None),
    ("%sudo", "group", "sudo", None),
    ("group:wheel", "group", "wheel", None),
    ("group:EXAMPLE\\IT Admins", "domain-group", "IT Admins", "EXAMPLE"),
    ("group:example.org\\Domain Admins", "domain-group", "Domain Admins", "example.org"),
    ("EXAMPLE\\alice", "domain-user", "alice", "EXAMPLE"),
    ("device:admin", "device", "admin", None),
    ("device:noc@example", "device", "noc@example", None),
])
def test_identities(text: str, kind: str, name: str, domain: str | None) -> None:
    i = identity.parse(text)
    assert (i.kind, i.name, i.domain, i.text) == (kind, name, domain, text)


@pytest.mark.parametrize(("text", "why"), [
    ("", "is empty"),
    (" alice", "spaces or control characters"),
    ("alice\n", "spaces or control characters"),
    ("al ice", "not an account name"),
    ("-alice", "not an account name"),
    ("a" * 65, "not an account name"),
    ("%", "not a local group name"),
    ("%EXAMPLE\\x", "not a local group name"),
    ("group:", "not a local group name"),
    ("grp:wheel", "unknown prefix 'grp:' (did you mean 'group:'?)"),
    ("devices:admin", "did you mean 'device:'?"),
    ("user:alice", "unknown prefix 'user:'"),
    ("device:", "not a device user name"),
    ("device:a b", "not a device user name"),
    ("EXAMPLE\\", "is empty"),
    ("EXAMPLE\\ alice", "spaces at an end"),
    ("EXAMPLE\\a/b", "holds one of"),
    ("EX AMPLE\\bob", "not a domain name"),
    ("\\bob", "not a domain name"),
    ("group:EXAMPLE\\", "is empty"),
])
def test_malformed(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=None) as e:
        identity.parse(text)
    assert why in str(e.value)


def test_not_text_and_lists() -> None:
    with pytest.raises(ValueError, match="not text"):
        identity.parse(42)
    with pytest.raises(ValueError, match=r"^\[1\]: "):
        identity.parse_all(["ok", "not ok"])
    with pytest.raises(ValueError, match="expected a list"):
        identity.parse_all("alice")


# -- derive ------------------------------------------------------------------------------------


def acct(name: str, usable: bool | None = True, **kw: object) -> Account:
    enabled = kw.pop("enabled", usable)
    return Account(name=name, via=["sudoers"], enabled=enabled, usable=usable,  # type: ignore[arg-type]
                   reasons=[] if usable else ["the account is locked"], **kw)  # type: ignore[arg-type]


def facts(accounts: list[Account], client: list[str] | None, provider: list[str] | None = None,
          incomplete: str | None = None, platform: str = "posix") -> Facts:
    f = Facts()
    derive.derive(f, accounts, {"client_admins": client, "provider_admins": provider},
                  platform, incomplete)
    return f


def test_client_usable_and_provider_only() -> None:
    f = facts([acct("alice"), acct("msp")], ["alice"], ["msp"])
    v = f.values
    assert v["access.client_admin_usable"] is True and v["access.provider_only"] is False
    assert v["access.unknown_admins"] == []
    f = facts([acct("alice", False), acct("msp")], ["alice"], ["msp"])
    v = f.values
    assert v["access.client_admin_present"] is True
    assert v["access.client_admin_enabled"] is False
    assert v["access.client_admin_usable"] is False
    assert v["access.client_admin_problems"] == ["alice: the account is locked"]
    assert v["access.provider_only"] is True
    # nobody at all can administer: the client cannot, but it is not "provider only"
    f = facts([acct("alice", False), acct("msp", False)], ["alice"], ["msp"])
    assert f.values["access.provider_only"] is False


def test_unknown_usability_is_an_error_never_a_guess() -> None:
    f = facts([acct("alice", None), acct("msp")], ["alice"], ["msp"])
    for name in ("access.client_admin_usable", "access.client_admin_problems",
                 "access.provider_only"):
        assert name not in f.values and "alice" in f.errors[name]
    # one usable client account settles it, whatever the others are
    f = facts([acct("alice", None), acct("bob")], ["alice", "bob"], ["msp"])
    assert f.values["access.client_admin_usable"] is True
    assert f.values["access.provider_only"] is False


def test_incomplete_list() -> None:
    f = facts([acct("msp")], ["alice"], ["msp"], incomplete="sudoers: not readable")
    assert f.errors["access.admins"] == "sudoers: not readable"
    assert f.errors["access.unknown_admins"] == "sudoers: not readable"
    assert "sudoers: not readable" in f.errors["access.client_admin_present"]
    assert "sudoers: not readable" in f.errors["access.provider_only"]
    # a lower bound still holds
    f = facts([acct("alice"), acct("msp")], ["alice"], ["msp"], incomplete="sudoers: x")
    assert f.values["access.client_admin_usable"] is True
    assert f.values["access.provider_only"] is False


def test_inherent_root_and_nothing_declared() -> None:
    accounts = [acct("root", False, inherent=True), acct("toor")]
    f = facts(accounts, None, None)
    assert f.values["access.unknown_admins"] == ["toor"]
    assert f.values["access.client_declared"] is False
    assert "access.client_admin_usable" not in f.values
    assert "access.client_admin_usable" not in f.errors
    f = facts([acct("root", True, inherent=True)], None, None)
    assert f.values["access.unknown_admins"] == ["root"]  # someone can log in as root


def test_owner_by_name_beats_group_and_windows_is_case_blind() -> None:
    a = acct("bob", groups=frozenset({"sudo"}))
    f = facts([a], ["%sudo"], ["bob"])
    assert f.values["access.admins"][0]["owner"] == "provider"
    assert f.values["access.client_admin_problems"] == ["%sudo: is also the provider's (bob)"]
    w = Account(name="PC01\\ClientAdmin", via=["administrators"], usable=True, enabled=True)
    f = facts([w], ["clientadmin"], None, platform="windows")
    assert f.values["access.client_admin_usable"] is True
    f = facts([w], ["clientadmin"], None, platform="posix")
    assert f.values["access.client_admin_usable"] is False


def test_device_identities_only_on_devices() -> None:
    d = Account(name="admin", source="device", via=["device-admin"], usable=True, enabled=True)
    assert facts([d], ["device:admin"], platform="device").values["access.client_admin_usable"]
    assert facts([d], ["admin"], platform="device").values["access.client_admin_usable"]
    u = Account(name="admin", via=["sudoers"], usable=True, enabled=True)
    assert facts([u], ["device:admin"]).values["access.client_admin_usable"] is False


def test_unknown_platform() -> None:
    with pytest.raises(ValueError, match="unknown platform"):
        facts([], ["a"], platform="vms")
