"""scanner.channels.CHANNELS is the one list of notification channels: the keys the inventory's
``notify`` section takes are its names and the section's own keys, each name is checked by its
channel, and neither the inventory nor the operations name a channel themselves."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import scanner
from scanner import channels, inventory, yamlio
from scanner.errors import InputError

COMMON = {"on", "report_url", "timeout"}
HOSTS = "all:\n  hosts:\n    a.example.org:\n"
SCANNER = Path(scanner.__file__).parent


def problems(text: str) -> list[str]:
    with pytest.raises(InputError) as e:
        inventory.parse(yamlio.load_text(HOSTS + text, "inv.yaml"), "inv.yaml")
    return e.value.problems


def test_the_inventory_takes_the_registry_names_and_the_common_keys() -> None:
    # what the inventory says it expects, read from its own problem line
    lines = problems("notify: {bogus: 1, on: [new]}\n")
    said = next(line for line in lines if "unknown key 'bogus'" in line)
    m = re.search(r"; expected (.*)$", said)
    assert m is not None, said
    accepted = m.group(1).split(", ")
    assert set(accepted) == COMMON | set(channels.CHANNELS)
    assert [k for k in accepted if k not in COMMON] == list(channels.CHANNELS)  # in its order
    # and with no channel given, it asks for one of the registry's
    lines = problems("notify: {on: [new]}\n")
    assert any(all(f"'{name}'" in line for name in channels.CHANNELS) for line in lines), lines


@pytest.mark.parametrize("name", list(channels.CHANNELS))
def test_each_channel_key_is_checked_by_its_channel(name: str) -> None:
    """A registered key is accepted by the section and its value goes to the channel's check
    (a bad value is a problem at ``notify.<name>``, not an unknown key)."""
    lines = problems(f"notify: {{{name}: 5}}\n")
    assert any(line.startswith(f"inv.yaml: notify.{name}: ") for line in lines), lines
    assert not any("unknown key" in line for line in lines), lines


@pytest.mark.parametrize(("name", "channel"), list(channels.CHANNELS.items()))
def test_every_channel_module_provides_check_compose_and_send(
        name: str, channel: channels.Channel[object]) -> None:
    assert inspect.ismodule(channel) and channel.__name__.startswith("scanner.channels."), name
    assert Path(str(channel.__file__)).parent == SCANNER / "channels"
    for func, arity in (("check", 3), ("compose", 2), ("send", 3)):
        fn = getattr(channel, func, None)
        assert callable(fn), f"{name}: no {func}"
        assert len(inspect.signature(fn).parameters) == arity, f"{name}.{func}"


def _strings(path: Path) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)}


@pytest.mark.parametrize("module", ["inventory/notify.py", "ops/notify.py", "ops/run.py"])
def test_no_channel_is_named_outside_the_channels_folder(module: str) -> None:
    """The inventory's check and the sending dispatch take the channels from the registry: no
    string in them is a channel's key."""
    assert _strings(SCANNER / module) & set(channels.CHANNELS) == set()
