"""Console and JSON reports: rendered from the result document only, target text neutralised."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema

from reports import clean, console, jsonout

SCHEMA = json.loads((Path(__file__).parents[3] / "scanner" / "schema" /
                     "scan.schema.json").read_text())
HOSTILE = "\x1b[2J\x1b]0;pwned\x07[bold red]<script>alert(1)</script>\r\x08"


def doc(status: str = "fail", message: str = HOSTILE, host: str = "web1") -> dict[str, Any]:
    return {
        "schema": "undone.scan/1",
        "tool": {"name": "undone", "version": "0.1.0"},
        "scan": {"id": "20261122T000000Z-abc123", "started_at": "2026-11-22T00:00:00Z",
                 "finished_at": "2026-11-22T00:00:05Z", "inventory": "inv.yaml",
                 "estate": {"client": "School", "provider": "MSP"},
                 "baselines": [{"name": "cyber-essentials", "version": "1", "sha256": "0" * 64}]},
        "rules": {"CE-SC-001": {"title": "SSH does not accept root logins", "control":
                                "secure-configuration", "severity": "high",
                                "remediation": "Set PermitRootLogin no."}},
        "hosts": [{"name": host, "address": "192.0.2.1", "transport": "ssh", "platform": "linux",
                   "reachable": True, "error": None, "facts": {"os.pretty_name": HOSTILE},
                   "fact_errors": {}, "sections": {}}],
        "results": [{"host": host, "rule": "CE-SC-001", "title": "SSH does not accept root logins",
                     "control": "secure-configuration", "severity": "high", "owner": "provider",
                     "status": status, "observed": {"sshd.permitrootlogin": HOSTILE},
                     "expected": "sshd.permitrootlogin one of ['no']", "message": message,
                     "evidence": ["posix.sshd"], "first_seen": None, "due": None,
                     "overdue_days": None}],
        "summary": {"by_status": {status: 1}, "by_control": {"secure-configuration": {status: 1}},
                    "hosts_total": 1, "hosts_unreachable": 0, "exit_code": 1},
    }


def test_clean_strips_escapes_and_controls() -> None:
    out = clean(HOSTILE)
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\x08" not in out
    assert "<script>" in out and "[bold red]" in out


def test_console_shows_no_escape_sequences_from_targets() -> None:
    for color in (True, False):
        buf = io.StringIO()
        console.render(doc(), buf, width=120, color=color)
        text = buf.getvalue()
        assert "]0;pwned" not in text and "\x1b[2J" not in text and "\x07" not in text
        assert "[bold red]" in text  # shown literally, not interpreted as markup
        assert "Set PermitRootLogin no." in text
        assert "Exit code 1" in text


def test_console_groups_by_control_and_says_what_to_do() -> None:
    buf = io.StringIO()
    console.render(doc(message="sshd.permitrootlogin is 'yes'"), buf, width=120, color=False)
    text = buf.getvalue()
    assert "Secure configuration" in text
    assert "FAIL" in text and "CE-SC-001" in text
    assert "why: sshd.permitrootlogin is 'yes'" in text
    assert "do:  Set PermitRootLogin no." in text
    assert "School / MSP" in text


def test_json_round_trips_and_matches_schema() -> None:
    buf = io.StringIO()
    jsonout.render(doc(), buf)
    back = json.loads(buf.getvalue())
    assert back["results"][0]["message"] == HOSTILE
    jsonschema.validate(back, SCHEMA)
    assert "\x1b" not in buf.getvalue()  # control characters are escaped as \\u001b


def test_schema_rejects_a_bad_status() -> None:
    d = doc()
    d["results"][0]["status"] = "warn"
    try:
        jsonschema.validate(d, SCHEMA)
    except jsonschema.ValidationError:
        return
    raise AssertionError("schema accepted an unknown status")
