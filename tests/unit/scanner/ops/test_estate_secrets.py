"""Secrets stay with their estate (issue 15, L2) and credentials written into backup repository
strings never leave the scanner (L7).

L2: an inventory could name any environment variable of the scanner as a host's password, and
its value was sent to that host: undone's own evidence-signing passphrase, or in a folder run
another client's password. L7: a repository such as ``rest:https://user:password@nas/repo`` was
masked in some places and copied verbatim into the evidence bundle's inventory."""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.parse
import zipfile
from pathlib import Path

import pytest
import yaml

from scanner import inventory
from scanner.cli.app import main
from scanner.ops import envpolicy
from scanner.redact import Redactor, credentials, mask_text
from tests.unit.scanner.ops.test_notify import BASELINE
from tests.unit.scanner.ops.test_outputs import one_line

BACKUP_BASELINE = """
baseline: {name: backup-test, version: "1", title: Backup test, id_prefix: BT}
rules:
  - id: BT-BK-001
    title: At least one backup repository is known
    control: backup
    severity: high
    requires: [posix.backup]
    check: {fact: backup.count, ge: 1}
    rationale: A machine whose backups nobody can name cannot be restored.
    remediation: Declare the backups in the inventory, or set them up.
    references: {}
"""


def backups_inventory(path: Path, secret_env: str, prefix: str | None = None,
                      repositories: tuple[str, ...] = ("/srv/none",)) -> Path:
    doc: dict[str, object] = {"all": {"hosts": {"h1": {"transport": "local", "backups": [
        {"kind": "restic", "name": f"r{i}", "repository": repo, "password_env": secret_env}
        for i, repo in enumerate(repositories)]}}}}
    if prefix:
        doc["estate"] = {"client": "Acme", "env_prefix": prefix}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("UNDONE_"):
            monkeypatch.delenv(name)
    (tmp_path / "bl.yaml").write_text(BASELINE)
    (tmp_path / "backup.yaml").write_text(BACKUP_BASELINE)
    return tmp_path


# -- L2 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["UNDONE_SIGNING_KEY_PASSPHRASE", "UNDONE_SIGNING_KEY",
                                  "UNDONE_DB", "UNDONE_EVIDENCE_PUBLIC_KEY",
                                  "UNDONE_SIGNING_NEW_THING"])
def test_undones_own_variables_are_never_a_host_credential(
        here: Path, name: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The evidence key's passphrase named as a backup password was exported to the target's
    probe shell. Now the inventory is refused before anything runs."""
    monkeypatch.setenv("UNDONE_SIGNING_KEY_PASSPHRASE", "the-passphrase")
    inv = backups_inventory(here / "inv.yaml", name)
    assert main(["validate", str(inv)]) == 2
    one_line(capsys.readouterr().err,
             f"{inv}: all.hosts.h1.backups[0].password_env: {name} is one of undone's own")
    assert main(["scan", str(inv), "-b", str(here / "backup.yaml"), "--no-history", "-q"]) == 2
    one_line(capsys.readouterr().err, "is one of undone's own variables")
    assert "the-passphrase" not in capsys.readouterr().out


def test_notification_variables_are_checked_too(here: Path) -> None:
    inv = inventory.parse({"all": {"hosts": {"h1": {"transport": "local"}}}, "notify": {
        "webhook": {"url": "https://hooks.example/x", "headers_env": "UNDONE_SIGNING_KEY_"
                                                                      "PASSPHRASE"}}}, "n.yaml")
    assert envpolicy.check(inv, "n.yaml") == [
        "n.yaml: notify.webhook.headers_env: UNDONE_SIGNING_KEY_PASSPHRASE is one of undone's "
        "own variables (its signing key, its settings), never a credential for a host or a "
        "channel; name the estate's own"]
    ordinary = backups_inventory(here / "ok.yaml", "UNDONE_OFFICE_PASSWORD")
    assert envpolicy.check(inventory.load(str(ordinary)), "ok.yaml") == []


def test_an_estate_prefix_is_an_allow_list(here: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    inv = backups_inventory(here / "inv.yaml", "AWS_SECRET_ACCESS_KEY", prefix="ACME_")
    assert main(["validate", str(inv)]) == 2
    one_line(capsys.readouterr().err, "AWS_SECRET_ACCESS_KEY is not one of this estate's "
                                      "variables (they begin with ACME_: estate.env_prefix)")
    ok = backups_inventory(here / "ok.yaml", "ACME_RESTIC_PW", prefix="ACME_")
    assert main(["validate", str(ok)]) == 0
    for bad in ("1X", "A B", "X" * 80):
        inv = backups_inventory(here / "p.yaml", "ACME_PW", prefix=bad)
        assert main(["validate", str(inv)]) == 2, bad
        one_line(capsys.readouterr().err, "estate.env_prefix")


def _estate(folder: Path, key: str, secret_env: str, extra: str = "") -> None:
    (folder / f"{key}.yaml").write_text(
        f"estate: {{client: {key}}}\nall:\n  hosts:\n    {key}-h1:\n      transport: local\n"
        f"      backups:\n        - {{kind: restic, repository: /srv/none, "
        f"password_env: {secret_env}}}\n{extra}")


def test_in_a_folder_run_one_estates_secret_never_reaches_another_estates_host(
        here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = here / "clients"
    folder.mkdir()
    shared = "notify: {email: {to: [a@b.example], from: u@msp.example, smtp_host: 127.0.0.1, " \
             "username_env: MSP_SMTP_USER, password_env: MSP_SMTP_PW}}\n"
    _estate(folder, "acme", "ACME_RESTIC_PW", shared)
    _estate(folder, "acme-dental", "ACME_DENTAL_RESTIC_PW", shared)
    _estate(folder, "bravo", "ACME_RESTIC_PW", shared)  # acme's secret, for bravo's host
    _estate(folder, "charlie", "ACME_DENTAL_PW")  # acme-dental's, not acme's
    _estate(folder, "delta", "SOMEONE_ELSES_PW")  # nobody's: not delta's either
    out = here / "out"
    code = main(["scan", str(folder), "--output", str(out), "--db", str(here / "db"), "-b",
                 str(here / "bl.yaml"), "--quiet", "--no-notify"])
    rows = {e["key"]: e for e in json.loads((out / "index.json").read_text())["estates"]}
    assert {k: e["status"] for k, e in rows.items()} == {
        "acme": "scanned", "acme-dental": "scanned", "bravo": "invalid", "charlie": "invalid",
        "delta": "invalid"}
    assert rows["bravo"]["problems"] == [
        f"{folder}/bravo.yaml: all.hosts.bravo-h1.backups[0].password_env: ACME_RESTIC_PW "
        "belongs to estate acme (its variables begin with ACME_); this estate's begin with "
        "BRAVO_"]
    assert "belongs to estate acme-dental (its variables begin with ACME_DENTAL_)" in \
        rows["charlie"]["problems"][0]
    assert "SOMEONE_ELSES_PW is not one of this estate's variables (they begin with DELTA_" in \
        rows["delta"]["problems"][0]
    assert code == 2


def test_prefix_rules() -> None:
    assert envpolicy.default_prefix("acme-dental.co") == "ACME_DENTAL_CO_"
    assert envpolicy.folder_prefixes([("a", None), ("b", None)]) == {"a": "A_", "b": "B_"}


# -- L7 ----------------------------------------------------------------------------------------

SECRETS = ("S3cr3t-PW/42@x", "Zz9SeCrEtKeY", "ghp_T0kenAsUser99", "B0rgPassw0rd")
REPOSITORIES = (
    "rest:https://backup:S3cr3t-PW/42@x@127.0.0.1:9/pc01",
    "s3:https://127.0.0.1:9/bucket?access_key=AKIA0000&secret_key=Zz9SeCrEtKeY",
    "rest:https://ghp_T0kenAsUser99@127.0.0.1:9/repo",
    "rest:https://backup:B0rgPassw0rd@127.0.0.1:9/other",
)


def _forms(secret: str) -> list[bytes]:
    return [f.encode() for f in {secret, urllib.parse.quote(secret, safe=""),
                                 json.dumps(secret)[1:-1]}]


def test_credentials_in_repository_strings_are_in_no_output(
        here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Every output of a scan whose backups were read: the result document, the reports rebuilt
    from the history, the history file itself, every member of the evidence bundle (its copy of
    the inventory included), and what was printed."""
    monkeypatch.setenv("ACME_RESTIC_PW", "restic-passphrase")
    inv = backups_inventory(here / "inv.yaml", "ACME_RESTIC_PW", repositories=REPOSITORIES)
    key = here / "k.pem"
    assert main(["evidence", "keygen", str(key)]) == 0
    db = here / "h.sqlite"
    assert main(["scan", str(inv), "-b", str(here / "backup.yaml"), "--db", str(db), "-f",
                 "json", "-o", str(here / "r.json"), "--signing-key", str(key), "--evidence",
                 str(here / "ev.zip")]) in (0, 1, 3)
    for fmt in ("html", "csv", "markdown", "junit", "json"):
        assert main(["report", "--db", str(db), "-f", fmt, "-o", str(here / f"rb.{fmt}")]) == 0
    printed = capsys.readouterr()
    blobs = {p.name: p.read_bytes() for p in here.iterdir() if p.is_file()
             and p.suffix in (".json", ".html", ".csv", ".markdown", ".junit", ".sqlite")}
    with sqlite3.connect(db) as c:
        blobs["dump"] = "\n".join(c.iterdump()).encode()
    with zipfile.ZipFile(here / "ev.zip") as z:
        blobs.update({f"ev:{n}": z.read(n) for n in z.namelist()})
    blobs["printed"] = (printed.out + printed.err).encode()
    assert "ev:inventory/inv.yaml" in blobs and "ev:sections/h1/posix.backup.out" in blobs
    leaks = [(name, s) for name, data in blobs.items() for s in SECRETS
             for form in _forms(s) if form in data]
    assert leaks == []
    copy = yaml.safe_load(blobs["ev:inventory/inv.yaml"])  # still an inventory
    repos = [b["repository"] for b in copy["all"]["hosts"]["h1"]["backups"]]
    assert repos == ["rest:https://backup:***@127.0.0.1:9/pc01",
                     "s3:https://127.0.0.1:9/bucket?access_key=***&secret_key=***",
                     "rest:https://***@127.0.0.1:9/repo",
                     "rest:https://backup:***@127.0.0.1:9/other"]
    doc = json.loads(blobs["r.json"])
    facts = doc["hosts"][0]["facts"]["backup.repositories"]
    assert [r["repository"] for r in facts][:2] == repos[:2]


@pytest.mark.parametrize(("text", "masked"), [
    ("rest:https://u:pw-123@nas:8000/r", "rest:https://u:***@nas:8000/r"),
    ("https://TOKEN123@host/r", "https://***@host/r"),
    ("ssh://borg@host:22/./repo", "ssh://borg@host:22/./repo"),  # a login name, not a secret
    ("sftp:user@host:/srv/restic", "sftp:user@host:/srv/restic"),
    ("s3:https://h/b?X-Amz-Signature=abcd&region=eu", "s3:https://h/b?X-Amz-Signature=***&"
                                                      "region=eu"),
    ('"https://u:pw@h", next', '"https://u:***@h", next'),
])
def test_mask_text(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_redactor_masks_known_credentials_anywhere() -> None:
    r = Redactor(["rest:https://backup:p@ss/w0rd@nas/x", "s3:https://h/b?secret_key=ab%2Fcd"])
    assert credentials("rest:https://backup:p@ss/w0rd@nas/x") == {"p@ss/w0rd"}
    doc = {"error": "restic said: wrong password p@ss/w0rd", "list": ["key ab/cd here"],
           "p@ss/w0rd": 1}
    assert r.value(doc) == {"error": "restic said: wrong password ***",
                            "list": ["key *** here"], "***": 1}


def test_the_redactor_edits_nothing_in_place() -> None:
    """Evaluation's records are never edited after evaluation (issue 17): the redactor gives
    masked copies along the path to what it masked, and shares (or returns) what is clean."""
    r = Redactor(["rest:https://backup:p@ss/w0rd@nas/x"])
    clean = {"evidence": ["borg list ok"], "n": 3}
    results = [{"rule": "PM-BAK-001", "observed": {"repo": "rest:https://backup:p@ss/w0rd@nas/x"},
                "evidence": clean["evidence"]}, clean]
    before = repr(results)
    out = r.value(results)
    assert repr(results) == before  # the input is as it was
    assert out[0]["observed"]["repo"] == "rest:https://backup:***@nas/x"
    assert out[0]["evidence"] is clean["evidence"] and out[1] is clean  # clean parts shared
    assert r.value(clean) is clean


# -- L4: a secret written into a *_env key --------------------------------------------------------

def test_a_secret_written_as_a_variable_name_is_in_no_output(
        here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The community string (or password) written into ``community_env`` / ``password_env``
    instead of a variable's name: when it looks like a name, validation cannot tell, and the
    host's error used to repeat it ("environment variable c0mmunitySecret (community_env) is not
    set") into the result, reports, the history and notifications. Now the error names the key,
    never its value. A loopback SSH server and an SNMP device on 127.0.0.1 (nothing is sent to
    it: the credentials are refused first); a backup's password_env likewise."""
    from tests.sshserver import SSHServer, serving

    secrets = ("Winter2026", "c0mmunitySecret", "BackupPassw0rd")
    with serving(SSHServer("empty", passwords={"root": "pw"})) as srv:
        kh = here / "known_hosts"
        kh.write_text(srv.known_hosts_line() + "\n")
        inv = here / "inv.yaml"
        inv.write_text(json.dumps({"all": {"hosts": {
            "web": {"address": "127.0.0.1", "port": srv.port, "user": "root",
                    "password_env": secrets[0], "known_hosts": str(kh)},
            "sw": {"address": "127.0.0.1", "transport": "snmp", "community_env": secrets[1]},
            "here": {"transport": "local", "backups": [
                {"kind": "restic", "name": "r", "repository": "/srv/none",
                 "password_env": secrets[2]}]}}}}))
        out, db = here / "scan.json", here / "h.sqlite"
        code = main(["scan", str(inv), "-b", str(here / "bl.yaml"), "-b",
                     str(here / "backup.yaml"), "--format", "json", "-o", str(out),
                     "--db", str(db)])
    assert code in (1, 3)
    doc = json.loads(out.read_text())
    hosts = {h["name"]: h for h in doc["hosts"]}
    assert "password_env is not set" in hosts["web"]["error"]
    assert "community_env is not set" in hosts["sw"]["error"]
    backup = json.dumps(hosts["here"])
    assert "password_env is not set" in backup
    printed = capsys.readouterr()
    dump = "\n".join(sqlite3.connect(db).iterdump())
    for secret in secrets:
        for where, text in (("result", out.read_text()), ("stderr", printed.err),
                            ("stdout", printed.out), ("history", dump)):
            assert secret not in text, (secret, where)
