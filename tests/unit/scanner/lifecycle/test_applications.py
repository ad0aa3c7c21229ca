"""The application release catalogue and the judgement of installed applications
(scanner/applications): version schemes, recognition, the catalogue built from real-format feeds,
the 14-day rule with an injected "now", stale and missing data, the allow-list, and
`undone applications refresh/status` (online through a loopback HTTP server, and --from DIR)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from scanner.lifecycle import applications
from scanner.lifecycle.applications import catalogue, feeds, products, sources, versions

ROOT = Path(__file__).parents[4]
FEEDS = ROOT / "tests" / "fixtures" / "applications" / "feeds"
# the project's endoflife.date snapshot (as the lifecycle tests find it)
SHARED = Path(os.environ.get("UNDONE_SHARED_DATA") or ROOT.parent / "shared" / "data") / "endoflife"


# ------------------------------------------------------------------------------ version schemes


@pytest.mark.parametrize(("scheme", "text", "key"), [
    ("chrome", "120.0.6099.109", (120, 0, 6099, 109)),
    ("mozilla", "115.9.1esr", (115, 9, 1)),
    ("mozilla", "126.0", (126, 0, 0)),
    ("java", "8u401", (8, 0, 401, 0)),
    ("java", "1.8.0_401", (8, 0, 401, 0)),
    ("java", "8.0.4010.7", (8, 0, 401, 0)),  # Oracle's Windows DisplayVersion of 8u401 b07
    ("java", "17.0.10+7", (17, 0, 10, 0)),
    ("java", "25.0.4.1+1", (25, 0, 4, 1)),
    ("java", "8.504.01.1", (8, 0, 504, 0)),  # Amazon Corretto 8u504
    ("acrobat", "24.001.20604", (24, 1, 20604)),
    ("dotted", "16.0.17328.20184", (16, 0, 17328, 20184)),
    ("dotted", "6.0.11 (39959)", (6, 0, 11, 39959)),  # Zoom's DisplayVersion
])
def test_version_schemes(scheme: str, text: str, key: tuple[int, ...]) -> None:
    parsed = versions.parse(scheme, text)
    assert parsed is not None and parsed.key == key


@pytest.mark.parametrize(("scheme", "text"), [
    ("mozilla", "127.0b9"), ("mozilla", "1snap1"), ("chrome", "120.0"), ("acrobat", "24.1"),
    ("dotted", "x" * 100), ("java", "seventeen"), ("dotted", ""),
])
def test_versions_undone_cannot_read_are_none(scheme: str, text: str) -> None:
    assert versions.parse(scheme, text) is None


def test_order_follows_the_vendors() -> None:
    def k(s: str, t: str) -> tuple[int, ...]:
        p = versions.parse(s, t)
        assert p is not None
        return p.key

    assert k("mozilla", "115.10.0esr") > k("mozilla", "115.9.1esr")
    assert k("chrome", "120.0.6099.110") > k("chrome", "120.0.6099.71")
    assert k("java", "8u401") > k("java", "1.8.0_392")
    assert k("dotted", "24.09") > k("dotted", "9.20")  # 7-Zip 24.09 after 9.20
    assert versions.parse("dotted", "7.6.4.1", 3) == versions.parse("dotted", "7.6.4", 3).__class__(
        "7.6.4.1", (7, 6, 4))


@pytest.mark.parametrize(("debian", "upstream"), [
    ("115.9.1esr-1~deb12u1", "115.9.1esr"),
    ("1:153.8.0esr-1~deb12u1", "153.8.0esr"),
    ("156.0.8078.129-1~deb12u1", "156.0.8078.129"),
    ("4:7.4.7-1+deb12u14", "7.4.7"),
    ("120.0.6099.109-1", "120.0.6099.109"),
])
def test_debian_versions_map_to_upstream(debian: str, upstream: str) -> None:
    assert versions.debian_upstream(debian) == upstream


# ------------------------------------------------------------------------------- recognition


@pytest.mark.parametrize(("item", "product", "upstream", "track"), [
    # Uninstall entries (values as winget-pkgs records them: AppsAndFeaturesEntries)
    ({"source": "registry", "name": "Google Chrome", "version": "120.0.6099.110"},
     "chrome", "120.0.6099.110", "stable"),
    ({"source": "registry", "name": "Adobe Acrobat DC (64-bit)", "version": "23.008.20470"},
     "acrobat", "23.008.20470", "dc"),
    ({"source": "registry", "name": "7-Zip 23.01 (x64)", "version": "23.01"},
     "7-zip", "23.01", "all"),
    ({"source": "registry", "name": "Mozilla Firefox ESR (x64 en-US)", "version": "115.9.1"},
     "firefox", "115.9.1esr", "esr-115"),
    ({"source": "registry", "name": "Java 8 Update 401 (64-bit)", "version": "8.0.4010.7"},
     "oracle-jdk", "8u401", "8"),
    ({"source": "registry", "name": "Eclipse Temurin JRE with Hotspot 17.0.10+7 (x64)",
      "version": "17.0.10.7"}, "eclipse-temurin", "17.0.10+7", "17"),
    ({"source": "registry", "name": "Adobe Acrobat Reader 2020", "version": "20.005.30539"},
     "acrobat", "20.005.30539", "2020"),
    ({"source": "dpkg", "name": "firefox-esr", "version": "140.12.0esr-1~deb12u1"},
     "firefox", "140.12.0esr", "esr-140"),
    ({"source": "dpkg", "name": "chromium", "version": "156.0.8078.129-1~deb12u1"},
     "chromium", "156.0.8078.129", "stable"),
    ({"source": "snap", "name": "firefox", "version": "144.0.2-1"},
     "firefox", "144.0.2", "release"),
    ({"source": "snap", "name": "firefox", "version": "140.4.0esr-2"},
     "firefox", "140.4.0esr", "esr-140"),
    ({"source": "flatpak", "name": "org.mozilla.firefox", "id": "org.mozilla.firefox",
      "version": "146.0.1"}, "firefox", "146.0.1", "release"),
    ({"source": "bundle", "name": "Google Chrome", "id": "com.google.Chrome",
      "version": "120.0.6099.109"}, "chrome", "120.0.6099.109", "stable"),
    ({"source": "c2r", "name": "Microsoft 365 Apps", "version": "16.0.17328.20184", "m365": True,
      "channel": "Current"}, "m365", "16.0.17328.20184", "Current"),
])
def test_recognised(item: dict[str, Any], product: str, upstream: str, track: str) -> None:
    rec = products.recognise(item)
    assert rec is not None and rec.product == product
    assert rec.version is not None and rec.version.text == upstream
    assert rec.track == track


def test_unknown_and_distribution_maintained() -> None:
    assert products.recognise({"source": "registry", "name": "Advanced IP Scanner 2.5",
                               "version": "2.5.4594.1"}) is None
    rec = products.recognise({"source": "dpkg", "name": "libreoffice-core",
                              "version": "4:7.4.7-1+deb12u14"})
    assert rec is not None and rec.product == "distribution" and "backports" in rec.note
    ubuntu_snap_shim = products.recognise({"source": "dpkg", "name": "firefox",
                                           "version": "1:1snap1-0ubuntu5"})
    assert ubuntu_snap_shim is not None and ubuntu_snap_shim.version is None
    assert "cannot" not in ubuntu_snap_shim.note or "compare" in ubuntu_snap_shim.note


# -------------------------------------------------------------------- catalogue from feeds


def test_shipped_catalogue_equals_a_fresh_build(tmp_path: Path) -> None:
    if not (SHARED / "products.json").exists():
        pytest.skip("../shared/data is not available (set UNDONE_SHARED_DATA)")
    from scanner.lifecycle.applications import build

    assert build.main(["--from", str(SHARED), "--out", str(tmp_path)]) == 0
    shipped = ROOT / "baselines" / "applications"
    for name in ("catalogue.json", "NOTICE.md"):
        assert (tmp_path / name).read_text() == (shipped / name).read_text(), (
            f"baselines/applications/{name} is stale: python -m scanner.lifecycle.applications.build "
            "--from ../shared/data/endoflife --out baselines/applications")
    cat = catalogue.load()
    assert cat.snapshot_date == date(2026, 8, 22)
    assert "MIT" in (shipped / "NOTICE.md").read_text()


def test_real_feed_formats_build_a_catalogue(tmp_path: Path) -> None:
    shutil.copytree(FEEDS, tmp_path / "feeds")
    (tmp_path / "feeds" / "fetched.json").write_text(json.dumps({
        "mozilla/firefox.json": "2024-06-01", "mozilla/thunderbird.json": "2024-06-01",
        "chrome": "2025-01-10", "microsoft365": "2023-06-20"}))
    # the real endoflife.date API v1 answer (Go) read as if it were LibreOffice's: the format
    shutil.copy(FEEDS / "endoflife-api" / "go.json",
                tmp_path / "feeds" / "endoflife-api" / "libreoffice.json")
    cat = sources.build(tmp_path / "feeds")
    ff = cat.products["firefox"]
    assert ff.tracks["esr-115"].versions["115.9.1esr"] == date(2024, 3, 22)
    assert ff.tracks["esr-115"].complete and ff.tracks["esr-115"].as_of == date(2024, 6, 1)
    assert "127.0b9" not in ff.tracks["release"].versions  # betas are not releases
    assert ff.tracks["release"].versions["126.0"] == date(2024, 5, 14)
    assert "esr-115" in cat.products["thunderbird"].tracks  # Thunderbird 115 was an ESR line
    chrome = cat.products["chrome"].tracks["stable"]
    assert chrome.versions["131.0.6778.205"] == date(2025, 1, 8)
    m365 = cat.products["m365"]
    assert m365.tracks["MonthlyEnterprise"].versions["16.0.16327.20324"] == date(2023, 6, 13)
    assert not m365.tracks["MonthlyEnterprise"].complete
    assert m365.end_of_support["16.0.16327.20324"] == date(2023, 8, 8)
    lo = cat.products["libreoffice"]
    assert lo.cycles["1.23"].ended and lo.cycles["1.23"].eol == date(2025, 8, 12)
    assert not lo.cycles["1.25"].ended and lo.cycles["1.25"].eol is None
    assert {s["id"] for s in cat.sources} >= {"mozilla/firefox.json", "chrome", "microsoft365"}
    again = catalogue.from_json(catalogue.to_json(cat), "round trip")
    assert catalogue.to_json(again) == catalogue.to_json(cat)


def test_source_dates_without_a_record_are_lower_bounds(tmp_path: Path) -> None:
    shutil.copytree(FEEDS / "mozilla", tmp_path / "mozilla")
    cat = sources.build(tmp_path)
    src = next(s for s in cat.sources if s["id"] == "mozilla/firefox.json")
    # the newest release in the (trimmed) file: 115.11.0esr and 126.0.1, 2024-05-28
    assert src["date"] == "2024-05-28" and "lower bound" in src["date_basis"]


def test_incomplete_tracks_keep_what_earlier_refreshes_saw(tmp_path: Path) -> None:
    first = tmp_path / "a"
    (first / "microsoft365").mkdir(parents=True)
    shutil.copy(FEEDS / "microsoft365" / "MonthlyEnterprise.json", first / "microsoft365")
    old = sources.build(first, "2023-06-20")
    second = tmp_path / "b"
    (second / "microsoft365").mkdir(parents=True)
    doc = json.loads((FEEDS / "microsoft365" / "MonthlyEnterprise.json").read_text())
    doc["buildVersion"]["buildVersionString"] = "16.0.16327.20418"
    doc["availabilityDate"] = "2023-07-11T17:00:00Z"
    (second / "microsoft365" / "MonthlyEnterprise.json").write_text(json.dumps(doc))
    new = sources.build(second, "2023-07-12", previous=old)
    builds = new.products["m365"].tracks["MonthlyEnterprise"].versions
    assert set(builds) == {"16.0.16327.20324", "16.0.16327.20418"}


@pytest.mark.parametrize("bad", [
    "not json", "[]", '{"releases": "x"}', '{"releases": {"firefox-1": {"date": "soon"}}}',
])
def test_garbage_feeds_are_one_line_errors(tmp_path: Path, bad: str) -> None:
    (tmp_path / "mozilla").mkdir()
    (tmp_path / "mozilla" / "firefox.json").write_text(bad)
    if bad.startswith('{"releases": {"firefox-1"'):
        # an undated release is kept without a date, never invented
        cat = sources.build(tmp_path, "2024-01-01")
        assert all(d is None for t in cat.products.get(
            "firefox", catalogue.ProductData("firefox")).tracks.values() for d in t.versions.values())
        return
    with pytest.raises(catalogue.BuildError) as e:
        sources.build(tmp_path)
    assert "firefox.json" in str(e.value) and "\n" not in str(e.value)


# ----------------------------------------------------------------------- judging, with a clock

NOW = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)


def _cat(as_of: date, tracks: dict[str, dict[str, dict[str, date | None]]],
         cycles: dict[str, dict[str, catalogue.Cycle]] | None = None,
         complete: bool = True) -> catalogue.Catalogue:
    prods = {}
    for pid, ts in tracks.items():
        p = catalogue.ProductData(pid)
        for name, vers in ts.items():
            p.tracks[name] = catalogue.Track(dict(vers), as_of, complete, {"test"})
        p.cycles = dict((cycles or {}).get(pid, {}))
        prods[pid] = p
    for pid, cs in (cycles or {}).items():
        prods.setdefault(pid, catalogue.ProductData(pid)).cycles = dict(cs)
    return catalogue.Catalogue(as_of, prods, [], "test")


ACROBAT = {"acrobat": {"dc": {"23.008.20470": date(2023, 11, 14),
                              "24.001.20604": date(2024, 2, 13),
                              "24.002.20687": date(2024, 4, 9)}}}


def enrich(items: list[dict[str, Any]], cat: catalogue.Catalogue,
           now: datetime = NOW) -> tuple[dict[str, Any], dict[str, str]]:
    return applications.enrich({"apps.installed": items}, now, cat)


def test_an_old_acrobat_fails_with_the_newer_release_and_its_date() -> None:
    cat = _cat(date(2024, 6, 5), ACROBAT)
    out, err = enrich([{"source": "registry", "scope": "machine",
                        "name": "Adobe Acrobat DC (64-bit)", "version": "23.008.20470"}], cat)
    assert not err
    (line,) = out["apps.outdated"]
    assert line == "Adobe Acrobat 23.008.20470: 24.001.20604 out since 2024-02-13 (118 days)"
    assert len(line) <= 80  # a rule's message shows it whole
    j = out["apps.judged"][0]
    assert j["latest_version"] == "24.002.20687" and j["name"] == "Adobe Acrobat DC (64-bit)"
    assert j["status"] == "outdated" and j["basis"] == "release-date"
    assert j["newer_version"] == "24.001.20604" and j["newer_date"] == "2024-02-13"


def test_within_fourteen_days_of_a_newer_release_is_current() -> None:
    cat = _cat(date(2024, 6, 5), {"acrobat": {"dc": {"24.002.20687": date(2024, 4, 9),
                                                     "24.002.20736": date(2024, 5, 28)}}})
    out, err = enrich([{"source": "registry", "name": "Adobe Acrobat DC (64-bit)",
                        "version": "24.002.20687"}], cat)
    assert out["apps.outdated"] == [] and not err  # 13 days: still within the rule
    late = NOW + timedelta(days=2)  # 15 days after 2024-05-28
    cat_late = _cat(date(2024, 6, 11), {"acrobat": {"dc": {"24.002.20687": date(2024, 4, 9),
                                                           "24.002.20736": date(2024, 5, 28)}}})
    out, _ = enrich([{"source": "registry", "name": "Adobe Acrobat DC (64-bit)",
                      "version": "24.002.20687"}], cat_late, late)
    assert len(out["apps.outdated"]) == 1 and out["apps.outdated"][0].endswith("(15 days)")


def test_stale_data_can_prove_a_failure_never_a_pass() -> None:
    stale = _cat(date(2024, 3, 1), ACROBAT)  # 101 days old at NOW
    out, err = enrich([{"source": "registry", "name": "Adobe Acrobat DC (64-bit)",
                        "version": "23.008.20470"}], stale)
    assert len(out["apps.outdated"]) == 1  # proven by a release the data does know
    out, err = enrich([{"source": "registry", "name": "Adobe Acrobat DC (64-bit)",
                        "version": "24.002.20687"}], stale)
    assert "apps.outdated" not in out
    assert "101 days old" in err["apps.outdated"] and "refresh" in err["apps.outdated"]


def test_missing_data_is_an_error_and_a_proven_failure_stays_a_failure() -> None:
    cat = _cat(date(2024, 6, 5), ACROBAT)
    items = [{"source": "registry", "name": "7-Zip 23.01 (x64)", "version": "23.01"}]
    out, err = enrich(items, cat)
    assert "no release data for 7-Zip" in err["apps.outdated"]
    items.append({"source": "registry", "name": "Adobe Acrobat DC (64-bit)",
                  "version": "23.008.20470"})
    out, err = enrich(items, cat)
    assert len(out["apps.outdated"]) == 1 and "apps.outdated" not in err
    assert any("7-Zip" in u for u in out["apps.undetermined"])


def test_an_undated_newer_release_and_a_partial_list_are_never_a_pass() -> None:
    cat = _cat(date(2024, 6, 5), {"acrobat": {"dc": {"24.001.20604": date(2024, 2, 13),
                                                     "24.002.20687": None}}})
    _, err = enrich([{"source": "registry", "name": "Adobe Acrobat DC (64-bit)",
                      "version": "24.001.20604"}], cat)
    assert "does not know when" in err["apps.outdated"]
    part = _cat(date(2024, 6, 5), {"m365": {"Current": {"16.0.17628.20144": date(2024, 6, 4)}}},
                complete=False)
    item = {"source": "c2r", "name": "Microsoft 365 Apps", "version": "16.0.17328.20184",
            "m365": True, "channel": "Current"}
    _, err = enrich([item], part)
    assert "lists only some" in err["apps.outdated"]
    item["version"] = "16.0.17628.20144"
    out, err = enrich([item], part)  # the newest build the channel's feed gave: current
    assert out["apps.outdated"] == [] and not err


def test_unknown_applications_are_listed_never_judged() -> None:
    cat = _cat(date(2024, 6, 5), ACROBAT)
    out, err = enrich([{"source": "registry", "scope": "machine",
                        "name": "Advanced IP Scanner 2.5", "version": "2.5.4594.1"}], cat)
    assert out["apps.unrecognised"] == ["Advanced IP Scanner 2.5 2.5.4594.1 (registry, machine)"]
    assert out["apps.outdated"] == [] and out["apps.judged"] == [] and not err


def test_esr_lines_and_their_end_of_support() -> None:
    ended = catalogue.Cycle(date(2024, 5, 1), False, date(2024, 6, 5), "endoflife.date")
    alive = catalogue.Cycle(None, False, date(2024, 6, 5), "endoflife.date")
    cat = _cat(date(2024, 6, 5), {"firefox": {
        "esr-115": {"115.9.1esr": date(2024, 3, 22), "115.11.0esr": date(2024, 5, 14)},
        "esr-102": {"102.15.1esr": date(2023, 9, 12)},
        "release": {"126.0": date(2024, 5, 14)}}},
        {"firefox": {"115": alive, "102": ended}})
    out, _err = enrich([
        {"source": "dpkg", "name": "firefox-esr", "version": "115.9.1esr-1~deb12u1"},
        {"source": "registry", "name": "Mozilla Firefox ESR (x64 en-US)", "version": "102.15.1"},
    ], cat)
    assert len(out["apps.outdated"]) == 1 and "115.11.0esr" in out["apps.outdated"][0]
    assert "126.0" not in out["apps.outdated"][0]  # a release-channel version is another line
    (unsupported,) = out["apps.unsupported"]
    assert unsupported == "Mozilla Firefox 102.15.1esr: 102 ended 2024-05-01"
    judged = {j["version"]: j for j in out["apps.judged"]}
    assert judged["115.9.1esr-1~deb12u1"]["support"] == "supported"


def test_stale_end_of_support_data_is_an_error_unless_the_end_has_passed() -> None:
    old = date(2024, 1, 1)
    cat = _cat(old, {"libreoffice": {"7.6": {"7.6.4.1": date(2023, 12, 11)}}},
               {"libreoffice": {"7.6": catalogue.Cycle(date(2024, 6, 12), False, old, "e")}})
    out, err = enrich([{"source": "registry", "name": "LibreOffice 7.6.4.1",
                        "version": "7.6.4.1"}], cat)
    assert "apps.unsupported" not in out and "days old" in err["apps.unsupported"]
    out, err = enrich([{"source": "registry", "name": "LibreOffice 7.6.4.1",
                        "version": "7.6.4.1"}], cat, datetime(2024, 7, 1, tzinfo=UTC))
    assert out["apps.unsupported"] == ["LibreOffice 7.6.4.1: 7.6 ended 2024-06-12"]


def test_an_incomplete_inventory_can_fail_but_never_pass() -> None:
    cat = _cat(date(2024, 6, 5), ACROBAT)
    why = ["user hives (HKEY_USERS): Requested registry access is not allowed."]
    current = {"source": "registry", "name": "Adobe Acrobat DC (64-bit)", "version": "24.002.20687"}
    out, err = applications.enrich({"apps.installed": [current], "apps.incomplete": why}, NOW, cat)
    assert "inventory is incomplete" in err["apps.outdated"]
    assert "inventory is incomplete" in err["apps.unsupported"]
    old = dict(current, version="23.008.20470")
    out, err = applications.enrich({"apps.installed": [old], "apps.incomplete": why}, NOW, cat)
    assert len(out["apps.outdated"]) == 1 and "apps.outdated" not in err


def test_distribution_packages_are_listed_not_judged() -> None:
    out, err = enrich([{"source": "dpkg", "name": "libreoffice-core",
                        "version": "4:7.4.7-1+deb12u14"}], _cat(date(2024, 6, 5), {}))
    assert out["apps.outdated"] == [] and out["apps.unsupported"] == [] and not err
    assert out["apps.judged"][0]["status"] == "not_judged"


def test_an_unusable_catalogue_makes_every_fact_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> catalogue.Catalogue:
        raise ValueError("damaged")

    monkeypatch.setattr(catalogue, "load", broken)
    _out, err = applications.enrich({"apps.installed": []}, NOW)
    assert set(applications.FACTS) <= set(err) and "damaged" in err["apps.outdated"]


def test_the_engine_hook_turns_a_failed_section_into_errors() -> None:
    facts: dict[str, Any] = {}
    errors: dict[str, str] = {}
    applications.enrich_record({"posix.applications": {"status": "error",
                                                       "error": "timed out on the target"}},
                               facts, errors, NOW, None)
    assert errors["apps.outdated"] == "timed out on the target" and not facts


# --------------------------------------------------------------------------------- allow-list


EXT = [{"browser": "Google Chrome", "user": "alice", "profile": "Default",
        "id": "cjpalhdlnbpafiamejdnhcphjbkeiagm", "name": "uBlock Origin", "version": "1.57.2",
        "enabled": True},
       {"browser": "Google Chrome", "user": "alice", "profile": "Default",
        "id": "bmnlcjabgnpnenekpadlanbbkooimhnj", "name": "Honey", "version": "16.4.2",
        "enabled": False}]


def test_extensions_the_allow_list_does_not_name_are_listed() -> None:
    out, _ = applications.enrich({"browsers.extensions": EXT}, NOW, allowlist=[
        "CJPALHDLNBPAFIAMEJDNHCPHJBKEIAGM"], apps_ok=False)
    assert out["browsers.extension_allowlist_declared"] is True
    assert out["browsers.extensions_not_allowed"] == [
        "Honey 16.4.2 (Google Chrome, alice, disabled)"]
    out, _ = applications.enrich({"browsers.extensions": EXT}, NOW, apps_ok=False)
    assert out == {"browsers.extension_allowlist_declared": False}


def test_allow_list_values_are_checked_one_line_each() -> None:
    ids, problems = applications.check_allowlist(
        ["cjpalhdlnbpafiamejdnhcphjbkeiagm", "uBlock0@raymondhill.net",
         "{446900e4-71c2-419f-a6a7-df9c091e268b}", "not an id", 7])
    assert ids is None and len(problems) == 2
    assert problems[0].startswith("'extension_allowlist[3]' is 'not an id'")
    ids, problems = applications.check_allowlist(["cjpalhdlnbpafiamejdnhcphjbkeiagm"])
    assert ids == ("cjpalhdlnbpafiamejdnhcphjbkeiagm",) and not problems
    assert applications.check_allowlist("x")[1][0].startswith("'extension_allowlist' is not")


# ------------------------------------------------------------ refresh: loopback and --from DIR


class _Feeds(BaseHTTPRequestHandler):
    root: Path = FEEDS
    seen: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(self.path)
        _Feeds.seen.append(self.path)
        host, _, rest = parts.path.lstrip("/").partition("/")
        body: bytes | None = None
        if host == "product-details.mozilla.org":
            f = self.root / "mozilla" / rest.rsplit("/", 1)[-1]
            body = f.read_bytes() if f.exists() else None
        elif host == "versionhistory.googleapis.com":
            doc = json.loads((self.root / "chrome" / "win64.json").read_text())
            token = parse_qs(parts.query).get("pageToken", [""])[0]
            # two pages: the VersionHistory API pages with nextPageToken
            page = doc["releases"][:1] if not token else doc["releases"][1:]
            body = json.dumps({"releases": page, "nextPageToken": "" if token else "p2"}).encode()
        elif host == "clients.config.office.net":
            body = (self.root / "microsoft365" / "MonthlyEnterprise.json").read_bytes()
        elif host == "endoflife.date":
            body = (self.root / "endoflife-api" / "go.json").read_bytes()
        elif host == "raw.githubusercontent.com":
            body = json.dumps({"versions": {}}).encode()
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def feed_server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    _Feeds.seen = []
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def undone(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=str(ROOT), env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    import os

    return dict(os.environ, UNDONE_APPLICATIONS_DIR=str(tmp_path / "apps"), HOME=str(tmp_path))


def test_refresh_downloads_every_feed_through_a_mirror(feed_server: str, tmp_path: Path,
                                                      env: dict[str, str]) -> None:
    p = undone("applications", "refresh", "--mirror", feed_server, "--save",
               str(tmp_path / "saved"), env=env)
    assert p.returncode == 0, p.stderr
    assert "products, snapshot" in p.stdout
    seen = _Feeds.seen
    assert "/product-details.mozilla.org/1.0/firefox.json" in seen
    assert any("pageToken=p2" in s for s in seen)  # the second page was asked for
    assert any(s.startswith("/clients.config.office.net/releases/v1.0/LatestRelease/") for s in seen)
    written = json.loads((tmp_path / "apps" / "catalogue.json").read_text())
    today = datetime.now(UTC).date().isoformat()
    assert written["products"]["chrome"]["tracks"]["stable"]["as_of"] == today
    assert set(written["products"]["chrome"]["tracks"]["stable"]["versions"]) >= {
        "131.0.6778.205", "126.0.6478.63"}
    assert (tmp_path / "saved" / "fetched.json").exists()
    s = undone("applications", "status", env=env)
    assert s.returncode == 0 and str(tmp_path / "apps" / "catalogue.json") in s.stdout
    # what was saved builds the same catalogue offline
    out2 = tmp_path / "offline"
    p = undone("applications", "refresh", "--from", str(tmp_path / "saved"), "--out", str(out2),
               env=env)
    assert p.returncode == 0, p.stderr
    again = json.loads((out2 / "catalogue.json").read_text())
    assert again["products"]["firefox"] == written["products"]["firefox"]


def test_a_failing_feed_writes_nothing(feed_server: str, tmp_path: Path,
                                       env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "catalogue.json").write_text("previous")
    only = [feeds.Feed("mozilla/firefox.json", "https://product-details.mozilla.org/1.0/nope.json")]
    with pytest.raises(feeds.FetchError) as e:
        feeds.download(tmp_path / "dl", feed_server, 5, only)
    assert "HTTP 404" in str(e.value)
    monkeypatch.setattr(feeds, "feeds", lambda: only)
    monkeypatch.setenv("UNDONE_APPLICATIONS_DIR", str(tmp_path / "apps"))
    with pytest.raises(catalogue.BuildError) as b:
        feeds.refresh(None, None, feed_server, timeout=5)
    assert "nothing written" in str(b.value)
    assert (tmp_path / "apps" / "catalogue.json").read_text() == "previous"


@pytest.mark.parametrize("content", ["{not json", '{"releases": 3}'])
def test_garbage_from_dir_is_exit_2_with_one_line(tmp_path: Path, env: dict[str, str],
                                                  content: str) -> None:
    (tmp_path / "src" / "mozilla").mkdir(parents=True)
    (tmp_path / "src" / "mozilla" / "firefox.json").write_text(content)
    p = undone("applications", "refresh", "--from", str(tmp_path / "src"), env=env)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "firefox.json" in p.stderr
    assert not (tmp_path / "apps" / "catalogue.json").exists()


def test_an_empty_folder_and_a_bad_mirror_are_exit_2(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "empty").mkdir()
    p = undone("applications", "refresh", "--from", str(tmp_path / "empty"), env=env)
    assert p.returncode == 2 and "no release feed found" in p.stderr
    p = undone("applications", "refresh", "--mirror", "file:///etc", env=env)
    assert p.returncode == 2 and "--mirror" in p.stderr
