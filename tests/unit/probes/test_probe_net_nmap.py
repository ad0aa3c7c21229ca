"""net.nmap on recorded nmap XML (tests/fixtures/net/nmap, captured in the network test estate):
discovery, unmanaged devices, per-host and per-network exposure, and reports that say nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from probes.base import Facts, RawSection
from probes.net import nmap

FIX = Path(__file__).parents[2] / "fixtures" / "net" / "nmap"


def load(stem: str, **config: Any) -> tuple[str, dict[str, Any]]:
    cfg = json.loads((FIX / f"{stem}.config.json").read_text())
    cfg.update(config)
    return (FIX / f"{stem}.out").read_text(), cfg


def parse(text: str, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    f = nmap.parse(RawSection("net.nmap", text, config=config))
    return f.values, f.errors


def test_lan_discovery_matches_inventory_hosts_and_finds_the_stray_one() -> None:
    v, e = parse(*load("estate_lan_root"))
    assert not e
    assert v["network.name"] == "lan" and v["network.internet_facing"] is False
    assert v["network.hosts_up"] == 10  # the scanner's own address is not counted
    assert v["network.scanner_addresses"] == ["10.213.1.2"]
    assert {m["host"] for m in v["network.managed"]} == {
        "web01", "gw01", "opengw", "sw-core-01", "ups01", "rtr-old", "rtr-lts", "odd01",
        "rtr-next"}
    (stray,) = v["network.unmanaged"]
    assert stray["address"] == "10.213.1.66"
    assert stray["open_ports"] == ["22/tcp ssh", "3389/tcp ms-wbt-server"]
    assert stray["mac"] and stray["reason"] == "arp-response"
    assert v["network.unmanaged_count"] == 1 and v["network.missing"] == []
    assert v["exposure.udp_scanned"] is True
    assert v["nmap.scan_types"] == ["syn/tcp", "udp/udp"]
    assert "-n" in v["nmap.args"].split()
    snmp = next(h for h in v["exposure.hosts"] if h["host"] == "sw-core-01")
    assert snmp["open"] == ["161/udp"]  # a real snmpd answers nmap's SNMP probe


def test_unprivileged_report_needs_the_scanners_addresses() -> None:
    text, cfg = load("estate_lan_unprivileged")
    v, _ = parse(text, cfg)
    assert v["exposure.udp_scanned"] is False and v["nmap.scan_types"] == ["connect/tcp"]
    assert [u["address"] for u in v["network.unmanaged"]] == ["10.213.1.66"]
    assert v["network.unmanaged"][0]["mac"] is None  # no ARP without root
    # without the scanner's own addresses an unprivileged scan would list the scanner itself
    v2, _ = parse(text, {**cfg, "scanner_addresses": []})
    assert "10.213.1.2" in [u["address"] for u in v2["network.unmanaged"]]


def test_internet_facing_gateway_with_only_443_allowed() -> None:
    v, e = parse(*load("estate_dmz_root"))
    assert not e
    assert [p["port"] for p in v["exposure.allowed_open"]] == ["443/tcp"]
    assert v["exposure.allowed_open"][0]["reason"] == "public web site"
    assert v["exposure.unexpected"] == [
        "10.213.1.254 22/tcp (ssh OpenSSH 9.2p1 Debian 2+deb12u10, host gw01)"]
    assert v["exposure.admin_interfaces"] == v["exposure.unexpected"]
    (gw,) = v["exposure.hosts"]
    assert gw["open"] == ["22/tcp", "443/tcp"] and gw["closed"] == ["3389/tcp"]
    assert {"80/tcp", "445/tcp", "8728/tcp", "8729/tcp"} <= set(gw["filtered"])
    assert gw["open_filtered"] == ["161/udp"]


def test_allowed_port_limited_to_a_host() -> None:
    text, cfg = load("estate_dmz_root")
    net = dict(cfg["network"])
    net["allowed_ports"] = [*net["allowed_ports"],
                            {"port": "22/tcp", "reason": "admin", "hosts": ["other"]}]
    v, _ = parse(text, {**cfg, "network": net})
    assert v["exposure.unexpected"]  # allowed for another host only
    net["allowed_ports"][-1]["hosts"] = ["gw01"]
    v, _ = parse(text, {**cfg, "network": net})
    assert v["exposure.unexpected"] == [] and v["exposure.admin_interfaces"] == []


def test_without_udp_a_clean_tcp_result_cannot_clear_snmp() -> None:
    text, cfg = load("estate_dmz_unprivileged")
    v, e = parse(text, cfg)
    assert v["exposure.admin_interfaces"]  # 22/tcp is a finding even without UDP
    net = dict(cfg["network"])
    net["allowed_ports"] = [*net["allowed_ports"], {"port": "22/tcp", "reason": "admin",
                                                    "hosts": []}]
    v, e = parse(text, {**cfg, "network": net})
    assert "UDP scans need root" in e["exposure.admin_interfaces"]
    assert "UDP scans need root" in e["exposure.unexpected"]


@pytest.mark.parametrize("text, why", [
    ("", "nmap gave no output"),
    ("<nmaprun><host>", "incomplete or malformed"),
    ('<?xml version="1.0"?><nmaprun args="nmap"><host/></nmaprun>', "did not finish"),
    ('<nmaprun><runstats><finished exit="error" errormsg="Failed to open device eth9"/>'
     '</runstats></nmaprun>', "nmap failed: Failed to open device eth9"),
])
def test_reports_that_say_nothing_are_errors(text: str, why: str) -> None:
    _, cfg = load("estate_dmz_root")
    v, e = parse(text, cfg)
    assert why in e["exposure.unexpected"] and why in e["network.unmanaged_count"]
    assert "exposure.unexpected" not in v


def test_cut_report_is_an_error() -> None:
    text, cfg = load("estate_lan_root")
    _, e = parse(text[: len(text) // 2], cfg)
    assert "network.unmanaged" in e


def test_admin_ports_cover_the_issue_list() -> None:
    for port in ("22/tcp", "23/tcp", "80/tcp", "443/tcp", "8443/tcp", "4444/tcp", "10443/tcp",
                 "8291/tcp", "8728/tcp", "8729/tcp", "161/udp", "445/tcp", "3389/tcp"):
        assert port in nmap.ADMIN_PORTS


# ------------------------------------------------- public reports (tests/fixtures/net/nmap/public)

PUBLIC = Path(__file__).resolve().parents[2] / "fixtures" / "net" / "nmap" / "public"


def _public(name: str) -> Facts:
    text = (PUBLIC / name).read_text(encoding="utf-8")
    return nmap.parse(RawSection("net.nmap", text, config={}))


def _host(facts: Facts, address: str) -> dict[str, Any]:
    return next(h for h in facts.values["exposure.hosts"] if h["address"] == address)


def test_every_public_report_parses_without_an_error() -> None:
    for path in sorted(PUBLIC.glob("*.xml")):
        f = _public(path.name)
        assert f.values["nmap.version"], path.name
        wrong = {k for k in f.errors if k not in ("exposure.unexpected", "exposure.admin_interfaces")}
        assert not wrong, (path.name, f.errors)


def test_extraports_without_port_numbers_keep_the_closed_and_filtered_lists() -> None:
    """Known wrong before: nmap 6.x to 7.91 write ``extraports`` with a count and no ``ports=``;
    the closed and filtered lists came out empty. The folded ports are the scanned ones nothing
    else names, when the count says so."""
    f = _public("libnmap_2_tcp_hosts.xml")  # nmap 5.51, -sT, 1000 ports
    scanme = _host(f, "74.207.244.221")
    assert scanme["open"] == ["22/tcp", "80/tcp", "9929/tcp"]
    assert len(scanme["closed"]) == 996 and "23/tcp" in scanme["closed"]
    assert scanme["filtered"] and "unresolved" not in scanme
    assert len(set(scanme["closed"]) | set(scanme["filtered"]) | set(scanme["open"])) == 1000
    g = _public("libnmap_full_sudo5.xml")  # nmap 5.21: a host with all 1000 ports filtered
    assert len(_host(g, "192.168.1.3")["filtered"]) == 1000
    h = _public("libnmap_dionaea_scan.xml")  # nmap 7.91, -p 1-65535
    assert len(_host(h, "172.28.1.3")["closed"]) == 65519


def test_folded_groups_are_placed_per_protocol_or_left_unresolved() -> None:
    both = _host(_public("ndiff_complex.xml"), "64.13.134.52")  # -sS -sU, T:1-100, U:1-100
    assert len(both["filtered"]) == 95 and all(p.endswith("/tcp") for p in both["filtered"])
    assert len(both["open_filtered"]) == 99 and all(p.endswith("/udp") for p in both["open_filtered"])
    # two folded groups over one protocol (and counts that do not add up, as this test file of
    # python-libnmap has them): no guess, each group's state and count said
    odd = _host(_public("libnmap_extra_ports.xml"), "172.28.1.3")
    assert odd["closed"] == [] and odd["unresolved"] == [
        {"state": "closed", "count": 65509},
        {"state": "unknown", "count": 10},
    ]
