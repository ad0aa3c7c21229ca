"""posix.updates: recorded outputs (tests/fixtures/posix/updates/SOURCE.md) and awkward ones."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from probes.base import Facts, RawSection
from probes.posix import updates as probe

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "posix" / "updates"
SCRIPT = ROOT / "probes" / "posix" / "updates.sh"
RHEL_AT = "2024-06-20T08:00:00Z"
CASES = {
    "debian12_root_pending": "2026-11-22T00:35:58Z",
    "debian12_nobody_pending": "2026-11-22T00:36:00Z",
    "debian12_patched_auto_reboot": "2026-11-22T00:36:01Z",
    "debian12_frozen_security_pocket": "2026-11-22T00:36:01Z",
    "rhel9_security_pending": RHEL_AT,
    "rhel9_up_to_date": RHEL_AT,
    "rhel9_no_cache": RHEL_AT,
    "fedora41_dnf5": RHEL_AT,
    "debian12_root_sources": "2026-12-07T09:46:59Z",
    "debian12_nobody_sources": "2026-12-07T09:47:02Z",
    "checkmk_inst_lines": "2026-12-07T09:46:59Z",
    "rhel91_kernel_advisories": "2023-04-02T08:00:00Z",
}
AGE = ("updates.security_age_days", "updates.security_age_basis", "updates.security_since")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def parse(stdout: str, collected_at: str = "2026-11-22T00:36:00Z") -> Facts:
    return probe.parse(RawSection("posix.updates", stdout, collected_at=when(collected_at)))


def text(case: str) -> str:
    return (FIXTURES / f"{case}.out").read_text()


def fixture(case: str) -> Facts:
    return parse(text(case), CASES[case])


def entry(facts: Facts, package: str) -> dict[str, Any]:
    found = [p for p in facts.values["updates.pending"] if p["package"] == package]
    assert len(found) == 1, package
    return dict(found[0])


def replace_block(stdout: str, name: str, body: str) -> str:
    """Swap one block's whole text (from its @@block line up to the next @@block)."""
    start = stdout.index(f"@@block {name}\n")
    end = stdout.find("@@block ", start + 1)
    return stdout[:start] + body + (stdout[end:] if end != -1 else "")


# ------------------------------------------------------------------------------ apt, captured


def test_debian12_pending_with_security_from_the_real_lists() -> None:
    facts = fixture("debian12_root_pending")
    assert facts.errors == {}
    v = facts.values
    assert v["updates.manager"] == "apt"
    assert v["updates.pending_count"] == 135
    assert len(v["updates.pending"]) == 135
    assert v["updates.security_count"] == 81
    assert len(v["updates.security_packages"]) == 81
    assert {"libssl3", "openssl", "libgcrypt20", "tzdata"} <= set(v["updates.security_packages"])
    assert "systemd" not in v["updates.security_packages"]
    # A fix from the point release and the security pocket at once counts as security.
    assert entry(facts, "libgcrypt20") == {
        "package": "libgcrypt20",
        "arch": "amd64",
        "installed": "1.10.1-3",
        "candidate": "1.10.1-3+deb12u1",
        "source": "Debian:12.15/oldstable, Debian-Security:12/oldstable-security",
        "security": True,
        "severity": None,
        "advisory": None,
        # the security pocket's InRelease Date: the update is at least that old
        "issued": "2026-11-20T00:12:41Z",
        "basis": "lower-bound",
        # captured before the script asked dpkg for source packages (apt_sources)
        "source_package": None,
        "source_installed": None,
        "source_candidate": None,
    }
    # A point-release update is recorded with its pocket, and is not security.
    assert entry(facts, "systemd")["source"] == "Debian:12.15/oldstable"
    assert entry(facts, "systemd")["security"] is False
    assert entry(facts, "tzdata")["arch"] == "all"
    # The security pocket's InRelease Date: a lower bound on the age.
    assert v["updates.security_since"] == "2026-11-20T00:12:41Z"
    assert v["updates.security_age_days"] == 2.0
    assert v["updates.security_age_basis"] == "lower-bound"
    assert facts.basis["updates.security_age_days"] == {
        "basis": "lower-bound",
        "why": "release dates of 81 pending security updates unknown ({bound})",
        "fix": probe.APT_FIX,
    }
    assert v["updates.os_release"] == {"id": None, "version_id": None, "codename": "bookworm"}
    assert v["updates.metadata_date"] == "2026-11-20T02:11:10Z"
    assert v["updates.metadata_age_days"] == 1.9
    assert v["updates.reboot_required"] is False
    assert v["updates.reboot_packages"] == []
    assert v["updates.auto_tool"] is None
    assert v["updates.auto_configured"] is False
    assert v["updates.auto_timer_enabled"] is True
    assert v["updates.auto_timers"] == {
        "apt-daily-upgrade.timer": "enabled",
        "apt-daily.timer": "enabled",
    }


def test_debian12_nobody_sees_the_same() -> None:
    root, nobody = fixture("debian12_root_pending"), fixture("debian12_nobody_pending")
    assert nobody.errors == {}
    assert nobody.values == root.values


def test_debian12_patched_with_unattended_upgrades_and_reboot_pending() -> None:
    facts = fixture("debian12_patched_auto_reboot")
    assert facts.errors == {}
    assert facts.values == {
        "updates.manager": "apt",
        "updates.os_release": {"id": None, "version_id": None, "codename": "bookworm"},
        "updates.pending": [],
        "updates.pending_count": 0,
        "updates.security_count": 0,
        "updates.security_packages": [],
        "updates.security_age_days": 0.0,
        "updates.security_age_basis": None,
        "updates.security_since": None,
        "updates.metadata_date": "2026-11-20T02:11:10Z",
        "updates.metadata_age_days": 1.9,
        # the oldest security suite's list (bookworm-security's Release), not the newest list
        "updates.security_metadata_date": "2026-11-20T00:12:41Z",
        "updates.security_metadata_age_days": 2.0,
        "updates.reboot_required": True,
        "updates.reboot_packages": ["libssl3", "linux-image-6.1.0-41-amd64"],
        "updates.auto_tool": "unattended-upgrades",
        "updates.auto_configured": True,
        "updates.auto_timer_enabled": True,
        "updates.auto_timers": {
            "apt-daily-upgrade.timer": "enabled",
            "apt-daily.timer": "enabled",
        },
    }


def test_debian12_frozen_security_pocket_gives_an_old_lower_bound() -> None:
    facts = fixture("debian12_frozen_security_pocket")
    assert facts.errors == {}
    v = facts.values
    assert v["updates.pending"] == [
        {
            "package": name,
            "arch": "amd64",
            "installed": "3.0.19-1~deb12u2",
            "candidate": "3.0.22-1~deb12u2",
            "source": "Debian-Security:bookworm-security",
            "security": True,
            "severity": None,
            "advisory": None,
            "issued": "2026-10-01T06:00:00Z",
            "basis": "lower-bound",
            "source_package": None,
            "source_installed": None,
            "source_candidate": None,
        }
        for name in ("libssl3", "openssl")
    ]
    assert v["updates.security_count"] == 2
    assert v["updates.security_since"] == "2026-10-01T06:00:00Z"
    assert v["updates.security_age_days"] == 51.8
    assert v["updates.metadata_age_days"] == 51.8


# ------------------------------------------------------------------------------ apt, awkward


def test_security_pending_without_its_release_file_is_age_unknown() -> None:
    out = text("debian12_frozen_security_pocket")
    out = replace_block(out, "apt_releases", "@@block apt_releases\n\n@@rc 0\n")
    facts = parse(out, CASES["debian12_frozen_security_pocket"])
    assert facts.values["updates.security_count"] == 2
    # nothing bounds them: at least 0 days, which proves nothing, and says why
    assert facts.values["updates.security_age_days"] == 0.0
    assert facts.values["updates.security_age_basis"] == "lower-bound"
    assert facts.values["updates.security_since"] is None
    why = facts.basis["updates.security_age_days"]["why"]
    assert why == ("release dates of 2 pending security updates unknown ({bound}): no dated "
                   "Release file in /var/lib/apt/lists for bookworm-security")
    assert all(p["issued"] is None and p["basis"] is None
               for p in facts.values["updates.pending"])
    assert "updates.metadata_date" in facts.errors


def test_release_date_unreadable_is_age_unknown() -> None:
    out = text("debian12_frozen_security_pocket").replace(
        "Date: Thu, 01 Oct 2026 06:00:00 UTC", "Date: sometime"
    )
    facts = parse(out)
    assert facts.values["updates.security_age_days"] == 0.0
    assert "no dated Release file" in facts.basis["updates.security_age_days"]["why"]


def test_security_pocket_matched_by_label_and_suite() -> None:
    # An update from Ubuntu's security pocket (label Ubuntu, archive jammy-security): the
    # jammy-security Release dates it, not the newer jammy-updates one.
    out = (
        "@@block manager\napt\n\n@@rc 0\n"
        "@@block apt_simulate\n1 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"
        "Inst libssl3 [3.0.2-0ubuntu1.10] (3.0.2-0ubuntu1.12 Ubuntu:22.04/jammy-updates, "
        "Ubuntu:22.04/jammy-security [amd64])\n@@exit 0\n\n@@rc 0\n"
        "@@block apt_releases\n"
        "File: a_jammy-updates_InRelease\nLabel: Ubuntu\nSuite: jammy-updates\n"
        "Date: Sat, 21 Nov 2026 12:00:00 UTC\n\n"
        "File: a_jammy-security_InRelease\nLabel: Ubuntu\nSuite: jammy-security\n"
        "Date: Sun, 15 Nov 2026 00:00:00 UTC\n\n@@rc 0\n"
    )
    facts = parse(out, "2026-11-22T00:00:00Z")
    assert entry(facts, "libssl3")["security"] is True
    assert facts.values["updates.security_since"] == "2026-11-15T00:00:00Z"
    assert facts.values["updates.security_age_days"] == 7.0
    assert facts.values["updates.metadata_date"] == "2026-11-21T12:00:00Z"


def test_apt_failure_names_apts_error() -> None:
    out = replace_block(
        text("debian12_root_pending"),
        "apt_simulate",
        "@@block apt_simulate\nE: Unmet dependencies. Try 'apt --fix-broken install' with no "
        "packages (or specify a solution).\n@@exit 100\n\n@@rc 0\n",
    )
    facts = parse(out)
    for name in ("updates.pending_count", "updates.security_count", *AGE):
        assert name not in facts.values
    assert "Unmet dependencies" in facts.errors["updates.pending_count"]


def test_apt_output_cut_off_or_inconsistent() -> None:
    original = text("debian12_root_pending")
    cut = original[: original.index("@@exit 0")]  # no @@exit and no @@rc
    facts = parse(cut)
    assert "updates.pending_count" in facts.errors
    assert "updates.security_count" in facts.errors
    # One Inst line gone: the summary no longer agrees.
    first_inst = next(ln for ln in original.split("\n") if ln.startswith("Inst "))
    facts = parse(original.replace(first_inst + "\n", ""))
    assert "134 Inst lines but the summary counts 135" in facts.errors["updates.pending_count"]
    # An Inst line apt never writes.
    facts = parse(original.replace(first_inst, "Inst ???"))
    assert "unexpected line" in facts.errors["updates.pending_count"]
    # No summary line at all.
    facts = parse(re.sub(r"(?m)^\d+ upgraded.*\n", "", original))
    assert "no summary line" in facts.errors["updates.pending_count"]


def test_timers_when_systemctl_is_missing_or_cannot_tell() -> None:
    original = text("debian12_root_pending")
    missing = replace_block(
        original, "timers", "@@block timers\nsystemctl: command not found\n\n@@rc 127\n"
    )
    facts = parse(missing)
    assert "systemctl not found" in facts.errors["updates.auto_timer_enabled"]
    odd = replace_block(
        original,
        "timers",
        "@@block timers\napt-daily-upgrade.timer System has not been booted with systemd\n"
        "apt-daily.timer System has not been booted with systemd\n\n@@rc 0\n",
    )
    facts = parse(odd)
    assert "updates.auto_timer_enabled" not in facts.values
    assert "no usable state" in facts.errors["updates.auto_timer_enabled"]


def test_dpkg_query_missing_is_an_error() -> None:
    out = replace_block(
        text("debian12_patched_auto_reboot"),
        "auto_package",
        "@@block auto_package\ndpkg-query: command not found\n@@rc 127\n",
    )
    facts = parse(out)
    assert "updates.auto_configured" in facts.errors
    assert "updates.auto_tool" in facts.errors


def test_held_unattended_upgrades_counts_as_installed_removed_does_not() -> None:
    original = text("debian12_patched_auto_reboot")
    held = original.replace("install ok installed", "hold ok installed")
    assert parse(held).values["updates.auto_tool"] == "unattended-upgrades"
    removed = original.replace("install ok installed", "deinstall ok config-files")
    assert parse(removed).values["updates.auto_tool"] is None
    assert parse(removed).values["updates.auto_configured"] is False


def test_unattended_upgrades_installed_but_periodic_off() -> None:
    out = text("debian12_patched_auto_reboot").replace(
        'APT::Periodic::Unattended-Upgrade "1";', 'APT::Periodic::Unattended-Upgrade "0";'
    )
    assert parse(out).values["updates.auto_configured"] is False


# ------------------------------------------------------------------------------ dnf, written


def test_rhel9_security_pending() -> None:
    facts = fixture("rhel9_security_pending")
    assert facts.errors == {}
    v = facts.values
    assert v["updates.manager"] == "dnf"
    assert v["updates.pending_count"] == 10
    assert [p["package"] for p in v["updates.pending"]] == [
        "NetworkManager-config-server",
        "curl",
        "glibc",
        "glibc-common",
        "glibc-langpack-en",
        "kernel",
        "libcurl",
        "python3-setuptools-wheel",
        "subscription-manager-rhsm-certificates",
        "tzdata",
    ]
    assert entry(facts, "glibc") == {
        "package": "glibc",
        "arch": "x86_64",
        "installed": None,
        "candidate": "2.34-100.el9_4.2",
        "source": "baseos",
        "security": True,
        "severity": "important",
        "advisory": "RLSA-2024:3339",
        "advisories": ["RLSA-2024:3339"],
        # dnf prints the later of the advisory's issued and updated dates: a lower bound
        "issued": "2024-05-29T13:48:39Z",
        "basis": "lower-bound",
    }
    assert entry(facts, "subscription-manager-rhsm-certificates")["candidate"] == "20220623-1.el9"
    assert entry(facts, "NetworkManager-config-server")["candidate"] == "1:1.46.0-8.el9_4"
    assert entry(facts, "tzdata")["security"] is False
    assert v["updates.security_count"] == 6
    assert v["updates.security_packages"] == [
        "curl",
        "glibc",
        "glibc-common",
        "glibc-langpack-en",
        "kernel",
        "libcurl",
    ]
    assert v["updates.security_since"] == "2024-05-29T13:48:39Z"
    assert v["updates.security_age_days"] == 21.8
    assert v["updates.security_age_basis"] == "lower-bound"
    assert facts.basis["updates.security_age_days"]["why"] == (
        "release dates of 6 pending security updates unknown ({bound}): " + probe.DNF_DETAIL)
    assert v["updates.os_release"] == {"id": "rocky", "version_id": "9.4", "codename": None}
    assert v["updates.metadata_date"] == "2024-06-18T09:40:00Z"
    assert v["updates.metadata_age_days"] == 1.9
    assert v["updates.reboot_required"] is True
    assert v["updates.reboot_packages"] == ["kernel", "kernel-core"]
    assert v["updates.auto_tool"] == "dnf-automatic"
    assert v["updates.auto_configured"] is False  # apply_updates = no, install timer off
    assert v["updates.auto_timer_enabled"] is True


def test_rhel9_apply_updates_yes_is_configured() -> None:
    out = text("rhel9_security_pending").replace("apply_updates = no", "apply_updates = yes")
    assert parse(out, RHEL_AT).values["updates.auto_configured"] is True


def test_rhel9_up_to_date() -> None:
    facts = fixture("rhel9_up_to_date")
    assert facts.errors == {}
    assert facts.values == {
        "updates.manager": "dnf",
        "updates.os_release": {"id": "rocky", "version_id": "9.4", "codename": None},
        "updates.pending": [],
        "updates.pending_count": 0,
        "updates.security_count": 0,
        "updates.security_packages": [],
        "updates.security_age_days": 0.0,
        "updates.security_age_basis": None,
        "updates.security_since": None,
        "updates.metadata_date": "2024-06-18T09:40:00Z",
        "updates.metadata_age_days": 1.9,
        # the oldest metadata among the repositories that publish advisories (baseos)
        "updates.security_metadata_date": "2024-06-18T08:40:00Z",
        "updates.security_metadata_age_days": 2.0,
        "updates.reboot_required": False,
        "updates.reboot_packages": [],
        "updates.auto_tool": None,
        "updates.auto_configured": False,
        "updates.auto_timer_enabled": False,
        "updates.auto_timers": {
            "dnf-automatic.timer": "not-found",
            "dnf-automatic-install.timer": "not-found",
        },
    }


def test_rhel9_no_cache_is_an_error_never_zero_pending() -> None:
    facts = fixture("rhel9_no_cache")
    for name in (
        "updates.pending",
        "updates.pending_count",
        "updates.security_count",
        "updates.security_packages",
        *AGE,
        "updates.metadata_date",
    ):
        assert name not in facts.values, name
        assert name in facts.errors, name
    assert "Cache-only enabled but no cache" in facts.errors["updates.pending_count"]


def test_dnf5_and_other_managers_are_not_supported_yet() -> None:
    facts = fixture("fedora41_dnf5")
    assert facts.values == {"updates.manager": "dnf5"}
    assert all("not supported" in r for r in facts.errors.values())
    for manager in ("yum", "zypper", "apk"):
        facts = parse(f"@@block manager\n{manager}\n\n@@rc 0\n")
        assert facts.values == {"updates.manager": manager}
    facts = parse("@@block manager\n\n@@rc 0\n")
    assert facts.values == {"updates.manager": None}
    assert "no supported package manager" in facts.errors["updates.pending_count"]


def test_dnf_check_update_garbage() -> None:
    out = text("rhel9_security_pending").replace(
        "tzdata.noarch                          2024a-2.el9              baseos",
        "Loading mirror speeds from cached hostfile",
    )
    facts = parse(out, RHEL_AT)
    assert "updates.pending_count" in facts.errors
    assert "updates.pending" in facts.errors


def test_dnf_updateinfo_unknown_line_is_an_error() -> None:
    out = text("rhel9_security_pending").replace(
        "RLSA-2024:3501 Moderate/Sec.  curl", "RLSA-2024:3501 bugfix curl"
    )
    facts = parse(out, RHEL_AT)
    assert "unexpected line" in facts.errors["updates.security_count"]
    for name in AGE:
        assert name in facts.errors
    # pending cannot say which entries are security fixes
    assert "updates.pending" in facts.errors
    assert facts.values["updates.pending_count"] == 10


def test_needs_restarting_plugin_missing_is_not_a_reboot() -> None:
    out = replace_block(
        text("rhel9_up_to_date"),
        "needs_restarting",
        "@@block needs_restarting\nNo such command: needs-restarting. Please use /usr/bin/dnf "
        "--help\n\n@@rc 1\n",
    )
    facts = parse(out, RHEL_AT)
    assert "updates.reboot_required" not in facts.values
    assert "updates.reboot_required" in facts.errors


def test_advisory_dates_missing_is_age_unknown() -> None:
    out = replace_block(
        text("rhel9_security_pending"),
        "dnf_security_info",
        "@@block dnf_security_info\n@@exit 0\n\n@@rc 0\n",
    )
    facts = parse(out, RHEL_AT)
    assert facts.values["updates.security_count"] == 6
    assert facts.values["updates.security_age_days"] == 0.0
    assert "dnf gave no date for RLSA-2024:3339, RLSA-2024:3501, RLSA-2024:3619" in (
        facts.basis["updates.security_age_days"]["why"])


# ------------------------------------------------------------------------------ all


@pytest.mark.parametrize(
    "stdout",
    ["", "garbage\nmore garbage\n", "@@block manager\napt\n", "\x00\xff@@rc 1\n"],
)
def test_empty_garbage_or_cut_output_gives_only_errors(stdout: str) -> None:
    facts = parse(stdout)
    assert facts.values == {}
    assert set(facts.errors) == set(probe.PROVIDES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_truncation_never_changes_a_value(case: str) -> None:
    full_text = text(case)
    full = parse(full_text, CASES[case]).values
    lines = full_text.split("\n")
    step = max(1, len(lines) // 60)
    for i in range(0, len(lines), step):
        cut = parse("\n".join(lines[:i]), CASES[case])
        for name, value in cut.values.items():
            assert full[name] == value, (case, i, name)


def test_fact_names() -> None:
    assert all(re.fullmatch(r"updates\.[a-z0-9_]+", n) for n in probe.PROVIDES)
    for case in CASES:
        facts = fixture(case)
        assert set(facts.values) | set(facts.errors) <= set(probe.PROVIDES)
        assert set(facts.values) | set(facts.errors) == set(probe.PROVIDES)


def test_script_is_posix_sh_read_only_and_passes_shellcheck() -> None:
    script = SCRIPT.read_text()
    assert script.startswith("# undone section posix.updates:")
    assert "Privilege:" in script[:1500]
    for forbidden in ("apt-get update", "makecache", "mktemp", "tee ", "touch ", "rm "):
        assert forbidden not in script, forbidden
    assert "Debug::NoLocking=true" in script
    assert "Dir::Cache::pkgcache=" in script
    assert "Dir::Log::Planner= " in script  # else root's apt rewrites /var/log/apt/eipp.log.xz
    code = [ln for ln in script.split("\n") if not ln.lstrip().startswith("#")]
    dnf_calls = [ln for ln in code if re.search(r"\bdnf (?!5)", ln) and "command -v" not in ln]
    assert dnf_calls
    assert all(" dnf -C " in ln for ln in dnf_calls), dnf_calls
    subprocess.run(["sh", "-n", str(SCRIPT)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    subprocess.run(["shellcheck", "-s", "sh", str(SCRIPT)], check=True)


# ------------------------------------------------------------------------------ sources, dating


def test_debian12_sources_and_release_for_the_advisories() -> None:
    """Captured with the script that asks dpkg for source packages (2026-12-07, root)."""
    facts = fixture("debian12_root_sources")
    assert facts.errors == {}
    v = facts.values
    assert v["updates.os_release"] == {"id": "debian", "version_id": "12", "codename": "bookworm"}
    assert (v["updates.pending_count"], v["updates.security_count"]) == (134, 92)
    rsvg = entry(facts, "librsvg2-2")
    assert (rsvg["source_package"], rsvg["source_installed"], rsvg["source_candidate"]) == (
        "librsvg", "2.54.7+dfsg-1~deb12u1", "2.54.7+dfsg-1~deb12u2")
    assert (rsvg["issued"], rsvg["basis"]) == ("2026-12-05T03:33:28Z", "lower-bound")
    # a binNMU (+b8): the source version is the binary's without it, and so is the candidate's
    bash = entry(facts, "bash")
    assert (bash["installed"], bash["source_installed"], bash["source_candidate"]) == (
        "5.2.15-2+b8", "5.2.15-2", "5.2.15-2")
    assert bash["security"] is False and bash["basis"] is None
    # a package whose binary and source versions differ otherwise: the candidate's source
    # version cannot be told, so no advisory range is claimed for it
    assert all(p["source_package"] for p in v["updates.pending"] if p["installed"])
    assert v["updates.security_age_days"] == 2.3
    assert facts.basis["updates.security_age_days"]["basis"] == "lower-bound"
    # apt's simulation and dpkg-query need no privilege: nobody's output is the same
    assert text("debian12_nobody_sources") == text("debian12_root_sources")


def test_public_inst_lines_from_checkmk() -> None:
    """Inst lines recorded by Checkmk's tests (Debian 9 and 10, Ubuntu 16.04 ESM): a trailing
    ``[]``, a security pocket named only by its label, ESM pockets, a new kernel package."""
    facts = fixture("checkmk_inst_lines")
    v = facts.values
    assert v["updates.pending_count"] == 11
    assert v["updates.security_packages"] == [
        "bind9-host", "libapt-pkg5.0", "libexpat1", "librsvg2-2", "linux-image-4.19.0-19-amd64",
        "linux-image-amd64", "tzdata"]
    assert entry(facts, "default-jre")["security"] is False  # "... [amd64]) []"
    assert entry(facts, "bind9-host")["source"] == "UbuntuESM:16.04/xenial-infra-security"
    new_kernel = entry(facts, "linux-image-4.19.0-19-amd64")
    assert new_kernel["installed"] is None and new_kernel["source_package"] is None
    assert entry(facts, "librsvg2-2")["source_candidate"] == "2.40.21-0+deb9u1"
    assert "updates.os_release" in facts.errors  # nothing names the release here
    why = facts.basis["updates.security_age_days"]["why"]
    assert why.startswith("release dates of 7 pending security updates unknown ({bound})")


def test_apt3_summary_line() -> None:
    out = text("debian12_frozen_security_pocket").replace(
        "2 upgraded, 0 newly installed, 3 to remove and 0 not upgraded.",
        "  Upgrading: 2, Installing: 0, Removing: 3, Not Upgrading: 0")
    facts = parse(out, CASES["debian12_frozen_security_pocket"])
    assert facts.values["updates.pending_count"] == 2


def test_dnf_several_advisories_for_one_package_keep_them_all() -> None:
    """RHEL 9.1 (public session, SOURCE.md): the kernel in four advisories, curl in two. The
    entry keeps every advisory, the highest severity, and is dated by the oldest advisory."""
    facts = fixture("rhel91_kernel_advisories")
    assert facts.errors == {}
    kernel = entry(facts, "kernel")
    assert kernel["advisories"] == ["RHSA-2022:8267", "RHSA-2023:0334", "RHSA-2023:0951",
                                    "RHSA-2023:1470"]
    assert kernel["severity"] == "important"  # not the last line's, the highest
    assert (kernel["advisory"], kernel["issued"]) == ("RHSA-2022:8267", "2022-11-15T11:36:57Z")
    curl = entry(facts, "curl")
    assert curl["advisories"] == ["RHSA-2022:8299", "RHSA-2023:0333"]
    assert curl["severity"] == "moderate"
    v = facts.values
    assert v["updates.security_count"] == 5
    assert v["updates.security_since"] == "2022-11-15T11:36:57Z"
    assert v["updates.security_age_basis"] == "lower-bound"


def test_dnf_warnings_are_never_data() -> None:
    """dnf's warnings go to their own block; one that reaches standard output anyway (the
    subscription-manager plugin's notice) is skipped, not read as a package."""
    facts = fixture("rhel91_kernel_advisories")
    assert facts.values["updates.pending_count"] == 5
    out = text("rhel91_kernel_advisories").replace(
        "@@block dnf_security_list\n",
        "@@block dnf_security_list\nUpdating Subscription Management repositories.\n")
    assert parse(out, CASES["rhel91_kernel_advisories"]).values == facts.values
    # and an error dnf wrote to standard error names the reason
    failed = replace_block(out, "dnf_check_update",
                           "@@block dnf_check_update\n@@exit 1\n\n@@rc 0\n")
    failed = replace_block(failed, "dnf_check_update_stderr",
                           "@@block dnf_check_update_stderr\nError: Failed to download "
                           "metadata for repo 'baseos'\n\n@@rc 0\n")
    f2 = parse(failed, CASES["rhel91_kernel_advisories"])
    assert f2.errors["updates.pending_count"] == (
        "dnf check-update: Error: Failed to download metadata for repo 'baseos'")


HOSTILE = [" ", "-", "[", "|", ":", "(", "]", "@"]


@pytest.mark.parametrize("ch", HOSTILE)
def test_worst_input_at_the_section_cap_parses_in_linear_time(ch: str) -> None:
    """2 MiB (the section cap) of one character in each block that is parsed line by line, as
    one line and as many: under a second each."""
    run = ch * (2 << 20)
    lines = (ch * 64 + "\n") * ((2 << 20) // 65)
    for name, prefix in (("apt_simulate", "Inst a " + "["), ("apt_sources", ""),
                         ("apt_releases", "File: x\nDate: "), ("os_release", "ID=")):
        for body in (prefix + run, prefix + lines):
            out = replace_block(text("debian12_root_sources"), name,
                                f"@@block {name}\n{body}\n@@exit 0\n@@rc 0\n")
            t0 = time.perf_counter()
            parse(out, CASES["debian12_root_sources"])
            assert time.perf_counter() - t0 < 1.0, (name, ch)
    for name in ("dnf_check_update", "dnf_security_list", "dnf_security_info"):
        for body in ("RHSA-1 Important/Sec. " + run, "x.x86_64 " + run, lines):
            out = replace_block(text("rhel91_kernel_advisories"), name,
                                f"@@block {name}\n{body}\n@@exit 100\n\n@@rc 0\n")
            t0 = time.perf_counter()
            parse(out, CASES["rhel91_kernel_advisories"])
            assert time.perf_counter() - t0 < 1.0, (name, ch)
