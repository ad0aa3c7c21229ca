"""snmp.system and snmp.community on outputs recorded from real snmpd agents of the network test
estate (tests/fixtures/snmp): net-snmp's tools and undone's pysnmp transport, one parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from probes.base import RawSection
from probes.device import identity as ident
from probes.snmp import community, system
from probes.snmp._varbinds import format_varbind, parse_varbinds

FIX = Path(__file__).parents[2] / "fixtures" / "snmp"


def sys_facts(stem: str) -> tuple[dict[str, Any], dict[str, str]]:
    f = system.parse(RawSection("snmp.system", (FIX / "system" / f"{stem}.out").read_text()))
    return f.values, f.errors


def test_cisco_switch_identity_from_sysdescr() -> None:
    v, e = sys_facts("cisco_ios_c2960")
    assert v["snmp.sysdescr"].startswith("Cisco IOS Software, C2960 Software")
    assert v["snmp.sysobjectid"] == "1.3.6.1.4.1.9.1.1208"
    assert v["snmp.sysname"] == "sw-core-01" and v["snmp.sysuptime_seconds"] == 0.19
    assert (v["device.vendor"], v["device.os"], v["device.model"]) == ("Cisco", "Cisco IOS",
                                                                         "C2960")
    assert (v["firmware.product"], v["firmware.version"]) == ("cisco-ios", "15.0(2)SE4")
    assert v["snmp.entities"] == [{"index": 1, "firmware_rev": "15.0(2)SE4"}]
    assert not e


@pytest.mark.parametrize("stem", ["routeros_7_21_5", "routeros_7_21_5_pysnmp"])
def test_routeros_version_from_the_mikrotik_mib(stem: str) -> None:
    v, _ = sys_facts(stem)
    assert (v["firmware.product"], v["firmware.version"]) == ("routeros", "7.21.5")
    assert v["firmware.version_source"] == "MIKROTIK-MIB mtxrLicVersion"
    assert (v["device.model"], v["device.serial"]) == ("RB5009UG+S+", "HE20ABC5678")


def test_net_snmp_and_pysnmp_captures_agree() -> None:
    a, _ = sys_facts("routeros_7_21_5")
    b, _ = sys_facts("routeros_7_21_5_pysnmp")
    for k in ("snmp.sysdescr", "snmp.sysobjectid", "snmp.sysname", "device.serial",
              "firmware.version", "snmp.entities"):
        assert a[k] == b[k], k


def test_apc_card_is_recognised_but_not_in_the_catalogue() -> None:
    v, _ = sys_facts("apc_ups_nmc")
    assert (v["device.vendor"], v["device.model"], v["device.serial"]) == (
        "APC", "AP9630", "5A1234E56789")
    assert (v["firmware.product"], v["firmware.version"]) == ("apc-nmc-aos", "6.8.2")


def test_unknown_sysdescr_is_an_error_quoting_it() -> None:
    v, e = sys_facts("unknown_device")
    assert v["snmp.sysdescr"].startswith("Acme WidgetOS")
    assert "unknown device: sysDescr 'Acme WidgetOS 3.2 build 77 (test device)'" in e[
        "firmware.product"]
    assert "firmware.version" in e and "device.vendor" in e


def test_unknown_version_is_read_as_given() -> None:
    v, _ = sys_facts("routeros_unknown_version")
    assert v["firmware.version"] == "8.0.1"  # the catalogue, not the parser, says it is unknown


def test_agent_that_did_not_answer() -> None:
    v, e = sys_facts("no_agent")
    assert not v
    assert e["firmware.version"] == "Timeout: No Response from 10.213.1.250."


@pytest.mark.parametrize("stem, accepted", [
    ("public_accepted", ["public"]), ("public_accepted_pysnmp", ["public"]),
    ("none_accepted", []), ("none_accepted_pysnmp", []),
])
def test_default_community(stem: str, accepted: list[str]) -> None:
    f = community.parse(RawSection("snmp.community",
                                   (FIX / "community" / f"{stem}.out").read_text()))
    assert f.values["snmp.default_communities"] == accepted
    assert f.values["snmp.default_community_accepted"] is bool(accepted)
    assert f.values["snmp.default_community_checked"] is True


def test_default_community_skipped_and_unclear_tries() -> None:
    f = community.parse(RawSection("snmp.community", "@@block skipped\noff\n@@rc 0\n"))
    assert f.values["snmp.default_community_checked"] is False
    text = "@@block public\nsnmpget: command not found\n@@rc 127\n@@block private\n@@rc 1\n"
    f = community.parse(RawSection("snmp.community", text))
    assert "no usable answer" in f.errors["snmp.default_community_accepted"]


def test_varbinds_round_trip_multiline_and_quotes() -> None:
    descr = ('Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE4\r\n'
             'Technical Support: http://www.cisco.com/techsupport\r\nsays "hi" \\ bye')
    text = "\n".join([
        format_varbind("1.3.6.1.2.1.1.1.0", "STRING", descr.encode()),
        format_varbind("1.3.6.1.2.1.1.2.0", "OID", "1.3.6.1.4.1.9.1.1208"),
        format_varbind("1.3.6.1.2.1.1.3.0", "Timeticks", 8640123),
        format_varbind("1.3.6.1.2.1.2.2.1.6.2", "STRING", bytes([0x4A, 0xEF, 0, 1])),
        format_varbind("1.3.6.1.2.1.99.1.0", "noSuchObject", ""),
        format_varbind("1.3.6.1.2.1.1.4.0", "STRING", ""),
    ])
    assert "Timeticks: (8640123) 1 day, 0:00:01.23" in text
    vbs = parse_varbinds(text)
    assert vbs["1.3.6.1.2.1.1.1.0"].value == descr.replace("\r\n", "\n")
    assert vbs["1.3.6.1.2.1.1.2.0"].value == "1.3.6.1.4.1.9.1.1208"
    assert vbs["1.3.6.1.2.1.1.3.0"].value == "8640123"
    assert vbs["1.3.6.1.2.1.2.2.1.6.2"].kind == "Hex-STRING"
    assert vbs["1.3.6.1.2.1.99.1.0"].missing and vbs["1.3.6.1.2.1.1.4.0"].value == ""
    v = ident.identify({ident.SYS_DESCR: vbs["1.3.6.1.2.1.1.1.0"].value})
    assert v is not None and v.version == "15.0(2)SE4"


@pytest.mark.parametrize("descr, product, version", [
    # the first lines of the recorded `show version` outputs (tests/fixtures/netos/ios)
    ("Cisco IOS Software, Catalyst 4500 L3 Switch Software (cat4500e-ENTSERVICESK9-M), "
     "Version 12.2(54)SG1, RELEASE SOFTWARE (fc1)", "cisco-ios", "12.2(54)SG1"),
    ("Cisco IOS Software [Fuji], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 16.9.3, "
     "RELEASE SOFTWARE (fc2)", "cisco-ios-xe", "16.9.3"),
    ("Cisco IOS Software, IOS-XE Software, Catalyst L3 Switch Software "
     "(CAT3K_CAA-UNIVERSALK9-M), Version 03.06.05E RELEASE SOFTWARE (fc2)", "cisco-ios-xe",
     "03.06.05E"),
])
def test_cisco_sysdescr_forms(descr: str, product: str, version: str) -> None:
    found = ident.identify({ident.SYS_DESCR: descr})
    assert found is not None and (found.product, found.version) == (product, version)


def test_fortigate_version_from_its_mib() -> None:
    found = ident.identify({ident.SYS_DESCR: "FortiGate-80F",
                            ident.SYS_OBJECT_ID: "1.3.6.1.4.1.12356.101.1.2005",
                            ident.FG_SYS_VERSION: "v6.0.16,build0505,221215 (GA)"})
    assert found is not None and (found.product, found.version) == ("fortios", "6.0.16")
    assert ident.vendor_oids("1.3.6.1.4.1.12356.101.1.2005") == (ident.FG_SYS_VERSION,
                                                                 ident.FN_SYS_SERIAL)
    assert ident.vendor_oids("1.3.6.1.4.1.9.1.1208") == ()


def test_linux_net_snmp_gives_no_product() -> None:
    found = ident.identify({ident.SYS_DESCR: "Linux nas01 5.10.60 #1 SMP x86_64"})
    assert found is not None and found.product is None
    text = ('@@block system\n.1.3.6.1.2.1.1.1.0 = STRING: "Linux nas01 5.10.60 #1 SMP x86_64"\n'
            '@@rc 0\n')
    f = system.parse(RawSection("snmp.system", text))
    assert "SNMP does not tell which product release" in f.errors["firmware.product"]


# -- real device values from public sources (tests/fixtures/snmp/public, SOURCE.md) -----------


def pub_facts(stem: str) -> tuple[dict[str, Any], dict[str, str]]:
    f = system.parse(RawSection("snmp.system", (FIX / "public" / f"{stem}.out").read_text()))
    return f.values, f.errors


@pytest.mark.parametrize("stem, product, version, os_name, model", [
    # 17.x and 16.x sysDescr strings that never say "IOS-XE"
    ("snmpinfo_c9300_iosxe_17_5_1", "cisco-ios-xe", "17.5.1", "Cisco IOS XE",
     "Catalyst L3 Switch"),
    ("snmpinfo_c9200_iosxe_17_3_5", "cisco-ios-xe", "17.3.5", "Cisco IOS XE",
     "Catalyst L3 Switch"),
    ("librenms_ios_c2950_12_1_22_ea14", "cisco-ios", "12.1(22)EA14", "Cisco IOS", "C2950"),
    # RouterOS whose sysDescr is "router"; the version from the MIKROTIK-MIB
    ("librenms_routeros_router_6_40_5", "routeros", "6.40.5", "RouterOS", None),
    # RouterOS 7.22+: "RouterOS <board> <version> (<channel>)"
    ("hamnet_routeros_7_22_1_sysdescr", "routeros", "7.22.1", "RouterOS", "RBLHG-5nD"),
    # board and version in entPhysicalDescr ("RouterOS 6.45.3 (stable) on RB711-5Hn-MMCX")
    ("hamnet_routeros_6_45_3_entity", "routeros", "6.45.3", "RouterOS", "RB711-5Hn-MMCX"),
])
def test_identity_from_public_snmp_values(stem: str, product: str, version: str, os_name: str,
                                          model: str | None) -> None:
    v, e = pub_facts(stem)
    assert (v["firmware.product"], v["firmware.version"], v["device.os"]) == (
        product, version, os_name)
    assert v["device.model"] == model
    assert not {k for k in e if k.startswith(("firmware.", "device."))}, e


def test_routeros_serial_and_sources_of_the_version() -> None:
    v, _ = pub_facts("librenms_routeros_router_6_40_5")
    assert v["device.serial"] == "71B1060EE89D"
    assert v["firmware.version_source"] == "MIKROTIK-MIB mtxrLicVersion"
    assert pub_facts("hamnet_routeros_6_45_3_entity")[0]["firmware.version_source"] == (
        "ENTITY-MIB entPhysicalDescr")
    assert pub_facts("hamnet_routeros_7_22_1_sysdescr")[0]["firmware.version_source"] == (
        "sysDescr")


def test_ios_xe_3_over_snmp_is_ios_xe_without_a_version() -> None:
    """An ASR1000 on IOS XE 3.x says only "Version 15.5(3)S1a" (IOS's number) and
    PPC_LINUX_IOSD: it is IOS XE, and its IOS XE release is not in the sysDescr."""
    v, e = pub_facts("librenms_iosxe_asr1000_15_5_3_s1a")
    assert (v["device.os"], v["firmware.product"]) == ("Cisco IOS XE", "cisco-ios-xe")
    assert "firmware.version" not in v
    assert "IOS-compatible version 15.5(3)S1a" in e["firmware.version"]


@pytest.mark.parametrize("stem", ["librenms_swos_rb260gs", "librenms_swos_rb260gsp"])
def test_swos_is_not_routeros(stem: str) -> None:
    v, e = pub_facts(stem)
    assert (v["device.vendor"], v["device.os"]) == ("MikroTik", "SwOS")
    assert v["device.model"] == stem.rsplit("_", 1)[1].upper()
    assert "firmware.product" not in v and "SwOS" in e["firmware.product"]


def test_the_chassis_part_number_is_the_model() -> None:
    """entPhysicalModelName of the chassis names the hardware as end-of-life notices do."""
    text = (FIX / "system" / "cisco_ios_c2960.out").read_text().replace(
        '.1.3.6.1.2.1.47.1.1.1.1.9.1 = STRING: "15.0(2)SE4"',
        '.1.3.6.1.2.1.47.1.1.1.1.5.1 = INTEGER: 3\n'
        '.1.3.6.1.2.1.47.1.1.1.1.9.1 = STRING: "15.0(2)SE4"\n'
        '.1.3.6.1.2.1.47.1.1.1.1.11.1 = STRING: "FOC1234X0AB"\n'
        '.1.3.6.1.2.1.47.1.1.1.1.13.1 = STRING: "WS-C2960+24TC-L"')
    assert "WS-C2960+24TC-L" in text  # hand-made variant of the recorded output
    f = system.parse(RawSection("snmp.system", text))
    assert (f.values["device.model"], f.values["device.serial"]) == ("WS-C2960+24TC-L",
                                                                     "FOC1234X0AB")


@pytest.mark.parametrize("descr, product, version", [
    ("Cisco IOS Software [Fuji], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 16.9.5, "
     "CUST-SPECIAL:V169_5_SR689355441_2", "cisco-ios-xe", "16.9.5"),
    ("Cisco IOS Software [Denali], ASR1000 Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), "
     "Experimental Version 16.3.20170410:103306 [v163_mr_throttle-BLD 118]", "cisco-ios-xe",
     "16.3.20170410:103306"),
    ("Cisco IOS Software, C3750 Software (C3750-IPBASEK9-M), Version 12.2(55)SE12, RELEASE "
     "SOFTWARE (fc2)", "cisco-ios", "12.2(55)SE12"),
])
def test_cisco_version_special_and_experimental_builds(descr: str, product: str,
                                                       version: str) -> None:
    """First lines of real `show version` outputs (ntc-templates special build; genieparser
    asr1k golden output; a CDP neighbour's software line, all in SOURCE.md files)."""
    assert ident.cisco_version(descr)[:2] == (product, version)  # type: ignore[index]


def test_an_agents_string_with_line_breaks_cannot_forge_a_block() -> None:
    """Issue 15, M5, for the SNMP transport, which frames its blocks in Python: anyone who can
    set ``sysLocation`` (a write community) put ``@@rc``/``@@block`` lines in it; the
    transport wrote them as they came, so they ended the system block early and forged the
    next one (or made the section an error). Now they are escaped as the prelude escapes data,
    and the value comes back whole. The transport's own formatting (``_line``, ``_block``) on
    pysnmp values, then the section's parser."""
    from pysnmp.proto import rfc1902

    from probes.base import split_blocks
    from scanner.engine.transports import snmp as snmp_transport

    forged = ("Rack 4\n@@rc 0\n@@block entity\n.1.3.6.1.2.1.47.1.1.1.1.10.1 = STRING: "
              "\"99.9(9)\"\n@@rc 0\n@@block vendor")
    descr = "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE4"
    values = {ident.SYS_DESCR: rfc1902.OctetString(descr.encode()),
              ident.SYS_NAME: rfc1902.OctetString(b"sw1"),
              ident.SYS_LOCATION: rfc1902.OctetString(forged.encode())}
    lines = [snmp_transport._line(oid, v) for oid, v in values.items()]
    out = (snmp_transport._block("system", 0, "\n".join(lines))
           + snmp_transport._block("entity", 0, "") + snmp_transport._block("vendor", 0, ""))
    blocks = split_blocks(out)
    assert list(blocks) == ["system", "entity", "vendor"]
    assert blocks["entity"].text.strip() == "" and blocks["vendor"].text.strip() == ""
    vbs = parse_varbinds(blocks["system"].text)
    assert vbs[ident.SYS_LOCATION.lstrip(".")].value == forged
    facts = system.parse(RawSection("snmp.system", out))
    assert facts.values["snmp.entities"] == [] and facts.values["firmware.software_revisions"] == []
    assert facts.values["firmware.version"] == "15.0(2)SE4", (facts.values, facts.errors)
