"""Dating pending security updates, end to end: `undone advisories refresh --from` reads the
estate's advisory records (the Debian security tracker's list format, dated by the scenario:
tests/estate/scenarios/functional.yaml), then a real `undone scan` in the estate's scanner
namespace dates each host's pending updates. Ages are compared with the estate's own dates
(the advisory's day, the host's collection time), so they hold on any day.

- upd-fresh01: openssl's fix published 3 days before the estate came up: CE-SU-002 passes;
- upd-old01 (Debian 11, LTS): its fix published 30 days before: fails;
- upd-nodate01: openssh's fix is in no advisory: error with the reason, never a pass;
- and without advisory data: error within the limit, fail when the bound alone exceeds it.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.estate import Estate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "scanner" / "schema" / "scan.schema.json").read_text())
HOSTS = ["upd-fresh01", "upd-old01", "upd-nodate01", "db01"]


def _undone(estate: Estate, args: list[str], env: dict[str, str]) -> Any:
    p = estate.run_in_scanner([sys.executable, "-m", "scanner", *args], env=env, cwd=str(ROOT))
    assert "Traceback" not in p.stderr, p.stderr
    return p


def _scan(estate: Estate, d: Path, data: Path) -> dict[str, Any]:
    inv = estate.write_inventory(d / "inventory.yaml", HOSTS)
    out = d / "scan.json"
    env = dict(os.environ, HOME=str(d), UNDONE_ADVISORIES_DIR=str(data))
    p = _undone(estate, ["scan", str(inv), "--format", "json", "--output", str(out),
                         "--no-history", "-q"], env)
    assert p.returncode in (1, 3), p.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    jsonschema.validate(doc, SCHEMA)
    return doc


@pytest.fixture(scope="module")
def dated(estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("dating")
    data = d / "advisories"
    env = dict(os.environ, HOME=str(d), UNDONE_ADVISORIES_DIR=str(data))
    p = _undone(estate, ["advisories", "refresh", "--from", estate.advisories["dir"]], env)
    assert p.returncode == 0, p.stdout + p.stderr
    status = _undone(estate, ["advisories", "status"], env)
    return {"doc": _scan(estate, d, data), "refresh": p.stdout, "status": status.stdout}


@pytest.fixture(scope="module")
def undated(estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("undated")
    return _scan(estate, d, d / "no-advisories")


def _host(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(h for h in doc["hosts"] if h["name"] == name)


def _result(doc: dict[str, Any], host: str, rule: str) -> dict[str, Any]:
    return next(r for r in doc["results"] if r["host"] == host and r["rule"] == rule)


def _days(since: str, until: str) -> float:
    a = datetime.fromisoformat(since.replace("Z", "+00:00"))
    b = datetime.fromisoformat(until.replace("Z", "+00:00"))
    return (b - a).total_seconds() / 86400


def test_refresh_reads_the_estate_records(dated: dict[str, Any]) -> None:
    assert "debian-dsa: 1 advisories" in dated["refresh"]
    assert "debian-dla: 1 advisories" in dated["refresh"]
    assert "debian:bookworm (1 package)" in dated["status"]


def test_a_fix_published_three_days_ago_passes(dated: dict[str, Any], estate: Estate) -> None:
    doc = dated["doc"]
    h = _host(doc, "upd-fresh01")
    published = estate.advisories["published"]["DSA-6101-1"]
    openssl = [p for p in h["facts"]["updates.pending"] if p["security"]]
    assert openssl and {p["package"] for p in openssl} <= {"openssl", "libssl3", "libssl-dev"}
    for p in openssl:
        assert (p["advisory"], p["basis"], p["issued"]) == (
            "DSA-6101-1", "advisory", f"{published}T00:00:00Z")
        assert p["source_package"] == "openssl"
    age = h["facts"]["updates.security_age_days"]
    assert abs(age - _days(f"{published}T00:00:00Z", h["started_at"])) <= 0.1
    assert 3.0 <= age < 4.1
    assert h["facts"]["updates.security_age_basis"] == "advisory"
    assert "updates.security_age_days" not in (h.get("fact_basis") or {})
    r = _result(doc, "upd-fresh01", "CE-SU-002")
    assert r["status"] == "pass", r["message"]


def test_a_fix_published_thirty_days_ago_fails(dated: dict[str, Any], estate: Estate) -> None:
    doc = dated["doc"]
    h = _host(doc, "upd-old01")
    published = estate.advisories["published"]["DLA-4401-1"]
    assert h["facts"]["updates.os_release"]["codename"] == "bullseye"
    assert {p["advisory"] for p in h["facts"]["updates.pending"] if p["security"]} == {
        "DLA-4401-1"}
    age = h["facts"]["updates.security_age_days"]
    assert abs(age - _days(f"{published}T00:00:00Z", h["started_at"])) <= 0.1
    assert 30.0 <= age < 31.1
    r = _result(doc, "upd-old01", "CE-SU-002")
    assert r["status"] == "fail"
    assert f"updates.security_age_days is {age:g}; expected at most 14" in r["message"]


def test_a_fix_in_no_advisory_is_an_error_not_a_pass(dated: dict[str, Any]) -> None:
    doc = dated["doc"]
    h = _host(doc, "upd-nodate01")
    pending = [p for p in h["facts"]["updates.pending"] if p["security"]]
    assert {p["package"] for p in pending} == {"openssh-client", "openssh-server",
                                               "openssh-sftp-server"}
    assert all(p["basis"] == "lower-bound" and p["advisory"] is None for p in pending)
    assert h["fact_basis"]["updates.security_age_days"]["basis"] == "lower-bound"
    r = _result(doc, "upd-nodate01", "CE-SU-002")
    assert r["status"] == "error"
    assert r["message"].startswith("release dates of 3 pending security updates unknown (at "
                                   "least 2 days): no advisory in the catalogue refreshed on ")
    assert "run `undone advisories refresh`" in r["message"]
    assert _result(doc, "upd-nodate01", "PM-UPD-001")["status"] == "fail"  # pending at all


def test_without_advisory_data_a_bound_errs_or_fails(undated: dict[str, Any]) -> None:
    r = _result(undated, "upd-fresh01", "CE-SU-002")
    assert r["status"] == "error"
    assert "no advisory catalogue on the scanning machine" in r["message"]
    assert "(at least 2 days)" in r["message"]
    # db01's lists are 20 days old: the bound alone proves the failure
    r = _result(undated, "db01", "CE-SU-002")
    assert r["status"] == "fail"
    assert "is at least 20" in r["message"] and "(lower-bound)" in r["message"]
    assert _host(undated, "upd-fresh01")["facts"]["updates.dating"]["advisory"] == 0
