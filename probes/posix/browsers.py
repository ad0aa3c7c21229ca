"""posix.browsers: web browser extensions per user and profile, and settings that stop a browser
from updating itself (Linux and macOS).

Facts::

    browsers.installed ["Chromium", "Mozilla Firefox"]
    browsers.extensions [{browser, user, profile, id, name, version, store, enabled,
                          installed_by_default}, ...]
    browsers.extension_count 3
    browsers.profiles [{browser, user, profile, extensions, problems}, ...]
    browsers.update_settings [{browser, where, setting, value, effect}, ...]
    browsers.autoupdate_disabled ["Mozilla Firefox: updates disabled (DisableAppUpdate = True,
                                  /etc/firefox/policies/policies.json)", ...]

What "updates itself" means here. On Linux, Chrome, Chromium, Edge and packaged Firefox are
updated by the package manager (the operating system's update rules judge that); a Firefox
unpacked from Mozilla's tarball (``/opt``, a home folder) updates itself unless a policy stops it
(``DisableAppUpdate``, or ``AppAutoUpdate`` false: the user is asked). On macOS Firefox always
updates itself unless stopped the same way (policies.json or the ``org.mozilla.firefox``
managed preferences); Chrome is updated by Google's Keystone, stopped by ``checkInterval`` 0 in
``com.google.Keystone.Agent`` or by ``UpdateDefault`` 0 (disabled) or 2 (manual only) in the
managed ``com.google.Keystone`` preferences.

Extensions (see :mod:`probes.extensions` for the files and their meaning): a profile whose
files could not all be read is listed with its problems; ``browsers.extensions`` is an error
when a profile or extension list was cut (more than the section sends), never a shorter list.
"""

from __future__ import annotations

import plistlib
from typing import Any

from probes import extensions as ext
from probes.base import Block, Facts, RawSection, guard, split_blocks
from probes.posix.applications import decode, records

PROVIDES = ext.PROVIDES
_COMMANDS = {
    "firefox": "Mozilla Firefox", "firefox-esr": "Mozilla Firefox", "chromium": "Chromium",
    "chromium-browser": "Chromium", "google-chrome": "Google Chrome",
    "google-chrome-stable": "Google Chrome", "microsoft-edge": "Microsoft Edge",
    "microsoft-edge-stable": "Microsoft Edge",
}
TOOLS = ("base64", "tr", "wc", "head", "sed", "grep")  # what the script needs
_APPS = {"Google Chrome.app": "Google Chrome", "Firefox.app": "Mozilla Firefox",
         "Microsoft Edge.app": "Microsoft Edge", "Chromium.app": "Chromium"}


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _content(status: str) -> tuple[str | None, str | None]:
    """(text, why it is missing) of a file record's last field."""
    if status.startswith("ok:"):
        return decode(status[3:]), None
    if status.startswith("toolarge:"):
        return None, f"larger than the section sends ({status[9:]} bytes)"
    if status.startswith("budget:"):
        return None, "left out: the section's size budget was used up by other profiles"
    if status == "absent":
        return None, None
    return None, "not readable by the scanning user"


def _parse(raw: RawSection, facts: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    end = blocks.get("end")
    if end is None or end.rc is None:
        facts.error_all(PROVIDES, "posix.browsers: output incomplete (no end marker)")
        return
    tools = blocks.get("tools")
    lacking = [t for t in TOOLS if t not in (tools.text.split() if tools else [])]
    if lacking:
        facts.error_all(PROVIDES, f"posix.browsers: the target lacks {', '.join(lacking)}, "
                                  "which the section needs (its output would be incomplete)")
        return
    mac = (blocks.get("platform") or Block("", 0)).text.strip() == "Darwin"
    installed, selfupdating = _installed(blocks.get("installed"))
    if mac and "Mozilla Firefox" in installed:
        selfupdating.append("/Applications/Firefox.app")
    extensions, profiles, cut = _profiles(blocks.get("profiles") or Block("", 0))
    settings = _policies(blocks.get("policies"), selfupdating)
    settings += _mac_policies(blocks.get("mac_policies"), selfupdating)
    ext.summarise(facts, extensions, profiles, settings, installed)
    if cut:
        facts.error("browsers.extensions", "posix.browsers: " + cut)
        facts.error("browsers.extension_count", "posix.browsers: " + cut)


def _installed(block: Block | None) -> tuple[list[str], list[str]]:
    names: list[str] = []
    selfupdating: list[str] = []
    for line in records(block):
        kind, _, value = line.partition(" ")
        if kind == "cmd" and value in _COMMANDS:
            names.append(_COMMANDS[value])
        elif kind == "app" and value in _APPS:
            names.append(_APPS[value])
        elif kind == "selfupdating":
            selfupdating.append(decode(value))
            names.append("Mozilla Firefox")
    return names, selfupdating


def _user(home: str) -> str:
    return "root" if home == "/root" else home.rstrip("/").rsplit("/", 1)[-1]


def _profiles(block: Block) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    extensions: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    cut: str | None = None
    current: dict[str, Any] | None = None

    def close() -> None:
        if current is None:
            return
        if current["browser"] == "firefox":
            found, problems = ext.firefox_profile(current["user"], current["profile"],
                                                  current["extjson"])
            problems = current["missing"] + (problems if current["extjson"] else [])
        else:
            found, problems = ext.chromium_profile(
                current["browser"], current["user"], current["profile"], current["manifests"],
                current["prefs"], current["missing"])
        extensions.extend(found)
        profiles.append({"browser": ext.BROWSER_TITLES.get(current["browser"],
                                                           current["browser"]),
                         "user": current["user"], "profile": current["profile"],
                         "extensions": len(found), "problems": problems})

    for line in records(block):
        parts = line.split("\t")
        kind = parts[0]
        if kind == "profile" and len(parts) == 4:
            close()
            browser, home, path = decode(parts[1]), decode(parts[2]), decode(parts[3])
            current = {"browser": browser, "user": _user(home),
                       "profile": path.rstrip("/").rsplit("/", 1)[-1], "path": path,
                       "manifests": [], "prefs": [], "missing": [], "extjson": None}
        elif current is None:
            if kind == "truncated":
                cut = "more than 60 browser profiles: the rest were not read"
            continue
        elif kind == "manifest" and len(parts) == 3:
            path = decode(parts[1])
            text, why = _content(parts[2])
            bits = path.rsplit("/", 3)  # .../Extensions/<id>/<version>/manifest.json
            ext_id, folder = (bits[-3], bits[-2]) if len(bits) == 4 else ("", "")
            if why:
                current["missing"].append(f"extension {ext_id}: manifest.json {why}")
            current["manifests"].append([ext_id, folder, text, None])
        elif kind == "messages" and len(parts) == 3 and current["manifests"]:
            text, _ = _content(parts[2])
            current["manifests"][-1][3] = text
        elif kind == "prefs" and len(parts) == 3:
            name = decode(parts[1]).rsplit("/", 1)[-1]
            text, why = _content(parts[2])
            if why:
                current["missing"].append(f"{name} {why}: whether extensions are enabled is "
                                          "unknown")
            current["prefs"].append(text)
        elif kind == "extjson" and len(parts) == 3:
            text, why = _content(parts[2])
            if why:
                current["missing"].append(f"extensions.json {why}")
            current["extjson"] = text
        elif kind == "more":
            cut = f"more than 200 extensions in {current['path']}: the rest were not read"
        elif kind == "truncated":
            cut = "more than 60 browser profiles: the rest were not read"
    close()
    return extensions, profiles, cut


def _policies(block: Block | None, selfupdating: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in records(block):
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] != "policy":
            continue
        path = decode(parts[1])
        text, _ = _content(parts[2])
        if path.startswith(("/etc/opt/", "/etc/chromium/")):
            continue  # Chrome/Edge managed policies on Linux: updates come from the packages
        applies = path.startswith("/etc/firefox/") or any(
            path.startswith(d.rstrip("/") + "/") for d in selfupdating)
        if applies and selfupdating:
            out += ext.firefox_policies(text, path)
    return out


def _mac_policies(block: Block | None, selfupdating: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in records(block):
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] != "plist":
            continue
        path = decode(parts[1])
        try:
            doc = plistlib.loads(decode(parts[2]).encode("utf-8"))
        except Exception:  # noqa: BLE001 - a plist undone cannot read is not a setting
            doc = None
        if not isinstance(doc, dict):
            continue
        if "org.mozilla.firefox" in path and selfupdating:
            out += ext.firefox_policy_values(doc, path)
        elif path.endswith("com.google.Keystone.Agent.plist"):
            if doc.get("checkInterval") == 0:
                out.append({"browser": "Google Chrome", "where": path,
                            "setting": "checkInterval", "value": 0,
                            "effect": "automatic update checks disabled"})
        elif "com.google.Keystone" in path:
            pol = ext.obj(doc.get("updatePolicies"))
            chrome = ext.obj(pol.get("com.google.Chrome"))
            values = dict(ext.obj(pol.get("global")))
            if "UpdateDefault" in chrome:
                values[f"Update{ext.CHROME_APP}"] = chrome["UpdateDefault"]
            out += ext.google_update("Google Chrome", ext.CHROME_APP, values, path)
    return out
