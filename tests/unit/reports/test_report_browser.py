"""What readers see, checked in headless Chromium (offline, as tests/unit/reports/test_report_html.py
drives it): the one-page summary prints on one page, the full report's first page is the
summary and not two-thirds blank, no chart element is filled with the default black, no date
repeats along an axis, the folder index fits 1280 px with each estate's name linking its
report, and the machine and tenant access views render. Screenshots go to artifacts/ (and the
summary's to docs/, where docs/reports.md shows it)."""

from __future__ import annotations

import base64
import copy
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reports import html, index, model, period
from tests.unit.reports.test_report_agreement import scans  # noqa: F401 - a fixture
from tests.unit.reports.test_report_html import ARTIFACTS, CHROMIUM, Browser, _proxy_trap
from tests.unit.scanner.engine.test_cloud_collect import env, records  # noqa: F401 - fixtures

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="needs Debian's chromium package")
ROOT = Path(__file__).parents[3]
A4_WIDTH_PX = round((210 - 24) / 25.4 * 96)  # the page less the print margins (style.css)
A4_HEIGHT_PX = round((297 - 26) / 25.4 * 96)


class Tab:
    """One page in the browser: open a file, ask it things, take pictures, print it."""

    def __init__(self, b: Browser, session: str) -> None:
        self.b, self.s = b, session

    def open(self, path: Path, width: int = 1280, media: str = "screen") -> None:
        self.b.call("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=self.s)
        self.b.call("Emulation.setEmulatedMedia", {"media": media}, session=self.s)
        self.b.events.clear()
        self.b.call("Page.navigate", {"url": path.resolve().as_uri()}, session=self.s)
        self.b.wait_for("Page.loadEventFired")

    def js(self, expression: str) -> Any:
        got = self.b.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                          session=self.s)
        assert "exceptionDetails" not in got, got
        return got["result"]["value"]

    def shot(self, out: Path, y: float = 0, height: float | None = None,
             width: float | None = None) -> None:
        size = self.js("[document.documentElement.scrollWidth, "
                       "document.documentElement.scrollHeight]")
        clip = {"x": 0, "y": y, "width": width or size[0],
                "height": min(height or size[1], 12000), "scale": 1}
        data = self.b.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "clip": clip}, session=self.s)
        out.parent.mkdir(exist_ok=True)
        out.write_bytes(base64.b64decode(data["data"]))

    def pdf_pages(self) -> int:
        data = self.b.call("Page.printToPDF", {"preferCSSPageSize": True,
                                               "displayHeaderFooter": False},
                           session=self.s, timeout=60)
        pdf = base64.b64decode(data["data"])
        return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


@pytest.fixture(scope="module")
def tab() -> Iterator[Tab]:
    srv, _ = _proxy_trap()
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(profile, srv.getsockname()[1])
        try:
            target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = b.call("Target.attachToTarget",
                             {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime"):
                b.call(f"{domain}.enable", session=session)
            yield Tab(b, session)
        finally:
            b.close()
            srv.close()


def _write(path: Path, render: Any, doc: dict[str, Any], *args: Any) -> Path:
    buf = io.StringIO()
    render(doc, buf, *args)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def estate(scans: dict[str, Any]) -> dict[str, Any]:  # noqa: F811 - the fixture
    """The agreement test's scans: 43 systems of every kind, findings, unreachable hosts, a
    waiver, and (second scan) what changed since the first."""
    return scans


def small_estate(names: tuple[str, ...] = ("facts-debian12", "facts-estate-server"),
                 twice: bool = False) -> dict[str, Any]:
    """A small estate's live result document from recorded facts (scanned twice three weeks
    apart with ``twice``, so that it says what changed)."""
    from scanner.history.store import History
    from tests.unit.reports.test_report_agreement import T0, live_scan
    from tests.unit.scanner.rules.test_scope import estate as all_records

    recs = [r for r in all_records() if r["name"] in names]
    with tempfile.TemporaryDirectory() as d:
        hist = History(Path(d) / "h.sqlite")
        doc = live_scan(copy.deepcopy(recs), T0, hist, "ONE")
        if twice:
            doc = live_scan(copy.deepcopy(recs), T0 + timedelta(days=21), hist, "TWO")
        hist.close()
    return doc


def two_computers() -> dict[str, Any]:
    return small_estate()


def test_summary_prints_on_one_page(tab: Tab, estate: dict[str, Any], tmp_path: Path) -> None:
    school = small_estate(("facts-debian12", "facts-estate-server", "gone-linux"), twice=True)
    for name, doc in (("estate", estate["live2"]), ("two", two_computers()), ("docs", school)):
        page = _write(tmp_path / f"summary-{name}.html", html.render_summary, doc)
        tab.open(page, width=A4_WIDTH_PX, media="print")
        assert tab.pdf_pages() == 1, name
        if name == "docs":  # the picture in docs/reports.md
            tab.open(page, width=760)
            # the tests never rewrite a tracked file: UNDONE_UPDATE_DOCS=1 refreshes the picture
            shot = (ROOT / "docs" if os.environ.get("UNDONE_UPDATE_DOCS") else tmp_path) / \
                "summary.png"
            tab.shot(shot, width=760, height=tab.js(
                "document.querySelector('.summary').getBoundingClientRect().bottom + 12"))
            assert 20_000 < shot.stat().st_size < 250_000


def test_the_full_report_opens_on_the_summary_and_prints_compactly(
        tab: Tab, tmp_path: Path) -> None:
    """Two computers: the first page is the one-page summary, filled (not two-thirds blank),
    then the items; the whole report is a handful of pages, not eleven."""
    doc = two_computers()
    page = _write(tmp_path / "two.html", html.render, doc)
    tab.open(page, width=A4_WIDTH_PX, media="print")
    top, height = tab.js("(() => { const r = document.querySelector('.summary')"
                         ".getBoundingClientRect(); return [r.top, r.height]; })()")
    assert top < 40 and 0.5 * A4_HEIGHT_PX < height <= A4_HEIGHT_PX, (top, height)
    items = len(model.items(doc, ("provider", "client", "shared")))
    assert items >= 10  # enough to fill pages: the defect was 11 pages for 2 computers
    pages = tab.pdf_pages()
    # the summary, then about three items a page, then the tables
    assert 2 <= pages <= 3 + math.ceil(items / 3), (pages, items)
    tab.open(page)
    tab.shot(ARTIFACTS / "report-two-computers.png", height=2400)


def _no_black(tab: Tab) -> list[str]:
    return tab.js("""(() => {
        const bad = [];
        for (const el of document.querySelectorAll(
                'svg path, svg rect, svg circle, svg polygon, svg polyline, svg ellipse')) {
            const fill = getComputedStyle(el).fill;
            if (fill === 'rgb(0, 0, 0)' || fill === '#000000') bad.push(el.outerHTML.slice(0, 80));
        }
        return bad; })()""")


def _axis_labels(tab: Tab) -> list[list[str]]:
    return tab.js("""Array.from(document.querySelectorAll('svg')).map(svg =>
        Array.from(svg.querySelectorAll('text.xtick')).map(t => t.textContent))""")


def test_period_charts_are_not_black_and_never_repeat_a_date(tab: Tab, tmp_path: Path) -> None:
    from datetime import date, timedelta

    from scanner.history.store import History
    from tests.unit.scanner.history.test_history import T0, scan

    h = History(tmp_path / "h.sqlite")
    r = "CE-SU-001"
    for day, hours in ((0, 0), (0, 3), (0, 7), (1, 0), (9, 0), (30, 0), (30, 5)):
        status = "fail" if day < 9 else "pass"
        scan(h, {("a", r): status, ("b", r): "pass", ("b", "CE-SC-001"): "fail"},
             day + hours / 24)
    pdoc = h.period(date(2026, 1, 1), date(2026, 3, 31), now=T0 + timedelta(days=31))
    one_day = h.period(date(2026, 1, 5), date(2026, 1, 5), now=T0 + timedelta(days=31))
    h.close()
    for name, doc in (("period", pdoc), ("period-one-day", one_day)):
        page = _write(tmp_path / f"{name}.html", period.render, doc, "html")
        tab.open(page)
        assert _no_black(tab) == [], name
        for labels in _axis_labels(tab):
            assert len(labels) == len(set(labels)), (name, labels)
        # every axis label inside its chart: none cut off at the right
        assert tab.js("""Array.from(document.querySelectorAll('svg text.xtick')).every(t => {
            const s = t.ownerSVGElement.getBoundingClientRect(), r = t.getBoundingClientRect();
            return r.left >= s.left - 1 && r.right <= s.right + 1; })"""), name
        tab.shot(ARTIFACTS / f"{name}.png", height=1800)
        # a line drawn over another with the same values (closed and SLA breaches per month)
        # is dashed, so the one beneath still shows
        assert tab.js("""Array.from(document.querySelectorAll('svg polyline.line-b')).every(
            l => getComputedStyle(l).strokeDasharray !== 'none')"""), name
    assert tab.js("document.querySelectorAll('svg path[class^=area]').length") >= 1


def test_scan_report_charts_are_not_black(tab: Tab, estate: dict[str, Any],
                                          tmp_path: Path) -> None:
    doc = copy.deepcopy(estate["live2"])
    doc["history"]["trend"] = [
        {"scan": f"s{i}", "at": f"2026-11-{1 + i // 3:02d}T{8 + i % 3:02d}:00:00Z",
         "complete": True, "hosts": 3, "open": 5 + i % 4, "overdue": i // 3} for i in range(9)]
    page = _write(tmp_path / "estate.html", html.render, doc)
    tab.open(page)
    assert _no_black(tab) == []
    for labels in _axis_labels(tab):
        assert len(labels) == len(set(labels)), labels
    assert tab.js("document.documentElement.scrollWidth") <= 1280
    tab.shot(ARTIFACTS / "report-estate.png", height=3000)


def test_machine_and_tenant_access_views(tab: Tab, records: dict[str, Any],  # noqa: F811
                                         tmp_path: Path) -> None:
    from tests.unit.reports.test_report_tenants import tenant_doc

    page = _write(tmp_path / "access.html", html.render, tenant_doc(records))
    tab.open(page)
    info = tab.js("""(() => {
        const s = document.getElementById('access');
        const rows = t => Array.from(document.querySelectorAll(t + ' tbody tr'))
            .map(r => r.innerText);
        return {section: !!s, top: s ? s.getBoundingClientRect().top + scrollY : 0,
                tenants: Array.from(document.querySelectorAll('#tenants + table tbody tr'))
                    .map(r => r.innerText),
                text: document.body.innerText}; })()""")
    assert info["section"]
    assert any("Your provider can administer your tenant and you cannot" in t
               for t in info["tenants"]), info["tenants"]
    assert any("You and your provider can both administer it" in t for t in info["tenants"])
    assert "Who can administer each system" in info["text"]
    assert tab.js("document.documentElement.scrollWidth") <= 1280  # long addresses wrap
    tab.shot(ARTIFACTS / "report-access.png", y=info["top"] - 10, height=1300)


def test_the_index_fits_1280_px_and_names_link_reports(tab: Tab, estate: dict[str, Any],
                                                        tmp_path: Path) -> None:
    row = index.estate_row(estate["live2"])
    estates = []
    for i, name in enumerate(["St Example's Primary School", "Bravo & <Sons> Accountants",
                              "Charlie Veterinary Practice (Main Site and Annexe)",
                              "delta", "echo-dental-group-north-east-region-2", "foxtrot"]):
        e = {"key": f"e{i}", "name": name, "inventory": f"/srv/estates/e{i}.yaml",
             "inventory_file": f"e{i}.yaml", "status": "scanned", "exit_code": 1,
             "problems": [], "report": f"e{i}.html", "json": f"e{i}.json", "notified": [],
             **copy.deepcopy(row)}
        estates.append(e)
    estates[3].update(status="invalid", exit_code=2, hosts=None, unreachable=None, fail=None,
                      overdue=None, problems=[
        "delta.yaml: all.hosts.x.prot: unknown key 'prot' (did you mean 'port'?)"],
        controls={}, coverage=None, report=None)
    doc = {"schema": index.SCHEMA, "tool": {"name": "undone", "version": "test"},
           "generated_at": "2026-11-22T02:00:00Z", "folder": "/srv/estates", "exit_code": 2,
           "estates": estates}
    page = _write(tmp_path / "index.html", index.render, doc, "html")
    tab.open(page, width=1280)
    got = tab.js("""(() => ({
        width: document.documentElement.scrollWidth,
        links: Array.from(document.querySelectorAll('td.estate a')).map(a => {
            const r = a.getBoundingClientRect();
            return {href: a.getAttribute('href'), text: a.innerText, right: r.right,
                    left: r.left}; })}))()""")
    assert got["width"] <= 1280, got["width"]
    names = {link["href"]: link for link in got["links"]}
    for e in estates:
        if e["report"]:
            assert names[e["report"]]["text"] == e["name"]  # the estate's name is the link
    assert all(link["left"] >= 0 and link["right"] <= 1280 for link in got["links"]), got
    tab.shot(ARTIFACTS / "index.png", width=1280, height=900)
    json.dumps(doc)

