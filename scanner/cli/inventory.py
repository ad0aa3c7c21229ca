"""``undone inventory INVENTORY``: what undone will connect to, before the first scan.

``--list`` prints JSON of every host undone would scan, with what it resolved (address, port,
user, transport, device, jump host, become, roles, groups, and the kind of credential: the
references only, never a secret), and the hosts it lists but does not scan, each with its
reason. ``--host NAME`` prints one host. Without either, a table on a terminal (JSON when the
output is not a terminal). This is the same view the tests compare with ``ansible-inventory
--list`` (tests/unit/scanner/inventory/test_inventory_ansible.py).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from reports import clean
from scanner import inventory
from scanner.inventory import Host, Inventory


def host_view(h: Host) -> dict[str, Any]:
    """One host as the dry run shows it: what undone will connect to, and as whom."""
    ref = {"key_file": h.key_file, "agent": None, "password_env": h.password_env,
           "none": None}[h.credential]
    out: dict[str, Any] = {
        "address": h.address,
        "port": h.port,
        "user": h.user,
        "transport": h.transport,
        "device": h.device,
        "jump": h.jump,
        "become": h.become,
        "roles": list(h.roles),
        "groups": list(h.groups),
        "credential": h.credential,
        "credential_ref": ref,
    }
    if h.transport == "winrm":
        out["winrm"] = {"scheme": h.winrm_scheme, "auth": h.winrm_auth,
                        "cert_validation": h.winrm_cert_validation}
    if h.aliases:
        out["aliases"] = list(h.aliases)
    return out


def document(inv: Inventory) -> dict[str, Any]:
    """The dry run as a JSON document: ``hosts`` (scanned) and ``not_scanned`` (with reasons)."""
    return {
        "inventory": inv.path,
        "read_as": inv.dialect,
        "reader": inv.reader,
        "hosts": {h.name: host_view(h) for h in inv.hosts},
        "not_scanned": {u.name: {"reason": u.reason, "connection": u.connection,
                                 "groups": list(u.groups)} for u in inv.unscannable},
        "tenants": {t.name: tenant_view(t) for t in inv.tenants},
    }


def tenant_view(t: Any) -> dict[str, Any]:
    """One cloud tenant as the dry run shows it: where undone signs in, and with what (the
    files and variable named, never a secret)."""
    keys = ("platform", "auth", "tenant_id", "client_id", "certificate_file", "private_key_file",
            "private_key_passphrase_env", "service_account_file", "admin_email", "customer",
            "client_admins", "provider_admins", "break_glass", "owner", "timeout",
            "max_user_requests")
    out = {k: getattr(t, k) for k in keys}
    if t.platform == "m365":
        for k in ("service_account_file", "admin_email", "customer"):
            del out[k]
    else:
        for k in ("tenant_id", "client_id", "certificate_file", "private_key_file",
                  "private_key_passphrase_env"):
            del out[k]
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def _table(doc: dict[str, Any]) -> str:
    rows = [("HOST", "TRANSPORT", "ADDRESS", "PORT", "USER", "JUMP", "BECOME", "CREDENTIAL",
             "ROLES")]
    for name, h in doc["hosts"].items():
        shown = name + (f" (also {', '.join(h['aliases'])})" if h.get("aliases") else "")
        transport = h["transport"] + (f"/{h['device']}" if h["device"] else "")
        rows.append((shown, transport, h["address"], str(h["port"]), h["user"] or "-",
                     h["jump"] or "-", "yes" if h["become"] else "no", h["credential"],
                     ",".join(h["roles"]) or "-"))
    widths = [max(len(clean(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(clean(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.append("")
    lines.append(f"{len(doc['hosts'])} hosts to scan (read as {doc['read_as']} inventory, "
                 f"{doc['reader']} reader)")
    for name, u in doc["not_scanned"].items():
        lines.append(clean(f"not scanned: {name}: {u['reason']}"))
    for name, t in doc.get("tenants", {}).items():
        where = t.get("tenant_id") or f"{t.get('customer')} as {t.get('admin_email')}"
        lines.append(clean(f"tenant to scan: {name}: {t['platform']} {where} ({t['auth']})"))
    return "\n".join(lines)


@click.command("inventory")
@click.argument("inventory_file", type=click.Path(dir_okay=False))
@click.option("--list", "as_list", is_flag=True, help="Every host, as JSON.")
@click.option("--host", "host_name", metavar="NAME", help="One host, as JSON.")
@click.option("--reader", type=click.Choice(inventory.READERS), default="auto",
              show_default=True,
              help="built-in, ansible (ansible-core, pip install 'undone[ansible]'), or auto: "
                   "ansible-core only where the built-in reader cannot read the file.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def inventory_cmd(inventory_file: str, as_list: bool, host_name: str | None, reader: str,
                  debug: bool) -> None:
    """Show what undone will connect to: every host with its address, port, user, transport,
    jump host, become and kind of credential (never a secret), and hosts it will not scan."""
    from scanner.cli.boundary import guard as _guard

    raise SystemExit(_guard(_inventory, debug, inventory_file, as_list, host_name, reader))


def _inventory(path: str, as_list: bool, host_name: str | None, reader: str) -> int:
    from scanner.cli.boundary import EXIT_BAD_INPUT

    inv = inventory.load(path, reader=reader)
    doc = document(inv)
    if host_name is not None:
        if host_name in doc["hosts"]:
            click.echo(json.dumps(doc["hosts"][host_name], indent=2))
            return 0
        if host_name in doc["tenants"]:
            click.echo(json.dumps(doc["tenants"][host_name], indent=2))
            return 0
        if host_name in doc["not_scanned"]:
            click.echo(json.dumps({"not_scanned": doc["not_scanned"][host_name]}, indent=2))
            return 0
        alias = next((n for n, h in doc["hosts"].items() if host_name in h.get("aliases", ())),
                     None)
        if alias is not None:
            click.echo(json.dumps({"alias_of": alias, **doc["hosts"][alias]}, indent=2))
            return 0
        click.echo(clean(f"{path}: no host '{host_name}' in the inventory"), err=True)
        return EXIT_BAD_INPUT
    if as_list or not sys.stdout.isatty():
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(_table(doc))
    return 0
