"""Unknown is never a pass: for every probe section, output that tells nothing (empty, garbage,
every command missing, every read denied, cut off) never makes a rule that needs the section
pass. Each section's parser is fed the variants, the facts are evaluated with every shipped rule
(``scanner.rules.evaluate``, as a scan does), and every rule requiring the section must come out
``error``, ``not_applicable`` (with its reason) or, with facts a person must read, ``manual``.

The variants are built from the section's recorded fixtures (``tests/fixtures/<family>/<topic>``,
so their block names are the real ones) and, for sections without fixtures, from scratch. The
integration variant (real hosts whose tools are gone or print garbage) is in
tests/integration/test_hostile.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probes import Section, sections
from probes.base import RawSection
from scanner.inventory import Contract
from scanner.lifecycle import catalogue as lifecycle
from scanner.rules import baselines
from scanner.rules.evaluate import compile_rules, evaluate_host
from scanner.rules.scope import HostView

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "fixtures"
AT = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
# never `pass`; `fail` is allowed where the probe states a missing tool as a fact by design
# ("no anti-malware installed"); error and not_applicable must say why
ALLOWED = {"error", "not_applicable", "manual", "fail"}

SECTIONS = sections()
BASELINES = baselines.load()
RULES = [r for b in BASELINES for r in b.rules]
PARAMS: dict[str, Any] = {}
for _b in BASELINES:
    PARAMS.update(_b.params)
COMPILED = compile_rules(RULES, PARAMS)
ROLES = tuple(sorted({role for r in RULES for role in r.roles} | {"server"}))
GARBAGE = (
    "Segmentation fault (core dumped)\n"
    "\x00\xff\xfegarbage ~~~ 0xDEADBEEF {{{ ]]] === yes=no=yes\n"
    "42 42 -1 NaN inf 1e309 99999999999999999999999999\n"
    "PermitRootLogin\nID=\nVERSION_ID=\n:::::::::\n"
    "ERROR: unknown error\n<<<<<<< HEAD\n=======\n>>>>>>>\n"
)
_BLOCK = re.compile(r"^@@block (\S+)$", re.M)

_NO_SIGNATURES = (
    "CrowdStrike Falcon and SentinelOne keep no local signature database (a property of the "
    "product, known from its program file), so the signature-age rules hold for them"
)
#: passes that do not come from the unreadable output, each with why (and still checked: no
#: other rule of the section may pass)
FOUNDED_ELSEWHERE = {
    ("posix.malware", "CE-MP-001"): (
        "a vendor's blocks are printed only when the script's own test finds the vendor's program "
        "file on the target (falconctl, sentinelctl, mdatp): that file is the evidence that the "
        "product is installed; its unreadable output leaves the product's other facts in error"
    ),
    ("posix.malware", "CE-MP-003"): _NO_SIGNATURES,
    ("posix.malware", "PM-MP-001"): _NO_SIGNATURES,
}
#: known parser gaps, reported; strict: the test says so when they are fixed
KNOWN: dict[tuple[str, str], str] = {
    # fixed: accounts.py now checks the end block's rc (a half-printed end is a cut output)
}


def _platform(section: Section) -> str:
    if section.name == "net.nmap":  # a network's record (scanner/engine/network.py)
        return "segment"
    if section.family in ("net", "snmp", "netos"):  # a network device's record
        return "network"
    return "windows" if section.family == "windows" else "linux"


def _fixtures(section: Section) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, stdout, config) of each recorded output of the section."""
    family, topic = section.name.split(".", 1)
    folder = FIXTURES / family / topic
    out = []
    for path in sorted(folder.glob("*.out")) if folder.is_dir() else []:
        config_path = path.with_name(path.stem + ".config.json")
        config = json.loads(config_path.read_text()) if config_path.exists() else {}
        out.append((path.stem, path.read_text(encoding="utf-8", errors="replace"), config))
    return out


def _block_names(section: Section) -> list[str]:
    """The blocks a section prints, from its fixtures, else from its script's helper calls."""
    names: list[str] = []
    for _, text, _ in _fixtures(section):
        names += [n for n in _BLOCK.findall(text) if n not in names]
    if not names:
        names = re.findall(r"undone_(?:cmd|file|begin) \"?([A-Za-z0-9_.:/-]+)", section.script)
    return list(dict.fromkeys(names))


def _every_block(names: list[str], body: str, rc: int | None) -> str:
    tail = "" if rc is None else f"@@rc {rc}\n"
    return "".join(f"@@block {n}\n{body}{tail}" for n in names)


def _cuts(text: str) -> Iterator[tuple[str, str]]:
    """The output cut off at several points, always before the last block's end."""
    last = text.rfind("@@rc ")
    if last <= 0:
        return
    for frac in (0.1, 0.35, 0.6, 0.9):
        yield f"cut-{int(frac * 100)}%", text[: int(last * frac)]
    yield "cut-before-last-rc", text[:last]


def _blocks_of(text: str) -> list[str]:
    return list(dict.fromkeys(_BLOCK.findall(text)))


def _boundaries(text: str) -> list[int]:
    """Offsets just after each block's ``@@rc`` line (where a cut keeps whole blocks)."""
    return [m.end() for m in re.finditer(r"^@@rc -?\d+\n", text, re.M)]


def variants(section: Section) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, stdout, config) of output that tells nothing about the host: the section as a
    whole (empty, garbage), and each recorded output with every one of its blocks missing,
    denied, timed out, garbage or cut off. Cuts (labels with ``:cut``) are checked apart: a cut
    keeps the blocks before it, which may rightly decide a rule."""
    yield "empty", "", {}
    yield "garbage", GARBAGE, {}
    yield "whitespace", "\n\n   \n", {}
    if not _fixtures(section):
        names = _block_names(section)
        if names:
            yield "all-missing", _every_block(names, "tool: command not found\n", 127), {}
            yield "all-denied", _every_block(names, "Permission denied\n", 126), {}
    for label, text, cfg in _fixtures(section):
        names = _blocks_of(text)
        if not names:
            continue
        yield f"{label}:all-missing", _every_block(names, "tool: command not found\n", 127), cfg
        yield f"{label}:all-denied", _every_block(names, "Permission denied\n", 126), cfg
        yield f"{label}:all-timed-out", _every_block(names, "", 124), cfg
        yield f"{label}:all-garbage", _every_block(names, GARBAGE, 0), cfg
        yield f"{label}:all-cut", _every_block(names, "partial output\n", None), cfg
        for cut, part in _cuts(text):
            yield f"{label}:{cut}", part, cfg


def judge(section: Section, stdout: str, config: dict[str, Any], exit_code: int | None = 0
          ) -> list[dict[str, Any]]:
    raw = RawSection(name=section.name, stdout=stdout, stderr="", exit_code=exit_code,
                     collected_at=AT, truncated=False, config=config)
    parsed = section.parse(raw)
    facts, errors = dict(parsed.values), dict(parsed.errors)
    if any(f.startswith("os.") for f in section.provides):
        values, errs = lifecycle.enrich_os(facts, AT, lifecycle.load_catalogue(), 400)
        facts.update(values)
        errors.update(errs)
    ok = {"status": "ok", "sha256": "0" * 64, "collected_at": "2026-11-22T00:30:00Z"}
    host = HostView(name="h1", platform=_platform(section), roles=ROLES, reachable=True,
                    error=None, facts=facts, fact_errors=errors,
                    sections={s: dict(ok) for s in SECTIONS})
    needing = [cr for cr in COMPILED if section.name in cr.rule.requires]
    return evaluate_host(host, needing, Contract())


def _bad(results: list[dict[str, Any]], founded_on_inventory: set[str] | None = None,
         section: str = "") -> list[str]:
    out = []
    for r in results:
        if r["status"] == "pass" and r["rule"] in (founded_on_inventory or set()):
            continue
        if r["status"] == "pass" and (section, r["rule"]) in FOUNDED_ELSEWHERE:
            continue
        if r["status"] not in ALLOWED:
            out.append(f"{r['rule']} {r['status']}: {r['message'] or r['observed']}")
        elif r["status"] in ("error", "not_applicable") and not r["message"]:
            out.append(f"{r['rule']} {r['status']} without a reason")
    return out


def _inventory_passes(section: Section, stdout: str, config: dict[str, Any]) -> set[str]:
    """Rules that pass only because of what the inventory declares for the host (a backup
    declared there counts for "declared or found"): the same output judged without the
    declarations no longer passes them, so the pass does not come from the target."""
    if not config:
        return set()
    with_config = {r["rule"] for r in judge(section, stdout, config) if r["status"] == "pass"}
    without = {r["rule"] for r in judge(section, stdout, {}) if r["status"] == "pass"}
    return with_config - without


def _cases() -> list[tuple[str, str]]:
    return [(name, label) for name, s in sorted(SECTIONS.items()) for label, _, _ in variants(s)]


CASES = _cases()
PARAMS_CASES = [
    pytest.param(name, label, id=f"{name}-{label}", marks=[
        pytest.mark.xfail(reason=KNOWN[(name, label)], strict=True)
    ] if (name, label) in KNOWN else [])
    for name, label in CASES
]


def _gained(section: Section, full: str, cut: str, config: dict[str, Any]) -> list[str]:
    """Rules that pass on the cut output but not on the whole of it."""
    whole = {r["rule"]: r["status"] for r in judge(section, full, config)}
    return [f"{r['rule']} passes when cut ({whole.get(r['rule'])} on the whole output)"
            for r in judge(section, cut, config)
            if r["status"] == "pass" and whole.get(r["rule"]) != "pass"]


def _cut_problems(section: Section, full: str, cut: str, config: dict[str, Any]) -> list[str]:
    """A cut output may decide a rule only with the blocks it kept whole: what passes on it must
    pass with the cut block dropped altogether, and on the whole output."""
    kept = max((b for b in _boundaries(full) if b <= len(cut)), default=0)
    problems = _gained(section, full, full[:kept], config)
    boundary = {r["rule"]: r["status"] for r in judge(section, full[:kept], config)}
    problems += [f"{r['rule']} passes on a half block ({boundary.get(r['rule'])} without it)"
                 for r in judge(section, cut, config)
                 if r["status"] == "pass" and boundary.get(r["rule"]) != "pass"]
    return problems


@pytest.mark.parametrize(("section_name", "variant"), PARAMS_CASES)
def test_output_that_tells_nothing_never_passes(section_name: str, variant: str) -> None:
    section = SECTIONS[section_name]
    stdout, config = next((t, c) for label, t, c in variants(section) if label == variant)
    if ":cut" in variant:
        full = next(t for label, t, _ in _fixtures(section) if label == variant.split(":")[0])
        problems = _cut_problems(section, full, stdout, config)
        assert not problems, problems
        return
    results = judge(section, stdout, config)
    bad = _bad(results, _inventory_passes(section, stdout, config), section_name)
    assert not bad, bad


def _engine(section: Section, stdout: str, *, ended: bool, exit_code: int | None = 0
            ) -> list[dict[str, Any]]:
    """What a scan makes of this output: through the splitter and the collector's section
    records (a stream that ends inside the section, a section whose script failed)."""
    from scanner.engine import collect
    from scanner.engine.batch import build
    from scanner.engine.options import Options
    from scanner.engine.records import host_stub
    from scanner.engine.transports import new_stream
    from scanner.inventory import Host

    batch = build([section])
    stream = new_stream(batch, Options().cap, Options().total_cap)
    begin = f"==undone:{batch.nonce}:BEGIN:{section.name}==\n".encode()
    end = f"\n==undone:{batch.nonce}:END:{section.name}:{exit_code}==\n".encode()
    stream.stdout.feed(begin + stdout.encode() + (end if ended else b""))
    stream.stderr.feed(begin + (end if ended else b""))
    stream.stdout.close()
    stream.stderr.close()
    stream.exit_status = 0 if ended else None
    if not ended:
        stream.error = "connection closed before the batch finished"
    host = Host(name="h1", address="192.0.2.1")
    rec = host_stub(host)
    rec["reachable"] = True
    rec["roles"] = list(ROLES)
    collect._record_sections(rec, stream, batch.script_sha256, [section], AT,
                             Options(), host, {})
    view = HostView(name="h1", platform=_platform(section), roles=ROLES, reachable=True,
                    error=None, facts=rec["facts"], fact_errors=rec["fact_errors"],
                    sections=rec["sections"])
    needing = [cr for cr in COMPILED if section.name in cr.rule.requires]
    return evaluate_host(view, needing, Contract())


TARGET = sorted(n for n, s in SECTIONS.items() if s.on_target)


@pytest.mark.parametrize("section_name", TARGET)
def test_a_stream_cut_inside_a_section_never_passes(section_name: str) -> None:
    """The connection ends in the middle of the section (no end marker): whatever came, even a
    whole recorded output, the section is an error and so is every rule that needs it."""
    section = SECTIONS[section_name]
    outputs = [t for _, t, _ in _fixtures(section)] or [GARBAGE]
    for text in outputs:
        results = _engine(section, text, ended=False)
        assert not _bad(results), _bad(results)
        assert all("cut off" in r["message"] for r in results), results[0]["message"]


@pytest.mark.parametrize("section_name", TARGET)
@pytest.mark.parametrize("exit_code", [124, 126, 127])
def test_a_section_killed_or_missing_on_the_target_never_passes(section_name: str,
                                                                exit_code: int) -> None:
    """The section's script timed out (124), could not run (126) or was not found (127)."""
    section = SECTIONS[section_name]
    for text in ["", f"sh: 1: {section.name}: not found\n"]:
        results = _engine(section, text, ended=True, exit_code=exit_code)
        assert not _bad(results), (exit_code, _bad(results))


def test_every_section_and_every_rule_is_covered() -> None:
    """The walk above reaches every section, and every rule is judged by at least one variant of
    each section it requires."""
    covered = {name for name, _ in CASES}
    assert covered == set(SECTIONS)
    for cr in COMPILED:
        for s in cr.rule.requires:
            assert s in SECTIONS, f"{cr.rule.id} requires unknown section {s}"
            assert any(r["rule"] == cr.rule.id
                       for r in judge(SECTIONS[s], "", _fixtures(SECTIONS[s])[0][2]
                                      if _fixtures(SECTIONS[s]) else {})), cr.rule.id


@pytest.mark.parametrize("exit_code", [1, 2, 124, 126, 127, 255])
def test_a_failed_section_with_stray_output_never_passes(exit_code: int) -> None:
    """A section whose script failed and printed something that is not its blocks."""
    for name, section in SECTIONS.items():
        results = judge(section, "sh: 1: something: not found\n", {}, exit_code)
        assert not _bad(results), (name, _bad(results))


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_output_never_passes(data: st.DataObject) -> None:
    """Random text, random block structures with random exit codes, and recorded outputs cut at
    random points: no rule that needs the section passes."""
    name = data.draw(st.sampled_from(sorted(SECTIONS)))
    section = SECTIONS[name]
    names = _block_names(section) or ["x"]
    fixtures = _fixtures(section)
    kind = data.draw(st.sampled_from(["text", "blocks", "cut"] if fixtures else ["text", "blocks"]))
    config = fixtures[0][2] if fixtures else {}
    if kind == "text":
        stdout = data.draw(_text)
    elif kind == "blocks":
        picked = data.draw(st.lists(st.sampled_from(names), max_size=len(names) + 2))
        parts = []
        for n in picked:
            body = data.draw(_text)
            rc = data.draw(st.sampled_from([None, 1, 2, 124, 126, 127]))
            parts.append(f"@@block {n}\n{body}\n" + ("" if rc is None else f"@@rc {rc}\n"))
        stdout = "".join(parts)
    else:
        label, text, config = data.draw(st.sampled_from(fixtures))
        last = text.rfind("@@rc ")
        if last <= 0:
            return
        stdout = text[: data.draw(st.integers(min_value=0, max_value=last))]
        problems = _cut_problems(section, text, stdout, config)
        assert not problems, (name, label, len(stdout), problems)
        return
    results = judge(section, stdout, config)
    bad = _bad(results, _inventory_passes(section, stdout, config), name)
    assert not bad, (name, kind, stdout[:300], bad)
