"""Networks and network devices end to end, on the network test estate
(tests/estate/scenarios/network.yaml): nmap discovery and exposure from inside the estate's
scanner namespace, real snmpd agents with given identities and communities, Linux gateways with
and without nftables, and SSH "cli" mode against a real sshd.

What the scanner reports is checked against what the scenario set up, not against another probe.
Every packet stays inside the estate: the scanner runs in its namespace (no route out), nmap with
``-n``, and the inventory declares only the estate's subnet.
"""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.estate import Estate
from tests.estate.estate import ANY_LIFECYCLE_AGE

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "scanner" / "schema" / "scan.schema.json").read_text())
LISTED = ["web01", "gw01", "opengw", "sw-core-01", "ups01", "rtr-old", "rtr-lts", "odd01",
          "rtr-next", "sw-2960plus", "sw-2960"]  # stray01 is left out: an unmanaged device
COMMUNITIES = {"sw-core-01": "public", "ups01": "estate-ro", "rtr-old": "rtr-old-ro",
               "rtr-lts": "rtr-lts-ro", "odd01": "odd-ro", "rtr-next": "rtr-next-ro",
               "sw-2960plus": "sw-2960plus-ro", "sw-2960": "sw-2960-ro"}


def _env_name(host: str) -> str:
    return "UNDONE_TEST_SNMP_" + host.upper().replace("-", "_")


@pytest.fixture(scope="module")
def net_estate() -> Iterator[Estate]:
    from tests.estate import load_scenario, preflight

    if os.environ.get("UNDONE_SKIP_ESTATE") == "1":
        pytest.skip("test estate disabled (UNDONE_SKIP_ESTATE=1)")
    scenario = load_scenario("network")
    problems = preflight(scenario)
    for tool in ("nmap", "snmpget"):
        if not any((Path(d) / tool).exists() for d in ("/usr/bin", "/usr/sbin", "/bin")):
            problems.append(f"missing tool: {tool}")
    if problems:
        if os.environ.get("CI"):
            pytest.fail("network estate unavailable in CI: " + "; ".join(problems))
        pytest.skip("network estate unavailable: " + "; ".join(problems))
    built = Estate.up(scenario)
    try:
        yield built
    finally:
        built.down()


def inventory(estate: Estate, path: Path, hosts: list[str], **extra: Any) -> Path:
    """The estate's inventory for ``hosts``, with SNMP credentials by reference and networks."""
    estate.write_inventory(path, hosts, params=ANY_LIFECYCLE_AGE, timeout=60)
    doc = yaml.safe_load(path.read_text())
    network = doc["all"]["children"].get("network", {}).get("hosts", {})
    for name, entry in network.items():
        entry["community_env"] = _env_name(name)
    doc.update(extra)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def scan(estate: Estate, inv: Path, home: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = inv.with_suffix(".json")
    env = dict(os.environ, HOME=str(home))  # keep the machine's own ~/.ssh and history out
    env.update({_env_name(h): c for h, c in COMMUNITIES.items()})
    env["UNDONE_TEST_SNMP_GHOST_SW"] = "public"
    p = estate.run_in_scanner(
        [sys.executable, "-m", "scanner", "scan", str(inv), "--format", "json", "--output",
         str(out), *args], env=env, cwd=str(ROOT))
    assert "Traceback" not in p.stderr, p.stderr
    doc = json.loads(out.read_text()) if out.exists() else {}
    return p.returncode, doc, p.stderr


def results(doc: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in doc["results"] if r["host"] == host}


def record(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(h for h in doc["hosts"] + doc.get("networks", []) if h["name"] == name)


@pytest.fixture(scope="module")
def full(net_estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("netscan")
    gw = net_estate.host("gw01")["address"]
    prefix = net_estate.subnet.rsplit(".", 1)[0]
    inv = inventory(net_estate, d / "inventory.yaml", LISTED, networks=[
        {"name": "lan", "cidr": net_estate.subnet},
        # the gateway's outside, as the internet sees it: only 443 is allowed
        {"name": "dmz", "cidr": f"{gw}/32", "internet_facing": True,
         "allowed_ports": [{"port": "443/tcp", "reason": "public web site (head teacher)"}]},
        # the same address, where SSH is allowed too (with a reason): nothing unexpected
        {"name": "dmz-ssh", "cidr": f"{gw}/32", "internet_facing": True, "allowed_ports": [
            {"port": "443/tcp", "reason": "public web site (head teacher)"},
            {"port": "22/tcp", "reason": "provider's admin access, key-only (contract 4.2)",
             "hosts": ["gw01"]}]},
    ])
    doc = yaml.safe_load(inv.read_text())
    # a switch in the inventory whose agent does not answer (no device at that address)
    doc["all"]["children"]["network"]["hosts"]["ghost-sw"] = {
        "address": f"{prefix}.250", "transport": "snmp", "community_env": "UNDONE_TEST_SNMP_GHOST_SW",
        "roles": ["switch"]}
    inv.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out, stderr = scan(net_estate, inv, d)
    return {"code": code, "doc": out, "stderr": stderr, "estate": net_estate}


def test_scan_completes_with_networks_in_the_document(full: dict[str, Any]) -> None:
    doc = full["doc"]
    assert full["code"] == 1, full["stderr"]  # findings by design
    jsonschema.validate(doc, SCHEMA)
    assert [n["name"] for n in doc["networks"]] == ["network:lan", "network:dmz",
                                                    "network:dmz-ssh"]
    assert all(n["reachable"] for n in doc["networks"]), [n["error"] for n in doc["networks"]]
    for n in doc["networks"]:
        assert n["sections"]["net.nmap"]["status"] == "ok"
        args = n["connection"]["args"]
        assert "-n" in args and "-sS" in args and "-sU" in args  # root in the namespace
    assert "undone: network:lan " in full["stderr"]


def test_discovery_finds_the_inventory_hosts_and_an_unlisted_one(full: dict[str, Any]) -> None:
    estate = full["estate"]
    lan = record(full["doc"], "network:lan")["facts"]
    managed = {m["host"] for m in lan["network.managed"]}
    assert managed == set(LISTED)  # every listed host answered
    stray = estate.host("stray01")["address"]
    assert [u["address"] for u in lan["network.unmanaged"]] == [stray]
    unmanaged = lan["network.unmanaged"][0]
    assert unmanaged["open_ports"] == ["22/tcp ssh", "3389/tcp ms-wbt-server"]
    assert unmanaged["mac"]  # ARP discovery gives the MAC address
    assert estate.scanner_address in lan["network.scanner_addresses"]
    assert lan["network.missing"] == ["ghost-sw"]  # listed, inside the network, no answer
    r = results(full["doc"], "network:lan")
    assert r["PM-NET-001"]["status"] == "fail"
    assert stray in r["PM-NET-001"]["message"] or stray in json.dumps(r["PM-NET-001"]["observed"])
    assert r["CE-NET-001"]["status"] == "not_applicable"  # not internet-facing
    assert results(full["doc"], "network:dmz")["PM-NET-001"]["status"] == "pass"


def test_gateway_open_filtered_and_closed_ports(full: dict[str, Any]) -> None:
    """Per-host exposure: gw01's nftables leaves 22 and 443 open, drops 80 and 445 (filtered),
    resets 3389 (closed); the recorded XML is the evidence."""
    truth = full["estate"].host("gw01")["firewall"]
    facts = record(full["doc"], "network:dmz")["facts"]
    (gw,) = facts["exposure.hosts"]
    assert gw["host"] == "gw01"
    assert gw["open"] == [f"{p}/tcp" for p in truth["open"]]
    assert {f"{p}/tcp" for p in truth["filtered"]} <= set(gw["filtered"])
    assert {f"{p}/tcp" for p in truth["closed"]} <= set(gw["closed"])
    assert "161/udp" in gw["open_filtered"] + gw["closed"] + gw["filtered"]  # no agent there
    xml = record(full["doc"], "network:dmz")["sections"]["net.nmap"]["stdout"]
    assert ET.fromstring(xml).get("scanner") == "nmap"  # noqa: S314 - nmap's XML from this test


def test_internet_facing_network_with_only_443_allowed_fails_for_22(full: dict[str, Any]) -> None:
    r = results(full["doc"], "network:dmz")
    for rule in ("CE-NET-001", "CE-NET-002"):
        assert r[rule]["status"] == "fail", r[rule]
        assert "22/tcp" in r[rule]["message"] and "443/tcp" not in r[rule]["message"]
    facts = record(full["doc"], "network:dmz")["facts"]
    assert [a["port"] for a in facts["exposure.allowed_open"]] == ["443/tcp"]
    assert facts["exposure.allowed_open"][0]["reason"].startswith("public web site")
    ok = results(full["doc"], "network:dmz-ssh")
    assert ok["CE-NET-001"]["status"] == "pass", ok["CE-NET-001"]
    assert ok["CE-NET-002"]["status"] == "pass", ok["CE-NET-002"]


def test_default_snmp_community(full: dict[str, Any]) -> None:
    public = results(full["doc"], "sw-core-01")["CE-NET-003"]
    assert public["status"] == "fail" and public["observed"]["snmp.default_communities"] == [
        "public"]
    for device in ("ups01", "rtr-old", "rtr-lts", "odd01", "sw-2960plus", "sw-2960"):
        assert results(full["doc"], device)["CE-NET-003"]["status"] == "pass", device


def test_snmp_identity_of_a_cisco_switch_and_classic_ios_lifecycle(full: dict[str, Any]) -> None:
    truth = full["estate"].host("sw-core-01")["snmp"]
    rec = record(full["doc"], "sw-core-01")
    facts = rec["facts"]
    assert rec["transport"] == "snmp" and rec["platform"] == "network" and rec["reachable"]
    assert facts["snmp.sysdescr"] == truth["sysdescr"]
    assert facts["snmp.sysobjectid"] == truth["sysobjectid"].lstrip(".")
    assert facts["snmp.sysname"] == "sw-core-01"
    assert facts["snmp.sysuptime_seconds"] > 0
    assert facts["snmp.entities"] == [{"index": 1, "firmware_rev": "15.0(2)SE4"}]
    assert (facts["device.vendor"], facts["firmware.product"], facts["firmware.version"]) == (
        "Cisco", "cisco-ios", "15.0(2)SE4")
    # classic IOS 15.0(2)SE has no sourced date (only 15.8(3)M and 15.9(3)M are in the device
    # overlay): an error that says so, never a pass
    r = results(full["doc"], "sw-core-01")
    for rule in ("CE-FWM-001", "CE-FWM-002", "CE-FWM-003", "PM-FWM-001"):
        assert r[rule]["status"] == "error", r[rule]
        assert "version 15.0(2)SE4 of cisco-ios is not in the lifecycle catalogue" in r[rule][
            "message"]
    assert "Version 15.0(2)SE4" in rec["sections"]["snmp.system"]["stdout"]  # the evidence


def test_firmware_lifecycle_fails_an_old_router_and_passes_a_current_one(
        full: dict[str, Any]) -> None:
    old = results(full["doc"], "rtr-old")
    for rule in ("CE-FWM-001", "CE-FWM-002", "CE-FWM-003", "PM-FWM-001"):
        assert old[rule]["status"] == "fail", old[rule]
    facts = record(full["doc"], "rtr-old")["facts"]
    assert (facts["firmware.cycle"], facts["firmware.supported"]) == ("6.40", False)
    assert facts["firmware.latest_in_cycle"] == "6.40.9"
    assert any(c.startswith("CVE-2018-14847") for c in facts["firmware.kev_cves"])
    assert facts["device.serial"] == "D0F30ABC1234"
    new = results(full["doc"], "rtr-lts")
    for rule in ("CE-FWM-001", "CE-FWM-002", "CE-FWM-003", "PM-FWM-001"):
        assert new[rule]["status"] == "pass", new[rule]
    evidence = json.loads(record(full["doc"], "rtr-lts")["sections"]["net.firmware"]["stdout"])
    assert evidence["release"]["cycle"] == "7.21" and evidence["release"]["source"] == (
        "endoflife.date")


def test_unknown_sysdescr_and_unknown_version_are_errors_with_reasons(
        full: dict[str, Any]) -> None:
    odd = results(full["doc"], "odd01")
    for rule in ("CE-FWM-001", "CE-FWM-002", "CE-FWM-003", "PM-FWM-001"):
        assert odd[rule]["status"] == "error"
        assert "unknown device: sysDescr 'Acme WidgetOS" in odd[rule]["message"]
    nxt = results(full["doc"], "rtr-next")
    for rule in ("CE-FWM-001", "CE-FWM-002", "CE-FWM-003", "PM-FWM-001"):
        assert nxt[rule]["status"] == "error"
        assert "version 8.0.1 of routeros is not in the lifecycle catalogue" in nxt[rule]["message"]


def test_an_snmp_agent_that_does_not_answer(full: dict[str, Any]) -> None:
    rec = record(full["doc"], "ghost-sw")
    assert rec["reachable"] is False and rec["error_kind"] == "unreachable"
    assert "no SNMP answer from" in rec["error"]
    r = results(full["doc"], "ghost-sw")
    assert r and all(x["status"] in ("error", "not_applicable") for x in r.values())
    for rule in ("CE-NET-003", "CE-FWM-001"):
        assert r[rule]["status"] == "error" and "no SNMP answer" in r[rule]["message"]


def test_linux_gateway_default_policies(full: dict[str, Any]) -> None:
    gw = results(full["doc"], "gw01")["CE-NET-004"]
    assert gw["status"] == "pass", gw
    assert gw["observed"]["gateway.ruleset"] == "nftables"
    opengw = results(full["doc"], "opengw")["CE-NET-004"]
    assert opengw["status"] == "fail" and "gateway.input_policy is 'accept'" in opengw["message"]
    web = results(full["doc"], "web01")["CE-NET-004"]  # not a gateway: says so
    assert (web["status"], web["na_reason"]) == ("not_applicable", "role")


def test_unprivileged_scan_uses_connect_and_says_udp_is_unknown(
        net_estate: Estate, tmp_path: Path) -> None:
    """nmap as an ordinary user (``nobody``): -sT, no UDP, and rules that need UDP give an
    error rather than a pass; the scanner's own address is still not an unmanaged device."""
    gw = net_estate.host("gw01")["address"]
    code = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from scanner import inventory
from scanner.engine import network
from scanner.engine.options import Options
inv = inventory.parse({{"all": {{"hosts": {{"gw01": {{"address": "{gw}"}},
                                           "web01": {{"address": "{net_estate.host('web01')['address']}"}}}}}},
                       "networks": [{{"name": "lan", "cidr": "{net_estate.subnet}"}},
                                    {{"name": "dmz", "cidr": "{gw}/32", "internet_facing": True,
                                      "allowed_ports": [{{"port": "22/tcp", "reason": "admin"}},
                                                        {{"port": "443/tcp", "reason": "web"}}]}}]}}, "inv")
out = {{}}
for net in inv.networks:
    rec = network.scan_network(net, inv, Options())
    out[net["name"]] = {{"args": rec["connection"]["args"], "facts": rec["facts"],
                         "errors": rec["fact_errors"], "error": rec["error"]}}
print(json.dumps(out))
"""
    p = net_estate.run_in_scanner(["setpriv", "--reuid=nobody", "--regid=nogroup",
                                   "--clear-groups", sys.executable, "-c", code], cwd="/")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    dmz, lan = out["dmz"], out["lan"]
    assert dmz["error"] is None and "-sT" in dmz["args"] and "-sU" not in dmz["args"]
    assert dmz["facts"]["exposure.udp_scanned"] is False
    assert "UDP scans need root" in dmz["errors"]["exposure.admin_interfaces"]
    assert net_estate.scanner_address not in [u["address"] for u in
                                              lan["facts"]["network.unmanaged"]]
    assert net_estate.host("stray01")["address"] in [u["address"] for u in
                                                     lan["facts"]["network.unmanaged"]]


def test_an_address_outside_every_network_is_refused(net_estate: Estate) -> None:
    """Nothing is sent: the scope refuses before nmap starts (a missing nmap binary proves it
    never ran), for an address outside the estate and for a network that only overlaps."""
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from scanner import inventory
from scanner.engine import network
from scanner.errors import UsageError
from scanner.engine.transports import nmap
inv = inventory.parse({{"all": {{"hosts": {{"web01": {{"address": "{net_estate.host('web01')['address']}"}}}}}},
                       "networks": [{{"name": "lan", "cidr": "{net_estate.subnet}"}}]}}, "inv")
scope = network.Scope(inv)
scope.check("{net_estate.host('web01')['address']}")
scope.check("{net_estate.subnet}")
for target in ("192.0.2.10", "10.213.0.0/16", "198.51.100.0/24"):
    try:
        nmap.run(target, {{"name": "x", "cidr": target}}, scope.check, 10, True,
                 nmap_path=("/nonexistent/nmap",))
    except UsageError as e:
        print("refused", target, str(e).split(":")[0])
    else:
        print("SCANNED", target)
"""
    p = net_estate.run_in_scanner([sys.executable, "-c", code])
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines == ["refused 192.0.2.10 refused to scan 192.0.2.10",
                     "refused 10.213.0.0/16 refused to scan 10.213.0.0/16",
                     "refused 198.51.100.0/24 refused to scan 198.51.100.0/24"], lines


def test_ssh_cli_mode_runs_each_command_on_its_own_channel(net_estate: Estate,
                                                           tmp_path: Path) -> None:
    """A real sshd (a Debian host) declared as an OPNsense and a pfSense: one connection, the
    device's read-only commands on their own channels, the host key checked as for any host.
    Their commands do not exist there: errors with the reason, never a pass."""
    web = net_estate.host("web01")["address"]
    inv = tmp_path / "cli.yaml"
    inv.write_text(yaml.safe_dump({"all": {
        "vars": {"user": "root", "key_file": str(net_estate.key_file),
                 "known_hosts": str(net_estate.known_hosts), "timeout": 60},
        "hosts": {
            "fw-opn": {"address": web, "platform": "network", "device": "opnsense",
                       "check_default_community": False},
        }}}))
    code, doc, _ = scan(net_estate, inv, tmp_path)
    rec = record(doc, "fw-opn")
    assert rec["reachable"], rec["error"]
    assert rec["connection"]["mode"] == "cli"
    assert rec["connection"]["host_key"]["fingerprint"].startswith("SHA256:")
    section = rec["sections"]["netos.opnsense"]
    assert section["stdout"].startswith("@@block version\n")
    assert "@@rc 127" in section["stdout"]  # the shell of a Debian host has no opnsense-version
    r = results(doc, "fw-opn")
    assert r["UNDONE-SSH-001"]["status"] == "pass"  # the host key is on record
    assert r["CE-NET-003"]["status"] == "not_applicable"  # probe turned off in the inventory
    for rule in ("CE-FWM-001", "CE-FWM-002", "CE-FWM-003"):
        assert r[rule]["status"] == "error"
        assert "opnsense-version" in r[rule]["message"] and "exit 127" in r[rule]["message"]
    assert code == 3  # no fail, but errors: incomplete


# -- issue 13 §4: hardware end of support, firmware we could not date, the local overlay -------
# The verdicts below hold on any day after 2026-10-31 (the 2960-Plus's last day of support, and
# the local rows' dates, are past); the estate's clock is the machine's.


def test_a_catalyst_2960_plus_past_its_last_day_of_support_fails(full: dict[str, Any]) -> None:
    rec = record(full["doc"], "sw-2960plus")
    facts = rec["facts"]
    assert (facts["device.model"], facts["device.serial"]) == ("WS-C2960+24TC-L", "FOC1750W0AB")
    assert facts["hardware.family"] == "Catalyst 2960-Plus"
    assert facts["hardware.last_support_date"] == "2026-10-31"
    assert facts["hardware.lifecycle_class"] == "secondary"
    assert "refs/pull/4708/head" in facts["hardware.lifecycle_source"]
    r = results(full["doc"], "sw-2960plus")
    for rule in ("CE-FWM-004", "CE-FWM-001", "PM-FWM-002"):
        assert r[rule]["status"] == "fail", r[rule]
    assert r["CE-FWM-004"]["observed"]["hardware.model"] == "WS-C2960+24TC-L"
    assert "past its last day of support" in r["CE-FWM-001"]["observed"][
        "firmware.support_basis"]
    assert "eos-eol-notice-c51-744423" in rec["sections"]["net.firmware"]["stdout"]  # evidence
    assert facts["lifecycle.undated"] == []


def test_a_catalyst_2960_on_12_2_55_se12_cannot_be_dated(full: dict[str, Any],
                                                         tmp_path: Path) -> None:
    facts = record(full["doc"], "sw-2960")["facts"]
    assert (facts["firmware.product"], facts["firmware.version"], facts["device.model"]) == (
        "cisco-ios", "12.2(55)SE12", "WS-C2960-24TT-L")
    r = results(full["doc"], "sw-2960")
    for rule in ("CE-FWM-001", "CE-FWM-004"):
        assert r[rule]["status"] == "error", r[rule]
    assert "version 12.2(55)SE12 of cisco-ios is not in the lifecycle catalogue" in r[
        "CE-FWM-001"]["message"]
    assert "WS-C2960-24TT-L has no sourced last day of support" in r["CE-FWM-004"]["message"]
    # the HTML report lists it under "firmware we could not date", with what to ask for
    from reports import html

    out = tmp_path / "report.html"
    with out.open("w", encoding="utf-8") as fh:
        html.render(full["doc"], fh)
    page = out.read_text()
    section = page[page.index('id="undated"'):page.index('id="waivers"')]
    assert "sw-2960<" in section and "WS-C2960-24TT-L" in section
    assert "cisco-ios 12.2(55)SE12" in section
    assert "End of Vulnerability/Security Support" in section
    assert "The end of security fixes for Cisco IOS 12.2(55)SE." in section
    assert "sw-2960plus" not in section  # dated (as a failure)


def test_a_local_overlay_row_with_a_source_dates_the_2960(net_estate: Estate,
                                                          tmp_path: Path) -> None:
    url_fw = "https://provider.example/bulletins/cisco-ios-12.2SE-end-of-life.pdf"
    url_hw = "https://provider.example/bulletins/catalyst-2960-end-of-life.pdf"
    inv = inventory(net_estate, tmp_path / "inventory.yaml", ["sw-2960"], lifecycle=[
        # test values (provider.example): what an auditor would copy from a vendor bulletin
        {"product": "cisco-ios", "train": "12.2(55)SE", "end_of_support": "2019-01-31",
         "source": url_fw},
        {"vendor": "Cisco", "model": "WS-C2960-24TT-L", "last_day_of_support": "2019-10-31",
         "source": url_hw}])
    code, doc, stderr = scan(net_estate, inv, tmp_path)
    assert code == 1, stderr
    facts = record(doc, "sw-2960")["facts"]
    assert (facts["firmware.cycle"], facts["firmware.eol_date"]) == ("12.2(55)SE", "2019-01-31")
    assert facts["firmware.lifecycle_class"] == "local"
    assert facts["firmware.lifecycle_source"].startswith(url_fw + " (local overlay, ")
    assert "lifecycle[0]" in facts["firmware.lifecycle_source"]
    r = results(doc, "sw-2960")
    assert r["CE-FWM-001"]["status"] == "fail"
    assert r["CE-FWM-001"]["observed"]["firmware.lifecycle_class"] == "local"
    assert r["CE-FWM-004"]["status"] == "fail"
    assert r["CE-FWM-004"]["observed"]["hardware.lifecycle_source"].startswith(url_hw)
    assert facts["lifecycle.undated"] == []
    # a row without its source is refused before anything is scanned
    bad = inventory(net_estate, tmp_path / "bad.yaml", ["sw-2960"], lifecycle=[
        {"product": "cisco-ios", "train": "12.2(55)SE", "end_of_support": "2019-01-31"}])
    code, _, stderr = scan(net_estate, bad, tmp_path)
    assert code == 2
    assert stderr.strip().splitlines() == [
        f"{bad}: lifecycle[0].source: missing; expected the http(s) URL of the page that gives "
        "these dates (a vendor bulletin, a support notice)"]
