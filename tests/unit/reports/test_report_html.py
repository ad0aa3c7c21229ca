"""HTML report: self-contained, escaped, readable; opened in headless Chromium, which must render
it with no console error and no network request (a screenshot is kept under artifacts/).

Chromium is driven over the DevTools protocol on a pipe (no debugging port), and its proxy is a
socket on loopback that accepts and drops whatever arrives, so nothing leaves the machine even
if the page (or Chromium itself) tried; the page's own requests are seen in the protocol's
Network events and must be only the report file itself."""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reports import html
from tests.unit.reports.test_reports import doc as base_doc

ROOT = Path(__file__).parents[3]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
HOSTILE = '<script>alert("pwned")</script><img src="http://192.0.2.9/x.png">'
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-features=NetworkTimeServiceQuerying"]
# Chromium's own services, which it calls at start-up whatever the page (the Debian build still
# asks for accounts and one on-demand component despite the flags above). They reach only the
# proxy trap below on loopback, never the network.
CHROMIUM_SERVICES = re.compile(rb"^(CONNECT |[A-Z]+ http://)(accounts\.google\.com|"
                               rb"update\.googleapis\.com|clients2\.google\.com)[:/]")


def rich_doc() -> dict[str, Any]:
    """A document with every section of the report in use, and hostile target text."""
    d = base_doc(message=HOSTILE)
    d["scan"]["estate"] = {"name": "St Example's Primary", "client": "St Example's Primary",
                           "provider": "Acme <IT> & Co"}
    r0 = d["results"][0]
    r0.update(first_seen="2026-10-01T08:00:00Z", due="2026-10-15", overdue_days=38,
              reopened=True)
    more = []
    for i, (status, sev, owner) in enumerate([("fail", "critical", "provider"),
                                              ("fail", "low", "client"),
                                              ("pass", "high", "provider"),
                                              ("error", "medium", "provider"),
                                              ("waived", "medium", "provider"),
                                              ("manual", "info", "shared")]):
        r = copy.deepcopy(r0)
        r.update(rule=f"CE-UA-00{i + 1}", status=status, severity=sev, owner=owner,
                 control="user-access-control", title=f"Accounts are reviewed ({i})",
                 overdue_days=0 if status == "fail" else None, reopened=False,
                 due="2026-12-01" if status == "fail" else None)
        if status == "waived":
            r["waiver"] = {"reason": "<b>legacy</b> app", "approved_by": "Head", "expires":
                           "2027-01-31"}
        more.append(r)
    expired = copy.deepcopy(r0)
    expired.update(rule="CE-FW-001", control="firewalls", title="A firewall is on",
                   waiver_expired={"reason": "until the new router", "approved_by": "Bursar",
                                   "expires": "2026-09-30"})
    d["results"] += [*more, expired]
    d["rules"].update({r["rule"]: {"title": r["title"], "control": r["control"],
                                   "severity": r["severity"], "remediation": "Remove <old> users",
                                   "rationale": "Old accounts are a way in."}
                       for r in [*more, expired]})
    d["hosts"].append({"name": "gone<1>", "address": "192.0.2.2", "transport": "ssh",
                       "platform": None, "reachable": False, "error": "connection refused",
                       "facts": {}})
    by_status: dict[str, int] = {}
    by_control: dict[str, dict[str, int]] = {}
    for r in d["results"]:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
        c = by_control.setdefault(r["control"], {})
        c[r["status"]] = c.get(r["status"], 0) + 1
    d["summary"].update(by_status=by_status, by_control=by_control, hosts_total=2,
                        hosts_unreachable=1)
    d["history"] = {"previous_scan": "x", "since_previous": {"new": [], "fixed": [{}],
                                                              "regressed": []},
                    "trend": [{"scan": f"s{i}", "at": f"2026-11-{i + 1:02d}T00:00:00Z",
                               "complete": True, "hosts": 2, "open": 5 + i % 3,
                               "overdue": i // 4} for i in range(21)]}
    return d


def render(d: dict[str, Any]) -> str:
    buf = io.StringIO()
    html.render(d, buf)
    return buf.getvalue()


def test_hostile_text_is_escaped_and_nothing_is_fetched() -> None:
    text = render(rich_doc())
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in text
    assert "<img" not in text and "&lt;b&gt;legacy&lt;/b&gt;" in text
    assert "Acme &lt;IT&gt; &amp; Co" in text and "gone&lt;1&gt;" in text
    # self-contained: no external reference of any kind
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!#)", text)
    assert "@import" not in text and "url(" not in text
    assert "default-src 'none'" in text


def test_order_and_content_for_a_non_technical_reader() -> None:
    text = render(rich_doc())
    undone = text.index('id="undone"')
    yours = text.index('id="yours"')
    overdue = text.index("Overdue by 38 days", undone)
    critical = text.index("Accounts are reviewed (0)", undone)
    assert undone < overdue < critical < yours  # overdue first, then most severe
    assert "Came back after being fixed" in text
    assert "What it means" in text and "Ask Acme &lt;IT&gt; &amp; Co to do this" in text
    assert "Expired waivers" in text and "until the new router" in text
    assert "connection refused" in text  # what could not be checked is said
    assert text.count("<svg") == 2  # compliance by control, overdue over time
    assert "@media print" in text


def test_a_first_scan_without_history_still_renders() -> None:
    d = base_doc(message="plain")
    text = render(d)
    assert "Not enough history to draw this yet." in text


def _proxy_trap() -> tuple[socket.socket, list[bytes]]:
    """A listening socket given to Chromium as its proxy: any request would arrive here."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    seen: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.settimeout(2)
            try:
                seen.append(conn.recv(4096) or b"(connected)")
            except OSError:
                seen.append(b"(connected)")
            conn.close()
    threading.Thread(target=serve, daemon=True).start()
    return srv, seen


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self, profile: str, proxy_port: int) -> None:
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()

        def fds() -> None:
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)
        # Chromium runs in a network namespace of its own with nothing but a loopback that is
        # down: its start-up services (accounts, update and time servers) cannot reach anything,
        # and neither could the page; what the page asked for is still seen in DevTools events.
        isolate = ["unshare", "--net", "--"] if os.geteuid() == 0 else ["unshare", "-rn", "--"]
        self.proc = subprocess.Popen(
            [*isolate, CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe",
             f"--proxy-server=http://127.0.0.1:{proxy_port}", "--proxy-bypass-list=<-loopback>",
             "--window-size=1100,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, close_fds=False,  # fds 3 and 4 are the protocol's pipe
            process_group=0)  # its own group: close() waits for every Chromium process
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_r], [], [], left)
            if ready:
                chunk = os.read(self._from_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        data: dict[str, Any] = json.loads(msg)
        return data

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self._read(deadline - time.monotonic())
            if m is None:
                break
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                result: dict[str, Any] = m.get("result", {})
                return result
            self.events.append(m)
        raise TimeoutError(method)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            m = self._read(max(0.0, deadline - time.monotonic()))
            if m is None:
                raise TimeoutError(method)
            self.events.append(m)

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (m := self._read(max(0.0, end - time.monotonic()))) is not None:
            self.events.append(m)

    def close(self) -> None:
        """Stop Chromium and every process it started (renderer, GPU, crash handler), and wait
        until none is left: one still writing into the profile made its temporary folder's
        removal fail ("Directory not empty")."""
        try:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait()
            # the group's other processes, until they are gone (at most 10 s: a process that
            # stays a zombie nobody reaps must not hang the test)
            start = time.monotonic()
            killed = False
            while self._signal_group(0) and time.monotonic() - start < 10:
                if not killed and time.monotonic() - start > 5:
                    killed = self._signal_group(signal.SIGKILL)
                time.sleep(0.05)
        finally:
            os.close(self._to_w)
            os.close(self._from_r)

    def _signal_group(self, sig: int) -> bool:
        """Send ``sig`` to Chromium's process group; False when the group has no process."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.skipif(not os.path.exists(CHROMIUM),
                    reason="needs Debian's chromium package (apt-get install chromium)")
def test_renders_in_headless_chromium_offline_without_errors(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    started = time.perf_counter()
    page.write_text(render(rich_doc()), encoding="utf-8")
    render_ms = (time.perf_counter() - started) * 1000
    url = page.as_uri()
    srv, proxied = _proxy_trap()
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(profile, srv.getsockname()[1])
        try:
            target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = b.call("Target.attachToTarget",
                             {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                b.call(f"{domain}.enable", session=session)
            b.call("Page.navigate", {"url": url}, session=session)
            b.wait_for("Page.loadEventFired")
            b.drain(1.0)
            check = b.call("Runtime.evaluate", {"returnByValue": True, "expression": """({
                scripts: document.querySelectorAll('script').length,
                images: document.images.length,
                text: document.body.innerText,
                svgs: document.querySelectorAll('svg').length,
                width: document.documentElement.scrollWidth,
                height: document.documentElement.scrollHeight})"""}, session=session)
            info = check["result"]["value"]
            metrics = b.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
            shot = b.call("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": metrics["width"],
                         "height": min(metrics["height"], 12000), "scale": 1}},
                session=session)
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "report-html.png").write_bytes(base64.b64decode(shot["data"]))
            (ARTIFACTS / "report.html").write_text(page.read_text(encoding="utf-8"),
                                                    encoding="utf-8")
        finally:
            b.close()
            srv.close()
    assert info["scripts"] == 0 and info["images"] == 0 and info["svgs"] == 2
    assert '<script>alert("pwned")</script>' in info["text"]  # shown as text
    assert "What Acme <IT> & Co has left undone" in info["text"]
    assert info["width"] <= 1100  # nothing overflows sideways
    requests = [e["params"]["request"]["url"] for e in b.events
                if e.get("method") == "Network.requestWillBeSent"]
    assert requests == [url], requests
    problems = [e for e in b.events if e.get("method") in
                ("Runtime.exceptionThrown", "Runtime.consoleAPICalled")
                or (e.get("method") == "Log.entryAdded"
                    and e["params"]["entry"]["level"] in ("error", "warning"))]
    assert problems == []
    # everything Chromium sent went to the loopback proxy trap; none of it came from the page
    page_traffic = [p for p in proxied if not CHROMIUM_SERVICES.match(p)]
    assert page_traffic == [], page_traffic
    assert (ARTIFACTS / "report-html.png").stat().st_size > 10_000
    assert render_ms < 5000
