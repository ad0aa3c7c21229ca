"""The defaults of ``iptables -S`` (the legacy backend's rules), walked like nftables' chains.

``-P INPUT|FORWARD`` and the first unconditional rule (comments and counters aside) of
``-A INPUT|FORWARD``: ``-j DROP``, ``-j REJECT --reject-with ...`` (as ``iptables -S`` always
prints it), ``-j ACCEPT``, ``-j RETURN``, or ``-j``/``-g`` into a user chain, followed the same
way as an nftables jump (:func:`probes.firewall.nft.outcome`); an unconditional ``-j NFQUEUE``
(or ``-j QUEUE``, its older name for queue 0) makes the default unknown, as nft's ``queue`` does.
"""

from __future__ import annotations

import re

from probes.base import lines
from probes.firewall.nft import QUEUED, Key, Step, outcome

_IPT_COMMENT_RE = re.compile(r'-m comment --comment (?:"(?:[^"\\]|\\.)*"|\S+)\s*')
_IPT_COUNTERS_RE = re.compile(r"^-c \d+ \d+\s*")


def _step(spec: str, user_chains: set[str]) -> Step:
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
    if target in ("NFQUEUE", "QUEUE"):
        return ("final", QUEUED)
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
    parsed: dict[Key, list[Step]] = {}

    def steps_of(key: Key) -> list[Step] | None:
        name = key[2]
        if name != chain and name not in user_chains:
            return None
        if key not in parsed:
            parsed[key] = [_step(r, user_chains) for r in rules.get(name, [])]
        return parsed[key]

    result = outcome(("ip", "filter", chain), steps_of, {})
    return policy if result is None else result


def iptables_default(text: str, chain: str) -> str | None:
    """Like :func:`iptables_outcome`, with an unknown default as ``"unknown"``."""
    value = iptables_outcome(text, chain)
    return "unknown" if value is not None and value.startswith("unknown:") else value
