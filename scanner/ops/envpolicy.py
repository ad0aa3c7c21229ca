"""Which environment variables an estate may hand to its hosts (issue 15, L2).

An inventory names its secrets by environment variable (``password_env``, ``community_env``,
``snmp_*_key_env``, a backup's ``password_env``, the ``notify`` section's ``*_env``). Without a
rule, any variable of the scanner's process could be named, and its value sent to a host the
inventory's author controls: undone's own evidence-signing passphrase, or, in a folder run,
another client's password.

The rule:

- **undone's own variables are never credentials**: the ones undone reads itself
  (:data:`RESERVED`: ``UNDONE_SIGNING_KEY_PASSPHRASE``, ``UNDONE_SIGNING_KEY``, ``UNDONE_DB``,
  ...) are refused wherever the inventory names a variable. (Other ``UNDONE_*`` names are
  ordinary: the example inventory's ``UNDONE_OFFICE_PASSWORD`` is the estate's.)
- **Each estate has its variables**: ``estate: {env_prefix: ACME_}`` in an inventory means that
  every credential it sends to a host (the host's, device's and backup's ``*_env``) must begin
  with ``ACME_``. In a folder run (``undone scan FOLDER``) every estate has a prefix: its own
  ``env_prefix``, else its key in capitals with ``_`` (``acme-dental.yaml``: ``ACME_DENTAL_``).
  A variable belongs to the estate with the longest prefix it begins with, so ``acme`` cannot
  name ``ACME_DENTAL_PW``, and one estate's secret never reaches another estate's host.
- The ``notify`` section's variables go to the estate's own mail server or webhook, not to a
  host: they may be shared by every estate of a run (one SMTP login for the MSP), but never
  another estate's nor undone's own.

A problem is bad input (exit 2, one line naming the file and the key path), found before
anything is scanned.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: the variables undone itself reads: its configuration and its own secrets (add new ones here)
RESERVED = frozenset({
    "UNDONE_SIGNING_KEY", "UNDONE_SIGNING_KEY_PASSPHRASE", "UNDONE_EVIDENCE_PUBLIC_KEY",
    "UNDONE_DB", "UNDONE_DEBUG", "UNDONE_LIFECYCLE_DIR", "UNDONE_ADVISORIES_DIR",
    "UNDONE_KNOWN_HOSTS", "UNDONE_SHARED_DATA",
})
RESERVED_PREFIXES = ("UNDONE_SIGNING_",)  # whatever the signing key comes to need
_PREFIX_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def default_prefix(key: str) -> str:
    """The prefix of an estate in a folder run with no ``env_prefix``: its key in capitals."""
    return re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_").upper() + "_"


def declared_prefix(inv: Any) -> str | None:
    value = (getattr(inv, "estate", None) or {}).get("env_prefix")
    return str(value) if value is not None else None


def prefix_problems(inv: Any, label: str) -> list[str]:
    """``estate.env_prefix``, if given, is a usable prefix."""
    value = declared_prefix(inv)
    if value is None:
        return []
    if not _PREFIX_RE.match(value):
        return [f"{label}: estate.env_prefix: {value!r} is not the beginning of an environment "
                "variable name (letters, digits and _; e.g. ACME_)"]
    return []


def reserved(name: str) -> bool:
    """Whether ``name`` is one of undone's own variables."""
    return name in RESERVED or name.startswith(RESERVED_PREFIXES)


def references(inv: Any) -> list[tuple[str, str, bool]]:
    """Every variable the inventory names: (key path, name, sent to a host?)."""
    out: list[tuple[str, str, bool]] = []
    for h in getattr(inv, "hosts", ()):
        where = f"all.hosts.{h.name}"
        for f in dataclasses.fields(h):
            value = getattr(h, f.name)
            if f.name.endswith("_env") and isinstance(value, str):
                out.append((f"{where}.{f.name}", value, True))
        for i, b in enumerate(getattr(h, "backups", ()) or ()):
            if isinstance(b, Mapping):
                for k, v in b.items():
                    if str(k).endswith("_env") and isinstance(v, str):
                        out.append((f"{where}.backups[{i}].{k}", v, True))
    for t in getattr(inv, "tenants", ()):  # a cloud tenant's key passphrase
        if getattr(t, "private_key_passphrase_env", None):
            out.append((f"tenants.{t.name}.private_key_passphrase_env",
                        t.private_key_passphrase_env, True))
    notify = getattr(inv, "notify", None)
    if isinstance(notify, Mapping):
        for channel, cfg in notify.items():
            if isinstance(cfg, Mapping):
                for k, v in cfg.items():
                    if str(k).endswith("_env") and isinstance(v, str):
                        out.append((f"notify.{channel}.{k}", v, False))
    return out


def _owner(name: str, prefixes: Mapping[str, str]) -> tuple[str, str] | None:
    """(estate, prefix) of the longest prefix ``name`` begins with; None when none."""
    best: tuple[str, str] | None = None
    for estate, prefix in prefixes.items():
        if name.startswith(prefix) and (best is None or len(prefix) > len(best[1])):
            best = (estate, prefix)
    return best


def check(inv: Any, label: str, estate: str | None = None,
          prefixes: Mapping[str, str] | None = None) -> list[str]:
    """Problems with the variables ``inv`` names, one line each.

    ``estate`` and ``prefixes`` (every estate's prefix, by estate key) are given in a folder
    run; alone, an inventory is held to its own ``env_prefix`` when it declares one."""
    problems = prefix_problems(inv, label)
    if problems:
        return problems
    own = declared_prefix(inv)
    table: dict[str, str] = dict(prefixes or {})
    if estate is not None:
        own = table.get(estate) or own or default_prefix(estate)
        table[estate] = own
        clash = sorted(k for k, p in table.items() if k != estate and p == own)
        if clash:
            problems.append(f"{label}: estate.env_prefix: {own} is also the prefix of estate "
                            f"{clash[0]}; each estate needs its own")
    for where, name, to_host in references(inv):
        at = f"{label}: {where}"
        if reserved(name):
            problems.append(f"{at}: {name} is one of undone's own variables (its signing key, "
                            "its settings), never a credential for a host or a channel; name "
                            "the estate's own")
            continue
        owner = _owner(name, table) if estate is not None else None
        if owner is not None and owner[0] != estate and owner[1] != own:
            problems.append(f"{at}: {name} belongs to estate {owner[0]} (its variables begin "
                            f"with {owner[1]}); this estate's begin with {own}")
        elif to_host and own and not name.startswith(own):
            problems.append(f"{at}: {name} is not one of this estate's variables (they begin "
                            f"with {own}: estate.env_prefix); rename it {own}...")
    return problems


def folder_prefixes(estates: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Every estate's prefix in a folder run: (key, inventory or None) -> key -> prefix."""
    out = {}
    for key, inv in estates:
        declared = declared_prefix(inv) if inv is not None else None
        out[key] = declared if declared and _PREFIX_RE.match(declared) else default_prefix(key)
    return out
