"""posix.patch_history: recorded outputs (tests/fixtures/posix/patch_history/SOURCE.md) and
awkward ones."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from probes.base import Facts, RawSection
from probes.posix import patch_history as probe

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "posix" / "patch_history"
SCRIPT = ROOT / "probes" / "posix" / "patch_history.sh"
CASES = {
    "debian12_apt_history": "2026-11-22T00:36:01Z",
    "debian12_dpkg_log": "2026-11-22T00:36:01Z",
    "rhel9_dnf_history": "2024-06-20T08:00:00Z",
    "debian12_apt_history_lists": "2026-12-07T09:57:34Z",
}
END = "@@block end\n\n@@rc 0\n"


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def parse(stdout: str, collected_at: str = "2026-11-22T00:36:01Z") -> Facts:
    return probe.parse(RawSection("posix.patch_history", stdout, collected_at=when(collected_at)))


def text(case: str) -> str:
    return (FIXTURES / f"{case}.out").read_text()


def fixture(case: str) -> Facts:
    return parse(text(case), CASES[case])


def test_debian12_apt_history() -> None:
    facts = fixture("debian12_apt_history")
    v = facts.values
    assert v["patch.source"] == "apt-history"
    assert v["patch.history_since"] == "2025-06-24T14:36:25Z"
    assert v["patch.last_install_at"] == "2026-11-22T00:31:49Z"
    assert v["patch.last_upgrade_at"] == "2026-11-22T00:18:54Z"
    assert v["patch.days_since_last"] == v["patch.days_since_last_upgrade"] == 0.0
    # only runs that upgraded count: the image builds' and this session's installs do not
    # (counted with them, it was 4, 6 and 11)
    assert (v["patch.runs_30d"], v["patch.runs_90d"], v["patch.runs_365d"]) == (1, 2, 5)
    assert "patch.runs_30d" not in facts.basis  # apt's history counts exactly
    assert len(v["patch.recent"]) == 10
    # every kind of transaction is listed, each saying whether it counted and why
    assert v["patch.recent"][:2] == [
        {
            "at": "2026-11-22T00:31:49Z", "upgraded": 0, "installed": 25, "removed": 0,
            "command": "apt-get install -y -q --no-install-recommends chromium",
            "counted": False, "why": "installed new packages only: not an upgrade",
        },
        {
            "at": "2026-11-22T00:31:20Z", "upgraded": 0, "installed": 0, "removed": 5,
            "command": "apt-get purge -y -q ufw iptables libip6tc2 libnfnetlink0 "
                       "libnetfilter-conntrack3",
            "counted": False, "why": "removed packages only: not an upgrade",
        },
    ]
    counted = [r for r in v["patch.recent"] if r["counted"]]
    assert counted[0]["why"] == "upgraded 1 package"
    assert all(r["upgraded"] for r in counted)
    # captured before the script listed the upgraded packages: nothing to classify
    assert v["patch.upgrades"] and all(u["packages"] == [] for u in v["patch.upgrades"])
    assert "advisory catalogue" in facts.errors["patch.security_runs_30d"]


def test_debian12_apt_history_with_upgrade_lists() -> None:
    """Captured with the script that lists the upgraded packages and their source packages
    (2026-12-07, as nobody)."""
    facts = fixture("debian12_apt_history_lists")
    v = facts.values
    assert v["patch.runs_365d"] >= 5
    first = v["patch.upgrades"][-1]  # the oldest run in the year (2025-06's is older)
    assert first["packages"] == [["tzdata", "tzdata", "2025b-0+deb12u1", "2025b-0+deb12u2"]]
    listed = [p for u in v["patch.upgrades"] for p in u["packages"]]
    assert ["libc6", "glibc", "2.36-9+deb12u10", "2.36-9+deb12u14"] in listed
    assert all(len(p) == 4 and p[2] and p[3] for p in listed)


def test_debian12_dpkg_log() -> None:
    facts = fixture("debian12_dpkg_log")
    v = facts.values
    assert v["patch.source"] == "dpkg-log"
    assert v["patch.last_upgrade_at"] == "2026-11-22T00:18:54Z"
    assert (v["patch.runs_30d"], v["patch.runs_90d"], v["patch.runs_365d"]) == (1, 2, 4)
    # sessions grouped by time are an estimate of the runs: no rule passes on them
    assert facts.basis["patch.runs_90d"]["basis"] == "estimate"
    assert "dpkg-log does not list" in facts.errors["patch.upgrades"]


def test_rhel9_dnf_history() -> None:
    facts = fixture("rhel9_dnf_history")
    v = facts.values
    assert v["patch.source"] == "dnf-history"
    assert v["patch.history_since"] == "2023-06-01T12:00:00Z"
    assert v["patch.last_install_at"] == "2024-06-12T02:03:00Z"
    assert v["patch.days_since_last"] == 8.2
    assert v["patch.last_upgrade_at"] == "2024-06-12T02:03:00Z"
    # upgrades only: "install tmux" and "install -y dnf-automatic" are not patch runs; the
    # failed transaction 5 ("##") patched nothing
    assert (v["patch.runs_30d"], v["patch.runs_90d"], v["patch.runs_365d"]) == (1, 2, 4)
    rows = [(r["command"], r["counted"], r["why"]) for r in v["patch.recent"]]
    assert rows == [
        ("upgrade -y --security", True, "upgraded packages"),
        ("install tmux", False, "installed new packages only: not an upgrade"),
        ("remove telnet", False, "Removed: not an upgrade"),
        (None, True, "upgraded packages"),
        ("upgrade -y", True, "upgraded packages"),
        ("install -y dnf-automatic", False, "installed new packages only: not an upgrade"),
        ("update", True, "upgraded packages"),
        ("upgrade -y", False, "failed or aborted: patched nothing"),
        (None, False, "installed new packages only: not an upgrade"),
    ]
    assert all(r["upgraded"] is None and r["installed"] is None for r in v["patch.recent"])
    assert "dnf-history does not say" in facts.errors["patch.security_runs_90d"]


def test_dnf_command_lines_with_a_bar_and_hostile_rows() -> None:
    out = (
        "@@block tz\n+0000\n\n@@rc 0\n@@block dnf_history\n"
        "ID     | Command line             | Date and time    | Action(s)      | Altered\n"
        "    13 | install a|b              | 2024-06-13 02:03 | Upgrade        |    2   \n"
        "@@exit 0\n\n@@rc 0\n" + END)
    facts = parse(out, "2024-06-20T08:00:00Z")
    assert facts.values["patch.recent"][0]["command"] == "install a|b"
    assert facts.values["patch.runs_30d"] == 1


def test_local_time_is_converted_with_the_targets_offset() -> None:
    out = (
        "@@block tz\n+0200\n\n@@rc 0\n"
        "@@block apt_history:history.log\n"
        "Start-Date: 2026-11-20  08:00:00\nCommandline: apt-get upgrade\nUpgrade-Count: 3\n"
        "End-Date: 2026-11-20  08:01:00\n"
        "Start-Date: 2026-11-21  09:00:00\nCommandline: apt-get purge foo\nPurge-Count: 1\n"
        "End-Date: 2026-11-21  09:00:05\n\n@@rc 0\n" + END
    )
    facts = parse(out, "2026-11-22T06:00:00Z")
    assert set(facts.errors) == set(probe.SECURITY_RUNS)
    assert facts.values["patch.last_install_at"] == "2026-11-20T06:00:00Z"
    assert facts.values["patch.days_since_last"] == 2.0
    assert facts.values["patch.history_since"] == "2026-11-20T06:00:00Z"
    assert facts.values["patch.runs_30d"] == 1


def test_history_without_any_run() -> None:
    out = (
        "@@block tz\n+0000\n\n@@rc 0\n@@block apt_history:history.log\n"
        "Start-Date: 2026-11-21  09:00:00\nCommandline: apt-get remove foo\nRemove-Count: 1\n"
        "\n@@rc 0\n" + END
    )
    facts = parse(out)
    assert facts.values["patch.last_install_at"] is None
    assert facts.values["patch.runs_365d"] == 0
    assert facts.values["patch.history_since"] == "2026-11-21T09:00:00Z"
    assert "patch.days_since_last" in facts.errors
    assert "patch.days_since_last" not in facts.values


def test_unreadable_history_file_is_an_error() -> None:
    out = (
        "@@block tz\n+0000\n\n@@rc 0\n"
        "@@block apt_history:history.log\n\n@@rc 0\n"
        "@@block apt_history:history.log.1.gz\n@@rc 126\n" + END
    )
    facts = parse(out)
    assert facts.values == {}
    assert "permission denied" in facts.errors["patch.runs_30d"]


def test_no_history_at_all_is_an_error() -> None:
    facts = parse("@@block tz\n+0000\n\n@@rc 0\n" + END)
    assert facts.values == {}
    assert "no package history" in facts.errors["patch.last_install_at"]


def test_output_cut_before_the_end_is_an_error() -> None:
    full = text("debian12_apt_history")
    facts = parse(full[: full.index("@@block end")])
    assert facts.values == {}
    assert "cut off" in facts.errors["patch.runs_30d"]


def test_dpkg_summary_garbage_and_dnf_failure() -> None:
    out = (
        "@@block tz\n+0000\n\n@@rc 0\n@@block dpkg_log:dpkg.log\nSession: yesterday\n\n@@rc 0\n"
        + END
    )
    assert parse(out).values == {}
    out = (
        "@@block tz\n+0000\n\n@@rc 0\n@@block dnf_history\n"
        "Error: history database is not readable\n@@exit 1\n\n@@rc 0\n" + END
    )
    facts = parse(out)
    assert facts.values == {}
    assert "history database" in facts.errors["patch.last_install_at"]
    out = (
        "@@block tz\n+0000\n\n@@rc 0\n@@block dnf_history\nsomething else entirely\n"
        "@@exit 0\n\n@@rc 0\n" + END
    )
    assert "unexpected line" in parse(out).errors["patch.runs_30d"]


def test_dnf_without_transactions() -> None:
    out = (
        "@@block tz\n+0000\n\n@@rc 0\n@@block dnf_history\nNo transactions\n@@exit 0\n\n@@rc 0\n"
        + END
    )
    facts = parse(out)
    assert facts.values["patch.source"] == "dnf-history"
    assert facts.values["patch.runs_365d"] == 0
    assert facts.values["patch.last_install_at"] is None
    assert facts.values["patch.history_since"] is None


@pytest.mark.parametrize("stdout", ["", "garbage\n", "@@block tz\n+0000\n", "\x00\xff"])
def test_empty_garbage_or_cut_output_gives_only_errors(stdout: str) -> None:
    facts = parse(stdout)
    assert facts.values == {}
    assert set(facts.errors) == set(probe.PROVIDES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_truncation_never_changes_a_value(case: str) -> None:
    full_text = text(case)
    full = parse(full_text, CASES[case]).values
    lines = full_text.split("\n")
    for i in range(len(lines)):
        cut = parse("\n".join(lines[:i]), CASES[case])
        for name, value in cut.values.items():
            assert full[name] == value, (case, i, name)


def test_fact_names() -> None:
    assert all(re.fullmatch(r"patch\.[a-z0-9_]+", n) for n in probe.PROVIDES)
    for case in CASES:
        facts = fixture(case)
        assert set(facts.values) | set(facts.errors) == set(probe.PROVIDES)


def test_script_is_posix_sh_read_only_and_passes_shellcheck() -> None:
    script = SCRIPT.read_text()
    assert script.startswith("# undone section posix.patch_history:")
    assert "Privilege:" in script[:1200]
    for forbidden in ("mktemp", "tee ", "touch ", "rm ", "gunzip "):
        assert forbidden not in script, forbidden
    subprocess.run(["sh", "-n", str(SCRIPT)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    subprocess.run(["shellcheck", "-s", "sh", str(SCRIPT)], check=True)


@pytest.mark.parametrize("ch", [" ", "-", "[", "|", ":", "(", ")", ","])
def test_worst_input_at_the_section_cap_parses_in_linear_time(ch: str) -> None:
    """2 MiB (the section cap) of one character, as one line and as many, in each block."""
    run = ch * (2 << 20)
    many = (ch * 64 + "\n") * ((2 << 20) // 65)
    for block, prefix in (("apt_history:history.log", "Start-Date: 2026-11-20  08:00:00\n"
                           "Upgrade-List: "), ("apt_sources", ""), ("dnf_history", "ID | x\n"),
                          ("dpkg_log:dpkg.log", "")):
        for body in (prefix + run, prefix + many):
            out = f"@@block tz\n+0000\n\n@@rc 0\n@@block {block}\n{body}\n@@exit 0\n\n@@rc 0\n"
            t0 = time.perf_counter()
            parse(out + END)
            assert time.perf_counter() - t0 < 1.0, (block, ch)
