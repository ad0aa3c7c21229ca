"""CE-SU-001 and PM-OS-001 tell one story (scanner/lifecycle/support.py): who still sends the release
security fixes and for how long, from the shipped lifecycle catalogue, at a fixed moment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scanner.inventory import Contract
from scanner.lifecycle import catalogue as lifecycle
from scanner.lifecycle import support
from scanner.rules import baselines
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.scan import host_view

AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
RULES = [r for b in baselines.load() for r in b.rules if r.id in ("CE-SU-001", "PM-OS-001")]
PARAMS = {"min_os_support_days": 180}


def judge(os_facts: dict[str, Any], at: datetime = AT, max_age: int = 400
          ) -> tuple[dict[str, Any], dict[str, Any]]:
    values, errors = lifecycle.enrich_os(os_facts, at, lifecycle.load_catalogue(), max_age)
    rec: dict[str, Any] = {"name": "h", "platform": os_facts.get("platform", "linux"),
                           "reachable": True, "facts": {**os_facts, **values},
                           "fact_errors": dict(errors),
                           "sections": {"posix.os": {"status": "ok"},
                                        "windows.os": {"status": "ok"}}}
    support.enrich(rec, at)
    res = {r["rule"]: r for r in evaluate_host(host_view(rec), compile_rules(RULES, PARAMS),
                                               Contract())}
    return rec["facts"], res


def test_debian_12_on_lts_one_story() -> None:
    facts, r = judge({"os.id": "debian", "os.version_id": "12",
                      "os.pretty_name": "Debian GNU/Linux 12 (bookworm)"})
    assert (facts["os.security_fixes"], facts["os.security_fixes_until"]) == ("lts", "2028-06-30")
    summary = ("Debian GNU/Linux 12 (bookworm) gets security fixes from Debian LTS (free, "
               "through the same security repository; Debian's regular support has ended), "
               "until 30 June 2028: 571 days left.")
    assert facts["os.support_summary"] == summary
    # before: CE-SU-001 passed while PM-OS-001 said "expected equal to none; -149 days"
    assert (r["CE-SU-001"]["status"], r["PM-OS-001"]["status"]) == ("pass", "pass")
    assert r["CE-SU-001"]["message"] == r["PM-OS-001"]["message"] == summary


def test_debian_12_near_the_end_of_lts() -> None:
    _, r = judge({"os.id": "debian", "os.version_id": "12",
                  "os.pretty_name": "Debian GNU/Linux 12 (bookworm)"},
                 datetime(2028, 3, 1, tzinfo=UTC), max_age=1000)
    assert r["CE-SU-001"]["status"] == "pass"
    assert r["PM-OS-001"]["status"] == "fail"
    assert r["PM-OS-001"]["message"].startswith(
        "Debian GNU/Linux 12 (bookworm) gets security fixes from Debian LTS (free, through the "
        "same security repository; Debian's regular support has ended), until 30 June 2028: "
        "121 days left. Plan the upgrade now")


def test_debian_11_after_lts() -> None:
    facts, r = judge({"os.id": "debian", "os.version_id": "11",
                      "os.pretty_name": "Debian GNU/Linux 11 (bullseye)"})
    assert facts["os.security_fixes"] == "none"
    assert (r["CE-SU-001"]["status"], r["PM-OS-001"]["status"]) == ("fail", "fail")
    assert r["CE-SU-001"]["message"].startswith(
        "Debian GNU/Linux 11 (bullseye) no longer gets security fixes from Debian: the last "
        "support ended on 31 August 2026 (98 days ago).")
    assert "-149" not in r["PM-OS-001"]["message"] and "none" not in facts["os.support_summary"]


@pytest.mark.parametrize(("licensed", "who", "status"), [(True, "esu", "pass"),
                                                         (False, "esu-unlicensed", "fail")])
def test_windows_10_with_and_without_esu(licensed: bool, who: str, status: str) -> None:
    facts, r = judge({"os.id": "windows", "os.build": 19045, "os.edition": "Professional",
                      "os.name": "Microsoft Windows 10 Pro", "os.esu_licensed": licensed,
                      "os.pretty_name": "Microsoft Windows 10 Pro 22H2", "platform": "windows"})
    assert facts["os.security_fixes"] == who
    assert r["CE-SU-001"]["status"] == status


def test_ubuntu_esm_is_not_assumed() -> None:
    facts, r = judge({"os.id": "ubuntu", "os.version_id": "18.04",
                      "os.pretty_name": "Ubuntu 18.04.6 LTS"})
    assert facts["os.security_fixes"] == "esm"
    assert "Ubuntu Pro subscription (ESM), which undone cannot see" in facts["os.support_summary"]
    assert (r["CE-SU-001"]["status"], r["PM-OS-001"]["status"]) == ("fail", "fail")


def test_unknown_release_and_stale_catalogue_are_errors() -> None:
    _, r = judge({"os.id": "plan9", "os.version_id": "4"})
    assert {x["status"] for x in r.values()} == {"error"}
    assert "not in the lifecycle catalogue" in r["CE-SU-001"]["message"]
    _, r = judge({"os.id": "debian", "os.version_id": "12"}, datetime(2030, 1, 1, tzinfo=UTC))
    assert {x["status"] for x in r.values()} == {"error"}
