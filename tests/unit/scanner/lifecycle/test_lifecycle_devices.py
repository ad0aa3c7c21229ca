"""The device overlay (derived from ../shared/data/lifecycle-overlay, each row with its source and
class) and the local overlay (inventory ``lifecycle:`` rows and the data folder's file): what is
derived, what is left out, how rows are validated, and that a lookup uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scanner import inventory
from scanner.errors import InputError
from scanner.lifecycle import catalogue as lifecycle
from scanner.lifecycle import firmware as lifecycle_firmware
from scanner.lifecycle import overlay as devices
from scanner.lifecycle import overlay_build as lifecycle_overlay_build

ROOT = Path(__file__).parents[4]
SHIPPED = json.loads((ROOT / "baselines" / "lifecycle" / "device-overlay.json").read_text())


def test_every_shipped_row_keeps_its_source_and_class() -> None:
    rows = SHIPPED["firmware"] + SHIPPED["hardware"] + SHIPPED["policies"]
    assert len(rows) > 40
    for row in rows:
        src = row["source"]
        assert src["class"] in ("primary", "secondary")
        assert src.get("url") or (src.get("repo") and src.get("commit")), row
        assert src.get("as_of"), row
    pr = [r for r in SHIPPED["hardware"] if r["family"] == "Catalyst 2960-Plus"]
    assert pr and pr[0]["source"]["ref"] == "refs/pull/4708/head"
    assert pr[0]["source"]["commit"] == "70838bf1b491ea442cde5f1879e44fe8054aa116"
    assert pr[0]["last_day_of_support"] == "2026-10-31" and pr[0]["source"]["class"] == (
        "secondary")


def test_unknown_dates_are_left_out_never_guessed() -> None:
    cycles = {(r["product"], r["cycle"]) for r in SHIPPED["firmware"]}
    for train in ("12.2SE", "12.2(55)SE", "15.0SE", "15.2E"):
        assert ("cisco-ios", train) not in cycles  # "no source found" in the shared data
    families = {r["family"] for r in SHIPPED["hardware"]}
    assert not any("3560" in f or "3750" in f for f in families)
    sonic = {p for r in SHIPPED["hardware"] if r["vendor"] == "SonicWall" for p in r["patterns"]}
    assert "TZ 200" not in sonic  # its end of support was cut off in the stored page
    assert "TZ 200W" in sonic
    # every SonicWall row says its model mapping is undone's reading of the table
    assert all(r["inferred"] for r in SHIPPED["hardware"] if r["vendor"] == "SonicWall")


@pytest.mark.parametrize("text, cls", [
    ("secondary: UNMERGED endoflife.date pull request", "secondary"),
    ("vendor lifecycle page (primary)", "primary"),
    ("vendor_docs_repo (archived; Netgate's old docs source)", "primary"),
    ("third-party mirror of vendor document", "secondary"),
    ("secondary (news, 2022-02-15)", "secondary"),
])
def test_source_classes(text: str, cls: str) -> None:
    assert lifecycle_overlay_build.source_class(text, "x") == cls


def test_an_unclassified_source_stops_the_build() -> None:
    with pytest.raises(devices.OverlayBuildError, match="neither primary nor secondary"):
        lifecycle_overlay_build.source_class("a blog", "overlay.yaml: x")


def test_month_only_dates_take_the_last_day() -> None:
    assert lifecycle_overlay_build._shared_date("October 2022 (extended; high/critical fixes only)", "x") == (
        date(2022, 10, 31))
    assert lifecycle_overlay_build._shared_date("unknown (not in PR)", "x") is None


@pytest.mark.parametrize("vendor, model, family", [
    ("Cisco", "WS-C2960+24TC-L", "Catalyst 2960-Plus"),
    ("Cisco", "WS-C2960R+24TC-L", "Catalyst 2960-Plus"),
    ("Cisco", "WS-C2960X-48FPD-L", "Catalyst 2960-X"),
    ("Cisco", "WS-C2960RX-24PS-L", "Catalyst 2960-X"),
    ("Cisco", "ws-c3850-48u", "Catalyst 3850"),
    ("SonicWall", "TZ400", "SonicWall 400 (model as printed)"),
    ("Sophos", "XG86", "Sophos XG Series"),
    ("Cisco", "WS-C2960-24TT-L", None),  # the original 2960: no sourced date
    ("Cisco", "WS-C2960S-48FPS-L", None),
    ("Fortinet", "WS-C2960+24TC-L", None),  # another vendor's part number never matches
])
def test_hardware_rows_match_part_numbers(vendor: str, model: str, family: str | None) -> None:
    row = devices.shipped().hardware_for(vendor, model)
    assert (row.family if row else None) == family


# -- the local overlay -------------------------------------------------------------------------


GOOD = [
    {"product": "cisco-ios", "train": "12.2(55)SE", "end_of_support": date(2019, 1, 31),
     "source": "https://provider.example/eol.pdf"},
    {"vendor": "Cisco", "model": "WS-C2960-*", "last_day_of_support": "2019-10-31",
     "source": "https://provider.example/eol-2960.pdf", "note": "test value"},
]


def test_local_rows_parse_with_their_source_and_where() -> None:
    rows, problems = devices.parse_local(GOOD, "inv.yaml")
    assert not problems
    (fw,), (hw,) = rows.firmware, rows.hardware
    assert (fw.product, fw.cycle, fw.eol, fw.source_class) == ("cisco-ios", "12.2(55)SE",
                                                              date(2019, 1, 31), "local")
    assert fw.source["where"] == "inv.yaml: lifecycle[0]"
    assert hw.matches("Cisco", "WS-C2960-24TT-L") and hw.source["url"].endswith("2960.pdf")


@pytest.mark.parametrize("row, message", [
    ({"product": "cisco-ios", "train": "12.2(55)SE", "end_of_support": "2019-01-31"},
     "inv.yaml: lifecycle[0].source: missing; expected the http(s) URL of the page"),
    ({"product": "cisco-ios", "train": "12.2(55)SE", "end_of_support": "2019-01-31",
      "source": "the provider said so"},
     "inv.yaml: lifecycle[0].source: is text that is not an http(s) URL"),
    ({"product": "cisco-ios", "train": "12.2(55)SE", "end_of_support": "soon",
      "source": "https://x.example/a"},
     "inv.yaml: lifecycle[0].end_of_support: expected a date (YYYY-MM-DD)"),
    ({"product": "cisco-ios", "train": 12.2, "end_of_support": "2019-01-31",
      "source": "https://x.example/a"}, "expected one of 'train', 'cycle' or 'version' as text"),
    ({"vendor": "Cisco", "model": "WS-C2960-*", "source": "https://x.example/a"},
     "inv.yaml: lifecycle[0].last_day_of_support: expected a date"),
    ({"product": "Cisco IOS", "train": "12.2SE", "end_of_support": "2019-01-31",
      "source": "https://x.example/a"}, "lifecycle[0].product: expected a product name"),
    ({"product": "cisco-ios", "train": "12.2SE", "end_of_suport": "2019-01-31",
      "source": "https://x.example/a"}, "lifecycle[0]: unknown key 'end_of_suport'"),
    ({"product": "cisco-ios", "model": "x", "source": "https://x.example/a"},
     "expected either 'product' with 'train'"),
    ("cisco-ios 12.2SE 2019-01-31", "inv.yaml: lifecycle[0]: is text, expected a mapping"),
])
def test_local_rows_are_validated_one_line_each(row: Any, message: str) -> None:
    rows, problems = devices.parse_local([row], "inv.yaml")
    assert not rows and len(problems) == 1 and message in problems[0], problems


def test_the_section_must_be_a_list() -> None:
    _, problems = devices.parse_local({"product": "x"}, "inv.yaml")
    assert problems == ["inv.yaml: lifecycle: is a mapping, expected a list of rows (product "
                        "and train, or vendor and model; dates; source URL)"]


def inv_doc(**extra: Any) -> dict[str, Any]:
    return {"all": {"hosts": {"sw1": {"address": "192.0.2.10", "transport": "snmp",
                                      "community_env": "C"}}}, **extra}


def test_the_inventory_section_is_validated_with_the_inventory() -> None:
    inv = inventory.parse(inv_doc(lifecycle=GOOD), "inv.yaml")
    assert len(inv.lifecycle.firmware) == 1 and len(inv.lifecycle.hardware) == 1
    with pytest.raises(InputError) as info:
        inventory.parse(inv_doc(lifecycle=[{"product": "cisco-ios", "train": "12.2SE",
                                            "end_of_support": "2019-01-31"}]), "inv.yaml")
    assert info.value.problems == [
        "inv.yaml: lifecycle[0].source: missing; expected the http(s) URL of the page that "
        "gives these dates (a vendor bulletin, a support notice)"]


def test_validate_and_scan_refuse_a_row_without_a_source(tmp_path: Path) -> None:
    import yaml

    inv = tmp_path / "inv.yaml"
    inv.write_text(yaml.safe_dump(inv_doc(lifecycle=[
        {"vendor": "Cisco", "model": "WS-C2960-24TT-L", "last_day_of_support": "2019-10-31"}])))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "UNDONE_LIFECYCLE_DIR": str(tmp_path / "lc")}
    for args in (["validate", str(inv)], ["scan", str(inv), "--no-history"]):
        p = subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True,
                           text=True, cwd=ROOT, env=env, timeout=120)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert lines == [f"{inv}: lifecycle[0].source: missing; expected the http(s) URL of "
                         "the page that gives these dates (a vendor bulletin, a support "
                         "notice)"], p.stderr


def test_the_data_folder_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDONE_LIFECYCLE_DIR", str(tmp_path))
    assert not lifecycle.local_overlay(None)
    (tmp_path / "local-overlay.yaml").write_text(
        "lifecycle:\n  - {product: pfsense, train: '2.4', end_of_support: 2021-02-17,\n"
        "     source: 'https://provider.example/pfsense.html'}\n")
    rows = lifecycle.local_overlay(None)
    assert rows.firmware[0].source["where"] == f"{tmp_path / 'local-overlay.yaml'}: lifecycle[0]"
    inv_rows, _ = devices.parse_local(GOOD, "inv.yaml")
    both = lifecycle.local_overlay(inv_rows)
    assert [r.product for r in both.firmware] == ["cisco-ios", "pfsense"]  # inventory first
    (tmp_path / "local-overlay.yaml").write_text("lifecycle:\n  - {product: pfsense}\n")
    with pytest.raises(InputError, match=r"local-overlay\.yaml: lifecycle\[0\]"):
        lifecycle.local_overlay(None)


def test_a_local_row_wins_over_the_shipped_data() -> None:
    rows, _ = devices.parse_local([
        {"product": "cisco-ios", "train": "15.9(3)M", "end_of_support": "2029-07-27",
         "source": "https://provider.example/15-9-3-m-eol.html"},
        {"vendor": "Cisco", "model": "WS-C2960X-48FPD-L", "last_day_of_support": "2027-10-31",
         "source": "https://provider.example/2960x-eol.html"}], "inv.yaml")
    doc = lifecycle_firmware.firmware_lookup("cisco-ios", "15.9(3)M4", vendor="Cisco",
                                    model="WS-C2960X-48FPD-L", local=rows)
    assert doc["release"]["class"] == "local" and doc["release"]["eol"] == "2029-07-27"
    assert doc["hardware"]["row"]["class"] == "local"
    assert doc["hardware"]["row"]["where"] == "inv.yaml: lifecycle[1]"
    assert doc["catalogue"]["local_rows"] == 2
    plain = lifecycle_firmware.firmware_lookup("cisco-ios", "15.9(3)M4", vendor="Cisco",
                                      model="WS-C2960X-48FPD-L")
    assert plain["release"]["class"] == "secondary"
    assert plain["hardware"]["row"]["class"] == "secondary"


def test_device_lookup_reads_a_record() -> None:
    doc = lifecycle_firmware.device_lookup(
        {"firmware.product": "cisco-ios", "firmware.version": "12.2(55)SE12",
         "device.vendor": "Cisco", "device.model": "WS-C2960+24TC-L"}, {})
    assert doc["hardware"]["row"]["family"] == "Catalyst 2960-Plus"
    doc = lifecycle_firmware.device_lookup({}, {"firmware.product": "unknown device: sysDescr 'x'"})
    assert doc["reason"] == "unknown device: sysDescr 'x'"
