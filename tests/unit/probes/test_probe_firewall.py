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
    "public_nftload_nixos_mayniklas_nftables",
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
        # a public NixOS ruleset in the shape of NixOS's own firewall, loaded and listed: INPUT
        # "policy accept" closed by "jump nixos-fw", whose last rule jumps on to nixos-fw-refuse's
        # "drop" (before: "accept", the jump not followed, a false fail); no IPv6 table: accept
        (
            "public_nftload_nixos_mayniklas_nftables",
            ("iptables", True, "drop", "accept"),
            "ip filter INPUT: policy accept, 1 rules, effective drop",
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
    # firewalld's nftables table, in the form nft prints it (chain bodies shortened): the
    # zones chain "goto"s the default zone's chain, which comes back to filter_INPUT's caller
    # side, after the jump, where the final reject decides.
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
        "\tchain filter_INPUT_ZONES {\n"
        "\t\tgoto filter_IN_public\n"
        "\t}\n"
        "\tchain filter_IN_public {\n"
        "\t\ttcp dport 22 accept\n"
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
    "public_iptables_inspec": ("iptables", "drop", "accept"),
    "public_nftload_nixos_mayniklas_nftables": ("iptables", "drop", "accept"),
    # a NixOS VPS without nft, its iptables -S and ip6tables -S: INPUT "policy ACCEPT" and
    # "-j nixos-fw", whose last rule goes on to nixos-fw-refuse's "-j DROP" (before, with
    # `iptables -S INPUT` only and the jump not followed: "accept", a false fail)
    "public_iptables_nixos_vps": ("iptables", "drop", "drop"),
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


@pytest.mark.parametrize(
    ("case", "chain"),
    [
        # inspec's `nft list chain` of one chain: its last rule jumps to a chain the output does
        # not hold (before: "accept", a guess)
        ("public_nft_inspec_chain", "derby-cognos-web"),
        # NixOS's INPUT (iptables-nft) as pasted in nixpkgs #81172: "jump nixos-fw", a chain
        # the stored paste does not reach (before: "accept", a false fail)
        ("public_nft_nixos_81172_turn0", "nixos-fw"),
    ],
)
def test_public_jump_to_a_chain_not_held_is_an_error_never_accept(case: str, chain: str) -> None:
    f = fixture(case)
    assert "firewall.default_inbound" not in f.values
    reason = f.errors["firewall.default_inbound"]
    assert "cannot be told" in reason and f"jumps to chain {chain}," in reason
    assert f.values["firewall.active"] is True
    assert [c["effective"] for c in f.values["firewall.input_chains"]] == ["unknown"]
    assert f.values["firewall.detail"].endswith("effective unknown")


def _ruleset(nft: str) -> Facts:
    return parse(block("uid", "0") + block("nft", nft) + missing("iptables", "iptables")
                 + missing("ip6tables", "ip6tables") + missing("ufw", "ufw")
                 + missing("firewalld", "firewall-cmd") + block("end", ""))


_INPUT = "table inet t {\n\tchain input {\n\t\ttype filter hook input priority filter; policy %s;\n"


@pytest.mark.parametrize(
    ("policy", "rules", "chains", "want"),
    [
        # a jump to a chain that accepts everything is an accept, whatever follows
        ("accept", "jump allow_all\n\t\tdrop", "chain allow_all {\n\t\tcounter accept\n\t}", "accept"),
        # a jump to a chain whose refusal is conditional comes back; the policy decides
        ("accept", "jump some", "chain some {\n\t\ttcp dport 23 drop\n\t}", "accept"),
        ("drop", "jump some", "chain some {\n\t\ttcp dport 22 accept\n\t}", "drop"),
        # a jump that comes back by "return" goes on to the final drop
        ("accept", "jump back\n\t\tdrop", "chain back {\n\t\treturn\n\t\tdrop\n\t}", "drop"),
        # a goto does not come back: its chain's end is the base chain's end (the policy)
        ("accept", "goto back\n\t\tdrop", "chain back {\n\t\tcounter return\n\t}", "accept"),
        # a "return" in the base chain ends it: the policy, not the drop after it
        ("accept", "return\n\t\tdrop", "", "accept"),
        # conditional rules before the final refusal do not decide
        ("accept", "ct state established accept\n\t\tlimit rate 1/second accept\n\t\t"
         "reject with icmpx admin-prohibited", "", "reject"),
        # a conditional jump is not followed
        ("accept", "tcp dport 22 jump nope", "chain nope {\n\t\tdrop\n\t}", "accept"),
    ],
)
def test_jumps_gotos_and_returns(policy: str, rules: str, chains: str, want: str) -> None:
    """**Hand-made** rulesets (no public sample shows each case alone): what a jump, a goto and
    a return mean for the input default (each passes `nft -c -f`)."""
    text = _INPUT % policy + "\t\t" + rules + "\n\t}\n\t" + chains + "\n}\n"
    f = _ruleset(text)
    assert f.errors == {}, f.errors
    assert (f.values["firewall.default_inbound"], f.values["firewall.default_inbound_v6"]) == (
        want, want)


def test_an_unknown_chain_before_a_refusal_is_an_error() -> None:
    """**Hand-made**: a chain that jumps where the output does not reach, at a lower priority than
    a chain that drops: refused either way, but whether by drop or by that chain's reject is not
    known, so the fact is an error; after the dropping chain it cannot matter."""
    unknown = "table ip a {\n\tchain in {\n\t\ttype filter hook input priority %d; policy accept;\n\t\tjump gone\n\t}\n}\n"
    drops = "table ip b {\n\tchain in {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n"
    before = _ruleset(unknown % -10 + drops)
    assert "gone" in before.errors["firewall.default_inbound"]
    assert before.values["firewall.default_inbound_v6"] == "accept"  # no ip6 chain
    after = _ruleset(unknown % 10 + drops)
    assert after.values["firewall.default_inbound"] == "drop"
    both = _ruleset(drops + drops.replace("table ip b", "table ip c").replace(
        "policy drop;", "policy accept;\n\t\treject"))
    assert "which runs first is the kernel's choice" in both.errors["firewall.default_inbound"]


def test_an_unconditional_queue_is_unknown_never_the_policy() -> None:
    """**Hand-made** from opensnitch's rules (public_nft_opensnitch_pr1423: conditional "queue
    flags bypass to 0", as nft prints it) with the condition taken away: every packet goes to a
    userspace program whose verdicts the ruleset does not show, so the "drop" policy is not the
    default (before: "drop"). iptables' NFQUEUE target alike."""
    f = _ruleset(_INPUT % "drop" + "\t\tct state established accept\n"
                 "\t\tqueue flags bypass to 0\n\t}\n}\n")
    assert "firewall.default_inbound" not in f.values
    assert "userspace program" in f.errors["firewall.default_inbound"]
    assert f.values["firewall.input_chains"][0]["effective"] == "unknown"
    ipt = parse(block("uid", "0") + block("nft", "")
                + block("iptables", "-P INPUT DROP\n-A INPUT -i lo -j ACCEPT\n"
                        "-A INPUT -j NFQUEUE --queue-num 0 --queue-bypass")
                + block("ip6tables", "-P INPUT DROP") + missing("ufw", "ufw")
                + missing("firewalld", "firewall-cmd") + block("end", ""))
    assert "userspace program" in ipt.errors["firewall.default_inbound"]
    assert ipt.values["firewall.default_inbound_v6"] == "drop"


def test_a_brace_in_a_quoted_string_does_not_end_the_chain() -> None:
    """**Hand-made**, printed back by a real ``nft list ruleset`` (nftables 1.0.6, in a network
    namespace of its own): a comment holding "}" once closed the input chain early, so the final
    ``accept`` after it was never read and the "drop" policy passed (a false pass)."""
    f = _ruleset(_INPUT % "drop" + '\t\ttcp dport 22 accept comment "ssh }"\n\t\taccept\n\t}\n}\n')
    assert f.values["firewall.default_inbound"] == "accept"
    assert f.values["firewall.input_chains"][0]["rules"] == 2
    # and a "{" in a log prefix does not swallow the chains that follow
    g = _ruleset(_INPUT % "accept" + '\t\tlog prefix "in {"\n\t\tjump refuse\n\t}\n'
                 "\tchain refuse {\n\t\tdrop\n\t}\n}\n")
    assert g.values["firewall.default_inbound"] == "drop"


def test_a_rule_that_only_sets_a_mark_before_its_verdict_is_unconditional() -> None:
    """**Hand-made**, printed back by a real ``nft list ruleset`` (nftables 1.0.6, in a network
    namespace of its own): ``meta mark set 0x00000001 accept`` accepts every packet; read as a
    condition, the "drop" policy behind it passed (a false pass)."""
    f = _ruleset(_INPUT % "drop" + "\t\tmeta mark set 0x00000001 accept\n\t}\n}\n")
    assert f.values["firewall.default_inbound"] == "accept"
    g = _ruleset(_INPUT % "drop" + "\t\tmeta nftrace set 1 jump c2\n\t}\n"
                 "\tchain c2 {\n\t\tct mark set meta mark counter packets 0 bytes 0 accept\n\t}\n}\n")
    assert g.values["firewall.default_inbound"] == "accept"


def test_an_unconditional_iptables_queue_is_unknown() -> None:
    """**Hand-made**: ``-j QUEUE`` is NFQUEUE's older name (queue 0): a userspace program
    decides, so a "DROP" policy behind it is not the default (before: "drop")."""
    ipt = parse(block("uid", "0") + block("nft", "")
                + block("iptables", "-P INPUT DROP\n-A INPUT -j QUEUE")
                + block("ip6tables", "-P INPUT DROP") + missing("ufw", "ufw")
                + missing("firewalld", "firewall-cmd") + block("end", ""))
    assert "userspace program" in ipt.errors["firewall.default_inbound"]


def test_a_dormant_tables_chains_filter_nothing() -> None:
    """**Hand-made**, printed back by a real ``nft list ruleset`` (nftables 1.0.6, in a network
    namespace of its own): a table with ``flags dormant`` keeps its chains but the kernel hooks
    none of them, so its "drop" policy filters nothing (before: "drop", a false pass)."""
    dormant = ("table inet filter {\n\tflags dormant\n\n\tchain input {\n"
               "\t\ttype filter hook input priority filter; policy drop;\n\t}\n}\n")
    f = _ruleset(dormant)
    assert (f.values["firewall.default_inbound"], f.values["firewall.default_inbound_v6"]) == (
        "accept", "accept")
    assert "dormant table" in f.values["firewall.detail"]
    # the same table awake drops
    awake = _ruleset(dormant.replace("\tflags dormant\n", ""))
    assert awake.values["firewall.default_inbound"] == "drop"


def test_a_comment_that_reads_like_a_base_chain_makes_none() -> None:
    """**Hand-made**, printed back by a real ``nft list ruleset`` (nftables 1.0.6, in a network
    namespace of its own): a regular chain whose comment holds a base chain's declaration is no
    input chain; with no input chain the kernel accepts (before: "drop", a false pass)."""
    f = _ruleset("table inet filter {\n\tchain notes {\n\t\tcounter packets 0 bytes 0 comment "
                 '"type filter hook input priority 0; policy drop;"\n\t}\n}\n')
    assert f.values["firewall.input_chains"] == []
    assert (f.values["firewall.default_inbound"], f.values["firewall.default_inbound_v6"]) == (
        "accept", "accept")


_ALLOW_ALL = "\tchain allow_all {\n\t\taccept\n\t}\n"
_SOME_PORTS = "\tchain input-allow {\n\t\ttcp dport 22 accept\n\t}\n"
_NIXOS_VMAP = ("ct state vmap { invalid : drop, established : accept, related : accept, "
               "new : jump input-allow, untracked : jump input-allow }")
CT_STATE_CASES = [
    # every new connection is accepted, so the "drop" policy behind is not the default
    # (before: "drop", a false pass)
    ("drop", "ct state new accept", "", "accept"),
    ("drop", "ct state established,related,new accept", "", "accept"),
    ("drop", "ct state { established, new } accept", "", "accept"),
    ("drop", "ct state new counter packets 0 bytes 0 accept", "", "accept"),
    ("drop", "ct state != { established, related } accept", "", "accept"),
    ("drop", "ct state vmap { invalid : drop, established : accept, related : accept, "
     "new : accept }", "", "accept"),
    ("drop", "ct state new jump allow_all", _ALLOW_ALL, "accept"),
    ("drop", "ct state new goto allow_all", _ALLOW_ALL, "accept"),
    ("drop", _NIXOS_VMAP.replace("input-allow", "allow_all"), _ALLOW_ALL, "accept"),
    # every new connection is refused, so the "accept" policy behind is not the default
    ("accept", "ct state new,untracked drop", "", "drop"),
    ("accept", "ct state new reject with icmpx admin-prohibited", "", "reject"),
    ("accept", "ct state vmap { established : accept, new : drop }", "", "drop"),
    # states that leave new out, or a state match beside another match: a condition, as before
    ("drop", "ct state established,related accept", "", "drop"),
    ("accept", "ct state invalid drop", "", "accept"),
    ("drop", "ct state != new accept", "", "drop"),
    ("drop", "ct state new tcp dport 22 accept", "", "drop"),
    ("drop", 'ct state new iifname "eth0" accept', "", "drop"),
    ("drop", "ct state new limit rate 10/second accept", "", "drop"),
    ("drop", "ct state vmap { established : accept, related : accept }", "", "drop"),
    ("drop", "ct state new counter packets 0 bytes 0", "", "drop"),
    # NixOS's nftables firewall: new connections go to input-allow, which accepts only some
    # ports and comes back: the policy decides, as before
    ("drop", _NIXOS_VMAP, _SOME_PORTS, "drop"),
]


def _ct_ruleset(policy: str, rule: str, chains: str) -> str:
    return ("table inet t {\n" + chains.replace("\t}\n", "\t}\n\n") + "\tchain input {\n"
            f"\t\ttype filter hook input priority filter; policy {policy};\n"
            f"\t\t{rule}\n\t}}\n}}\n")


@pytest.mark.parametrize(("policy", "rule", "chains", "want"), CT_STATE_CASES)
def test_a_rule_on_the_conntrack_state_alone_decides_new_connections(
    policy: str, rule: str, chains: str, want: str
) -> None:
    """**Hand-made**, each ruleset exactly as a real ``nft list ruleset`` printed it back
    (nftables 1.0.6, in a network namespace of its own; the NixOS verdict map is the one
    NixOS's nftables firewall loads). The input default answers for a new connection no
    specific rule allows: a rule whose only match is its conntrack state and whose states take
    in ``new`` decides it; one whose states leave ``new`` out, or that matches on more, does
    not."""
    f = _ruleset(_ct_ruleset(policy, rule, chains))
    assert f.errors == {}, f.errors
    assert (f.values["firewall.default_inbound"], f.values["firewall.default_inbound_v6"]) == (
        want, want)


@pytest.mark.parametrize(
    ("rule", "chains"),
    [
        # nft compares the whole value ("cmp neq 0x6"), not each state: not read, never skipped
        ("ct state != established | related accept", ""),
        # a mask, as nft prints "ct state & (new|established) == new"
        ("ct state new / established,new accept", ""),
        # a named verdict map, whose elements the walk does not read
        ("ct state vmap @states", "\tmap states {\n\t\ttype ct_state : verdict\n"
         "\t\telements = { new : accept }\n\t}\n"),
    ],
)
def test_an_unread_conntrack_state_rule_is_unknown_never_skipped(rule: str, chains: str) -> None:
    """**Hand-made**, printed back by a real ``nft list ruleset`` (nftables 1.0.6, in a network
    namespace of its own): a state list or verdict map the walk cannot read might accept every
    new connection, so the "drop" policy behind it is not the default: an error."""
    f = _ruleset(_ct_ruleset("drop", rule, chains))
    assert "firewall.default_inbound" not in f.values
    assert "new connection is unknown" in f.errors["firewall.default_inbound"]
    assert f.values["firewall.input_chains"][0]["effective"] == "unknown"


@pytest.mark.parametrize(
    ("rules", "want"),
    [
        # every new connection is accepted (before: "drop", a false pass)
        ("-A INPUT -m state --state NEW -j ACCEPT", "accept"),
        ("-A INPUT -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT", "accept"),
        ("-A INPUT -m conntrack ! --ctstate INVALID,ESTABLISHED -j ACCEPT", "accept"),
        ('-A INPUT -m conntrack --ctstate NEW -m comment --comment "new ones" -j ACCEPT',
         "accept"),
        ("-A INPUT -m conntrack --ctstate NEW -j allow\n-A allow -j ACCEPT", "accept"),
        ("-A INPUT -m state --state NEW,RELATED -g allow\n-A allow -j ACCEPT", "accept"),
        ("-A INPUT -m state --state NEW -j REJECT --reject-with icmp-port-unreachable",
         "reject"),
        # a condition, as before: new left out, another match beside it, or no verdict
        ("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "drop"),
        ("-A INPUT -m state ! --state NEW -j ACCEPT", "drop"),
        ("-A INPUT -p tcp -m state --state NEW -j ACCEPT", "drop"),
        ("-A INPUT -m conntrack --ctstate NEW --ctproto 6 -j ACCEPT", "drop"),
        ("-A INPUT -m state --state NEW -m state --state INVALID -j ACCEPT", "drop"),
        ("-A INPUT -m state --state NEW -j LOG", "drop"),
        ("-A INPUT -m conntrack --ctstate NEW -j allow\n-A allow -p tcp -m tcp --dport 22 -j ACCEPT",
         "drop"),
    ],
)
def test_iptables_state_rules_decide_new_connections(rules: str, want: str) -> None:
    """**Hand-made**, each line as a real ``iptables -S`` (iptables-legacy 1.8.9, in a network
    namespace of its own) printed it: a rule whose only match is the connection's state and
    whose states take in NEW decides the default for a new connection."""
    ipt = "-P INPUT DROP\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-N allow\n" + rules
    f = parse(block("uid", "0") + block("nft", "") + block("iptables", ipt)
              + block("ip6tables", "-P INPUT DROP") + missing("ufw", "ufw")
              + missing("firewalld", "firewall-cmd") + block("end", ""))
    assert f.errors == {}, f.errors
    assert f.values["firewall.default_inbound"] == want
    assert f.values["firewall.default_inbound_v6"] == "drop"


def test_an_unread_iptables_state_list_is_unknown() -> None:
    """**Hand-made**: a state the walk does not know (a newer kernel's, or a cut paste) in
    an unconditional state match might take in NEW: unknown, never the "DROP" policy."""
    f = parse(block("uid", "0") + block("nft", "")
              + block("iptables", "-P INPUT DROP\n-A INPUT -m state --state NEW,FRESH -j ACCEPT")
              + block("ip6tables", "-P INPUT DROP") + missing("ufw", "ufw")
              + missing("firewalld", "firewall-cmd") + block("end", ""))
    assert "new connection is unknown" in f.errors["firewall.default_inbound"]
