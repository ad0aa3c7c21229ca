"""The defaults of ``iptables -S`` (the legacy backend's rules), walked like nftables' chains.

``-P INPUT|FORWARD`` and the first unconditional rule (comments and counters aside) of
``-A INPUT|FORWARD``: ``-j DROP``, ``-j REJECT --reject-with ...`` (as ``iptables -S`` always
prints it), ``-j ACCEPT``, ``-j RETURN``, or ``-j``/``-g`` into a user chain, followed the same
way as an nftables jump (:func:`probes.firewall.nft.outcome`); an unconditional ``-j NFQUEUE``
(or ``-j QUEUE``, its older name for queue 0) makes the default unknown, as nft's ``queue`` does.
As in :mod:`probes.firewall.nft`, the question is a new connection: a rule whose only match is
one state match that takes in ``NEW`` (``-m state --state NEW``, ``-m conntrack --ctstate
NEW,ESTABLISHED``, ``-m conntrack ! --ctstate INVALID``) is unconditional; a state match that
leaves ``NEW`` out, or one beside any other match, is a condition; a state list it cannot read
makes the step unknown.
"""

from __future__ import annotations

import re

from probes.base import lines
from probes.firewall.nft import QUEUED, Key, Step, outcome

_IPT_COMMENT_RE = re.compile(r'-m comment --comment (?:"(?:[^"\\]|\\.)*"|\S+)\s*')
_IPT_COUNTERS_RE = re.compile(r"^-c \d+ \d+\s*")
#: the states the state and conntrack matches take (conntrack also SNAT and DNAT)
IPT_STATES = frozenset({"INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT"})
_STATE_OPTION = {"state": "--state", "conntrack": "--ctstate"}


def _ct_state(bare: list[str]) -> tuple[set[str] | None, list[str]] | None:
    """A leading ``-m state [!] --state LIST`` or ``-m conntrack [!] --ctstate LIST``: (the
    states it takes in of :data:`IPT_STATES`, or None when the list is unread; the words after
    it); None when ``bare`` does not begin with one."""
    if len(bare) < 4 or bare[0] != "-m" or bare[1] not in _STATE_OPTION:
        return None
    at, negated = 2, bare[2] == "!"
    if negated:
        at += 1
    if len(bare) < at + 2 or bare[at] != _STATE_OPTION[bare[1]]:
        return None
    names = bare[at + 1].split(",")
    if any(n not in IPT_STATES for n in names):
        return (None, bare[at + 2 :])
    listed = set(names)
    return (set(IPT_STATES - listed) if negated else listed, bare[at + 2 :])


def _step(spec: str, user_chains: set[str]) -> Step:
    """One ``-A CHAIN`` rule's spec (after the chain name) as a step: unconditional only when
    nothing but a comment or counters comes before its ``-j``/``-g``, or, for a new
    connection, one state match that takes in ``NEW``."""
    bare = _IPT_COMMENT_RE.sub("", _IPT_COUNTERS_RE.sub("", spec.strip())).split()
    state = _ct_state(bare)
    if state is None:
        return _target(bare, user_chains)
    states, rest = state
    action = _target(rest, user_chains)
    if action is None:
        return None  # more matches than the state, or a target that decides nothing
    if states is None:
        return ("final", "unknown:a rule's state list cannot be read, so whether it decides "
                         f"every new connection is unknown: {spec.strip()[:120]}")
    return action if "NEW" in states else None


def _target(bare: list[str], user_chains: set[str]) -> Step:
    """A rule that is only its ``-j``/``-g`` (the words of it) as a step; else None."""
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
