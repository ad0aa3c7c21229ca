"""Applications on Windows, end to end: `undone applications refresh --from DIR` builds the
catalogue from feeds in the vendors' real formats (dates chosen relative to the test's "now"),
then one `undone scan` over the real WinRM transport of three hosts answered by the
WS-Management test server (tests/winrm_server.py) with recorded section outputs:

- win-old and win-old2: an old Acrobat Reader and an old Chrome whose updates are disabled by
  policy and by disabled updater services, 7-Zip and Zoom (no release data), an unknown
  application, an extension the client's allow-list does not name;
- win-current: everything current and updating, the allow-list satisfied.

Then the HTML report of that scan, rendered in headless Chromium.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests import app_feeds, clock
from tests.winrm_server import Scenario, WinRMServer, ntlm_user_file, serving

ROOT = Path(__file__).parents[2]
PASSWORD = "s3cret-Passw0rd"
USERS = {"undone": PASSWORD}
# the test's "now": the scan runs with its clock starting there (tests/clock.py), and every
# release date below is relative to it, so the ages are the same on any day the suite runs
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def machine(apps: str, browsers: str) -> Scenario:
    return (Scenario()
            .add("windows.os", "win11_pro_23h2")
            .add("windows.applications", apps)
            .add("windows.browsers", browsers))


def feeds(folder: Path) -> None:
    app_feeds.release_data(folder, "acrobat", NOW, [
        ("23.008.20470", 200), ("24.001.20604", 40), ("24.002.20736", 10)])
    app_feeds.chrome(folder, NOW, [
        ("120.0.6099.110", 180), ("125.0.6422.142", 30), ("125.0.6422.176", 12)])
    app_feeds.m365_latest(folder, "492350f6-3a01-4f97-b9c0-c7c6ddf67d60", "Current",
                          "16.0.17328.20184", NOW, 20, 40)
    app_feeds.fetched(folder, NOW, ["chrome", "microsoft365", "release-data/acrobat.json"])


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("winrm-apps")
    feeds(d / "feeds")
    old_user_file = os.environ.get("NTLM_USER_FILE")
    os.environ["NTLM_USER_FILE"] = str(ntlm_user_file(d, USERS))  # the server's NTLM acceptor
    env = dict(os.environ, HOME=str(d), UNDONE_APPLICATIONS_DIR=str(d / "catalogue"),
               UNDONE_TEST_WINRM_PW=PASSWORD, NTLM_USER_FILE=str(ntlm_user_file(d, USERS)))
    env.pop("REQUESTS_CA_BUNDLE", None)
    refresh = subprocess.run([sys.executable, "-m", "scanner", "applications", "refresh",
                              "--from", str(d / "feeds")], env=env, cwd=str(ROOT),
                             capture_output=True, text=True, timeout=120, check=False)
    assert refresh.returncode == 0, refresh.stderr
    servers = {
        "win-old": WinRMServer(machine("old_acrobat_chrome", "chrome_updates_disabled"),
                               "ntlm", USERS),
        "win-old2": WinRMServer(machine("old_acrobat_chrome", "chrome_updates_disabled"),
                                "ntlm", USERS),
        "win-current": WinRMServer(machine("current", "updating"), "ntlm", USERS),
    }
    started = [serving(s) for s in servers.values()]
    for ctx in started:
        ctx.__enter__()
    try:
        hosts = {name: {"ansible_host": "127.0.0.1", "ansible_port": srv.port,
                        "ansible_connection": "winrm", "user": "undone",
                        "password_env": "UNDONE_TEST_WINRM_PW", "winrm_scheme": "http",
                        "winrm_auth": "ntlm", "winrm_allow_ntlm_over_http": True,
                        "roles": ["endpoint"]}
                 for name, srv in servers.items()}
        hosts["win-current"]["extension_allowlist"] = [
            "cjpalhdlnbpafiamejdnhcphjbkeiagm", "bmnlcjabgnpnenekpadlanbbkooimhnj"]
        inventory = {"estate": {"client": "Acme Dental", "provider": "Example IT"},
                     "all": {"vars": {"extension_allowlist": ["cjpalhdlnbpafiamejdnhcphjbkeiagm"]},
                             "hosts": hosts}}
        inv = d / "inventory.yaml"
        inv.write_text(json.dumps(inventory), encoding="utf-8")
        out = d / "scan.json"
        p = subprocess.run(
            clock.command(NOW, "scan", str(inv), "--format", "json", "--output", str(out),
                          "--no-history", "--baseline", "applications", "--section-timeout",
                          "40"),
            env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=240, check=False)
        assert "Traceback" not in p.stderr, p.stderr
        yield {"code": p.returncode, "doc": json.loads(out.read_text()), "dir": d, "env": env}
    finally:
        for ctx in started:
            ctx.__exit__(None, None, None)
        if old_user_file is None:
            os.environ.pop("NTLM_USER_FILE", None)
        else:
            os.environ["NTLM_USER_FILE"] = old_user_file


def results(doc: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in doc["results"] if r["host"] == host}


def _ago(days: int) -> str:
    from datetime import timedelta

    return (NOW - timedelta(days=days)).date().isoformat()


def test_old_acrobat_and_chrome_fail_with_the_newer_release_and_its_date(
        scan: dict[str, Any]) -> None:
    r = results(scan["doc"], "win-old")["CE-APP-001"]
    assert r["status"] == "fail", r
    msg = r["message"]
    assert msg.startswith("An application has a newer release that has been out for more than")
    assert f"Adobe Acrobat 23.008.20470: 24.001.20604 out since {_ago(40)} (40 days)" in msg
    assert f"Google Chrome 120.0.6099.110: 125.0.6422.142 out since {_ago(30)} (30 days)" in msg
    # applications undone has no release data for are listed as undecided, beside the failure
    undecided = r["observed"]["apps.undetermined"]
    assert any(u.startswith("7-Zip 23.01 (x64) 23.01") for u in undecided)
    assert any(u.startswith("Zoom Workplace") for u in undecided)
    assert scan["code"] == 1


def test_chrome_auto_update_disabled_fails(scan: dict[str, Any]) -> None:
    r = results(scan["doc"], "win-old")["CE-APP-003"]
    assert r["status"] == "fail"
    assert "Google Chrome: updates disabled (UpdateDefault = 0" in r["message"]
    assert "Google Chrome: updater service disabled" in r["message"]
    assert results(scan["doc"], "win-current")["CE-APP-003"]["status"] == "pass"


def test_an_unknown_application_is_listed_but_not_judged(scan: dict[str, Any]) -> None:
    h = next(h for h in scan["doc"]["hosts"] if h["name"] == "win-old")
    assert "Advanced IP Scanner 2.5.1 2.5.4594.1 (registry, machine-32bit)" in h["facts"][
        "apps.unrecognised"]
    assert not any(j["name"].startswith("Advanced IP Scanner") for j in h["facts"]["apps.judged"])


def test_a_current_machine_passes(scan: dict[str, Any]) -> None:
    r = results(scan["doc"], "win-current")
    assert r["CE-APP-001"]["status"] == "pass", r["CE-APP-001"]["message"]
    assert r["CE-APP-002"]["status"] == "pass", r["CE-APP-002"]["message"]
    assert r["CE-APP-005"]["status"] == "pass"  # the host's own allow-list names both
    assert r["CE-APP-004"]["status"] == "not_applicable"


def test_extensions_outside_the_allow_list_fail(scan: dict[str, Any]) -> None:
    r = results(scan["doc"], "win-old")
    assert r["CE-APP-005"]["status"] == "fail"
    assert ("Honey: Automatic Coupons & Rewards 16.4.2 (Google Chrome, alice, disabled)"
            in r["CE-APP-005"]["message"])
    assert r["CE-APP-005"]["owner"] == "provider"


def test_the_html_report_groups_out_of_date_applications_by_product(
        scan: dict[str, Any]) -> None:
    d = scan["dir"]
    (d / "scan-doc.json").write_text(json.dumps(scan["doc"]))
    html = d / "report.html"
    from reports import html as html_report

    with html.open("w", encoding="utf-8") as fh:
        html_report.render(scan["doc"], fh)
    text = html.read_text()
    assert "Out-of-date applications" in text
    assert "Google Chrome 120.0.6099.110" in text and "on 2 computers" in text
    assert "win-old, win-old2" in text


def test_the_report_renders_in_headless_chromium(scan: dict[str, Any], tmp_path: Path) -> None:
    """The scan's HTML report opened in headless Chromium (no network): the applications section
    is there and laid out; a screenshot of it is kept under artifacts/."""
    import base64
    import tempfile

    from reports import html as html_report
    from tests.unit.reports.test_report_html import ARTIFACTS, CHROMIUM, Browser, _proxy_trap

    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's chromium package")
    page = tmp_path / "report.html"
    with page.open("w", encoding="utf-8") as fh:
        html_report.render(scan["doc"], fh)
    srv, _ = _proxy_trap()
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(profile, srv.getsockname()[1])
        try:
            target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = b.call("Target.attachToTarget",
                             {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Network"):
                b.call(f"{domain}.enable", session=session)
            b.call("Page.navigate", {"url": page.as_uri()}, session=session)
            b.wait_for("Page.loadEventFired")
            b.drain(0.5)
            box = b.call("Runtime.evaluate", {"returnByValue": True, "expression": """(() => {
                const h = document.getElementById('applications');
                let end = h.nextElementSibling;
                while (end && end.nextElementSibling && end.nextElementSibling.tagName !== 'H2')
                    end = end.nextElementSibling;
                const top = h.getBoundingClientRect().top + window.scrollY;
                const bottom = end.getBoundingClientRect().bottom + window.scrollY;
                return {top, height: bottom - top,
                        width: document.documentElement.scrollWidth,
                        text: h.parentElement.innerText};})()"""}, session=session)
            info = box["result"]["value"]
            shot = b.call("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": max(0, info["top"] - 10), "width": 1100,
                         "height": info["height"] + 30, "scale": 1}}, session=session)
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "report-applications.png").write_bytes(base64.b64decode(shot["data"]))
        finally:
            b.close()
            srv.close()
    assert info["width"] <= 1100
    assert "Google Chrome 120.0.6099.110" in info["text"]
    assert "on 2 computers: win-old, win-old2" in info["text"]
    requests = [e["params"]["request"]["url"] for e in b.events
                if e.get("method") == "Network.requestWillBeSent"]
    assert requests == [page.as_uri()]
