"""Console report: a failing result says since when, when it was due, how overdue, whether it
came back, and any expired waiver."""

from __future__ import annotations

import io

from reports import console
from tests.unit.reports.test_reports import doc


def test_lifecycle_and_expired_waiver_lines() -> None:
    d = doc(message="sshd.permitrootlogin is 'yes'")
    d["results"][0].update(first_seen="2026-10-01T08:00:00Z", due="2026-10-15", overdue_days=38,
                           reopened=True,
                           waiver_expired={"reason": "legacy\x1b[2J", "approved_by": "Head",
                                           "expires": "2026-09-30"})
    buf = io.StringIO()
    console.render(d, buf, width=120, color=False)
    text = buf.getvalue()
    assert "since 2026-10-01, due 2026-10-15, 38 days overdue; came back after being fixed" in text
    assert "waiver expired 2026-09-30 (approved by Head): legacy" in text
    assert "\x1b" not in text


def test_no_lifecycle_line_without_history() -> None:
    buf = io.StringIO()
    console.render(doc(message="x"), buf, width=120, color=False)
    assert "since " not in buf.getvalue()
