"""Applications: is each installed application within 14 days of its vendor's fixes, and is its
product line still supported (Cyber Essentials v3.3, Danzell A6.5 and A6.2/A6.3).

The probes inventory what is installed (``probes/*/applications``) and the browsers' extensions
and update settings (``probes/*/browsers``); they never judge. Here, on the scanner side, after a
host's sections are parsed, :func:`enrich` recognises the applications undone knows
(:mod:`scanner.lifecycle.applications.products`), looks each up in the release catalogue
(:mod:`scanner.lifecycle.applications.catalogue`) and derives facts the rules compare:

``apps.outdated``
    one line per application a newer release of whose product line has been out for more than
    :data:`UPDATE_DAYS` days ("Adobe Acrobat Reader 23.008.20470: 24.001.20604 released on
    2024-02-13, 40 days before the scan"). The release date is the basis: a newer release whose
    date the catalogue does not know, a catalogue older than :data:`UPDATE_DAYS` days, or a
    product line the catalogue lists only in part, can never make an application current.
    When no failure is proven and some application cannot be decided, the fact is an error
    naming them (the rule is ``error``, never ``pass``); decided failures stay values, and the
    undecided are listed in ``apps.undetermined``.
``apps.unsupported``
    one line per application on a product line past its published end of support (Firefox and
    Thunderbird ESR lines, LibreOffice, Java, Office 2016-2024, Acrobat Classic, a Microsoft 365
    Apps build past its end of support); the same rules for what cannot be decided
    (``apps.support_undetermined``). Products whose vendor only fixes the newest release have no
    separate end of support: being behind is judged by ``apps.outdated``.
``apps.judged``
    every recognised application with what was found (status, newer version and its date,
    support, the catalogue's date for it), for the report.
``apps.unrecognised``
    every other application: inventoried and listed, never judged.
``browsers.extension_allowlist_declared``, ``browsers.extensions_not_allowed``
    the extensions found that the inventory's ``extension_allowlist`` does not name.

Why 14 days is also the catalogue's age limit: a release the catalogue does not know is younger
than the catalogue, so with data at most 14 days old no unknown release can be more than 14
days old, and "no newer release out for more than 14 days" is exact. With older data only a
failure can be proven.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from scanner.lifecycle.applications import catalogue as _catalogue
from scanner.lifecycle.applications import products, versions

UPDATE_DAYS = 14
APPS_SECTIONS = ("posix.applications", "windows.applications")
BROWSER_SECTIONS = ("posix.browsers", "windows.browsers")
FACTS = (
    "apps.judged", "apps.outdated", "apps.unsupported", "apps.undetermined",
    "apps.support_undetermined", "apps.unrecognised", "apps.catalogue_snapshot",
)
_CHROME_CYCLE = re.compile(r"^(\d+)\.0\.0\.0$")
# an extension id: Chrome's 32 letters a-p, or a Firefox id (email-like or {GUID})
EXTENSION_ID = re.compile(
    r"^(?:[a-p]{32}|[A-Za-z0-9._+-]{1,80}@[A-Za-z0-9._-]{1,80}|\{[0-9A-Fa-f-]{36}\})$")


def _day(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def _shown(pid: str, text: str) -> str:
    m = _CHROME_CYCLE.match(text) if pid in ("chrome", "chromium", "edge") else None
    return f"{m.group(1)} (its first release)" if m else text


def judge(item: Mapping[str, Any], rec: products.Recognised, cat: _catalogue.Catalogue,
          now: datetime) -> dict[str, Any]:
    """What is known about one recognised application: ``status`` current / outdated /
    undetermined, ``support`` supported / unsupported / undetermined / rolling, with reasons."""
    today = _day(now)
    spec = products.PRODUCTS.get(rec.product)
    out: dict[str, Any] = {
        "name": str(item.get("name") or ""), "version": str(item.get("version") or ""),
        "source": item.get("source"), "scope": item.get("scope"), "path": item.get("path"),
        "product": rec.product, "title": spec.title if spec else "",
    }
    if rec.version is None or spec is None:
        out.update(status="not_judged", support="not_judged", reason=rec.note)
        return out
    v, track, cycle = rec.version, rec.track, rec.cycle
    pdata = cat.product(rec.product)
    if pdata is not None and rec.product in ("firefox", "thunderbird") and not v.esr:
        esr = f"{v.text}esr"
        if esr in pdata.tracks.get(f"esr-{v.key[0]}", _catalogue.Track()).versions:
            v = versions.Parsed(esr, v.key, esr=True)
            track, cycle = f"esr-{v.key[0]}", str(v.key[0])
    out.update(upstream=v.text, track=track, cycle=cycle)
    out.update(_currency(rec.product, spec.title, v, track, pdata, today))
    out.update(_support(rec.product, spec, v, cycle, pdata, today))
    return out


def _currency(pid: str, title: str, v: versions.Parsed, track: str | None,
              pdata: _catalogue.ProductData | None, today: date) -> dict[str, Any]:
    spec = products.PRODUCTS[pid]
    t = pdata.tracks.get(track or "") if pdata is not None else None
    if t is None:
        return {"status": "undetermined",
                "reason": f"the application catalogue has no release data for {title}"
                          + (f" ({track})" if track and track != "all" else "")
                          + f": refresh it (undone applications refresh), or give its releases "
                            f"in release-data/{pid}.json (docs/applications.md)"}
    data_age = (today - t.as_of).days if t.as_of else None
    out: dict[str, Any] = {"data_as_of": t.as_of.isoformat() if t.as_of else None,
                           "data_sources": sorted(t.sources)}
    newer: list[tuple[tuple[int, ...], str, date | None]] = []
    for text, when in t.versions.items():
        p = versions.parse(spec.scheme, text, spec.size)
        if p is not None and p.key > v.key:
            newer.append((p.key, text, when))
    newer.sort()
    if newer:
        top = newer[-1]
        out["latest_version"] = _shown(pid, top[1])
        out["latest_date"] = top[2].isoformat() if top[2] else None
    overdue = [(when, text) for _, text, when in newer
               if when is not None and (today - when).days > UPDATE_DAYS]
    if overdue:
        when, text = min(overdue)
        out.update(status="outdated", basis="release-date", newer_version=_shown(pid, text),
                   newer_date=when.isoformat(), newer_age_days=(today - when).days)
        return out
    undated = [text for _, text, when in newer if when is None]
    if undated:
        out.update(status="undetermined",
                   reason=f"the catalogue does not know when {title} {undated[0]} was released")
        return out
    if data_age is None or data_age > UPDATE_DAYS:
        out.update(status="undetermined",
                   reason=f"the catalogue's {title} release data is "
                          + (f"{data_age} days old (as of {t.as_of})" if data_age is not None
                             else "undated")
                          + f": a newer release out for more than {UPDATE_DAYS} days may be "
                            "missing from it; refresh it (undone applications refresh)")
        return out
    if newer and not t.complete:
        out.update(status="undetermined",
                   reason=f"the catalogue lists only some {title} releases ({track}); a "
                          f"release between {v.text} and {_shown(pid, newer[0][1])} may be "
                          f"older than {UPDATE_DAYS} days")
        return out
    out.update(status="current", basis="release-date")
    return out


def _support(pid: str, spec: products.Product, v: versions.Parsed, cycle: str | None,
             pdata: _catalogue.ProductData | None, today: date) -> dict[str, Any]:
    if pid == "m365":
        eos = pdata.end_of_support.get(v.text) if pdata is not None else None
        if eos is None:
            return {"support": "rolling"}
        if today > eos:
            return {"support": "unsupported", "eol": eos.isoformat()}
        return {"support": "supported", "eol": eos.isoformat()}
    if not spec.lines or cycle is None:
        return {"support": "rolling"}
    c = pdata.cycles.get(cycle) if pdata is not None else None
    if c is None:
        return {"support": "undetermined",
                "support_reason": f"the catalogue has no end-of-support date for {spec.title} "
                                  f"{cycle}"}
    if c.eol is not None and today > c.eol:
        return {"support": "unsupported", "eol": c.eol.isoformat(), "eol_source": c.source}
    if c.ended:
        return {"support": "unsupported", "eol": None, "eol_source": c.source}
    age = (today - c.as_of).days if c.as_of else None
    if age is None or age > UPDATE_DAYS:
        return {"support": "undetermined", "eol": c.eol.isoformat() if c.eol else None,
                "support_reason": f"the catalogue's end-of-support data for {spec.title} "
                                  f"{cycle} is {age} days old (as of {c.as_of}): refresh it"}
    return {"support": "supported", "eol": c.eol.isoformat() if c.eol else None,
            "eol_source": c.source}


def _label(j: Mapping[str, Any]) -> str:
    where = ", ".join(str(x) for x in (j.get("source"), j.get("scope")) if x)
    text = f"{j.get('name') or j.get('title')} {j.get('version')}"
    return text + (f" ({where})" if where else "")


def _line(j: Mapping[str, Any]) -> str:
    """One line a rule's message can show whole: product, version, the newer release and its
    date (the item's name, source, scope and the latest release are in ``apps.judged``)."""
    return (f"{j.get('title')} {j.get('upstream') or j.get('version')}: {j['newer_version']} "
            f"out since {j['newer_date']} ({j['newer_age_days']} days)")


def enrich(values: Mapping[str, Any], collected_at: datetime,
           cat: _catalogue.Catalogue | None = None,
           allowlist: Iterable[str] | None = None,
           apps_ok: bool = True, browsers_ok: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
    """The derived ``apps.*`` facts of a host (from ``apps.installed``) and its extension
    allow-list facts (from ``browsers.extensions``); data only, no policy but the scheme's 14
    days. ``apps_ok``/``browsers_ok``: whether the sections were collected."""
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if browsers_ok:
        _allowlist(values, allowlist, out, errors)
    if not apps_ok:
        return out, errors
    installed = values.get("apps.installed")
    if not isinstance(installed, list):
        return out, errors
    if cat is None:
        try:
            cat = _catalogue.load()
        except Exception as e:  # noqa: BLE001 - an unusable catalogue is every fact's error
            why = f"application catalogue unusable: {e}"[:300]
            errors.update(dict.fromkeys(FACTS, why))
            return out, errors
    judged: list[dict[str, Any]] = []
    unrecognised: list[str] = []
    for item in installed:
        if not isinstance(item, Mapping):
            continue
        rec = products.recognise(item)
        if rec is None:
            where = ", ".join(str(x) for x in (item.get("source"), item.get("scope")) if x)
            unrecognised.append(f"{item.get('name')} {item.get('version') or ''}".strip()
                                + (f" ({where})" if where else ""))
            continue
        if rec.product == "distribution":
            judged.append({"name": item.get("name"), "version": item.get("version"),
                           "source": item.get("source"), "scope": item.get("scope"),
                           "product": None, "title": "", "status": "not_judged",
                           "support": "not_judged", "reason": rec.note})
            continue
        judged.append(judge(item, rec, cat, collected_at))
    out["apps.judged"] = judged
    out["apps.unrecognised"] = unrecognised
    out["apps.catalogue_snapshot"] = cat.snapshot_date.isoformat()
    outdated = [_line(j) for j in judged if j.get("status") == "outdated"]
    undetermined = [f"{_label(j)}: {j.get('reason')}" for j in judged
                    if j.get("status") == "undetermined"]
    incomplete = values.get("apps.incomplete")
    if isinstance(incomplete, list):
        # the inventory itself may miss applications: nothing can pass, a failure still fails
        undetermined += [f"the inventory is incomplete: {why}" for why in incomplete]
    out["apps.undetermined"] = undetermined
    if outdated or not undetermined:
        out["apps.outdated"] = outdated
    else:
        errors["apps.outdated"] = _cut("cannot tell whether these are up to date: "
                                       + "; ".join(undetermined))
    unsupported = [f"{j.get('title')} {j.get('upstream')}: "
                   + (f"{j.get('cycle') or 'its line'} ended {j['eol']}" if j.get("eol")
                      else f"{j.get('cycle') or 'its line'} has ended")
                   for j in judged if j.get("support") == "unsupported"]
    support_unknown = [f"{_label(j)}: {j.get('support_reason')}" for j in judged
                       if j.get("support") == "undetermined"]
    if isinstance(incomplete, list):
        support_unknown += [f"the inventory is incomplete: {why}" for why in incomplete]
    out["apps.support_undetermined"] = support_unknown
    if unsupported or not support_unknown:
        out["apps.unsupported"] = unsupported
    else:
        errors["apps.unsupported"] = _cut("cannot tell whether these are still supported: "
                                          + "; ".join(support_unknown))
    return out, errors


def _cut(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _allowlist(values: Mapping[str, Any], allowlist: Iterable[str] | None,
               out: dict[str, Any], errors: dict[str, str]) -> None:
    out["browsers.extension_allowlist_declared"] = allowlist is not None
    if allowlist is None:
        return
    exts = values.get("browsers.extensions")
    if not isinstance(exts, list):
        return  # the parser's own error for browsers.extensions stands for this one too
    allowed = {a.strip().lower() for a in allowlist}
    # one short line each (a rule's message shows it whole); the id, profile and store are in
    # browsers.extensions
    out["browsers.extensions_not_allowed"] = [
        f"{str(e.get('name') or e.get('id'))[:40]} {e.get('version') or ''} "
        f"({e.get('browser')}, {e.get('user') or '?'}"
        + (")" if e.get("enabled") is not False else ", disabled)")
        for e in exts if isinstance(e, Mapping) and str(e.get("id") or "").lower() not in allowed
    ]
    if "browsers.extensions" in errors:
        errors["browsers.extensions_not_allowed"] = errors["browsers.extensions"]


def check_allowlist(value: Any, key: str = "extension_allowlist") -> tuple[
        tuple[str, ...] | None, list[str]]:
    """An inventory's ``extension_allowlist``: a list of extension ids (Chrome/Edge: 32 letters
    a-p; Firefox: the add-on id, ``name@example.org`` or ``{GUID}``). Returns the ids and the
    problems (one line each, without the key path, which the caller adds)."""
    if not isinstance(value, list):
        return None, [f"'{key}' is not a list: expected a list of browser extension ids "
                      "(Chrome/Edge: 32 letters a-p; Firefox: the add-on id)"]
    problems: list[str] = []
    ids: list[str] = []
    for i, v in enumerate(value):
        if not isinstance(v, str) or not EXTENSION_ID.match(v.strip()):
            shown = repr(v)[:60] if isinstance(v, str | int | float) else type(v).__name__
            problems.append(f"'{key}[{i}]' is {shown}: expected a browser "
                            "extension id (Chrome/Edge: 32 letters a-p, as in "
                            "chrome://extensions; Firefox: the add-on id, e.g. "
                            "uBlock0@raymondhill.net or {GUID})")
            continue
        ids.append(v.strip())
    return (tuple(ids) if not problems else None), problems


def enrich_record(sections: Mapping[str, Mapping[str, Any]], facts: dict[str, Any],
                  errors: dict[str, str], collected_at: datetime,
                  allowlist: Iterable[str] | None) -> None:
    """The engine's hook (scanner/engine/collect.py), after a host's sections are parsed: adds the
    derived facts of :func:`enrich` to ``facts``/``errors`` in place. When the applications
    section could not be collected, its derived facts are errors with the section's reason."""
    def state(names: tuple[str, ...]) -> tuple[bool, str | None]:
        recs = [sections[n] for n in names if n in sections]
        if not recs:
            return False, None
        bad = next((r for r in recs if r.get("status") != "ok"), None)
        return bad is None, (str(bad.get("error") or "not collected") if bad else None)

    apps_ok, apps_err = state(APPS_SECTIONS)
    browsers_ok, browsers_err = state(BROWSER_SECTIONS)
    if apps_err:
        for name in FACTS:
            errors.setdefault(name, apps_err)
    if browsers_err and allowlist is not None:
        facts["browsers.extension_allowlist_declared"] = True
        errors.setdefault("browsers.extensions_not_allowed", browsers_err)
    if not apps_ok and not browsers_ok:
        return
    values, errs = enrich(facts, collected_at, allowlist=allowlist, apps_ok=apps_ok,
                          browsers_ok=browsers_ok)
    for name, value in values.items():
        facts[name] = value
        errors.pop(name, None)
    for name, why in errs.items():
        if name not in values:
            errors[name] = why
