"""Network operating systems over SSH (probes/netos) and the Linux gateway section, on recorded
outputs (tests/fixtures/netos, tests/fixtures/posix/gateway; sources in their SOURCE.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from probes import sections
from probes.base import RawSection

FIX = Path(__file__).parents[2] / "fixtures"
SECTIONS = sections()


def facts(section: str, path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    f = SECTIONS[section].parse(RawSection(section, path.read_text()))
    return f.values, f.errors


@pytest.mark.parametrize("stem, model, version, serial, host", [
    ("fortigate_60f_7_4_8", "FortiGate-60F", "7.4.8", "FGT60ABC3303F26X", "fw1"),
    ("fortigate_600e_6_2_6", "FortiGate-600E", "6.2.6", "FG6H0Exxxxxxxxx", "fgt-600e"),
    ("fortigate_40f_7_0_15", "FortiGate-40F", "7.0.15", "FGT40XXXXXXXXXXX", "FGT-fw-a"),
])
def test_fortios(stem: str, model: str, version: str, serial: str, host: str) -> None:
    v, e = facts("netos.fortios", FIX / "netos" / "fortios" / f"{stem}.out")
    assert not e
    assert (v["device.model"], v["firmware.version"], v["device.serial"], v["device.hostname"]) \
        == (model, version, serial, host)
    assert v["firmware.product"] == "fortios" and v["device.vendor"] == "Fortinet"


def test_routeros_with_routerboard() -> None:
    v, e = facts("netos.routeros", FIX / "netos" / "routeros" / "hex_poe_lite_6_48_6.out")
    assert not e
    assert (v["firmware.version"], v["firmware.channel"]) == ("6.48.6", "long-term")
    assert (v["device.model"], v["device.serial"]) == ("RouterBOARD 750UP r2", "8B0208F4D5F9")
    assert v["routeros.routerboard_firmware"] == "3.41"
    assert v["routeros.routerboard_upgrade_available"] is True  # 3.41 -> 6.48.6


@pytest.mark.parametrize("stem, version, board", [
    ("hex_s_7_16_1_resource_only", "7.16.1", "hEX S"),
    ("rb5009_7_18_2_resource_only", "7.18.2", "RB5009UG+S+"),  # padded with trailing spaces
])
def test_routeros_resource_only(stem: str, version: str, board: str) -> None:
    v, e = facts("netos.routeros", FIX / "netos" / "routeros" / f"{stem}.out")
    assert (v["firmware.version"], v["device.model"]) == (version, board)
    assert "was not run" in e["device.serial"]


@pytest.mark.parametrize("stem, product, version, model, serial, host", [
    ("cat4948e_ios_12_2_54_sg1", "cisco-ios", "12.2(54)SG1", "WS-C4948E", "CAT1451S15C",
     "router1"),
    ("iosv_15_8_3_m2", "cisco-ios", "15.8(3)M2", "IOSv", "991UCMIHG4UAJ1J010CQG", "rtr-01"),
    ("c9500_iosxe_16_9_3", "cisco-ios-xe", "16.09.03", "C9500-40X", "FCW2233FFG3",
     "AKBTESTW01"),
    ("c9500_iosxe_16_12_4", "cisco-ios-xe", "16.12.04", "C9500-48Y4C", "CAT23XXXXXX",
     "Switch-Hostname"),
    # issue 13: the serial without the comma of "Processor board ID FHK102KKKKK, with ..."
    ("c1801_ios_12_4_6_t2", "cisco-ios", "12.4(6)T2", "1801", "FHK102KKKKK", "stud-adsl"),
    # IOS XE 3.x: "IOS XE Version: 03.09.01.S", not the first line's 15.3(2)S1
    ("asr1001_iosxe_03_09_01_s", "cisco-ios-xe", "03.09.01.S", "ASR1001", "SSI1289001MH",
     "my_device"),
    # a special build: "Version V169_5_SR689355441_2" is a build name; 16.9.5 is the release
    ("c9500_iosxe_special_build_16_9_5", "cisco-ios-xe", "16.9.5", "C9500-40X", "FCW2233FFG3",
     "AKBTESTW01"),
    ("c3850_iosxe_03_06_05e", "cisco-ios-xe", "03.06.05E", "WS-C3850-48U", "FOC11111111",
     "city-building-4-sw"),
    ("c2960x_ios_15_2_2_e7", "cisco-ios", "15.2(2)E7", "WS-C2960X-48FPD-L", "FOC4444S23V",
     "testname"),
    ("c3750x_ios_12_2_55_se8", "cisco-ios", "12.2(55)SE8", "WS-C3750X-24P-L", "FDO2028F1WK",
     "R5"),
    ("isr4k_iosxe_16_06_05", "cisco-ios-xe", "16.06.05", "ISR4451-X/K9", "FGL273610NK", "isr4k"),
    ("c9800cl_iosxe_17_07_01", "cisco-ios-xe", "17.07.01prd16", "C9800-CL", "9SV9FR9MWP9",
     "vidya-ewlc-5"),
])
def test_ios_show_version(stem: str, product: str, version: str, model: str, serial: str,
                          host: str) -> None:
    v, e = facts("netos.ios", FIX / "netos" / "ios" / f"{stem}.out")
    assert not e
    assert (v["firmware.product"], v["firmware.version"], v["device.model"], v["device.serial"],
            v["device.hostname"]) == (product, version, model, serial, host)


def test_opnsense_and_pfsense() -> None:
    v, e = facts("netos.opnsense", FIX / "netos" / "opnsense" / "opnsense_20_7_8_4.out")
    assert not e and (v["firmware.product"], v["firmware.version"]) == ("opnsense", "20.7.8_4")
    assert (v["opnsense.architecture"], v["opnsense.flavour"]) == ("amd64", "OpenSSL")
    v, e = facts("netos.pfsense", FIX / "netos" / "pfsense" / "pfsense_2_4_5_release.out")
    assert not e and (v["firmware.product"], v["firmware.version"], v["device.os"]) == (
        "pfsense", "2.4.5", "pfSense CE")
    assert v["firmware.release_type"] == "RELEASE"


@pytest.mark.parametrize("section, block, text, rc, needle", [
    ("netos.ios", "version", "% Invalid input detected at '^' marker.", 0, "refused"),
    ("netos.fortios", "system_status", "Unknown action 0", 0, "refused"),
    ("netos.routeros", "resource", "bad command name resource (line 1 column 9)", 0, "refused"),
    ("netos.opnsense", "version", "sh: opnsense-version: not found", 127, "exit 127"),
    ("netos.pfsense", "version", "cat: /etc/version: No such file or directory", 1, "exit 1"),
    ("netos.ios", "version", "", 124, "exit 124"),
    ("netos.fortios", "system_status", "", 0, "printed nothing"),
])
def test_refused_or_failed_commands_are_errors(section: str, block: str, text: str, rc: int,
                                               needle: str) -> None:
    out = f"@@block {block}\n{text}\n@@rc {rc}\n"
    f = SECTIONS[section].parse(RawSection(section, out))
    assert needle in f.errors["firmware.version"], f.errors["firmware.version"]
    assert "firmware.version" not in f.values


def test_a_device_cannot_forge_block_markers() -> None:
    from scanner.engine.transports.ssh import _escape_markers

    assert _escape_markers("ok\n@@rc 0\n@@block version\n") == "ok\n @@rc 0\n @@block version\n"


GATEWAY = FIX / "posix" / "gateway"


@pytest.mark.parametrize("stem, inp, fwd, ip_fwd, blocked, ruleset", [
    ("estate_gw01_nft_input_drop", "drop", "accept", False, True, "nftables"),
    ("estate_opengw_no_firewall", "accept", "accept", False, True, "none"),
    ("nft_forward_drop_forwarding_on", "drop", "drop", True, True, "nftables"),
    ("nft_input_drop_no_forward_chain_forwarding_on", "drop", "accept", True, False, "nftables"),
])
def test_gateway_defaults(stem: str, inp: str, fwd: str, ip_fwd: bool, blocked: bool,
                          ruleset: str) -> None:
    v, e = facts("posix.gateway", GATEWAY / f"{stem}.out")
    assert not e
    assert (v["gateway.input_policy"], v["gateway.forward_policy"], v["gateway.ip_forward"],
            v["gateway.forwarding_blocked"], v["gateway.ruleset"]) == (inp, fwd, ip_fwd, blocked,
                                                                       ruleset)


def test_gateway_needs_root() -> None:
    v, e = facts("posix.gateway", GATEWAY / "nobody.out")
    assert not v and e["gateway.input_policy"] == "needs root (allow sudo with become: true)"


def test_gateway_iptables_legacy_and_an_early_drop_rule() -> None:
    from probes.posix.gateway import iptables_default, nft_chains

    assert iptables_default("-P INPUT ACCEPT\n-P FORWARD DROP\n-A INPUT -j REJECT\n",
                            "INPUT") == "reject"
    assert iptables_default("-P INPUT ACCEPT\n-P FORWARD DROP\n", "FORWARD") == "drop"
    text = (GATEWAY / "estate_gw01_nft_input_drop.out").read_text()
    (chain,) = [c for c in nft_chains(text) if c.hook == "input"]
    assert (chain.policy, chain.default, chain.priority) == ("drop", "drop", 0)
