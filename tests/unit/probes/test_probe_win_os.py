"""windows.os on recorded outputs (tests/fixtures/windows/os, see SOURCE.md), and the lifecycle
of Windows builds: edition suffixes, LTSC, servers by name, Windows 10 after October 2025."""

from __future__ import annotations

from datetime import UTC, datetime

from scanner.lifecycle import catalogue as lifecycle
from tests.unit.probes._win import AT, parse


def test_windows_11_pro() -> None:
    f = parse("os", "win11_pro_23h2")
    v = f.values
    assert v["os.family"] == "windows" and v["os.id"] == "windows"
    assert v["os.name"] == "Microsoft Windows 11 Pro"  # the registry still says Windows 10
    assert (v["os.build"], v["os.ubr"], v["os.build_full"]) == (22631, 4460, "22631.4460")
    assert v["os.edition"] == "Professional" and v["os.version_id"] == "23H2"
    assert v["os.product_type"] == "workstation" and v["os.domain"] == "corp.example.org"
    assert v["os.boot_time"] == "2026-11-20T06:01:13Z" and v["os.uptime_days"] == 1.77
    assert v["os.install_date"] == "2024-01-10T09:12:44Z"
    assert v["os.privileged"] is True and v["os.arch"] == "x86_64"
    assert v["os.esu_licensed"] is False
    assert not f.errors


def test_windows_11_pro_23h2_is_past_its_end_of_life() -> None:
    f = parse("os", "win11_pro_23h2")
    out, _ = lifecycle.enrich_os(f.values, AT, lifecycle.load_catalogue(), 400)
    assert out["os.lifecycle_cycle"] == "11-23h2-w"
    assert out["os.eol_date"] == "2025-11-11" and out["os.supported"] is False


def test_windows_10_after_october_2025_only_with_esu() -> None:
    cat = lifecycle.load_catalogue()
    esu = parse("os", "win10_22h2_esu").values
    out, _ = lifecycle.enrich_os(esu, AT, cat, 400)
    assert out["os.lifecycle_cycle"] == "10-22h2" and out["os.supported"] is False
    assert out["os.extended_support"] is True and esu["os.esu_licensed"] is True
    plain = parse("os", "win10_22h2_pro_de_noesu").values
    out2, _ = lifecycle.enrich_os(plain, AT, cat, 400)
    assert out2["os.extended_support"] is True  # ESU is on offer ...
    assert plain["os.esu_licensed"] is False  # ... but this device has none
    before = datetime(2025, 10, 1, tzinfo=UTC)
    assert lifecycle.enrich_os(plain, before, cat, 400)[0]["os.supported"] is True


def test_server_2022_domain_controller() -> None:
    v = parse("os", "server2022_dc").values
    assert v["os.id"] == "windows-server" and v["os.product_type"] == "domain-controller"
    out, _ = lifecycle.enrich_os(v, AT, lifecycle.load_catalogue(), 400)
    assert (out["os.lifecycle_product"], out["os.lifecycle_cycle"]) == ("windows-server", "2022")
    assert out["os.supported"] is True


def test_cim_denied_is_an_error_never_a_guess() -> None:
    f = parse("os", "server2012r2_cim_denied")
    assert f.values["os.build"] == 9600 and f.values["os.privileged"] is False
    for name in ("os.id", "os.name", "os.boot_time", "os.esu_licensed", "os.domain"):
        assert "Access denied" in f.errors[name]
    _, errs = lifecycle.enrich_os(f.values, AT, lifecycle.load_catalogue(), 400)
    assert "os.supported" in errs


def test_windows_build_mapping() -> None:
    cat = lifecycle.load_catalogue()
    cases = [
        (19045, "Professional", False, None, "10-22h2"),
        (22631, "Enterprise", False, None, "11-23h2-e"),
        (22631, "Education", False, None, "11-23h2-e"),
        (26100, "Core", False, None, "11-24h2-w"),
        (26100, "EnterpriseS", False, None, "11-24h2-e-lts"),
        (19044, "IoTEnterpriseS", False, None, "10-21h2-iot-lts"),
        (17763, "EnterpriseS", False, None, "10-1809-e-lts"),
        (20348, "ServerDatacenter", True, "Microsoft Windows Server 2022 Datacenter", "2022"),
        (17763, "ServerStandard", True, "Microsoft Windows Server 2019 Standard", "2019"),
        (17763, "ServerDatacenter", True, "Microsoft Windows Server Datacenter", "1809-sac"),
        (9600, "ServerStandard", True, "Microsoft Windows Server 2012 R2 Standard", "2012-r2"),
        (26100, "ServerStandard", True, "Microsoft Windows Server 2025 Standard", "2025"),
    ]
    for build, edition, server, name, cycle in cases:
        r = cat.windows_release(build, edition, server, name)
        assert r is not None and r.cycle == cycle, (build, edition, r)
    assert cat.windows_release(99999, "Professional", False) is None


def test_unknown_build_is_an_error() -> None:
    v = dict(parse("os", "win11_pro_23h2").values)
    v["os.build"] = 27999
    _, errs = lifecycle.enrich_os(v, AT, lifecycle.load_catalogue(), 400)
    assert "not in the lifecycle catalogue" in errs["os.supported"]
