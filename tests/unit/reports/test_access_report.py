"""The "access" view (reports/access.py): per system, who can administer it, client or
provider; built from facts the accounts parser derives from recorded outputs."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from probes.base import RawSection
from probes.posix import accounts
from reports import access, console
from tests.unit.reports.test_reports import doc

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "posix" / "accounts"
AT = datetime(2026, 11, 22, 0, 55, 39, tzinfo=UTC)


def host(name: str, case: str, config: dict[str, Any]) -> dict[str, Any]:
    f = accounts.parse(RawSection("posix.accounts", (FIXTURES / f"{case}.out").read_text(),
                                  collected_at=AT, config=config))
    return {"name": name, "address": "192.0.2.1", "transport": "ssh", "platform": "linux",
            "reachable": True, "error": None, "facts": f.values, "fact_errors": f.errors,
            "sections": {}}


def estate_doc() -> dict[str, Any]:
    d = doc(status="pass", message="")
    d["hosts"] = [
        host("web01", "debian12_root_access",
             {"client_admins": ["clientadmin"], "provider_admins": ["msp", "root"]}),
        host("db01", "debian12_root_access",
             {"client_admins": ["leaver"], "provider_admins": ["msp"]}),
        host("app01", "debian12_root_access", {"client_admins": ["clientadmin"]}),
        host("nobody01", "debian12_nobody_access",
             {"client_admins": ["clientadmin"], "provider_admins": ["msp"]}),
        host("plain01", "debian12_root", {}),
        {"name": "ghost", "reachable": False, "error": "connection refused", "facts": {},
         "fact_errors": {}},
    ]
    return d


def test_access_view_rows() -> None:
    rows = {r["host"]: r for r in access.access_view(estate_doc())}
    web = rows["web01"]
    assert web["verdict"] == "shared" and web["complete"] is True
    assert web["text"] == "You and your provider can both administer it"
    assert [e["name"] for e in web["client"]] == ["clientadmin"]
    assert [e["name"] for e in web["provider"]] == ["msp", "root"]
    assert [e["name"] for e in web["unknown"]] == [
        "contractor", "helpdesk", "leaver", "toor", "%itadmins"]
    assert web["client"][0]["last_login"] == "2026-11-22T00:55:39Z"
    db = rows["db01"]
    assert db["verdict"] == "provider-only"
    assert db["text"] == "Your provider can administer this system and you cannot"
    assert db["problems"] == ["leaver: the account is locked (its password field starts with '!')"]
    assert rows["app01"]["verdict"] == "client"  # no provider declared: the client's is usable
    nobody = rows["nobody01"]
    assert nobody["verdict"] == "unknown" and nobody["complete"] is False
    assert "not readable" in nobody["reason"]
    assert rows["plain01"]["verdict"] == "not-declared"
    assert rows["ghost"]["verdict"] == "not-scanned"
    assert rows["ghost"]["reason"] == "connection refused"


def test_console_shows_the_view_only_when_identities_are_declared() -> None:
    buf = io.StringIO()
    console.render(estate_doc(), buf, width=160, color=False)
    text = buf.getvalue()
    assert "Who can administer each system" in text
    assert "db01      Your provider can administer this system and you cannot" in text
    assert "why: leaver: the account is locked" in text
    assert "yours: clientadmin; provider's: msp, root (cannot log in)" in text
    assert text.index("Who can administer") < text.index("Summary:")
    buf = io.StringIO()
    console.render(doc(), buf, width=160, color=False)
    assert "Who can administer" not in buf.getvalue()


def test_hostile_names_are_cleaned() -> None:
    d = estate_doc()
    d["hosts"][0]["facts"]["access.admins"][0]["name"] = "evil\x1b[2J\x07"
    buf = io.StringIO()
    console.render(d, buf, width=160, color=True)
    assert "\x1b[2J" not in buf.getvalue() and "\x07" not in buf.getvalue()
