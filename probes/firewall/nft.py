"""The one parser of ``nft list ruleset``, for every section that reads a Linux host's nftables
rules (``posix.firewall``: the input hook; ``posix.gateway``: input and forward).

:func:`nft_chains` reads the text into its chains (base chains with their type, hook, priority
and policy; regular chains too, as jump targets), one line at a time and counting braces, so a
set, a map or an anonymous set that spans lines is never taken for a rule or for the end of a
chain; a brace inside a quoted string (``comment "ssh }"``) is text, not a block. A rule is one
line of the chain's body, as nft prints it.

What a base chain decides for traffic no condition matches is :attr:`Chain.default`, which
:func:`nft_chains` sets on every base chain (:func:`outcome`, which
:mod:`probes.firewall.iptables` walks as well):

* the rules are read in order; a rule with a condition (a match, a ``limit``, a verdict map) is
  passed over: unmatched traffic goes on to the next rule;
* but the question is what becomes of a *new* connection, so a rule whose only match is on
  its conntrack state, and whose states take in ``new`` (``ct state new accept``,
  ``ct state established,related,new accept``, ``ct state { established, new } jump X``,
  ``ct state != invalid accept``), is unconditional: its verdict is the step. So is a
  ``ct state vmap { ... }`` with a ``new`` key: the verdict mapped to ``new`` is the step (a
  map without one lets a new connection go on). States that leave ``new`` out
  (``established,related``, ``invalid``) stay a condition, and so does a state match beside
  any other match (``ct state new tcp dport 22 accept``). A state list or verdict map the walk
  cannot read (a mask, a combined value, a named map, a map over several lines) makes the
  step unknown, never a skip;
* an unconditional ``drop``, ``reject ...`` or ``accept`` (counters, logs and comments aside)
  decides; so does a rule iptables-nft wrote with a target nft cannot show (``# xt_REJECT``: a
  reject);
* an unconditional ``jump X`` goes into ``X``: what ``X`` (and the chains it jumps to) decides
  unconditionally decides; if ``X`` comes back (a ``return``, or its end), the rules after the
  jump go on. So a jump to a chain that accepts everything is an accept, and a jump to a chain
  whose only refusals are conditional comes back;
* an unconditional ``goto X`` goes into ``X`` without coming back: if ``X`` comes back, it comes
  back to the caller of the chain that did the ``goto`` (for a base chain: its policy);
* a ``return``, or the end of the rules, comes back: in a base chain, the policy decides;
* a jump to a chain the output does not hold (a listing of one chain, a cut paste), or a loop,
  or jumps nested deeper than the kernel allows make it ``"unknown"``, with :attr:`Chain.why`;
  so does an unconditional ``queue`` (a userspace program, such as an application firewall,
  decides each packet; with ``bypass``, or without a program listening, the kernel goes on).

:func:`hook_default` combines the base chains on one hook. Linear in the text: each chain is
worked out once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby

from probes.base import lines

#: nft's named priorities (``priority filter + 10``)
PRIORITY = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50,
            "srcnat": 100}
_TABLE_RE = re.compile(r"^table\s+(\w+)\s+(\S+)\s*\{$")
_FLAGS_RE = re.compile(r"^flags\s+([\w,\s]+)$")
_CHAIN_RE = re.compile(r"^chain\s+(\S+)\s*\{$")
_HOOK_RE = re.compile(
    r"type\s+(\w+)\s+hook\s+(\w+)(?:\s+device\s+\S+)?\s+priority\s+([^;\s][^;]*);"
    r"(?:\s*policy\s+(\w+);)?"
)
# whole words only: a chain may be named "nixos-fw-log-refuse". Besides counters, logs and
# comments, a statement that sets a packet's or connection's mark, trace or priority matches
# every packet, so "meta mark set 0x00000001 accept" is an unconditional accept (taking it for
# a condition made a drop policy behind it pass). Header statements (ip dscp set ...) are not
# here: in an inet table they imply a match on the protocol.
_NOISE_RE = re.compile(
    r'(?<![\w-])(?:counter(?: packets \d+ bytes \d+)?|comment "[^"]*(?:"|$)|'
    r'log(?: prefix "[^"]*(?:"|$))?(?: level \w+)?(?: flags [\w,]+)?|'
    r'(?:meta|ct) (?:mark|nftrace|priority) set (?:(?:meta|ct) mark|[\w:]+))(?![\w-])'
)
_XT_RE = re.compile(r"^# xt_([A-Z][A-Z0-9_]*)$")
#: the states ``ct state`` prints by name
CT_STATES = frozenset({"invalid", "established", "related", "new", "untracked"})
# "ct state [!=] <states> <the rest>": the states as nft prints them, a list ("established,new")
# or an anonymous set; a mask ("new / established,new") or a combined value ("established |
# related") is taken whole and then found unreadable
_CT_MATCH_RE = re.compile(
    r"^ct state (!= )?(\{[^{}]*\}|[\w,]+(?: [|/] [\w,]+)*) (.+)$"
)
_CT_VMAP_RE = re.compile(r"^ct state vmap \{ ([^{}]*) \}$")
_CT_ELEMENT_RE = re.compile(r"^(\w+) : ((?:jump|goto) \S+|\w+)$")
_JUMP_RE = re.compile(r"^(jump|goto) (\S+)$")
# a quoted string (a comment, a log prefix, an interface name): its braces are text, not blocks
_QUOTED_RE = re.compile(r'"[^"]*(?:"|$)')
#: the kernel's own limit on nested jumps
MAX_JUMPS = 16
#: an unconditional ``queue``: a program decides, out of the ruleset's sight
QUEUED = ("unknown:an unconditional queue hands every packet to a userspace program, "
          "whose verdicts the ruleset does not show")

#: a step of a chain: None (conditional, or no verdict), ("final", verdict), ("return", ""),
#: ("jump"|"goto", chain name)
Step = tuple[str, str] | None
#: a chain's key: (family, table, chain)
Key = tuple[str, str, str]


@dataclass
class Chain:
    family: str
    table: str
    name: str
    hook: str | None = None
    kind: str | None = None  # the base chain's type: filter, nat, route
    priority: int = 0
    policy: str = "accept"
    default: str | None = None  # worked out through jumps, else the policy; or "unknown"
    rules: list[str] = field(default_factory=list)
    why: str | None = None  # why the default is unknown
    dormant: bool = False  # its table is "flags dormant": no base chain of it is on a hook


def priority(text: str) -> int:
    """A base chain's priority as a number: ``filter``, ``filter + 10``, ``-150``; 0 if unread."""
    text = text.strip()
    m = re.match(r"^([a-z]+)\s*([+-])\s*(\d+)$", text)
    if m:
        base = PRIORITY.get(m.group(1), 0)
        return base + int(m.group(3)) * (1 if m.group(2) == "+" else -1)
    if text in PRIORITY:
        return PRIORITY[text]
    try:
        return int(text)
    except ValueError:
        return 0


def _bare(rule: str) -> str:
    return " ".join(_NOISE_RE.sub(" ", rule).split())


def verdict(rule: str) -> str | None:
    """``drop``, ``reject`` or ``accept`` when ``rule`` is that verdict and nothing else
    (counters, logs and comments aside); else None."""
    bare = _bare(rule)
    if bare in ("accept", "drop", "reject") or bare.startswith("reject with "):
        return bare.split(" ")[0]
    return None


def step(rule: str) -> Step:
    """One rule as a step of a walk through the chains (see :data:`Step`)."""
    final = verdict(rule)
    if final is not None:
        return ("final", final)
    bare = _bare(rule)
    if bare.startswith("ct state "):
        return _ct_state_step(bare)
    return _action(bare)


def _action(bare: str) -> Step:
    """A rule that is only its verdict (noise already taken out) as a step; else None."""
    final = verdict(bare)
    if final is not None:
        return ("final", final)
    if bare == "return":
        return ("return", "")
    m = _JUMP_RE.match(bare)
    if m:
        return (m.group(1), m.group(2))
    if bare == "queue" or bare.startswith("queue "):
        return ("final", QUEUED)
    x = _XT_RE.match(bare)
    if x and x.group(1) == "REJECT":
        return ("final", "reject")  # iptables-nft's REJECT, which nft cannot print
    if x and x.group(1) == "NFQUEUE":
        return ("final", QUEUED)
    return None


def _ct_states(text: str) -> set[str] | None:
    """The states of a printed ``ct state`` list (``new``, ``established,related``,
    ``{ established, new }``); None when it is not a plain list of known states."""
    body = text[1:-1] if text.startswith("{") and text.endswith("}") else text
    names = [n.strip() for n in body.split(",")]
    if not names or any(n not in CT_STATES for n in names):
        return None
    return set(names)


def _ct_unread(bare: str, what: str) -> Step:
    return ("final", f"unknown:a rule's {what} cannot be read, so whether it decides every "
                     f"new connection is unknown: {bare[:120]}")


def _ct_state_step(bare: str) -> Step:
    """A rule that begins with a ``ct state`` match (``bare``: noise taken out), for a new
    connection: the step of its verdict when its only match takes in ``new`` (or, for a
    ``ct state vmap``, the verdict mapped to ``new``); None when it leaves ``new`` out or
    matches on more; unknown when its states or map cannot be read."""
    if bare.startswith("ct state vmap "):
        m = _CT_VMAP_RE.match(bare)
        if m is None:
            return _ct_unread(bare, "ct state verdict map")
        mapped: dict[str, str] = {}
        for element in m.group(1).split(","):
            kv = _CT_ELEMENT_RE.match(element.strip())
            if kv is None or kv.group(1) not in CT_STATES:
                return _ct_unread(bare, "ct state verdict map")
            mapped[kv.group(1)] = kv.group(2)
        if "new" not in mapped or mapped["new"] == "continue":
            return None  # a new connection goes on to the next rule
        target = _action(mapped["new"])
        if target is None:
            return _ct_unread(bare, "ct state verdict map")
        return target
    m = _CT_MATCH_RE.match(bare)
    if m is None:
        return None  # a state match beside others: a condition, as any match
    action = _action(m.group(3))
    if action is None:
        return None  # a condition on more than the state, or no verdict
    states = _ct_states(m.group(2))
    if states is None:
        return _ct_unread(bare, "ct state list")
    negated = m.group(1) is not None
    if negated and len(states) > 1 and not m.group(2).startswith("{"):
        # "!= established | related": nft compares the whole value, not each state
        return _ct_unread(bare, "ct state list")
    return action if ("new" in states) != negated else None


def nft_chains(text: str) -> list[Chain]:
    """Every chain of an ``nft list ruleset`` text, in the order printed, with each base chain's
    :attr:`Chain.default` worked out."""
    chains: list[Chain] = []
    family = table = ""
    chain: Chain | None = None
    depth = 0
    dormant: set[tuple[str, str]] = set()
    for raw in lines(text):
        line = raw.strip()
        if not line:
            continue
        t = _TABLE_RE.match(line)
        if t and depth == 0:
            family, table = t.group(1), t.group(2)
            depth = 1
            continue
        c = _CHAIN_RE.match(line)
        if c and depth == 1:
            chain = Chain(family=family, table=table, name=c.group(1))
            chains.append(chain)
            depth = 2
            continue
        f = _FLAGS_RE.match(line)
        if f and depth == 1 and "dormant" in re.split(r"[,\s]+", f.group(1)):
            dormant.add((family, table))
        if chain is not None and depth == 2 and not line.startswith("}"):
            h = _HOOK_RE.match(line)  # the line nft begins a base chain with, not a comment
            if h and chain.hook is None:
                chain.kind, chain.hook = h.group(1), h.group(2)
                chain.priority = priority(h.group(3))
                chain.policy = h.group(4) or "accept"
            elif not line.startswith(("type ", "policy ")):
                chain.rules.append(line)
        code = _QUOTED_RE.sub('""', line)
        depth = max(depth + code.count("{") - code.count("}"), 0)
        if chain is not None and depth <= 1:
            chain = None
    for one in chains:
        one.dormant = (one.family, one.table) in dormant
    _settle_all(chains)
    return chains


def _settle_all(chains: list[Chain]) -> None:
    by_key: dict[Key, Chain] = {}
    for c in chains:
        by_key.setdefault((c.family, c.table, c.name), c)
    memo: dict[Key, str | None] = {}
    parsed: dict[Key, list[Step]] = {}

    def steps_of(key: Key) -> list[Step] | None:
        if key not in by_key:
            return None
        if key not in parsed:
            parsed[key] = [step(r) for r in by_key[key].rules]
        return parsed[key]

    for c in chains:
        if c.hook is None:
            continue
        result = outcome((c.family, c.table, c.name), steps_of, memo)
        if result is None:
            c.default = c.policy.lower()
        elif result.startswith("unknown:"):
            c.default, c.why = "unknown", result[len("unknown:") :]
        else:
            c.default = result


def hook_default(chains: list[Chain], hook: str, families: tuple[str, ...]) -> str | None:
    """What the filter base chains on ``hook`` of the address ``families`` decide together for
    traffic no condition matches: ``drop``, ``reject`` or ``accept``; ``"unknown:<why>"``; or
    None when no such chain exists (the kernel then accepts). A dormant table's chains
    (``flags dormant``, which ``nft list ruleset`` prints first in the table) are on no hook.

    A packet meets every base chain on the hook in priority order: an accept hands it to the
    next, a drop or reject ends it. So the first priority at which some chain refuses decides,
    but only when nothing before or beside it is unknown (that chain might refuse first, or
    refuse differently), and when its chains refuse one way: a drop and a reject at the same
    priority run in an order the kernel chooses. Otherwise the result is unknown, never a guess.
    """
    mine = sorted((c for c in chains if c.hook == hook and c.kind == "filter"
                   and c.family in families and not c.dormant), key=lambda c: c.priority)
    if not mine:
        return None
    unknown: Chain | None = None
    for prio, group in groupby(mine, key=lambda c: c.priority):
        at = list(group)
        unknown = unknown or next((c for c in at if c.default == "unknown"), None)
        refusing = [c for c in at if c.default in ("drop", "reject")]
        if not refusing:
            continue
        if unknown is not None:
            return (f"unknown:{unknown.family} {unknown.table} chain {unknown.name}: "
                    f"{unknown.why}")
        ways = sorted({str(c.default) for c in refusing})
        if len(ways) > 1:
            names = ", ".join(f"{c.name} {c.default}s" for c in refusing)
            return (f"unknown:at priority {prio} {names}: which runs first is the kernel's "
                    "choice")
        return ways[0]
    if unknown is not None:
        return f"unknown:{unknown.family} {unknown.table} chain {unknown.name}: {unknown.why}"
    return "accept"


def outcome(
    key: Key,
    steps_of: Callable[[Key], list[Step] | None],
    memo: dict[Key, str | None],
    depth: int = 0,
) -> str | None:
    """What chain ``key`` decides for traffic no condition matches: a verdict, None (it comes
    back to its caller) or ``"unknown:<why>"``. Each chain is worked out once (``memo``)."""
    if key in memo:
        return memo[key]
    if depth > MAX_JUMPS:
        return f"unknown:jumps nest deeper than {MAX_JUMPS} chains (a loop?) at {key[2]}"
    steps = steps_of(key)
    if steps is None:
        return f"unknown:a rule jumps to chain {key[2]}, which the output does not hold"
    memo[key] = "unknown:the chains jump in a loop"  # seen again while being worked out
    result: str | None = None
    for s in steps:
        if s is None:
            continue
        kind, arg = s
        if kind == "final":
            result = arg
            break
        if kind == "return":
            break
        sub = outcome((key[0], key[1], arg), steps_of, memo, depth + 1)
        if sub is not None:
            result = sub
            break
        if kind == "goto":
            break  # the goto's chain came back: to this chain's caller
    memo[key] = result
    return result
