"""Release feeds in the vendors' real formats, with dates chosen relative to a test's "now", for
`undone applications refresh --from DIR` (tests/fixtures/applications/SOURCE.md has the real
samples these formats follow).

Each helper writes one feed as its vendor publishes it: Mozilla's product-details JSON, Google's
VersionHistory ``releases`` answer, the Microsoft 365 Apps ``LatestRelease`` answer, the
endoflife.date API v1 product answer, and endoflife.date's release-data format (the format
undone reads for products with no dated feed, such as Acrobat). ``fetched.json`` records the
day they were "downloaded".
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any


def _day(now: datetime, days_ago: float) -> date:
    return (now - timedelta(days=days_ago)).date()


def mozilla(folder: Path, product: str, now: datetime,
            releases: list[tuple[str, str, float]]) -> None:
    """``releases``: (version as Mozilla writes it, category, days before ``now``)."""
    doc: dict[str, Any] = {"releases": {}}
    for version, category, ago in releases:
        key = f"{product}-{version}"
        plain = version.removesuffix("esr")
        doc["releases"][key] = {"build_number": 1, "category": category,
                                "date": _day(now, ago).isoformat(), "description": None,
                                "is_security_driven": False, "product": product,
                                "version": plain}
    (folder / "mozilla").mkdir(parents=True, exist_ok=True)
    (folder / "mozilla" / f"{product}.json").write_text(json.dumps(doc, indent=4))


def chrome(folder: Path, now: datetime, releases: list[tuple[str, float]],
           platform: str = "win") -> None:
    """``releases``: (version, days before ``now`` it started serving on the stable channel)."""
    rel = []
    for i, (version, ago) in enumerate(releases):
        start = (now - timedelta(days=ago)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        rel.append({"name": f"chrome/platforms/{platform}/channels/stable/versions/{version}"
                            f"/releases/{1700000000 + i}",
                    "serving": {"startTime": start}, "fraction": 1, "version": version,
                    "fractionGroup": "100", "pinnable": True})
    (folder / "chrome").mkdir(parents=True, exist_ok=True)
    (folder / "chrome" / f"{platform}.json").write_text(json.dumps({"releases": rel,
                                                                    "nextPageToken": ""}))


def m365_latest(folder: Path, channel_guid: str, name: str, build: str, now: datetime,
                ago: float, support_days: float) -> None:
    parts = [int(x) for x in build.split(".")]
    doc = {"id": 500, "channel": 1, "channelId": name, "releaseVersion": 2402, "releaseType": 3,
           "availabilityDate": (now - timedelta(days=ago)).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "endOfSupportDate": (now + timedelta(days=support_days)).strftime(
               "%Y-%m-%dT00:00:00Z"),
           "buildVersion": {"major": parts[0], "minor": parts[1], "build": parts[2],
                            "buildRevision": parts[3], "buildVersionString": build},
           "releaseRank": "1", "kbLink": "https://technet.microsoft.com/en-us/office/mt465751.aspx",
           "cdnBaseUrl": f"http://officecdn.microsoft.com/pr/{channel_guid}"}
    (folder / "microsoft365").mkdir(parents=True, exist_ok=True)
    (folder / "microsoft365" / f"{name}.json").write_text(json.dumps(doc))


def endoflife_product(folder: Path, slug: str, now: datetime,
                      cycles: list[tuple[str, float, float | None]]) -> None:
    """``cycles``: (name, released days before now, ends days after now; None: no end set)."""
    rel = []
    for name, released, ends in cycles:
        eol = None if ends is None else (now + timedelta(days=ends)).date()
        rel.append({"name": name, "codename": None, "label": name,
                    "releaseDate": _day(now, released).isoformat(), "isLts": True,
                    "ltsFrom": None, "isEol": bool(eol and eol < now.date()),
                    "eolFrom": eol.isoformat() if eol else None,
                    "isMaintained": not (eol and eol < now.date()), "latest": None,
                    "custom": None})
    doc = {"schema_version": "1.2.0", "result": {"name": slug, "label": slug,
                                                 "releases": rel}}
    (folder / "endoflife-api").mkdir(parents=True, exist_ok=True)
    (folder / "endoflife-api" / f"{slug}.json").write_text(json.dumps(doc))


def release_data(folder: Path, product: str, now: datetime,
                 versions: list[tuple[str, float]]) -> None:
    doc = {"releases": {}, "versions": {v: {"name": v, "date": _day(now, ago).isoformat()}
                                        for v, ago in versions}}
    (folder / "release-data").mkdir(parents=True, exist_ok=True)
    (folder / "release-data" / f"{product}.json").write_text(json.dumps(doc, indent=1))


def fetched(folder: Path, now: datetime, sources: list[str]) -> None:
    (folder / "fetched.json").write_text(json.dumps({s: now.date().isoformat() for s in sources}))


def machine_catalogue(folder: Path, now: datetime) -> Path:
    """A fresh catalogue in which the applications every estate host shares with this machine
    (its dpkg status is the template's: chromium, for one) are the newest releases, a day old:
    for tests that need healthy hosts judged in full. Returns the folder for
    ``UNDONE_APPLICATIONS_DIR``."""
    import subprocess

    from scanner.lifecycle.applications import catalogue, products
    from scanner.lifecycle.applications import sources as app_sources

    p = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\n",
                        *products.PACKAGES], capture_output=True, text=True, check=False)
    feeds = folder / "feeds"
    chrome_versions: list[tuple[str, float]] = []
    mozilla_rel: dict[str, list[tuple[str, str, float]]] = {}
    for line in p.stdout.splitlines():
        status, name, version = ([*line.split("\t"), "", "", ""])[:3]
        if not status.startswith("ii"):
            continue
        rec = products.recognise({"source": "dpkg", "name": name, "version": version})
        if rec is None or rec.version is None:
            continue
        if rec.product in ("chrome", "chromium"):
            chrome_versions.append((rec.version.text, 1))
        elif rec.product in ("firefox", "thunderbird"):
            category = "esr" if rec.version.esr else "major"
            mozilla_rel.setdefault(rec.product, []).append((rec.version.text, category, 1))
    sources = []
    if chrome_versions:
        chrome(feeds, now, chrome_versions, platform="linux")
        sources.append("chrome")
    for product, rel in mozilla_rel.items():
        mozilla(feeds, product, now, rel)
        sources.append(f"mozilla/{product}.json")
    if not sources:  # nothing to judge: an empty Chrome feed still dates the catalogue
        chrome(feeds, now, [], platform="linux")
        sources.append("chrome")
    fetched(feeds, now, sources)
    cat = app_sources.build(feeds)
    out = folder / "catalogue"
    out.mkdir(parents=True, exist_ok=True)
    (out / catalogue.CATALOGUE_FILE).write_text(catalogue.to_json(cat), encoding="utf-8")
    return out
