"""The cloud tenant view (reports/tenants.py) in the reports, next to the machines' access
view: a result document holding tenant records as scanner/engine/cloud/ collects them (read from the
test HTTPS server of tests/unit/scanner/engine/test_cloud_collect.py, judged by baselines/cloud.yaml) and
machine records whose administrators the accounts parser derived from recorded outputs."""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest

from reports import console, html, markdown, tenants
from scanner import result, scan
from scanner.inventory import Contract
from scanner.rules.evaluate import evaluate_host
from scanner.rules.scope import HostView
from tests.unit.reports import test_access_report
from tests.unit.scanner.engine.test_cloud_collect import COMPILED, env, records  # noqa: F401 - fixtures

_CACHE: dict[str, dict[str, Any]] = {}


def tenant_doc(tenant_records: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Machines and tenants in one result document (tenant records from the last run of the
    ``records`` fixture when none are given)."""
    recs = tenant_records if tenant_records is not None else _CACHE
    assert recs, "run with the records fixture first"
    d = test_access_report.estate_doc()
    results = list(d["results"])
    for rec in recs.values():
        view = HostView(name=rec["name"], platform=rec["platform"], roles=tuple(rec["roles"]),
                        reachable=rec["reachable"], error=rec["error"], facts=rec["facts"],
                        fact_errors=rec["fact_errors"], sections=rec["sections"],
                        transport=rec["transport"])
        results += evaluate_host(view, COMPILED, Contract())
    d["hosts"] = d["hosts"] + [copy.deepcopy(r) for r in recs.values()]
    d["results"] = results
    d["rules"].update({cr.rule.id: scan.rule_doc(cr.rule) for cr in COMPILED})
    d["summary"] = result.summarise(d["hosts"], results)
    d["scan"]["estate"] = {"name": "Greenfield <School>", "provider": "Acme IT"}
    return d


@pytest.fixture(scope="module")
def doc(records: dict[str, dict[str, Any]]) -> dict[str, Any]:  # noqa: F811 - the fixture
    _CACHE.update(records)
    return tenant_doc(records)


def test_tenant_rows(doc: dict[str, Any]) -> None:
    rows = {r["tenant"]: r for r in tenants.tenant_view(doc)}
    assert set(rows) == {"school-sd", "msp-only", "ca-excluded", "no-p1-perms", "google-pass",
                         "google-fail"}
    msp = rows["msp-only"]
    assert msp["verdict"] == "provider-only"
    assert msp["text"] == "Your provider can administer your tenant and you cannot"
    assert msp["mfa"] == {"enforcement": "per-user MFA", "admins_without_mfa": 2,
                          "users_without_mfa": 2, "users_total": 3}
    assert rows["school-sd"]["verdict"] == "shared"
    assert rows["google-fail"]["platform_text"] == "Google Workspace"
    assert rows["no-p1-perms"]["mfa"]["admins_without_mfa"] is None  # not read: unknown


def test_tenants_beside_machines_in_the_html(doc: dict[str, Any]) -> None:
    buf = io.StringIO()
    html.render(doc, buf)
    page = buf.getvalue()
    access = page[page.index('id="access"'):page.index('id="trend"')]
    machines = access[:access.index('id="tenants"')]
    cloud = access[access.index('id="tenants"'):]
    # the machines' table lists machines only, the tenants' table tenants only
    assert "web01" in machines and "db01" in machines and "school-sd" not in machines
    assert "Your provider can administer this system and you cannot" in machines
    for name in ("school-sd", "msp-only", "google-fail"):
        assert name in cloud
    assert "Microsoft 365" in cloud and "Google Workspace" in cloud
    assert "Your provider can administer your tenant and you cannot" in cloud
    assert "2 administrators without MFA" in cloud and "2 of 3 users without MFA" in cloud
    assert "tech_msp.example#EXT#@bridgestreetdental.onmicrosoft.com" in cloud
    assert "Greenfield &lt;School&gt;" in page and "<School>" not in page


def test_tenants_in_the_console_and_findings_about_them(doc: dict[str, Any]) -> None:
    buf = io.StringIO()
    console.render(doc, buf, width=140, color=False)
    text = buf.getvalue()
    assert "Who can administer each system" in text
    tenants.print_console(doc, _Console(buf2 := io.StringIO()))
    assert "Who can administer each cloud tenant" in buf2.getvalue()
    md = io.StringIO()
    markdown.render(doc, md)
    # the tenants' failing rules read as sentences about the tenant
    assert "Administrators who can sign in without MFA:" in md.getvalue()


class _Console:
    def __init__(self, out: io.StringIO) -> None:
        from rich.console import Console

        self.c = Console(file=out, width=140, no_color=True)

    def print(self, *args: Any) -> None:
        self.c.print(*args)
