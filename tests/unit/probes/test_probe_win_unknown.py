"""Unknown is never a pass, for the Windows sections' JSON: every read of a recorded output turned
into an error record, the document cut at several points, and each read removed, never make a
rule that needs the section pass (judged with every shipped rule, as in
test_unknown_never_passes.py, whose block-based variants do not apply to JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.scanner.rules.test_unknown_never_passes import SECTIONS, _bad, judge

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "windows"
CASES = sorted((p.parent.name, p.stem) for p in FIXTURES.glob("*/*.out"))
ERROR = {"error": "Access denied ", "error_type": "Microsoft.Management.Infrastructure.CimException"}


def _variants(topic: str, name: str) -> list[tuple[str, str]]:
    text = (FIXTURES / topic / f"{name}.out").read_text(encoding="utf-8")
    doc = json.loads(text)
    compact = json.dumps(doc, separators=(",", ":"))
    out = [("every-read-failed", json.dumps({k: ERROR for k in doc}))]
    for key in doc:
        out.append((f"{key}-failed", json.dumps({**doc, key: ERROR})))
        out.append((f"{key}-missing", json.dumps({k: v for k, v in doc.items() if k != key})))
    for frac in (0.1, 0.5, 0.9, 0.99):
        out.append((f"cut-{int(frac * 100)}%", compact[: int(len(compact) * frac)]))
    out.append(("not-an-object", json.dumps([doc])))
    return out


@pytest.mark.parametrize(("topic", "name"), CASES, ids=[f"{t}/{n}" for t, n in CASES])
def test_unreadable_json_never_passes(topic: str, name: str) -> None:
    section = SECTIONS[f"windows.{topic}"]
    whole = {r["rule"]: r["status"] for r in judge(section, (FIXTURES / topic / f"{name}.out")
                                                   .read_text(encoding="utf-8"), {})}
    for label, stdout in _variants(topic, name):
        results = judge(section, stdout, {})
        if label.endswith(("-failed", "-missing")) and label != "every-read-failed":
            # one read lost: rules that do not need it may still pass, as on the whole output;
            # none may pass that did not pass on the whole output
            gained = [r["rule"] for r in results
                      if r["status"] == "pass" and whole.get(r["rule"]) != "pass"]
            assert not gained, (label, gained)
            continue
        bad = _bad(results, set(), section.name)
        assert not bad, (label, bad)
