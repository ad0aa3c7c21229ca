"""posix.firewall: recorded outputs (tests/fixtures/posix/firewall/SOURCE.md) and awkward ones."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from probes.base import Facts, RawSection
from probes.posix import firewall as probe

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "posix" / "firewall"
SCRIPT = ROOT / "probes" / "posix" / "firewall.sh"
CASES = (
    "debian12_root_none",
    "debian12_nobody",
    "root_ufw_inactive",
    "nft_drop",
    "nft_final_reject",
    "nft_early_accept",
    "nft_debian_default",
    "iptables_nft",
    "iptables_legacy",
    "ufw_active",
)
MAIN = (
    "firewall.kind",
    "firewall.active",
    "firewall.default_inbound",
    "firewall.default_inbound_v6",
)
ROOT_REASON = "needs root (allow sudo with become: true)"


def parse(stdout: str) -> Facts:
    return probe.parse(RawSection("posix.firewall", stdout))


def text(case: str) -> str:
    return (FIXTURES / f"{case}.out").read_text()


def fixture(case: str) -> Facts:
    return parse(text(case))


def main(facts: Facts) -> tuple[object, ...]:
    return tuple(facts.values.get(n) for n in MAIN)


@pytest.mark.parametrize(
    ("case", "expected", "detail"),
    [
        ("debian12_root_none", ("none", False, "accept", "accept"), "no input filter loaded"),
        (
            "root_ufw_inactive",
            ("none", False, "accept", "accept"),
            "no input filter loaded; ufw installed but inactive",
        ),
        (
            "nft_drop",
            ("nftables", True, "drop", "drop"),
            "inet filter input: policy drop, 5 rules, effective drop",
        ),
        (
            "nft_final_reject",
            ("nftables", True, "reject", "accept"),
            "ip filter4 input: policy accept, 5 rules, effective reject; "
            "ip6 filter6 input: policy accept, 2 rules, effective accept",
        ),
        (
            "nft_early_accept",
            ("nftables", True, "accept", "accept"),
            "inet filter input: policy drop, 2 rules, effective accept; "
            "inet guard input: policy accept, 1 rules, effective accept",
        ),
        (
            "nft_debian_default",
            ("nftables", True, "accept", "accept"),
            "inet filter input: policy accept, 0 rules, effective accept",
        ),
        (
            "iptables_nft",
            ("iptables", True, "drop", "drop"),
            "ip filter INPUT: policy drop, 3 rules, effective drop; "
            "ip6 filter INPUT: policy drop, 1 rules, effective drop",
        ),
        ("iptables_legacy", ("iptables", True, "reject", "accept"), "iptables INPUT reject"),
        (
            "ufw_active",
            ("ufw", True, "drop", "drop"),
            "ufw active; Default: deny (incoming), allow (outgoing), disabled (routed)",
        ),
    ],
)
def test_recorded_rulesets(case: str, expected: tuple[object, ...], detail: str) -> None:
    facts = fixture(case)
    assert facts.errors == {}
    assert main(facts) == expected
    assert facts.values["firewall.detail"] == detail


def test_input_chains_are_listed() -> None:
    facts = fixture("nft_final_reject")
    assert facts.values["firewall.input_chains"] == [
        {
            "family": "ip",
            "table": "filter4",
            "chain": "input",
            "priority": 0,
            "policy": "accept",
            "effective": "reject",
            "rules": 5,
        },
        {
            "family": "ip6",
            "table": "filter6",
            "chain": "input",
            "priority": 0,
            "policy": "accept",
            "effective": "accept",
            "rules": 2,
        },
    ]
    chains = fixture("nft_early_accept").values["firewall.input_chains"]
    assert [c["priority"] for c in chains] == [0, 10]


def test_not_root_is_an_error_never_none() -> None:
    facts = fixture("debian12_nobody")
    assert facts.values == {}
    assert facts.errors == {n: ROOT_REASON for n in probe.PROVIDES}


def block(name: str, body: str, rc: int = 0) -> str:
    return f"@@block {name}\n{body}\n@@rc {rc}\n"


def missing(name: str, cmd: str) -> str:
    return block(name, f"{cmd}: command not found", 127)


def test_firewalld_running_uses_its_nftables_rules() -> None:
    # firewalld's nftables table, in the form nft prints it (chain bodies shortened).
    nft = (
        "table inet firewalld {\n"
        "\tchain filter_INPUT {\n"
        "\t\ttype filter hook input priority filter + 10; policy accept;\n"
        "\t\tct state { established, related } accept\n"
        '\t\tiifname "lo" accept\n'
        "\t\tjump filter_INPUT_ZONES\n"
        "\t\tct state { invalid } drop\n"
        "\t\treject with icmpx admin-prohibited\n"
        "\t}\n"
        "}\n"
    )
    out = (
        block("uid", "0")
        + block("nft", nft)
        + missing("iptables", "iptables")
        + missing("ip6tables", "ip6tables")
        + missing("ufw", "ufw")
        + block("firewalld", "running")
        + block("end", "")
    )
    facts = parse(out)
    assert facts.errors == {}
    assert main(facts) == ("firewalld", True, "reject", "reject")


def test_services_are_a_hint_only() -> None:
    out = (
        block("uid", "0")
        + block("nft", "")
        + missing("iptables", "iptables")
        + missing("ip6tables", "ip6tables")
        + missing("ufw", "ufw")
        + missing("firewalld", "firewall-cmd")
        + block("services", "ufw inactive\nfirewalld inactive\nnftables active")
        + block("end", "")
    )
    facts = parse(out)
    assert main(facts) == ("none", False, "accept", "accept")
    assert facts.values["firewall.services"] == {
        "ufw": "inactive",
        "firewalld": "inactive",
        "nftables": "active",
    }
    assert facts.values["firewall.detail"] == (
        "no input filter loaded; active services: nftables"
    )
    assert fixture("debian12_root_none").values["firewall.services"] is None


def test_nft_fails_as_root_is_an_error() -> None:
    out = (
        block("uid", "0")
        + block("nft", "Error: Could not process rule: Operation not supported", 1)
        + missing("iptables", "iptables")
        + missing("ip6tables", "ip6tables")
        + missing("ufw", "ufw")
        + missing("firewalld", "firewall-cmd")
    )
    facts = parse(out)
    assert facts.values.get("firewall.kind") is None
    assert "Operation not supported" in facts.errors["firewall.kind"]
    assert "firewall.default_inbound" in facts.errors


def test_no_firewall_tool_at_all() -> None:
    out = (
        block("uid", "0")
        + missing("nft", "nft")
        + missing("iptables", "iptables")
        + missing("ip6tables", "ip6tables")
        + missing("ufw", "ufw")
        + missing("firewalld", "firewall-cmd")
    )
    facts = parse(out)
    assert main(facts) == ("none", False, "accept", "accept")
    assert "no firewall tool" in facts.values["firewall.detail"]


def test_ufw_active_without_default_line_is_an_error() -> None:
    out = text("ufw_active").replace("Default: deny (incoming)", "Defaults unknown")
    facts = parse(out)
    assert "firewall.default_inbound" in facts.errors
    assert "firewall.kind" in facts.errors


@pytest.mark.parametrize("stdout", ["", "garbage\n", "@@block uid\n0\n", "\x00\xff"])
def test_empty_garbage_or_cut_output_gives_only_errors(stdout: str) -> None:
    facts = parse(stdout)
    assert facts.values == {}
    assert set(facts.errors) == set(probe.PROVIDES)


@pytest.mark.parametrize("case", CASES)
def test_truncation_never_changes_a_value(case: str) -> None:
    full_text = text(case)
    full = parse(full_text).values
    lines = full_text.split("\n")
    for i in range(len(lines)):
        cut = parse("\n".join(lines[:i]))
        for name, value in cut.values.items():
            assert full[name] == value, (case, i, name)


def test_fact_names() -> None:
    assert all(re.fullmatch(r"firewall\.[a-z0-9_]+", n) for n in probe.PROVIDES)
    for case in CASES:
        facts = fixture(case)
        assert set(facts.values) | set(facts.errors) == set(probe.PROVIDES)


def test_script_is_posix_sh_read_only_and_passes_shellcheck() -> None:
    script = SCRIPT.read_text()
    assert script.startswith("# undone section posix.firewall:")
    assert "Privilege:" in script[:1000]
    code = "\n".join(ln for ln in script.split("\n") if not ln.lstrip().startswith("#"))
    for forbidden in (" -F", " -A ", " -P ", "flush", "add ", "enable", "reload", "--set"):
        assert forbidden not in code, forbidden
    subprocess.run(["sh", "-n", str(SCRIPT)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    subprocess.run(["shellcheck", "-s", "sh", str(SCRIPT)], check=True)


# ---------------------------------------------------------- public outputs (SOURCE.md "Public")

PUBLIC_FW = {
    # fixture: (firewall.kind, default_inbound, default_inbound_v6)
    "public_ufw_evidence_deny_routed": ("ufw", "drop", "drop"),
    "public_ufw_vagrant_disabled_routed": ("ufw", "drop", "drop"),
    "public_ufw_server_logging_medium": ("ufw", "drop", "drop"),
    "public_nft_opensnitch_pr1423": ("nftables", "drop", "drop"),
    "public_nft_inspec_chain": ("nftables", "accept", "accept"),
    "public_iptables_inspec": ("iptables", "drop", "accept"),
}


@pytest.mark.parametrize("case", sorted(PUBLIC_FW))
def test_public_firewall_outputs(case: str) -> None:
    folder = Path(__file__).resolve().parents[2] / "fixtures" / "posix" / "firewall"
    f = probe.parse(RawSection("posix.firewall", (folder / f"{case}.out").read_text()))
    assert not f.errors, f.errors
    kind, v4, v6 = PUBLIC_FW[case]
    assert f.values["firewall.kind"] == kind and f.values["firewall.active"] is True
    assert (f.values["firewall.default_inbound"], f.values["firewall.default_inbound_v6"]) == (v4, v6)


def test_nft_priority_expressions_and_several_input_chains() -> None:
    """opensnitch's ruleset: an input chain at "priority filter - 1" with policy accept comes
    first, then two chains with policy drop: a drop in any base chain at the hook is final."""
    folder = Path(__file__).resolve().parents[2] / "fixtures" / "posix" / "firewall"
    f = probe.parse(
        RawSection("posix.firewall", (folder / "public_nft_opensnitch_pr1423.out").read_text())
    )
    chains = f.values["firewall.input_chains"]
    assert [(c["chain"], c["priority"], c["effective"]) for c in chains] == [
        ("intercept_dns", -1, "accept"), ("input", 0, "drop"), ("filter_input", 0, "drop"),
    ]
