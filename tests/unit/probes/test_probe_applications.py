"""The applications and browsers sections on POSIX and Windows: parsers on real outputs (see
tests/fixtures/applications/SOURCE.md), the POSIX scripts run for real against profile trees
built from real files, and hostile names that must not forge the sections' structure."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from probes import extensions as ext
from probes.base import RawSection
from probes.posix import applications as papps
from probes.posix import browsers as pbrowsers
from probes.windows import applications as wapps
from probes.windows import browsers as wbrowsers

ROOT = Path(__file__).parents[3]
FIX = ROOT / "tests" / "fixtures" / "applications"
WIN = ROOT / "tests" / "fixtures" / "windows"
PRELUDE = (ROOT / "probes" / "posix" / "_prelude.sh").read_text()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def block(name: str, output: str, exit_code: int = 0) -> str:
    """A block as applications.sh frames a command: its output and @@exit, base64 on a line."""
    return f"@@block {name}\n{b64(output + chr(10) + '@@exit ' + str(exit_code) + chr(10))}\n@@rc 0\n"


def section(*blocks: str) -> str:
    return ("@@block platform\nLinux\n\n@@rc 0\n@@block tools\nbase64\ntr\nhead\ngrep\n\n@@rc 0\n"
            + "".join(blocks) + "@@block end\n\n@@rc 0\n")


def apps(stdout: str) -> tuple[dict[str, Any], dict[str, str]]:
    f = papps.parse(RawSection("posix.applications", stdout))
    return f.values, f.errors


# ----------------------------------------------------------------------- posix.applications


def test_debian12_real_output() -> None:
    """Captured on Debian 12 with chromium and OpenJDK 17 installed (the section run for real)."""
    values, errors = apps((FIX / "posix" / "debian12_dpkg_chromium.out").read_text())
    assert not errors
    names = {i["name"]: i["version"] for i in values["apps.installed"]}
    assert names["chromium"] == "156.0.8078.129-1~deb12u1"
    assert "openjdk-17-jre" in names and "firefox-esr" not in names
    assert all(i["source"] == "dpkg" and i["scope"] == "machine" for i in values["apps.installed"])


def test_the_section_runs_here_and_parses() -> None:
    out = subprocess.run(["sh", "-c", PRELUDE + (ROOT / "probes/posix/applications.sh").read_text()],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    values, errors = apps(out)
    assert not errors and isinstance(values["apps.installed"], list)


def test_snaps_flatpaks_and_tarballs() -> None:
    # `snap list` as the Snapcraft tour shows it; flatpak's listing in the section's columns;
    # a Firefox ESR unpacked from Mozilla's tarball into /opt (application.ini, channel-prefs.js)
    snap = ("Name             Version        Rev    Tracking         Publisher   Notes\n"
            "core22           20231123       1033   latest/stable    canonical✓  base\n"
            "firefox          120.0.1-1      3504   latest/stable    mozilla✓    -\n"
            "snapd            2.60.4         20290  latest/stable    canonical✓  snapd\n")
    flatpak = "org.mozilla.firefox\t146.0.1\tstable\tflathub\tsystem\n"
    ini = "Vendor=Mozilla\nName=Firefox\nVersion=115.9.1\nBuildID=20240319112542\n"
    chan = 'pref("app.update.channel", "esr");\n'
    opt = f"@@block opt\nini\t{b64('/opt/firefox')}\t{b64(ini)}\t{b64(chan)}\n\n@@rc 0\n"
    values, errors = apps(section(block("dpkg", "dpkg-query: no packages found matching vlc\n", 1),
                                  block("snap", snap), block("flatpak", flatpak), opt))
    assert not errors
    by = {(i["source"], i["name"]): i for i in values["apps.installed"]}
    assert by[("snap", "firefox")]["version"] == "120.0.1-1"
    assert by[("flatpak", "org.mozilla.firefox")]["version"] == "146.0.1"
    tar = by[("opt", "Firefox")]
    assert tar["version"] == "115.9.1" and tar["channel"] == "esr" and tar["path"] == "/opt/firefox"


def test_macos_bundles() -> None:
    # hand-made: the plutil XML lines the script keeps (grep -A 1 of five keys) for two bundles
    chrome = ("<key>CFBundleIdentifier</key>\n\t<string>com.google.Chrome</string>\n"
              "<key>CFBundleName</key>\n\t<string>Chrome</string>\n"
              "<key>CFBundleShortVersionString</key>\n\t<string>120.0.6099.109</string>\n")
    other = ("<key>CFBundleIdentifier</key>\n\t<string>org.example.tool</string>\n"
             "<key>CFBundleShortVersionString</key>\n\t<string>2.1</string>\n")
    bundles = (f"@@block bundles\nbundle\t{b64('/Applications/Google Chrome.app')}\t{b64(chrome)}\n"
               f"bundle\t{b64('/Users/alice/Applications/Tool.app')}\t{b64(other)}\n\n@@rc 0\n")
    values, errors = apps(section(bundles))
    assert not errors
    chrome_item, tool = values["apps.installed"]
    assert chrome_item == {"name": "Chrome", "version": "120.0.6099.109", "id": "com.google.Chrome",
                           "source": "bundle", "path": "/Applications/Google Chrome.app",
                           "scope": "machine"}
    assert tool["name"] == "Tool" and tool["scope"] == "user"


def test_hostile_names_cannot_forge_structure() -> None:
    # a flatpak whose version holds line breaks and section markers (metainfo can say anything)
    evil = "org.evil.App\t1.0\n@@rc 0\n@@block end\n@@block dpkg\nii \tfirefox-esr\t999.0esr\n"
    values, errors = apps(section(block("flatpak", evil)))
    assert not errors
    assert [i["name"] for i in values["apps.installed"]] == ["org.evil.App"]


def test_incomplete_and_failing_outputs_are_errors() -> None:
    _, errors = apps("@@block platform\nLinux\n\n@@rc 0\n")
    assert "no end marker" in errors["apps.installed"]
    _, errors = apps(section().replace("base64\n", "").replace("grep\n", ""))
    assert "lacks base64, grep" in errors["apps.installed"]
    values, errors = apps(section("@@block pkgtool\ndpkg-query, rpm: command not found\n@@rc 127\n"))
    assert values["apps.installed"] == [] and "neither dpkg-query nor rpm" in values[
        "apps.incomplete"][0]
    _, errors = apps(section(block("snap", "error: cannot communicate with server: timeout", 1)))
    assert "snap list" in errors["apps.installed"]
    values, errors = apps(section(block("snap", "No snaps are installed yet.", 1)))
    assert values["apps.installed"] == [] and not errors
    _, errors = apps(section("@@block dpkg\n!!!not base64!!!\n@@rc 0\n"))
    assert "could not parse" in errors["apps.installed"]


# --------------------------------------------------------------------------- posix.browsers


def _chromium_profile(home: Path) -> Path:
    """A Chromium profile built from real files: Chromium 156's own Preferences (captured here on
    a fresh profile) with settings entries for two extensions added in Chromium's format, and
    the real manifests of uBlock Origin and uBlock Origin Lite (gorhill/uBlock)."""
    prof = home / ".config" / "chromium" / "Default"
    prof.mkdir(parents=True)
    prefs = json.loads((FIX / "chromium156" / "Preferences").read_text())
    prefs["extensions"]["settings"]["cjpalhdlnbpafiamejdnhcphjbkeiagm"] = {
        "location": 1, "from_webstore": True, "path": "cjpalhdlnbpafiamejdnhcphjbkeiagm/1.15.11_0",
        "disable_reasons": [], "was_installed_by_default": False}
    prefs["extensions"]["settings"]["ddkjiahejlhfcafbddmgiahcphecmpfh"] = {
        "location": 1, "from_webstore": True, "path": "ddkjiahejlhfcafbddmgiahcphecmpfh/1.0_0",
        "disable_reasons": [1], "was_installed_by_default": False}
    (prof / "Preferences").write_text(json.dumps(prefs))
    shutil.copy(FIX / "chromium156" / "Secure Preferences", prof / "Secure Preferences")
    ubo = prof / "Extensions" / "cjpalhdlnbpafiamejdnhcphjbkeiagm" / "1.15.11_0"
    ubo.mkdir(parents=True)
    shutil.copy(FIX / "extensions" / "ublock-origin" / "manifest.json", ubo / "manifest.json")
    lite = prof / "Extensions" / "ddkjiahejlhfcafbddmgiahcphecmpfh" / "1.0_0"
    (lite / "_locales" / "en").mkdir(parents=True)
    shutil.copy(FIX / "extensions" / "ublock-origin-lite" / "manifest.json", lite / "manifest.json")
    shutil.copy(FIX / "extensions" / "ublock-origin-lite" / "messages.en.json",
                lite / "_locales" / "en" / "messages.json")
    return prof


def run_browsers(root: Path) -> tuple[dict[str, Any], dict[str, str], str]:
    """The real section script, with its home folders pointed at ``root`` (as /home/*)."""
    script = (ROOT / "probes" / "posix" / "browsers.sh").read_text()
    script = script.replace("/home/*", f"{root}/home/*").replace("/root /", "/nonexistent /")
    out = subprocess.run(["sh", "-c", PRELUDE + script], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    f = pbrowsers.parse(RawSection("posix.browsers", out))
    return f.values, f.errors, out


def test_chromium_and_firefox_profiles_read_for_real(tmp_path: Path) -> None:
    home = tmp_path / "home" / "alice"
    _chromium_profile(home)
    ff = home / ".mozilla" / "firefox" / "abcd1234.default-esr"
    ff.mkdir(parents=True)
    shutil.copy(FIX / "firefox" / "profile.extensions.json", ff / "extensions.json")
    values, errors, _ = run_browsers(tmp_path)
    assert not errors
    exts = {e["id"]: e for e in values["browsers.extensions"]}
    assert exts["cjpalhdlnbpafiamejdnhcphjbkeiagm"]["name"] == "uBlock Origin"
    assert exts["cjpalhdlnbpafiamejdnhcphjbkeiagm"]["enabled"] is True
    lite = exts["ddkjiahejlhfcafbddmgiahcphecmpfh"]
    assert lite["name"] == "uBlock Origin Lite" and lite["enabled"] is False  # __MSG_ resolved
    assert "mhjfbmdgcfjbbpaeojofohoefgiehjai" not in exts  # Chromium's PDF viewer: a component
    assert exts["uBlock0@raymondhill.net"]["enabled"] is True
    assert exts["{446900e4-71c2-419f-a6a7-df9c091e268b}"]["enabled"] is False
    assert "firefox-compact-dark@mozilla.org" not in exts  # a theme, not an extension
    assert {(p["browser"], p["user"]) for p in values["browsers.profiles"]} == {
        ("Chromium", "alice"), ("Mozilla Firefox", "alice")}
    assert values["browsers.autoupdate_disabled"] == []


def test_a_hostile_profile_name_is_data(tmp_path: Path) -> None:
    home = tmp_path / "home" / "bob"
    prof = _chromium_profile(home)
    evil = prof.parent / "Profile 2\n@@rc 0\n@@block end"
    shutil.copytree(prof, evil)
    values, errors, out = run_browsers(tmp_path)
    assert not errors
    assert "\n@@block end\n@@rc 0\n" not in out.split("@@block policies")[0]
    assert {p["profile"] for p in values["browsers.profiles"]} == {
        "Default", "Profile 2\n@@rc 0\n@@block end"}


def test_oversized_preferences_leave_enabled_unknown(tmp_path: Path) -> None:
    prof = _chromium_profile(tmp_path / "home" / "carol")
    prefs = json.loads((prof / "Preferences").read_text())
    prefs["padding"] = "x" * 600_000
    (prof / "Preferences").write_text(json.dumps(prefs))
    values, errors, _ = run_browsers(tmp_path)
    assert not errors
    assert all(e["enabled"] is None for e in values["browsers.extensions"])
    (problem,) = values["browsers.profiles"][0]["problems"]
    assert "larger than the section sends" in problem


def test_firefox_update_policy_on_a_self_updating_install(tmp_path: Path) -> None:
    home = tmp_path / "home" / "dave"
    inst = home / "firefox"
    (inst / "distribution").mkdir(parents=True)
    (inst / "application.ini").write_text("Vendor=Mozilla\nName=Firefox\nVersion=115.9.1\n")
    (inst / "distribution" / "policies.json").write_text(
        json.dumps({"policies": {"DisableAppUpdate": True}}))
    values, errors, _ = run_browsers(tmp_path)
    assert not errors and "Mozilla Firefox" in values["browsers.installed"]
    (line,) = values["browsers.autoupdate_disabled"]
    assert line.startswith("Mozilla Firefox: updates disabled (DisableAppUpdate = True")


def test_browsers_script_is_read_only_posix_sh_and_passes_shellcheck() -> None:
    for name in ("applications.sh", "browsers.sh"):
        script = (ROOT / "probes" / "posix" / name).read_text()
        assert script.startswith(f"# undone section posix.{name[:-3]}:")
        assert "Privilege:" in script[:2000] and "Writes nothing" in script[:2000]
        for forbidden in (r"\bmktemp\b", r"\btee\s", r"\btouch\s", r"\brm\s", r"\s>\s*[^&/]", ">>"):
            assert not re.search(forbidden, script), (name, forbidden)
        subprocess.run(["sh", "-n", str(ROOT / "probes" / "posix" / name)], check=True)
        if shutil.which("shellcheck") is None:
            pytest.skip("shellcheck not installed")
        subprocess.run(["shellcheck", "-s", "sh", str(ROOT / "probes" / "posix" / name)],
                       check=True)


# --------------------------------------------------------------------------- extensions.py


def test_firefox_system_add_ons_are_not_user_extensions() -> None:
    found, problems = ext.firefox_profile(
        "alice", "p", (FIX / "firefox" / "system-addons-only.extensions.json").read_text())
    assert found == [] and problems == []
    found, problems = ext.firefox_profile("alice", "p", "{broken")
    assert found == [] and problems == ["extensions.json is not readable JSON"]


def test_google_update_policy_values() -> None:
    def effect(values: dict[str, Any]) -> list[str]:
        return [s["effect"] for s in ext.google_update("Google Chrome", ext.CHROME_APP, values,
                                                       "HKLM")]

    assert effect({"UpdateDefault": 0}) == ["updates disabled"]
    assert effect({"UpdateDefault": 2}) == ["manual updates only"]
    assert effect({"UpdateDefault": 0, f"Update{ext.CHROME_APP}": 1}) == []  # the app wins
    assert effect({"UpdateDefault": 1, "AutoUpdateCheckPeriodMinutes": 0}) == [
        "automatic update checks disabled"]
    assert effect({"UpdateDefault": 3}) == []


# ---------------------------------------------------------------------------- Windows parsers


def win(module: Any, topic: str, name: str) -> tuple[dict[str, Any], dict[str, str]]:
    text = (WIN / topic / f"{name}.out").read_text()
    f = module.parse(RawSection(f"windows.{topic}", json.dumps(json.loads(text))))
    return f.values, f.errors


def test_windows_uninstall_keys_and_click_to_run() -> None:
    values, errors = win(wapps, "applications", "old_acrobat_chrome")
    assert not errors
    by = {i["name"]: i for i in values["apps.installed"]}
    assert by["Adobe Acrobat DC (64-bit)"]["version"] == "23.008.20470"
    assert by["Google Chrome"]["scope"] == "machine"
    assert by["Advanced IP Scanner 2.5.1"]["scope"] == "machine-32bit"
    assert by["Zoom Workplace"]["scope"] == "user:PC042\\alice"
    m365 = by["Microsoft 365 Apps"]
    assert m365["source"] == "c2r" and m365["channel"] == "Current" and m365["m365"] is True
    assert "Microsoft 365 Apps for business - en-us" not in by  # its Uninstall entry: same build
    assert not any("Visual C++" in n or n.startswith("Update for") for n in by)
    assert values["apps.users_not_loaded"] == 1 and values["apps.incomplete"] == []


def test_windows_user_hives_denied_makes_the_list_incomplete() -> None:
    values, errors = win(wapps, "applications", "current_users_denied")
    assert not errors and "not allowed" in values["apps.incomplete"][0]


def test_windows_browsers_updates_disabled_and_extensions() -> None:
    values, errors = win(wbrowsers, "browsers", "chrome_updates_disabled")
    assert not errors
    assert values["browsers.installed"] == ["Google Chrome", "Microsoft Edge"]
    disabled = values["browsers.autoupdate_disabled"]
    assert disabled[0] == ("Google Chrome: updates disabled (UpdateDefault = 0, "
                           "HKLM\\SOFTWARE\\Policies\\Google\\Update)")
    assert any("updater service disabled" in d for d in disabled)
    assert not any(d.startswith("Microsoft Edge") for d in disabled)
    exts = {e["id"]: e for e in values["browsers.extensions"]}
    assert exts["cjpalhdlnbpafiamejdnhcphjbkeiagm"]["enabled"] is True
    assert exts["bmnlcjabgnpnenekpadlanbbkooimhnj"]["enabled"] is False
    edge = next(p for p in values["browsers.profiles"] if p["browser"] == "Microsoft Edge")
    assert "larger than the section sends" in edge["problems"][0]
    values, errors = win(wbrowsers, "browsers", "updating")
    assert values["browsers.autoupdate_disabled"] == [] and not errors


def test_windows_sections_that_failed_are_errors() -> None:
    doc = json.loads((WIN / "browsers" / "updating.out").read_text())
    doc["services"] = {"error": "Access denied ", "error_type": "CimException"}
    doc["profiles"] = {"error": "Access denied", "error_type": "UnauthorizedAccessException"}
    f = wbrowsers.parse(RawSection("windows.browsers", json.dumps(doc)))
    assert "Access denied" in f.errors["browsers.autoupdate_disabled"]
    assert "Access denied" in f.errors["browsers.extensions"]
    f = wapps.parse(RawSection("windows.applications", "not json"))
    assert "not JSON" in f.errors["apps.installed"]


# ------------------------------------------------------------------ worst case at the section cap

CAP = 2 * 1024 * 1024  # scanner/engine/batch.py DEFAULT_SECTION_CAP


def _worst_cases() -> list[tuple[Any, str, str]]:
    line_flood = "ii \tfirefox-esr\t" + "1" * 60 + "\n"
    dpkg = section(block("dpkg", line_flood * (CAP // len(line_flood) // 2)))
    one_line = section("@@block dpkg\n" + "A" * (CAP - 200) + "\n@@rc 0\n")
    plist = "<key>CFBundleName</key><string>" + "x" * 150 + "</string>" * 2
    bundles = section("@@block bundles\n" + (f"bundle\t{b64('/Applications/A.app')}\t"
                                             f"{b64(plist)}\n") * (CAP // 400) + "@@rc 0\n")
    nested = "[" * 200_000 + "]" * 200_000  # deep JSON inside a profile's Preferences
    prefs = ("@@block profiles\n" + f"profile\t{b64('chromium')}\t{b64('/home/a')}\t"
             f"{b64('/home/a/.config/chromium/Default')}\n"
             + f"prefs\t{b64('/p/Preferences')}\tok:{b64(nested)}\n" + "@@rc 0\n")
    browsers = section(prefs + "@@block policies\n\n@@rc 0\n")
    many = {"machine": {"value": [{"key": str(i), "DisplayName": "x" * 100,
                                   "DisplayVersion": "1." * 20} for i in range(8000)]},
            "machine_wow": {"value": []}, "users": {"value": []}, "profiles": {"value": []},
            "appx": {"value": []}}
    return [(papps, "posix.applications", dpkg), (papps, "posix.applications", one_line),
            (papps, "posix.applications", bundles), (pbrowsers, "posix.browsers", browsers),
            (wapps, "windows.applications", json.dumps(many)[:CAP])]


@pytest.mark.parametrize("case", range(5))
def test_worst_input_at_the_cap_parses_within_a_second(case: int) -> None:
    import time

    module, name, stdout = _worst_cases()[case]
    started = time.perf_counter()
    facts = module.parse(RawSection(name, stdout))
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{name}: {elapsed:.2f}s on {len(stdout)} bytes"
    assert facts.values or facts.errors  # an answer either way, never an exception
    if len(facts.values.get("apps.installed") or []) >= 2000:  # cut: never a complete list
        assert facts.values["apps.incomplete"]
