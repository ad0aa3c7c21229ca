"""windows.browsers: web browser extensions per user and profile, and what stops a browser from
updating itself (the counterpart of posix.browsers; the same facts).

Facts::

    browsers.installed ["Google Chrome", "Microsoft Edge"]
    browsers.extensions [{browser, user, profile, id, name, version, store, enabled,
                          installed_by_default}, ...]
    browsers.extension_count 4
    browsers.profiles [{browser, user, profile, extensions, problems}, ...]
    browsers.update_settings [{browser, where, setting, value, effect}, ...]
    browsers.autoupdate_disabled ["Google Chrome: updates disabled (UpdateDefault = 0, ...)"]

What stops an installed browser updating itself (Google's and Microsoft's update policy
documentation, Mozilla's policy templates):

- Chrome: ``Update{8A69D345-D564-463C-AFF1-A69D9E530F96}``, else ``UpdateDefault``, under
  ``HKLM\\SOFTWARE\\Policies\\Google\\Update``: 0 (updates disabled) or 2 (manual updates only);
  ``AutoUpdateCheckPeriodMinutes`` 0; every Google updater service (``gupdate``, ``gupdatem``,
  ``GoogleUpdater*``) set to Disabled; every Google update scheduled task disabled.
- Edge: the same under ``...\\Microsoft\\EdgeUpdate`` (app ``{56EB18F8-B008-4CBD-B6D2-
  8C97FE7E9062}``), services ``edgeupdate``/``edgeupdatem``, tasks ``MicrosoftEdgeUpdate*``.
- Firefox: ``DisableAppUpdate`` 1, or ``AppAutoUpdate`` 0 (updates wait for the user), in
  ``HKLM\\SOFTWARE\\Policies\\Mozilla\\Firefox`` or ``distribution\\policies.json``.

A setting for a browser that is not installed changes nothing and is not listed in
``browsers.autoupdate_disabled``. A read that failed makes the facts it decides errors.
"""

from __future__ import annotations

from typing import Any

from probes import extensions as ext
from probes.base import Facts, RawSection, guard
from probes.windows._json import document, listed, read

PROVIDES = ext.PROVIDES
HKLM = "HKLM\\SOFTWARE\\Policies"


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _file(rec: Any) -> tuple[str | None, str | None]:
    """(text, why it is missing) of an undone_textfile record."""
    if not isinstance(rec, dict):
        return None, "not in the output"
    status = rec.get("status")
    if status == "ok":
        return str(rec.get("text") or ""), None
    if status == "absent":
        return None, None
    if status == "toolarge":
        return None, f"larger than the section sends ({rec.get('size')} bytes)"
    if status == "budget":
        return None, "left out: the section's size budget was used up by other profiles"
    return None, f"not readable ({str(rec.get('error') or 'access denied')[:120]})"


def _parse(raw: RawSection, facts: Facts) -> None:
    doc = document(raw)
    installed_rows, ierr = read(doc, "installed", "installed browsers")
    if ierr:
        facts.error_all(PROVIDES, ierr)
        return
    installed = sorted({str(r.get("browser")) for r in listed(installed_rows)
                        if isinstance(r, dict) and r.get("browser")})
    settings: list[dict[str, Any]] = []
    problems: list[str] = []
    for key, browser, app, where in (
            ("google_update", "Google Chrome", ext.CHROME_APP, f"{HKLM}\\Google\\Update"),
            ("edge_update", "Microsoft Edge", ext.EDGE_APP, f"{HKLM}\\Microsoft\\EdgeUpdate")):
        values, err = read(doc, key, where)
        if err:
            problems.append(err)
        elif isinstance(values, dict):
            settings += ext.google_update(browser, app, values, where)
    ff, err = read(doc, "firefox_policy", f"{HKLM}\\Mozilla\\Firefox")
    if err:
        problems.append(err)
    elif isinstance(ff, dict):
        settings += ext.firefox_policy_values({k: _int(v) for k, v in ff.items()},
                                              f"{HKLM}\\Mozilla\\Firefox")
    files, err = read(doc, "firefox_policies_json", "Firefox policies.json")
    for f in listed(files) if not err else []:
        if isinstance(f, dict):
            text, _ = _file(f.get("file"))
            settings += ext.firefox_policies(text, str(f.get("path") or "policies.json"))
    services, serr = read(doc, "services", "browser updater services")
    if serr:
        problems.append(serr)
    tasks, terr = read(doc, "tasks", "browser update scheduled tasks")
    if terr:
        problems.append(terr)
    settings += _updaters(listed(services) if not serr else [], listed(tasks) if not terr else [])
    extensions, profiles, cut, perr = _profiles(doc)
    ext.summarise(facts, extensions, profiles, settings, installed)
    if problems:
        why = "; ".join(problems)[:400]
        facts.error("browsers.autoupdate_disabled", why)
        facts.error("browsers.update_settings", why)
    if perr or cut:
        why = perr or f"windows.browsers: {cut}"
        facts.error("browsers.extensions", why)
        facts.error("browsers.extension_count", why)
        if perr:
            facts.error("browsers.profiles", why)


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


def _updaters(services: list[Any], tasks: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for browser, svc_prefixes, task_prefix in (
            ("Google Chrome", ("gupdate", "googleupdater"), ("googleupdate",)),
            ("Microsoft Edge", ("edgeupdate",), ("microsoftedgeupdate",))):
        mine = [s for s in services if isinstance(s, dict)
                and str(s.get("name") or "").lower().startswith(svc_prefixes)]
        if mine and all(str(s.get("start_mode") or "").lower() == "disabled" for s in mine):
            out.append({"browser": browser, "where": "services",
                        "setting": ", ".join(sorted(str(s.get("name")) for s in mine)),
                        "value": "Disabled", "effect": "updater service disabled"})
        own = [t for t in tasks if isinstance(t, dict)
               and str(t.get("name") or "").lower().startswith(task_prefix)]
        if own and all(str(t.get("state") or "").lower() == "disabled" for t in own):
            out.append({"browser": browser, "where": "scheduled tasks",
                        "setting": ", ".join(sorted(str(t.get("name")) for t in own)),
                        "value": "Disabled", "effect": "update tasks disabled"})
    return out


def _profiles(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                             str | None, str | None]:
    rows, err = read(doc, "profiles", "browser profiles")
    if err:
        return [], [], None, err
    extensions: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    cut: str | None = None
    for p in listed(rows):
        if not isinstance(p, dict):
            continue
        if p.get("truncated"):
            cut = "more than 60 browser profiles: the rest were not read"
            continue
        user, profile = str(p.get("user") or ""), str(p.get("profile") or "")
        browser = str(p.get("browser") or "")
        if browser == "firefox":
            text, why = _file(p.get("extensions_json"))
            found, problems = ext.firefox_profile(user, profile, text)
            if why:
                problems = [f"extensions.json {why}"]
        else:
            missing: list[str] = []
            manifests: list[tuple[str, str, str | None, str | None]] = []
            exts = listed(p.get("extensions"))
            if len(exts) > 200:
                cut = f"more than 200 extensions in {user}'s {profile}: the rest were not read"
            for e in exts[:200]:
                if not isinstance(e, dict):
                    continue
                mtext, why = _file(e.get("manifest"))
                if why:
                    missing.append(f"extension {e.get('id')}: manifest.json {why}")
                msgs, _ = _file(e.get("messages")) if e.get("messages") else (None, None)
                manifests.append((str(e.get("id") or ""), str(e.get("folder") or ""),
                                  mtext, msgs))
            texts: list[str | None] = []
            for rec in listed(p.get("prefs")):
                text, why = _file(rec)
                if why:
                    missing.append(f"a preferences file {why}: whether extensions are enabled "
                                   "is unknown")
                texts.append(text)
            found, problems = ext.chromium_profile(browser, user, profile, manifests, texts,
                                                   missing)
        extensions += found
        profiles.append({"browser": ext.BROWSER_TITLES.get(browser, browser), "user": user,
                         "profile": profile, "extensions": len(found), "problems": problems})
    return extensions, profiles, cut, None
