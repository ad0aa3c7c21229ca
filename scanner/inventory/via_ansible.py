"""Reading an inventory through ansible-core itself (the optional ``undone[ansible]`` extra).

ansible-core's InventoryManager reads what the built-in walk does not: INI inventories,
inventory plugins (cloud dynamic inventories and the like), Vault-encrypted values and files
(with the user's own vault settings: ``ANSIBLE_VAULT_PASSWORD_FILE`` or ansible.cfg), and it
evaluates Jinja2 templates in the variables undone uses. The result then goes through undone's
own validation, exactly as the built-in walk's does (:func:`scanner.inventory.build`).

Only the variables undone uses are templated; a template or vault value that cannot be
evaluated gives one line naming the host and the variable (never the value).
"""

from __future__ import annotations

import importlib.util
import os
import re
import warnings
from typing import Any

from scanner.errors import InventoryError
from scanner.inventory.walk import Layer
from scanner.inventory.walk_vars import RawHost


def available() -> bool:
    """True when ansible-core can be imported (``pip install 'undone[ansible]'``)."""
    return importlib.util.find_spec("ansible") is not None


def _used(key: str, dialect: str, short: set[str]) -> bool:
    if key.startswith(("undone_", "ansible_")) or key == "undone":
        return True
    return dialect == "undone" and key in short


def _plain(value: Any, depth: int = 0) -> Any:
    """Ansible's tagged and lazy values as plain Python values."""
    if depth > 64:
        return None
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    return str(value)


def read(path: str, dialect: str, short_keys: set[str]) -> list[RawHost]:
    """Every host of the inventory at ``path`` with its variables as Ansible resolves them (the
    ones undone uses templated). Raises InventoryError (one line each) for what Ansible cannot
    read or evaluate."""
    label = str(path)
    saved = os.environ.get("ANSIBLE_INVENTORY_UNPARSED_FAILED")
    os.environ["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true"
    display = None
    try:
        with warnings.catch_warnings():  # ansible-core's own import-time deprecation warnings
            warnings.simplefilter("ignore")
            from ansible import constants as C
            from ansible.cli import CLI
            from ansible.errors import AnsibleError
            from ansible.inventory.helpers import sort_groups
            from ansible.inventory.manager import InventoryManager
            from ansible.parsing.dataloader import DataLoader
            from ansible.template import Templar
            from ansible.utils.display import Display
            from ansible.vars.manager import VariableManager
            from ansible.vars.plugins import get_vars_from_inventory_sources

        # undone's own sections (estate, contract, ...) are groups to Ansible's YAML plugin,
        # which warns that their keys are not mappings: those warnings are not the user's
        display = Display()
        original = display.warning

        def quieter(msg: str, *args: Any, **kwargs: Any) -> None:
            if not _SECTION_WARNING.search(str(msg)):
                original(msg, *args, **kwargs)

        display.warning = quieter

        loader = DataLoader()
        files = [C.DEFAULT_VAULT_PASSWORD_FILE] if C.DEFAULT_VAULT_PASSWORD_FILE else []
        try:
            from ansible.parsing.vault import VaultSecretsContext
        except ImportError:  # ansible-core before 2.19
            VaultSecretsContext = None
        try:
            ctx = VaultSecretsContext.current(optional=True) if VaultSecretsContext else None
            if ctx is not None:  # set up once a process (ansible-core 2.19)
                loader.set_vault_secrets(ctx.secrets)
            else:
                secrets = CLI.setup_vault_secrets(
                    loader, vault_ids=list(C.DEFAULT_VAULT_IDENTITY_LIST),
                    vault_password_files=files, ask_vault_pass=False, auto_prompt=False)
                loader.set_vault_secrets(secrets)
        except AnsibleError as e:
            raise InventoryError(f"{label}: the vault password file cannot be used: "
                                 f"{_one_line(e)}") from None
        try:
            inv = InventoryManager(loader=loader, sources=[label])
        except AnsibleError as e:
            raise InventoryError(f"{label}: Ansible cannot read it: {_one_line(e)}") from None
        vm = VariableManager(loader=loader, inventory=inv)
        out: list[RawHost] = []
        problems: list[str] = []
        for host in inv.get_hosts():
            hv = vm.get_vars(host=host, include_hostvars=False)
            templar = Templar(loader=loader, variables=hv)
            resolved: dict[str, Any] = {}
            for key in list(hv):
                if not _used(str(key), dialect, short_keys):
                    continue
                try:
                    resolved[str(key)] = _plain(templar.template(hv[key]))
                except Exception as e:  # noqa: BLE001 - any failure of Ansible's evaluation is one line
                    problems.append(f"{label}: host {host.name}: {key} cannot be evaluated by "
                                    f"Ansible ({type(e).__name__}): give its value, or check "
                                    "the vault password file")
            groups = tuple(sorted(g.name for g in host.get_groups() if g.name != "all"))
            where = f"host {host.name}"
            index = _layer_index(host, resolved, inv, loader, sort_groups,
                                 get_vars_from_inventory_sources)
            out.append(RawHost(name=host.name, where=where, vars=resolved,
                               origin=dict.fromkeys(resolved, where),
                               layers=[Layer(where, resolved)], groups=groups, index=index))
        if problems:
            raise InventoryError(problems)
        return out
    finally:
        if display is not None:
            display.__dict__.pop("warning", None)
        if saved is None:
            os.environ.pop("ANSIBLE_INVENTORY_UNPARSED_FAILED", None)
        else:
            os.environ["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = saved


_SECTION_WARNING = re.compile(r"in group \((estate|contract|params|notify|networks|waivers)\)|"
                              r"Skipping '(waivers|networks)'")


def _layer_index(host: Any, resolved: dict[str, Any], inv: Any, loader: Any, sort_groups: Any,
                 plugin_vars: Any) -> dict[str, int]:
    """For each variable, the precedence layer its value comes from (Ansible's order: all,
    other groups, group_vars/all, group_vars of the others, the host, host_vars), so that an
    undone key and the Ansible variable it stands for compare as in the built-in walk."""
    groups = sort_groups([g for g in host.get_groups() if g.name != "all"])
    all_group = inv.groups.get("all")
    sources = inv._sources
    layers: list[dict[str, Any]] = [all_group.get_vars() if all_group else {}]
    layers += [g.get_vars() for g in groups]
    layers.append(plugin_vars(loader, sources, [all_group], "inventory") if all_group else {})
    layers += [plugin_vars(loader, sources, [g], "inventory") for g in groups]
    layers += [host.get_vars(), plugin_vars(loader, sources, [host], "inventory")]
    index: dict[str, int] = {}
    for i, layer in enumerate(layers):
        for key in layer:
            if key in resolved:
                index[str(key)] = i
    return {k: index.get(k, len(layers)) for k in resolved}


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 300 else text[:297] + "..."

