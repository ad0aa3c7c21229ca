"""posix.gateway on public rulesets (tests/fixtures/posix/gateway/SOURCE.md, "Public"); the
captured ones are tested in tests/unit/test_netos.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.base import RawSection
from probes.posix import gateway as probe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "posix" / "gateway"
PUBLIC = {
    # fixture: (ruleset, input_policy, forward_policy, forwarding_blocked)
    "public_nft_opensnitch_pr1423": ("nftables", "drop", "drop", True),
    "public_nft_inspec_chain": ("nftables", "accept", "accept", False),
    "public_iptables_inspec": ("iptables", "drop", "drop", True),
}


@pytest.mark.parametrize("case", sorted(PUBLIC))
def test_public_rulesets_on_a_forwarding_host(case: str) -> None:
    f = probe.parse(RawSection("posix.gateway", (FIXTURES / f"{case}.out").read_text()))
    assert not f.errors, f.errors
    v = f.values
    assert v["gateway.ip_forward"] is True
    got = (v["gateway.ruleset"], v["gateway.input_policy"], v["gateway.forward_policy"],
           v["gateway.forwarding_blocked"])
    assert got == PUBLIC[case]
