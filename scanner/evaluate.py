"""Evaluation: rules × facts × waivers → results. Pure: no network, no clock but the one passed in.

Conditions use three-valued logic: a leaf is true, false, or unknown (its fact could not be
collected). ``all`` is false if any part is false, else unknown if any part is unknown; ``any`` is
true if any part is true, else unknown if any is unknown; ``none`` is ``not any``. A rule whose
check is unknown is ``error``, never ``pass`` and never ``fail``; a rule whose ``when`` is false is
``not_applicable``; a check of ``manual`` gives ``manual`` with the observed facts for a person to
judge.

**Basis.** A value a probe could only bound or estimate says so (the host's ``fact_basis``,
probes/base.py): a *lower bound* (the true value is at least this), an *upper bound*, or an
*estimate*. Such a value decides a condition only where it proves a failure: the lower bound
30 of an age fails "at most 14" (the age is at least 30); the lower bound 2 of the same age
proves nothing, and the condition is unknown, with the probe's reason and what would make the
value known ("release dates of 12 pending security updates unknown (at least 2 days); run
`undone advisories refresh`"). What a bound would prove true is unknown as well, unless it is
under ``none`` (where true is the failing side). An inexact value never makes a rule pass and
never makes its ``when`` false. This is one mechanism for every rule; no rule special-cases it.

Every selected rule gives one result per host (DESIGN.md §5, "Nothing silently out of scope"):
:func:`scope` decides first whether the rule concerns the host at all, and a rule for other
platforms, for other roles (declared in the inventory, else inferred from the facts by
scanner/roles.py before evaluation), or judging sections this kind of host does not have is
``not_applicable`` with that reason (``na_reason``), as is a rule whose ``when`` is false
(``precondition``). A host whose platform is unknown is never out of scope for its platform:
a rule for another platform is ``error`` with why (only the rules of declared networks and cloud
tenants are never a host's).

Conditions are compiled once per baseline into closures, so evaluating 10,000 hosts × 100 rules
is a few Python calls per result.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from scanner import findings
from scanner.baselines import Rule
from scanner.inventory import Contract, Waiver
from scanner.roles import INFERABLE

# A compiled condition: (values, errors, bases) -> (state, observed, reasons, failures)
#   state: True, False, or None (unknown); bases: how inexact values are known (Basis below)
Outcome = tuple[bool | None, dict[str, Any], list[str], list[str]]
Bases = Mapping[str, Mapping[str, str]]
_NO_BASES: Bases = {}


class Compiled(Protocol):
    def __call__(self, values: dict[str, Any], errors: dict[str, str],
                 bases: Bases = ..., /) -> Outcome: ...

POSIX_PLATFORMS = ("linux", "macos", "bsd")


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


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    check: Compiled | None  # None for manual
    when: Compiled | None
    expected: str
    na_message: str = ""  # the result's message when ``when`` does not hold
    fail_prefix: str | None = None  # the rule's own words, put before the technical detail
    pass_message: str | None = None  # the rule's own words for a pass
    finding: findings.Compiled | None = None  # what is wrong in words (scanner/findings.py)


_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+\.[a-z0-9_]+)\}")


def fill(text: str, facts: dict[str, Any]) -> str:
    """A rule's own words with ``{topic.fact}`` replaced by the host's value (for messages a
    person reads: "{os.support_summary}")."""
    if "{" not in text:
        return text

    def value(m: re.Match[str]) -> str:
        v = facts.get(m.group(1))
        if v is None:
            return "unknown"
        if isinstance(v, list | tuple):
            return ", ".join(str(x) for x in v[:8]) + (" ..." if len(v) > 8 else "")
        return str(v)[:300]

    return _PLACEHOLDER.sub(value, text)


def compile_rules(rules: Iterable[Rule], params: dict[str, Any]) -> list[CompiledRule]:
    out = []
    for r in rules:
        check = None if r.check == "manual" else compile_condition(r.check, params)
        when = compile_condition(r.when, params, strict=True) if r.when else None
        messages = dict(r.messages)
        na = messages.get("not_applicable") or (
            "does not apply: " + describe(r.when, params) + " does not hold" if r.when else ""
        )
        out.append(
            CompiledRule(
                r, check, when, describe(r.check, params), na, messages.get("fail") or None,
                messages.get("pass") or None,
                findings.compile_finding(r.finding, lambda c: compile_condition(c, params)),
            )
        )
    return out


@dataclass
class HostView:
    """What evaluation needs of a collected host (taken from the result document's host).

    ``roles`` are the roles that scope the rules and ``roles_source`` where they came from:
    ``inventory`` (declared), ``inferred`` (from the facts, scanner/roles.py) or ``none``; left
    empty, it is ``inventory`` when there are roles and ``none`` when there are not."""

    name: str
    platform: str | None
    roles: tuple[str, ...]
    reachable: bool
    error: str | None
    facts: dict[str, Any]
    fact_errors: dict[str, str]
    sections: dict[str, dict[str, Any]]
    owner: str | None = None
    transport: str = "ssh"
    fact_basis: Bases = field(default_factory=dict)
    roles_source: str = ""


def _section_problem(host: HostView, needed: tuple[str, ...]) -> str | None:
    """Why the sections a rule needs cannot be judged, or None. A host that could not be scanned
    has no sections but the scanner's own (``scanner.connection``, written when the host key was
    the reason), so only a rule over those is judged there; every other rule is ``error``.

    A rule written for several platforms names the same facts' sections of each target family
    (``requires: [posix.updates, windows.updates]``): a host needs only those of its own."""
    own = _target_family(host)
    mine = tuple(
        s for s in needed if s.split(".", 1)[0] not in TARGET_FAMILIES or s.split(".", 1)[0] == own
    )
    if not mine:
        if not host.reachable:
            return f"host not scanned: {host.error or 'unreachable'}"
        return f"none of the sections {', '.join(needed)} is collected from {own} hosts"
    for s in mine:
        rec = host.sections.get(s)
        if rec is None:
            if not host.reachable:
                return f"host not scanned: {host.error or 'unreachable'}"
            return f"section {s} was not collected"
        if rec.get("status") == "error":
            return f"section {s} could not be collected: {rec.get('error') or 'unknown error'}"
    return None


TARGET_FAMILIES = ("posix", "windows")  # probe families whose scripts run on the target
# the platforms a transport can reach when the host's own platform is not known: only WinRM and
# SNMP are certain (a host reached over SSH may be any of them, Windows with OpenSSH included)
TRANSPORT_PLATFORMS = {"winrm": ("windows",), "snmp": ("network",), "nmap": ("segment",),
                       "graph": ("m365",), "google": ("google-workspace",)}
#: platforms of records that are not machines: declared networks, cloud tenants (scanner/cloud)
NOT_HOSTS = ("segment", "m365", "google-workspace")

PLATFORM_WORDS = {"linux": "Linux", "macos": "macOS", "bsd": "BSD", "windows": "Windows",
                  "network": "network devices", "segment": "declared networks (nmap)",
                  "m365": "Microsoft 365 tenants", "google-workspace": "Google Workspace tenants"}
HOST_WORDS = {"linux": "a Linux host", "macos": "a macOS host", "bsd": "a BSD host",
              "windows": "a Windows host", "network": "a network device",
              "segment": "a declared network, not a single host",
              "m365": "a Microsoft 365 tenant", "google-workspace": "a Google Workspace tenant"}
FAMILY_WORDS = {"posix": "Linux, macOS and BSD", "windows": "Windows"}

#: why a selected rule was not judged on a host (a not_applicable result's ``na_reason``)
NA_REASONS = ("platform", "role", "sections", "precondition")


def _target_family(host: HostView) -> str:
    if host.platform == "windows" or (host.platform is None and host.transport == "winrm"):
        return "windows"
    return "posix"


def _words(items: Iterable[str], last: str = "and") -> str:
    xs = list(items)
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + f" {last} " + xs[-1]


# A rule's scope on a host: None (judge it), or (status, na_reason, message). The status is
# "error" with the reason "platform" only when the host's platform is unknown: what it is cannot
# be told, so the rule is not checked, never "does not apply".
Scope = tuple[str, str, str] | None
UNKNOWN_PLATFORM = "operating system unknown"  # a marker: the message is written per host
_PLATFORM_FAMILY = {"linux": "posix", "macos": "posix", "bsd": "posix", "windows": "windows"}


def scope(rule: Rule, host: HostView) -> Scope:
    """Whether a selected rule is judged on this host, and if not, why: its platforms, its roles
    (only those the inventory declares: inferred roles never narrow scope), or sections of a
    family this host does not have. A precondition (``when``) is judged later, on the facts."""
    platform = host.platform
    if platform is None and host.transport in TRANSPORT_PLATFORMS:
        platform = TRANSPORT_PLATFORMS[host.transport][0]
    if rule.platforms:
        if platform is None:  # a host reached over SSH (or locally) whose system is unknown
            if set(rule.platforms) <= set(NOT_HOSTS):  # whatever it is, a host is not these
                wanted = _words(PLATFORM_WORDS.get(p, p) for p in rule.platforms)
                return ("not_applicable", "platform",
                        f"does not apply: a rule for {wanted}; this is a host")
            if not set(rule.platforms) & set(POSIX_PLATFORMS):
                return ("error", "platform", UNKNOWN_PLATFORM)
        elif platform not in rule.platforms:
            wanted = _words(PLATFORM_WORDS.get(p, p) for p in rule.platforms)
            this = HOST_WORDS.get(platform, "platform " + platform)
            return ("not_applicable", "platform", f"does not apply: a rule for {wanted}; "
                                                  f"this is {this}")
    # A role narrows scope only when written down (issue 13). A host without declared roles is
    # judged by every rule for the roles a host of its family can be (INFERABLE: endpoint and
    # server, so malware protection and backups are never left out on a guess) and for the
    # roles its facts point to; a rule for a role only a declaration gives (a Linux gateway, a
    # backup host) is not applicable, and says so.
    source = host.roles_source or ("inventory" if host.roles else "none")
    if rule.roles and source != "none":
        if source == "inventory":
            held = set(host.roles)
            why = (f"the inventory gives this host the role{'s' if len(host.roles) > 1 else ''} "
                   f"{_words(host.roles)}")
        else:
            family = _PLATFORM_FAMILY.get(platform or "", "")
            held = set(host.roles) | set(INFERABLE.get(family, ()))
            why = ("the inventory gives this host no roles, and only a declared role makes a "
                   "host one of these")
        if not set(rule.roles) & held:
            wanted = _words(rule.roles, "or")
            return ("not_applicable", "role",
                    f"does not apply: a rule for hosts with the role {wanted}; {why}")
    if platform is not None:
        own = _PLATFORM_FAMILY.get(platform)
        families = {s.split(".", 1)[0] for s in rule.requires}
        if families and families <= set(TARGET_FAMILIES) and own not in families:
            where = _words(FAMILY_WORDS[f] for f in sorted(families))
            return ("not_applicable", "sections",
                    f"does not apply: it judges {', '.join(rule.requires)}, collected from "
                    f"{where} hosts only; this is {HOST_WORDS.get(platform, platform)}")
    return None


def _unknown_platform(rule: Rule, host: HostView) -> str:
    """The message of a rule that cannot be scoped on a host whose platform is unknown."""
    if not host.reachable:
        return f"host not scanned: {host.error or 'unreachable'}"
    fam = host.facts.get("os.family")
    if isinstance(fam, str):
        why = f"os.family {fam!r} is not one undone knows"
    else:
        why = "os.family: " + host.fact_errors.get("os.family", "not collected")
    return (f"the operating system of this host is not known ({why}), so whether this rule for "
            f"{_words(PLATFORM_WORDS.get(p, p) for p in rule.platforms)} applies cannot be told; "
            "declare the host's platform in the inventory")


OBSERVED_LIST_CAP = 20


def _cap(value: Any) -> Any:
    """Observed values in a result are for reading: long lists are cut (the host's facts keep
    every item)."""
    if isinstance(value, list) and len(value) > OBSERVED_LIST_CAP:
        return [*value[:OBSERVED_LIST_CAP], f"... and {len(value) - OBSERVED_LIST_CAP} more"]
    return value


# (rules list, platform, roles, roles source, transport) -> each rule with its scope. The cached
# value keeps a reference to the rules list, so its id cannot be reused by another list while
# cached.
_SCOPE_CACHE: dict[
    tuple[int, str | None, tuple[str, ...], str, str],
    tuple[list[CompiledRule], list[tuple[CompiledRule, Scope]]],
] = {}


def _select(rules: list[CompiledRule], host: HostView) -> list[tuple[CompiledRule, Scope]]:
    key = (id(rules), host.platform, host.roles, host.roles_source, host.transport)
    hit = _SCOPE_CACHE.get(key)
    if hit is None or hit[0] is not rules:
        if len(_SCOPE_CACHE) > 256:
            _SCOPE_CACHE.clear()
        hit = _SCOPE_CACHE[key] = (rules, [(cr, scope(cr.rule, host)) for cr in rules])
    return hit[1]


def evaluate_host(
    host: HostView,
    rules: list[CompiledRule],
    contract: Contract,
    waivers: tuple[Waiver, ...] = (),
    today: date | None = None,
) -> list[dict[str, Any]]:
    """One result per rule: every selected rule appears, judged, ``not_applicable`` with its
    reason (``na_reason``: platform, role, sections, precondition), or ``error`` with why."""
    results: list[dict[str, Any]] = []
    facts, fact_errors, bases = host.facts, host.fact_errors, host.fact_basis
    problems: dict[tuple[str, ...], str | None] = {}
    evidence: dict[tuple[str, ...], list[str]] = {}
    owners = contract.owners
    for cr, out_of_scope in _select(rules, host):
        r = cr.rule
        owner = host.owner or owners.get(r.control) or r.owner or contract.default_owner
        if out_of_scope is not None:
            status, why, message = out_of_scope
            if message == UNKNOWN_PLATFORM:
                message = _unknown_platform(r, host)
            res: dict[str, Any] = {
                "host": host.name, "rule": r.id, "title": r.title, "control": r.control,
                "severity": r.severity, "owner": owner, "status": status, "observed": {},
                "expected": cr.expected, "message": message, "evidence": [],
                "first_seen": None, "due": None, "overdue_days": None,
            }
            if status == "not_applicable":
                res["na_reason"] = why
            results.append(res)  # no waiver: a rule that is not checked here needs none
            continue
        observed: dict[str, Any] = {}
        message = ""
        na_reason = None
        req = r.requires
        if req not in problems:
            problems[req] = _section_problem(host, req)
            evidence[req] = [s for s in req if s in host.sections]
        problem = problems[req]
        if problem is not None:
            status, message = "error", problem
        else:
            status = ""
            if cr.when is not None:
                ws, wo, wr, _ = cr.when(facts, fact_errors, bases)
                if ws is None:
                    status, message = "error", "precondition unknown: " + "; ".join(wr)
                elif ws is False:
                    status = "not_applicable"
                    na_reason = "precondition"
                    observed = wo
                    message = cr.na_message
            if not status:
                if cr.check is None:
                    missing = [
                        f"{f}: {fact_errors.get(f, 'not collected')}"
                        for f in r.observe
                        if f not in facts
                    ]
                    if missing:
                        # nothing to review is not a review: the facts are missing
                        status, message = "error", "; ".join(missing)
                    else:
                        status = "manual"
                        observed = {f: facts[f] for f in r.observe}
                        message = "needs a person's review of the observed values"
                else:
                    st, observed, reasons, fails = cr.check(facts, fact_errors, bases)
                    if st is None:
                        status, message = "error", "; ".join(reasons) or "unknown"
                    elif st:
                        status = "pass"
                        if cr.pass_message:
                            message = fill(cr.pass_message, facts)
                    else:
                        status, message = "fail", "; ".join(fails)
                        if cr.fail_prefix:
                            message = f"{fill(cr.fail_prefix, facts)} ({message})"
                for f in r.observe:
                    if f in facts and f not in observed:
                        observed[f] = facts[f]
            for k, v in observed.items():
                if isinstance(v, list) and len(v) > OBSERVED_LIST_CAP:
                    observed[k] = _cap(v)
        res = {
            "host": host.name,
            "rule": r.id,
            "title": r.title,
            "control": r.control,
            "severity": r.severity,
            "owner": owner,
            "status": status,
            "observed": observed,
            "expected": cr.expected,
            "message": message,
            "evidence": evidence[req],
            "first_seen": None,
            "due": None,
            "overdue_days": None,
        }
        if na_reason is not None:
            res["na_reason"] = na_reason
        elif cr.finding is not None and status in ("fail", "manual"):
            text = cr.finding.text(facts, fact_errors, bases)
            if text:
                res["finding"] = text
        if waivers:
            _apply_waivers(res, waivers, today)
        results.append(res)
    return results


def _apply_waivers(res: dict[str, Any], waivers: tuple[Waiver, ...], today: date | None) -> None:
    for w in waivers:
        if not w.covers(res["rule"], res["host"]):
            continue
        info = {"reason": w.reason, "approved_by": w.approved_by, "expires": w.expires.isoformat()}
        if today is not None and w.expires < today:
            res["waiver_expired"] = info
            if res["status"] == "fail":
                res["message"] += f" (a waiver approved by {w.approved_by} expired on {w.expires})"
            continue
        res["waiver"] = info
        if res["status"] == "fail":
            res["status"] = "waived"  # the observed value stays as it was
        return


STATUS_ORDER = ("fail", "error", "waived", "manual", "not_applicable", "pass")


def exit_code(results: Iterable[dict[str, Any]], hosts_unreachable: int) -> int:
    """0 all passed or waived; 1 a fail; 3 no fail but incomplete (unreachable host or error)."""
    incomplete = hosts_unreachable > 0
    for r in results:
        if r["status"] == "fail":
            return 1
        if r["status"] == "error":
            incomplete = True
    return 3 if incomplete else 0
