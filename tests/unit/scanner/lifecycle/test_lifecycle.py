"""The lifecycle catalogue: os-release mapping (with the real cycle names of the 2026-08-22
endoflife.date snapshot), support status at injected dates, stale data, the overlay, KEV, and that
the shipped files are a fresh build of ../shared/data."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from scanner.errors import InputError
from scanner.lifecycle import build as lifecycle_build
from scanner.lifecycle import model as lifecycle_model
from scanner.lifecycle.catalogue import enrich_os, load_catalogue
from scanner.lifecycle.handkept import merge_overlay, parse_overlay
from scanner.lifecycle.kev import kev_for, load_kev
from scanner.lifecycle.model import AGE_FACT, OS_FACTS, SNAPSHOT_FACT, Catalogue, Release

REPO = Path(__file__).resolve().parents[4]
SHIPPED = REPO / "baselines" / "lifecycle"
NEVER_STALE = 100_000


def shared_data() -> Path | None:
    env = os.environ.get("UNDONE_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if (path / "endoflife" / "products.json").exists() else None


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00")


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


# ---------------------------------------------------------------------------------------------
# os-release -> product cycle
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("os_id", "version_id", "id_like", "product", "cycle"),
    [
        ("debian", "12", None, "debian", "12"),
        ("debian", "11", None, "debian", "11"),
        ("debian", "13", None, "debian", "13"),
        ("raspbian", "12", ["debian"], "debian", "12"),
        ("ubuntu", "22.04", ["debian"], "ubuntu", "22.04"),
        ("ubuntu", "24.04", ["debian"], "ubuntu", "24.04"),
        ("rhel", "9.4", ["fedora"], "rhel", "9"),
        ("rhel", "8.10", ["fedora"], "rhel", "8"),
        ("rocky", "9.3", ["rhel", "centos", "fedora"], "rocky-linux", "9"),
        ("almalinux", "9.4", ["rhel", "centos", "fedora"], "almalinux", "9"),
        ("ol", "8.10", ["fedora"], "oracle-linux", "8"),
        ("centos", "7", ["rhel", "fedora"], "centos", "7"),
        ("centos", "8", ["rhel", "fedora"], "centos", "8"),
        ("centos", "9", ["rhel", "fedora"], "centos-stream", "9"),
        ("fedora", "40", None, "fedora", "40"),
        ("amzn", "2023", ["fedora"], "amazon-linux", "2023"),
        ("amzn", "2", ["centos", "rhel", "fedora"], "amazon-linux", "2"),
        ("amzn", "2018.03", ["rhel", "fedora"], "amazon-linux", "2018.03"),
        # SUSE: VERSION_ID "15.5" is 15 SP5, and endoflife.date names the cycle "15.5" too
        ("sles", "15.5", None, "sles", "15.5"),
        ("sles_sap", "15.5", None, "sles", "15.5"),
        ("sles", "12.5", None, "sles", "12.5"),
        ("sles", "15", None, "sles", "15.0"),
        ("sles", "16.0", None, "sles", "16.0"),
        ("opensuse-leap", "15.6", ["suse", "opensuse"], "opensuse", "15.6"),
        ("alpine", "3.19.1", None, "alpine-linux", "3.19"),
        ("alpine", "3.22.0", None, "alpine-linux", "3.22"),
        ("linuxmint", "21.3", ["ubuntu", "debian"], "linuxmint", "21.3"),
        ("linuxmint", "22", ["ubuntu", "debian"], "linuxmint", "22"),
        # LMDE: ID=linuxmint, ID_LIKE=debian, VERSION_ID=6
        ("linuxmint", "6", ["debian"], "linuxmint", "lmde6"),
        ("freebsd", "14.1", None, "freebsd", "14.1"),
        ("macos", "14.5", None, "macos", "14"),
        ("macos", "10.15.7", None, "macos", "10.15"),
        ('"debian"', '"12"', None, "debian", "12"),
    ],
)
def test_os_release_maps_to_real_cycles(
    cat: Catalogue,
    os_id: str,
    version_id: str,
    id_like: list[str] | None,
    product: str,
    cycle: str,
) -> None:
    release = cat.os_release(os_id, version_id, id_like)
    assert release is not None
    assert (release.product, release.cycle) == (product, cycle)
    # the cycle name is the one in the data, not an invention of the mapping
    assert any(r.cycle == cycle for r in cat.products[product].releases)


def test_centos_stream_8_is_told_apart_by_name(cat: Catalogue) -> None:
    linux = cat.os_release("centos", "8", ["rhel", "fedora"], name="CentOS Linux")
    stream = cat.os_release("centos", "8", ["rhel", "fedora"], name="CentOS Stream")
    assert linux is not None and linux.product == "centos"
    assert stream is not None and stream.product == "centos-stream"
    assert linux.eol == date(2021, 12, 31)
    assert stream.eol == date(2024, 5, 31)


@pytest.mark.parametrize(
    ("os_id", "version_id", "id_like"),
    [
        ("arch", "", None),  # rolling, no VERSION_ID
        ("debian", "", None),  # testing / sid have no VERSION_ID
        ("opensuse-tumbleweed", "20260801", ["opensuse", "suse"]),
        ("kali", "2024.1", ["debian"]),  # a derivative is never given its parent's lifecycle
        ("pop", "22.04", ["ubuntu", "debian"]),
        ("ubuntu", "26.10", ["debian"]),  # newer than the snapshot
        ("debian", "99", None),
        ("fedora", "99", None),
        ("sles", "15.99", None),
        ("windows", "10.0.19045", None),  # Windows is mapped by build and edition, not here
    ],
)
def test_unknown_releases_map_to_none(
    cat: Catalogue, os_id: str, version_id: str, id_like: list[str] | None
) -> None:
    assert cat.os_release(os_id, version_id, id_like) is None


def test_release_fields(cat: Catalogue) -> None:
    r = cat.os_release("ubuntu", "22.04")
    assert r == Release(
        product="ubuntu",
        cycle="22.04",
        title="Ubuntu",
        release_date=date(2022, 4, 21),
        eol=date(2027, 4, 1),
        eol_flag=False,
        eoas=date(2024, 9, 30),
        eoes=date(2032, 4, 9),
        lts=True,
        latest="22.04.5",
        latest_date=date(2024, 9, 12),
        codename="Jammy Jellyfish",
    )
    assert r.name == "Ubuntu 22.04 (Jammy Jellyfish)"
    rhel = cat.release("rhel", "9")
    assert rhel is not None and rhel.lts and rhel.lts_from == date(2032, 5, 31)


def test_eol_true_without_a_date_and_eol_false(cat: Catalogue) -> None:
    routeros = cat.products["routeros"]
    ended = next(r for r in routeros.releases if r.eol_flag)
    assert ended.eol is None and not ended.supported(date(2026, 8, 22))
    assert ended.days_to_eol(date(2026, 8, 22)) is None
    sonoma = cat.release("macos", "14")
    assert sonoma is not None and sonoma.eol is None and not sonoma.eol_flag
    assert sonoma.supported(date(2030, 1, 1))


def test_version_dates_for_firmware(cat: Catalogue) -> None:
    assert cat.version_date("routeros", "7.23.3") == date(2026, 8, 3)
    assert cat.version_date("opnsense", "26.7.2") == date(2026, 8, 12)
    assert cat.version_date("clamav", "1.4.6") == date(2026, 8, 7)
    assert cat.version_date("fortios", "7.4.1") is None  # no release-data for FortiOS
    assert cat.products["debian"].versions == {}  # the package manager knows patch currency


def test_catalogue_holds_the_products_undone_needs(cat: Catalogue) -> None:
    assert set(lifecycle_model.PRODUCTS) <= set(cat.products)
    assert cat.snapshot_date == date(2026, 8, 22)
    commits = {s["name"]: s["commit"] for s in cat.sources}
    assert commits["endoflife.date"] == "a70eca337600e7d721dc48112c271f98661d208b"
    assert commits["endoflife.date release-data"] == "f626bdef8bf9d1503707c05034905184c3a795d6"


# ---------------------------------------------------------------------------------------------
# enrich_os: derived facts
# ---------------------------------------------------------------------------------------------


def test_debian_10_is_unsupported(cat: Catalogue) -> None:
    values, errors = enrich_os(
        {"os.id": "debian", "os.version_id": "10"}, at("2026-11-22"), cat, NEVER_STALE
    )
    assert errors == {}
    assert values["os.lifecycle_product"] == "debian"
    assert values["os.lifecycle_cycle"] == "10"
    assert values["os.eol_date"] == "2022-09-10"
    assert values["os.eoes_date"] == "2024-06-30"
    assert values["os.supported"] is False
    assert values["os.days_to_eol"] == -(date(2026, 11, 22) - date(2022, 9, 10)).days
    assert values[SNAPSHOT_FACT] == "2026-08-22"
    assert values[AGE_FACT] == 92


@pytest.mark.parametrize(
    ("day", "supported", "days"),
    [
        ("2026-06-01", True, 40),
        ("2026-07-11", True, 0),  # the eol day itself is still supported (as endoflife.date)
        ("2026-07-12", False, -1),
        ("2026-11-22", False, -134),  # past eol, inside Debian LTS (eoes 2028-06-30)
    ],
)
def test_debian_12_around_its_eol(cat: Catalogue, day: str, supported: bool, days: int) -> None:
    values, errors = enrich_os(
        {"os.id": "debian", "os.version_id": "12"}, at(day), cat, NEVER_STALE
    )
    assert errors == {}
    assert values["os.eol_date"] == "2026-07-11"
    assert values["os.eoes_date"] == "2028-06-30"
    assert values["os.supported"] is supported
    assert values["os.days_to_eol"] == days


def test_debian_13_supported(cat: Catalogue) -> None:
    values, errors = enrich_os(
        {"os.id": "debian", "os.version_id": "13"}, at("2026-11-22"), cat, 120
    )
    assert errors == {}
    assert values["os.supported"] is True
    assert values["os.days_to_eol"] == (date(2028, 8, 9) - date(2026, 11, 22)).days


def test_no_end_date_is_supported_with_null_date(cat: Catalogue) -> None:
    values, errors = enrich_os(
        {"os.id": "macos", "os.version_id": "14.5"}, at("2026-09-01"), cat, 30
    )
    assert errors == {}
    assert values["os.eol_date"] is None
    assert values["os.days_to_eol"] is None
    assert values["os.supported"] is True


def test_id_like_as_os_release_string(cat: Catalogue) -> None:
    values, errors = enrich_os(
        {"os.id": "linuxmint", "os.version_id": "6", "os.id_like": "debian"},
        at("2025-06-01"),
        cat,
        NEVER_STALE,
    )
    assert errors == {}
    assert values["os.lifecycle_cycle"] == "lmde6"


def test_missing_os_id_gives_errors(cat: Catalogue) -> None:
    values, errors = enrich_os({}, at("2026-09-01"), cat, 30)
    assert errors == dict.fromkeys(OS_FACTS, "os release unknown")
    assert not set(OS_FACTS) & set(values)
    assert values == {SNAPSHOT_FACT: "2026-08-22", AGE_FACT: 10}


def test_release_not_in_catalogue_gives_errors(cat: Catalogue) -> None:
    values, errors = enrich_os(
        {"os.id": "kali", "os.version_id": "2024.1", "os.id_like": ["debian"]},
        at("2026-09-01"),
        cat,
        30,
    )
    assert errors == dict.fromkeys(
        OS_FACTS, "os release kali 2024.1 is not in the lifecycle catalogue"
    )
    assert not set(OS_FACTS) & set(values)


def test_stale_catalogue_gives_errors_not_values(cat: Catalogue) -> None:
    values, errors = enrich_os(
        {"os.id": "debian", "os.version_id": "10"}, at("2026-11-22"), cat, 30
    )
    stale = "lifecycle data is stale (snapshot 2026-08-22, 92 days old)"
    assert errors == {"os.supported": stale, "os.days_to_eol": stale, "os.extended_support": stale}
    assert "os.supported" not in values and "os.days_to_eol" not in values
    assert values["os.eol_date"] == "2022-09-10"
    assert values[AGE_FACT] == 92


def test_stale_catalogue_and_a_release_newer_than_it(cat: Catalogue) -> None:
    _, errors = enrich_os({"os.id": "ubuntu", "os.version_id": "26.10"}, at("2027-01-10"), cat, 30)
    assert errors["os.supported"] == (
        "os release ubuntu 26.10 is not in the lifecycle catalogue; "
        "lifecycle data is stale (snapshot 2026-08-22, 141 days old)"
    )


def test_age_days(cat: Catalogue) -> None:
    assert cat.age_days(at("2026-08-22")) == 0
    assert cat.age_days(at("2026-11-22")) == 92
    assert cat.age_days(datetime(2026, 9, 1, 23, 59)) == 10  # naive is UTC
    assert cat.age_days(datetime.fromisoformat("2026-09-02T00:30:00+02:00")) == 10
    assert cat.stale_reason(at("2026-09-21"), 30) is None
    assert cat.stale_reason(at("2026-09-22"), 30) is not None


# ---------------------------------------------------------------------------------------------
# loading and the overlay
# ---------------------------------------------------------------------------------------------


def test_default_catalogue_is_cached() -> None:
    assert load_catalogue() is load_catalogue()


def test_load_catalogue_from_a_path(tmp_path: Path) -> None:
    text = (resources.files("baselines") / "lifecycle" / "catalogue.json").read_text("utf-8")
    doc = json.loads(text)
    doc["snapshot_date"] = "2026-10-01"
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    cat = load_catalogue(str(path))
    assert cat.snapshot_date == date(2026, 10, 1)
    assert cat.release("debian", "12") is not None


def test_load_catalogue_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"schema": "something/1"}', encoding="utf-8")
    with pytest.raises(InputError, match="not a lifecycle catalogue"):
        load_catalogue(str(path))
    with pytest.raises(InputError, match="no such file"):
        load_catalogue(str(tmp_path / "missing.json"))


def test_shipped_overlay_is_valid_and_empty() -> None:
    text = (SHIPPED / "overlay.yaml").read_text(encoding="utf-8")
    from scanner.yamlio import load_text

    assert parse_overlay(load_text(text, "overlay.yaml"), "overlay.yaml") == []


OVERLAY: dict[str, Any] = {
    "schema": "undone.lifecycle-overlay/1",
    "products": [
        {
            "product": "example-firewall",
            "title": "Example Firewall OS",
            "cycles": [
                {
                    "cycle": "2.0",
                    "eol": False,
                    "source": "https://vendor.example/lifecycle",
                    "checked_on": date(2026, 11, 20),
                },
                {
                    "cycle": "1.0",
                    "eol": date(2025, 1, 31),
                    "eoas": True,
                    "source": "https://vendor.example/lifecycle",
                    "checked_on": "2026-11-20",
                },
            ],
        },
        {
            "product": "debian",
            "cycles": [
                {
                    "cycle": "12",
                    "eol": date(2026, 6, 10),
                    "source": "https://www.debian.org/security/faq",
                    "checked_on": date(2026, 11, 20),
                }
            ],
        },
    ],
}


def test_overlay_merges_new_products_and_overrides_with_its_source(cat: Catalogue) -> None:
    merged = merge_overlay(cat, parse_overlay(OVERLAY, "overlay.yaml"))
    fw = merged.release("example-firewall", "1.0")
    assert fw is not None
    assert fw.title == "Example Firewall OS"
    assert fw.eol == date(2025, 1, 31) and fw.eoas is None and fw.eoas_flag
    assert fw.source == "https://vendor.example/lifecycle"
    assert fw.checked_on == date(2026, 11, 20)
    new = merged.release("example-firewall", "2.0")
    assert new is not None and new.supported(date(2030, 1, 1))
    deb = merged.release("debian", "12")
    assert deb is not None and deb.eol == date(2026, 6, 10) and deb.title == "Debian"
    assert deb.source == "https://www.debian.org/security/faq"
    other = merged.release("debian", "11")
    assert other is not None and other.source == "endoflife.date"
    assert [r.cycle for r in merged.products["debian"].releases][:3] == ["13", "12", "11"]
    # the original catalogue is untouched
    orig = cat.release("debian", "12")
    assert orig is not None and orig.eol == date(2026, 7, 11)


def test_overlay_loaded_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "overlay.yaml"
    path.write_text(
        "schema: undone.lifecycle-overlay/1\n"
        "products:\n"
        "  - product: example-nas\n"
        "    title: Example NAS OS\n"
        "    cycles:\n"
        '      - cycle: "7.2"\n'
        "        eol: 2027-06-30\n"
        "        source: https://nas.example/eol\n"
        "        checked_on: 2026-11-20\n",
        encoding="utf-8",
    )
    cat = load_catalogue(overlay=str(path))
    r = cat.release("example-nas", "7.2")
    assert r is not None and r.eol == date(2027, 6, 30)
    assert load_catalogue().release("example-nas", "7.2") is None  # the cache is not changed


@pytest.mark.parametrize(
    ("cycle", "message"),
    [
        ({"cycle": "1", "eol": False, "checked_on": "2026-11-20"}, "missing 'source'"),
        ({"cycle": "1", "eol": False, "source": "https://x.example/"}, "missing 'checked_on'"),
        (
            {"cycle": "1", "source": "https://x.example/", "checked_on": "2026-11-20"},
            "missing 'eol'",
        ),
        (
            {
                "cycle": 24.1,
                "eol": False,
                "source": "https://x.example/",
                "checked_on": "2026-11-20",
            },
            "quote it",
        ),
        (
            {"cycle": "1", "eol": False, "source": "vendor site", "checked_on": "2026-11-20"},
            "URL",
        ),
        (
            {
                "cycle": "1",
                "eol": "soon",
                "source": "https://x.example/",
                "checked_on": "2026-11-20",
            },
            r"cycles\[0\]\.eol: expected a date",
        ),
        (
            {"cycle": "1", "eol": False, "source": "https://x.example/", "checked_on": True},
            r"checked_on: expected a date",
        ),
        (
            {
                "cycle": "1",
                "eol": False,
                "source": "https://x.example/",
                "checked_on": "2026-11-20",
                "verified_on": "2026-11-20",
            },
            "unknown key 'verified_on'",
        ),
    ],
)
def test_overlay_validation(cycle: dict[str, Any], message: str) -> None:
    doc = {
        "schema": "undone.lifecycle-overlay/1",
        "products": [{"product": "x", "title": "X", "cycles": [cycle]}],
    }
    with pytest.raises(InputError, match=message) as info:
        parse_overlay(doc, "overlay.yaml")
    assert all(p.startswith("overlay.yaml: ") for p in info.value.problems)


def test_overlay_new_product_needs_a_title(cat: Catalogue) -> None:
    doc = {
        "schema": "undone.lifecycle-overlay/1",
        "products": [
            {
                "product": "x",
                "cycles": [
                    {
                        "cycle": "1",
                        "eol": False,
                        "source": "https://x.example/",
                        "checked_on": "2026-11-20",
                    }
                ],
            }
        ],
    }
    with pytest.raises(InputError, match="needs a 'title'"):
        merge_overlay(cat, parse_overlay(doc, "overlay.yaml"))


# ---------------------------------------------------------------------------------------------
# KEV
# ---------------------------------------------------------------------------------------------


def test_kev_for() -> None:
    mikrotik = kev_for("MikroTik", "RouterOS")
    assert {e["cveID"] for e in mikrotik} >= {"CVE-2018-14847"}
    assert set(mikrotik[0]) == set(lifecycle_model.KEV_FIELDS)
    forti = {e["product"] for e in kev_for("fortinet", "fortios")}
    assert "FortiOS" in forti and "FortiOS and FortiProxy" in forti
    assert kev_for("Nobody", "Nothing") == []
    kev = load_kev()
    assert kev.catalog_version == "2025.08.25"
    assert len(kev.entries) == 1404


def test_kev_accepts_cisa_file_as_is() -> None:
    data = shared_data()
    if data is None:
        pytest.skip("../shared/data is not available")
    kev = load_kev(str(data / "kev" / "known_exploited_vulnerabilities.json"))
    assert kev.catalog_version == "2025.08.25"

    def key(e: dict[str, str]) -> tuple[str, str, str]:
        return (e["cveID"], e["vendorProject"], e["product"])

    assert sorted(kev.entries, key=key) == sorted(load_kev().entries, key=key)


# ---------------------------------------------------------------------------------------------
# the derivation
# ---------------------------------------------------------------------------------------------


def test_shipped_files_are_a_fresh_build() -> None:
    data = shared_data()
    if data is None:
        pytest.skip("../shared/data is not available (set UNDONE_SHARED_DATA)")
    fresh = lifecycle_build.render(data)
    assert set(fresh) == {"catalogue.json", "kev.json", "NOTICE.md", "device-overlay.json"}
    for name, text in fresh.items():
        shipped = (SHIPPED / name).read_text(encoding="utf-8")
        assert shipped == text, (
            f"baselines/lifecycle/{name} is not current: run "
            "python -m scanner.lifecycle build --from ../shared/data --out baselines/lifecycle"
        )


def test_build_is_deterministic_and_small(tmp_path: Path) -> None:
    data = shared_data()
    if data is None:
        pytest.skip("../shared/data is not available (set UNDONE_SHARED_DATA)")
    assert lifecycle_build.render(data) == lifecycle_build.render(data)
    assert lifecycle_build.main(["build", "--from", str(data), "--out", str(tmp_path)]) == 0
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert total < 1_000_000
    assert not (tmp_path / "overlay.yaml").exists()  # the overlay is never generated
    notice = (tmp_path / "NOTICE.md").read_text(encoding="utf-8")
    assert "a70eca337600e7d721dc48112c271f98661d208b" in notice
    assert "eacf03ec6637cc7be6d3d4ed50785493da5126a2" in notice
    assert "CC0" in notice and "MIT" in notice and "2026-08-22" in notice


def test_shipped_files_are_readable_as_package_data() -> None:
    folder = resources.files("baselines") / "lifecycle"
    for name in ("catalogue.json", "kev.json", "NOTICE.md", "overlay.yaml"):
        assert (folder / name).is_file()
    doc = json.loads((folder / "catalogue.json").read_text("utf-8"))
    assert doc["schema"] == "undone.lifecycle/1"
    assert doc["snapshot_date"] == "2026-08-22"
