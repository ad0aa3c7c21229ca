"""`undone scan` end to end over SSH against the test estate: real sshd servers in network
namespaces, each with its own files; the scanner runs inside the estate's scanner namespace.

What the scanner reports is checked against the estate's truth (what the scenario set up), not
against another probe of the estate.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import jsonschema
import paramiko
import pytest
import yaml

from tests.estate import Estate
from tests.estate.estate import ANY_LIFECYCLE_AGE

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "scanner" / "schema" / "scan.schema.json").read_text())
SSH_HOSTS = ["web01", "db01", "app01", "legacy01", "ops01", "files01", "kiosk01"]


def scan(estate: Estate, inventory: Path, *args: str, home: Path) -> tuple[int, dict[str, Any], str]:
    out = inventory.with_suffix(".json")
    env = dict(os.environ, HOME=str(home))  # keep the machine's own ~/.ssh out of it
    p = estate.run_in_scanner(
        [sys.executable, "-m", "scanner", "scan", str(inventory), "--format", "json",
         "--output", str(out), *args],
        env=env, cwd=str(ROOT))
    assert "Traceback" not in p.stderr, p.stderr
    doc = json.loads(out.read_text()) if out.exists() else {}
    return p.returncode, doc, p.stderr


def results(doc: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in doc["results"] if r["host"] == host}


def hostrec(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(h for h in doc["hosts"] if h["name"] == name)


@pytest.fixture(scope="module")
def full_scan(estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("scan")
    inv = estate.write_inventory(d / "inventory.yaml", SSH_HOSTS, params=ANY_LIFECYCLE_AGE)
    before = {h: estate.snapshot(h) for h in ("web01", "db01", "ops01")}
    code, doc, stderr = scan(estate, inv, home=d)
    after = {h: estate.snapshot(h) for h in ("web01", "db01", "ops01")}
    return {"code": code, "doc": doc, "stderr": stderr, "before": before, "after": after}


def test_scan_completes_with_contract_exit_code_and_schema(full_scan: dict[str, Any]) -> None:
    doc = full_scan["doc"]
    assert full_scan["code"] == 1  # the estate has failures by design
    jsonschema.validate(doc, SCHEMA)
    assert {h["name"] for h in doc["hosts"]} == set(SSH_HOSTS)
    assert all(h["reachable"] for h in doc["hosts"]), [h["error"] for h in doc["hosts"]]
    # one progress line per host on stderr, for cron and timers
    for name in SSH_HOSTS:
        assert f"undone: {name} " in full_scan["stderr"]
    for h in doc["hosts"]:
        assert h["connection"]["host_key"]["fingerprint"].startswith("SHA256:")
        assert h["connection"]["host_key"]["accepted_on_first_use"] is False
        assert all(s["status"] == "ok" for s in h["sections"].values()), h["sections"]


def test_each_host_sees_its_own_files(full_scan: dict[str, Any], estate: Estate) -> None:
    doc = full_scan["doc"]
    for name in SSH_HOSTS:
        facts = hostrec(doc, name)["facts"]
        assert facts["os.hostname"] == name
        truth = estate.host(name)["os"]
        assert facts["os.version_id"] == truth["version_id"]
        assert facts["os.pretty_name"] == truth["pretty_name"]


def test_patched_hardened_host_passes(full_scan: dict[str, Any]) -> None:
    r = results(full_scan["doc"], "web01")
    for rule in ("CE-SC-001", "CE-SC-002", "CE-SC-003", "CE-SC-004", "CE-UA-001", "CE-UA-003",
                 "CE-SU-002", "CE-SU-003", "CE-SU-004", "PM-UPD-001", "PM-PAT-001"):
        assert r[rule]["status"] == "pass", (rule, r[rule]["message"])


def test_host_behind_on_security_updates(full_scan: dict[str, Any], estate: Estate) -> None:
    doc = full_scan["doc"]
    facts = hostrec(doc, "db01")["facts"]
    assert facts["updates.security_packages"] == ["libssl-dev", "libssl3", "openssl"]
    assert facts["updates.pending_count"] == 6  # + 3 openssh from the point release
    pockets = {u["package"]: u["security"] for u in facts["updates.pending"]}
    assert pockets["openssh-server"] is False and pockets["openssl"] is True
    # the security list the host last fetched is 20 days old: a lower bound on the age, which
    # already exceeds 14 days (no advisory data here: tests/integration/test_dating_estate.py)
    assert facts["updates.security_age_basis"] == "lower-bound"
    assert hostrec(doc, "db01")["fact_basis"]["updates.security_age_days"]["basis"] == (
        "lower-bound")
    assert 19.5 <= facts["updates.security_age_days"] <= 21
    r = results(doc, "db01")
    assert r["CE-SU-002"]["status"] == "fail"
    assert r["PM-UPD-001"]["status"] == "fail"
    assert r["CE-SU-003"]["status"] == "fail"  # unattended upgrades off
    assert r["CE-SC-001"]["status"] == "fail"  # weak sshd: PermitRootLogin yes
    assert r["CE-SC-004"]["status"] == "fail"
    assert "cbc" in " ".join(facts["sshd.weak_algorithms"])


def test_point_release_only_is_not_a_security_update(full_scan: dict[str, Any]) -> None:
    facts = hostrec(full_scan["doc"], "files01")["facts"]
    assert facts["updates.security_count"] == 0
    assert facts["updates.pending_count"] >= 1
    assert results(full_scan["doc"], "files01")["PM-UPD-001"]["status"] == "pass"


def test_reboot_required(full_scan: dict[str, Any]) -> None:
    r = results(full_scan["doc"], "app01")
    assert r["CE-SU-004"]["status"] == "fail"
    assert "libssl3" in r["CE-SU-004"]["observed"]["updates.reboot_packages"]
    assert results(full_scan["doc"], "web01")["CE-SU-004"]["status"] == "pass"


def test_accounts(full_scan: dict[str, Any]) -> None:
    doc = full_scan["doc"]
    assert results(doc, "legacy01")["CE-UA-001"]["status"] == "fail"
    assert hostrec(doc, "legacy01")["facts"]["accounts.uid0_extra"] == ["toor"]
    r = results(doc, "ops01")["CE-UA-003"]
    assert r["status"] == "fail"
    assert any("deploy" in e["entry"] for e in r["observed"]["sudo.nopasswd"])
    assert "clientadmin" in hostrec(doc, "web01")["facts"]["accounts.admins"]


def test_unsupported_release(full_scan: dict[str, Any]) -> None:
    r = results(full_scan["doc"], "legacy01")
    assert r["CE-SU-001"]["status"] == "fail"  # Debian 11: LTS ended 2026-08-31
    assert results(full_scan["doc"], "kiosk01")["CE-SU-003"]["status"] == "fail"


def test_scan_is_read_only(full_scan: dict[str, Any]) -> None:
    for host, before in full_scan["before"].items():
        after = full_scan["after"][host]
        changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
        assert not changed, f"{host}: the scan changed {changed[:10]}"


def not_checked(results: list[dict[str, Any]]) -> bool:
    """A host that was not scanned: every rule is there, none judged. Each is ``error`` (not
    checked), but a rule for declared networks, or for other roles than those the inventory
    declares, which does not apply to this host whatever it holds."""
    return bool(results) and any(r["status"] == "error" for r in results) and all(
        r["status"] == "error" or (r["status"] == "not_applicable"
                                   and r["na_reason"] in ("platform", "role"))
        for r in results)


def _known_hosts_for(estate: Estate, names: list[str]) -> list[str]:
    addrs = {estate.host(n)["address"] for n in names}
    return [ln for ln in Path(estate.known_hosts).read_text().splitlines()
            if ln.split(" ", 1)[0].strip("[").split("]")[0] in addrs]


def test_unknown_host_key_is_refused_with_how_to_accept(estate: Estate, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    inv = estate.write_inventory(tmp_path / "inv.yaml", ["web01"], known_hosts=str(kh))
    code, doc, _ = scan(estate, inv, home=tmp_path)
    h = hostrec(doc, "web01")
    assert code == 3 and not h["reachable"] and h["error_kind"] == "host-key"
    assert "not in known_hosts" in h["error"] and "ssh-keyscan" in h["error"]
    assert "SHA256:" in h["error"]
    assert not_checked(doc["results"])


def test_changed_host_key_is_refused(estate: Estate, tmp_path: Path) -> None:
    addr = estate.host("web01")["address"]
    fake = paramiko.ECDSAKey.generate()
    kh = tmp_path / "known_hosts"
    kh.write_text(f"{addr} ssh-ed25519 " + _ed25519_other(tmp_path) + "\n"
                  f"{addr} {fake.get_name()} {fake.get_base64()}\n")
    inv = estate.write_inventory(tmp_path / "inv.yaml", ["web01"], known_hosts=str(kh))
    code, doc, _ = scan(estate, inv, home=tmp_path)
    h = hostrec(doc, "web01")
    # refused, and a high-severity finding of its own (exit 1), never silently accepted
    assert code == 1 and not h["reachable"] and h["error_kind"] == "host-key"
    assert "HOST KEY CHANGED" in h["error"] and "Refused" in h["error"]
    assert h["connection"]["host_key"]["changed"] is True
    finding = results(doc, "web01")["UNDONE-SSH-001"]
    assert finding["status"] == "fail" and finding["severity"] == "high"
    assert "changed, connection refused" in finding["message"]
    truth = estate.host("web01")["sshd"]["fingerprints"]
    assert finding["observed"]["connection.host_key_fingerprint"] in truth.values()
    others = [r for r in doc["results"] if r["rule"] != "UNDONE-SSH-001"]
    assert not_checked(others)


def _ed25519_other(tmp_path: Path) -> str:
    """The public half of a fresh ed25519 key (not the host's)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pub = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return pub.decode().split()[1]


def test_trust_on_first_use_records_and_then_verifies(estate: Estate, tmp_path: Path) -> None:
    """Keys accepted on first use go to undone's own file (--known-hosts), never to the file
    the inventory names (issue 15, H1)."""
    named = tmp_path / "inventory_known_hosts"
    named.write_text("")
    kh = tmp_path / "known_hosts"
    inv = estate.write_inventory(tmp_path / "inv.yaml", ["web01", "app01"],
                                 known_hosts=str(named))
    _, doc, _ = scan(estate, inv, "--trust-on-first-use", "--known-hosts", str(kh),
                     home=tmp_path)
    assert named.read_text() == ""
    for name in ("web01", "app01"):
        h = hostrec(doc, name)
        assert h["reachable"], h["error"]
        assert h["connection"]["host_key"]["accepted_on_first_use"] is True
        assert h["connection"]["host_key"]["fingerprint"].startswith("SHA256:")
    recorded = kh.read_text().splitlines()
    assert len(recorded) == 2
    # the recorded keys are the real ones, and the next scan verifies against them strictly
    assert sorted(ln.split()[2] for ln in recorded) == sorted(
        ln.split()[2] for ln in _known_hosts_for(estate, ["web01", "app01"])
        if ln.split()[1] == recorded[0].split()[1])
    _, doc2, _ = scan(estate, inv, "--known-hosts", str(kh), home=tmp_path)
    assert all(h["reachable"] for h in doc2["hosts"])
    assert all(not h["connection"]["host_key"]["accepted_on_first_use"] for h in doc2["hosts"])


def test_unreachable_address_is_recorded_and_scan_goes_on(estate: Estate, tmp_path: Path) -> None:
    inv_path = estate.write_inventory(tmp_path / "inv.yaml", ["web01"])
    data = yaml.safe_load(inv_path.read_text())
    net = estate.subnet.rsplit(".", 1)[0]
    data["all"]["children"]["linux"]["hosts"]["ghost"] = {"address": f"{net}.99"}
    inv_path.write_text(yaml.safe_dump(data))
    code, doc, _ = scan(estate, inv_path, "--connect-timeout", "3", home=tmp_path)
    ghost = hostrec(doc, "ghost")
    assert not ghost["reachable"] and ghost["error_kind"] == "unreachable"
    assert hostrec(doc, "web01")["reachable"]
    assert doc["summary"]["hosts_unreachable"] == 1
    assert code in (1, 3)
    only = tmp_path / "only.yaml"
    only.write_text(yaml.safe_dump({"all": {"vars": data["all"]["vars"], "hosts": {
        "ghost": {"address": f"{net}.99"}}}}))
    code, doc, _ = scan(estate, only, "--connect-timeout", "3", home=tmp_path)
    assert code == 3
    assert not_checked(doc["results"])


def test_jump_host(estate: Estate, tmp_path: Path) -> None:
    """db01 through web01, named as an inventory host: the bastion is reached with its own
    settings (here the same key); a bare user@address bastion gets only the SSH agent and the
    default identity files, never the target's key file or password (issue 15, L8)."""
    web = estate.host("web01")["address"]
    inv = estate.write_inventory(tmp_path / "inv.yaml", ["db01", "web01"])
    data = yaml.safe_load(inv.read_text())
    data["all"]["children"]["linux"]["hosts"]["db01"]["jump"] = "web01"
    inv.write_text(yaml.safe_dump(data))
    _, doc, _ = scan(estate, inv, home=tmp_path)
    h = hostrec(doc, "db01")
    assert h["reachable"], h["error"]
    assert h["connection"]["jump"] == "web01"
    assert h["facts"]["os.hostname"] == "db01"
    # the same bastion as user@address: the inventory's key_file is the target's, not offered
    bare = estate.write_inventory(tmp_path / "bare.yaml", ["db01"], jump=f"root@{web}")
    _, doc, _ = scan(estate, bare, home=tmp_path)
    h = hostrec(doc, "db01")
    assert not h["reachable"] and h["error_kind"] == "auth", h["error"]
    assert h["error"].startswith(f"jump host root@{web}: no credentials to offer")


def test_become_with_sudo_and_unprivileged_never_passes(estate: Estate, tmp_path: Path) -> None:
    inv = estate.write_inventory(tmp_path / "inv.yaml", ["ops01"], user="deploy", become=True)
    _, doc, _ = scan(estate, inv, home=tmp_path)
    h = hostrec(doc, "ops01")
    assert h["reachable"], h["error"]
    assert h["facts"]["os.privileged"] is True
    inv2 = estate.write_inventory(tmp_path / "inv2.yaml", ["ops01"], user="deploy")
    _, doc, _ = scan(estate, inv2, home=tmp_path)
    h = hostrec(doc, "ops01")
    assert h["facts"]["os.privileged"] is False
    r = results(doc, "ops01")
    # the firewall ruleset and sudoers need root: error with the reason, never pass or fail
    assert r["CE-FW-001"]["status"] == "error" and "root" in r["CE-FW-001"]["message"]
    assert r["CE-UA-003"]["status"] == "error"
