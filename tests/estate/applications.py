"""Applications on estate hosts (scenario key ``applications``): what posix.applications and
posix.browsers read, made real on the host's own files.

    applications:
      packages: [firefox-esr=140.12.0esr-1~deb12u1, thunderbird=1:140.12.0esr-1~deb12u1]
      chromium_profile: clientadmin     # a Chromium profile with two extensions in this home
      tarballs:                          # self-contained installs in that home (application.ini)
        - {dir: firefox, name: Firefox, version: 115.9.1, disable_updates: true}
        - {dir: seamonkey, name: SeaMonkey, version: 2.53.18}

- ``packages``: whole dpkg stanzas from ``data/apps.Packages`` (real, see data/SOURCE.md) added
  to the host's dpkg status (its own copy of the template's, in the host's /var/lib layer);
  dependencies on packages the machine lacks are dropped, as for unattended-upgrades.
- ``chromium_profile``: ``~/.config/chromium/Default`` built from real files: Chromium 156's own
  Preferences with settings entries for uBlock Origin (enabled) and uBlock Origin Lite
  (disabled), and their real manifests (tests/fixtures/applications).
- ``tarballs``: ``~/<dir>/application.ini``, and with ``disable_updates`` a
  ``distribution/policies.json`` holding ``DisableAppUpdate``.

The host's truth gets ``applications``: the packages and versions, the extensions, the tarballs.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import EstateError, write_text
from .templates import (
    Stanza,
    _with_satisfied_depends,
    as_status_stanza,
    read_packages,
    render_stanzas,
)

if TYPE_CHECKING:
    from .builder import HostBuilder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "applications"
UBO = "cjpalhdlnbpafiamejdnhcphjbkeiagm"
UBOL = "ddkjiahejlhfcafbddmgiahcphecmpfh"


@dataclass
class AppsSpec:
    packages: list[tuple[str, str]] = field(default_factory=list)
    chromium_profile: str | None = None
    tarballs: list[dict[str, Any]] = field(default_factory=list)


def parse(where: str, value: Any) -> AppsSpec:
    if not isinstance(value, dict):
        raise EstateError(f"{where}: expected a mapping")
    unknown = set(value) - {"packages", "chromium_profile", "tarballs"}
    if unknown:
        raise EstateError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    spec = AppsSpec()
    known = {(s.package, s.get("Version")) for s in read_packages("apps.Packages")}
    for item in value.get("packages") or []:
        name, _, version = str(item).partition("=")
        if (name, version) not in known:
            raise EstateError(f"{where}.packages: {item!r} is not in data/apps.Packages")
        spec.packages.append((name, version))
    if value.get("chromium_profile") is not None:
        spec.chromium_profile = str(value["chromium_profile"])
    for t in value.get("tarballs") or []:
        if not isinstance(t, dict) or not {"dir", "name", "version"} <= set(t):
            raise EstateError(f"{where}.tarballs: expected {{dir, name, version}}, got {t!r}")
        spec.tarballs.append(dict(t))
    return spec


def build(host: HostBuilder, spec: AppsSpec, layer: Path) -> dict[str, Any]:
    """Make ``spec`` real in the host's tree; returns the host's ``applications`` truth."""
    truth: dict[str, Any] = {"packages": {}, "extensions": [], "tarballs": []}
    if spec.packages:
        status = layer / "dpkg" / "status"
        stanzas = Stanza.parse_many(status.read_text(encoding="utf-8"))
        installed = {s.package for s in stanzas if "installed" in s.get("Status")}
        source = {(s.package, s.get("Version")): s for s in read_packages("apps.Packages")}
        for name, version in spec.packages:
            stanzas.append(_with_satisfied_depends(as_status_stanza(source[(name, version)], None),
                                                   installed))
            truth["packages"][name] = version
        write_text(host.varlib / "dpkg" / "status", render_stanzas(stanzas))
    if spec.chromium_profile is not None:
        truth["extensions"] = _chromium(host, spec.chromium_profile)
    for t in spec.tarballs:
        home = _home(host, str(t.get("user") or spec.chromium_profile or "root"))
        d = home / str(t["dir"])
        write_text(d / "application.ini",
                   f"[App]\nVendor={t.get('vendor', 'Mozilla')}\nName={t['name']}\n"
                   f"Version={t['version']}\nBuildID=20240319112542\n")
        if t.get("disable_updates"):
            write_text(d / "distribution" / "policies.json",
                       json.dumps({"policies": {"DisableAppUpdate": True}}))
        truth["tarballs"].append({"path": f"/{d.relative_to(host.tree).as_posix()}", **t})
    return truth


def _home(host: HostBuilder, user: str) -> Path:
    if user == "root":
        return host.tree / "root"
    home = host.tree / "home" / user
    if not home.is_dir():
        raise EstateError(f"{host.spec.name}: applications: no home for account {user!r}")
    return home


def _chromium(host: HostBuilder, user: str) -> list[dict[str, Any]]:
    home = _home(host, user)
    uid, gid = host.uids.get(user, (0, 0))
    prof = home / ".config" / "chromium" / "Default"
    prefs = json.loads((FIXTURES / "chromium156" / "Preferences").read_text())
    prefs["extensions"]["settings"][UBO] = {
        "location": 1, "from_webstore": True, "path": f"{UBO}/1.15.11_0", "disable_reasons": [],
        "was_installed_by_default": False}
    prefs["extensions"]["settings"][UBOL] = {
        "location": 1, "from_webstore": True, "path": f"{UBOL}/1.0_0", "disable_reasons": [1],
        "was_installed_by_default": False}
    write_text(prof / "Preferences", json.dumps(prefs))
    shutil.copy(FIXTURES / "chromium156" / "Secure Preferences", prof / "Secure Preferences")
    ubo = prof / "Extensions" / UBO / "1.15.11_0"
    ubo.mkdir(parents=True)
    shutil.copy(FIXTURES / "extensions" / "ublock-origin" / "manifest.json", ubo)
    lite = prof / "Extensions" / UBOL / "1.0_0" / "_locales" / "en"
    lite.mkdir(parents=True)
    shutil.copy(FIXTURES / "extensions" / "ublock-origin-lite" / "manifest.json",
                lite.parents[1] / "manifest.json")
    shutil.copy(FIXTURES / "extensions" / "ublock-origin-lite" / "messages.en.json",
                lite / "messages.json")
    for root, dirs, files in os.walk(home / ".config"):
        for n in dirs + files:
            os.chown(Path(root) / n, uid, gid)
    os.chown(home / ".config", uid, gid)
    return [{"id": UBO, "name": "uBlock Origin", "enabled": True},
            {"id": UBOL, "name": "uBlock Origin Lite", "enabled": False}]
