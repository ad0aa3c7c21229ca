"""posix.gateway on public rulesets (tests/fixtures/posix/gateway/SOURCE.md, "Public"); the
captured ones are tested in tests/unit/probes/test_netos.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.base import RawSection
from probes.posix import gateway as probe

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "posix" / "gateway"
ERR = "error"
PUBLIC: dict[str, tuple[object, ...]] = {
    # fixture: (ruleset, input_policy, forward_policy, forwarding_blocked); an error is
    # (ERR, words its reason holds)
    "public_nft_opensnitch_pr1423": ("nftables", "drop", "drop", True),
    # `nft list chain` of one chain: its last rule jumps to a chain the output does not hold,
    # so what unmatched traffic meets is not known (before: "accept", a guess)
    "public_nft_inspec_chain": ("nftables", (ERR, "derby-cognos-web"), "accept", False),
    "public_iptables_inspec": ("iptables", "drop", "drop", True),
    # RHEL 6's `-A INPUT -j REJECT --reject-with icmp-host-prohibited` (as iptables -S prints
    # every REJECT): before, only a bare "-j REJECT" counted and the input read as accept
    "public_iptables_insights_rhel6": ("iptables", "reject", "accept", False),
    # system-config-firewall's file ending in "-A INPUT -j ACCEPT" / "-A FORWARD -j ACCEPT"
    "public_iptables_cloudstack_rhel": ("iptables", "accept", "accept", False),
    # OpenWrt's default fw4 ruleset loaded and listed by nft: policy drop, then "jump
    # handle_reject", whose unconditional "reject" decides
    "public_nftload_openwrt_fw4_default": ("nftables", "reject", "reject", True),
    # firewalld: "reject with icmpx admin-prohibited" after a jump to a policies chain the
    # stored excerpt of the paste does not hold
    "public_nft_firewalld_miniupnp806": ("nftables", (ERR, "filter_INPUT_POLICIES"),
                                         (ERR, "filter_FORWARD_POLICIES"),
                                         (ERR, "filter_FORWARD_POLICIES")),
    # fw4 with input policy accept (no unconditional rule) and forward "jump handle_reject"
    # (not in the excerpt)
    "public_nft_openwrt_fw4_apfree240": ("nftables", "accept", (ERR, "handle_reject"),
                                         (ERR, "handle_reject")),
    "public_nft_openwrt_fw4_podkop284": ("nftables", (ERR, "handle_reject"), "drop", True),
    # NixOS with iptables-nft: INPUT ends "jump nixos-fw" (NixOS refuses by default there),
    # FORWARD jumps to Docker's chains; the excerpt holds neither: unknown, never "accept"
    "public_nft_nixos_81172_turn0": ("nftables", (ERR, "nixos-fw"), (ERR, "DOCKER-USER"),
                                     (ERR, "DOCKER-USER")),
}


@pytest.mark.parametrize("case", sorted(PUBLIC))
def test_public_rulesets_on_a_forwarding_host(case: str) -> None:
    f = probe.parse(RawSection("posix.gateway", (FIXTURES / f"{case}.out").read_text()))
    assert f.values["gateway.ip_forward"] is True
    assert f.values["gateway.ruleset"] == PUBLIC[case][0]
    names = ("gateway.input_policy", "gateway.forward_policy", "gateway.forwarding_blocked")
    for name, want in zip(names, PUBLIC[case][1:], strict=True):
        if isinstance(want, tuple):
            assert name not in f.values and want[1] in f.errors[name], (name, f.errors)
        else:
            assert f.values[name] == want and name not in f.errors, (name, f.errors)


def test_unconditional_jumps_are_followed_and_loops_are_unknown() -> None:
    """**Hand-made** from the shapes above: NixOS's INPUT policy accept ending in "jump
    nixos-fw" → ... → "nixos-fw-refuse" whose only rule nft prints as "# xt_REJECT"
    (nixpkgs PR #81172), Docker's "return"; and a loop of jumps."""
    text = """table ip filter {
	chain INPUT {
		type filter hook input priority filter; policy accept;
		iifname "lo" counter packets 0 bytes 0 accept
		counter packets 3731 bytes 448421 jump nixos-fw
	}
	chain FORWARD {
		type filter hook forward priority filter; policy drop;
		counter packets 0 bytes 0 jump DOCKER-USER
		oifname "docker0" counter packets 0 bytes 0 accept
	}
	chain DOCKER-USER {
		counter packets 0 bytes 0 return
	}
	chain nixos-fw {
		tcp dport 22 counter packets 0 bytes 0 jump nixos-fw-accept
		counter packets 9 bytes 900 jump nixos-fw-log-refuse
	}
	chain nixos-fw-accept {
		counter packets 3602 bytes 428635 accept
	}
	chain nixos-fw-log-refuse {
		# xt_pkttype counter packets 45 bytes 6295 jump nixos-fw-refuse
		counter packets 1 bytes 60 jump nixos-fw-refuse
	}
	chain nixos-fw-refuse {
		meta l4proto tcp # xt_tcp counter packets 5 bytes 200 # xt_REJECT
		counter packets 124 bytes 19586 # xt_REJECT
	}
}
"""
    chains = {c.name: c for c in probe.nft_chains(text)}
    assert chains["INPUT"].default == "reject"
    assert chains["FORWARD"].default == "drop"  # DOCKER-USER returns; the policy decides
    looped = text.replace("counter packets 0 bytes 0 return", "jump FORWARD_LOOP").replace(
        "chain nixos-fw {", "chain FORWARD_LOOP {\n\t\tjump DOCKER-USER\n\t}\n\tchain nixos-fw {")
    forward = next(c for c in probe.nft_chains(looped) if c.name == "FORWARD")
    assert forward.default == "unknown" and "loop" in (forward.why or "")
    ipt = ("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-N nixos-fw\n-N nixos-fw-refuse\n"
           "-A INPUT -m comment --comment \"to nixos\" -j nixos-fw\n"
           "-A nixos-fw -p tcp --dport 22 -j ACCEPT\n-A nixos-fw -j nixos-fw-refuse\n"
           "-A nixos-fw-refuse -j DROP\n-A FORWARD -j LOG --log-prefix x\n")
    assert probe.iptables_outcome(ipt, "INPUT") == "drop"
    assert probe.iptables_outcome(ipt, "FORWARD") == "accept"  # LOG decides nothing
    assert probe.iptables_outcome(ipt, "OUTPUT") is None


def test_an_unknown_chain_before_the_dropping_one_is_an_error() -> None:
    """**Hand-made** from the captured namespace's ruleset: a forward chain at a lower priority
    whose last rule jumps to a chain the output does not hold comes before the forward chain
    that drops. Refused either way, but by drop or by that chain's possible reject is not known:
    an error (before: "drop"); after the dropping chain it cannot matter."""
    text = (FIXTURES / "nft_forward_drop_forwarding_on.out").read_text()
    extra = ("table ip early {\n\tchain fwd {\n\t\ttype filter hook forward priority %s; "
             "policy accept;\n\t\tjump elsewhere\n\t}\n}\n")
    first = text.replace("@@block nft\n", "@@block nft\n" + extra % "filter - 5", 1)
    f = probe.parse(RawSection("posix.gateway", first))
    assert "gateway.forward_policy" not in f.values
    assert "elsewhere" in f.errors["gateway.forward_policy"]
    assert "elsewhere" in f.errors["gateway.forwarding_blocked"]
    assert f.values["gateway.input_policy"] == "drop"
    assert f.values["gateway.forward_policy_v6"] == "drop"  # ip table: IPv4 only
    later = text.replace("@@block nft\n", "@@block nft\n" + extra % "filter + 5", 1)
    assert probe.parse(RawSection("posix.gateway", later)).values["gateway.forward_policy"] == "drop"


def test_a_forward_rule_on_the_conntrack_state_alone_decides_new_connections() -> None:
    """**Hand-made**, printed back by a real ``nft list ruleset`` (nftables 1.0.6) and a real
    ``iptables -S`` (iptables-legacy 1.8.9), each in a network namespace of its own: a forward
    chain that accepts every new connection forwards anything, whatever its "drop" policy
    (before: "drop", so forwarding read as blocked); established,related alone does not."""
    text = """table inet t {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state vmap { invalid : drop, new : accept }
	}
}
"""
    forward = next(c for c in probe.nft_chains(text) if c.name == "forward")
    assert forward.default == "accept"
    alone = text.replace("\t\tct state vmap { invalid : drop, new : accept }\n", "")
    assert next(c for c in probe.nft_chains(alone) if c.name == "forward").default == "drop"
    ipt = ("-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n"
           "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
           "-A FORWARD -m state --state NEW -j ACCEPT\n")
    assert probe.iptables_outcome(ipt, "FORWARD") == "accept"
    assert probe.iptables_outcome(ipt.replace("--state NEW", "--state INVALID"), "FORWARD") == (
        "drop")
