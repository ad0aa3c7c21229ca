"""posix.os: recorded outputs (tests/fixtures/posix/os/SOURCE.md) and awkward ones."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from probes.base import Facts, RawSection
from probes.posix import os as probe

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "posix" / "os"
SCRIPT = ROOT / "probes" / "posix" / "os.sh"
CASES = {
    "debian12_root": "2026-11-22T00:35:56Z",
    "debian12_nobody": "2026-11-22T00:35:56Z",
}


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def parse(stdout: str, collected_at: str = "2026-11-22T00:35:56Z") -> Facts:
    return probe.parse(RawSection("posix.os", stdout, collected_at=when(collected_at)))


def fixture(case: str) -> Facts:
    return parse((FIXTURES / f"{case}.out").read_text(), CASES[case])


DEBIAN = {
    "os.family": "linux",
    "os.id": "debian",
    "os.id_like": [],
    "os.version_id": "12",
    "os.version": "12 (bookworm)",
    "os.version_codename": "bookworm",
    "os.name": "Debian GNU/Linux",
    "os.pretty_name": "Debian GNU/Linux 12 (bookworm)",
    "os.kernel": "6.18.44-fc-v769",
    "os.arch": "x86_64",
    "os.hostname": "vm",
    "os.uptime_days": 0.01,
    "os.boot_time": "2026-11-22T00:18:06Z",
    "os.package_manager": "apt",
    "os.time": "2026-11-22T00:35:56Z",
    "os.clock_skew_seconds": 0,
}


def test_debian12_root() -> None:
    facts = fixture("debian12_root")
    assert facts.errors == {}
    assert facts.values == {**DEBIAN, "os.uid": 0, "os.privileged": True}


def test_debian12_nobody() -> None:
    facts = fixture("debian12_nobody")
    assert facts.errors == {}
    assert facts.values == {**DEBIAN, "os.uid": 65534, "os.privileged": False}


def block(name: str, text: str, rc: int | None = 0) -> str:
    end = "" if rc is None else f"\n@@rc {rc}\n"
    return f"@@block {name}\n{text}{end}"


# Written from the documented formats of os-release(5), sw_vers(1) and FreeBSD's sysctl
# kern.boottime; not captured (this machine is Debian).
RHEL = (
    block("uname_s", "Linux\n")
    + block("uname_r", "5.14.0-427.22.1.el9_4.x86_64\n")
    + block("uname_m", "x86_64\n")
    + block("uname_n", "db01.example.test\n")
    + block(
        "os_release",
        'NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\n'
        'ID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n'
        'PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n',
    )
    + block("uptime", "864000.00 1700000.00\n")
    + block("uid", "1000\n")
    + block("epoch", "1795307816\n")
    + block("package_managers", "dnf\nyum\n")
    + block("end", "")
)


def test_rhel_like_os_release_without_codename() -> None:
    facts = parse(RHEL)
    assert facts.errors == {}
    assert facts.values["os.id"] == "rocky"
    assert facts.values["os.id_like"] == ["rhel", "centos", "fedora"]
    assert facts.values["os.version_codename"] is None
    assert facts.values["os.package_manager"] == "dnf"
    assert facts.values["os.uptime_days"] == 10.0
    assert facts.values["os.boot_time"] == "2026-11-12T00:35:56Z"
    assert facts.values["os.clock_skew_seconds"] == 60
    assert facts.values["os.privileged"] is False


def test_freebsd_boottime_and_no_package_manager() -> None:
    out = (
        block("uname_s", "FreeBSD\n")
        + block("uname_r", "14.1-RELEASE\n")
        + block("uname_m", "amd64\n")
        + block("uname_n", "fw01\n")
        + block(
            "os_release", 'NAME=FreeBSD\nVERSION="14.1-RELEASE"\nVERSION_ID="14.1"\nID=freebsd\n'
        )
        + block("boottime", "{ sec = 1795221416, usec = 12345 } Sat Nov 21 00:36:56 2026\n")
        + block("uid", "0\n")
        + block("epoch", "1795307816\n")
        + block("package_managers", "")
    )
    facts = parse(out)
    assert facts.errors == {}
    assert facts.values["os.family"] == "freebsd"
    assert facts.values["os.boot_time"] == "2026-11-21T00:36:56Z"
    assert facts.values["os.uptime_days"] == 1.0
    assert facts.values["os.package_manager"] is None


def test_macos_sw_vers() -> None:
    out = (
        block("uname_s", "Darwin\n")
        + block("uname_r", "23.5.0\n")
        + block("uname_m", "arm64\n")
        + block("uname_n", "mac01\n")
        + block("os_release", "", rc=2)
        + block(
            "sw_vers", "ProductName:\t\tmacOS\nProductVersion:\t\t14.5\nBuildVersion:\t\t23F79\n"
        )
        + block("boottime", "{ sec = 1795221416, usec = 0 } Sat Nov 21 00:36:56 2026\n")
        + block("uid", "501\n")
        + block("epoch", "1795307816\n")
        + block("package_managers", "")
    )
    facts = parse(out)
    assert facts.errors == {}
    assert facts.values["os.family"] == "darwin"
    assert facts.values["os.id"] == "macos"
    assert facts.values["os.version_id"] == "14.5"
    assert facts.values["os.pretty_name"] == "macOS 14.5"


def test_missing_os_release_is_an_error_not_a_guess() -> None:
    out = RHEL.replace(
        RHEL[RHEL.index("@@block os_release") : RHEL.index("@@block uptime")],
        block("os_release", "", rc=2),
    )
    facts = parse(out)
    for name in ("os.id", "os.version_id", "os.name", "os.pretty_name", "os.id_like"):
        assert name not in facts.values
        assert "not present" in facts.errors[name]
    assert facts.values["os.family"] == "linux"


@pytest.mark.parametrize(
    "stdout",
    [
        "",
        "garbage\nmore garbage\n\x00\xff",
        "@@block uname_s\nLinux\n",  # cut off: no @@rc
        "@@rc 0\n@@block\n",
    ],
)
def test_empty_garbage_or_cut_output_gives_only_errors(stdout: str) -> None:
    facts = parse(stdout)
    assert facts.values == {}
    assert set(facts.errors) == set(probe.PROVIDES)


def test_uid_not_a_number_and_uptime_garbage() -> None:
    out = RHEL.replace("@@block uid\n1000\n", "@@block uid\nuid=1000(alice)\n").replace(
        "864000.00 1700000.00", "garbage"
    )
    facts = parse(out)
    for name in ("os.uid", "os.privileged", "os.uptime_days", "os.boot_time"):
        assert name in facts.errors, name
        assert name not in facts.values


def test_id_command_missing() -> None:
    out = RHEL.replace(
        "@@block uid\n1000\n\n@@rc 0", "@@block uid\nid: command not found\n@@rc 127"
    )
    facts = parse(out)
    assert "command not found" in facts.errors["os.uid"]
    assert "os.privileged" in facts.errors


def test_truncation_never_changes_a_value() -> None:
    for case, at in CASES.items():
        text = (FIXTURES / f"{case}.out").read_text()
        full = parse(text, at).values
        lines = text.split("\n")
        for i in range(len(lines)):
            cut = parse("\n".join(lines[:i]), at)
            for name, value in cut.values.items():
                assert full[name] == value, (case, i, name)


def test_fact_names() -> None:
    assert all(re.fullmatch(r"os\.[a-z0-9_]+", n) for n in probe.PROVIDES)
    for case in CASES:
        facts = fixture(case)
        assert set(facts.values) | set(facts.errors) <= set(probe.PROVIDES)


def test_script_is_posix_sh_and_passes_shellcheck() -> None:
    text = SCRIPT.read_text()
    assert text.startswith("# undone section posix.os:")
    assert "Privilege:" in text.split("\n\n")[0] or "Privilege:" in text[:600]
    subprocess.run(["sh", "-n", str(SCRIPT)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    subprocess.run(["shellcheck", "-s", "sh", str(SCRIPT)], check=True)


# ---------------------------------------- public os-release files and sw_vers (SOURCE.md "Public")

PUBLIC_AT = datetime(2026, 11, 22, 0, 55, tzinfo=UTC)
PUBLIC_OS = {
    # fixture: (os.id, os.version_id, os.id_like, os.version_codename)
    "public_ansible_debian_10": ("debian", "10", [], "buster"),
    "public_ansible_ubuntu_18.04": ("ubuntu", "18.04", ["debian"], "bionic"),
    "public_ansible_redhat_7.7": ("rhel", "7.7", ["fedora"], None),
    "public_ansible_centos_8_1": ("centos", "8", ["rhel", "fedora"], None),
    "public_ansible_rockylinux_8_3": ("rocky", "8.3", ["rhel", "fedora"], None),
    "public_ansible_amazon_linux_2": ("amzn", "2", ["centos", "rhel", "fedora"], None),
    "public_ansible_opensuse_leap_15.1": ("opensuse-leap", "15.1", ["suse", "opensuse"], None),
    "public_ansible_archlinux_rolling": ("arch", None, [], None),
    "public_ansible_fedora_31": ("fedora", "31", [], None),
    "public_ansible_linux_mint_19.1": ("linuxmint", "19.1", ["ubuntu"], "tessa"),
    "public_ansible_kali_2019.1": ("kali", "2019.1", ["debian"], None),
    "public_ansible_flatcar_3139.2.0": ("flatcar", "3139.2.0", ["coreos"], None),
    "public_ansible_clearlinux_28120": ("clear-linux-os", "28120", ["clear-linux-os"], None),
    "public_ansible_devuan": ("devuan", None, [], None),
}


@pytest.mark.parametrize("case", sorted(PUBLIC_OS))
def test_public_os_release_files(case: str) -> None:
    out = (FIXTURES / f"{case}.out").read_text()
    f = probe.parse(RawSection("posix.os", out, collected_at=PUBLIC_AT))
    assert not f.errors, f.errors
    v = f.values
    assert (v["os.id"], v["os.version_id"], v["os.id_like"], v["os.version_codename"]) == PUBLIC_OS[case]
    assert v["os.name"] and v["os.pretty_name"]


def test_public_sw_vers() -> None:
    for case, version in (("public_swvers_converge_10.11.6", "10.11.6"),
                          ("public_swvers_jne_10.10.5", "10.10.5")):
        f = probe.parse(RawSection("posix.os", (FIXTURES / f"{case}.out").read_text(),
                                   collected_at=PUBLIC_AT))
        assert f.values["os.family"] == "darwin" and f.values["os.id"] == "macos"
        assert f.values["os.version_id"] == version and f.values["os.name"] == "Mac OS X"
