"""posix.patch_history: recorded outputs (tests/fixtures/posix/patch_history/SOURCE.md) and
awkward ones."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from probes.base import Facts, RawSection
from probes.posix import patch_history as probe

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "posix" / "patch_history"
SCRIPT = ROOT / "probes" / "posix" / "patch_history.sh"
CASES = {
    "debian12_apt_history": "2026-11-22T00:36:01Z",
    "debian12_dpkg_log": "2026-11-22T00:36:01Z",
    "rhel9_dnf_history": "2024-06-20T08:00:00Z",
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
    assert facts.errors == {}
    v = facts.values
    assert v["patch.source"] == "apt-history"
    assert v["patch.history_since"] == "2025-06-24T14:36:25Z"
    assert v["patch.last_install_at"] == "2026-11-22T00:31:49Z"
    assert v["patch.days_since_last"] == 0.0
    assert v["patch.last_upgrade_at"] == "2026-11-22T00:18:54Z"
    assert v["patch.days_since_last_upgrade"] == 0.0
    assert (v["patch.runs_30d"], v["patch.runs_90d"], v["patch.runs_365d"]) == (4, 6, 11)
    assert len(v["patch.recent"]) == 10
    assert v["patch.recent"][:2] == [
        {
            "at": "2026-11-22T00:31:49Z",
            "upgraded": 0,
            "installed": 25,
            "command": "apt-get install -y -q --no-install-recommends chromium",
        },
        {
            "at": "2026-11-22T00:30:55Z",
            "upgraded": 0,
            "installed": 5,
            "command": "apt-get install -y -q --no-install-recommends iptables ufw",
        },
    ]
    # The purge that followed (Remove and Purge only) is not a run.
    assert all(r["upgraded"] or r["installed"] for r in v["patch.recent"])
    assert v["patch.recent"][3]["upgraded"] == 1


def test_debian12_dpkg_log() -> None:
    facts = fixture("debian12_dpkg_log")
    assert facts.errors == {}
    v = facts.values
    assert v["patch.source"] == "dpkg-log"
    assert v["patch.history_since"] == "2025-06-24T14:36:25Z"
    assert v["patch.last_install_at"] == "2026-11-22T00:31:49Z"
    assert v["patch.last_upgrade_at"] == "2026-11-22T00:18:54Z"
    assert (v["patch.runs_30d"], v["patch.runs_90d"], v["patch.runs_365d"]) == (4, 6, 8)
    assert v["patch.recent"][0] == {
        "at": "2026-11-22T00:31:49Z",
        "upgraded": 0,
        "installed": 25,
        "command": None,
    }


def test_rhel9_dnf_history() -> None:
    facts = fixture("rhel9_dnf_history")
    assert facts.errors == {}
    v = facts.values
    assert v["patch.source"] == "dnf-history"
    assert v["patch.history_since"] == "2023-06-01T12:00:00Z"
    assert v["patch.last_install_at"] == "2024-06-12T02:03:00Z"
    assert v["patch.days_since_last"] == 8.2
    assert v["patch.last_upgrade_at"] == "2024-06-12T02:03:00Z"
    assert (v["patch.runs_30d"], v["patch.runs_90d"], v["patch.runs_365d"]) == (2, 3, 6)
    commands = [r["command"] for r in v["patch.recent"]]
    # "remove telnet" is no run; the failed transaction 5 ("##") is no run.
    assert commands == [
        "upgrade -y --security",
        "install tmux",
        None,
        "upgrade -y",
        "install -y dnf-automatic",
        "update",
        None,
    ]
    assert all(r["upgraded"] is None and r["installed"] is None for r in v["patch.recent"])


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
    assert facts.errors == {}
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
