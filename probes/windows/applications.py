"""windows.applications: installed applications on Windows (the counterpart of
posix.applications).

Facts::

    apps.installed [{name, version, publisher, source, scope, id, path, channel, m365,
                     product_ids, updates_enabled}, ...]
    apps.count 87
    apps.users_not_loaded 2      (user profiles whose registry was not loaded: their per-user
                                  installs are not listed)
    apps.incomplete []           (why the list may miss applications: the user hives could not be
                                  read; a proven failure still fails, nothing can pass)

From the Uninstall keys: one item per entry with a ``DisplayName`` that is not a system
component (``SystemComponent`` 1), not an update or hotfix (``ParentKeyName``, ``ReleaseType``
"Update"/"Hotfix"/"Security Update"), ``source`` ``registry``, ``scope`` ``machine`` (HKLM, and
``machine-32bit`` for WOW6432Node) or ``user:DOMAIN\\name``. An entry that appears in several
keys (a 32-bit and a 64-bit one) is kept once per scope.

Microsoft 365 Apps and Office Click-to-Run: one item with ``source`` ``c2r``, the build from
``VersionToReport``, the update channel from the ``UpdateBranch`` policy, else ``UpdateUrl``,
``UnmanagedUpdateUrl``, ``UpdateChannel`` or ``CDNBaseUrl`` (channel GUIDs as Microsoft
publishes them), ``m365`` true when ``ProductReleaseIds`` names a Microsoft 365 / Office 365
product, ``updates_enabled`` from ``UpdatesEnabled`` and the ``EnableAutomaticUpdates``
policy. The Uninstall entries of Click-to-Run products (same build) are then left out, so
each install is listed once.
"""

from __future__ import annotations

import re
from typing import Any

from probes import applications as family
from probes.base import Facts, RawSection, guard
from probes.windows._json import document, listed, read
from probes.windows._office import channel

PROVIDES = (*family.PROVIDES, "apps.users_not_loaded")
MAX_ITEMS = 2000
_UPDATE = re.compile(r"^(update|hotfix|security update|service pack)$", re.I)


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _text(value: Any, limit: int = 200) -> str:
    if value is None:
        return ""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(value)).strip()[:limit]


def _entry(row: Any, scope: str) -> dict[str, Any] | None:
    if not isinstance(row, dict):
        return None
    name = _text(row.get("DisplayName"))
    if not name:
        return None
    if str(row.get("SystemComponent")) == "1" or row.get("ParentKeyName") or _UPDATE.match(
            _text(row.get("ReleaseType"))):
        return None
    return {"name": name, "version": _text(row.get("DisplayVersion"), 64),
            "publisher": _text(row.get("Publisher"), 120) or None, "source": "registry",
            "scope": scope, "id": _text(row.get("key"), 120) or None,
            "path": _text(row.get("InstallLocation"), 260) or None,
            "install_date": _text(row.get("InstallDate"), 16) or None}


def _parse(raw: RawSection, facts: Facts) -> None:
    doc = document(raw)
    items: list[dict[str, Any]] = []
    errors: list[str] = []
    for key, scope in (("machine", "machine"), ("machine_wow", "machine-32bit")):
        rows, err = read(doc, key, f"HKLM {key.replace('_', ' ')} Uninstall key")
        if err:
            errors.append(err)
            continue
        items += [e for e in (_entry(r, scope) for r in listed(rows)) if e]
    users, uerr = read(doc, "users", "user hives (HKEY_USERS)")
    incomplete = [f"{uerr}: applications installed for one user only are not listed"] \
        if uerr else []
    for u in listed(users):
        if not isinstance(u, dict):
            continue
        who = _text(u.get("user")) or _text(u.get("sid"))
        items += [e for e in (_entry(r, f"user:{who}") for r in listed(u.get("apps"))) if e]
    profiles, perr = read(doc, "profiles", "user profiles")
    if perr:
        facts.error("apps.users_not_loaded", perr)
    else:
        facts.set("apps.users_not_loaded",
                  sum(1 for p in listed(profiles) if isinstance(p, dict) and not p.get("loaded")))
    c2r = _click_to_run(doc)
    if c2r is not None:
        build = c2r["version"]
        items = [i for i in items if not (i["version"] == build and re.match(
            r"^Microsoft (365|Office)", i["name"]))]
        items.append(c2r)
    appx, aerr = read(doc, "appx", "Get-AppxPackage MSTeams")
    for a in listed(appx) if not aerr else []:
        if isinstance(a, dict) and a.get("name"):
            items.append({"name": "Microsoft Teams (new)", "id": _text(a.get("name"), 60),
                          "version": _text(a.get("version"), 64), "source": "appx",
                          "scope": "machine", "publisher": "Microsoft Corporation",
                          "path": _text(a.get("location"), 260) or None})
    if errors:
        facts.error_all(("apps.installed", "apps.count"), "; ".join(errors)[:500])
        return
    seen: set[tuple[str, str, str]] = set()
    unique: list[dict[str, Any]] = []
    for i in items:
        k = (i["name"], i["version"], str(i["scope"]).replace("-32bit", ""))
        if k not in seen:
            seen.add(k)
            unique.append(i)
    if len(unique) > MAX_ITEMS:
        incomplete.append(f"{len(unique)} applications found, only the first {MAX_ITEMS} are "
                          "listed")
    facts.set("apps.installed", unique[:MAX_ITEMS])
    facts.set("apps.count", len(unique))
    facts.set("apps.incomplete", incomplete)


def _click_to_run(doc: dict[str, Any]) -> dict[str, Any] | None:
    cfg, err = read(doc, "click_to_run", "Click-to-Run configuration")
    if err or not isinstance(cfg, dict):
        return None
    build = _text(cfg.get("VersionToReport") or cfg.get("ClientVersionToReport"), 40)
    if not build:
        return None
    pol, _ = read(doc, "office_policy", "Office update policy")
    pol = pol if isinstance(pol, dict) else {}
    ids = _text(cfg.get("ProductReleaseIds"), 300)
    m365 = bool(re.search(r"O365|M365", ids, re.I))
    updates = str(cfg.get("UpdatesEnabled") or "").lower()
    auto = pol.get("EnableAutomaticUpdates")
    return {"name": "Microsoft 365 Apps" if m365 else f"Microsoft Office ({ids or 'Click-to-Run'})",
            "version": build, "source": "c2r", "scope": "machine", "m365": m365,
            "product_ids": ids or None,
            "channel": channel(pol.get("UpdateBranch"), cfg.get("UpdateUrl"),
                               cfg.get("UnmanagedUpdateUrl"), cfg.get("UpdateChannel"),
                               cfg.get("CDNBaseUrl")),
            "updates_enabled": None if not updates and auto is None else (
                updates != "false" and str(auto) != "0"),
            "publisher": "Microsoft Corporation"}
