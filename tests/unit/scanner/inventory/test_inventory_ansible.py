"""undone's inventory reader against Ansible itself.

ansible-core (a test extra) is the oracle: for each real inventory under
tests/fixtures/inventories/ (sources in its SOURCE.md) and each hand-made case under
tests/fixtures/inventories/handmade/ (for spellings no public sample showed), every host is
compared between ``undone inventory --list`` (the built-in reader) and what Ansible resolves:
the hosts and their variables as ``ansible-inventory --list`` computes them (InventoryManager +
VariableManager, the code that command runs), the address, port and user as the connection
plugin's own option resolution gives them (ansible's config manager), the jump host as OpenSSH
itself reads the SSH arguments (``ssh -G``, which prints the configuration and connects to
nothing), and become as Ansible's boolean.

Every inventory either resolves exactly as Ansible does, or is refused with lines that each name
the host and the variable; none is "valid" and different.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from scanner import inventory
from scanner.errors import InputError
from scanner.inventory import connection as conn

ansible = pytest.importorskip("ansible")

ROOT = Path(__file__).parents[3] / "fixtures" / "inventories"
REAL = sorted(p for p in ROOT.iterdir() if p.is_dir() and p.name != "handmade")
HANDMADE = sorted([*(ROOT / "handmade").glob("*.yml"), *(ROOT / "handmade").glob("*/hosts.yml")])


def _inventory_file(folder: Path) -> Path:
    return next(p for p in sorted(folder.iterdir()) if p.suffix in (".yml", ".yaml"))


def ansible_hosts(path: Path) -> dict[str, dict[str, Any]] | str:
    """Each host's variables as ansible-inventory --list computes them; or why Ansible failed."""
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    with tempfile.TemporaryDirectory() as empty:
        loader = DataLoader()
        loader.set_basedir(empty)  # no playbook folder: only the inventory's own vars
        try:
            im = InventoryManager(loader=loader, sources=[str(path)], parse=False)
            im.parse_sources(cache=False)
            vm = VariableManager(loader=loader, inventory=im)
            out = {h.name: vm.get_vars(host=h, include_hostvars=False) for h in im.get_hosts()}
        except AnsibleError as e:
            return f"{type(e).__name__}: {e}"
    if not im._inventory.processed_sources:
        return "Ansible could not parse it"
    return out


def _plugin_value(plugin: str, option: str, hv: dict[str, Any]) -> Any:
    from ansible import constants as C
    from ansible.plugins.loader import connection_loader

    connection_loader.get(plugin, class_only=True)  # registers the plugin's option definitions
    return C.config.get_config_value(option, plugin_type="connection", plugin_name=plugin,
                                     variables=hv)


def _ssh_jump(hv: dict[str, Any], address: str) -> str | None:
    """The ProxyJump OpenSSH itself takes from Ansible's SSH arguments (ssh -G: prints the
    configuration, connects to nothing)."""
    args: list[str] = []
    for var, default in (("ansible_ssh_args", "-C -o ControlMaster=auto -o ControlPersist=60s"),
                         ("ansible_ssh_common_args", ""), ("ansible_ssh_extra_args", "")):
        args += shlex.split(str(hv.get(var, default) or ""))
    out = subprocess.run(["ssh", "-G", "-F", "/dev/null", *args, address], capture_output=True,
                         text=True, timeout=20, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("proxyjump "):
            value = line.split(" ", 1)[1]
            return None if value == "none" else value
    return None


def expected(name: str, hv: dict[str, Any]) -> dict[str, Any]:
    """What Ansible would connect to for one host."""
    from ansible.module_utils.parsing.convert_bool import boolean

    connection = conn.connection_name(hv.get("ansible_connection") or "ssh")
    plugin = {"smart": "ssh", "paramiko": "paramiko_ssh"}.get(connection, connection)
    become = boolean(hv.get("ansible_become", False), strict=False)
    if connection not in conn.CONNECTIONS:
        return {"scanned": False, "connection": connection}
    transport = conn.CONNECTIONS[connection][0]
    if plugin in ("ssh", "paramiko_ssh", "winrm", "psrp"):
        address = _plugin_value(plugin, "host" if plugin == "ssh" else "remote_addr", hv)
        port = _plugin_value(plugin, "port", hv)
        user = _plugin_value(plugin, "remote_user", hv)
    elif plugin == "local":
        address, port, user = "localhost", None, None
    else:  # network_cli (ansible.netcommon): remote_addr, port and remote_user from its docs
        address = hv.get("ansible_host", name)
        port, user = hv.get("ansible_port"), hv.get("ansible_user")
    if port is None:
        port = {"winrm": 5986, "psrp": 5986}.get(plugin, 22)
    jump = _ssh_jump(hv, str(address)) if plugin == "ssh" else None
    if jump is not None:
        jump = conn._jump_spec("ProxyJump", jump)
    return {"scanned": True, "address": str(address), "port": int(port),
            "user": None if user is None else str(user), "transport": transport,
            "jump": jump, "become": become}


def _undone(path: Path) -> dict[str, Any] | list[str]:
    from scanner.cli.inventory import document

    try:
        return document(inventory.load(path, reader="built-in"))
    except InputError as e:
        return e.problems


def compare(path: Path) -> tuple[str, list[str]]:
    """("match" | "refused", details); a difference fails the caller."""
    theirs = ansible_hosts(path)
    ours = _undone(path)
    if isinstance(ours, list):
        for line in ours:
            assert "\n" not in line
            assert re.search(r": hosts? \S", line) or "no hosts" in line or "ProxyJump" in line, \
                f"a refusal that names no host: {line}"
        return "refused", ours
    assert isinstance(theirs, dict), f"undone read what Ansible could not: {theirs}"
    names = set(ours["hosts"]) | set(ours["not_scanned"]) | {
        a for h in ours["hosts"].values() for a in h.get("aliases", ())}
    assert names == set(theirs), f"hosts differ: only undone {names - set(theirs)}, " \
                                 f"only Ansible {set(theirs) - names}"
    primary = {a: n for n, h in ours["hosts"].items() for a in (n, *h.get("aliases", ()))}
    diffs = []
    for name, hv in theirs.items():
        want = expected(name, hv)
        if not want["scanned"]:
            if name not in ours["not_scanned"]:
                diffs.append(f"{name}: Ansible connects over {want['connection']}, undone "
                             "scans it")
            continue
        if name in ours["not_scanned"]:
            if ours["not_scanned"][name]["connection"] is None:
                diffs.append(f"{name}: not scanned: {ours['not_scanned'][name]['reason']}")
            continue
        got = ours["hosts"][primary[name]]
        for field in ("address", "port", "transport", "jump", "become"):
            if got[field] != want[field]:
                diffs.append(f"{name}: {field} undone {got[field]!r}, Ansible {want[field]!r}")
        if want["user"] is not None and got["user"] != want["user"]:
            diffs.append(f"{name}: user undone {got['user']!r}, Ansible {want['user']!r}")
    assert not diffs, "valid but different from Ansible:\n" + "\n".join(diffs)
    return "match", []


def test_enough_real_inventories_with_their_sources() -> None:
    assert len(REAL) >= 40
    sources = (ROOT / "SOURCE.md").read_text()
    for folder in REAL:
        assert f"`{folder.name}`" in sources, f"{folder.name} has no source in SOURCE.md"


@pytest.mark.parametrize("folder", REAL, ids=[p.name[:60] for p in REAL])
def test_real_inventory_resolves_as_ansible_or_is_refused(folder: Path) -> None:
    compare(_inventory_file(folder))


@pytest.mark.parametrize("case", HANDMADE, ids=[p.parent.name if p.name == "hosts.yml" else p.stem
                                                for p in HANDMADE])
def test_handmade_case_resolves_as_ansible_or_is_refused(case: Path) -> None:
    outcome, lines = compare(case)
    want = re.search(r"^# expect: (match|refused)(?:: (.*))?$", case.read_text(), re.M)
    assert want is not None, "a hand-made case says what it expects"
    assert outcome == want.group(1), lines
    if want.group(2):
        assert any(want.group(2) in line for line in lines), lines


def test_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """The figures the report and CHANGELOG quote: how many match, how many are refused."""
    outcomes: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for folder in REAL:
        outcome, lines = compare(_inventory_file(folder))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        for line in lines[:1]:
            why = ("vault" if "Vault" in line else "template" if "template" in line else
                   "ProxyCommand" if "ProxyCommand" in line else "no hosts" if "no hosts" in line
                   else "other")
            reasons[why] = reasons.get(why, 0) + 1
    with capsys.disabled():
        print(json.dumps({"inventories": len(REAL), **outcomes, "refused_by_reason": reasons}))
    assert outcomes.get("match", 0) + outcomes.get("refused", 0) == len(REAL)
    assert outcomes.get("match", 0) >= 30


def test_both_readers_agree() -> None:
    """The ansible-core reader (the undone[ansible] extra) and the built-in walk give the same
    dry run for every inventory the built-in walk accepts, undone's own example included."""
    from scanner.cli.inventory import document

    paths = [Path("inventory.example.yaml"), *(_inventory_file(f) for f in REAL), *HANDMADE]
    compared = 0
    for path in paths:
        try:
            ours = document(inventory.load(path, reader="built-in"))
        except InputError:
            continue
        theirs = document(inventory.load(path, reader="ansible"))
        assert theirs["reader"] == "ansible-core"
        for doc in (ours, theirs):
            doc.pop("reader")
        assert theirs == ours, path
        compared += 1
    assert compared >= 40
