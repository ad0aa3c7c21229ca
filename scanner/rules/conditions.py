"""Rule conditions compiled once, judged many times: a leaf compares one fact (``eq``, ``in``,
``lt``, ``matches``, ...), ``all``/``any``/``none`` combine them, in three-valued logic (a fact
that could not be collected is unknown, never false), and a bound or an estimate can fail a
rule but never pass it (:func:`compile_condition`, :func:`describe`)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

# A compiled condition: (values, errors, bases) -> (state, observed, reasons, failures)
#   state: True, False, or None (unknown); bases: how inexact values are known (Basis below)
Outcome = tuple[bool | None, dict[str, Any], list[str], list[str]]
Bases = Mapping[str, Mapping[str, str]]
_NO_BASES: Bases = {}


class Compiled(Protocol):
    def __call__(self, values: dict[str, Any], errors: dict[str, str],
                 bases: Bases = ..., /) -> Outcome: ...



def _fmt(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]" if len(v) <= 8 else f"[{len(v)} items]"
    if isinstance(v, str):
        return repr(v) if len(v) <= 80 else repr(v[:77] + "...")
    return repr(v) if not isinstance(v, bool) else str(v).lower()


_OP_TEXT = {
    "eq": "equal to",
    "ne": "not equal to",
    "in": "one of",
    "not_in": "none of",
    "lt": "less than",
    "le": "at most",
    "gt": "more than",
    "ge": "at least",
    "contains": "containing",
    "not_contains": "not containing",
    "matches": "matching",
}


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_NONE: list[str] = []  # shared and never mutated: "no reasons", "no failures"


_NUMBER_TYPES = (int, float)


def _comparable(v: Any, want: Any) -> bool:
    tv, tw = type(v), type(want)
    return (tv in _NUMBER_TYPES and tw in _NUMBER_TYPES) or (tv is str and tw is str)


def _tester(op: str, want: Any) -> Callable[[Any], bool | None]:
    """One specialised test per operator (None: the value cannot be judged by it)."""
    if op == "eq":
        return lambda v: v == want
    if op == "ne":
        return lambda v: v != want
    if op in ("in", "not_in"):
        members = want if isinstance(want, list) else [want]
        if op == "in":
            return lambda v: v in members
        return lambda v: v not in members
    if op in ("lt", "le", "gt", "ge"):
        cmp: Callable[[Any, Any], Any] = {
            "lt": operator.lt,
            "le": operator.le,
            "gt": operator.gt,
            "ge": operator.ge,
        }[op]

        def order(v: Any) -> bool | None:
            if v is None:
                return False  # nothing to compare (e.g. never patched) is not compliant
            return bool(cmp(v, want)) if _comparable(v, want) else None

        return order
    if op in ("contains", "not_contains"):

        def contains(v: Any) -> bool | None:
            if not isinstance(v, list | tuple | str | dict):
                return None
            if isinstance(v, str) and not isinstance(want, str):
                return None  # `contains: 5` on a text: cannot be judged (never a crash)
            try:
                return (want in v) == (op == "contains")
            except TypeError:  # an unhashable value looked up in a mapping
                return None

        return contains
    if op == "empty":

        def empty(v: Any) -> bool | None:
            if v is None:
                return bool(want)
            if not isinstance(v, list | tuple | str | dict):
                return None
            return (len(v) == 0) == bool(want)

        return empty
    if op == "matches":
        rx = re.compile(want)
        return lambda v: v is not None and rx.search(str(v)) is not None
    raise ValueError(f"unknown operator {op!r}")


_BOUND_WORDS = {"lower-bound": "at least", "upper-bound": "at most", "estimate": "about"}
# what a bound proves about a comparison: for a lower bound L of the true value V (V >= L),
# "V <= x" is false when L > x, "V >= x" true when L >= x; the mirror for an upper bound
_PROVES_FALSE = {"lower-bound": ("lt", "le"), "upper-bound": ("gt", "ge")}
_PROVES_TRUE = {"lower-bound": ("gt", "ge"), "upper-bound": ("lt", "le")}


def _amount(fact: str, v: Any) -> str:
    if _number(v) and fact.endswith("_days"):
        return f"{v:g} days"
    return _fmt(v)


def _inexact(fact: str, op: str, v: Any, ok: bool | None, basis: Mapping[str, str],
             negated: bool, suffix: str, strict: bool) -> Outcome:
    """A leaf over a value that is only bounded or estimated: it keeps a result the bound
    proves on the failing side, and is unknown otherwise."""
    kind = basis.get("basis", "estimate")
    word = _BOUND_WORDS.get(kind, "about")
    if not strict and ok is not None:
        proven = op in (_PROVES_TRUE if ok else _PROVES_FALSE).get(kind, ())
        failing_side = ok is negated  # false in a positive place, true under ``none``
        if proven and failing_side:
            detail = f"{fact} is {word} {_amount(fact, v)} ({kind}){suffix}"
            return ok, {fact: v}, _NONE, [detail]
    why = basis.get("why")
    bound = f"{word} {_amount(fact, v)}"
    head = (why.replace("{bound}", bound) if "{bound}" in why else f"{why} ({bound})") if why else (
        f"{fact} is only known as {word} {_amount(fact, v)} ({kind}), which cannot show"
        f"{suffix.replace('; expected', '')}")
    fix = basis.get("fix")
    return None, {fact: v}, [f"{head}; {fix}" if fix else head], _NONE


def _leaf(fact: str, op: str, want: Any, negated: bool = False, strict: bool = False
          ) -> Compiled:
    if op == "exists":

        def exists(values: dict[str, Any], errors: dict[str, str],
                   bases: Bases = _NO_BASES, /) -> Outcome:
            if fact in values:
                return (
                    bool(want),
                    {fact: values[fact]},
                    _NONE,
                    (_NONE if want else [f"{fact} is present"]),
                )
            if fact in errors:
                return None, {}, [f"{fact}: {errors[fact]}"], _NONE
            return (not want), {fact: None}, _NONE, [f"{fact} is absent"] if want else _NONE

        return exists
    test = _tester(op, want)
    if op == "empty":
        suffix = f"; expected {'none' if want else 'at least one'}"
    else:
        suffix = f"; expected {_OP_TEXT.get(op, op)} {_fmt(want)}"

    def run(values: dict[str, Any], errors: dict[str, str], bases: Bases = _NO_BASES, /
            ) -> Outcome:
        if fact not in values:
            return None, {}, [f"{fact}: {errors.get(fact, 'not collected')}"], _NONE
        v = values[fact]
        ok = test(v)
        basis = bases.get(fact) if bases else None
        if basis is not None:
            return _inexact(fact, op, v, ok, basis, negated, suffix, strict)
        if ok:
            return True, {fact: v}, _NONE, _NONE
        if ok is None:
            return None, {fact: v}, [f"{fact} is {_fmt(v)}, which cannot be compared ({op})"], _NONE
        return False, {fact: v}, _NONE, [f"{fact} is {_fmt(v)}{suffix}"]

    return run


def _combine(kind: str, parts: list[Compiled]) -> Compiled:
    def run(values: dict[str, Any], errors: dict[str, str], bases: Bases = _NO_BASES, /
            ) -> Outcome:
        observed: dict[str, Any] = {}
        reasons: list[str] = []
        fails: list[str] = []
        states: list[bool | None] = []
        for p in parts:
            s, o, r, f = p(values, errors, bases)
            observed.update(o)
            states.append(s)
            if s is None:
                reasons.extend(r)
            elif kind == "all" and s is False:
                fails.extend(f)
            elif kind == "none" and s is True:
                fails.append("; ".join(f) or "a condition that must not hold holds")
            elif kind == "any" and s is False:
                fails.extend(f)
        if kind == "all":
            state = False if False in states else (None if None in states else True)
        else:
            any_state = True if True in states else (None if None in states else False)
            state = any_state if kind == "any" else (None if any_state is None else not any_state)
        if state is True:
            fails = _NONE
        if state is not None:
            reasons = _NONE
        return state, observed, reasons, fails

    return run


def compile_condition(cond: Any, params: dict[str, Any], negated: bool = False,
                      strict: bool = False) -> Compiled:
    """``negated``: the condition sits under an odd number of ``none`` (true is the failing
    side there); ``strict``: an inexact value decides nothing at all (a rule's ``when``)."""
    for kind in ("all", "any", "none"):
        if kind in cond:
            inner = not negated if kind == "none" else negated
            return _combine(kind, [compile_condition(c, params, inner, strict)
                                   for c in cond[kind]])
    fact = cond["fact"]
    ((op, want),) = ((k, v) for k, v in cond.items() if k != "fact")
    if isinstance(want, dict) and "param" in want:
        want = params[want["param"]]
    return _leaf(fact, op, want, negated, strict)


def describe(cond: Any, params: dict[str, Any]) -> str:
    """The expected state in words, for the result's ``expected`` field."""
    if cond == "manual":
        return "reviewed by a person"
    for kind, word in (("all", " and "), ("any", " or ")):
        if kind in cond:
            return "(" + word.join(describe(c, params) for c in cond[kind]) + ")"
    if "none" in cond:
        return "not (" + " or ".join(describe(c, params) for c in cond["none"]) + ")"
    ((op, want),) = ((k, v) for k, v in cond.items() if k != "fact")
    if isinstance(want, dict) and "param" in want:
        want = params[want["param"]]
    if op == "empty":
        return f"{cond['fact']} is {'empty' if want else 'not empty'}"
    if op == "exists":
        return f"{cond['fact']} is {'present' if want else 'absent'}"
    return f"{cond['fact']} {_OP_TEXT.get(op, op)} {_fmt(want)}"
