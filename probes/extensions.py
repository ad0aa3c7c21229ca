"""Browser extensions and update settings, read from the browsers' own files: what the POSIX and
the Windows ``browsers`` sections share (their scripts send the files' text; this turns it into
facts). Not a section (no script pairs with it).

Chrome, Chromium and Edge (one format, Chromium's):

- ``Extensions/<id>/<version>/manifest.json``: ``name`` (or ``__MSG_key__``, looked up in the
  ``default_locale``'s ``_locales/<locale>/messages.json``, keys case-insensitive), ``version``,
  ``update_url`` (the Chrome Web Store's, Edge Add-ons', or another);
- ``Secure Preferences`` and ``Preferences``: ``extensions.settings.<id>``: ``state`` (0
  disabled, 1 enabled, older versions), ``disable_reasons`` (any reason: disabled),
  ``location`` (5 and 10 are built-in component extensions, not listed), ``path``
  (``<id>/<version>``, the version in use), ``from_webstore``, ``was_installed_by_default``.
  An extension on disk with no settings entry (the preferences left out or unreadable) has
  ``enabled`` null: unknown, never assumed.

Firefox: the profile's ``extensions.json`` (``addons``: ``id``, ``version``, ``type``,
``active``, ``userDisabled``, ``location``, ``defaultLocale.name``); only ``type: extension``
outside Firefox's own locations (``app-builtin``, ``app-system-defaults``,
``app-system-addons``) is listed.

Update settings (:func:`firefox_policies`, :func:`google_update`): which settings stop a browser
from updating itself, with the vendors' documented meanings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from probes.base import Facts

#: the ``browsers.*`` facts, the same on every platform (``posix.browsers``, ``windows.browsers``)
PROVIDES = (
    "browsers.installed",
    "browsers.extensions",
    "browsers.extension_count",
    "browsers.profiles",
    "browsers.update_settings",
    "browsers.autoupdate_disabled",
)

_ID = re.compile(r"^[a-p]{32}$")
_MSG = re.compile(r"^__MSG_(\w+)__$")
COMPONENT_LOCATIONS = (5, 10)  # Chromium's Manifest::COMPONENT, EXTERNAL_COMPONENT
FIREFOX_OWN_LOCATIONS = ("app-builtin", "app-system-defaults", "app-system-addons",
                         "app-system-share", "app-system-local")
BROWSER_TITLES = {
    "google-chrome": "Google Chrome", "chrome": "Google Chrome", "chromium": "Chromium",
    "edge": "Microsoft Edge", "firefox": "Mozilla Firefox",
}
# Google Update / EdgeUpdate policy values (Google's and Microsoft's policy documentation):
# 0 updates disabled, 1 always allow, 2 manual updates only, 3 automatic silent updates only
UPDATE_POLICY = {0: "updates disabled", 1: None, 2: "manual updates only", 3: None}
CHROME_APP = "{8A69D345-D564-463C-AFF1-A69D9E530F96}"
EDGE_APP = "{56EB18F8-B008-4CBD-B6D2-8C97FE7E9062}"


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def loads(text: str | None) -> Any:
    """JSON text, or None when it is not JSON (a truncated or damaged file)."""
    if not text:
        return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError):
        return None


def _settings(prefs: list[Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for doc in prefs:
        ext = doc.get("extensions") if isinstance(doc, dict) else None
        settings = ext.get("settings") if isinstance(ext, dict) else None
        if not isinstance(settings, dict):
            continue
        for ext_id, s in settings.items():
            if isinstance(s, dict):
                out.setdefault(str(ext_id), {}).update(s)
    return out


def _name(manifest: Mapping[str, Any], messages: Mapping[str, Any] | None) -> str | None:
    name = manifest.get("name")
    if not isinstance(name, str):
        return None
    m = _MSG.match(name)
    if not m:
        return name[:120]
    if isinstance(messages, Mapping):
        lowered = {str(k).lower(): v for k, v in messages.items()}
        entry = lowered.get(m.group(1).lower())
        if isinstance(entry, Mapping) and isinstance(entry.get("message"), str):
            return str(entry["message"])[:120]
    return None


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:6])


def chromium_profile(browser: str, user: str, profile: str,
                     manifests: list[tuple[str, str, str | None, str | None]],
                     prefs_texts: list[str | None], prefs_missing: list[str]) -> tuple[
                         list[dict[str, Any]], list[str]]:
    """Extensions of one Chromium-family profile. ``manifests``: (id, version folder, manifest
    text, messages text); ``prefs_texts``: Secure Preferences and Preferences (None when left
    out); ``prefs_missing``: why a preferences file was left out. Returns (extensions,
    problems)."""
    problems: list[str] = list(prefs_missing)
    prefs = []
    for text in prefs_texts:
        doc = loads(text)
        if text is not None and doc is None:
            problems.append("a preferences file is not JSON (damaged or cut)")
        elif doc is not None:
            prefs.append(doc)
    settings = _settings(prefs)
    by_id: dict[str, dict[str, Any]] = {}
    for ext_id, folder, mtext, msgs in manifests:
        if not _ID.match(ext_id):
            continue
        manifest = loads(mtext)
        if not isinstance(manifest, dict):
            problems.append(f"extension {ext_id}: manifest.json not readable")
            manifest = {}
        s = settings.get(ext_id, {})
        in_use = str(s.get("path") or "").replace("\\", "/")
        version = str(manifest.get("version") or folder)[:40]
        entry = {"browser": BROWSER_TITLES.get(browser, browser), "user": user,
                 "profile": profile, "id": ext_id,
                 "name": _name(manifest, loads(msgs) if msgs else None),
                 "version": version,
                 "store": _store(manifest.get("update_url")),
                 "enabled": _enabled(s) if s else None,
                 "installed_by_default": bool(s.get("was_installed_by_default")) if s else None}
        old = by_id.get(ext_id)
        if old is None or in_use == f"{ext_id}/{folder}" or (
                not in_use.startswith(ext_id + "/")
                and _version_key(version) > _version_key(str(old["version"]))):
            by_id[ext_id] = entry
    for ext_id, s in settings.items():
        # an extension the preferences know but not on disk (policy-installed pending, or an
        # older Chrome that kept the manifest in the preferences)
        if ext_id in by_id or not _ID.match(ext_id):
            continue
        if s.get("location") in COMPONENT_LOCATIONS:
            continue
        manifest = s.get("manifest") if isinstance(s.get("manifest"), dict) else None
        if manifest is None:
            continue
        by_id[ext_id] = {"browser": BROWSER_TITLES.get(browser, browser), "user": user,
                         "profile": profile, "id": ext_id, "name": _name(manifest, None),
                         "version": str(manifest.get("version") or "")[:40],
                         "store": _store(manifest.get("update_url")),
                         "enabled": _enabled(s),
                         "installed_by_default": bool(s.get("was_installed_by_default"))}
    out = [e for i, e in sorted(by_id.items())
           if settings.get(i, {}).get("location") not in COMPONENT_LOCATIONS]
    return out, problems


def _enabled(s: Mapping[str, Any]) -> bool | None:
    reasons = s.get("disable_reasons")
    if isinstance(reasons, list) and reasons:
        return False
    if isinstance(reasons, int) and not isinstance(reasons, bool) and reasons != 0:
        return False
    return s.get("state") != 0


def _store(url: Any) -> str:
    u = str(url or "")
    if "clients2.google.com" in u:
        return "Chrome Web Store"
    if "edge.microsoft.com" in u:
        return "Edge Add-ons"
    return "other" if u else "none (installed from a file or by a program)"


def firefox_profile(user: str, profile: str, text: str | None) -> tuple[
        list[dict[str, Any]], list[str]]:
    doc = loads(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("addons"), list):
        return [], ["extensions.json is not readable JSON"]
    out: list[dict[str, Any]] = []
    for a in doc["addons"]:
        if not isinstance(a, dict) or a.get("type") != "extension":
            continue
        if a.get("location") in FIREFOX_OWN_LOCATIONS:
            continue
        locale = obj(a.get("defaultLocale"))
        active = a.get("active")
        enabled = None if not isinstance(active, bool) else (
            active and not bool(a.get("userDisabled")))
        out.append({"browser": "Mozilla Firefox", "user": user, "profile": profile,
                    "id": str(a.get("id") or "")[:120],
                    "name": str(locale.get("name") or "")[:120] or None,
                    "version": str(a.get("version") or "")[:40],
                    "store": "addons.mozilla.org" if "addons.mozilla.org" in str(
                        a.get("sourceURI") or "") else "other",
                    "enabled": enabled, "installed_by_default": None})
    return out, []


def firefox_policies(text: str | None, where: str) -> list[dict[str, Any]]:
    """Update settings in a Firefox policies.json (DisableAppUpdate, AppAutoUpdate)."""
    doc = loads(text)
    pol = doc.get("policies") if isinstance(doc, dict) else None
    if not isinstance(pol, dict):
        return []
    return firefox_policy_values(pol, where)


def firefox_policy_values(pol: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if pol.get("DisableAppUpdate") in (True, 1, "1", "true"):
        out.append({"browser": "Mozilla Firefox", "where": where, "setting": "DisableAppUpdate",
                    "value": pol.get("DisableAppUpdate"), "effect": "updates disabled"})
    if pol.get("AppAutoUpdate") in (False, 0, "0", "false"):
        out.append({"browser": "Mozilla Firefox", "where": where, "setting": "AppAutoUpdate",
                    "value": pol.get("AppAutoUpdate"),
                    "effect": "updates are not installed automatically"})
    return out


def google_update(browser: str, app_guid: str, values: Mapping[str, Any],
                  where: str) -> list[dict[str, Any]]:
    """What Google Update / EdgeUpdate policy values do to one browser's updates: the
    app-specific ``Update{GUID}`` wins over ``UpdateDefault``; ``AutoUpdateCheckPeriodMinutes``
    0 turns automatic checks off."""
    out: list[dict[str, Any]] = []
    app_key = f"Update{app_guid}"
    lowered = {str(k).lower(): v for k, v in values.items()}
    setting, value = app_key, lowered.get(app_key.lower())
    if not isinstance(value, int) or isinstance(value, bool):
        setting, value = "UpdateDefault", lowered.get("updatedefault")
    if isinstance(value, int) and not isinstance(value, bool) and UPDATE_POLICY.get(value):
        out.append({"browser": browser, "where": where, "setting": setting, "value": value,
                    "effect": UPDATE_POLICY[value]})
    period = lowered.get("autoupdatecheckperiodminutes")
    if period == 0 and not isinstance(period, bool):
        out.append({"browser": browser, "where": where, "setting":
                    "AutoUpdateCheckPeriodMinutes", "value": 0,
                    "effect": "automatic update checks disabled"})
    return out


def summarise(facts: Facts, extensions: list[dict[str, Any]], profiles: list[dict[str, Any]],
              settings: list[dict[str, Any]], installed: list[str]) -> None:
    facts.set("browsers.installed", sorted(set(installed)))
    facts.set("browsers.extensions", extensions)
    facts.set("browsers.extension_count", len(extensions))
    facts.set("browsers.profiles", profiles)
    facts.set("browsers.update_settings", settings)
    # settings for a browser that is not installed change nothing
    facts.set("browsers.autoupdate_disabled", [
        f"{s['browser']}: {s['effect']} ({s['setting']} = {s['value']}, {s['where']})"
        for s in settings if s.get("effect") and s.get("browser") in installed])
