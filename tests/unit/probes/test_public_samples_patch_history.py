"""posix.patch_history on real package histories from public sources (issue 13 §3, follow-up):
other projects' test data and logs quoted in forums and documentation, run through the section's
own script or framed as it frames them (tests/fixtures/posix/patch_history/SOURCE.md, "Public
outputs"). Each test asserts what a person reading the log sees in it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from probes.base import Facts, RawSection
from probes.posix import patch_history as probe

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "posix" / "patch_history"


def _parse(name: str, collected_at: datetime) -> Facts:
    stdout = (FIXTURES / f"{name}.out").read_text(encoding="utf-8")
    return probe.parse(RawSection("posix.patch_history", stdout, collected_at=collected_at))


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_ubuntu_unattended_upgrades_from_dissect() -> None:
    """fox-it/dissect.target's history.log (Ubuntu 20.04): three unattended-upgrade runs (curl
    twice, the kernel meta packages with five new kernel packages) and one manual install."""
    f = _parse("public_dissect_ubuntu2004_apt_history", _at("2022-09-22T00:00:00"))
    v = f.values
    assert v["patch.source"] == "apt-history"
    assert v["patch.history_since"] == "2022-09-02T06:36:31Z"
    # the kernel run starts 2022-09-07 07:48:28 (its End-Date says 09-21: the start counts)
    assert v["patch.last_upgrade_at"] == "2022-09-07T07:48:28Z"
    assert v["patch.last_install_at"] == "2022-09-07T07:48:28Z"
    assert v["patch.days_since_last_upgrade"] == 14.7
    assert v["patch.runs_30d"] == 3
    recent = v["patch.recent"]
    assert [(r["upgraded"], r["installed"], r["counted"]) for r in recent] == [
        (3, 5, True), (0, 7, False), (1, 0, True), (2, 0, True)]
    assert recent[1]["command"] == "apt-get install python3.9-dev"
    assert recent[1]["why"] == "installed new packages only: not an upgrade"
    # every upgraded package with its old and new version, kept for the advisory match
    runs = {r["at"]: r["packages"] for r in v["patch.upgrades"]}
    assert [p[0] for p in runs["2022-09-07T07:48:28Z"]] == [
        "linux-headers-generic", "linux-image-generic", "linux-generic"]
    assert runs["2022-09-02T06:36:31Z"][0] == [
        "libcurl4", "curl", "7.68.0-1ubuntu2.12", "7.68.0-1ubuntu2.13"]
    # without the catalogue no run is called a security run, nor the opposite
    assert "advisory catalogue" in f.errors["patch.security_runs_30d"]


def test_debian9_cloud_image_history_from_plaso() -> None:
    """log2timeline/plaso's apt_history.log (a Debian 9 cloud image): one upgrade of 8 packages
    (OpenSSL, BIND libraries, vim), then installs, a docker install that ended in a dpkg error,
    removals, a purge and an autoremove."""
    f = _parse("public_plaso_debian9_apt_history", _at("2019-07-13T00:00:00"))
    v = f.values
    assert v["patch.last_upgrade_at"] == "2019-07-10T16:38:08Z"
    assert v["patch.runs_30d"] == 1 and v["patch.days_since_last_upgrade"] == 2.3
    # the last run that brought software is the build-dep install; the failed docker install
    # (earlier anyway) is not counted as one
    assert v["patch.last_install_at"] == "2019-07-12T04:16:39Z"
    recent = {r["command"]: r for r in v["patch.recent"]}
    assert len(recent) == 10
    docker = recent["apt-get install -y docker-ce docker-ce-cli containerd.io"]
    assert docker["counted"] is False and docker["installed"] == 14
    assert "Sub-process /usr/bin/dpkg returned an error code (1)" in docker["why"]
    assert recent["apt-get autoremove"]["removed"] == 6
    assert recent["apt-get autoremove"]["why"] == "removed packages only: not an upgrade"
    assert recent["apt-get purge python-pytest"]["removed"] == 1
    upgrade = v["patch.upgrades"][0]["packages"]
    assert len(upgrade) == 8
    assert ["libssl1.1", None, "1.1.0j-1~deb9u1", "1.1.0k-1~deb9u1"] in upgrade
    # vim-common's source package is vim (dpkg-query on the capture machine knew it)
    assert ["vim-common", "vim", "2:8.0.0197-4+deb9u1", "2:8.0.0197-4+deb9u3"] in upgrade


def test_ubuntu1204_dpkg_log_from_a_forum_post() -> None:
    """A forum post's /var/log/dpkg.log (Ubuntu 12.04, 2013-02-22): OpenSSL in one dpkg session,
    then the kernel, OpenJDK and OpenSSL again in the next second's session: one apt run."""
    f = _parse("public_forum_ubuntu1204_dpkg_log", _at("2013-02-24T00:00:00"))
    v = f.values
    assert v["patch.source"] == "dpkg-log"
    assert v["patch.last_upgrade_at"] == "2013-02-22T11:52:49Z"
    [run] = v["patch.recent"]
    assert run["upgraded"] == 12 and run["installed"] == 0 and run["counted"] is True
    # runs are grouped from sessions by time: a count, but an estimate, and it says so
    assert v["patch.runs_30d"] == 1 and f.basis["patch.runs_30d"]["basis"] == "estimate"
    assert "does not list the upgraded packages" in f.errors["patch.upgrades"]
    assert "does not say which upgrades were security" in f.errors["patch.security_runs_365d"]


def test_rhel9_dnf_history_without_an_upgrade() -> None:
    """A RHEL 9 course's `dnf history`: the kickstart install (D, I), httpd and a package group:
    installs only, so there is no patch run to date."""
    f = _parse("public_rhel9_dnf_history_lab", _at("2024-02-20T00:00:00"))
    v = f.values
    assert v["patch.source"] == "dnf-history"
    assert v["patch.history_since"] == "2022-05-18T07:12:00Z"
    assert v["patch.last_install_at"] == "2024-02-18T08:32:00Z"
    assert v["patch.last_upgrade_at"] is None
    assert v["patch.runs_30d"] == v["patch.runs_365d"] == 0
    assert f.errors["patch.days_since_last_upgrade"] == "no upgrade in the readable package history"
    assert [r["command"] for r in v["patch.recent"]] == [
        "group install RPM Development Tools -y", "install httpd -y",
        "-y install @base firewalld vim-enhanced gpm xkeyboard"]
    assert all(r["counted"] is False and r["upgraded"] is None for r in v["patch.recent"])


def test_fedora36_wide_dnf_history_with_marks() -> None:
    """tldr-pages/tldr#8220's `dnf --reverse history` on Fedora: a command column widened to the
    terminal, oldest first, the marks "E<" and ">" after the counts."""
    f = _parse("public_fedora36_dnf_history_tldr", _at("2022-02-03T00:00:00"))
    v = f.values
    assert v["patch.last_install_at"] == "2022-02-02T13:23:00Z"
    assert v["patch.history_since"] == "2022-01-31T11:06:00Z"
    assert v["patch.last_upgrade_at"] is None and v["patch.runs_90d"] == 0
    commands = [r["command"] for r in v["patch.recent"]]
    assert commands[0] == (
        "install https://download1.rpmfusion.org/nonfree/fedora/rpmfusion-nonfree-release-36"
        ".noarch.rpm")
    assert commands[-1] == "install chrome"
    # "E<" (output, rpmdb changed before) is not a failure mark: the install counts as an install
    assert v["patch.recent"][-1]["why"] == "installed new packages only: not an upgrade"
