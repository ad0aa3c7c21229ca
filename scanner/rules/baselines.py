"""Loading baselines: YAML rules validated against ``baselines/rule.schema.json`` at load.

A baseline is named (``cyber-essentials``, shipped in the package) or given as a path. Beyond the
schema, loading checks what a schema cannot: rule ids are unique across every loaded baseline,
every ``requires`` names a probe section that exists, every parameter a rule uses is declared,
regular expressions compile. Problems are one line each, naming file and key path.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from scanner import safeio, yamlio
from scanner.errors import BaselineError, InputError
from scanner.rules import findings
from scanner.vocab import Control, Severity

SHIPPED = ("cyber-essentials", "maintenance", "connection", "client-access", "applications",
           "cloud")
DEFAULT = SHIPPED
# judged on every scan whatever baselines are chosen: what the scanner itself found while
# connecting (a changed host key is a finding of its own, never silently dropped)
ALWAYS = ("connection",)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    control: Control  # the schema (baselines/rule.schema.json) admits only these words
    severity: Severity
    requires: tuple[str, ...]
    check: Any  # condition mapping, or "manual"
    rationale: str
    remediation: str
    references: dict[str, str]
    baseline: str
    owner: str | None = None
    platforms: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    when: Any = None
    observe: tuple[str, ...] = ()
    # plain-language text for a result: "fail" leads a failure's message (the technical detail
    # follows), "not_applicable" replaces the generic "does not apply" (say what to do)
    messages: tuple[tuple[str, str], ...] = ()
    # what is wrong, in words (scanner/rules/findings.py): heading, sentence template(s), and the
    # remediation of each platform when it differs; None for a rule without one
    finding: Any = None


@dataclass(frozen=True)
class Baseline:
    name: str
    version: str
    title: str
    path: str
    sha256: str
    rules: tuple[Rule, ...]
    params: dict[str, Any] = field(default_factory=dict)  # name -> default


@cache
def _schema() -> dict[str, Any]:
    text = (resources.files("baselines") / "rule.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _schema_problems(data: Any, label: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(_schema())
    problems: list[str] = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        # oneOf failures are noisy: report the most specific sub-error
        best = jsonschema.exceptions.best_match([err])
        msg = best.message
        if len(msg) > 200:
            msg = msg[:200] + "..."
        problems.append(f"{label}: {_where(best.absolute_path)}: {msg}")
    return problems


def _params_used(cond: Any) -> list[str]:
    out: list[str] = []
    if isinstance(cond, dict):
        for k, v in cond.items():
            if isinstance(v, dict) and set(v) == {"param"}:
                out.append(v["param"])
            elif k in ("all", "any", "none") and isinstance(v, list):
                for c in v:
                    out.extend(_params_used(c))
    return out


def _regexes(cond: Any) -> list[str]:
    out: list[str] = []
    if isinstance(cond, dict):
        if "matches" in cond:
            out.append(cond["matches"])
        for k in ("all", "any", "none"):
            for c in cond.get(k, []) if isinstance(cond.get(k), list) else []:
                out.extend(_regexes(c))
    return out


def _non_finite(value: Any, where: str) -> list[str]:
    """Every NaN or infinity in a value (``.nan`` and ``.inf`` are YAML numbers): a threshold
    of NaN fails every comparison, so a rule over it would never pass and never say why."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{where}: {value!r} is not a finite number"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _non_finite(v, f"{where}[{i}]")]
    return []


def resolve(spec: str) -> tuple[str, str]:
    """A baseline name or path → (label, text)."""
    if spec in SHIPPED:
        res = resources.files("baselines") / f"{spec}.yaml"
        return f"baselines/{spec}.yaml", res.read_text(encoding="utf-8")
    if os.path.exists(spec):
        try:  # a regular file, bounded: never a folder, /dev/zero or a FIFO
            data = safeio.read_regular(spec, yamlio.MAX_BYTES)
        except InputError as e:
            raise BaselineError(e.problems) from None
        except OSError as e:
            raise BaselineError(f"{spec}: cannot read: {e.strerror or e}") from None
        if b"\x00" in data:
            raise BaselineError(f"{spec}: binary file, expected YAML text")
        try:
            return spec, data.decode("utf-8")
        except UnicodeDecodeError:
            raise BaselineError(f"{spec}: not UTF-8 text") from None
    raise BaselineError(
        f"{spec}: no such baseline; shipped baselines are {', '.join(SHIPPED)}, or give a path"
    )


def parse(text: str, label: str, sections: set[str] | None = None) -> Baseline:
    try:
        data = yamlio.load_text(text, label)
    except InputError as e:
        raise BaselineError(e.problems) from None
    if not isinstance(data, dict):
        raise BaselineError(f"{label}: expected a mapping with 'baseline' and 'rules'")
    problems = _schema_problems(data, label)
    if problems:
        raise BaselineError(problems)
    problems = _non_finite(data.get("params") or {}, f"{label}: params")
    for i, r in enumerate(data["rules"]):
        for part in ("when", "check"):
            problems += _non_finite(r.get(part), f"{label}: rules[{i}].{part}")
    if problems:
        raise BaselineError(problems)
    meta = data["baseline"]
    params = {k: v["default"] for k, v in (data.get("params") or {}).items()}
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, r in enumerate(data["rules"]):
        where = f"{label}: rules[{i}]"
        if r["id"] in seen:
            problems.append(f"{where}.id: duplicate rule id {r['id']}")
        seen.add(r["id"])
        for s in r["requires"]:
            if sections is not None and s not in sections:
                problems.append(f"{where}.requires: unknown probe section '{s}'")
        applies = r.get("applies_to") or {}
        parts = [("when", r.get("when")), ("check", r.get("check"))]
        if r.get("finding"):
            problems.extend(findings.problems(r["finding"], f"{where}.finding",
                                              tuple(applies.get("platforms", ()))))
            parts += [("finding", c) for c in findings.conditions(r["finding"])]
        for part, cond in parts:
            for prm in _params_used(cond):
                if prm not in params:
                    problems.append(f"{where}.{part}: parameter '{prm}' is not declared in params")
            for rx in _regexes(cond):
                try:
                    re.compile(rx)
                except re.error as e:
                    problems.append(f"{where}.{part}: bad regular expression {rx!r}: {e}")
        rules.append(
            Rule(
                id=r["id"],
                title=r["title"],
                control=r["control"],
                severity=r["severity"],
                requires=tuple(r["requires"]),
                check=r["check"],
                rationale=r["rationale"].strip(),
                remediation=r["remediation"].strip(),
                references=dict(r["references"]),
                baseline=meta["name"],
                owner=r.get("owner"),
                platforms=tuple(applies.get("platforms", ())),
                roles=tuple(applies.get("roles", ())),
                when=r.get("when"),
                observe=tuple(r.get("observe", ())),
                messages=tuple((r.get("messages") or {}).items()),
                finding=r.get("finding"),
            )
        )
    if problems:
        raise BaselineError(problems)
    return Baseline(
        name=meta["name"],
        version=str(meta["version"]),
        title=meta["title"],
        path=label,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        rules=tuple(rules),
        params=params,
    )


def load(specs: list[str] | tuple[str, ...] | None = None) -> list[Baseline]:
    """Load baselines by name or path; rule ids must be unique across all of them."""
    from probes import sections as probe_sections

    known = set(probe_sections())
    out: list[Baseline] = []
    problems: list[str] = []
    chosen = list(specs or DEFAULT)
    chosen += [a for a in ALWAYS if a not in chosen]
    for spec in chosen:
        try:
            label, text = resolve(spec)
            out.append(parse(text, label, known))
        except InputError as e:
            problems.extend(e.problems)
    ids: dict[str, str] = {}
    for b in out:
        for r in b.rules:
            if r.id in ids and ids[r.id] != b.path:
                problems.append(f"{b.path}: rule {r.id} is also defined in {ids[r.id]}")
            ids[r.id] = b.path
    if problems:
        raise BaselineError(problems)
    return out
