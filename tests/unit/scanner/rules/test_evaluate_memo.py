"""What evaluation remembers from host to host (scanner/rules/evaluate.py ``Memo``) never changes a
result: hosts whose facts differ only in ways a key could blur (True and 1, 1 and 1.0, -0.0 and
0.0, a list and a tuple, a fact in error, a value known only as a bound, an item order) are
judged through one memo, in every order, exactly as each is judged alone."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from scanner.inventory import Contract
from scanner.rules.baselines import Rule
from scanner.rules.evaluate import Memo, compile_rules, evaluate_host
from scanner.rules.scope import HostView

RULES = [
    Rule(id=f"T-M-{i:03d}", title="t", control="secure-configuration", severity="high",
         requires=("posix.x",), check=check, rationale="r", remediation="fix", references={},
         baseline="t", messages=messages, observe=("x.list",))
    for i, (check, messages) in enumerate([
        ({"fact": "x.v", "eq": 1}, {}),
        ({"fact": "x.v", "le": 0}, {"fail": "x.v is {x.v}"}),
        ({"fact": "x.v", "in": [1, True, "1"]}, {}),
        ({"fact": "x.list", "contains": "a"}, {"pass": "has {x.list}"}),
        ({"fact": "x.list", "empty": False}, {}),
        ({"any": [{"fact": "x.v", "exists": False}, {"fact": "x.v", "ge": 1}]}, {}),
        ({"none": [{"fact": "x.v", "gt": 0}]}, {}),
    ])
]
COMPILED = compile_rules(RULES, {})
SECTIONS = {"posix.x": {"status": "ok", "sha256": "a" * 64,
                        "collected_at": "2026-11-22T00:00:00Z"}}
BOUND = {"x.v": {"basis": "lower-bound", "why": "known as {bound}", "fix": "refresh"}}

# neighbours differ in one way only
VARIANTS: list[tuple[dict[str, Any], dict[str, str], dict[str, Any]]] = [
    ({"x.v": 1, "x.list": ["a", "b"]}, {}, {}),
    ({"x.v": True, "x.list": ["a", "b"]}, {}, {}),
    ({"x.v": 1.0, "x.list": ["a", "b"]}, {}, {}),
    ({"x.v": 1, "x.list": ("a", "b")}, {}, {}),
    ({"x.v": 1, "x.list": ["b", "a"]}, {}, {}),
    ({"x.v": 0.0, "x.list": ["a"]}, {}, {}),
    ({"x.v": -0.0, "x.list": ["a"]}, {}, {}),
    ({"x.v": 0, "x.list": ["a"]}, {}, {}),
    ({"x.v": False, "x.list": ["a"]}, {}, {}),
    ({"x.v": "1", "x.list": ["a"]}, {}, {}),
    ({"x.v": None, "x.list": ["a"]}, {}, {}),
    ({"x.list": ["a"]}, {}, {}),
    ({"x.list": ["a"]}, {"x.v": "needs root"}, {}),
    ({"x.list": ["a"]}, {"x.v": "timed out"}, {}),
    ({"x.v": 1, "x.list": ["a"]}, {}, {}),
    ({"x.v": 1, "x.list": ["a"]}, {}, BOUND),
    ({"x.v": 1, "x.list": ["a"]}, {}, {"x.v": {"basis": "estimate"}}),
    ({"x.v": 1, "x.list": ["a"] * 30}, {}, {}),
    ({"x.v": 1, "x.list": ["a"] * 31}, {}, {}),
    ({"x.v": 1, "x.list": [["a"], {"k": [1, 2.5]}]}, {}, {}),
    ({"x.v": 1, "x.list": [["a"], {"k": [1, 2.50001]}]}, {}, {}),
    ({"x.v": 1, "x.list": [["a"], {"k": [True, 2.5]}]}, {}, {}),
    ({"x.v": 1, "x.list": {"a": 1, "b": 2}}, {}, {}),
    ({"x.v": 1, "x.list": {"b": 2, "a": 1}}, {}, {}),
    ({"x.v": float("nan"), "x.list": ["a"]}, {}, {}),
]


def host(i: int, facts: dict[str, Any], errors: dict[str, str],
         bases: dict[str, Any]) -> HostView:
    return HostView(name=f"h{i}", platform="linux", roles=("server",), reachable=True,
                    error=None, facts=copy.deepcopy(facts), fact_errors=dict(errors),
                    sections=SECTIONS, fact_basis=bases)


def alone(i: int) -> list[dict[str, Any]]:
    return evaluate_host(host(i, *VARIANTS[i]), COMPILED, Contract())


def test_the_variants_are_told_apart() -> None:
    """The variants are judged or worded differently (else the test proves nothing)."""
    seen = {repr(alone(i)).replace(f"'h{i}'", "") for i in range(len(VARIANTS))}
    assert len(seen) == len(VARIANTS)


@pytest.mark.parametrize("order", [list(range(len(VARIANTS))),
                                   list(reversed(range(len(VARIANTS)))),
                                   [i % len(VARIANTS) for i in range(0, 7 * len(VARIANTS), 7)]])
def test_one_memo_for_all_hosts_gives_each_its_own_results(order: list[int]) -> None:
    memo = Memo()
    contract = Contract()  # one, as in a scan: the memo keeps its selection of rules too
    for i in itertools.chain(order, order):  # twice: the second time from the memo
        got = evaluate_host(host(i, *VARIANTS[i]), COMPILED, contract, memo=memo)
        # repr tells True from 1 and 1.0, -0.0 from 0.0, a tuple from a list
        assert repr(got) == repr(alone(i)), VARIANTS[i]


def test_a_result_from_the_memo_is_a_copy() -> None:
    memo = Memo()
    first = evaluate_host(host(0, *VARIANTS[0]), COMPILED, Contract(), memo=memo)
    first[0]["observed"]["x.v"] = "edited"
    first[0]["status"] = "edited"
    again = evaluate_host(host(1, *VARIANTS[0]), COMPILED, Contract(), memo=memo)
    assert repr(again) == repr([{**r, "host": "h1"} for r in alone(0)])


def test_the_memo_is_bounded() -> None:
    memo = Memo(limit=3)
    for i in range(len(VARIANTS)):
        got = evaluate_host(host(i, *VARIANTS[i]), COMPILED, Contract(), memo=memo)
        assert repr(got) == repr(alone(i))
        assert memo.held <= 3 + len(RULES)


SECTION_RULES = compile_rules([
    Rule(id=f"T-S-{i:03d}", title="t", control="secure-configuration", severity="high",
         requires=requires, check={"fact": "x.v", "eq": 1}, rationale="r", remediation="fix",
         references={}, baseline="t")
    for i, requires in enumerate([("posix.x",), ("posix.x", "posix.y"), ("posix.y",),
                                  ("posix.x", "windows.x"), ("windows.x",)])
], {})
OK = {"status": "ok", "sha256": "a" * 64, "collected_at": "2026-11-22T00:00:00Z"}
# (reachable, error, sections): neighbours differ in one section's presence, status or error
SECTION_STATES: list[tuple[bool, str | None, dict[str, dict[str, Any]]]] = [
    (True, None, {"posix.x": OK, "posix.y": OK}),
    (True, None, {"posix.x": OK}),
    (True, None, {"posix.y": OK}),
    (True, None, {}),
    (True, None, {"posix.x": OK, "posix.y": {**OK, "status": "error", "error": "timed out"}}),
    (True, None, {"posix.x": OK, "posix.y": {**OK, "status": "error", "error": "exit 2"}}),
    (True, None, {"posix.x": OK, "posix.y": {**OK, "status": "error", "error": None}}),
    (True, None, {"posix.x": OK, "posix.y": OK, "windows.x": OK}),
    (False, "connection refused", {}),
    (False, "host key changed", {}),
    (False, "host key changed", {"posix.x": OK}),
]


def section_host(i: int) -> HostView:
    reachable, error, sections = SECTION_STATES[i]
    return HostView(name=f"h{i}", platform="linux", roles=("server",), reachable=reachable,
                    error=error, facts={"x.v": 1}, fact_errors={},
                    sections=copy.deepcopy(sections))


def test_what_the_sections_say_is_remembered_per_state_of_the_sections() -> None:
    alone_ = [evaluate_host(section_host(i), SECTION_RULES, Contract())
              for i in range(len(SECTION_STATES))]
    assert len({repr(r).replace(f"'h{i}'", "") for i, r in enumerate(alone_)}) == \
        len(SECTION_STATES)  # every state judged differently (else this proves nothing)
    memo = Memo()
    contract = Contract()  # one, as in a scan: the memo keeps its selection of rules
    order = [*range(len(SECTION_STATES)), *reversed(range(len(SECTION_STATES)))]
    for i in order:
        got = evaluate_host(section_host(i), SECTION_RULES, contract, memo=memo)
        assert repr(got) == repr(alone_[i]), SECTION_STATES[i]
