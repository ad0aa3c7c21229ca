"""posix.updates and windows.updates on real outputs from public sources (issue 13 §3, follow-up):
other projects' test data and vendor documentation, framed as each section frames them
(tests/fixtures/posix/updates/SOURCE.md and tests/fixtures/windows/SOURCE.md, "Public
outputs"). Each test asserts what a person reading the output sees, and that what the source does
not show stays an error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from probes.base import Facts, RawSection
from probes.posix import updates as probe
from tests.unit.probes._win import doc, parse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "posix" / "updates"
NOT_SHOWN = "not shown in the public output"


def _posix(name: str, collected_at: str) -> Facts:
    stdout = (FIXTURES / f"{name}.out").read_text(encoding="utf-8")
    at = datetime.fromisoformat(collected_at).replace(tzinfo=UTC)
    return probe.parse(RawSection("posix.updates", stdout, collected_at=at))


def _win(name: str) -> Facts:
    at = datetime.fromisoformat(doc("updates", name)["collected_at"].replace("Z", "+00:00"))
    return parse("updates", name, at=at)


# ------------------------------------------------------------------------------- posix.updates


def test_debian6_simulation_from_monitoring_plugins() -> None:
    """monitoring-plugins' check_apt input "debian2": Debian 6.0.6, 13 upgrades from the point
    release, none from a security pocket."""
    f = _posix("public_monplug_debian6_upgrade", "2012-10-01T00:00:00")
    v = f.values
    assert v["updates.manager"] == "apt"
    assert v["updates.pending_count"] == 13
    # no pocket is a security one and no Release file shows one exists: "0 security fixes"
    # would be a guess (test_updates_security_unknown.py), so the count is an error
    assert "security repository" in f.errors["updates.security_count"]
    assert "updates.security_packages" in f.errors
    pending = {p["package"]: p for p in v["updates.pending"]}
    assert pending["linux-image-2.6.32-5-xen-amd64"]["installed"] == "2.6.32-45"
    assert pending["linux-image-2.6.32-5-xen-amd64"]["candidate"] == "2.6.32-46"
    assert pending["locales"]["arch"] == "all"
    assert pending["libc-bin"]["source"] == "Debian:6.0.6/stable"
    assert {p["security"] for p in pending.values()} == {None}
    # no package lists, no dpkg database in the source: nothing made up from them
    assert all(p["source_package"] is None for p in pending.values())
    assert "no dated Release file" in f.errors["updates.metadata_date"]
    assert "updates.reboot_required" in f.errors and "updates.auto_tool" in f.errors


def test_ubuntu1204_simulation_cut_before_its_summary_is_an_error() -> None:
    """check_apt's "ubuntu2": 25 Inst lines, 14 from precise-security, but the capture kept no
    summary line ("N upgraded, ..."), so nothing proves the list is whole: never a count."""
    f = _posix("public_monplug_ubuntu1204_no_summary", "2012-10-01T00:00:00")
    for name in ("updates.pending_count", "updates.security_count", "updates.pending",
                 "updates.security_age_days"):
        assert name not in f.values
        assert "no summary line" in f.errors[name]


def test_amazon_linux_2023_livepatch_advisories() -> None:
    """AWS's AL2023 guide, `dnf updateinfo list`: two kernel live patch advisories (severity in
    lower case) for one package in two versions; "Last metadata expiration check" is noise."""
    f = _posix("public_al2023_livepatch_updateinfo", "2023-02-14T00:00:00")
    v = f.values
    assert v["updates.manager"] == "dnf"
    assert v["updates.security_count"] == 1
    assert v["updates.security_packages"] == ["kernel-livepatch-6.1.12-17.42"]
    # dnf check-update and updateinfo info are not in the source: no count of all pending
    # updates and no age, each saying why
    assert "dnf check-update" in f.errors["updates.pending_count"]
    assert f.errors["updates.security_age_days"].startswith("age unknown: dnf updateinfo info")
    assert "release not known" in f.errors["updates.os_release"]


# ----------------------------------------------------------------------------- windows.updates


def test_pswindowsupdate_wsus_client_notify_only() -> None:
    """PSWindowsUpdate's Get-WUSettings -Registry example (computer G1): a WSUS server, and
    AUOptions 2 ("Notify before download"): updates are not installed by themselves."""
    f = _win("public_pswu_g1_wsus_notify")
    v = f.values
    assert v["updates.auto_tool"] == "wsus"
    assert v["updates.auto_configured"] is False
    assert v["updates.auto_detail"] == "policy AUOptions=2: notify before download"
    assert NOT_SHOWN in f.errors["updates.paused_until"]
    for name in ("updates.pending_count", "updates.security_age_days", "updates.metadata_date",
                 "updates.reboot_required", "updates.auto_timer_enabled"):
        assert NOT_SHOWN in f.errors[name], name


def test_wsus_client_setting_examples() -> None:
    """Get-ClientWSUSSetting's help (Boe Prox): TestServer and Server1 both on a WSUS server with
    AUOptions 3 (download, notify before installing); Server1 also denies Windows Update access."""
    for name in ("public_wsusclient_testserver_auoptions3",
                 "public_wsusclient_server1_no_wu_access"):
        f = _win(name)
        assert f.values["updates.auto_tool"] == "wsus", name
        assert f.values["updates.auto_configured"] is False, name
        assert f.values["updates.auto_detail"] == (
            "policy AUOptions=3: download automatically, notify before installing"), name
        assert NOT_SHOWN in f.errors["updates.pending"], name


def test_agent_results_of_two_machines() -> None:
    """Microsoft.Update.AutoUpdate's Results as a German notes file shows it (17.08.2019, d.M.y)
    and as a PowerShell module's example shows it (2/24/2022 12:24:28 PM): the last successful
    search dates the machine's view of available updates."""
    de = _win("public_de_autoupdate_results")
    assert de.values["updates.metadata_date"] == "2019-08-17T08:20:09Z"
    assert de.values["updates.metadata_age_days"] == 2.7
    kp = _win("public_kpbsd_autoupdate_last_results")
    assert kp.values["updates.metadata_date"] == "2022-02-24T12:24:28Z"
    assert kp.values["updates.metadata_age_days"] == 0.5
    for f in (de, kp):
        # no policy in these sources: WSUS or Windows Update is not guessed
        assert "updates.auto_tool" not in f.values
        assert NOT_SHOWN in f.errors["updates.auto_tool"]
        assert NOT_SHOWN in f.errors["updates.auto_configured"]


def test_windows_update_service_set_to_manual() -> None:
    """An Under The Wire write-up's Win32_Service wuauserv on UTW: StartMode Manual (stopped, as
    the service is between scans): not disabled, so the agent can run."""
    f = _win("public_utw_wuauserv_manual_stopped")
    assert f.values["updates.auto_timers"] == {"wuauserv": "Manual"}
    assert f.values["updates.auto_timer_enabled"] is True
    assert NOT_SHOWN in f.errors["updates.metadata_date"]
