"""Scanner-side sections that are a change in one folder, probes/:

* a network OS read over SSH (probes/netos/): its module declares the inventory's device names
  it reads (``DEVICES``) and its commands (``COMMANDS``), and the inventory and
  scanner/engine/network.py take both from discovery (:func:`probes.netos.readers`);
* an SNMP section of fixed OIDs (probes/snmp/): its module declares its GETs and walks
  (``SNMP``), and the engine asks them of every SNMP device (:func:`probes.snmp.queries`).

Each proof runs the real code on a copy of ``probes/`` with one more module (nothing else
changed, scanner/ untouched). SSH: the inventory accepts a host of the new device, the engine
sends the module's commands over a real SSH connection (tests/sshserver.py on 127.0.0.1) and
records its section with the parser's facts; before, the inventory refused the device (its
names were a tuple in scanner/inventory/model.py) and the engine did not know it (a map in
scanner/engine/network.py). SNMP: a real snmpd on the loopback of a network namespace of the
test's own (``unshare --net``) answers the new section's GET and walk; before, the engine asked
only what snmp.system and snmp.community need."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import probes
from probes import netos, sections
from probes import snmp as snmp_sections
from scanner.engine import network
from scanner.inventory import Host
from scanner.inventory.model import DEVICES

ROOT = Path(__file__).parents[4]

# What each device was sent, and by which section, before the map moved into probes/netos/:
# the commands are the contract (tests/integration/test_network_estate.py runs them for real).
BEFORE = {
    "fortios": ("netos.fortios", {"system_status": "get system status"}),
    "routeros": ("netos.routeros", {"resource": "/system resource print",
                                    "routerboard": "/system routerboard print"}),
    "ios": ("netos.ios", {"version": "show version"}),
    "iosxe": ("netos.ios", {"version": "show version"}),
    "opnsense": ("netos.opnsense", {"version": "opnsense-version"}),
    "pfsense": ("netos.pfsense", {"version": "cat /etc/version"}),
}

# the throwaway network OS: a module as a newcomer would write it, and nothing else
ACMEOS = '''\
"""netos.acmeos: a network OS that exists only in this test."""

from __future__ import annotations

from probes.base import Facts, RawSection, guard, split_blocks
from probes.netos._common import output

DEVICES = ("acmeos", "acmeos-lts")
ANSIBLE_NETWORK_OS = ("acme.acmeos.acmeos",)
COMMANDS = {"version": "show acme version", "serial": "show acme serial"}
QUERY = "SSH, read-only CLI commands, one channel each: show acme version; show acme serial"
PROVIDES = ("device.vendor", "device.serial", "firmware.version")


def _body(raw: RawSection, f: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    text, why = output(blocks, "version", COMMANDS["version"])
    if text is None:
        f.error_all(PROVIDES, why or "no output")
        return
    f.set("device.vendor", "Acme")
    f.set("firmware.version", text.split()[1])
    serial, why = output(blocks, "serial", COMMANDS["serial"])
    if serial is None:
        f.error("device.serial", why or "no output")
    else:
        f.set("device.serial", serial.strip())


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
'''

# runs in a fresh interpreter whose ``probes`` is the copy (its folder comes first on sys.path)
CHILD = '''\
import json, os, sys
from pathlib import Path

import probes
here = Path(__file__).parent
assert Path(probes.__file__).resolve().parent == (here / "probes").resolve(), probes.__file__

from scanner import inventory
from scanner.engine import network
from scanner.engine.collect import collect_host
from scanner.engine.options import Options
from scanner.engine.transports import ssh
from scanner.errors import InventoryError
from tests.sshserver import SSHServer, serving

REPLIES = {"show acme version": "AcmeOS 4.2.1 build 77\\n", "show acme serial": "ACME-0001\\n"}
out = {}
with serving(SSHServer("reply", passwords={"ops": "pw"}, replies=REPLIES)) as srv:
    kh = here / "known_hosts"
    kh.write_text(srv.known_hosts_line() + "\\n")
    os.environ["UNDONE_TEST_ACME_PW"] = "pw"
    inv = inventory.parse({"all": {"hosts": {"edge01": {
        "address": "127.0.0.1", "port": srv.port, "user": "ops",
        "password_env": "UNDONE_TEST_ACME_PW", "known_hosts": str(kh),
        "platform": "network", "device": "acmeos-lts", "check_default_community": False,
    }}}}, "inv.yaml")
    host = inv.hosts[0]
    out["host"] = [host.platform, host.transport, host.device]
    out["is_device"] = network.is_device(host)
    rec = collect_host(host, [], Options(), ssh.Connector(str(here / "own_known_hosts")))
    out["commands"] = list(srv.log.commands)
out["record"] = rec
try:
    inventory.parse({"all": {"hosts": {"x": {"address": "192.0.2.1", "platform": "network",
                                             "device": "acmeoz"}}}}, "inv.yaml")
except InventoryError as e:
    out["problems"] = list(e.lines) if hasattr(e, "lines") else [str(e)]
# an Ansible inventory's network_cli host with the OS's ansible_network_os
ansible = inventory.parse({"all": {"hosts": {"sw": {
    "ansible_host": "192.0.2.2", "ansible_connection": "ansible.netcommon.network_cli",
    "ansible_network_os": "acme.acmeos.acmeos"}}}}, "inv.yaml").hosts[0]
out["ansible"] = [ansible.platform, ansible.transport, ansible.device]
print(json.dumps(out, default=str))
'''


def _run_with(tmp_path: Path, module: str, text: str, child: str,
              prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """Copy probes/ to ``tmp_path``, add ``module`` (a path under probes/) holding ``text``,
    and run ``child`` in a fresh interpreter that imports that copy; its printed JSON."""
    shutil.copytree(ROOT / "probes", tmp_path / "probes",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "probes" / module).write_text(text)
    (tmp_path / "child.py").write_text(child)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([*prefix, sys.executable, str(tmp_path / "child.py")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def test_a_new_network_os_is_one_module_in_probes_netos(tmp_path: Path) -> None:
    out = _run_with(tmp_path, "netos/acmeos.py", ACMEOS, CHILD)
    # the inventory accepts the new device, and the engine collects it as a network device
    assert out["host"] == ["network", "ssh", "acmeos-lts"]
    assert out["is_device"] is True
    # the module's commands, one channel each, in its order, and nothing else
    assert out["commands"] == ["show acme version", "show acme serial"]
    rec = out["record"]
    assert rec["reachable"] is True, rec["error"]
    assert rec["connection"]["mode"] == "cli"
    section = rec["sections"]["netos.acmeos"]
    assert section["status"] == "ok", section
    assert section["stdout"] == ("@@block version\nAcmeOS 4.2.1 build 77\n\n@@rc 0\n"
                                 "@@block serial\nACME-0001\n\n@@rc 0\n")
    facts = rec["facts"]
    assert (facts["device.vendor"], facts["firmware.version"], facts["device.serial"]) == (
        "Acme", "4.2.1", "ACME-0001")
    # the engine's own sections still follow (the community probe turned off, the lifecycle)
    assert {"snmp.community", "net.firmware"} <= set(rec["sections"])
    # an unknown device is refused, and the message lists the new names (module-name order)
    assert any("'device' is 'acmeoz', expected one of acmeos, acmeos-lts, fortios, ios, iosxe, "
               "opnsense, pfsense, routeros, linux-gateway" in line
               for line in out["problems"]), out["problems"]
    # and an Ansible inventory's network_cli host of that OS is read as its first device
    assert out["ansible"] == ["network", "ssh", "acmeos"]


# the throwaway SNMP section: fixed OIDs, declared in the module
ACMEINFO = '''\
"""snmp.acmeinfo: an SNMP section that exists only in this test."""

from __future__ import annotations

from probes.base import Facts, RawSection, guard, split_blocks
from probes.snmp import Get, Walk, parse_varbinds

SNMP = {"name": Get(("1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0")), "system": Walk("1.3.6.1.2.1.1")}
QUERY = "SNMP: GET sysName.0 sysLocation.0; GETBULK walk of the system group"
PROVIDES = ("acme.sysname", "acme.location", "acme.system_varbinds")


def _body(raw: RawSection, f: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    name = parse_varbinds(blocks["name"].text)
    f.set("acme.sysname", name["1.3.6.1.2.1.1.5.0"].value)
    f.set("acme.location", name["1.3.6.1.2.1.1.6.0"].value)
    f.set("acme.system_varbinds", len(parse_varbinds(blocks["system"].text)))


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
'''

# runs inside a network namespace of its own: its loopback, a real snmpd on it, the scan
SNMP_CHILD = '''\
import json, os, subprocess, time
from pathlib import Path

import probes
here = Path(__file__).parent
assert Path(probes.__file__).resolve().parent == (here / "probes").resolve(), probes.__file__

subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
(here / "persist").mkdir()
(here / "snmpd.conf").write_text("agentAddress udp:127.0.0.1:161\\nrocommunity acme-ro 127.0.0.1\\n"
                                 "sysName acme-sw-01\\nsysLocation rack 4\\n")
log = here / "snmpd.log"
agent = subprocess.Popen(
    ["snmpd", "-f", "-C", "-c", str(here / "snmpd.conf"), "-Lf", str(log), "-p",
     str(here / "snmpd.pid")],
    env=dict(os.environ, SNMP_PERSISTENT_DIR=str(here / "persist"), MIBS=""))
try:
    for _ in range(200):
        if log.exists() and "NET-SNMP version" in log.read_text():
            break
        time.sleep(0.05)
    from scanner import inventory
    from scanner.engine.collect import collect_host
    from scanner.engine.options import Options

    os.environ["UNDONE_TEST_ACME_COMM"] = "acme-ro"
    inv = inventory.parse({"all": {"hosts": {"sw": {
        "address": "127.0.0.1", "port": 161, "transport": "snmp",
        "community_env": "UNDONE_TEST_ACME_COMM", "check_default_community": False,
    }}}}, "inv.yaml")
    rec = collect_host(inv.hosts[0], [], Options())
finally:
    agent.terminate()
    agent.wait(5)
print(json.dumps({"record": rec}, default=str))
'''


def test_a_new_snmp_section_of_fixed_oids_is_one_module_in_probes_snmp(tmp_path: Path) -> None:
    if shutil.which("snmpd") is None or shutil.which("unshare") is None:
        if os.environ.get("CI"):
            pytest.fail("snmpd and unshare are needed (.ci/test.sh installs them)")
        pytest.skip("snmpd or unshare not installed")
    out = _run_with(tmp_path, "snmp/acmeinfo.py", ACMEINFO, SNMP_CHILD,
                    prefix=("unshare", "--net", "--"))
    rec = out["record"]
    assert rec["reachable"] is True, rec["error"]
    assert rec["sections"]["snmp.system"]["status"] == "ok"  # asked as before
    section = rec["sections"]["snmp.acmeinfo"]
    assert section["status"] == "ok", section
    assert section["stdout"].startswith(
        '@@block name\n.1.3.6.1.2.1.1.5.0 = STRING: "acme-sw-01"\n'
        '.1.3.6.1.2.1.1.6.0 = STRING: "rack 4"\n@@rc 0\n@@block system\n'), section["stdout"]
    facts = rec["facts"]
    assert (facts["acme.sysname"], facts["acme.location"]) == ("acme-sw-01", "rack 4")
    # the walk of the system group: at least sysDescr, sysObjectID, sysUpTime, sysName, sysLocation
    assert facts["acme.system_varbinds"] >= 5
    assert facts["snmp.sysname"] == "acme-sw-01"


# -- what discovery gives today ---------------------------------------------------------------


def test_the_readers_send_each_device_the_commands_it_was_sent_before() -> None:
    got = {d: (r.section, dict(r.commands)) for d, r in netos.readers().items()}
    assert got == BEFORE


def test_ansible_network_os_names_map_to_the_devices_they_mapped_to_before() -> None:
    assert netos.ansible_network_os() == {
        "ios": "ios", "cisco.ios.ios": "ios", "fortios": "fortios",
        "fortinet.fortios.fortios": "fortios", "routeros": "routeros",
        "community.routeros.routeros": "routeros", "community.network.routeros": "routeros",
    }


def test_every_netos_section_has_a_reader_and_every_reader_a_section() -> None:
    found = {n for n, s in sections().items() if s.family == netos.FAMILY}
    assert {r.section for r in netos.readers().values()} == found


def test_the_inventory_accepts_the_netos_devices_and_linux_gateway() -> None:
    assert (*netos.devices(), "linux-gateway") == DEVICES
    assert set(DEVICES) == {*BEFORE, "linux-gateway"}
    assert "linux-gateway" not in netos.readers()  # a Linux host, scanned by the POSIX batch
    assert all(network.is_device(Host(name="d", address="a", platform="network", device=d))
               for d in BEFORE)
    assert not network.is_device(Host(name="g", address="a", platform="network",
                                      device="linux-gateway"))


@pytest.fixture
def fresh_readers() -> Any:
    netos.readers.cache_clear()
    yield
    netos.readers.cache_clear()


def _with(monkeypatch: pytest.MonkeyPatch, topics: list[str], **modules: types.ModuleType) -> None:
    monkeypatch.setattr(netos, "scanner_topics", lambda family: topics)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, f"probes.netos.{name}", module)


def _module(**attrs: Any) -> types.ModuleType:
    m = types.ModuleType("probes.netos.x")
    for k, v in attrs.items():
        setattr(m, k, v)
    return m


@pytest.mark.usefixtures("fresh_readers")
def test_a_device_two_modules_claim_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _with(monkeypatch, ["ios", "copy"], copy=_module(DEVICES=("iosxe",), COMMANDS={"v": "v"}))
    with pytest.raises(ValueError, match=r"'iosxe' is read by both netos\.ios and netos\.copy"):
        netos.readers()


@pytest.mark.usefixtures("fresh_readers")
def test_an_ansible_network_os_two_modules_claim_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _with(monkeypatch, ["ios", "copy"], copy=_module(DEVICES=("ciscoish",), COMMANDS={"v": "v"},
                                                     ANSIBLE_NETWORK_OS=("cisco.ios.ios",)))
    with pytest.raises(ValueError, match=r"'cisco\.ios\.ios' is claimed by both"):
        netos.ansible_network_os()


@pytest.mark.usefixtures("fresh_readers")
@pytest.mark.parametrize("attrs, needle", [
    ({"COMMANDS": {"v": "show v"}}, "DEVICES must be a tuple"),
    ({"DEVICES": "acme", "COMMANDS": {"v": "show v"}}, "DEVICES must be a tuple"),
    ({"DEVICES": ("Acme OS",), "COMMANDS": {"v": "show v"}}, "DEVICES must be a tuple"),
    ({"DEVICES": ("acme",)}, "COMMANDS must be a dict"),
    ({"DEVICES": ("acme",), "COMMANDS": {"v": ""}}, "COMMANDS must be a dict"),
    ({"DEVICES": ("acme",), "COMMANDS": {"v": "show v"}, "ANSIBLE_NETWORK_OS": "acme"},
     "ANSIBLE_NETWORK_OS must be a tuple"),
])
def test_a_module_without_its_declarations_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                      attrs: dict[str, Any], needle: str) -> None:
    _with(monkeypatch, ["bad"], bad=_module(**attrs))
    with pytest.raises(ValueError, match=re.escape(f"probes/netos/bad.py: {needle}")):
        netos.readers()


def test_no_shipped_snmp_section_declares_queries_so_devices_are_asked_as_before() -> None:
    """snmp.system and snmp.community are asked by the transport's own steps; a declaration in
    either would send a device more than it was sent before."""
    assert snmp_sections.queries() == {}


@pytest.fixture
def fresh_queries() -> Any:
    snmp_sections.queries.cache_clear()
    yield
    snmp_sections.queries.cache_clear()


@pytest.mark.usefixtures("fresh_queries")
@pytest.mark.parametrize("declared", [
    {},
    {"Name": snmp_sections.Get(("1.3.6.1.2.1.1.5.0",))},
    {"name": snmp_sections.Get(())},
    {"name": snmp_sections.Get((".1.3.6.1.2.1.1.5.0",))},
    {"name": snmp_sections.Walk("system")},
    {"name": "1.3.6.1.2.1.1"},
])
def test_a_malformed_snmp_declaration_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                 declared: dict[str, Any]) -> None:
    monkeypatch.setattr(snmp_sections, "scanner_topics", lambda family: ["bad"])
    monkeypatch.setitem(sys.modules, "probes.snmp.bad", _module(SNMP=declared))
    with pytest.raises(ValueError, match=re.escape("probes/snmp/bad.py: SNMP must be a dict")):
        snmp_sections.queries()


def test_discovery_lists_the_same_modules_for_sections_and_readers() -> None:
    assert probes.scanner_topics("netos") == sorted(
        {r.section.split(".", 1)[1] for r in netos.readers().values()})
