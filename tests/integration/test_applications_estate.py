"""Applications on the test estate (tests/estate/scenarios/applications.yaml), through a real
`undone scan` over SSH inside the estate's scanner namespace.

The catalogue is built with `undone applications refresh --from DIR` from feeds in the vendors'
real formats, dated relative to the moment the estate came up (its "now"): the 140 ESR line of
Firefox and Thunderbird has a newer build out for 47 days and ended 10 days ago, the 153 line's
newest build is 3 days old. app-old holds the 140 line from Debian's packages, a Firefox
unpacked in the home folder with updates disabled by policy, SeaMonkey (no data: listed only)
and a Chromium extension the allow-list does not name; app-current holds the 153 line. A second
scan with no refreshed catalogue (the shipped snapshot, months old) gives `error`, never `pass`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import app_feeds, clock
from tests.estate import Estate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
HOSTS = ["app-old", "app-current"]
UBO = "cjpalhdlnbpafiamejdnhcphjbkeiagm"
UBOL = "ddkjiahejlhfcafbddmgiahcphecmpfh"


@pytest.fixture(scope="module")
def apps_estate() -> Iterator[Estate]:
    from tests.estate import load_scenario, preflight

    if os.environ.get("UNDONE_SKIP_ESTATE") == "1":
        pytest.skip("test estate disabled (UNDONE_SKIP_ESTATE=1)")
    scenario = load_scenario("applications")
    problems = preflight(scenario)
    if problems:
        if os.environ.get("CI"):
            pytest.fail("applications estate unavailable in CI: " + "; ".join(problems))
        pytest.skip("applications estate unavailable: " + "; ".join(problems))
    built = Estate.up(scenario)
    try:
        yield built
    finally:
        built.down()


def feeds(folder: Path, now: datetime) -> None:
    esr = [("140.12.0esr", "esr", 90), ("140.13.0esr", "esr", 47), ("140.14.0esr", "esr", 19),
           ("153.7.0esr", "esr", 40), ("153.8.0esr", "esr", 20), ("153.9.0esr", "esr", 3)]
    app_feeds.mozilla(folder, "firefox", now, [*esr, ("115.9.1", "stability", 400),
                                               ("126.0", "major", 200), ("154.0", "major", 20)])
    app_feeds.mozilla(folder, "thunderbird", now, esr)
    app_feeds.endoflife_product(folder, "firefox", now, [("153", 200, None), ("140", 500, -10)])
    # Thunderbird has no endoflife.date product: its lines' ends in the release-data format
    (folder / "release-data").mkdir(parents=True, exist_ok=True)
    (folder / "release-data" / "thunderbird.json").write_text(json.dumps({
        "releases": {"153": {"name": "153", "eol": (now + timedelta(days=300)).date().isoformat()},
                     "140": {"name": "140", "eol": (now - timedelta(days=10)).date().isoformat()}},
        "versions": {}}))
    app_feeds.chrome(folder, now, [("150.0.7871.100", 120), ("156.0.8078.129", 20)],
                     platform="linux")
    app_feeds.fetched(folder, now, ["mozilla/firefox.json", "mozilla/thunderbird.json",
                                    "chrome", "endoflife-api/firefox.json",
                                    "release-data/thunderbird.json"])


def _ago(now: datetime, days: int) -> str:
    return (now - timedelta(days=days)).date().isoformat()


@pytest.fixture(scope="module")
def scans(apps_estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("apps-estate")
    now = apps_estate.now
    feeds(d / "feeds", now)
    env = dict(os.environ, HOME=str(d), UNDONE_APPLICATIONS_DIR=str(d / "catalogue"))
    p = apps_estate.run_in_scanner([sys.executable, "-m", "scanner", "applications", "refresh",
                                    "--from", str(d / "feeds")], env=env, cwd=str(ROOT))
    assert p.returncode == 0, p.stderr
    inv = d / "inventory.yaml"
    apps_estate.write_inventory(inv, HOSTS, timeout=60)
    doc = yaml.safe_load(inv.read_text())
    hosts = doc["all"]["children"]["linux"]["hosts"]
    hosts["app-old"]["extension_allowlist"] = [UBO]
    hosts["app-current"]["extension_allowlist"] = [UBO, UBOL]
    inv.write_text(yaml.safe_dump(doc, sort_keys=False))
    out: dict[str, Any] = {"now": now,
                           "before": {h: apps_estate.snapshot(h) for h in HOSTS}}
    for name, catalogue_dir in (("fresh", d / "catalogue"), ("stale", d / "empty")):
        result = d / f"{name}.json"
        run_env = dict(env, UNDONE_APPLICATIONS_DIR=str(catalogue_dir))
        # the scan's clock starts at the estate's "now" (tests/clock.py): the ages below are
        # exact even if midnight passes between the estate coming up and the scan
        p = apps_estate.run_in_scanner(
            clock.command(now, "scan", str(inv), "--format", "json", "--output", str(result),
                          "--no-history", "--baseline", "applications"),
            env=run_env, cwd=str(ROOT))
        assert "Traceback" not in p.stderr, p.stderr
        out[name] = json.loads(result.read_text())
        out[f"{name}_code"] = p.returncode
    out["after"] = {h: apps_estate.snapshot(h) for h in HOSTS}
    return out


def results(doc: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in doc["results"] if r["host"] == host}


def facts(doc: dict[str, Any], host: str) -> dict[str, Any]:
    return dict(next(h for h in doc["hosts"] if h["name"] == host)["facts"])


def test_an_old_firefox_esr_fails_with_the_newer_release_and_its_date(
        scans: dict[str, Any]) -> None:
    now = scans["now"]
    r = results(scans["fresh"], "app-old")
    msg = r["CE-APP-001"]["message"]
    assert r["CE-APP-001"]["status"] == "fail", msg
    assert f"Mozilla Firefox 140.12.0esr: 140.13.0esr out since {_ago(now, 47)} (47 days)" in msg
    assert f"Mozilla Thunderbird 140.12.0esr: 140.13.0esr out since {_ago(now, 47)}" in msg
    # the tarball Firefox in the home folder, on the release channel
    assert "Mozilla Firefox 115.9.1: 126.0 out since" in msg
    unsupported = r["CE-APP-002"]
    assert unsupported["status"] == "fail"
    assert f"Mozilla Firefox 140.12.0esr: 140 ended {_ago(now, 10)}" in unsupported["message"]
    assert scans["fresh_code"] == 1


def test_the_current_host_passes(scans: dict[str, Any]) -> None:
    r = results(scans["fresh"], "app-current")
    for rule in ("CE-APP-001", "CE-APP-002", "CE-APP-003", "CE-APP-005"):
        assert r[rule]["status"] == "pass", (rule, r[rule]["message"])
    judged = {j["name"]: j for j in facts(scans["fresh"], "app-current")["apps.judged"]}
    assert judged["firefox-esr"]["upstream"] == "153.8.0esr"
    assert judged["chromium"]["status"] == "current"  # the machine's own chromium package
    assert judged["openjdk-17-jre"]["status"] == "not_judged"  # Debian backports its fixes


def test_an_unknown_application_is_listed_but_not_judged(scans: dict[str, Any]) -> None:
    f = facts(scans["fresh"], "app-old")
    assert any(u.startswith("SeaMonkey 2.53.18 (opt, user)") for u in f["apps.unrecognised"])
    assert not any(j["name"] == "SeaMonkey" for j in f["apps.judged"])
    assert any(j["name"] == "libreoffice-core" and j["status"] == "not_judged"
               for j in f["apps.judged"])


def test_updates_disabled_by_policy_on_a_self_updating_firefox(scans: dict[str, Any]) -> None:
    r = results(scans["fresh"], "app-old")["CE-APP-003"]
    assert r["status"] == "fail"
    assert "Mozilla Firefox: updates disabled (DisableAppUpdate = True" in r["message"]


def test_extensions_read_from_the_chromium_profile(apps_estate: Estate,
                                                   scans: dict[str, Any]) -> None:
    f = facts(scans["fresh"], "app-old")
    found = {e["id"]: e for e in f["browsers.extensions"]}
    truth = {e["id"]: e for e in apps_estate.host("app-old")["applications"]["extensions"]}
    assert set(found) == set(truth)
    for ext_id, t in truth.items():
        assert (found[ext_id]["name"], found[ext_id]["enabled"]) == (t["name"], t["enabled"])
    r = results(scans["fresh"], "app-old")["CE-APP-005"]
    assert r["status"] == "fail" and "uBlock Origin Lite 1.0 (Chromium, clientadmin, disabled)" \
        in r["message"]


def test_stale_or_missing_catalogue_data_is_an_error(scans: dict[str, Any]) -> None:
    r = results(scans["stale"], "app-current")
    assert r["CE-APP-001"]["status"] == "error"
    msg = r["CE-APP-001"]["message"]
    assert "days old" in msg and "refresh" in msg  # Firefox: only the shipped snapshot
    assert "no release data for Mozilla Thunderbird" in msg  # nothing at all for Thunderbird
    assert r["CE-APP-002"]["status"] == "error"
    assert scans["stale_code"] in (1, 3)  # never 0


def test_the_scans_wrote_nothing_on_the_hosts(scans: dict[str, Any]) -> None:
    for host in HOSTS:
        assert scans["after"][host] == scans["before"][host], host
