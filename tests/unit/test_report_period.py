"""The contract-period report rendered from a history: every format, escaped."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from reports import period
from scanner.history import History
from tests.unit.test_history import T0, scan


def build(tmp_path: Path) -> dict[str, Any]:
    h = History(tmp_path / "h.sqlite")
    r = "CE-SU-001"
    facts = {"<i>a</i>": {"patch.recent": [{"at": "2026-01-20T10:00:00Z", "upgraded": 4}]}}
    for day in range(0, 90, 7):
        status = "fail" if day < 21 or day > 60 else "pass"
        scan(h, {("<i>a</i>", r): status, ("b", r): "pass", ("b", "CE-SC-001"): "fail"}, day,
             facts=facts)
    p = h.period(date(2026, 1, 1), date(2026, 3, 31), now=T0 + timedelta(days=90))
    h.close()
    return p


def test_period_renders_in_every_format(tmp_path: Path) -> None:
    p = build(tmp_path)
    out = {}
    for fmt in ("console", "markdown", "html", "json"):
        buf = io.StringIO()
        period.render(p, buf, fmt, color=False, width=120)
        out[fmt] = buf.getvalue()
    assert "Contract review" in out["html"] and "<i>a</i>" not in out["html"]
    assert "&lt;i&gt;a&lt;/i&gt;" in out["html"] and "<script" not in out["html"]
    assert out["html"].count("<svg") >= 3
    assert "| 2026-02 |" in out["markdown"]
    assert "Maintenance per host" in out["console"]
    assert "mostly reactive" in out["console"]  # a's only patch run came while a finding was open
    assert '"schema": "undone.period/1"' in out["json"]


def test_verdicts() -> None:
    assert period.verdict({}) == "no maintenance recorded"
    assert period.verdict({"patch": {"proactive": 4, "reactive": 1}}) == "mostly proactive"
    assert period.verdict({"patch": {"proactive": 1, "reactive": 1}}) == "mixed"
