"""posix.accounts: recorded outputs (tests/fixtures/posix/accounts/SOURCE.md) and awkward ones."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from probes.access.derive import CLIENT_FACTS
from probes.base import Facts, RawSection
from probes.posix import accounts as probe

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "posix" / "accounts"
SCRIPT = ROOT / "probes" / "posix" / "accounts.sh"
AT = "2026-11-22T00:55:39Z"
CASES = ("debian12_root", "debian12_nobody", "debian12_root_admins", "debian12_nobody_admins")
ROOT_ONLY = ("accounts.empty_password_users", "sudo.nopasswd", "accounts.sudoers_users")
# the full list of administrators needs the sudoers files too
ROOT_ONLY_ACCESS = ("access.admins", "access.unknown_admins")
END = "@@block end\n\n@@rc 0\n"


def parse(stdout: str) -> Facts:
    at = datetime.fromisoformat(AT.replace("Z", "+00:00")).astimezone(UTC)
    return probe.parse(RawSection("posix.accounts", stdout, collected_at=at))


def text(case: str) -> str:
    return (FIXTURES / f"{case}.out").read_text()


def fixture(case: str) -> Facts:
    return parse(text(case))


def user(facts: Facts, name: str) -> dict[str, object]:
    return next(u for u in facts.values["accounts.users"] if u["name"] == name)


def test_debian12_root() -> None:
    facts = fixture("debian12_root")
    assert facts.errors == {}
    v = facts.values
    assert len(v["accounts.users"]) == 27
    assert user(facts, "root") == {
        "name": "root",
        "uid": 0,
        "gid": 0,
        "shell": "/bin/bash",
        "login_shell": True,
        "password": "locked",
    }
    assert user(facts, "sync")["login_shell"] is False  # /bin/sync
    assert user(facts, "clamav")["login_shell"] is False  # /bin/false
    assert v["accounts.uid0"] == ["root"]
    assert v["accounts.uid0_extra"] == []
    assert v["accounts.login_users"] == ["cloudsdk", "postgres", "root"]
    assert v["accounts.empty_password_users"] == []
    assert v["accounts.admin_groups"] == {"sudo": []}
    assert v["accounts.sudoers_users"] == ["root"]
    assert v["accounts.admins"] == ["root"]
    assert v["accounts.admins_complete"] is True
    assert v["sudo.installed"] is True
    assert v["sudo.nopasswd"] == []
    assert len(v["accounts.last_login"]) == 27
    assert set(v["accounts.last_login"].values()) == {None}


def test_debian12_nobody_cannot_read_shadow_or_sudoers() -> None:
    facts = fixture("debian12_nobody")
    for name in ROOT_ONLY:
        assert name not in facts.values
        assert "needs root" in facts.errors[name]
    assert set(facts.errors) == {*ROOT_ONLY, *ROOT_ONLY_ACCESS}
    assert all("needs root" in facts.errors[n] for n in ROOT_ONLY_ACCESS)
    assert {u["password"] for u in facts.values["accounts.users"]} == {"unknown"}
    assert facts.values["accounts.admins"] == ["root"]
    assert facts.values["accounts.admins_complete"] is False
    assert facts.values["accounts.login_users"] == ["cloudsdk", "postgres", "root"]


def test_debian12_admins_nopasswd_uid0_and_empty_password() -> None:
    facts = fixture("debian12_root_admins")
    assert facts.errors == {}
    v = facts.values
    assert len(v["accounts.users"]) == 32
    assert user(facts, "toor") == {
        "name": "toor",
        "uid": 0,
        "gid": 0,
        "shell": "/bin/sh",
        "login_shell": True,
        "password": "set",
    }
    assert user(facts, "alice")["password"] == "empty"
    assert user(facts, "deploy")["password"] == "locked"
    assert user(facts, "svc-backup")["password"] == "empty"
    assert v["accounts.uid0"] == ["root", "toor"]
    assert v["accounts.uid0_extra"] == ["toor"]
    assert v["accounts.login_users"] == [
        "alice",
        "bob",
        "cloudsdk",
        "deploy",
        "postgres",
        "root",
        "toor",
    ]
    # svc-backup has an empty password too, but no login shell.
    assert v["accounts.empty_password_users"] == ["alice"]
    # bob is in sudo through his primary group.
    assert v["accounts.admin_groups"] == {"sudo": ["alice", "bob"], "wheel": ["deploy"]}
    assert v["sudo.nopasswd"] == [
        {"file": "/etc/sudoers.d/90-deploy", "entry": "deploy ALL=(ALL) NOPASSWD: ALL"},
        {
            "file": "/etc/sudoers.d/91-ops",
            "entry": "OPS ALL=(root) NOPASSWD: /usr/bin/systemctl restart nginx, "
            "/usr/bin/journalctl",
        },
        {"file": "/etc/sudoers.d/91-ops", "entry": "Defaults:carol !authenticate"},
    ]
    # mallory's rules are in files sudo skips (92-old.bak, 93-edit~); the script never prints them.
    assert "mallory" not in text("debian12_root_admins").split("# undone-file:")[-1]
    assert v["accounts.sudoers_users"] == ["alice", "bob", "carol", "deploy", "root"]
    assert v["accounts.admins"] == ["alice", "bob", "carol", "deploy", "root", "toor"]
    assert v["accounts.admins_complete"] is True
    assert {k: t for k, t in v["accounts.last_login"].items() if t} == {"alice": AT}


def test_debian12_admins_as_nobody() -> None:
    facts = fixture("debian12_nobody_admins")
    assert set(facts.errors) == {*ROOT_ONLY, *ROOT_ONLY_ACCESS}
    assert facts.values["accounts.uid0_extra"] == ["toor"]
    assert facts.values["accounts.admins"] == ["alice", "bob", "deploy", "root", "toor"]
    assert facts.values["accounts.admins_complete"] is False


def test_no_hash_ever_reaches_the_output() -> None:
    for case in CASES:
        assert "$6$" not in text(case) and "$y$" not in text(case)


def minimal(passwd: str, shadow: str | None, extra: str = "") -> str:
    out = f"@@block passwd\n{passwd}\n@@rc 0\n"
    out += "@@block shadow\n@@rc 126\n" if shadow is None else f"@@block shadow\n{shadow}\n@@rc 0\n"
    out += "@@block group\nroot:0:\nsudo:27:\n\n@@rc 0\n"
    out += "@@block sudo\nsudo: command not found\n@@rc 127\n"
    out += "@@block sudoers.1\n# undone-path: /etc/sudoers\n@@rc 2\n"
    return out + extra + END


def test_password_in_passwd_itself_and_no_sudo() -> None:
    out = minimal(
        "root:0:0:/bin/sh:shadow\nold:1001:1001:/bin/sh:empty\nlegacy:1002:1002::set\n",
        "root:locked\n",
        "@@block lastlog\nlastlog: command not found\n@@rc 127\n",
    )
    facts = parse(out)
    assert user(facts, "old")["password"] == "empty"
    assert user(facts, "legacy")["login_shell"] is True  # empty shell is /bin/sh
    assert facts.values["accounts.empty_password_users"] == ["old"]
    assert facts.values["sudo.installed"] is False
    assert facts.values["sudo.nopasswd"] == []
    assert facts.errors["accounts.last_login"] == "lastlog not available on the target"


def test_shadow_unreadable_but_passwd_says_empty() -> None:
    # With /etc/shadow unreadable, a login user whose password is shadowed is unknown.
    facts = parse(minimal("root:0:0:/bin/sh:shadow\n", None))
    assert "needs root" in facts.errors["accounts.empty_password_users"]


def test_lastlog_dates_and_garbage() -> None:
    lastlog = (
        "@@block lastlog\n"
        "Username         Port     From             Latest\n"
        "root             pts/0    192.0.2.7        Fri Nov 20 09:14:02 +0100 2026\n"
        "alice                                      **Never logged in**\n\n@@rc 0\n"
    )
    facts = parse(minimal("root:0:0:/bin/sh:shadow\n", "root:locked\n", lastlog))
    assert facts.values["accounts.last_login"] == {"root": "2026-11-20T08:14:02Z", "alice": None}
    garbage = lastlog.replace("Fri Nov 20 09:14:02 +0100 2026", "yesterday")
    facts = parse(minimal("root:0:0:/bin/sh:shadow\n", "root:locked\n", garbage))
    assert "accounts.last_login" not in facts.values
    assert "unreadable line" in facts.errors["accounts.last_login"]


def test_unreadable_included_sudoers_file() -> None:
    out = text("debian12_root_admins").replace(
        "# undone-path: /etc/sudoers.d/91-ops\n", "# undone-path: /etc/sudoers.d/91-ops\n@@rc 126\n"
    )
    facts = parse(out)
    assert "91-ops: not readable" in facts.errors["sudo.nopasswd"]
    assert facts.values["accounts.admins_complete"] is False


def test_cut_before_the_end_means_sudoers_unknown() -> None:
    full = text("debian12_root_admins")
    facts = parse(full[: full.index("@@block sudoers.4")])
    assert "cut off" in facts.errors["sudo.nopasswd"]
    assert facts.values["accounts.admins_complete"] is False


def test_passwd_that_is_not_a_passwd_file() -> None:
    facts = parse(minimal("<html>not found</html>\n", "root:locked\n"))
    assert "accounts.users" in facts.errors
    assert "accounts.empty_password_users" in facts.errors
    assert "accounts.admins" in facts.errors


@pytest.mark.parametrize(
    "stdout", ["", "garbage\n", "@@block passwd\nroot:0:0:/bin/sh:x\n", "\x00"]
)
def test_empty_garbage_or_cut_output_gives_only_errors(stdout: str) -> None:
    facts = parse(stdout)
    assert facts.values == {}
    assert set(facts.errors) == set(probe.PROVIDES)


@pytest.mark.parametrize("case", CASES)
def test_truncation_never_changes_a_value(case: str) -> None:
    full_text = text(case)
    full = parse(full_text).values
    lines = full_text.split("\n")
    for i in range(len(lines)):
        cut = parse("\n".join(lines[:i]))
        incomplete = cut.values.get("accounts.admins_complete") is False
        for name, value in cut.values.items():
            if incomplete and name in ("accounts.admins", "accounts.admins_complete"):
                continue  # a lower bound, flagged by admins_complete
            if name == "accounts.users":
                # shadow cut off: a password state may only become "unknown"
                value = [
                    {**u, "password": f["password"]} if u["password"] == "unknown" else u
                    for u, f in zip(value, full[name], strict=True)
                ]
            assert full[name] == value, (case, i, name)


def test_fact_names() -> None:
    assert all(re.fullmatch(r"(accounts|sudo|access)\.[a-z0-9_]+", n) for n in probe.PROVIDES)
    # with no client or provider identities declared, the facts about them are left out
    undeclared = {*CLIENT_FACTS, "access.provider_only", "access.provider_admin_usable"}
    for case in CASES:
        facts = fixture(case)
        assert set(facts.values) | set(facts.errors) == set(probe.PROVIDES) - undeclared


def test_script_is_posix_sh_read_only_and_passes_shellcheck() -> None:
    script = SCRIPT.read_text()
    assert script.startswith("# undone section posix.accounts:")
    assert "Privilege:" in script[:1000]
    for forbidden in ("mktemp", "tee ", "touch ", "rm ", "cat /etc/shadow", "getent shadow"):
        assert forbidden not in script, forbidden
    subprocess.run(["sh", "-n", str(SCRIPT)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    subprocess.run(["shellcheck", "-s", "sh", str(SCRIPT)], check=True)


# -- access: who can administer this system (probes/access/derive.py) --------------------------

ACCESS_CASES = ("debian12_root_access", "debian12_nobody_access")
DECLARED = {"client_admins": ["clientadmin"], "provider_admins": ["msp", "root"]}


def parse_with(stdout: str, config: dict[str, object]) -> Facts:
    at = datetime.fromisoformat(AT.replace("Z", "+00:00")).astimezone(UTC)
    return probe.parse(RawSection("posix.accounts", stdout, collected_at=at, config=config))


def admin(facts: Facts, name: str) -> dict[str, object]:
    return next(a for a in facts.values["access.admins"] if a["name"] == name)


def test_access_admins_with_their_state_and_owner() -> None:
    facts = parse_with(text("debian12_root_access"), DECLARED)
    assert facts.errors == {}
    v = facts.values
    assert [a["name"] for a in v["access.admins"]] == [
        "clientadmin", "contractor", "helpdesk", "leaver", "msp", "root", "toor", "%itadmins"]
    ca = admin(facts, "clientadmin")
    assert ca == {
        "name": "clientadmin", "kind": "user", "source": "local", "via": ["sudo-group"],
        "owner": "client", "exists": True, "enabled": True, "locked": False, "expired": False,
        "credential": "key", "usable": True, "last_login": AT, "reasons": [], "uid": 1001,
        "password": "none", "authorized_keys": 1, "login_shell": True,
    }
    # msp's key is in /etc/ssh/keys/msp, through AuthorizedKeysFile ... /etc/ssh/keys/%u
    msp = admin(facts, "msp")
    assert (msp["owner"], msp["via"], msp["credential"], msp["usable"]) == (
        "provider", ["sudoers"], "password+key", True)
    assert admin(facts, "leaver")["locked"] is True
    assert admin(facts, "leaver")["usable"] is False
    assert admin(facts, "leaver")["reasons"] == [
        "the account is locked (its password field starts with '!')"]
    assert admin(facts, "contractor")["expired"] is True
    assert admin(facts, "contractor")["reasons"] == ["the account expired on 2024-10-04"]
    # an authorized_keys file holding only a comment is no key
    assert admin(facts, "helpdesk")["authorized_keys"] == 0
    assert admin(facts, "helpdesk")["reasons"] == ["no usable password and no authorised SSH key"]
    root = admin(facts, "root")
    assert root["via"] == ["uid0", "sudoers"] and root["usable"] is False
    assert admin(facts, "toor")["via"] == ["uid0"] and admin(facts, "toor")["usable"] is True
    # a sudoers rule for a group that does not exist (nsswitch reads files only)
    itadmins = admin(facts, "%itadmins")
    assert (itadmins["kind"], itadmins["exists"], itadmins["usable"]) == ("group", False, False)
    assert v["access.unknown_admins"] == ["contractor", "helpdesk", "leaver", "toor", "%itadmins"]
    assert v["access.client_admin_present"] is True
    assert v["access.client_admin_enabled"] is True
    assert v["access.client_admin_usable"] is True
    assert v["access.client_admin_problems"] == []
    assert v["access.provider_admin_usable"] is True
    assert v["access.provider_only"] is False
    assert v["access.declared"] == {"client": ["clientadmin"], "provider": ["msp", "root"]}


@pytest.mark.parametrize(("client", "problem"), [
    ("leaver", "leaver: the account is locked (its password field starts with '!')"),
    ("contractor", "contractor: the account expired on 2024-10-04"),
    ("helpdesk", "helpdesk: no usable password and no authorised SSH key"),
    ("ghost", "ghost: no such account on this system"),
    ("postgres", "postgres: the account exists but has no administrator rights"),
    ("%staff", "%staff: the group has no members"),
    ("%postgres", "%postgres: the group gives no administrator rights here"),
    ("group:EXAMPLE\\IT Admins", "group:EXAMPLE\\IT Admins: no declared identity can exist on this"),
])
def test_client_cannot_administer(client: str, problem: str) -> None:
    facts = parse_with(text("debian12_root_access"), {"client_admins": [client],
                                                       "provider_admins": ["msp"]})
    v = facts.values
    assert v["access.client_admin_usable"] is False
    assert len(v["access.client_admin_problems"]) == 1
    assert v["access.client_admin_problems"][0].startswith(problem), v["access.client_admin_problems"]
    # msp (and toor) can: the provider can administer this system and the client cannot
    assert v["access.provider_only"] is True
    present = client in ("leaver", "contractor", "helpdesk")
    assert v["access.client_admin_present"] is present
    assert v["access.client_admin_enabled"] is (client == "helpdesk")


def test_identities_for_other_systems_are_left_out_of_the_problems() -> None:
    facts = parse_with(text("debian12_root_access"),
                       {"client_admins": ["ghost", "group:EXAMPLE\\IT Admins", "device:admin"]})
    assert facts.values["access.client_admin_problems"] == ["ghost: no such account on this system"]


def test_client_group_identity_and_name_beats_group() -> None:
    # %sudo holds clientadmin, leaver, contractor and helpdesk; msp is named by the provider
    facts = parse_with(text("debian12_root_access"), {"client_admins": ["%sudo"],
                                                       "provider_admins": ["msp", "leaver"]})
    v = facts.values
    assert v["access.client_admin_usable"] is True
    assert admin(facts, "clientadmin")["owner"] == "client"
    assert admin(facts, "leaver")["owner"] == "provider"  # named beats a group
    assert v["access.unknown_admins"] == ["toor", "%itadmins"]


def test_nothing_declared_leaves_the_client_facts_out() -> None:
    facts = parse_with(text("debian12_root_access"), {})
    v = facts.values
    assert v["access.client_declared"] is False and v["access.identities_declared"] is False
    for name in (*CLIENT_FACTS, "access.provider_only", "access.provider_admin_usable"):
        assert name not in v and name not in facts.errors
    # every administrator is unknown then (root, which nobody can log in as, is not counted)
    assert "root" not in v["access.unknown_admins"]
    assert "clientadmin" in v["access.unknown_admins"]


def test_without_root_nothing_is_judged_on_guesses() -> None:
    facts = parse_with(text("debian12_nobody_access"), DECLARED)
    for name in ("access.admins", "access.unknown_admins", "access.client_admin_usable",
                 "access.client_admin_problems", "access.client_admin_enabled",
                 "access.provider_only", "access.provider_admin_usable"):
        assert name not in facts.values, name
        assert "not readable" in facts.errors[name], (name, facts.errors[name])
    # clientadmin is in the sudo group (a lower bound that needs no root)
    assert facts.values["access.client_admin_present"] is True
    # a client that is not in any admin group might still be named in sudoers: unknown
    facts = parse_with(text("debian12_nobody_access"), {"client_admins": ["postgres"]})
    assert "access.client_admin_present" not in facts.values
    assert "sudoers" in facts.errors["access.client_admin_present"]


def test_unreadable_shadow_alone_makes_usable_unknown() -> None:
    out = text("debian12_root_access")
    start = out.index("@@block shadow")
    end = out.index("@@block group")
    facts = parse_with(out[:start] + "@@block shadow\n@@rc 126\n" + out[end:], DECLARED)
    assert "access.client_admin_usable" not in facts.values
    assert "/etc/shadow: not readable" in facts.errors["access.client_admin_usable"]
    # the list of administrators is complete (sudoers was read), their state is not
    assert facts.values["access.unknown_admins"] == [
        "contractor", "helpdesk", "leaver", "toor", "%itadmins"]
    assert admin(facts, "clientadmin")["usable"] is None


def test_keys_from_an_authorized_keys_command_are_unknown() -> None:
    out = text("debian12_root_access").replace(
        "# authorizedkeyscommand none", "# authorizedkeyscommand /usr/bin/sss_ssh_authorizedkeys")
    facts = parse_with(out, {"client_admins": ["helpdesk"], "provider_admins": ["msp"]})
    assert admin(facts, "helpdesk")["usable"] is None
    assert "AuthorizedKeysCommand" in facts.errors["access.client_admin_usable"]
    out = text("debian12_root_access").replace("# pubkeyauthentication yes",
                                               "# pubkeyauthentication no")
    facts = parse_with(out, DECLARED)
    assert admin(facts, "clientadmin")["usable"] is False  # no password, and keys are refused


def test_password_expired_past_the_inactive_period() -> None:
    out = text("debian12_root_access").replace(
        "clientadmin:locked:-:20400:99999::", "clientadmin:set:-:20000:90:14:")
    facts = parse_with(out, DECLARED)
    ca = admin(facts, "clientadmin")
    assert ca["expired"] is True and ca["usable"] is False
    assert "grace period has passed" in ca["reasons"][0]


def test_directory_accounts_are_unknown_not_absent() -> None:
    out = text("debian12_root_access").replace("passwd:         files systemd",
                                               "passwd:         files sss")
    facts = parse_with(out, {"client_admins": ["clientadmin"], "provider_admins": ["msp"]})
    itadmins = admin(facts, "%itadmins")
    assert itadmins["exists"] is None and itadmins["usable"] is None


@pytest.mark.parametrize("case", ACCESS_CASES)
def test_access_truncation_never_changes_a_value(case: str) -> None:
    full_text = text(case)
    full = parse_with(full_text, DECLARED).values
    lines = full_text.split("\n")
    for i in range(0, len(lines), 3):
        cut = parse_with("\n".join(lines[:i]), DECLARED)
        for name, value in cut.values.items():
            if name.startswith("access.") and name != "access.client_admin_present":
                assert full[name] == value, (case, i, name)


def test_a_key_in_one_file_counts_even_if_another_is_unreadable() -> None:
    out = text("debian12_root_access").replace("clientadmin:1\nclientadmin:absent",
                                               "clientadmin:denied\nclientadmin:1")
    facts = parse_with(out, DECLARED)
    assert admin(facts, "clientadmin")["authorized_keys"] == 1
    assert admin(facts, "clientadmin")["usable"] is True
    out = text("debian12_root_access").replace("clientadmin:1\nclientadmin:absent",
                                               "clientadmin:absent\nclientadmin:denied")
    facts = parse_with(out, DECLARED)
    assert admin(facts, "clientadmin")["authorized_keys"] is None
    assert admin(facts, "clientadmin")["usable"] is None


# ------------------------------- public passwd/group/shadow files and sudo's own example sudoers


def _public(case: str) -> Facts:
    text = (FIXTURES / f"public_{case}_sudo_example_root.out").read_text()
    return probe.parse(RawSection("posix.accounts", text,
                                  collected_at=datetime(2026, 12, 7, 10, 30, tzinfo=UTC)))


def test_sudo_projects_example_sudoers() -> None:
    v = _public("inspec").values
    entries = [n["entry"] for n in v["sudo.nopasswd"]]
    assert "Defaults:millert !authenticate" in entries
    assert "FULLTIMERS ALL = (ALL:ALL) NOPASSWD: ALL" in entries
    assert "fred ALL = (DB) NOPASSWD: ALL" in entries
    assert any(e.startswith("ALL CDROM = NOPASSWD: /sbin/umount /CDROM") for e in entries)
    assert len(entries) == 4
    users = v["accounts.sudoers_users"]
    # User_Alias lists expanded (one of them over a continued line), never the alias names
    assert {"millert", "mikef", "dowdy", "bostley", "jwfox", "crawl", "will", "wendy", "wim"} <= set(users)
    assert not {"FULLTIMERS", "PARTTIMERS", "WEBADMIN", "SPARC", "DUMPS"} & set(users)
    assert "root" in users and "+secretaries" in users


def test_inspec_passwd_shadow_and_group() -> None:
    v = _public("inspec").values
    by_name = {u["name"]: u for u in v["accounts.users"]}
    assert by_name["www-data"]["password"] == "locked"  # "!!" in shadow
    assert by_name["root"]["password"] == "set"
    assert v["accounts.uid0"] == ["root"] and v["accounts.empty_password_users"] == []


def test_alpine_passwd_without_shadow_entries_is_unknown_not_clean() -> None:
    f = _public("alpine")
    assert [u["name"] for u in f.values["accounts.users"]][:3] == ["root", "bin", "daemon"]
    assert f.values["accounts.login_users"] == ["root"]  # every other account is nologin/sync/...
    assert "accounts.empty_password_users" not in f.values
    assert "no entries" in f.errors["accounts.empty_password_users"]
    assert f.values["accounts.admin_groups"] == {"wheel": ["root"]}


def test_a_sudoers_rule_longer_than_a_parsed_line_keeps_its_nopasswd() -> None:
    """Lines of sudoers are read whole: a rule whose user list runs past 4,096 characters still
    shows its NOPASSWD (a cut line would hide it: never a pass on missing data)."""
    text = (FIXTURES / "debian12_root.out").read_text()
    users = ",".join(f"user{i:05d}" for i in range(1000))
    start = text.index("@@block sudoers.1\n")
    start = text.index("\n", text.index("# undone-path:", start)) + 1
    out = text[:start] + f"{users} ALL=(ALL) NOPASSWD: ALL\n" + text[start:]
    facts = probe.parse(RawSection("posix.accounts", out,
                                   collected_at=datetime(2026, 11, 22, tzinfo=UTC)))
    assert any("NOPASSWD" in n["entry"] for n in facts.values["sudo.nopasswd"])
    assert "user00999" in facts.values["accounts.sudoers_users"]


# --------------------------- second round: a distribution-style sudoers, real lastlog outputs


def _public2(case: str) -> Facts:
    text = (FIXTURES / f"public_{case}_root.out").read_text()
    return probe.parse(RawSection("posix.accounts", text,
                                  collected_at=datetime(2026, 12, 7, 12, 0, tzinfo=UTC)))


def test_docker_base_image_sudoers_groups_and_passwd_tags() -> None:
    """A published base image's sudoers (SOURCE.md): ``NOPASSWD:ALL`` without a space counts,
    ``PASSWD:ALL`` does not; groups the rules name that /etc/group lacks are listed as such."""
    f = _public2("dockerosbase_sudoers")
    entries = [n["entry"] for n in f.values["sudo.nopasswd"]]
    assert entries == ["%wheel ALL=(ALL) NOPASSWD:ALL", "%sudo ALL=(ALL) NOPASSWD:ALL",
                       "%docker ALL=(ALL) NOPASSWD:ALL"]
    assert f.values["accounts.sudoers_users"] == ["root"]  # the sudo group is empty here
    dangling = {a["name"] for a in f.values["access.admins"] if a["name"].startswith("%")}
    assert dangling == {"%wheel", "%admin", "%sudoer", "%docker"}


def test_lastlog_outputs_from_other_systems() -> None:
    centos = _public2("lastlog_centos_philipding").values["accounts.last_login"]
    assert centos["root"] == "2013-12-17T01:40:48Z"  # "Tue Dec 17 09:40:48 +0800 2013"
    assert centos["mysql"] is None and len(centos) == 24
    vyos = _public2("lastlog_vyos_1940").values["accounts.last_login"]
    assert vyos == dict.fromkeys(["root", "daemon", "bin", "sys", "sync"])
    # a Chinese-locale lastlog (the section runs under LC_ALL=C, so this is not its input): an
    # error, never dates read wrong
    zh = _public2("lastlog_centos7_zh_feiniao112")
    assert "accounts.last_login" not in zh.values
    assert "header" in zh.errors["accounts.last_login"]
