"""posix.accounts: recorded outputs (tests/fixtures/posix/accounts/SOURCE.md) and awkward ones."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from probes.base import Facts, RawSection
from probes.posix import accounts as probe

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "posix" / "accounts"
SCRIPT = ROOT / "probes" / "posix" / "accounts.sh"
AT = "2026-11-22T00:36:01Z"
CASES = ("debian12_root", "debian12_nobody", "debian12_root_admins", "debian12_nobody_admins")
ROOT_ONLY = ("accounts.empty_password_users", "sudo.nopasswd", "accounts.sudoers_users")
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
    assert set(facts.errors) == set(ROOT_ONLY)
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
    assert {k: t for k, t in v["accounts.last_login"].items() if t} == {
        "alice": "2026-11-22T00:36:01Z"
    }


def test_debian12_admins_as_nobody() -> None:
    facts = fixture("debian12_nobody_admins")
    assert set(facts.errors) == set(ROOT_ONLY)
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
    assert all(re.fullmatch(r"(accounts|sudo)\.[a-z0-9_]+", n) for n in probe.PROVIDES)
    for case in CASES:
        facts = fixture(case)
        assert set(facts.values) | set(facts.errors) == set(probe.PROVIDES)


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
