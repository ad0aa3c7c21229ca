"""posix.gateway: a Linux gateway's default for traffic to it (input) and through it (forward).

For a Linux host acting as router or firewall (inventory ``device: linux-gateway``, or the role
gateway, firewall or router), the question is not only whether the host protects itself but
whether it forwards anything it was not told to. Reading the kernel's rules needs root.

How the defaults are worked out, per hook (input, forward) and address family (IPv4: nftables
families ip and inet; IPv6: ip6 and inet), by the firewall family's parsers
(:mod:`probes.firewall.nft`, the one nftables parser, and :mod:`probes.firewall.iptables`):

* **nftables** (also iptables-nft's rules, which live there): every base chain of ``type filter``
  on the hook. In a chain, the first rule that is an unconditional verdict (``drop``,
  ``reject ...``, ``accept``; counters, logs and comments aside) decides, else the chain's
  policy; a rule whose only match is the conntrack state, taking in ``new``, counts as
  unconditional (the question is a new connection). An unconditional ``jump``/``goto`` is
  followed into its chain (NixOS's ``jump nixos-fw``, OpenWrt's ``jump handle_reject``): what
  that chain decides unconditionally decides, a ``return`` or its end comes back. A rule
  iptables-nft wrote with a target nft cannot show is printed ``# xt_REJECT``: unconditional,
  that is a reject. A jump to a chain the output does not
  hold, or a loop of jumps, makes the default unknown (an error), never accept. A packet must
  pass every base chain on its hook, in priority order, so the first chain that drops by
  default makes the default drop, unless a chain before it is unknown
  (:func:`~probes.firewall.nft.hook_default`).
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

from probes import firewall
from probes.base import Block, Facts, RawSection, guard, split_blocks
from probes.firewall.iptables import iptables_default, iptables_outcome
from probes.firewall.nft import hook_default, nft_chains

# nft_chains and the iptables walks are the firewall family's (probes/firewall/), named here too
__all__ = ["NEEDS_ROOT", "PROVIDES", "iptables_default", "iptables_outcome", "nft_chains",
           "parse"]

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
        f.error_all(NEEDS_ROOT, firewall.ROOT_REASON)
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
        value = hook_default(chains, hook, families)
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
