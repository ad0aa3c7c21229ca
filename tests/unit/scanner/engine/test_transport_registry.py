"""The transport registry (scanner/engine/transports/registry.py): a transport is a change in
that folder. The collector dispatches every host through the registry (a transport registered at
test time is collected without a line of scanner/engine/collect.py), and the names written
outside the folder by the layering (the inventory's vocabulary, the schema's enum) are checked
here against the registry, each failure naming the file to edit."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, get_args

import pytest

from probes import sections
from probes.base import RawSection
from probes.scanner import connection as connection_probe
from scanner import inventory, vocab, yamlio
from scanner.engine import batch, collect, network
from scanner.engine.batch import Batch
from scanner.engine.options import Options
from scanner.engine.records import host_stub
from scanner.engine.transports import Stream, new_stream, registry, ssh
from scanner.errors import InputError
from scanner.inventory import Host
from scanner.result import HostRecord

ROOT = Path(__file__).parents[4]
SCHEMA = json.loads((ROOT / "scanner" / "schema" / "scan.schema.json").read_text())
HOST_TRANSPORT_ENUM = SCHEMA["properties"]["hosts"]["items"]["properties"]["transport"]["enum"]
OS_OUTPUT = (ROOT / "tests" / "fixtures" / "posix" / "os" / "debian12_root.out").read_text()


# -- the names: one list per layer, checked against each other ---------------------------------

def test_the_registry_has_exactly_the_inventorys_transports() -> None:
    registered, declared = set(registry.names()), set(vocab.HOST_TRANSPORTS)
    assert registered - declared == set(), (
        f"registered in scanner/engine/transports/registry.py but not a word of the inventory: "
        f"{sorted(registered - declared)}; add it to HOST_TRANSPORTS and HostTransport in "
        "scanner/vocab.py (and to the schema's hosts[].transport enum)")
    assert declared - registered == set(), (
        f"in HOST_TRANSPORTS (scanner/vocab.py) but registered in no transport: "
        f"{sorted(declared - registered)}; add its Transport entry to REGISTERED in "
        "scanner/engine/transports/registry.py, or remove the word from scanner/vocab.py")


def test_the_inventorys_words_are_their_type() -> None:
    assert list(get_args(vocab.HostTransport)) == list(vocab.HOST_TRANSPORTS), (
        "HostTransport and HOST_TRANSPORTS in scanner/vocab.py list different words")


def test_the_schemas_transport_enum_is_the_vocabulary() -> None:
    missing = [t for t in vocab.TRANSPORTS if t not in HOST_TRANSPORT_ENUM]
    assert not missing, (
        f"transports {missing} are not in the host record's transport enum: add them to "
        "properties/hosts/items/properties/transport/enum in scanner/schema/scan.schema.json")
    assert list(vocab.TRANSPORTS) == HOST_TRANSPORT_ENUM, (
        "the host record's transport enum in scanner/schema/scan.schema.json and TRANSPORTS in "
        f"scanner/vocab.py differ: {HOST_TRANSPORT_ENUM} against {list(vocab.TRANSPORTS)} "
        "(the schema is the published contract: change scanner/vocab.py to match it, in order)")


@pytest.mark.parametrize("name", [*vocab.TRANSPORTS, "pigeon"])
def test_the_connection_section_reads_any_transports_record(name: str) -> None:
    # probes may import nothing of scanner, so the scanner.connection parser keeps no list of
    # names (a new transport would have to be written there too): any name the scanner writes
    raw = RawSection(name="scanner.connection", stdout=f"transport: {name}\n", stderr="",
                     exit_code=0)
    facts = connection_probe.parse(raw)
    assert facts.values["connection.transport"] == name
    bad = connection_probe.parse(RawSection(name="scanner.connection",
                                            stdout="transport: Bad Name\n", stderr="",
                                            exit_code=0))
    assert "connection.transport" in bad.errors


def _inventory(host: str) -> inventory.Inventory:
    text = f"all:\n  hosts:\n    h1: {{address: 192.0.2.1, {host}}}\n"
    return inventory.parse(yamlio.load_text(text, "inv.yaml"), "inv.yaml")


@pytest.mark.parametrize("name", registry.names())
def test_the_inventory_takes_each_registered_transport(name: str) -> None:
    extra = {"snmp": ", community_env: SNMP_RO", "winrm": ", user: scan, password_env: PW"}
    inv = _inventory(f"transport: {name}{extra.get(name, '')}")
    assert [h.transport for h in inv.hosts] == [name]


def test_the_inventory_refuses_a_transport_it_does_not_know() -> None:
    with pytest.raises(InputError) as e:
        _inventory("transport: telnet")
    # the contract's problem line, word for word
    assert e.value.problems == [
        "inv.yaml: all.hosts.h1: 'transport' is 'telnet', expected one of local, ssh, winrm, "
        "snmp"]


@pytest.mark.parametrize("name", registry.names())
def test_each_entry_can_be_dispatched(name: str) -> None:
    t = registry.lookup(name)
    assert t is not None and t.name == name
    if t.family is None:
        # no batch: every host of it must go to scanner/engine/network.py
        assert t.device(Host(name="h", address="192.0.2.1", transport=name)), name
        return
    assert t.build is not None and t.run is not None, name
    assert t.platforms, name
    assert any(s.family == t.family and s.on_target for s in sections().values()), (
        f"{name}: no section of the family {t.family!r} runs on a target")


def test_collect_py_dispatches_on_no_transport_name() -> None:
    # no `host.transport == "..."` (or `in (...)`) left in the collector: the registry decides
    tree = ast.parse((ROOT / "scanner" / "engine" / "collect.py").read_text())
    found = [
        ast.unparse(node) for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(isinstance(x, ast.Attribute) and x.attr == "transport"
                for x in (node.left, *node.comparators))
    ]
    assert found == [], f"scanner/engine/collect.py compares transports by name: {found}"


# -- the one-folder claim: a transport registered at test time ---------------------------------

def _canned(batch: Batch, cap: int, total_cap: int) -> Stream:
    """What a transport that ran this batch would hand back: each section's real output (the
    Debian 12 capture of posix.os) between the batch's own markers, exit 0."""
    stream = new_stream(batch, cap, total_cap)
    for name in batch.sections:
        begin = f"==undone:{batch.nonce}:BEGIN:{name}==\n".encode()
        end = f"\n==undone:{batch.nonce}:END:{name}:0==\n".encode()
        stream.stdout.feed(begin + OS_OUTPUT.encode() + end)
        stream.stderr.feed(begin + end)
    stream.stdout.close()
    stream.stderr.close()
    stream.exit_status = 0
    stream.connection = {"transport": "pigeon", "carrier": "grey"}
    return stream


def _pigeon(monkeypatch: pytest.MonkeyPatch, calls: list[tuple[Any, ...]],
            **overrides: Any) -> None:
    def run(host: Host, b: Batch, deadline: float, opts: Options,
            connector: ssh.Connector | None) -> Stream:
        calls.append((host.name, b.sections, connector))
        return _canned(b, opts.cap, opts.total_cap)

    def facts(conn: dict[str, Any], facts: dict[str, Any], errors: dict[str, str]) -> None:
        facts["pigeon.carrier"] = conn.get("carrier")

    entry = registry.Transport("pigeon", "posix", vocab.POSIX_PLATFORMS, batch.build, run,
                               connection_facts=facts)
    monkeypatch.setitem(registry.REGISTERED, "pigeon",
                        registry.Transport(**{**entry.__dict__, **overrides}))


def test_a_transport_registered_in_its_folder_is_planned_and_collected(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    _pigeon(monkeypatch, calls)
    host = Host(name="loft", address="192.0.2.7", transport="pigeon")
    needed = collect.plan(host, [])
    assert [s.name for s in needed] == ["posix.os"]  # its family's sections, not windows.os
    rec = collect.collect_host(host, needed, Options(), connector=None)
    assert calls == [("loft", ("posix.os",), None)]
    assert rec["reachable"] is True and rec["error"] is None, rec["error"]
    assert rec["transport"] == "pigeon"
    assert rec["sections"]["posix.os"]["status"] == "ok"
    assert rec["facts"]["os.family"] == "linux"
    assert rec["facts"]["os.version"] == "12 (bookworm)"
    assert rec["facts"]["pigeon.carrier"] == "grey"  # its connection facts, from its entry
    assert rec["platform"] == "linux"
    assert rec["connection"] == {"transport": "pigeon", "carrier": "grey"}


def test_a_registered_transports_unreachable_host_keeps_its_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.errors import UnreachableError

    def refuse(host: Host, b: Batch, deadline: float, opts: Options,
               connector: ssh.Connector | None) -> Stream:
        raise UnreachableError(f"{host.address}: the pigeon did not come back")

    _pigeon(monkeypatch, [], run=refuse)
    host = Host(name="loft", address="192.0.2.7", transport="pigeon")
    rec = collect.collect_host(host, collect.plan(host, []), Options())
    assert rec["reachable"] is False
    assert rec["error"] == "192.0.2.7: the pigeon did not come back"
    assert rec["error_kind"] == "unreachable"


def test_a_registered_device_transport_goes_to_the_network_collector(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def device(host: Host, opts: Options, connector: ssh.Connector | None = None) -> HostRecord:
        seen.append(host.name)
        return host_stub(host)

    monkeypatch.setattr(network, "collect_device", device)
    monkeypatch.setitem(registry.REGISTERED, "semaphore",
                        registry.Transport("semaphore", None, device=lambda h: True))
    host = Host(name="tower", address="192.0.2.8", transport="semaphore")
    assert collect.plan(host, []) == []
    collect.collect_host(host, [], Options())
    assert seen == ["tower"]


def test_an_unregistered_transport_is_not_scanned_and_says_so() -> None:
    host = Host(name="loft", address="192.0.2.7", transport="pigeon")
    assert collect.plan(host, []) == []
    rec = collect.collect_host(host, [], Options())
    assert rec["reachable"] is False
    assert rec["error"] == ("the pigeon transport is not available in this version of undone; "
                            "this host was not scanned")
    assert rec["error_kind"] == "error"
