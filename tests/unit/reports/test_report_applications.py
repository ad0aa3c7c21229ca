"""The HTML report's "out-of-date applications" section (reports/applications.py): grouped by
product and version across the estate, from the result document's facts only."""

from __future__ import annotations

import io
from typing import Any

from reports import applications, html


def host(name: str, judged: list[dict[str, Any]], unknown: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "facts": {"apps.judged": judged, "apps.unrecognised": unknown or [],
                                     "apps.catalogue_snapshot": "2026-12-01"}}


CHROME = {"title": "Google Chrome", "upstream": "119.0.6045.199", "version": "119.0.6045.199",
          "status": "outdated", "support": "rolling", "newer_version": "120.0.6099.62",
          "newer_date": "2023-12-05", "newer_age_days": 40, "latest_version": "120.0.6099.110",
          "latest_date": "2023-12-13"}
FF = {"title": "Mozilla Firefox", "upstream": "102.15.1esr", "status": "outdated",
      "support": "unsupported", "cycle": "102", "eol": "2023-09-26", "newer_version": "102.16.0esr",
      "newer_date": "2023-10-24", "newer_age_days": 21}


def doc() -> dict[str, Any]:
    hosts = [host(f"pc{i:02d}", [CHROME], ["Advanced IP Scanner 2.5.1 2.5.4594.1 (registry, machine)"])
             for i in range(14)]
    hosts.append(host("reception", [FF, {**CHROME, "upstream": "120.0.6099.110",
                                          "status": "current"},
                                     {"title": "7-Zip", "upstream": "23.01",
                                      "status": "undetermined",
                                      "reason": "the application catalogue has no release data for 7-Zip"}]))
    return {"schema": "undone.scan/1", "tool": {"name": "undone", "version": "0"},
            "scan": {"id": "x", "started_at": "2024-01-14T00:00:00Z",
                     "finished_at": "2024-01-14T00:10:00Z", "inventory": "i.yaml",
                     "estate": {"client": "Acme", "provider": "IT Ltd"}, "baselines": []},
            "hosts": hosts, "results": [], "rules": {},
            "summary": {"by_status": {}, "by_control": {}, "hosts_total": 15,
                        "hosts_unreachable": 0, "exit_code": 1}}


def test_grouped_by_product_and_version_across_the_estate() -> None:
    apps = applications.estate(doc())
    first = apps["outdated"][0]
    assert (first["title"], first["version"], first["count"]) == (
        "Google Chrome", "119.0.6045.199", 14)
    assert first["hosts"][:2] == ["pc00", "pc01"]
    assert [a["title"] for a in apps["unsupported"]] == ["Mozilla Firefox"]
    assert apps["undecided"][0]["hosts"] == ["reception"]
    assert apps["others"] == [{"name": "Advanced IP Scanner 2.5.1 2.5.4594.1", "count": 14}]


def test_the_html_section_says_chrome_119_on_14_computers() -> None:
    out = io.StringIO()
    html.render(doc(), out)
    text = out.getvalue()
    section = text[text.index('id="applications"'):]
    assert "Google Chrome 119.0.6045.199" in section and "on 14 computers" in section
    assert "102 ended 2023-09-26" not in section  # the line and its date are separate cells
    assert "2023-09-26" in section and "Applications we could not judge" in section
    empty = {**doc(), "hosts": []}
    out = io.StringIO()
    html.render(empty, out)
    assert "No application was found more than 14 days behind" in out.getvalue()
