"""Nothing silently out of scope (DESIGN.md §5): every selected rule appears for every host,
judged, ``not_applicable`` with its reason, or ``error`` with why; a host without roles gets roles
inferred from its facts (scanner/rules/roles.py) and is in scope for malware protection and backups;
roles narrow the scope visibly.

Hosts are built from recorded facts: the two recorded scans in tests/fixtures/scan (this
project's Debian 12 machine, a test-estate server), the recorded Windows ``windows.os`` outputs,
SNMP and network-OS outputs (tests/fixtures/*, see their SOURCE.md), parsed by the real parsers.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probes import sections
from probes.base import RawSection
from reports import console, html
from scanner.history.store import History
from scanner.inventory import ROLES, Contract
from scanner.result import summarise
from scanner.rules import baselines, roles
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.rules.scope import NOT_HOSTS, scope
from scanner.scan import host_view
from scanner.vocab import NA_REASONS

ROOT = Path(__file__).resolve().parents[4]
FIX = ROOT / "tests" / "fixtures"
SCHEMA = json.loads((ROOT / "scanner" / "schema" / "scan.schema.json").read_text())
AT = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
SECTIONS = sections()
BASELINES = baselines.load()
RULES = [r for b in BASELINES for r in b.rules]
# the cloud tenants' rules too (not in the default selection yet): never a machine's
_CLOUD = [b for b in baselines.load([str(ROOT / "baselines" / "cloud.yaml")]) if b.name == "cloud"]
CLOUD = [r for b in _CLOUD for r in b.rules]
BY_ID = {r.id: r for r in RULES}
PARAMS: dict[str, Any] = {}
for _b in BASELINES + _CLOUD:
    PARAMS.update(_b.params)
COMPILED = compile_rules(RULES, PARAMS)
EVERY = compile_rules(RULES + CLOUD, PARAMS)  # the property test's selection to draw from
BY_ID.update({r.id: r for r in CLOUD})
MALWARE_BACKUP = [r.id for r in RULES if r.control in ("malware-protection", "backup")
                  and "linux" in r.platforms]
STATUSES = {"pass", "fail", "error", "not_applicable", "waived", "manual"}


def _ok(names: list[str] | tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {n: {"status": "ok", "error": None, "collected_at": "2026-11-22T00:30:00Z",
                "sha256": "0" * 64, "truncated": False} for n in names}


def _family(prefix: str) -> list[str]:
    return [n for n in SECTIONS if n.startswith(prefix + ".")]


def record(name: str, platform: str | None, facts: dict[str, Any],
           errors: dict[str, str] | None = None, *, transport: str = "ssh",
           reachable: bool = True, declared: tuple[str, ...] = (),
           secs: list[str] | None = None, error: str | None = None) -> dict[str, Any]:
    """A host record shaped as scanner/engine/collect.py writes it."""
    if secs is None:
        secs = (_family("windows") if platform == "windows" or transport == "winrm"
                else _family("posix")) + ["scanner.connection"]
    return {"name": name, "address": f"{name}.example.org", "transport": transport,
            "platform": platform, "roles": list(declared), "groups": [], "owner": None,
            "reachable": reachable, "error": error, "error_kind": None if reachable else
            "unreachable", "connection": {}, "facts": dict(facts) if reachable else {},
            "fact_errors": dict(errors or {}) if reachable else {},
            "sections": _ok(secs) if reachable else {}}


def _scan_facts(stem: str) -> tuple[dict[str, Any], dict[str, str]]:
    data = json.loads((FIX / "scan" / f"{stem}.json").read_text())
    return data["facts"], data.get("fact_errors", {})


def _parsed(section: str, path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    f = SECTIONS[section].parse(RawSection(section, path.read_text(encoding="utf-8"),
                                           collected_at=AT))
    return f.values, f.errors


def estate() -> list[dict[str, Any]]:
    """Every kind of host record a scan makes, from recorded facts where there are some."""
    out = []
    for stem, transport in (("facts-debian12", "local"), ("facts-estate-server", "ssh")):
        facts, errors = _scan_facts(stem)
        out.append(record(stem, "linux", facts, errors, transport=transport))
    for p in sorted((FIX / "windows" / "os").glob("*.out")):
        facts, errors = _parsed("windows.os", p)
        out.append(record(f"win-{p.stem}", "windows", facts, errors, transport="winrm"))
    for p in sorted((FIX / "snmp" / "system").glob("*.out")):
        facts, errors = _parsed("snmp.system", p)
        out.append(record(f"snmp-{p.stem}", "network", facts, errors, transport="snmp",
                          secs=["snmp.system", "snmp.community", "net.firmware",
                                "scanner.connection"]))
    for p in sorted((FIX / "netos").glob("*/*.out")):
        section = f"netos.{p.parent.name}"
        facts, errors = _parsed(section, p)
        out.append(record(f"dev-{p.stem}", "network", facts, errors,
                          secs=[section, "snmp.community", "net.firmware", "scanner.connection"]))
    macos, _ = _scan_facts("facts-debian12")
    out.append(record("mac01", "macos", {**macos, "os.family": "darwin", "os.id": "macos"}))
    out.append(record("bsd01", "bsd", {**macos, "os.family": "freebsd", "os.id": "freebsd"}))
    # a system undone does not know (garbage or an exotic uname), and hosts not reached
    out.append(record("odd01", None, {"os.family": "sunos"}))
    out.append(record("gone-ssh", None, {}, reachable=False, error="connection refused"))
    out.append(record("gone-win", None, {}, transport="winrm", reachable=False,
                      error="connection timed out"))
    out.append(record("gone-linux", "linux", {}, reachable=False, error="no route to host"))
    out.append({**record("network:lan", "segment", {"network.unmanaged_count": 0},
                         transport="nmap", secs=["net.nmap", "scanner.connection"]),
                "network": {"name": "lan", "cidr": "192.0.2.0/24", "internet_facing": False,
                            "allowed_ports": []}})
    out.append(record("tenant:school", "m365", {}, transport="graph",
                      secs=["cloud.entra", "scanner.connection"]))
    return out


ESTATE = estate()


def evaluated(rec: dict[str, Any], compiled: list[Any] | None = None) -> dict[str, Any]:
    """The record after role inference, as a scan records it, with its results by rule."""
    rec = copy.deepcopy(rec)
    roles.assign(rec)
    res = evaluate_host(host_view(rec), COMPILED if compiled is None else compiled, Contract())
    return {"rec": rec, "results": res, "by_rule": {r["rule"]: r for r in res}}


def one(name: str) -> dict[str, Any]:
    return next(r for r in ESTATE if r["name"] == name)


# -- roles inferred from facts ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected", "words"), [
    ("facts-debian12", ["server"], "Debian GNU/Linux 12 (bookworm), a Linux system"),
    ("win-win11_pro_23h2", ["endpoint"], "Windows client edition"),
    ("win-win10_22h2_pro_de_noesu", ["endpoint"], "ProductType workstation"),
    ("win-server2022_dc", ["server", "domain-controller"], "domain controller"),
    # Win32_OperatingSystem denied: the registry's InstallationType still tells
    ("win-server2012r2_cim_denied", ["server"], "InstallationType Server"),
    ("mac01", ["endpoint"], "macOS"),
    ("bsd01", ["server"], "BSD"),
    ("snmp-cisco_ios_c2960", ["switch"], "Cisco IOS C2960"),
    ("snmp-apc_ups_nmc", ["ups"], "APC"),
    ("snmp-routeros_7_21_5", ["router"], "RouterOS"),
    ("dev-fortigate_60f_7_4_8", ["firewall"], "FortiGate-60F"),
    ("dev-pfsense_2_4_5_release", ["firewall"], "pfSense"),
    ("dev-cat4948e_ios_12_2_54_sg1", ["switch"], "WS-C4948E"),
    ("snmp-unknown_device", [], "a kind undone does not know"),
    ("odd01", [], "os.family 'sunos' is not one undone knows"),
    ("gone-ssh", [], "not scanned"),
])
def test_roles_are_inferred_from_recorded_facts(name: str, expected: list[str],
                                                 words: str) -> None:
    rec = evaluated(one(name))["rec"]
    assert rec["roles_inferred"] == expected
    assert words in rec["roles_inferred_from"]
    assert rec["roles_source"] == ("inferred" if expected else "none")


def test_declared_roles_override_the_inferred_ones_which_are_still_recorded() -> None:
    rec = evaluated({**one("win-win11_pro_23h2"), "roles": ["server"]})["rec"]
    assert rec["roles_source"] == "inventory"
    assert rec["roles_inferred"] == ["endpoint"]  # for a person to compare
    assert host_view(rec).roles == ("server",)


def test_a_document_written_before_inference_keeps_its_declared_roles() -> None:
    old = {k: v for k, v in one("facts-debian12").items()}
    assert host_view(old).roles_source == "none" and host_view(old).roles == ()
    assert host_view({**old, "roles": ["nas"]}).roles == ("nas",)


# -- malware protection and backups on hosts without roles -------------------------------------


def test_a_host_without_roles_has_every_roles_sections_collected() -> None:
    """Its roles are inferred from what is collected, so the sections of every role it could be
    inferred to have are planned (and only those: a Linux host is a gateway when written down)."""
    from scanner.engine.collect import plan
    from scanner.inventory import Host

    planned = {s.name for s in plan(Host(name="h", address="192.0.2.1"), RULES)}
    assert {"posix.malware", "posix.backup"} <= planned and "posix.gateway" not in planned
    win = {s.name for s in plan(Host(name="w", address="192.0.2.2", transport="winrm"), RULES)}
    assert {"windows.defender", "windows.backup", "windows.hardening"} <= win
    gateway = {s.name for s in plan(Host(name="h", address="192.0.2.1", roles=("gateway",)),
                                    RULES)}
    assert "posix.gateway" in gateway and not {"posix.malware", "posix.backup"} & gateway


def test_what_can_be_inferred_is_what_is_planned_for() -> None:
    """Every role inferred for a host of the estate was planned for its family, so no rule of
    an inferred role finds its sections missing."""
    for rec in ESTATE:
        fam = "windows" if rec["platform"] == "windows" or rec["transport"] == "winrm" else (
            "posix" if rec["platform"] in ("linux", "macos", "bsd", None) else None)
        if fam is not None:
            assert set(roles.infer(rec)[0]) <= set(roles.INFERABLE[fam]), rec["name"]


def test_a_host_without_roles_gets_malware_and_backup_results() -> None:
    """The estate server (ClamAV; its borg repository was not declared in that scan's
    inventory) with no roles in the inventory: judged like a server."""
    out = evaluated(one("facts-estate-server"))
    assert out["rec"]["roles_inferred"] == ["server"]
    assert {"CE-MP-001", "CE-MP-002", "CE-MP-003", "PM-MP-001", "PM-BAK-001"} <= set(
        MALWARE_BACKUP)
    for rule in MALWARE_BACKUP:
        r = out["by_rule"][rule]
        assert r.get("na_reason") not in ("role", "platform"), r
    assert out["by_rule"]["CE-MP-001"]["status"] == "pass"  # ClamAV found
    assert out["by_rule"]["PM-BAK-001"]["status"] == "fail"  # no backup declared or found
    assert out["by_rule"]["PM-BAK-002"]["na_reason"] == "precondition"  # judged: none to age


def test_explicit_roles_narrow_the_scope_and_say_so() -> None:
    out = evaluated({**one("facts-estate-server"), "roles": ["gateway"]})
    for rule in ("CE-MP-001", "CE-MP-002", "PM-BAK-001", "PM-BAK-003"):
        r = out["by_rule"][rule]
        assert (r["status"], r["na_reason"]) == ("not_applicable", "role")
        assert "the inventory gives this host the role gateway" in r["message"]
        assert r["observed"] == {} and "waiver" not in r
    assert out["by_rule"]["CE-NET-004"].get("na_reason") != "role"  # now a gateway's rule


def test_an_inferred_role_is_recorded_but_never_narrows_scope() -> None:
    """Issue 13: "A role narrows scope only when written down." A Windows 11 PC with no roles is
    taken to be an endpoint (recorded), yet the backup rules written for servers are judged on
    it, and a domain controller with no roles still gets the laptop's BitLocker rule."""
    pc = evaluated(one("win-win11_pro_23h2"))
    assert pc["rec"]["roles_inferred"] == ["endpoint"] and pc["rec"]["roles_source"] == "inferred"
    laptop = pc["by_rule"]
    for rule in ("PM-WIN-002", "CE-MP-001", "PM-BAK-001"):
        assert laptop[rule].get("na_reason") != "role", laptop[rule]
    assert laptop["PM-BAK-001"]["status"] != "not_applicable"
    server = evaluated(one("win-server2022_dc"))["by_rule"]
    assert server["PM-WIN-002"].get("na_reason") != "role"
    assert server["PM-BAK-001"].get("na_reason") is None
    # a Linux host is a gateway only when written down
    gw = evaluated(one("facts-estate-server"))["by_rule"]["CE-NET-004"]
    assert (gw["status"], gw["na_reason"]) == ("not_applicable", "role")
    assert "only a declared role makes a host one of these" in gw["message"]


@pytest.mark.parametrize("platform", ["linux", "macos", "windows", "bsd"])
def test_a_host_without_roles_is_in_scope_for_every_ce_control_of_its_platform(
        platform: str) -> None:
    """For each Cyber Essentials control that has a rule for the platform, a host of that
    platform with no roles in the inventory has at least one of those rules in scope."""
    rec = next(r for r in ESTATE if r["platform"] == platform and r["reachable"])
    out = evaluated(rec)
    view = host_view(out["rec"])
    assert view.roles_source == "inferred"
    ce = [r for r in RULES if r.baseline == "cyber-essentials"
          and (not r.platforms or platform in r.platforms)]
    for control in {r.control for r in ce}:
        in_scope = [r.id for r in ce if r.control == control and scope(r, view) is None]
        assert in_scope, f"{control}: no rule in scope on a {platform} host without roles"
    # no rule for endpoints or servers is left out for a role: only a declared role narrows;
    # what is left out is a rule for a role only a declaration gives (a gateway), and it says so
    for rule in RULES:
        got = scope(rule, view)
        if got is not None and got[1] == "role":
            assert not set(rule.roles) & {"endpoint", "server"}, (rule.id, got)
            assert "the inventory gives this host no roles" in got[2]


# -- platforms, unknown systems, unreachable hosts ---------------------------------------------


def test_a_platform_mismatch_is_not_applicable_with_the_platform_reason() -> None:
    r = evaluated(one("win-win11_pro_23h2"))["by_rule"]["CE-SC-001"]
    assert (r["status"], r["na_reason"]) == ("not_applicable", "platform")
    assert r["message"] == ("does not apply: a rule for Linux, BSD and macOS; this is a Windows "
                            "host")
    r = evaluated(one("facts-debian12"))["by_rule"]["CE-FWM-001"]
    assert r["message"] == "does not apply: a rule for network devices; this is a Linux host"


def test_an_unknown_system_gets_its_rules_as_errors_with_why_never_not_applicable() -> None:
    out = evaluated(one("odd01"))
    for r in out["results"]:
        rule = BY_ID[r["rule"]]
        if rule.platforms and set(rule.platforms) <= set(NOT_HOSTS):  # never a host's
            assert r["na_reason"] == "platform"
        elif r["status"] == "not_applicable":
            assert r["na_reason"] == "precondition", r
        else:
            assert r["status"] in ("error", "fail", "pass", "manual"), r
    win = out["by_rule"]["CE-WIN-001"]
    assert win["status"] == "error"
    assert "operating system of this host is not known (os.family 'sunos'" in win["message"]
    assert "declare the host's platform" in win["message"]
    assert out["by_rule"]["CE-MP-001"]["status"] == "error"  # no facts: not checked


def test_an_unreachable_host_keeps_its_rules_as_not_checked() -> None:
    for name in ("gone-ssh", "gone-win"):
        out = evaluated(one(name))
        assert [r["rule"] for r in out["results"]] == [r.id for r in RULES]
        for r in out["results"]:
            if r["status"] == "not_applicable":
                assert r["na_reason"] == "platform", r
            else:
                assert r["status"] == "error" and "host not scanned" in r["message"], r
    # WinRM reaches Windows only: a Linux rule does not apply there, known without the facts
    win = evaluated(one("gone-win"))["by_rule"]
    assert win["CE-SC-001"]["na_reason"] == "platform"
    assert win["CE-MP-001"]["status"] == "error"
    # a declared platform is known without the facts, too
    linux = evaluated(one("gone-linux"))["by_rule"]
    assert linux["CE-WIN-001"]["na_reason"] == "platform"
    assert linux["PM-BAK-001"]["status"] == "error"


# -- every selected rule for every host ----------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=st.lists(st.booleans(), min_size=len(EVERY), max_size=len(EVERY)),
       declared=st.lists(st.one_of(st.just(()), st.lists(st.sampled_from(ROLES), min_size=1,
                                                         max_size=3, unique=True)
                                   .map(tuple)),
                         min_size=len(ESTATE), max_size=len(ESTATE)))
def test_every_selected_rule_appears_for_every_host(picks: list[bool],
                                                     declared: list[tuple[str, ...]]) -> None:
    selected = [cr for cr, keep in zip(EVERY, picks, strict=True) if keep]
    for base, roles_ in zip(ESTATE, declared, strict=True):
        out = evaluated({**base, "roles": list(roles_)}, selected)
        rec, res = out["rec"], out["results"]
        assert [r["rule"] for r in res] == [cr.rule.id for cr in selected], rec["name"]
        source = rec["roles_source"]
        assert source == ("inventory" if roles_ else ("inferred" if rec["roles_inferred"]
                                                      else "none"))
        for r in res:
            assert r["status"] in STATUSES and r["host"] == rec["name"]
            rule = BY_ID[r["rule"]]
            if r["status"] == "not_applicable":
                assert r["na_reason"] in NA_REASONS and r["message"].strip(), r
            else:
                assert "na_reason" not in r, r
            if not rec["reachable"]:
                assert r["status"] in ("error", "not_applicable"), r
            if r.get("na_reason") == "role":
                assert source != "none" and rule.roles, r
                scoped = roles_ or tuple(rec["roles_inferred"])
                assert not set(rule.roles) & set(scoped), r
            if r.get("na_reason") == "platform" and rec["platform"] is None \
                    and rec["transport"] in ("ssh", "local"):
                # an unknown system: not checked, not "does not apply" (unless not a machine's)
                assert rule.platforms and set(rule.platforms) <= set(NOT_HOSTS), r


# -- the whole path: scan this machine with no inventory ---------------------------------------


def test_scanning_this_machine_without_an_inventory_judges_malware_and_backups(
        tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "scanner", "scan", "--format", "json",
                        "--no-history", "--output", str(tmp_path / "doc.json")],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode in (0, 1, 3), p.stderr
    doc = json.loads((tmp_path / "doc.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    (host,) = doc["hosts"]
    assert host["roles"] == [] and host["roles_source"] == "inferred"
    assert host["roles_inferred"] == ["server"] and host["roles_inferred_from"]
    res = {r["rule"]: r for r in doc["results"]}
    # every selected rule, by rule id (the order the same scan's rebuilt report has)
    assert list(res) == sorted(r.id for r in RULES)
    for rule in MALWARE_BACKUP:
        assert res[rule].get("na_reason") not in ("role", "platform"), res[rule]
    assert res["CE-MP-001"]["status"] in ("pass", "fail")
    assert res["PM-BAK-001"]["status"] in ("pass", "fail")
    assert doc["summary"]["by_status"]["not_applicable"] == sum(
        r["status"] == "not_applicable" for r in doc["results"])


# -- what people see, and what the history keeps ------------------------------------------------


def _doc(records: list[dict[str, Any]]) -> dict[str, Any]:
    outs = [evaluated(r) for r in records]
    hosts = [o["rec"] for o in outs]
    results = [r for o in outs for r in o["results"]]
    return {"schema": "undone.scan/1", "tool": {"name": "undone", "version": "test"},
            "scan": {"id": "20261122T003000Z-abcdef", "started_at": "2026-11-22T00:30:00Z",
                     "finished_at": "2026-11-22T00:31:00Z", "inventory": None,
                     "baselines": [{"name": b.name, "version": b.version, "sha256": b.sha256}
                                   for b in BASELINES]},
            "rules": {r.id: {"title": r.title, "control": r.control, "severity": r.severity,
                             "remediation": r.remediation, "rationale": r.rationale}
                      for r in RULES},
            "hosts": hosts, "results": results, "summary": summarise(hosts, results)}


def test_the_document_is_valid_and_a_not_applicable_without_reason_is_not() -> None:
    doc = _doc([one("facts-debian12"), one("win-server2022_dc"), one("gone-ssh")])
    jsonschema.validate(doc, SCHEMA)
    bad = copy.deepcopy(doc)
    na = next(r for r in bad["results"] if r["status"] == "not_applicable")
    del na["na_reason"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    bad = copy.deepcopy(doc)
    bad["hosts"][0]["roles_source"] = "guessed"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


def test_console_and_html_say_what_was_not_checked_on_each_host_and_why() -> None:
    doc = _doc([one("facts-debian12"), one("win-win11_pro_23h2")])
    buf = io.StringIO()
    console.render(doc, buf, width=200, color=False)
    text = buf.getvalue()
    linux_na = sum(1 for r in doc["results"] if r["host"] == "facts-debian12"
                   and r["status"] == "not_applicable")
    assert f"not checked here: {linux_na} rules (" in text
    assert "for other systems" in text and "[server, inferred]" in text
    buf = io.StringIO()
    console.render(doc, buf, width=200, color=False, verbose=True)
    assert "a rule for Windows; this is a Linux host: CE-WIN-001" in buf.getvalue()
    buf = io.StringIO()
    html.render(doc, buf)
    page = buf.getvalue()
    assert f"Not checked here: {linux_na} checks that do not apply" in page
    assert "<details class=\"na\">" in page
    assert "a rule for hosts with the role gateway, firewall or router" in page  # CE-NET-004
    assert "only a declared role makes a host one of these" in page  # ... and why
    assert "role: endpoint (inferred)" in page
    assert 'title="inferred from its facts: a Windows client edition' in page


def test_history_keeps_the_reasons_and_records_unchanged_not_applicable_rows_once(
        tmp_path: Path) -> None:
    doc = _doc([one("facts-debian12"), one("win-win11_pro_23h2")])
    na = sum(r["status"] == "not_applicable" for r in doc["results"])
    assert na > 20
    with History(tmp_path / "h.sqlite") as h:
        for day in (1, 2):
            d = copy.deepcopy(doc)
            d["scan"].update(id=f"2026110{day}T000000Z-abcdef",
                             started_at=f"2026-11-0{day}T00:00:00Z")
            h.begin(d, None, 2, datetime(2026, 11, day, tzinfo=UTC))
            by_host: dict[str, list[dict[str, Any]]] = {}
            for r in d["results"]:
                by_host.setdefault(r["host"], []).append(r)
            for rec in d["hosts"]:
                h.record(rec, by_host[rec["name"]], datetime(2026, 11, day, tzinfo=UTC))
            h.finish(d, datetime(2026, 11, day, 0, 5, tzinfo=UTC))
        changes = h.db.execute("SELECT COUNT(*) FROM changes").fetchone()[0]
        assert changes == len(doc["results"])  # the second scan changed nothing
        rebuilt = h.document()
    jsonschema.validate(rebuilt, SCHEMA)
    old = {(r["host"], r["rule"]): r.get("na_reason") for r in doc["results"]}
    assert {(r["host"], r["rule"]): r.get("na_reason") for r in rebuilt["results"]} == old
    assert rebuilt["summary"]["by_status"]["not_applicable"] == na
