"""Dating pending security updates before evaluation (scanner/engine/dating.py): advisory, else the
scan history, else the probe's lower bound; and what CE-SU-002 makes of each. Every age here is
judged at a fixed moment (NOW)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from probes.base import RawSection
from probes.posix import updates as probe
from scanner.engine import dating
from scanner.history.store import History
from scanner.inventory import Contract
from scanner.lifecycle import advisories
from scanner.lifecycle import advisories_refresh as lifecycle_advisories_refresh
from scanner.rules import baselines
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.scan import host_view

ROOT = Path(__file__).resolve().parents[4]
ADV = ROOT / "tests" / "fixtures" / "advisories"
NOW = datetime(2023, 4, 10, 12, 0, tzinfo=UTC)
RULES = {r.id: r for b in baselines.load() for r in b.rules}
COMPILED = compile_rules([RULES["CE-SU-002"]], {"max_security_update_age_days": 14})


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> advisories.Catalogue:
    src = tmp_path_factory.mktemp("adv")
    (src / "DSA").mkdir()
    (src / "DLA").mkdir()
    (src / "DSA" / "list").write_text(
        "".join(f.read_text() for f in sorted((ADV / "debian").glob("DSA-list.*.txt"))))
    (src / "DLA" / "list").write_text((ADV / "debian" / "DLA-list.first150entries.txt")
                                      .read_text())
    for f in sorted((ADV / "ubuntu").glob("USN-*.json")):
        (src / f.name).write_bytes(f.read_bytes())
    out = tmp_path_factory.mktemp("cat")
    lifecycle_advisories_refresh.refresh(src, out)
    cat = advisories.load(str(out / advisories.FILE))
    assert cat is not None
    return cat


def _section(distro: str, codename: str, version: str, lines: list[str], sources: list[str],
             release_date: str) -> str:
    """A posix.updates output in the script's format (hand-made around real version strings
    of the advisory samples)."""
    suite = f"{codename}-security"
    inst = "\n".join(lines)
    return (
        f"@@block os_release\nID={distro}\nVERSION_ID=\"{version}\"\n"
        f"VERSION_CODENAME={codename}\n\n@@rc 0\n"
        "@@block manager\napt\n\n@@rc 0\n"
        f"@@block apt_simulate\n{len(lines)} upgraded, 0 newly installed, 0 to remove and 0 "
        f"not upgraded.\n{inst}\n@@exit 0\n\n@@rc 0\n"
        "@@block apt_sources\n" + "\n".join(sources) + "\n\n@@rc 0\n"
        f"@@block apt_releases\nFile: x_{suite}_InRelease\nLabel: Debian-Security\n"
        f"Suite: stable-security\nCodename: {suite}\nDate: {release_date}\n\n\n@@rc 0\n"
        "@@block end\n\n@@rc 0\n")


def _record(stdout: str, at: datetime = NOW) -> dict[str, Any]:
    parsed = probe.parse(RawSection("posix.updates", stdout, collected_at=at))
    ok = {"status": "ok"}
    rec: dict[str, Any] = {"name": "h1", "platform": "linux", "reachable": True,
                           "facts": dict(parsed.values), "fact_errors": dict(parsed.errors),
                           "sections": {"posix.updates": ok, "windows.updates": ok}}
    if parsed.basis:
        rec["fact_basis"] = copy.deepcopy(parsed.basis)
    return rec


def _judge(rec: dict[str, Any]) -> dict[str, Any]:
    return evaluate_host(host_view(rec), COMPILED, Contract())[0]


CHROMIUM = ("Inst chromium [110.0.5481.100-1~deb11u1] (111.0.5563.110-1~deb11u1 "
            "Debian-Security:11/stable-security [amd64])")
CHROMIUM_SRC = "chromium 110.0.5481.100-1~deb11u1 chromium 110.0.5481.100-1~deb11u1"
DINO = ("Inst dino-im [0.2.0-3] (0.2.0-3+deb11u1 Debian-Security:11/stable-security [amd64])")
DINO_SRC = "dino-im 0.2.0-3 dino-im 0.2.0-3"


def test_dated_by_the_earliest_advisory_in_range(catalogue: advisories.Catalogue) -> None:
    out = _section("debian", "bullseye", "11", [CHROMIUM, DINO], [CHROMIUM_SRC, DINO_SRC],
                   "Sun, 09 Apr 2023 20:00:00 UTC")
    rec = _record(out)
    # before dating: a lower bound of 0.7 days, which proves nothing
    assert _judge(rec)["status"] == "error"
    dating.date_record(rec, catalogue, None, None, NOW)
    f = rec["facts"]
    chromium = next(p for p in f["updates.pending"] if p["package"] == "chromium")
    assert (chromium["advisory"], chromium["issued"], chromium["basis"]) == (
        "DSA-5359-1", "2023-02-23T00:00:00Z", "advisory")
    dino = next(p for p in f["updates.pending"] if p["package"] == "dino-im")
    assert (dino["advisory"], dino["basis"]) == ("DSA-5379-1", "advisory")
    assert f["updates.security_age_basis"] == "advisory"
    assert f["updates.security_since"] == "2023-02-23T00:00:00Z"
    assert f["updates.security_age_days"] == 46.5
    assert "fact_basis" not in rec  # every one dated exactly
    assert f["updates.dating"]["advisory"] == 2
    r = _judge(rec)
    assert r["status"] == "fail" and "updates.security_age_days is 46.5" in r["message"]


def test_all_recent_advisories_pass(catalogue: advisories.Catalogue) -> None:
    out = _section("debian", "bullseye", "11", [DINO], [DINO_SRC], "Tue, 28 Mar 2023 09:00:00 UTC")
    rec = _record(out, datetime(2023, 4, 1, tzinfo=UTC))
    dating.date_record(rec, catalogue, None, None, datetime(2023, 4, 1, tzinfo=UTC))
    assert rec["facts"]["updates.security_age_days"] == 5.0
    assert _judge(rec)["status"] == "pass"


def test_one_undated_update_keeps_the_age_a_bound(catalogue: advisories.Catalogue) -> None:
    """A dated update of 5 days and one no advisory names: the age is at least 5 days, and an
    update of unknown date may be older: error, never pass."""
    other = "Inst libfoo1 [1.0-1] (1.0-1+deb11u1 Debian-Security:11/stable-security [amd64])"
    out = _section("debian", "bullseye", "11", [DINO, other],
                   [DINO_SRC, "libfoo1 1.0-1 foo 1.0-1"], "Tue, 28 Mar 2023 09:00:00 UTC")
    at = datetime(2023, 4, 1, tzinfo=UTC)
    rec = _record(out, at)
    dating.date_record(rec, catalogue, None, None, at)
    f = rec["facts"]
    assert f["updates.security_age_basis"] == "lower-bound"
    assert f["updates.security_age_days"] == 5.0
    r = _judge(rec)
    assert r["status"] == "error"
    assert r["message"] == (
        "release date of 1 pending security update unknown (at least 5 days): no advisory in "
        f"the catalogue refreshed on {catalogue.built_at[:10]} for them; run `undone advisories "
        "refresh`, or a later scan dates new ones from the history")


def test_no_catalogue_error_within_the_limit_fail_beyond_it() -> None:
    out = _section("debian", "bookworm", "12", [DINO], [DINO_SRC], "Mon, 08 Apr 2023 00:00:00 UTC")
    rec = _record(out)
    dating.date_record(rec, None, None, None, NOW)
    r = _judge(rec)
    assert r["status"] == "error"
    assert r["message"].startswith("release date of 1 pending security update unknown (at "
                                   "least 2.5 days): no advisory catalogue on the scanning "
                                   "machine; run `undone advisories refresh`")
    # the same host 20 days later: the bound alone proves the failure
    later = NOW + timedelta(days=20)
    rec = _record(out, later)
    dating.date_record(rec, None, None, None, later)
    r = _judge(rec)
    assert r["status"] == "fail"
    assert "updates.security_age_days is at least 22.5 days (lower-bound); expected at most 14" \
        in r["message"]


def test_catalogue_without_the_release(catalogue: advisories.Catalogue) -> None:
    out = _section("debian", "bookworm", "12", [DINO], [DINO_SRC], "Mon, 08 Apr 2023 00:00:00 UTC")
    rec = _record(out)
    dating.date_record(rec, catalogue, None, None, NOW)
    assert "has no advisory for debian bookworm (its newest is of 2023-03-29)" in (
        _judge(rec)["message"])


def test_history_dates_what_it_saw_arrive() -> None:
    out = _section("debian", "bookworm", "12", [DINO], [DINO_SRC], "Mon, 10 Apr 2023 03:00:00 UTC")
    key = dating.pending_key({"package": "dino-im", "arch": "amd64", "installed": "0.2.0-3"})
    first = NOW - timedelta(days=3)
    # seen arriving three days ago (an earlier list, a day before, did not have it)
    rec = _record(out)
    seen = dating.Seen(last_at=NOW - timedelta(days=1),
                       first={key: (first, first - timedelta(days=1))})
    dating.date_record(rec, None, None, seen, NOW)
    p = rec["facts"]["updates.pending"][0]
    assert (p["basis"], p["issued"]) == ("history", "2023-04-07T12:00:00Z")
    assert _judge(rec)["status"] == "pass"
    # pending at the host's first scan: its arrival was not seen, so history says nothing
    rec = _record(out)
    dating.date_record(rec, None, None, dating.Seen(last_at=NOW - timedelta(days=1),
                                                    first={key: (first, None)}), NOW)
    assert rec["facts"]["updates.pending"][0]["basis"] == "lower-bound"
    assert _judge(rec)["status"] == "error"
    # first seen after the Release file that already listed it: the host's lists lagged, the
    # update is older than undone's sighting; the bound stands
    rec = _record(_section("debian", "bookworm", "12", [DINO], [DINO_SRC],
                           "Tue, 04 Apr 2023 00:00:00 UTC"))
    dating.date_record(rec, None, None, seen, NOW)
    assert rec["facts"]["updates.pending"][0]["basis"] == "lower-bound"
    # first seen by this very scan: not dated by the history yet
    rec = _record(out)
    dating.date_record(rec, None, None, dating.Seen(last_at=NOW - timedelta(days=1)), NOW)
    assert rec["facts"]["updates.pending"][0]["basis"] == "lower-bound"


def test_the_history_keeps_first_sightings(tmp_path: Path) -> None:
    out = _section("debian", "bookworm", "12", [DINO], [DINO_SRC], "Mon, 10 Apr 2023 03:00:00 UTC")
    bare = _section("debian", "bookworm", "12", [], [], "Mon, 10 Apr 2023 03:00:00 UTC")
    h = History(tmp_path / "h.sqlite")

    def scan(stdout: str, at: datetime) -> Any:
        rec = _record(stdout, at)
        rec.update(address="10.0.0.1", transport="ssh")
        seen = h.updates_seen("h1")
        h.begin({"scan": {"id": f"s{at:%d}", "started_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}},
                now=at)
        h.record(rec, [], now=at)
        return seen

    assert scan(out, NOW - timedelta(days=5)) is None  # first scan: nothing known before
    s = scan(bare, NOW - timedelta(days=4))  # installed: its row goes
    assert list(s.first) == [dating.pending_key(
        {"package": "dino-im", "arch": "amd64", "installed": "0.2.0-3"})]
    s = scan(out, NOW - timedelta(days=3))  # pending again: it arrived after the last list
    assert s.first == {}
    s = scan(out, NOW)
    (first, before), = s.first.values()
    assert first == NOW - timedelta(days=3) and before == NOW - timedelta(days=4)
    rec = _record(out)
    dating.date_record(rec, None, None, s, NOW)
    assert rec["facts"]["updates.pending"][0]["basis"] == "history"
    h.close()


def test_ubuntu_free_and_pro_notices(catalogue: advisories.Catalogue) -> None:
    line = ("Inst libssl3 [3.0.2-0ubuntu1.18] (3.0.2-0ubuntu1.19 Ubuntu:22.04/jammy-updates, "
            "Ubuntu:22.04/jammy-security [amd64])")
    out = _section("ubuntu", "jammy", "22.04", [line],
                   ["libssl3:amd64 3.0.2-0ubuntu1.18 openssl 3.0.2-0ubuntu1.18"],
                   "Fri, 21 Feb 2025 00:00:00 UTC")
    at = datetime(2025, 3, 1, tzinfo=UTC)
    rec = _record(out, at)
    dating.date_record(rec, catalogue, None, None, at)
    p = rec["facts"]["updates.pending"][0]
    assert (p["advisory"], p["basis"], p["issued"]) == ("USN-7278-1", "advisory",
                                                        "2025-02-20T17:40:04Z")
    assert _judge(rec)["status"] == "pass"


def test_dnf_dates_stay_bounds_unless_the_history_saw_them() -> None:
    text = (ROOT / "tests" / "fixtures" / "posix" / "updates" /
            "rhel91_kernel_advisories.out").read_text()
    at = datetime(2023, 4, 2, 8, tzinfo=UTC)
    rec = _record(text, at)
    dating.date_record(rec, None, None, None, at)
    r = _judge(rec)
    assert r["status"] == "fail"  # bounded at 137.8 days: already beyond 14
    assert rec["facts"]["updates.dating"]["why_not_advisories"] == "dnf dates its own advisories"


def test_security_runs_told_apart_by_the_catalogue(catalogue: advisories.Catalogue) -> None:
    """A run that brought a version fixing an advisory is a security run; the probe's upgrade
    lists are dropped from the facts once read."""
    rec: dict[str, Any] = {"facts": {
        "updates.os_release": {"id": "debian", "version_id": "11", "codename": "bullseye"},
        "patch.runs_30d": 2,
        "patch.upgrades": [
            {"at": "2023-04-05T10:00:00Z", "packages": [
                ["chromium", "chromium", "110.0.5481.100-1~deb11u1", "111.0.5563.64-1~deb11u1"]]},
            {"at": "2023-04-01T10:00:00Z", "packages": [
                ["tzdata", "tzdata", "2021a-1+deb11u8", "2021a-1+deb11u9"]]},
            {"at": "2022-12-01T10:00:00Z", "packages": [
                ["libpq5", "postgresql-13", "13.8-0+deb11u1", "13.9-0+deb11u1"]]},
        ]}, "fact_errors": {}}
    dating.classify_patch_runs(rec, catalogue, None, NOW)
    f = rec["facts"]
    assert "patch.upgrades" not in f
    assert (f["patch.security_runs_30d"], f["patch.security_runs_365d"]) == (1, 1)
    assert rec["fact_basis"]["patch.security_runs_30d"]["basis"] == "lower-bound"
    # without a catalogue, or for a release it does not hold, the count is unknown, not 0
    for cat, release in ((None, "bullseye"), (catalogue, "bookworm")):
        rec["facts"]["patch.upgrades"] = []
        rec["facts"]["updates.os_release"]["codename"] = release
        dating.classify_patch_runs(rec, cat, None, NOW)
        assert "patch.security_runs_30d" not in rec["facts"]
        assert "not known" in rec["fact_errors"]["patch.security_runs_30d"]
