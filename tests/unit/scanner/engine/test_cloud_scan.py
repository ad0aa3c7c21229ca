"""Cloud tenants as a user runs them: ``undone scan inventory.yaml`` on an inventory with a
``tenants:`` section and a machine, through scanner.cli.main, against the real HTTPS servers of
tests/cloud_server.py (Entra sign-in and Microsoft Graph, Google OAuth, Directory and Cloud
Identity, answering in the formats Microsoft and Google document; the tenants are data in
tests/fixtures/cloud/tenants). There is no real tenant here: the servers are the tenants.

One scan, every report format, the history: each rule's result on the tenant set up to pass and
the one set up to fail, errors naming the licence or permission, a tenant that cannot sign in
recorded with why while the others are judged, nothing but GET reaching a tenant's API, and no
secret (token, private key, key passphrase) in any output or in the history."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import sqlite3
import tempfile
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner import clock
from scanner.cli.app import main
from scanner.engine.cloud import collect as cloud_collect
from tests import cloud_server as cs

AT = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
PASSPHRASE = "tenant-key-passphrase-7f3a9c1e"  # the encrypted key's; must never be written
PASS_ENV = "SCHOOL_KEY_PASSPHRASE"
# the tenants of this scan: a Microsoft tenant set up to pass (its key encrypted, with the
# passphrase named by an environment variable), one set up to fail, one without Entra ID P1
# and missing a permission, the two Google customers, and a tenant that does not exist
ENTRA = ("school-sd", "msp-only", "no-p1-perms")
GOOGLE = ("google-pass", "google-fail")
GHOST = "ghost-tenant"
GHOST_ID = "9d9d9d9d-0000-4000-8000-00000000dead"

P, F, E, NA = "pass", "fail", "error", "not_applicable"
EXPECTED = {
    "school-sd": {"CL-ENT-001": P, "CL-ENT-002": P, "CL-ENT-003": P, "CL-ENT-004": P,
                  "CL-ENT-005": P, "CL-ENT-006": P, "CL-ENT-007": P, "CL-ENT-008": P,
                  "CL-ENT-009": P, "CL-ENT-010": E, "CL-ENT-011": P, "CL-ENT-012": P},
    "msp-only": {"CL-ENT-001": F, "CL-ENT-002": F, "CL-ENT-003": F, "CL-ENT-004": F,
                 "CL-ENT-005": F, "CL-ENT-006": F, "CL-ENT-007": F, "CL-ENT-008": NA,
                 "CL-ENT-009": F, "CL-ENT-010": F, "CL-ENT-011": F, "CL-ENT-012": F},
    "no-p1-perms": {"CL-ENT-001": E, "CL-ENT-002": P, "CL-ENT-003": P, "CL-ENT-004": P,
                    "CL-ENT-005": P, "CL-ENT-006": E, "CL-ENT-007": E, "CL-ENT-008": NA,
                    "CL-ENT-009": P, "CL-ENT-010": E, "CL-ENT-011": P, "CL-ENT-012": P},
    "google-pass": {f"CL-GWS-00{i}": P for i in range(1, 10)},
    "google-fail": {f"CL-GWS-00{i}": F for i in range(1, 10)},
}
FORMATS = ("console", "json", "html", "summary", "markdown", "csv", "junit")


@dataclass
class Run:
    folder: Path
    server: cs.Server
    code: int
    out: Path
    db: Path
    doc: dict[str, Any]
    stderr: str
    keys: list[Path] = field(default_factory=list)


def _encrypt(key_file: Path, passphrase: str) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode())))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("cloudscan")
    server = cs.Server(cs.make_tls(folder)).start()
    tenants: dict[str, Any] = {}
    keys: list[Path] = []
    for name in ENTRA:
        world = cs.load_world(name)
        cert, key = cs.make_app_certificate(folder, name)
        server.add_tenant(world, cert)
        entry = {"platform": "m365", "tenant_id": world["tenant_id"],
                 "client_id": world["app"]["client_id"],
                 "certificate_file": cert.name, "private_key_file": key.name,
                 **world["inventory"]}
        if name == "school-sd":
            _encrypt(key, PASSPHRASE)
            entry["private_key_passphrase_env"] = PASS_ENV
        tenants[name] = entry
        keys.append(key)
    cert, key = cs.make_app_certificate(folder, GHOST)  # a tenant the server does not know
    tenants[GHOST] = {"platform": "m365", "tenant_id": GHOST_ID,
                      "client_id": "0f6e2d41-9999-4a5b-8c9d-000000000009",
                      "certificate_file": cert.name, "private_key_file": key.name,
                      "client_admins": ["it@ghost.example"]}
    keys.append(key)
    for name in GOOGLE:
        world = cs.load_world(name)
        key_file, public = cs.make_service_account(folder, name, world["service_account"],
                                                   server.google_token_uri)
        server.add_customer(world, public)
        tenants[name] = {"platform": "google-workspace", "service_account_file": key_file.name,
                         "admin_email": world["admin_email"], **world["inventory"]}
        keys.append(key_file)
    inventory = {
        # a Linux host scanned (this machine) and one nobody answers on
        "all": {"hosts": {"this-linux": {"transport": "local", "client_admins": ["root"]},
                          "office-pc": {"address": "127.0.0.1", "port": 9,
                                        "user": "audit", "platform": "linux",
                                        "connect_timeout": 2}}},
        "estate": {"name": "Greenfield Primary School"},
        "tenants": tenants,
    }
    inv = folder / "inventory.yaml"
    inv.write_text(yaml.safe_dump(inventory, sort_keys=False), encoding="utf-8")

    def options(now: Any = None) -> cloud_collect.Options:
        return cloud_collect.Options(
            login_url=server.url, graph_url=server.url, google_admin_url=server.url,
            google_policy_url=server.url, google_token_uris=(server.google_token_uri,),
            ca_bundle=str(server.tls.ca), sleep=lambda s: None,
            clock=now or (lambda: AT))

    out = folder / "out"
    db = folder / "history.db"
    mp = pytest.MonkeyPatch()
    mp.setattr(cloud_collect, "default_options", options)
    mp.setenv(PASS_ENV, PASSPHRASE)
    clock.use(lambda: AT)
    args = ["scan", str(inv), "--db", str(db), "--quiet", "--known-hosts",
            str(folder / "known_hosts")]
    for f in FORMATS:
        args += ["-f", f]
    args += ["-o", f"{out}/"]
    capture = folder / "stderr.txt"
    try:
        with capture.open("w+", encoding="utf-8") as err:
            saved = os.dup(2)
            os.dup2(err.fileno(), 2)
            try:
                code = main(args)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
        doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
        yield Run(folder, server, code, out, db, doc, capture.read_text(encoding="utf-8"),
                  keys)
    finally:
        clock.use(None)
        mp.undo()
        server.stop()


def _results(doc: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in doc["results"] if r["host"] == host}


def test_one_document_holds_the_machine_and_every_tenant(run: Run) -> None:
    names = [h["name"] for h in run.doc["hosts"]]
    # by name, as the same scan's report rebuilt from the history lists them
    assert names == sorted(["this-linux", "office-pc", *ENTRA, GHOST, *GOOGLE])
    by = {h["name"]: h for h in run.doc["hosts"]}
    for name in ENTRA:
        assert (by[name]["transport"], by[name]["platform"]) == ("graph", "m365")
        assert by[name]["reachable"], by[name]["error"]
    for name in GOOGLE:
        assert (by[name]["transport"], by[name]["platform"]) == ("google", "google-workspace")
        assert by[name]["reachable"], by[name]["error"]
    assert run.code == 1  # findings
    assert run.doc["summary"]["hosts_total"] == 8
    linux = _results(run.doc, "this-linux")
    assert by["this-linux"]["reachable"] and by["this-linux"]["platform"] == "linux"
    assert {r["status"] for rid, r in linux.items() if rid.startswith("CE-")} & {P, F}
    # the document is the contract: it validates against the shipped schema, tenants included
    from importlib import resources

    import jsonschema

    schema = json.loads((resources.files("scanner") / "schema" / "scan.schema.json").read_text())
    jsonschema.validate(run.doc, schema)


@pytest.mark.parametrize("tenant", [*ENTRA, *GOOGLE])
def test_every_cloud_rule_on_every_tenant(run: Run, tenant: str) -> None:
    res = _results(run.doc, tenant)
    got = {rid: r["status"] for rid, r in res.items() if rid.startswith("CL-")
           and r.get("na_reason") != "platform"}
    assert got == EXPECTED[tenant], {k: (v, res[k]["message"]) for k, v in got.items()
                                     if EXPECTED[tenant].get(k) != v}
    # the machines' rules are not judged on a tenant, and say why: their platform, or (the SSH
    # host key rule) that undone did not reach the tenant over SSH
    for rid, r in res.items():
        if not rid.startswith("CL-"):
            assert r["status"] == NA, r
            if r["na_reason"] == "platform":
                assert "this is a Microsoft 365 tenant" in r["message"] or (
                    "this is a Google Workspace tenant" in r["message"]), r
            else:
                assert (rid, r["na_reason"]) == ("UNDONE-SSH-001", "precondition"), r
                assert "connection.transport equal to 'ssh' does not hold" in r["message"]


def test_reasons_name_the_licence_and_the_permission(run: Run) -> None:
    res = _results(run.doc, "no-p1-perms")
    for rid in ("CL-ENT-001", "CL-ENT-006", "CL-ENT-007"):
        assert "UserAuthenticationMethod.Read.All" in res[rid]["message"], res[rid]
        assert "Entra ID P1 or P2" in res[rid]["message"], res[rid]
    assert "Entra ID P1 or P2" in res["CL-ENT-010"]["message"]
    msp = _results(run.doc, "msp-only")
    assert msp["CL-ENT-003"]["message"].startswith(
        "Your provider can administer your tenant and you cannot")


@pytest.mark.parametrize("machine", ["this-linux", "office-pc"])
def test_the_machines_get_the_cloud_rules_as_not_applicable(run: Run, machine: str) -> None:
    res = _results(run.doc, machine)
    cloud = {rid: r for rid, r in res.items() if rid.startswith("CL-")}
    assert len(cloud) == 21
    for r in cloud.values():
        assert (r["status"], r["na_reason"]) == (NA, "platform"), r
        assert "tenants" in r["message"] and "Linux host" in r["message"], r["message"]


def test_a_tenant_that_cannot_sign_in_is_recorded_and_the_scan_goes_on(run: Run) -> None:
    ghost = next(h for h in run.doc["hosts"] if h["name"] == GHOST)
    assert not ghost["reachable"]
    assert ghost["error_kind"] == "auth"
    assert GHOST_ID in ghost["error"] and "AADSTS90002" in ghost["error"], ghost["error"]
    assert "check tenant_id" in ghost["error"]
    assert {"host": GHOST, "kind": "auth", "error": ghost["error"]} in run.doc["errors"]
    res = _results(run.doc, GHOST)
    ent = [r for rid, r in res.items() if rid.startswith("CL-ENT-")]
    assert len(ent) == 12 and {r["status"] for r in ent} == {E}  # no pass on missing data
    assert all(ghost["error"] in r["message"] for r in ent)
    # the machine nobody answers on is recorded too, and the rest were judged all the same
    pc = next(h for h in run.doc["hosts"] if h["name"] == "office-pc")
    assert not pc["reachable"] and pc["error"]
    assert _results(run.doc, "google-pass")["CL-GWS-001"]["status"] == P


def test_only_get_reaches_a_tenant(run: Run) -> None:
    methods = {m for m, _ in run.server.log}
    assert methods <= {"GET", "POST"}, methods
    posts = [p for m, p in run.server.log if m == "POST"]
    assert posts and all(p.endswith("/oauth2/v2.0/token") or p == "/google/token"
                         for p in posts), posts
    gets = [p for m, p in run.server.log if m == "GET"]
    assert sum(p.startswith("/v1.0/") for p in gets) > 20
    assert any(p.startswith("/admin/directory/v1/") for p in gets)


def _secrets(run: Run) -> list[str]:
    found = list(run.server.tokens)
    assert found, "the servers issued tokens"
    found.append(PASSPHRASE)
    for key in run.keys:
        text = key.read_text(encoding="utf-8")
        if key.suffix == ".json":
            text = json.loads(text)["private_key"]
        body = [ln for ln in text.splitlines() if ln and not ln.startswith("-----")]
        found += body[1:4]  # lines of the key's own material
    return found


def test_no_secret_in_any_output_or_the_history(run: Run) -> None:
    outputs = {p.name: p.read_bytes() for p in run.out.iterdir()}
    assert set(outputs) == {"report.txt", "result.json", "report.html", "summary.html",
                            "report.md", "results.csv", "junit.xml"}, set(outputs)
    con = sqlite3.connect(run.db)
    values: list[str] = []
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        for t in tables:
            for row in con.execute(f"select * from {t}"):  # noqa: S608 - the db's own tables
                for v in row:
                    if isinstance(v, bytes):  # large blobs are zlib-compressed
                        with contextlib.suppress(zlib.error):
                            v = zlib.decompress(v)
                        v = v.decode("utf-8", "replace")
                    values.append(str(v))
    finally:
        con.close()
    dump = "\n".join(values)
    assert "msp-only" in dump and "CL-ENT-003" in dump  # the history holds the tenants
    blobs = {**{k: v.decode("utf-8") for k, v in outputs.items()}, "history": dump,
             "stderr": run.stderr}
    for secret in _secrets(run):
        for where, text in blobs.items():
            assert secret not in text, f"a secret in {where}"
    for where, text in blobs.items():
        assert "PRIVATE KEY" not in text, where
        assert "Bearer " not in text, where


def test_every_format_reports_the_tenants(run: Run) -> None:
    text = {p.name: p.read_text(encoding="utf-8") for p in run.out.iterdir()}
    for name in ("report.txt", "report.html", "results.csv", "junit.xml"):
        for tenant in ("this-linux", *ENTRA, GHOST, *GOOGLE):
            assert tenant in text[name], (name, tenant)
    # the markdown (a ticket or a chat message) has the findings and what was not reached
    for tenant in ("msp-only", "no-p1-perms", GHOST, "google-fail"):
        assert tenant in text["report.md"], tenant
    assert "8 systems" in text["report.md"]
    # the one-page summary: the systems counted, what to ask for first, what was not reached
    assert "8 systems" in text["summary.html"]
    words = " ".join(re.sub(r"<[^>]+>", " ", text["summary.html"]).split())
    assert "MFA is not required of every user (msp-only" in words
    assert "ghost-tenant" in text["summary.html"]
    # a failing tenant's finding in words, in the reports a person reads
    for name in ("report.txt", "report.html", "report.md"):
        assert "You have no Global Administrator account of your own" in text[name], name
    rows = [ln.split(",") for ln in text["results.csv"].splitlines()]
    assert any("msp-only" in r and "CL-ENT-003" in r and "fail" in r for r in rows)
    suites = ET.fromstring(text["junit.xml"])  # noqa: S314 - our own output
    failed = [c.get("name", "") for c in suites.iter("testcase")
              if c.find("failure") is not None and "msp-only" in (c.get("classname", "")
                                                                   + c.get("name", ""))]
    assert failed, "the failing tenant's rules are JUnit failures"
    # the access view: who can administer each tenant, beside the machines
    assert "msp-admin@greenfieldschool.onmicrosoft.com" in text["report.html"]


def test_history_records_the_tenants_like_hosts(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "from-history.json"
    code = main(["report", "--db", str(run.db), "-f", "json", "-o", str(out)])
    assert code in (0, 1)
    doc = json.loads(out.read_text(encoding="utf-8"))
    names = {h["name"] for h in doc["hosts"]}
    assert {*ENTRA, GHOST, *GOOGLE} <= names
    again = {(r["host"], r["rule"]): r["status"] for r in doc["results"]}
    first = {(r["host"], r["rule"]): r["status"] for r in run.doc["results"]}
    assert again == first


def test_validate_and_inventory_know_tenants(run: Run, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    inv = run.folder / "inventory.yaml"
    assert main(["validate", str(inv)]) == 0
    assert "2 hosts, 6 tenants" in capsys.readouterr().out
    assert main(["inventory", str(inv), "--list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    school = listed["tenants"]["school-sd"]
    assert school["platform"] == "m365" and school["auth"] == "certificate"
    assert school["private_key_passphrase_env"] == PASS_ENV
    assert school["private_key_file"] == str(run.folder / "school-sd.key")
    assert "service_account_file" not in school
    assert listed["tenants"]["google-pass"]["service_account_file"].endswith("google-pass.json")
    assert main(["inventory", str(inv), "--host", "google-fail"]) == 0
    assert json.loads(capsys.readouterr().out)["platform"] == "google-workspace"


@pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"),
                    reason="needs Debian's chromium package (apt-get install chromium)")
def test_the_html_report_in_chromium(run: Run) -> None:
    """The report as a person sees it (offline Chromium): the tenants beside the machine, and
    who can administer each; a screenshot is kept under artifacts/ to look at."""
    from tests.unit.reports.test_report_html import ARTIFACTS, Browser, _proxy_trap

    url = (run.out / "report.html").as_uri()
    srv, _ = _proxy_trap()
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(profile, srv.getsockname()[1])
        try:
            target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = b.call("Target.attachToTarget",
                             {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Network"):
                b.call(f"{domain}.enable", session=session)
            b.call("Page.navigate", {"url": url}, session=session)
            b.wait_for("Page.loadEventFired")
            b.drain(0.5)
            info = b.call("Runtime.evaluate", {"returnByValue": True, "expression": """({
                text: document.body.innerText,
                width: document.documentElement.scrollWidth,
                access: [...document.querySelectorAll('h2')].filter(
                    h => h.innerText.startsWith('Who can administer'))
                    .map(h => h.getBoundingClientRect().top + window.scrollY)[0]})"""},
                session=session)["result"]["value"]
            metrics = b.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
            ARTIFACTS.mkdir(exist_ok=True)
            # the top of the report, and who can administer each machine and tenant
            for name, top in (("report-tenants.png", 0), ("report-tenants-access.png",
                                                          info["access"] or 0)):
                shot = b.call("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": top, "width": metrics["width"],
                             "height": min(metrics["height"] - top, 2400), "scale": 1}},
                    session=session)
                (ARTIFACTS / name).write_bytes(base64.b64decode(shot["data"]))
        finally:
            b.close()
            srv.close()
    text = info["text"]
    assert info["width"] <= 1100
    for name in ("this-linux", "office-pc", *ENTRA, GHOST, *GOOGLE):
        assert name in text, name
    assert "Your provider can administer your tenant and you cannot" in text
    assert info["access"], "the access view (who can administer each system) is in the report"
    # who can administer the machine, beside who can administer each tenant
    access = text[text.index("Who can administer each system"):]
    assert "this-linux" in access and "Cloud tenants" in access
    assert access.index("this-linux") < access.index("Cloud tenants")
    requests = [e["params"]["request"]["url"] for e in b.events
                if e.get("method") == "Network.requestWillBeSent"]
    assert requests == [url], requests


# -- the tenants section as the inventory's: validate says what scan would refuse ---------------

def _write(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


GOOD = {"platform": "m365", "tenant_id": "7c1e4b9a-0d2f-4a8e-9b61-3f5d2c8a1e07",
        "client_id": "0f6e2d41-8b3a-4c5d-9e7f-1a2b3c4d5e6f", "certificate_file": "k.crt",
        "private_key_file": "k.key", "client_admins": ["head@school.example"]}


@pytest.mark.parametrize(("tenant", "line"), [
    ({**GOOD, "platform": "m356"},
     "tenants.school.platform: is 'm356' (did you mean 'm365'?), expected one of m365, "
     "google-workspace"),
    ({**GOOD, "client_secret": "abc"},
     "tenants.school.client_secret: secrets are never written in the inventory"),
    ({**GOOD, "tenant_id": "not a tenant"},
     "tenants.school.tenant_id: is 'not a tenant', expected the directory (tenant) id"),
    ({**GOOD, "private_key_passphrase_env": "UNDONE_SIGNING_KEY_PASSPHRASE"},
     "tenants.school.private_key_passphrase_env: UNDONE_SIGNING_KEY_PASSPHRASE is one of "
     "undone's own variables"),
    ({**GOOD, "provider_admins": ["head@school.example"]},
     "tenants.school: head@school.example in both client_admins and provider_admins"),
])
def test_a_bad_tenant_is_one_line_and_exit_2_in_validate_and_scan(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], tenant: dict[str, Any],
        line: str) -> None:
    inv = _write(tmp_path, {"all": {"hosts": {"pc": {"address": "127.0.0.1"}}},
                            "tenants": {"school": tenant}})
    expected = f"{inv}: {line}"
    assert main(["validate", str(inv)]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err
    assert main(["scan", str(inv), "--no-history", "-q"]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert len([ln for ln in err.splitlines() if "tenants.school" in ln]) == 1
    if "client_secret" in line:
        assert "abc" not in err  # the value of a key named like a secret is never shown


def test_an_inventory_of_tenants_only_and_their_waivers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waiver = {"rule": "CL-ENT-004", "hosts": ["school"], "reason": "two admins agreed",
              "approved_by": "Head", "expires": "2027-06-30"}
    inv = _write(tmp_path, {"tenants": {"school": GOOD}, "waivers": [waiver]})
    assert main(["validate", str(inv)]) == 0, capsys.readouterr().err
    assert "valid inventory (0 hosts, 1 tenants)" in capsys.readouterr().out
    bad = _write(tmp_path, {"tenants": {"school": GOOD},
                            "waivers": [{**waiver, "hosts": ["schol"]}]})
    assert main(["validate", str(bad)]) == 2
    assert "names unknown host 'schol'" in capsys.readouterr().err
    empty = _write(tmp_path, {"tenants": {}})
    assert main(["validate", str(empty)]) == 2
    assert "or a tenant under tenants" in capsys.readouterr().err
    clash = _write(tmp_path, {"all": {"hosts": {"school": {"address": "127.0.0.1"}}},
                              "tenants": {"school": GOOD}})
    assert main(["validate", str(clash)]) == 2
    assert "tenants.school: the same name as a host" in capsys.readouterr().err


def test_an_ansible_group_called_tenants_stays_a_group(tmp_path: Path) -> None:
    from scanner import inventory

    inv = inventory.parse({"all": {"children": {"tenants": {}}},
                           "tenants": {"hosts": {"flat-3": {"ansible_host": "127.0.0.1"}}}},
                          str(tmp_path / "inventory.yaml"))
    assert [h.name for h in inv.hosts] == ["flat-3"] and inv.tenants == ()


def test_the_example_inventorys_tenants_block_is_valid() -> None:
    """inventory.example.yaml's commented tenants block, uncommented, is a valid section."""
    from scanner.inventory.tenants import parse_tenants

    lines = (Path(__file__).parents[4] / "inventory.example.yaml").read_text(
        encoding="utf-8").splitlines()
    start = lines.index("# tenants:")
    block = []
    for ln in lines[start:]:
        if not ln.startswith("#"):
            break
        block.append(ln[2:])
    got = parse_tenants(yaml.safe_load("\n".join(block))["tenants"], "inventory.example.yaml")
    assert [(t.name, t.platform) for t in got] == [("school-m365", "m365"),
                                                   ("acme-google", "google-workspace")]


def test_a_sign_in_endpoint_that_does_not_answer(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens: the tenant is recorded as unreachable with the endpoint named, every
    rule of its platform is an error with that reason, and the scan's exit code says so."""
    key_folder = tmp_path / "keys"
    key_folder.mkdir()
    cert, key = cs.make_app_certificate(key_folder, "school")
    tenant = {**GOOD, "certificate_file": str(cert), "private_key_file": str(key)}
    inv = _write(tmp_path, {"tenants": {"school": tenant}})
    closed = "https://127.0.0.1:9"
    monkeypatch.setattr(cloud_collect, "default_options", lambda now=None: cloud_collect.Options(
        login_url=closed, graph_url=closed, request_timeout=5, sleep=lambda s: None))
    out = tmp_path / "result.json"
    code = main(["scan", str(inv), "--no-history", "-q", "-f", "json", "-o", str(out)])
    doc = json.loads(out.read_text(encoding="utf-8"))
    (rec,) = doc["hosts"]
    assert (rec["name"], rec["reachable"], rec["error_kind"]) == ("school", False, "unreachable")
    assert f"sign-in endpoint {closed} did not answer" in rec["error"]
    ent = [r for r in doc["results"] if r["rule"].startswith("CL-ENT-")]
    assert len(ent) == 12 and all(r["status"] == E and rec["error"] in r["message"] for r in ent)
    assert code == doc["summary"]["exit_code"] != 0


def test_a_stopped_scan_reads_no_further_tenant() -> None:
    """Stopped (Ctrl-C, SIGTERM): the tenants not read come back as interrupted, never judged."""
    import threading

    from scanner.inventory.tenants import parse_tenants

    tenants = list(parse_tenants({"a": GOOD, "b": GOOD}, "inventory.yaml"))
    stop = threading.Event()
    stop.set()
    seen: list[dict[str, Any]] = []
    got = cloud_collect.collect_tenants(tenants, cloud_collect.Options(), seen.append, stop)
    assert [(r["name"], r["error_kind"]) for r in got] == [("a", "interrupted"),
                                                          ("b", "interrupted")]
    assert seen == []
