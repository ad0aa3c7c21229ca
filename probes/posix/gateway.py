"""posix.gateway: a Linux gateway's default for traffic to it (input) and through it (forward).

For a Linux host acting as router or firewall (inventory ``device: linux-gateway``, or the role
gateway, firewall or router), the question is not only whether the host protects itself but
whether it forwards anything it was not told to. Reading the kernel's rules needs root.

How the defaults are worked out, per hook (input, forward) and address family (IPv4: nftables
families ip and inet; IPv6: ip6 and inet):

* **nftables** (also iptables-nft's rules, which live there): every base chain of ``type filter``
  on the hook. In a chain, the first rule that is an unconditional verdict (``drop``,
  ``reject ...``, ``accept``; counters, logs and comments aside) decides, else the chain's
  policy. A packet must pass every base chain on its hook, so one chain that drops by default
  makes the default drop.
* **iptables** (legacy backend, seen only when nftables holds no chain for the hook):
  ``-P INPUT|FORWARD`` and an unconditional ``-A INPUT|FORWARD -j DROP/REJECT``.
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
_NOISE_RE = re.compile(
    r'counter(?: packets \d+ bytes \d+)?|comment "[^"]*(?:"|$)|'
    r'log(?: prefix "[^"]*(?:"|$))?(?: level \w+)?(?: flags [\w,]+)?'
)
_VERDICTS = ("accept", "drop", "reject")


@dataclass
class Chain:
    family: str
    table: str
    name: str
    hook: str | None = None
    kind: str | None = None
    priority: int = 0
    policy: str = "accept"
    default: str | None = None  # first unconditional verdict, then the policy
    rules: list[str] = field(default_factory=list)


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
    for c in chains:
        if c.hook is None:
            continue
        for rule in c.rules:
            bare = _NOISE_RE.sub("", rule).strip()
            word = bare.split(" ")[0] if bare else ""
            if word in _VERDICTS and (bare == word or bare.startswith("reject with ")):
                c.default = word
                break
        if c.default is None:
            c.default = c.policy
    return chains


def _nft_default(chains: list[Chain], hook: str, families: tuple[str, ...]) -> str | None:
    mine = sorted((c for c in chains if c.hook == hook and c.kind == "filter"
                   and c.family in families), key=lambda c: c.priority)
    if not mine:
        return None
    for c in mine:
        if c.default in ("drop", "reject"):
            return c.default
    return "accept"


def iptables_default(text: str, chain: str) -> str | None:
    """The default of ``chain`` (INPUT, FORWARD) from ``iptables -S``, or None without it."""
    policy = None
    for line in lines(text):
        parts = line.split()
        if parts[:2] == ["-P", chain] and len(parts) >= 3:
            policy = parts[2].lower()
        elif parts[:2] == ["-A", chain] and len(parts) == 4 and parts[2] == "-j":
            verdict = parts[3].lower()
            if verdict in _VERDICTS:
                return verdict
    return policy


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
            value = iptables_default(ipt_text, hook.upper())
            if value is not None:
                used.add("iptables")
        f.set(fact, value or "accept")
    f.set("gateway.ruleset", "nftables" if "nftables" in used
          else "iptables" if "iptables" in used else "none")
    if fwd is not None:
        f.set("gateway.forwarding_blocked",
              (not fwd) or f.values["gateway.forward_policy"] in ("drop", "reject"))
    else:
        f.error("gateway.forwarding_blocked", "whether the kernel forwards IPv4 is unknown")


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
