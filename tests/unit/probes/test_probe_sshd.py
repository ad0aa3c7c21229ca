"""posix.sshd: recorded outputs (tests/fixtures/posix/sshd/SOURCE.md) and awkward ones."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from probes.base import Facts, RawSection
from probes.posix import sshd as probe

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "posix" / "sshd"
SCRIPT = ROOT / "probes" / "posix" / "sshd.sh"
AT = "2026-11-22T00:36:01Z"
CASES = (
    "debian12_root_sshd_t",
    "debian12_root_sshd_t_fails",
    "debian12_nobody_files",
    "debian12_root_weak_sshd_t",
    "debian12_nobody_weak_files",
    "debian12_nobody_include_unreadable",
    "debian12_sshd_absent",
)
SETTINGS = (
    "sshd.permitrootlogin",
    "sshd.passwordauthentication",
    "sshd.permitemptypasswords",
    "sshd.kbdinteractiveauthentication",
    "sshd.pubkeyauthentication",
    "sshd.x11forwarding",
    "sshd.maxauthtries",
    "sshd.ports",
    "sshd.ciphers",
    "sshd.macs",
    "sshd.kexalgorithms",
    "sshd.weak_algorithms",
)
CIPHERS = [
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
]
MACS = [
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
]
KEX_UPSTREAM_92 = [
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
]
DEFAULT_WEAK: list[str] = []  # upstream defaults: HMAC-SHA1/UMAC-64 are not counted as broken
DEBIAN_SETTINGS = {
    "sshd.permitrootlogin": "prohibit-password",
    "sshd.passwordauthentication": "yes",
    "sshd.permitemptypasswords": "no",
    "sshd.kbdinteractiveauthentication": "no",
    "sshd.pubkeyauthentication": "yes",
    "sshd.x11forwarding": "yes",
    "sshd.maxauthtries": 6,
    "sshd.ports": [22],
    "sshd.ciphers": CIPHERS,
    "sshd.macs": MACS,
    "sshd.weak_algorithms": DEFAULT_WEAK,
}
WEAK_SETTINGS = {
    "sshd.permitrootlogin": "yes",
    "sshd.passwordauthentication": "yes",
    "sshd.permitemptypasswords": "no",
    "sshd.kbdinteractiveauthentication": "no",
    "sshd.pubkeyauthentication": "yes",
    "sshd.x11forwarding": "no",  # 60-later.conf is read before the main file's "yes"
    "sshd.maxauthtries": 10,
    "sshd.ports": [22, 2222],
    "sshd.ciphers": ["aes256-ctr", "aes128-cbc", "3des-cbc"],
    "sshd.macs": ["hmac-sha2-256", "hmac-md5", "hmac-sha1"],
    "sshd.weak_algorithms": [
        "3des-cbc",
        "aes128-cbc",
        "diffie-hellman-group1-sha1",
        "diffie-hellman-group14-sha1",
        "hmac-md5",
    ],
}
END = "@@block end\n\n@@rc 0\n"


def parse(stdout: str) -> Facts:
    at = datetime.fromisoformat(AT.replace("Z", "+00:00")).astimezone(UTC)
    return probe.parse(RawSection("posix.sshd", stdout, collected_at=at))


def text(case: str) -> str:
    return (FIXTURES / f"{case}.out").read_text()


def fixture(case: str) -> Facts:
    return parse(text(case))


def without_kex(values: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in values.items() if k != "sshd.kexalgorithms"}


def test_root_sshd_t() -> None:
    facts = fixture("debian12_root_sshd_t")
    assert facts.errors == {}
    assert without_kex(facts.values) == {
        "sshd.installed": True,
        "sshd.version": "9.2",
        "sshd.source": "sshd -T",
        "sshd.source_reason": None,
        "sshd.defaults_used": [],
        "sshd.config_files": [],
        **DEBIAN_SETTINGS,
    }
    # Debian's 9.2p1-2+deb12u10 adds the un-suffixed sntrup name in front.
    assert facts.values["sshd.kexalgorithms"] == ["sntrup761x25519-sha512", *KEX_UPSTREAM_92]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        (
            "debian12_root_sshd_t_fails",
            "sshd -T: exit code 255: Missing privilege separation directory: /run/sshd",
        ),
        ("debian12_nobody_files", "sshd -T needs root"),
    ],
)
def test_files_and_defaults_reach_what_sshd_t_says(case: str, reason: str) -> None:
    facts = fixture(case)
    assert facts.errors == {}
    assert facts.values == {
        "sshd.installed": True,
        "sshd.version": "9.2",
        "sshd.source": "config-files",
        "sshd.source_reason": reason,
        "sshd.config_files": ["/etc/ssh/sshd_config"],
        "sshd.defaults_used": [
            "ciphers",
            "kexalgorithms",
            "macs",
            "maxauthtries",
            "passwordauthentication",
            "permitemptypasswords",
            "permitrootlogin",
            "ports",
            "pubkeyauthentication",
        ],
        **DEBIAN_SETTINGS,
        "sshd.kexalgorithms": KEX_UPSTREAM_92,
    }


def test_weak_config_by_sshd_t() -> None:
    facts = fixture("debian12_root_weak_sshd_t")
    assert facts.errors == {}
    assert without_kex(facts.values) == {
        "sshd.installed": True,
        "sshd.version": "9.2",
        "sshd.source": "sshd -T",
        "sshd.source_reason": None,
        "sshd.defaults_used": [],
        "sshd.config_files": [],
        **WEAK_SETTINGS,
    }
    assert facts.values["sshd.kexalgorithms"][-2:] == [
        "diffie-hellman-group14-sha1",
        "diffie-hellman-group1-sha1",
    ]


def test_weak_config_by_files_agrees_with_sshd_t() -> None:
    facts = fixture("debian12_nobody_weak_files")
    assert facts.errors == {}
    assert without_kex(facts.values) == {
        "sshd.installed": True,
        "sshd.version": "9.2",
        "sshd.source": "config-files",
        "sshd.source_reason": "sshd -T needs root",
        "sshd.config_files": [
            "/etc/ssh/sshd_config",
            "/etc/ssh/sshd_config.d/50-legacy.conf",
            "/etc/ssh/sshd_config.d/60-later.conf",
        ],
        "sshd.defaults_used": ["permitemptypasswords", "pubkeyauthentication"],
        **WEAK_SETTINGS,
    }
    assert facts.values["sshd.kexalgorithms"] == [
        *KEX_UPSTREAM_92,
        "diffie-hellman-group14-sha1",
        "diffie-hellman-group1-sha1",
    ]


def test_unreadable_include_makes_every_later_value_unknown() -> None:
    facts = fixture("debian12_nobody_include_unreadable")
    for name in SETTINGS:
        assert name not in facts.values, name
        assert "50-legacy.conf" in facts.errors[name], name
    assert facts.values["sshd.source"] == "config-files"


def test_sshd_not_installed_is_a_fact() -> None:
    facts = fixture("debian12_sshd_absent")
    assert facts.values == {"sshd.installed": False}
    assert facts.errors == {}


def files_output(*files: tuple[str, str, int], version: str = "OpenSSH_9.2, OpenSSL 3.0") -> str:
    out = "@@block sshd\n/usr/sbin/sshd\n\n@@rc 0\n"
    out += f"@@block version\n{version}\n\n@@rc 0\n"
    out += "@@block sshd_T\nsshd -T needs root\n\n@@rc 126\n"
    for i, (path, body, rc) in enumerate(files, 1):
        out += f"@@block config.{i}\n# undone-path: {path}\n{body}\n@@rc {rc}\n"
    return out + END


def test_config_syntax_match_aliases_and_list_modifiers() -> None:
    main = (
        "permitrootlogin=without-password\n"
        'PasswordAuthentication "no"\n'
        "ChallengeResponseAuthentication no\n"
        "Ciphers -*-cbc,chacha20*\n"
        "MACs ^hmac-sha2-512-etm@openssh.com\n"
        "KexAlgorithms +diffie-hellman-group-exchange-sha1\n"
        "Match Address 10.0.0.0/8\n"
        "  PermitRootLogin yes\n"
        "  X11Forwarding yes\n"
        "Port 2200\n"
    )
    main = "Port 22 # the usual one\n" + main
    facts = parse(files_output(("/etc/ssh/sshd_config", main, 0)))
    v = facts.values
    assert facts.errors == {}
    assert v["sshd.permitrootlogin"] == "prohibit-password"
    assert v["sshd.passwordauthentication"] == "no"
    assert v["sshd.kbdinteractiveauthentication"] == "no"
    assert v["sshd.x11forwarding"] == "no"  # the "yes" is inside Match
    assert v["sshd.ports"] == [22]  # a Port after Match does not count
    assert "ports" not in v["sshd.defaults_used"]
    assert v["sshd.ciphers"] == CIPHERS[1:]
    assert v["sshd.macs"][:2] == ["hmac-sha2-512-etm@openssh.com", "umac-64-etm@openssh.com"]
    assert len(v["sshd.macs"]) == len(MACS)
    assert v["sshd.kexalgorithms"][-1] == "diffie-hellman-group-exchange-sha1"
    assert "diffie-hellman-group-exchange-sha1" in v["sshd.weak_algorithms"]
    assert sorted(v["sshd.defaults_used"]) == [
        "maxauthtries",
        "permitemptypasswords",
        "pubkeyauthentication",
        "x11forwarding",
    ]


def test_unknown_default_for_an_old_version_is_an_error() -> None:
    facts = parse(
        files_output(
            ("/etc/ssh/sshd_config", "PermitRootLogin no\n", 0),
            version="unknown option -- V\nOpenSSH_7.4p1, OpenSSL 1.0.2k-fips  26 Jan 2017",
        )
    )
    assert facts.values["sshd.version"] == "7.4p1"
    assert facts.values["sshd.permitrootlogin"] == "no"
    assert facts.values["sshd.ciphers"] == CIPHERS
    assert "not known to undone" in facts.errors["sshd.kexalgorithms"]
    assert "sshd.weak_algorithms" in facts.errors
    # Before 7.0 the default allowed root logins with a password.
    facts = parse(
        files_output(("/etc/ssh/sshd_config", "", 0), version="OpenSSH_6.6.1p1, OpenSSL")
    )
    assert facts.values["sshd.permitrootlogin"] == "yes"


def test_unreadable_main_config_needs_root() -> None:
    facts = parse(files_output(("/etc/ssh/sshd_config", "", 126)))
    for name in SETTINGS:
        assert "run as root" in facts.errors[name]
        assert name not in facts.values


def test_sshd_t_garbage_is_an_error() -> None:
    out = (
        "@@block sshd\n/usr/sbin/sshd\n\n@@rc 0\n@@block version\nOpenSSH_9.2\n\n@@rc 0\n"
        "@@block sshd_T\nthis is not sshd\n\n@@rc 0\n" + END
    )
    facts = parse(out)
    for name in SETTINGS:
        assert name in facts.errors
    assert "unexpected output" in facts.errors["sshd.permitrootlogin"]


def test_cut_before_the_end_is_an_error() -> None:
    full = text("debian12_nobody_weak_files")
    facts = parse(full[: full.index("@@block config.3")])
    for name in SETTINGS:
        assert name in facts.errors
        assert name not in facts.values


@pytest.mark.parametrize("stdout", ["", "garbage\n", "@@block sshd\n/usr/sbin/sshd\n", "\x00"])
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
    assert all(re.fullmatch(r"sshd\.[a-z0-9_]+", n) for n in probe.PROVIDES)
    for case in CASES:
        facts = fixture(case)
        assert set(facts.values) | set(facts.errors) <= set(probe.PROVIDES)


def test_script_is_posix_sh_read_only_and_passes_shellcheck() -> None:
    script = SCRIPT.read_text()
    assert script.startswith("# undone section posix.sshd:")
    assert "Privilege:" in script[:1000]
    for forbidden in ("mktemp", "tee ", "touch ", "rm ", "mkdir"):
        assert forbidden not in script, forbidden
    subprocess.run(["sh", "-n", str(SCRIPT)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    subprocess.run(["shellcheck", "-s", "sh", str(SCRIPT)], check=True)


# ----------------------------------------- public configurations: sshd -T against the file reading

_COMPARED = (
    "sshd.permitrootlogin", "sshd.passwordauthentication", "sshd.permitemptypasswords",
    "sshd.kbdinteractiveauthentication", "sshd.pubkeyauthentication", "sshd.x11forwarding",
    "sshd.maxauthtries", "sshd.ports", "sshd.ciphers", "sshd.macs", "sshd.weak_algorithms",
)


PUBLIC_SETS = ["upstream", "inspec", "matchall", "rhel9", "insights_rhel7", "sles12", "archlinux",
               "ubuntu2404_cloudinit", "freebsd"]


@pytest.mark.parametrize("case", PUBLIC_SETS)
def test_file_reading_agrees_with_sshd_t_on_public_configurations(case: str) -> None:
    """The same configuration read by OpenSSH 9.2 itself (``sshd -T`` as root) and by the
    parser from the files (as nobody): every judged setting agrees. ``matchall`` holds the
    known-wrong case: a ``Match All`` block (and ``Match all # comment`` in an included file)
    overrides the global values for every connection; before, its settings were ignored and
    PasswordAuthentication read as yes."""
    folder = Path(__file__).resolve().parents[2] / "fixtures" / "posix" / "sshd"
    root = probe.parse(RawSection("posix.sshd", (folder / f"public_{case}_root_sshd_t.out").read_text()))
    files = probe.parse(RawSection("posix.sshd", (folder / f"public_{case}_nobody_files.out").read_text()))
    assert root.values["sshd.source"] == "sshd -T" and not root.errors
    assert files.values["sshd.source"] == "config-files"
    for name in _COMPARED:
        assert files.values.get(name, files.errors.get(name)) == root.values[name], name
    if case == "matchall":
        assert root.values["sshd.passwordauthentication"] == "no"
        assert root.values["sshd.permitrootlogin"] == "no"
        assert root.values["sshd.x11forwarding"] == "no"
    # what each public configuration is known to give (SOURCE.md, "Public configurations")
    expected = {
        # an Include outside /etc/ssh (RHEL's crypto policy) sets the ciphers
        "rhel9": {"sshd.ciphers": ["aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
                                   "aes256-ctr", "aes128-gcm@openssh.com", "aes128-ctr"],
                  "sshd.kbdinteractiveauthentication": "no", "sshd.x11forwarding": "yes"},
        # "PasswordAuthentication=yes" and 'X11Forwarding = "yes"'
        "insights_rhel7": {"sshd.passwordauthentication": "yes", "sshd.x11forwarding": "yes",
                           "sshd.kbdinteractiveauthentication": "no"},
        "sles12": {"sshd.permitrootlogin": "yes", "sshd.passwordauthentication": "yes"},
        "archlinux": {"sshd.permitrootlogin": "yes", "sshd.x11forwarding": "no"},
        # cloud-init's 50-cloud-init.conf, included first, wins over sshd_config's "no"
        "ubuntu2404_cloudinit": {"sshd.passwordauthentication": "yes"},
        # everything commented out: the defaults
        "freebsd": {"sshd.permitrootlogin": "prohibit-password", "sshd.ports": [22]},
    }.get(case, {})
    for name, value in expected.items():
        assert root.values[name] == value == files.values[name], name
    if case == "rhel9":
        assert "/etc/crypto-policies/back-ends/opensshserver.config" in files.values[
            "sshd.config_files"]
    if case == "freebsd":
        assert {"permitrootlogin", "passwordauthentication", "ciphers"} <= set(
            files.values["sshd.defaults_used"])


def test_a_line_longer_than_undone_reads_makes_the_settings_unknown() -> None:
    """A cut line could hide a weak algorithm at its end: never a pass on missing data."""
    folder = Path(__file__).resolve().parents[2] / "fixtures" / "posix" / "sshd"
    text = (folder / "public_upstream_nobody_files.out").read_text()
    long = "Ciphers " + ",".join(["aes128-ctr"] * 500) + ",3des-cbc"
    out = text.replace("AuthorizedKeysFile", long + "\nAuthorizedKeysFile", 1)
    f = probe.parse(RawSection("posix.sshd", out))
    assert "sshd.ciphers" not in f.values and "longer than undone reads" in f.errors["sshd.ciphers"]
    root = (folder / "public_upstream_root_sshd_t.out").read_text().replace(
        "\nciphers ", "\nciphers " + "aes128-ctr," * 500, 1)
    g = probe.parse(RawSection("posix.sshd", root))
    assert "sshd.ciphers" not in g.values and "longer than undone reads" in g.errors["sshd.ciphers"]
