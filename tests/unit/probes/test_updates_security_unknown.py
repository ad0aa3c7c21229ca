"""A count of 0 pending security updates is a fact only when the host could have told a security
fix from another update. When apt's lists were never fetched, when none of apt's sources is a
security repository, or when no dnf repository publishes advisories (updateinfo), an empty
security list says nothing, and CE-SU-002 ("security updates within 14 days") must be an error
that says why, never a pass. Found with monitoring-plugins' public Debian 6 sample (13 updates
waiting, no security pocket among them): it passed CE-SU-002 before. And a count is only as
current as the lists it came from: lists older than the rule's 14 days fail it.

Inputs: the real recorded outputs of tests/fixtures/posix/updates (SOURCE.md), with the blocks a
case needs replaced; the replaced parts are marked below as hand-made. The dnf repository
metadata block is made by running the script's own ``dnf_repomd`` loop over a real repomd.xml.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from probes.base import Facts, RawSection
from probes.posix import updates as probe
from scanner.engine.dating import date_record
from scanner.inventory import Contract
from scanner.result import HostRecord
from scanner.rules import baselines
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.rules.scope import HostView

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "posix" / "updates"
SCRIPT = ROOT / "probes" / "posix" / "updates.sh"
AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
_RULES = [r for b in baselines.load() for r in b.rules if r.id == "CE-SU-002"]
_PARAMS: dict[str, Any] = {}
for _b in baselines.load():
    _PARAMS.update(_b.params)
CE_SU_002 = compile_rules(_RULES, _PARAMS)


def _text(name: str) -> str:
    return (FIXTURES / f"{name}.out").read_text()


def _replace(text: str, block: str, body: str) -> str:
    """``text`` with the body of ``@@block <block>`` (up to its ``@@rc`` line) replaced."""
    pattern = re.compile(rf"(^@@block {re.escape(block)}\n)(.*?)(^@@rc )", re.S | re.M)
    assert pattern.search(text), block
    return pattern.sub(lambda m: m.group(1) + body + m.group(3), text, count=1)


def _parse(text: str, at: datetime = AT) -> Facts:
    return probe.parse(RawSection("posix.updates", text, collected_at=at))


def _verdict(facts: Facts, at: datetime = AT) -> dict[str, Any]:
    """CE-SU-002 on these facts as a scan judges them: dated first (no advisory catalogue on
    the scanning machine, no history), then evaluated."""
    rec: dict[str, Any] = {"facts": dict(facts.values), "fact_errors": dict(facts.errors),
                           "fact_basis": dict(facts.basis)}
    date_record(cast(HostRecord, rec), None, None, None, at)
    host = HostView(name="h1", platform="linux", roles=("server",), reachable=True, error=None,
                    facts=rec["facts"], fact_errors=rec["fact_errors"],
                    sections={"posix.updates": {"status": "ok", "sha256": "0" * 64,
                                                "collected_at": "2026-12-07T12:00:00Z"}},
                    fact_basis=rec.get("fact_basis") or {})
    [result] = evaluate_host(host, CE_SU_002, Contract())
    return dict(result)


def test_debian6_updates_with_no_security_pocket_are_not_zero_security_fixes() -> None:
    """Real: monitoring-plugins' check_apt input "debian2", 13 upgrades from the point release
    and no Release file shown: nothing shows that any source is a security repository."""
    f = _parse(_text("public_monplug_debian6_upgrade"))
    assert f.values["updates.pending_count"] == 13
    for name in ("updates.security_count", "updates.security_packages",
                 "updates.security_age_days", "updates.security_since"):
        assert name not in f.values
        assert "none of apt's sources is known to be a security repository" in f.errors[name]
    assert "13 pending updates" in f.errors["updates.security_count"]
    # the list is kept for the report, with "security" unknown rather than false
    assert {p["security"] for p in f.values["updates.pending"]} == {None}
    r = _verdict(f)
    assert r["status"] == "error"
    assert "security repository" in r["message"]


def test_lists_with_no_security_suite() -> None:
    """Real Debian 12 capture (debian12_root_sources) with, hand-made, every security pocket
    taken out: the Release file of bookworm-security removed and only the 42 updates from the
    main archive left pending, as on a derivative that ships fixes in its main archive."""
    text = _text("debian12_root_sources")
    sim = re.search(r"^@@block apt_simulate\n(.*?)^@@exit", text, re.S | re.M)
    assert sim
    inst = [ln for ln in sim.group(1).splitlines()
            if ln.startswith("Inst ") and "security" not in ln]
    assert len(inst) == 42
    body = (f"{len(inst)} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"
            + "\n".join(inst) + "\n@@exit 0\n\n")
    text = _replace(text, "apt_simulate", body)
    rel = re.search(r"^@@block apt_releases\n(.*?)^@@rc ", text, re.S | re.M)
    assert rel
    kept = [r for r in rel.group(1).split("\n\n") if "security" not in r.lower()]
    text = _replace(text, "apt_releases", "\n\n".join(kept))
    f = _parse(text)
    assert f.values["updates.pending_count"] == 42
    assert "no -security suite or Security label" in f.errors["updates.security_count"]
    assert "updates.metadata_date" in f.values  # the lists were fetched
    assert _verdict(f)["status"] == "error"


def test_lists_never_fetched_and_nothing_pending_is_not_up_to_date() -> None:
    """Real framing (debian12_root_sources) with, hand-made, what apt prints on a machine whose
    lists were never fetched: no Release file, and a simulation with nothing to upgrade."""
    text = _replace(_text("debian12_root_sources"), "apt_simulate",
                    "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n@@exit 0\n\n")
    text = _replace(text, "apt_releases", "\n")
    f = _parse(text)
    for name in ("updates.pending_count", "updates.security_count", "updates.pending",
                 "updates.security_age_days"):
        assert name not in f.values
        assert "never fetched" in f.errors[name]
    r = _verdict(f)
    assert r["status"] == "error" and "apt-get update" in r["message"]


def test_the_real_captures_keep_their_counts() -> None:
    """The fix must not turn a known count into an error: the real captures with a security
    pocket (and the patched one with nothing pending) keep theirs."""
    assert _parse(_text("debian12_root_sources")).values["updates.security_count"] == 92
    assert _parse(_text("debian12_patched_auto_reboot")).values["updates.security_count"] == 0
    assert _parse(_text("rhel9_up_to_date")).values["updates.security_count"] == 0
    assert _parse(_text("rhel9_security_pending")).values["updates.security_count"] == 6


def _repomd_block(tmp: Path, with_updateinfo: bool) -> str:
    """The script's own dnf_repomd loop, run over a cache holding the real repomd.xml (or, hand-
    made, the same file without its updateinfo entry)."""
    script = SCRIPT.read_text()
    m = re.search(r"undone_begin dnf_repomd\n(.*?)\n\s*undone_end 0", script, re.S)
    assert m, "the dnf_repomd block of updates.sh"
    repodata = tmp / "cache" / "baseos-9e2a3cdc2c4f6a3a" / "repodata"
    repodata.mkdir(parents=True)
    xml = (FIXTURES / "repomd" / "opensuse11_repomd.xml").read_text()
    if not with_updateinfo:
        xml = re.sub(r'  <data type="updateinfo">.*?</data>\n', "", xml, flags=re.S)
        assert "updateinfo" not in xml
    (repodata / "repomd.xml").write_text(xml)
    loop = m.group(1).replace("/var/cache/dnf/", f"{tmp / 'cache'}/")
    sh = shutil.which("sh")
    assert sh
    out = subprocess.run([sh, "-c", loop], capture_output=True, text=True, check=True).stdout
    assert "timestamp 1215708447" in out
    return out


def _dnf_pending_no_advisories(tmp: Path, with_updateinfo: bool) -> Facts:
    """Real rhel9_security_pending (ten updates waiting) with, hand-made, an empty security list
    and advisory info, as dnf prints them when no repository publishes advisories."""
    text = _text("rhel9_security_pending")
    text = _replace(text, "dnf_security_list", "@@exit 0\n\n")
    text = _replace(text, "dnf_security_info", "@@exit 0\n\n")
    text = _replace(text, "dnf_repomd", _repomd_block(tmp, with_updateinfo) + "\n")
    return _parse(text, REPOMD_AT)


#: a day after the repomd.xml's newest timestamp (1215708447, 10 July 2008), so that its lists
#: are fresh: the cases below are about the advisories, not the lists' age
REPOMD_AT = datetime(2008, 7, 11, 17, 0, tzinfo=UTC)


def test_dnf_without_advisories_is_unknown(tmp_path: Path) -> None:
    f = _dnf_pending_no_advisories(tmp_path, with_updateinfo=False)
    assert f.values["updates.pending_count"] == 10
    assert "publishes security advisories" in f.errors["updates.security_count"]
    assert "10 pending updates" in f.errors["updates.security_count"]
    assert "updates.security_age_days" in f.errors
    r = _verdict(f, REPOMD_AT)
    assert r["status"] == "error" and "updateinfo" in r["message"]


def test_dnf_with_advisories_and_none_for_these_updates_is_zero(tmp_path: Path) -> None:
    f = _dnf_pending_no_advisories(tmp_path, with_updateinfo=True)
    assert f.values["updates.security_count"] == 0
    assert f.values["updates.metadata_age_days"] < 2
    assert _verdict(f, REPOMD_AT)["status"] == "pass"


def test_lists_older_than_the_limit_fail_even_with_nothing_waiting(tmp_path: Path) -> None:
    """The same host scanned 30 days after its lists were fetched: a fix published since then
    and now due cannot be in them, so "none waiting" is not known (CE-SU-002 fails on the
    lists' age and says so)."""
    later = REPOMD_AT.replace(month=8, day=10)
    f = _parse(_replace(_replace(_replace(_text("rhel9_security_pending"), "dnf_security_list",
                                          "@@exit 0\n\n"), "dnf_security_info", "@@exit 0\n\n"),
                        "dnf_repomd", _repomd_block(tmp_path / "later", True) + "\n"), later)
    assert f.values["updates.security_count"] == 0
    r = _verdict(f, later)
    assert r["status"] == "fail"
    assert "updates.metadata_age_days is 31.0; expected at most 14" in r["message"]
    assert r["finding"] == ("The machine last fetched its list of updates on 10 Jul 2008, 31 "
                            "days ago, so security fixes published since then are neither "
                            "listed nor installed.")
