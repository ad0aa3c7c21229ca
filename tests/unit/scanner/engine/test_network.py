"""scanner/engine/network.py and its transports without a network: the scope that refuses targets, nmap's
arguments, device records from recorded answers, the lifecycle lookup and refresh, and the
``undone lifecycle`` command. (The real thing runs in tests/integration/test_network_estate.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scanner import inventory
from scanner.engine import network
from scanner.engine.collect import collect_host
from scanner.engine.options import Options
from scanner.engine.transports import nmap as nmap_transport
from scanner.engine.transports import snmp as snmp_transport
from scanner.errors import AuthError, UsageError
from scanner.inventory import Host
from scanner.lifecycle import build as lifecycle_build
from scanner.lifecycle import catalogue as lifecycle
from scanner.lifecycle import catalogue_refresh as lifecycle_catalogue_refresh
from scanner.lifecycle import firmware as lifecycle_firmware
from scanner.lifecycle import handkept as lifecycle_handkept
from scanner.lifecycle import model as lifecycle_model

ROOT = Path(__file__).parents[4]
FIX = ROOT / "tests" / "fixtures"
SHARED = Path(os.environ.get("UNDONE_SHARED_DATA") or ROOT.parent / "shared" / "data")


def inv(**extra: Any) -> inventory.Inventory:
    data: dict[str, Any] = {"all": {"hosts": {
        "web01": {"address": "192.0.2.10"},
        "sw01": {"address": "198.51.100.7", "transport": "snmp", "community_env": "SW_COMM"},
    }}, "networks": [
        {"name": "lan", "cidr": "192.0.2.0/24"},
        {"name": "dmz", "cidr": "203.0.113.0/28", "internet_facing": True, "rate": 200,
         "allowed_ports": [{"port": "443/tcp", "reason": "web site"}], "ports": ["8081/tcp"],
         "service_versions": True},
    ]}
    data.update(extra)
    return inventory.parse(data, "inv.yaml")


# -- scope ----------------------------------------------------------------------------------------


def test_scope_allows_declared_networks_and_listed_hosts_only() -> None:
    scope = network.Scope(inv())
    for ok in ("192.0.2.0/24", "192.0.2.128/25", "192.0.2.99", "203.0.113.5", "198.51.100.7"):
        scope.check(ok)
    for bad in ("192.0.3.1", "192.0.2.0/23", "10.0.0.0/8", "198.51.100.8", "2001:db8::1",
                "example.org"):
        with pytest.raises(UsageError, match="refused to scan"):
            scope.check(bad)


def test_nmap_refuses_before_running_anything() -> None:
    scope = network.Scope(inv())
    with pytest.raises(UsageError, match="outside every declared network"):
        nmap_transport.run("192.0.3.0/24", {"name": "x", "cidr": "192.0.3.0/24"}, scope.check,
                           nmap_path=("/nonexistent/nmap",))


# -- nmap arguments -------------------------------------------------------------------------------


def test_nmap_arguments_root_and_unprivileged() -> None:
    dmz = inv().networks[1]
    args, ports, scanned, udp = nmap_transport.arguments(dmz, True, 300)
    assert args[:3] == ["-n", "-sS", "-sU"]
    assert "--max-rate" in args and args[args.index("--max-rate") + 1] == "200"
    assert "-sV" in args
    assert ports.startswith("T:21,22,23,") and ports.endswith(",U:161")
    assert "8081/tcp" in scanned and "443/tcp" in scanned and "161/udp" in scanned and udp
    args, ports, scanned, udp = nmap_transport.arguments(dmz, False, 300)
    assert args[:2] == ["-n", "-sT"] and "-sU" not in args and "U:" not in ports and not udp
    for port in ("22", "23", "80", "443", "8443", "4444", "10443", "8291", "8728", "8729"):
        assert f"{port}/tcp" in scanned


def test_nmap_missing_is_an_error_not_a_crash() -> None:
    net = inv().networks[0]
    run = nmap_transport.run(net["cidr"], net, network.Scope(inv()).check,
                             nmap_path=("/nonexistent/nmap",))
    assert run.error is not None and "not installed" in run.error and run.xml == ""


def test_scan_network_record_when_nmap_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    i = inv()

    def fake_run(target: str, net: dict[str, Any], allowed: Any, timeout: float,
                 priv: bool | None, **_: Any) -> nmap_transport.Run:
        allowed(target)
        return nmap_transport.Run(target=target, args=["nmap", "-n"], error="nmap is not "
                                  "installed on the scanner (apt install nmap)")

    monkeypatch.setattr(nmap_transport, "run", fake_run)
    rec = network.scan_network(i.networks[0], i, Options())
    assert rec["name"] == "network:lan" and rec["platform"] == "segment"
    assert rec["reachable"] is False and "not installed" in rec["error"]
    assert rec["sections"]["net.nmap"]["status"] == "error"
    assert "not installed" in rec["fact_errors"]["network.unmanaged_count"]


def test_scan_networks_only_when_a_rule_needs_them() -> None:
    from scanner.rules import baselines

    rules = [r for b in baselines.load() for r in b.rules]
    assert network.wanted(rules)
    no_net = [r for r in rules if "net.nmap" not in r.requires]
    assert network.scan_networks(inv(), no_net, Options()) == []
    assert network.scan_networks(inventory.parse({"all": {"hosts": {"a": None}}}, "i"), rules,
                                 Options()) == []


def test_scan_network_from_a_recorded_report(monkeypatch: pytest.MonkeyPatch) -> None:
    stem = FIX / "net" / "nmap" / "estate_dmz_root"
    cfg = json.loads(stem.with_suffix(".config.json").read_text())
    i = inventory.parse({"all": {"hosts": {"gw01": {"address": "10.213.1.254"}}},
                         "networks": [{"name": "dmz", "cidr": "10.213.1.254/32",
                                       "internet_facing": True, "allowed_ports": [
                                           {"port": "443/tcp", "reason": "public web site"}]}]},
                        "inv")

    def fake_run(target: str, net: dict[str, Any], allowed: Any, timeout: float,
                 priv: bool | None, **_: Any) -> nmap_transport.Run:
        allowed(target)
        return nmap_transport.Run(target=target, args=["nmap"], xml=stem.with_suffix(
            ".out").read_text(), privileged=True, udp_scanned=True,
            ports_scanned=cfg["ports_scanned"])

    monkeypatch.setattr(nmap_transport, "run", fake_run)
    rec = network.scan_network(i.networks[0], i, Options())
    assert rec["reachable"] and rec["facts"]["exposure.unexpected"]
    assert rec["sections"]["scanner.connection"]["status"] == "ok"
    assert rec["facts"]["connection.transport"] == "nmap"
    assert rec["network"]["internet_facing"] is True


def test_local_addresses_include_loopback() -> None:
    assert "127.0.0.1" in network.local_addresses()


# -- network devices ------------------------------------------------------------------------------


def _snmp_result(stem: str, community: str | None) -> snmp_transport.Result:
    system = (FIX / "snmp" / "system" / f"{stem}.out").read_text()
    comm = None if community is None else (FIX / "snmp" / "community" / f"{community}.out"
                                           ).read_text()
    return snmp_transport.Result(system, comm, True, None, None,
                                 {"transport": "snmp", "version": "2c"})


def _device(**kw: Any) -> Host:
    base: dict[str, Any] = {"name": "rtr", "address": "192.0.2.44", "transport": "snmp",
                            "port": 161, "platform": "network", "community_env": "C",
                            "snmp_version": "2c"}
    base.update(kw)
    return Host(**base)


def test_collect_device_over_snmp(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []

    def fake_query(host: Host, opts: Any, probe: bool, secret: Any,
                   sections: Any = None) -> snmp_transport.Result:
        calls.append(probe)
        return _snmp_result("routeros_6_40_7", "public_accepted")

    monkeypatch.setattr(snmp_transport, "query", fake_query)
    rec = collect_host(_device(), [], Options())  # the engine's entry point dispatches here
    assert calls == [True]
    assert rec["reachable"] and rec["platform"] == "network"
    assert set(rec["sections"]) == {"scanner.connection", "snmp.system", "snmp.community",
                                    "net.firmware"}
    f = rec["facts"]
    assert (f["firmware.product"], f["firmware.version"], f["firmware.supported"]) == (
        "routeros", "6.40.7", False)
    assert f["snmp.default_communities"] == ["public"]
    assert f["connection.transport"] == "snmp"
    evidence = json.loads(rec["sections"]["net.firmware"]["stdout"])
    assert evidence["catalogue"]["snapshot_date"] == "2026-08-22"


def test_collect_device_probe_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snmp_transport, "query",
                        lambda host, opts, probe, secret, sections=None: _snmp_result(
                            "cisco_ios_c2960", None))
    rec = network.collect_device(_device(check_default_community=False), Options())
    assert rec["facts"]["snmp.default_community_checked"] is False
    assert "cisco-ios is not in the lifecycle catalogue" in rec["fact_errors"][
        "firmware.supported"]


def test_collect_device_that_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    why = "no SNMP answer from 192.0.2.44:161 within 2s x 2 tries (...)"
    monkeypatch.setattr(snmp_transport, "query", lambda host, opts, probe, secret, sections=None: (
        snmp_transport.Result("@@block system\n" + why + "\n@@rc 1\n", None, False, why,
                              "unreachable", {"transport": "snmp"})))
    rec = network.collect_device(_device(), Options())
    assert rec["reachable"] is False and rec["error"] == why
    assert rec["error_kind"] == "unreachable"
    assert rec["sections"]["snmp.system"]["status"] == "error"


def test_collect_device_without_its_community_set() -> None:
    rec = network.collect_device(_device(community_env="UNDONE_TEST_SURELY_UNSET"), Options(),
                                 secret=lambda name: None)
    assert rec["reachable"] is False and rec["error_kind"] == "auth"
    assert "community_env is not set" in rec["error"]
    assert "UNDONE_TEST_SURELY_UNSET" not in rec["error"]  # L4: the name may be the secret


def test_snmp_credentials_by_reference() -> None:
    with pytest.raises(AuthError, match=r"named by community_env is not set"):
        snmp_transport._auth_data(_device(community_env="COMM_ENV"), lambda n: None)
    v3 = _device(snmp_version="3", snmp_user="mon", snmp_auth_protocol="sha256",
                 snmp_auth_key_env="AK", snmp_priv_protocol="aes", snmp_priv_key_env="PK",
                 community_env=None)
    with pytest.raises(AuthError, match=r"named by snmp_priv_key_env is not set"):
        snmp_transport._auth_data(v3, {"AK": "authkey123"}.get)
    data = snmp_transport._auth_data(v3, {"AK": "authkey123", "PK": "privkey123"}.get)
    assert data.userName == "mon"


def test_is_device() -> None:
    assert network.is_device(_device())
    assert network.is_device(Host(name="f", address="a", platform="network", device="fortios"))
    assert not network.is_device(Host(name="l", address="a", platform="linux"))


# -- lifecycle ------------------------------------------------------------------------------------


@pytest.mark.parametrize("product, version, cycles", [
    ("routeros", "7.12.1", ["7.12.1", "7.12", "7"]),
    ("cisco-ios-xe", "17.03.04a", ["17.03.04a", "17.03.04", "17.03", "17.3", "17"]),
    ("cisco-ios-xe", "03.09.01.S", ["03.09.01.S", "03.09.01", "03.09", "3.9", "3"]),
    ("openwrt", "23.05.3", ["23.05.3", "23.05", "23.5", "23"]),
    ("qnap-qts", "4.3.6.2050", ["4.3.6.2050", "4.3.6", "4.3", "4"]),
    ("cisco-ios", "15.0(2)SE4", ["15.0(2)SE4", "15.0(2)SE", "15.0SE", "15.0"]),
    ("cisco-ios", "12.2(55)SE12", ["12.2(55)SE12", "12.2(55)SE", "12.2SE", "12.2"]),
    ("fortios", "v7.2.5", ["7.2.5", "7.2", "7"]),
])
def test_firmware_cycles(product: str, version: str, cycles: list[str]) -> None:
    assert lifecycle_firmware.firmware_cycles(product, version) == cycles


def test_kev_mapping_tells_ios_from_ios_xe() -> None:
    ios = {e["cveID"] for e in lifecycle_firmware.firmware_lookup("cisco-ios", "15.0(2)SE4",
                                                         catalogue=_with_ios())["kev"]["entries"]}
    xe = {e["cveID"] for e in lifecycle_firmware.firmware_lookup("cisco-ios-xe", "17.9.1")["kev"][
        "entries"]}
    assert "CVE-2023-20198" in xe and "CVE-2023-20198" not in ios  # IOS XE Web UI only
    assert "CVE-2004-1464" in ios and "CVE-2004-1464" not in xe  # IOS only
    assert "CVE-2018-0171" in ios and "CVE-2018-0171" in xe  # IOS and IOS XE


def _with_ios() -> lifecycle_model.Catalogue:
    """The shipped catalogue plus a test-only classic IOS entry (no real dates: for the KEV
    mapping only; the shipped overlay has none)."""
    from datetime import date

    rel = lifecycle_model.Release(product="cisco-ios", cycle="15.0SE", title="Cisco IOS",
                            release_date=date(2010, 1, 1), eol=None, eol_flag=False, eoas=None,
                            eoes=None, lts=False, latest=None, latest_date=None,
                            source="https://vendor.example/test", checked_on=date(2026, 11, 22))
    op = lifecycle_handkept.OverlayProduct("cisco-ios", "Cisco IOS", None, None, (rel,))
    return lifecycle_handkept.merge_overlay(lifecycle.load_catalogue(), [op])


def test_refresh_writes_a_user_catalogue_that_newer_snapshots_replace_the_shipped_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (SHARED / "endoflife").exists():
        pytest.skip("no endoflife.date export beside the repository")
    src = tmp_path / "export"
    shutil.copytree(SHARED / "endoflife", src)
    (src / "SOURCE.md").unlink()  # a bare export: the date comes from the data (lower bound)
    out = tmp_path / "user"
    monkeypatch.setenv("UNDONE_LIFECYCLE_DIR", str(out))
    done = lifecycle_catalogue_refresh.refresh(src)
    assert done["dir"] == str(out) and (out / "catalogue.json").exists()
    assert "lower bound" in done["snapshot_basis"]
    again = lifecycle_catalogue_refresh.refresh(src, snapshot_date="2099-01-01")
    assert again["used_instead_of_shipped"] is True
    cat = lifecycle.load_catalogue()
    assert cat.snapshot_date.isoformat() == "2099-01-01" and cat.label == str(
        out / "catalogue.json")
    monkeypatch.delenv("UNDONE_LIFECYCLE_DIR")
    assert lifecycle.load_catalogue().snapshot_date.isoformat() == "2026-08-22"


def test_refresh_rejects_a_folder_that_is_not_an_export(tmp_path: Path) -> None:
    with pytest.raises(lifecycle_build.BuildError, match=r"products\.json"):
        lifecycle_catalogue_refresh.refresh(tmp_path, tmp_path / "out")


def test_lifecycle_refresh_command(tmp_path: Path) -> None:
    if not (SHARED / "endoflife").exists():
        pytest.skip("no endoflife.date export beside the repository")
    out = tmp_path / "out"
    env = {"UNDONE_LIFECYCLE_DIR": str(tmp_path / "user"), "PATH": "/usr/bin:/bin"}
    p = subprocess.run([sys.executable, "-m", "scanner", "lifecycle", "refresh", "--from",
                        str(SHARED / "endoflife"), "--out", str(out), "--snapshot-date",
                        "2026-11-01", "--kev",
                        str(SHARED / "kev" / "known_exploited_vulnerabilities.json")],
                       capture_output=True, text=True, cwd=ROOT, env=env)
    assert p.returncode == 0, p.stderr
    assert "snapshot 2026-11-01 (given with --snapshot-date)" in p.stdout
    assert json.loads((out / "kev.json").read_text())["count"] == 1404
    bad = subprocess.run([sys.executable, "-m", "scanner", "lifecycle", "refresh", "--from",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert bad.returncode == 2 and "products.json" in bad.stderr
    assert "Traceback" not in bad.stderr


# -- a signal stops a running nmap (issue 15) -----------------------------------------------------


def _marked(mark: str) -> list[int]:
    """Processes whose environment carries ``UNDONE_TEST_MARK=mark``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"UNDONE_TEST_MARK={mark}".encode() in env:
            found.append(int(pid))
    return found


def test_an_interrupted_scan_kills_its_running_nmap(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, nmap ran inside python-nmap, which hides its process: a signal left the scan
    waiting for nmap to end by itself (up to the network's time limit, minutes) and, under
    SIGTERM to undone alone, nmap running after undone. Now nmap's whole process group is
    killed within a fraction of a second and the network is "not scanned: the scan was
    interrupted", never recorded. The stand-in nmap (first in PATH) sends nothing: it waits on
    a child, so that the group kill is shown too."""
    import threading
    import time
    import uuid

    from scanner.rules import baselines

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nmap").write_text("#!/bin/sh\n/bin/sleep 300 &\nwait\n")
    (fake / "nmap").chmod(0o755)
    mark = str(uuid.uuid4())
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    monkeypatch.setenv("UNDONE_TEST_MARK", mark)
    rules = [r for b in baselines.load() for r in b.rules]
    cancel = threading.Event()
    landed: list[dict[str, Any]] = []
    out: list[list[dict[str, Any]]] = []
    worker = threading.Thread(target=lambda: out.append(network.scan_networks(
        inv(), rules, Options(cancel=cancel), landed.append)), daemon=True)
    worker.start()
    end = time.monotonic() + 10
    while len(_marked(mark)) < 2 and time.monotonic() < end:
        time.sleep(0.05)
    assert len(_marked(mark)) >= 2, "the stand-in nmap and its child should be running"
    t0 = time.monotonic()
    cancel.set()
    worker.join(5)
    took = time.monotonic() - t0
    assert not worker.is_alive() and took < 1.5, took
    time.sleep(0.2)
    assert _marked(mark) == [], "nmap (or its child) outlived the interruption"
    assert [(r["name"], r["error_kind"], r["error"]) for r in out[0]] == [
        (f"network:{n}", "interrupted", "not scanned: the scan was interrupted")
        for n in ("lan", "dmz")]
    assert landed == []  # nothing recorded for a network not scanned


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap not installed")
def test_nmap_runs_and_reports_on_loopback() -> None:
    """The runner that replaced python-nmap's: a real nmap (``-n``) over 127.0.0.1 only gives
    its whole XML report; a failing run gives nmap's own words."""
    i = inventory.parse({"all": {"hosts": {"here": {"address": "127.0.0.1"}}},
                         "networks": [{"name": "lo", "cidr": "127.0.0.1/32"}]}, "inv")
    scope = network.Scope(i)
    run = nmap_transport.run("127.0.0.1/32", i.networks[0], scope.check, timeout=60)
    assert run.error is None, run.error
    assert run.args[:2] == ["nmap", "-oX"] and "-n" in run.args
    assert run.xml.lstrip().startswith("<?xml") and run.xml.rstrip().endswith("</nmaprun>")
    assert '<address addr="127.0.0.1"' in run.xml
    bad = nmap_transport.run("127.0.0.1/32", {**i.networks[0], "rate": -1}, scope.check,
                             timeout=60)
    assert bad.error is not None and bad.error.startswith("nmap failed: ")
