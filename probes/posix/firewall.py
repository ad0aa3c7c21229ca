"""posix.firewall: which host firewall filters inbound traffic, and what it does by default.

Reading the kernel's rules needs root. As another user every fact is an error, "needs root
(allow sudo with become: true)": a scan without root must not say "no firewall".

How the default is worked out:

* **ufw** (``Status: active``): its ``Default: deny (incoming)`` line; deny is drop.
* **nftables** (also firewalld's and iptables-nft's rules, which live in nftables): every base
  chain with ``type filter hook input``, read by the one nftables parser,
  :mod:`probes.firewall.nft`, as ``posix.gateway`` reads it. A chain's default
  (:attr:`~probes.firewall.nft.Chain.default`) is its first unconditional verdict (``drop``,
  ``reject ...``, ``accept``; counters, logs and comments aside), else its policy, with
  unconditional ``jump``/``goto`` followed into their chains: so an accept policy closed by a
  final ``drop``/``reject`` rule counts as drop, and so does NixOS's ``policy accept`` closed by
  ``jump nixos-fw``, whose last rule jumps on to a refusal; a jump to a chain that accepts
  everything is an accept, one to a chain that comes back (``return``, or no unconditional
  verdict) goes on. The default is for a new connection: a rule whose only match is its
  conntrack state, taking in ``new`` (``ct state new accept``, a ``ct state vmap`` whose ``new``
  jumps on), counts as unconditional. A packet must pass every input chain, so the first chain
  (by priority) that does not accept gives the answer (:func:`~probes.firewall.nft.hook_default`).
  ``default_inbound`` is for IPv4 (families ip and inet), ``default_inbound_v6`` for IPv6 (ip6
  and inet). When that cannot be told (a jump to a chain the output does not hold, a loop, an
  unconditional ``queue`` to a userspace program, such a chain at or before the first one that
  refuses, or a drop and a reject at one priority) the fact is an error that names the chain,
  never a guess.
* **iptables** (legacy backend, seen only through ``iptables -S``, when nftables holds no input
  chain): ``-P INPUT`` and the first unconditional rule of ``-A INPUT`` (comments and counters
  aside; a state match alone that takes in ``NEW`` counts as unconditional), with ``-j``/``-g``
  into a user chain followed as nftables jumps are, the walk
  ``posix.gateway`` makes (:func:`probes.firewall.iptables.iptables_outcome`): NixOS's
  ``-A INPUT -j nixos-fw`` ends in ``nixos-fw-refuse``'s ``-j DROP``.
* **firewalld** (``firewall-cmd --state`` says running): kind firewalld, default from its
  nftables (or iptables) rules.

``firewall.services`` holds ``systemctl is-active`` of ufw, firewalld and nftables where systemd
runs (null where it does not): a hint only; the kernel's rules decide.

``firewall.kind`` is what manages the filter: "ufw", "firewalld", "nftables", "iptables" (an
iptables-nft ruleset: only ``ip``/``ip6`` tables named filter with upper-case chains), or "none".
``firewall.active`` is true when some input filter is loaded (a ufw or firewalld that runs, or at
least one input base chain). With no input chain and no firewall tool running, kind is "none",
active false and default_inbound "accept": nothing filters inbound traffic.
"""

from __future__ import annotations

import re

from probes import firewall as family
from probes.base import Block, Facts, RawSection, guard, split_blocks
from probes.firewall.iptables import iptables_outcome
from probes.firewall.nft import Chain, hook_default, nft_chains

PROVIDES = (*family.PROVIDES, "firewall.input_chains")
NEEDS_ROOT = PROVIDES

_UFW_DEFAULT_RE = re.compile(r"^Default:\s*(\w+)\s*\(incoming\)")
_VERDICT = {
    "deny": "drop",
    "drop": "drop",
    "reject": "reject",
    "allow": "accept",
    "accept": "accept",
}


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    uid = blocks.get("uid")
    if uid is None or not uid.ok or not uid.text.strip().isdigit():
        facts.error_all(PROVIDES, (uid or Block("", None)).why("id -u"))
        return
    if int(uid.text.strip()) != 0:
        facts.error_all(PROVIDES, family.ROOT_REASON)
        return

    ufw = blocks.get("ufw")
    fwd = blocks.get("firewalld")
    nft = blocks.get("nft")
    ipt = blocks.get("iptables")
    ip6t = blocks.get("ip6tables")
    for b, what in ((ufw, "ufw"), (fwd, "firewall-cmd"), (nft, "nft"), (ipt, "iptables")):
        if b is None or b.rc is None:
            facts.error_all(PROVIDES, (b or Block("", None)).why(what))
            return

    chains = _input_chains(nft) if nft is not None and nft.ok else None
    if chains is not None:
        facts.set(
            "firewall.input_chains",
            [
                {
                    "family": c.family,
                    "table": c.table,
                    "chain": c.name,
                    "priority": c.priority,
                    "policy": c.policy.lower(),
                    "effective": c.default,
                    "rules": len(c.rules),
                }
                for c in chains
            ],
        )
    elif nft is not None and nft.missing:
        facts.set("firewall.input_chains", [])
    else:
        facts.error("firewall.input_chains", (nft or Block("", None)).why("nft list ruleset"))
    services = _services(blocks.get("services"))
    facts.set("firewall.services", services)
    ipt_state = _iptables(ipt) if ipt is not None and ipt.ok else None
    ip6t_state = _iptables(ip6t) if ip6t is not None and ip6t.ok else None

    # ufw
    if ufw is not None and ufw.ok and "Status: active" in ufw.text:
        default = next(
            (
                _VERDICT.get(m.group(1).lower())
                for m in (_UFW_DEFAULT_RE.match(ln.strip()) for ln in ufw.lines())
                if m
            ),
            None,
        )
        if default is None:
            facts.error_all(PROVIDES, "ufw status verbose: no 'Default: ... (incoming)' line")
            return
        line = next(ln.strip() for ln in ufw.lines() if ln.strip().startswith("Default:"))
        _set(facts, "ufw", True, default, default, f"ufw active; {line}")
        return

    nft_v4 = _verdict(chains, ("ip", "inet")) if chains is not None else None
    nft_v6 = _verdict(chains, ("ip6", "inet")) if chains is not None else None

    if fwd is not None and fwd.ok and fwd.text.strip().startswith("running"):
        if chains:
            detail = "firewalld running; " + _describe(chains)
            _set(facts, "firewalld", True, nft_v4, nft_v6, detail)
        elif ipt_state is not None:
            v4 = ipt_state[0]
            v6 = ip6t_state[0] if ip6t_state else None
            detail = f"firewalld running; iptables INPUT {_word(v4)}"
            _set(facts, "firewalld", True, v4, v6, detail)
        else:
            facts.error_all(
                [n for n in PROVIDES if n not in facts.values],
                "firewalld is running but neither nft nor iptables could list its rules",
            )
        return

    if chains:
        kind = "iptables" if _looks_iptables_nft(chains) else "nftables"
        _set(facts, kind, True, nft_v4, nft_v6, _describe(chains))
        return

    if ipt_state is not None and (ipt_state[1] or ipt_state[0] != "accept"):
        v6 = ip6t_state[0] if ip6t_state else None
        detail = f"iptables INPUT {_word(ipt_state[0])}"
        _set(facts, "iptables", True, ipt_state[0], v6, detail)
        return

    # Nothing filters inbound: but only say so when every tool present could be read.
    failed = [
        b.why(what)
        for b, what in ((nft, "nft list ruleset"), (ipt, "iptables -S"))
        if b is not None and not b.ok and not b.missing
    ]
    if failed:
        facts.error_all([n for n in PROVIDES if n not in facts.values], failed[0])
        return
    tools = [w for b, w in ((nft, "nft"), (ipt, "iptables"), (ufw, "ufw"), (fwd, "firewalld"))
             if b is not None and not b.missing]
    detail = "no input filter loaded"
    if ufw is not None and ufw.ok and "Status: inactive" in ufw.text:
        detail += "; ufw installed but inactive"
    running = sorted(u for u, state in (services or {}).items() if state == "active")
    if running:
        detail += "; active services: " + ", ".join(running)
    if not tools:
        detail = "no firewall tool (nft, iptables, ufw, firewall-cmd) on the target"
    _set(facts, "none", False, "accept", "accept", detail)


def _services(block: Block | None) -> dict[str, str] | None:
    """``systemctl is-active`` of ufw, firewalld and nftables; None where systemd does not run
    (the script prints the block only when it does)."""
    if block is None or not block.ok:
        return None
    out: dict[str, str] = {}
    for line in block.lines():
        unit, _, state = line.strip().partition(" ")
        if unit:
            out[unit] = state.strip() or "unknown"
    return out


def _set(
    facts: Facts, kind: str, active: bool, v4: str | None, v6: str | None, detail: str
) -> None:
    facts.set("firewall.kind", kind)
    facts.set("firewall.active", active)
    facts.set("firewall.detail", detail[:300])
    for fact, value, proto in (("firewall.default_inbound", v4, "IPv4"),
                               ("firewall.default_inbound_v6", v6, "IPv6")):
        if value is None:
            facts.error(fact, f"{kind}: no {proto} input rules could be read")
        elif value.startswith("unknown:"):
            why = value[len("unknown:"):]
            facts.error(fact, f"{kind}: the {proto} inbound default cannot be told: {why}"[:300])
        else:
            facts.set(fact, value)


def _input_chains(block: Block) -> list[Chain]:
    """Input-hook filter base chains of an ``nft list ruleset`` output, by priority."""
    chains = [c for c in nft_chains(block.text) if c.hook == "input" and c.kind == "filter"]
    return sorted(chains, key=lambda c: c.priority)


def _verdict(chains: list[Chain], families: tuple[str, ...]) -> str:
    """The input default for ``families``: a verdict, or ``"unknown:<why>"``; no input chain of
    those families: accept (the kernel's)."""
    return hook_default(chains, "input", families) or "accept"


def _looks_iptables_nft(chains: list[Chain]) -> bool:
    return all(
        c.family in ("ip", "ip6") and c.table == "filter" and c.name == "INPUT" for c in chains
    )


def _describe(chains: list[Chain]) -> str:
    parts = [
        f"{c.family} {c.table} {c.name}: policy {c.policy.lower()}, {len(c.rules)} rules, "
        f"effective {c.default}" + (" (dormant table: on no hook)" if c.dormant else "")
        for c in chains
    ]
    return "; ".join(parts)


def _iptables(block: Block) -> tuple[str, bool] | None:
    """(the INPUT default: a verdict or ``"unknown:<why>"``; whether INPUT has rules) from
    ``iptables -S``, or None when it lists no INPUT policy."""
    value = iptables_outcome(block.text, "INPUT")
    if value is None:
        return None
    return value, any(line.split()[:2] == ["-A", "INPUT"] for line in block.lines())


def _word(value: str) -> str:
    """A default as the detail names it: a verdict, or "unknown" (the fact says why)."""
    return value.partition(":")[0]
