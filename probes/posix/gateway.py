"""posix.gateway: a Linux gateway's default for traffic to it (input) and through it (forward).

For a Linux host acting as router or firewall (inventory ``device: linux-gateway``, or the role
gateway, firewall or router), the question is not only whether the host protects itself but
whether it forwards anything it was not told to. Reading the kernel's rules needs root.

How the defaults are worked out, per hook (input, forward) and address family (IPv4: nftables
families ip and inet; IPv6: ip6 and inet):

* **nftables** (also iptables-nft's rules, which live there): every base chain of ``type filter``
  on the hook. In a chain, the first rule that is an unconditional verdict (``drop``,
  ``reject ...``, ``accept``; counters, logs and comments aside) decides, else the chain's
  policy. An unconditional ``jump``/``goto`` is followed into its chain (NixOS's ``jump
  nixos-fw``, OpenWrt's ``jump handle_reject``): what that chain decides unconditionally decides,
  a ``return`` or its end comes back. A rule iptables-nft wrote with a target nft cannot show is
  printed ``# xt_REJECT``: unconditional, that is a reject. A jump to a chain the output does not
  hold, or a loop of jumps, makes the default unknown (an error), never accept. A packet must
  pass every base chain on its hook, so one chain that drops by default makes the default drop.
* **iptables** (legacy backend, seen only when nftables holds no chain for the hook):
  ``-P INPUT|FORWARD`` and the first unconditional rule (comments and counters aside) of
  ``-A INPUT|FORWARD``: ``-j DROP``, ``-j REJECT --reject-with ...`` (as ``iptables -S`` always
  prints it), ``-j ACCEPT``, or ``-j``/``-g`` into a user chain, followed the same way.
* No chain at all: the kernel accepts.

Facts: ``gateway.input_policy``, ``gateway.forward_policy`` (IPv4; ``drop``, ``reject`` or
``accept``), ``gateway.input_policy_v6``, ``gateway.forward_policy_v6``, ``gateway.ip_forward``,
``gateway.ip6_forward`` (whether the kernel forwards at all), ``gateway.forwarding_blocked``
(IPv4 forwarding is off, or the forward default is drop/reject), ``gateway.ruleset``
(``nftables``, ``iptables`` or ``none``), ``gateway.chains`` (``[{family, table, chain, hook,
priority, policy, default}]``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from probes.base import Block, Facts, RawSection, guard, lines, split_blocks

PROVIDES = (
    "gateway.input_policy",
    "gateway.forward_policy",
    "gateway.input_policy_v6",
    "gateway.forward_policy_v6",
    "gateway.ip_forward",
    "gateway.ip6_forward",
    "gateway.forwarding_blocked",
    "gateway.ruleset",
    "gateway.chains",
)
NEEDS_ROOT = PROVIDES
_ROOT_REASON = "needs root (allow sudo with become: true)"

_PRIORITY = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50,
             "srcnat": 100}
_TABLE_RE = re.compile(r"^table\s+(\w+)\s+(\S+)\s*\{$")
_CHAIN_RE = re.compile(r"^chain\s+(\S+)\s*\{$")
_HOOK_RE = re.compile(
    r"type\s+(\w+)\s+hook\s+(\w+)(?:\s+device\s+\S+)?\s+priority\s+([^;\s][^;]*);"
    r"(?:\s*policy\s+(\w+);)?"
)
# whole words only: a chain may be named "nixos-fw-log-refuse"
_NOISE_RE = re.compile(
    r'(?<![\w-])(?:counter(?: packets \d+ bytes \d+)?|comment "[^"]*(?:"|$)|'
    r'log(?: prefix "[^"]*(?:"|$))?(?: level \w+)?(?: flags [\w,]+)?)(?![\w-])'
)


@dataclass
class Chain:
    family: str
    table: str
    name: str
    hook: str | None = None
    kind: str | None = None
    priority: int = 0
    policy: str = "accept"
    default: str | None = None  # first unconditional verdict, then the policy; or "unknown"
    rules: list[str] = field(default_factory=list)
    why: str | None = None  # why the default is unknown


def _priority(text: str) -> int:
    text = text.strip()
    m = re.match(r"^([a-z]+)\s*([+-])\s*(\d+)$", text)
    if m:
        base = _PRIORITY.get(m.group(1), 0)
        return base + int(m.group(3)) * (1 if m.group(2) == "+" else -1)
    if text in _PRIORITY:
        return _PRIORITY[text]
    try:
        return int(text)
    except ValueError:
        return 0


def nft_chains(text: str) -> list[Chain]:
    """Base and regular chains of an ``nft list ruleset`` text, with each base chain's
    default (first unconditional verdict, else the policy)."""
    chains: list[Chain] = []
    family = table = None
    cur: Chain | None = None
    for raw in lines(text):
        line = raw.strip()
        m = _TABLE_RE.match(line)
        if m:
            family, table = m.group(1), m.group(2)
            continue
        m = _CHAIN_RE.match(line)
        if m and family is not None and table is not None:
            cur = Chain(family, table, m.group(1))
            chains.append(cur)
            continue
        if cur is None:
            continue
        if line == "}":
            cur = None
            continue
        h = _HOOK_RE.search(line)
        if h:
            cur.kind, cur.hook = h.group(1), h.group(2)
            cur.priority = _priority(h.group(3))
            cur.policy = h.group(4) or "accept"
            continue
        if line:
            cur.rules.append(line)
    by_table: dict[tuple[str, str, str], Chain] = {}
    for c in chains:
        by_table.setdefault((c.family, c.table, c.name), c)
    memo: dict[tuple[str, str, str], str | None] = {}
    parsed: dict[tuple[str, str, str], list[_Step]] = {}

    def steps_of(key: tuple[str, str, str]) -> list[_Step] | None:
        if key not in by_table:
            return None
        if key not in parsed:
            parsed[key] = [_nft_step(r) for r in by_table[key].rules]
        return parsed[key]

    for c in chains:
        if c.hook is None:
            continue
        _settle(c, _outcome((c.family, c.table, c.name), steps_of, memo))
    return chains


def _settle(c: Chain, outcome: str | None) -> None:
    if outcome is None:
        c.default = c.policy
    elif outcome.startswith("unknown:"):
        c.default, c.why = "unknown", outcome[len("unknown:") :]
    else:
        c.default = outcome


_XT_RE = re.compile(r"^# xt_([A-Z][A-Z0-9_]*)$")
_JUMP_RE = re.compile(r"^(jump|goto) (\S+)$")
# a step of a chain: None (conditional, or no verdict), ("final", verdict), ("return", ""),
# ("jump"|"goto", chain name)
_Step = tuple[str, str] | None


def _nft_step(rule: str) -> _Step:
    bare = " ".join(_NOISE_RE.sub("", rule).split())
    if bare in ("accept", "drop", "reject") or bare.startswith("reject with "):
        return ("final", bare.split(" ")[0])
    if bare == "return":
        return ("return", "")
    m = _JUMP_RE.match(bare)
    if m:
        return (m.group(1), m.group(2))
    x = _XT_RE.match(bare)
    if x and x.group(1) == "REJECT":
        return ("final", "reject")  # iptables-nft's REJECT, which nft cannot print
    return None


_MAX_JUMPS = 16  # the kernel's own limit on nested jumps


def _outcome(
    key: tuple[str, str, str],
    steps_of: Callable[[tuple[str, str, str]], list[_Step] | None],
    memo: dict[tuple[str, str, str], str | None],
    depth: int = 0,
) -> str | None:
    """What chain ``key`` decides for traffic no condition matches: a verdict, None (it comes
    back to its caller) or ``"unknown:<why>"``. Each chain is worked out once (``memo``)."""
    if key in memo:
        return memo[key]
    if depth > _MAX_JUMPS:
        return f"unknown:jumps nest deeper than {_MAX_JUMPS} chains (a loop?) at {key[2]}"
    steps = steps_of(key)
    if steps is None:
        return f"unknown:a rule jumps to chain {key[2]}, which the output does not hold"
    memo[key] = "unknown:the chains jump in a loop"  # seen again while being worked out
    result: str | None = None
    for step in steps:
        if step is None:
            continue
        kind, arg = step
        if kind == "final":
            result = arg
            break
        if kind == "return":
            break
        sub = _outcome((key[0], key[1], arg), steps_of, memo, depth + 1)
        if sub is not None:
            result = sub
            break
        if kind == "goto":
            break  # the goto's chain came back: to this chain's caller
    memo[key] = result
    return result


def _nft_default(chains: list[Chain], hook: str, families: tuple[str, ...]) -> str | None:
    """drop/reject/accept, ``"unknown:<why>"``, or None when no base chain is on the hook."""
    mine = sorted((c for c in chains if c.hook == hook and c.kind == "filter"
                   and c.family in families), key=lambda c: c.priority)
    if not mine:
        return None
    for c in mine:
        if c.default in ("drop", "reject"):
            return c.default
    unknown = next((c for c in mine if c.default == "unknown"), None)
    if unknown is not None:
        return f"unknown:{unknown.family} {unknown.table} chain {unknown.name}: {unknown.why}"
    return "accept"


_IPT_COMMENT_RE = re.compile(r'-m comment --comment (?:"(?:[^"\\]|\\.)*"|\S+)\s*')
_IPT_COUNTERS_RE = re.compile(r"^-c \d+ \d+\s*")


def _ipt_step(spec: str, user_chains: set[str]) -> _Step:
    """One ``-A CHAIN`` rule's spec (after the chain name) as a step: unconditional only when
    nothing but a comment or counters comes before its ``-j``/``-g``."""
    bare = _IPT_COMMENT_RE.sub("", _IPT_COUNTERS_RE.sub("", spec.strip())).split()
    if len(bare) < 2 or bare[0] not in ("-j", "-g"):
        return None
    target, rest = bare[1], bare[2:]
    if target in ("ACCEPT", "DROP") and not rest:
        return ("final", target.lower())
    if target == "REJECT" and (not rest or rest[0] == "--reject-with"):
        return ("final", "reject")
    if target == "RETURN" and not rest:
        return ("return", "")
    if target in user_chains and not rest:
        return ("jump" if bare[0] == "-j" else "goto", target)
    return None  # LOG and other targets that do not decide


def iptables_outcome(text: str, chain: str) -> str | None:
    """The default of ``chain`` (INPUT, FORWARD) from ``iptables -S``: drop/reject/accept,
    ``"unknown:<why>"``, or None when the output has no such chain."""
    policy: str | None = None
    user_chains: set[str] = set()
    rules: dict[str, list[str]] = {}
    for line in lines(text):
        parts = line.split(None, 2)
        if len(parts) >= 3 and parts[0] == "-P" and parts[1] == chain:
            policy = parts[2].strip().lower()
        elif len(parts) >= 2 and parts[0] == "-N":
            user_chains.add(parts[1])
        elif len(parts) >= 3 and parts[0] == "-A":
            rules.setdefault(parts[1], []).append(parts[2])
    if policy is None:
        return None
    parsed: dict[tuple[str, str, str], list[_Step]] = {}

    def steps_of(key: tuple[str, str, str]) -> list[_Step] | None:
        name = key[2]
        if name != chain and name not in user_chains:
            return None
        if key not in parsed:
            parsed[key] = [_ipt_step(r, user_chains) for r in rules.get(name, [])]
        return parsed[key]

    outcome = _outcome(("ip", "filter", chain), steps_of, {})
    return policy if outcome is None else outcome


def iptables_default(text: str, chain: str) -> str | None:
    """Like :func:`iptables_outcome`, with an unknown default as ``"unknown"``."""
    value = iptables_outcome(text, chain)
    return "unknown" if value is not None and value.startswith("unknown:") else value


def _flag(block: Block | None) -> bool | None:
    if block is None or not block.ok:
        return None
    text = block.text.strip()
    return None if text not in ("0", "1") else text == "1"


def _body(raw: RawSection, f: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    end = blocks.get("end")
    if end is None or end.rc is None:
        f.error_all(PROVIDES, "output cut off before the section finished")
        return
    uid = blocks.get("uid")
    if uid is None or uid.text.strip() != "0":
        f.error_all(NEEDS_ROOT, _ROOT_REASON)
        return
    fwd, fwd6 = _flag(blocks.get("ip_forward")), _flag(blocks.get("ip6_forward"))
    if fwd is None:
        f.error("gateway.ip_forward", "/proc/sys/net/ipv4/ip_forward could not be read")
    else:
        f.set("gateway.ip_forward", fwd)
    if fwd6 is None:
        f.error("gateway.ip6_forward", "/proc/sys/net/ipv6/conf/all/forwarding could not be read")
    else:
        f.set("gateway.ip6_forward", fwd6)
    nft = blocks.get("nft")
    ipt = blocks.get("iptables")
    rules_facts = [p for p in PROVIDES if p not in ("gateway.ip_forward", "gateway.ip6_forward")]
    if nft is None or (not nft.ok and not nft.missing):
        f.error_all(rules_facts, nft.why("nft list ruleset") if nft else "nft was not run")
        return
    if nft.missing and (ipt is None or not ipt.ok):
        f.error_all(rules_facts, "neither nft nor iptables could be run: the kernel's rules "
                                 "cannot be read")
        return
    chains = nft_chains(nft.text) if nft.ok else []
    f.set("gateway.chains", [
        {"family": c.family, "table": c.table, "chain": c.name, "hook": c.hook,
         "priority": c.priority, "policy": c.policy, "default": c.default}
        for c in chains if c.hook in ("input", "forward")
    ])
    ipt_text = ipt.text if ipt is not None and ipt.ok else ""
    used = set()
    for hook, fact, families in (
        ("input", "gateway.input_policy", ("ip", "inet")),
        ("forward", "gateway.forward_policy", ("ip", "inet")),
        ("input", "gateway.input_policy_v6", ("ip6", "inet")),
        ("forward", "gateway.forward_policy_v6", ("ip6", "inet")),
    ):
        value = _nft_default(chains, hook, families)
        if value is not None:
            used.add("nftables")
        elif not fact.endswith("_v6"):
            value = iptables_outcome(ipt_text, hook.upper())
            if value is not None:
                used.add("iptables")
        if value is not None and value.startswith("unknown:"):
            f.error(fact, f"the {hook} default cannot be told: {value[len('unknown:'):]}"[:300])
        else:
            f.set(fact, value or "accept")
    f.set("gateway.ruleset", "nftables" if "nftables" in used
          else "iptables" if "iptables" in used else "none")
    if fwd is False:
        f.set("gateway.forwarding_blocked", True)
    elif fwd is None:
        f.error("gateway.forwarding_blocked", "whether the kernel forwards IPv4 is unknown")
    elif "gateway.forward_policy" in f.values:
        blocked = f.values["gateway.forward_policy"] in ("drop", "reject")
        f.set("gateway.forwarding_blocked", blocked)
    else:
        f.error("gateway.forwarding_blocked", f.errors["gateway.forward_policy"])


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
