"""The advisory catalogue (scanner/lifecycle/advisories.py, `undone advisories`): the real list formats
(tests/fixtures/advisories/SOURCE.md), the download path against an HTTP server on 127.0.0.1,
building from a folder, what `status` says, matching by Debian version order, and input that is
not advisory data."""

from __future__ import annotations

import http.server
import io
import json
import lzma
import tarfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli.app import cli
from scanner.lifecycle import advisories
from scanner.lifecycle import advisories_refresh as lifecycle_advisories_refresh

ROOT = Path(__file__).resolve().parents[4]
ADV = ROOT / "tests" / "fixtures" / "advisories"
DSA_FILES = sorted((ADV / "debian").glob("DSA-list.*.txt"))
DLA_FILE = ADV / "debian" / "DLA-list.first150entries.txt"
USN_FILES = sorted((ADV / "ubuntu").glob("USN-*.json"))


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_dsa_list_entries_as_the_tracker_writes_them() -> None:
    entries = list(lifecycle_advisories_refresh.parse_debian_list(_lines(ADV / "debian" /
                                                       "DSA-list.first150entries.txt"), "DSA"))
    assert len(entries) == 150  # every entry of the excerpt names one bullseye fix
    assert entries[0] == ("bullseye", "xorg-server", "2:1.20.11-1+deb11u6", "2023-03-29",
                          "DSA-5380-1")
    multi = list(lifecycle_advisories_refresh.parse_debian_list(
        _lines(ADV / "debian" / "DSA-list.multirelease-sample.txt"), "DSA"))
    assert ("buster", "libpgjava", "42.2.5-2+deb10u1", "2022-07-31", "DSA-5196-1") in multi
    assert ("bullseye", "libpgjava", "42.2.15-1+deb11u1", "2022-07-31", "DSA-5196-1") in multi


def test_dsa_list_edge_cases() -> None:
    entries = list(lifecycle_advisories_refresh.parse_debian_list(
        _lines(ADV / "debian" / "DSA-list.edgecases-sample.txt"), "DSA"))
    versions = {e[2] for e in entries}
    assert not any(v.startswith("<") for v in versions)  # <end-of-life>, <not-affected>
    ids = {e[4] for e in entries}
    assert "DSA-4205-1" not in ids  # an end-of-support notice, no package line
    assert "DSA-1906-1" not in ids  # its release lines are NOTE: text, not fixes
    # an "update" entry (non-security, through the security archive) is kept: it is dated
    assert ("jessie", "akonadi", "1.13.0-2+deb8u2", "2016-11-15", "DSA-3714-1") in entries
    # DSA-2275-1: one release fixed, the other not affected
    assert [e[0] for e in entries if e[4] == "DSA-2275-1"] == ["squeeze"]
    old = list(lifecycle_advisories_refresh.parse_debian_list(
        _lines(ADV / "debian" / "DSA-list.oldest-tail15.txt"), "DSA"))
    assert ("woody", "openssl094", "0.9.4-6.woody.2", "2002-07-30", "DSA-136") in old
    assert ("woody", "libapache-mod-ssl", "2.8.9-2", "2002-07-02", "DSA-135") in old


def test_dla_list() -> None:
    entries = list(lifecycle_advisories_refresh.parse_debian_list(_lines(DLA_FILE), "DLA"))
    assert len(entries) == 150
    assert entries[0][:2] == ("buster", "firmware-nonfree")
    # a DLA file read as DSA gives nothing: the prefix is checked
    assert list(lifecycle_advisories_refresh.parse_debian_list(_lines(DLA_FILE), "DSA")) == []


def test_usn_records() -> None:
    got = {f.name: list(lifecycle_advisories_refresh.parse_usn(json.loads(f.read_text()))) for f in USN_FILES}
    assert ("ubuntu:22.04", "openssl", "3.0.2-0ubuntu1.19", "2025-02-20T17:40:04Z",
            "USN-7278-1") in got["USN-7278-1.json"]
    assert {e[0] for e in got["USN-8194-1.json"]} == {"ubuntu-pro:20.04", "ubuntu-pro:22.04",
                                                     "ubuntu-pro:24.04"}
    assert ("ubuntu-pro:16.04", "glance", "2:12.0.0-0ubuntu2+esm1", "2026-04-22T18:04:46Z",
            "USN-8199-1") in got["USN-8199-1.json"]
    assert {e[1] for e in got["USN-7851-2.json"]} == {"runc-app", "runc-stable"}
    assert lifecycle_advisories_refresh.ubuntu_release("Ubuntu:Pro:FIPS-updates:22.04:LTS") == "ubuntu-pro:22.04"
    assert lifecycle_advisories_refresh.ubuntu_release("Debian:12") is None
    assert list(lifecycle_advisories_refresh.parse_usn({"id": "USN-1-1", "published": "not a date"})) == []
    assert list(lifecycle_advisories_refresh.parse_usn(["not", "a", "record"])) == []


# ---------------------------------------------------------------------------- building


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "from"
    (src / "DSA").mkdir(parents=True)
    (src / "DLA").mkdir()
    (src / "DSA" / "list").write_text("".join(f.read_text() for f in DSA_FILES))
    (src / "DLA" / "list").write_text(DLA_FILE.read_text())
    (src / "osv" / "usn").mkdir(parents=True)
    for f in USN_FILES:
        (src / "osv" / "usn" / f.name).write_bytes(f.read_bytes())
    return src


def test_refresh_from_a_folder_and_status(folder: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDONE_ADVISORIES_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    r = runner.invoke(cli, ["advisories", "status"])
    assert r.exit_code == 0 and "no advisory catalogue yet" in r.output
    r = runner.invoke(cli, ["advisories", "refresh", "--from", str(folder)])
    assert r.exit_code == 0, r.output
    assert "debian-dsa: 188 advisories, newest 2023-03-29" in r.output
    assert "ubuntu-usn: 8 advisories, newest 2026-04-22" in r.output
    doc = json.loads((tmp_path / "data" / "advisories.json").read_text())
    assert doc["schema"] == advisories.SCHEMA
    assert "CC BY-SA 4.0" in doc["sources"]["ubuntu-usn"]["terms"]  # attribution travels
    assert doc["index"]["debian-dla"]["debian:buster"]["xorg-server"][0] == [
        "2:1.20.4-1+deb10u7", "2022-12-31", "DLA-3256-1"]  # sorted oldest first
    r = runner.invoke(cli, ["advisories", "status"])
    assert r.exit_code == 0
    assert "debian-dsa: 188 advisories" in r.output and "debian:bullseye (104 packages)" in r.output
    assert "terms: Canonical, Ubuntu Security Notices, CC BY-SA 4.0" in r.output
    # a clone of the security-tracker repository (data/DSA/list) works as it is; only Debian
    # is read, so the Ubuntu part is kept
    repo = tmp_path / "tracker"
    (repo / "data").mkdir(parents=True)
    (folder / "DSA").rename(repo / "data" / "DSA")
    (folder / "DLA").rename(repo / "data" / "DLA")
    r = runner.invoke(cli, ["advisories", "refresh", "--from", str(repo)])
    assert r.exit_code == 0 and "kept as they were: ubuntu-usn" in r.output


def test_refresh_bad_input_is_exit_2_and_keeps_the_old(folder: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDONE_ADVISORIES_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(cli, ["advisories", "refresh", "--from", str(folder)]).exit_code == 0
    before = (tmp_path / "data" / "advisories.json").read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    r = runner.invoke(cli, ["advisories", "refresh", "--from", str(empty)])
    assert r.exit_code == 2 and "no advisory data found" in r.output
    junk = tmp_path / "junk"
    (junk / "DSA").mkdir(parents=True)
    (junk / "DSA" / "list").write_text("<html>not the list</html>\n" * 10)
    r = runner.invoke(cli, ["advisories", "refresh", "--from", str(junk)])
    assert r.exit_code == 2 and "no Debian Security Advisories" in r.output
    assert "Traceback" not in r.output
    bad_usn = tmp_path / "badusn"
    bad_usn.mkdir()
    (bad_usn / "USN-1-1.json").write_text("{not json")
    r = runner.invoke(cli, ["advisories", "refresh", "--from", str(bad_usn)])
    assert r.exit_code == 2 and "not JSON" in r.output
    assert (tmp_path / "data" / "advisories.json").read_bytes() == before
    # a corrupt catalogue is named, never used as if empty
    (tmp_path / "data" / "advisories.json").write_text("{")
    r = runner.invoke(cli, ["advisories", "status"])
    assert r.exit_code == 2 and "not JSON" in r.output


# ---------------------------------------------------------------------------- download


def _usn_tarball() -> bytes:
    """An OSV tarball laid out as Canonical's (osv/usn/, osv/cve/), xz-compressed."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        members = [(f"osv/usn/{f.name}", f.read_bytes()) for f in USN_FILES]
        members.append(("osv/cve/2025/UBUNTU-CVE-2025-0001.json", b'{"id": "UBUNTU-CVE"}'))
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    files = {
        "/security-tracker/data/DSA/list": "".join(f.read_text() for f in DSA_FILES).encode(),
        "/security-tracker/data/DLA/list": DLA_FILE.read_bytes(),
        "/osv/osv-all.tar.xz": _usn_tarball(),
        "/huge": b"[01 Jan 2020] DSA-1-1 x - y\n" * 10,
    }
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_refresh_downloads_the_real_formats(server: tuple[str, list[str]], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    base, seen = server
    monkeypatch.setenv("UNDONE_ADVISORIES_DIR", str(tmp_path / "data"))
    r = CliRunner().invoke(cli, [
        "advisories", "refresh",
        "--dsa-url", f"{base}/security-tracker/data/DSA/list",
        "--dla-url", f"{base}/security-tracker/data/DLA/list",
        "--usn-url", f"{base}/osv/osv-all.tar.xz"])
    assert r.exit_code == 0, r.output
    assert sorted(seen) == ["/osv/osv-all.tar.xz", "/security-tracker/data/DLA/list",
                            "/security-tracker/data/DSA/list"]
    cat = advisories.load()
    assert cat is not None and cat.missing("debian") is None and cat.missing("ubuntu") is None
    assert cat.sources["ubuntu-usn"]["advisories"] == 8  # the osv/cve/ record is not a USN
    assert cat.sources["debian-dsa"]["origin"].startswith(f"{base}/security-tracker")
    # a failed download is one line and exit 2; the catalogue stays
    r = CliRunner().invoke(cli, ["advisories", "refresh", "--only", "debian",
                                 "--dsa-url", f"{base}/missing", "--dla-url", f"{base}/missing"])
    assert r.exit_code == 2 and "cannot download" in r.output and "404" in r.output
    assert advisories.load() is not None
    r = CliRunner().invoke(cli, ["advisories", "refresh", "--dsa-url", "file:///etc/passwd"])
    assert r.exit_code == 2 and "only http(s) URLs" in r.output


def test_a_tarball_that_is_not_one_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "osv-all.tar.xz").write_bytes(lzma.compress(b"just text, no tar"))
    with pytest.raises(advisories.AdvisoryError, match="not a readable tar archive"):
        lifecycle_advisories_refresh.refresh(src, tmp_path / "out", only="ubuntu")


# ---------------------------------------------------------------------------- matching


@pytest.fixture
def catalogue(folder: Path, tmp_path: Path) -> advisories.Catalogue:
    lifecycle_advisories_refresh.refresh(folder, tmp_path / "cat")
    cat = advisories.load(str(tmp_path / "cat" / advisories.FILE))
    assert cat is not None
    return cat


def test_the_earliest_advisory_between_installed_and_candidate(
        catalogue: advisories.Catalogue) -> None:
    rel = ["debian:bullseye"]
    # chromium: DSA-5345-1 (8 Feb, 110.0.5481.77), DSA-5359-1 (23 Feb, 110.0.5481.177),
    # DSA-5371-1 (9 Mar, 111.0.5563.64), DSA-5377-1 (23 Mar, 111.0.5563.110)
    m = catalogue.earliest(rel, "chromium", "110.0.5481.100-1~deb11u1",
                           "111.0.5563.110-1~deb11u1")
    assert m is not None and (m.advisory, m.fixed) == ("DSA-5359-1", "110.0.5481.177-1~deb11u1")
    assert m.published == datetime(2023, 2, 23, tzinfo=UTC)
    # the candidate caps the range: a fix newer than the candidate is not what is pending
    m = catalogue.earliest(rel, "chromium", "111.0.5563.64-1~deb11u1", "111.0.5563.64-1~deb11u1")
    assert m is None
    # the installed version excludes fixes already in
    m = catalogue.earliest(rel, "chromium", "111.0.5563.64-1~deb11u1",
                           "111.0.5563.110-1~deb11u1")
    assert m is not None and m.advisory == "DSA-5377-1"
    # epochs: xorg-server 2:1.20.4-1+deb10u8 installed, +deb10u9 candidate (buster, DLA)
    m = catalogue.earliest(["debian:buster"], "xorg-server", "2:1.20.4-1+deb10u8",
                           "2:1.20.4-1+deb10u9")
    assert m is not None and m.advisory == "DLA-3372-1"
    # another release's advisories never date an update
    assert catalogue.earliest(["debian:bookworm"], "chromium", "1", "999") is None
    # Ubuntu: the free and the Pro notices of the host's version
    m = catalogue.earliest(["ubuntu:22.04", "ubuntu-pro:22.04"], "openssl", "3.0.2-0ubuntu1.18",
                           "3.0.2-0ubuntu1.19")
    assert m is not None and m.advisory == "USN-7278-1"
    assert m.published == datetime(2025, 2, 20, 17, 40, 4, tzinfo=UTC)
    m = catalogue.earliest(["ubuntu:22.04", "ubuntu-pro:22.04"], "php-league-commonmark",
                           "1.6.7-1ubuntu0.1~esm0", "1.6.7-1ubuntu0.1~esm1")
    assert m is not None and m.advisory == "USN-8194-1"


def test_a_release_is_dated_only_with_both_debian_lists(folder: Path, tmp_path: Path) -> None:
    (folder / "DLA" / "list").unlink()
    (folder / "DLA").rmdir()
    lifecycle_advisories_refresh.refresh(folder, tmp_path / "cat")
    cat = advisories.load(str(tmp_path / "cat" / advisories.FILE))
    assert cat is not None
    assert "no debian-dla data" in str(cat.missing("debian"))
    assert cat.missing("ubuntu") is None


def test_hostile_list_lines_parse_in_linear_time() -> None:
    for ch in " -[|:\t":
        line = "\t[bullseye] - x " + ch * (2 << 20)
        t0 = time.perf_counter()
        list(lifecycle_advisories_refresh.parse_debian_list(["[01 Jan 2020] DSA-1-1 x - y", line,
                                           "[" + ch * (2 << 20)], "DSA"))
        assert time.perf_counter() - t0 < 1.0
