"""The transports a host can be collected over, by name: everything the plan and the collector
(scanner/engine/collect.py) need to dispatch a host, so that adding a transport is a change in
this folder only: its module beside this one, and its :class:`Transport` entry in
:data:`REGISTERED` below.

An entry says which probe family its batch's sections come from (``posix``: ``.sh`` sections,
``windows``: ``.ps1``), which platforms a host reached this way may be when the inventory does not
say, which batch builder it sends (:func:`scanner.engine.batch.build`,
:func:`scanner.engine.winbatch.build`), how it runs a batch (one signature for every transport:
:data:`Runner`, an adapter over the module's own ``run``), which of its hosts are network devices
collected by scanner/engine/network.py instead of a batch, and what facts it adds from what it
knows about the connection.

The transport's name is also a word of the contract, written outside this folder by the layering:
the inventory (a lower layer, which may not import the engine) checks ``transport:`` against
:data:`scanner.vocab.HOST_TRANSPORTS`, and the result document's schema
(scanner/schema/scan.schema.json) lists it in the host record's ``transport`` enum.
tests/unit/scanner/engine/test_transport_registry.py fails, naming the file to edit, when this
registry, the vocabulary and the schema do not say the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from probes import Section
from scanner.engine import batch, winbatch
from scanner.engine.batch import Batch
from scanner.engine.options import Options
from scanner.engine.transports import Stream, local, ssh, winrm
from scanner.errors import CollectError
from scanner.inventory import Host
from scanner.vocab import POSIX_PLATFORMS

#: builds a host's one batch: (sections, section timeout, per-section environment) -> Batch
Builder = Callable[[list[Section], int, dict[str, dict[str, str]]], Batch]
#: runs a batch on a host once: (host, batch, deadline on time.monotonic(), the scan's options,
#: the scan's SSH connector: known hosts, keys and jump hosts, shared by every host of the
#: scan) -> Stream. Raises a CollectError (with a one-line reason) when the host cannot be reached.
Runner = Callable[[Host, Batch, float, Options, ssh.Connector | None], Stream]
#: adds facts from the connection record (``Stream.connection``): (connection, facts, errors)
ConnectionFacts = Callable[[dict[str, Any], dict[str, Any], dict[str, str]], None]


def _never(host: Host) -> bool:
    return False


def _always(host: Host) -> bool:
    return True


@dataclass(frozen=True)
class Transport:
    """One transport, as the plan and the collector see it."""

    name: str
    #: the probe family whose sections its batch runs (``posix``, ``windows``); None: it runs no
    #: batch (its hosts are all network devices, see ``device``)
    family: str | None
    #: the platforms a host reached this way may be when the inventory does not declare one
    #: (the plan plans the rules of each)
    platforms: tuple[str, ...] = ()
    build: Builder | None = None
    run: Runner | None = None
    #: whether a host of this transport is a network device, collected by
    #: scanner/engine/network.py (``collect_device``) instead of a batch
    device: Callable[[Host], bool] = _never
    #: facts this transport adds from its connection record, after the sections' facts
    connection_facts: ConnectionFacts | None = None


def _run_local(host: Host, batch: Batch, deadline: float, opts: Options,
               connector: ssh.Connector | None) -> Stream:
    return local.run(host, batch, deadline, opts.cap, opts.total_cap, opts.cancel,
                     opts.idle_timeout())


def _run_ssh(host: Host, batch: Batch, deadline: float, opts: Options,
             connector: ssh.Connector | None) -> Stream:
    if connector is None:
        raise CollectError("internal: SSH host without a connector")
    sopts = ssh.Options(
        connect_timeout=host.connect_timeout or opts.connect_timeout,
        cap=opts.cap,
        total_cap=opts.total_cap,
        idle_timeout=opts.idle_timeout(),
    )
    return ssh.run(host, batch, deadline, connector, sopts)


def _run_winrm(host: Host, batch: Batch, deadline: float, opts: Options,
               connector: ssh.Connector | None) -> Stream:
    wopts = winrm.Options(
        connect_timeout=host.connect_timeout or opts.connect_timeout,
        cap=opts.cap,
        total_cap=opts.total_cap,
        cancel=opts.cancel,
    )
    return winrm.run(host, batch, deadline, wopts)


def _network_platform(host: Host) -> bool:
    # SSH "cli" mode: a network device's own command line, no POSIX shell
    return host.platform == "network"


#: every transport an inventory host can name, by name (the engine looks a host's transport up
#: here on every host, so a test may add one with monkeypatch.setitem)
REGISTERED: Final[dict[str, Transport]] = {t.name: t for t in (
    Transport("local", "posix", POSIX_PLATFORMS, batch.build, _run_local),
    Transport("ssh", "posix", POSIX_PLATFORMS, batch.build, _run_ssh, device=_network_platform),
    Transport("winrm", "windows", ("windows",), winbatch.build, _run_winrm,
              connection_facts=winrm.connection_facts),
    # SNMP asks the device from the scanner's side (transports/snmp.py): no batch
    Transport("snmp", None, device=_always),
)}


def lookup(name: str) -> Transport | None:
    """The registered transport of this name, or None."""
    return REGISTERED.get(name)


def names() -> tuple[str, ...]:
    """The names of the registered transports."""
    return tuple(REGISTERED)
