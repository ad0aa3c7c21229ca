"""Markdown report: short, ordered like the HTML, and target text cannot format or inject."""

from __future__ import annotations

import io
from typing import Any

from reports import markdown
from tests.unit.reports.test_reports import doc


def render(d: dict[str, Any]) -> str:
    buf = io.StringIO()
    markdown.render(d, buf)
    return buf.getvalue()


def test_items_with_meaning_and_what_to_ask() -> None:
    d = doc(message="sshd.permitrootlogin is 'yes'")
    d["scan"]["estate"]["provider"] = "Acme IT"
    d["rules"]["CE-SC-001"]["rationale"] = "A guessed root password gives away the machine."
    d["results"][0].update(first_seen="2026-10-01T08:00:00Z", due="2026-10-15", overdue_days=38)
    text = render(d)
    assert text.startswith("# What Acme IT has left undone\n")
    assert "**Acme IT has 1 item left undone on 1 computer; 1 overdue, the oldest by 38 days.**" \
        in text
    assert "### Not done: SSH does not accept root logins" in text
    assert "**overdue by 38 days**" in text
    assert "- **What it means:** A guessed root password gives away the machine." in text
    assert "- **What to ask for:** Ask Acme IT to do this: Set PermitRootLogin no." in text


def test_hostile_text_is_neutralised() -> None:
    evil = "<img src=x onerror=alert(1)>\n# Heading\n| a | b |\n[link](http://192.0.2.9) *x*"
    d = doc(message=evil, host="web|1")
    text = render(d)
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "\n# Heading" not in text  # no line of its own
    assert "\\[link\\](http://192.0.2.9) \\*x\\*" in text
    assert "web\\|1" in text
    assert "\x1b" not in text


def test_each_computer_says_what_does_not_apply_there_and_why() -> None:
    """Nothing vanishes in a ticket either: per computer, how many rules do not apply and why,
    naming the rules its role left out (as the console's line under each host)."""
    d = doc(message="sshd.permitrootlogin is 'yes'")
    base = d["results"][0]
    for rule, reason, message in (
            ("CE-WIN-001", "platform", "does not apply: a rule for Windows; this is a Linux host"),
            ("CE-WIN-002", "platform", "does not apply: a rule for Windows; this is a Linux host"),
            ("PM-BAK-001", "role", "does not apply: a rule for hosts with the role server; the "
                                   "inventory gives this host the role endpoint"),
            ("PM-BAK-002", "precondition", "does not apply: backup.count at least 1 does not "
                                           "hold")):
        d["results"].append({**base, "rule": rule, "status": "not_applicable",
                             "na_reason": reason, "message": message, "first_seen": None,
                             "due": None, "overdue_days": None})
    out = render(d)
    assert "## Not checked here (does not apply)" in out
    assert ("| web1 | 4 rules | 2 for other systems, 1 with a precondition not met, 1 for "
            "other roles: PM-BAK-001 |") in out
