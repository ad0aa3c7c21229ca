"""The peer for the throughput benchmark: pytest-testinfra doing checks equivalent to undone's
probe sections, one test (so one paramiko connection) per host. Run by benchmarks/throughput.py,
not by the test suite (the file name does not start with ``test_``)."""

from __future__ import annotations

from typing import Any

APT = (
    "apt-get -s -o Debug::NoLocking=true -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= "
    "-o Dir::Log::Planner= dist-upgrade"
)


def test_host(host: Any) -> None:
    # os
    assert "ID=" in host.file("/etc/os-release").content_string
    # updates: pending, security pocket, reboot, unattended upgrades
    assert host.run(APT).rc == 0
    host.file("/run/reboot-required").exists  # noqa: B018 - the check is the remote call
    assert host.run("apt-config dump APT::Periodic").rc == 0
    # patch history
    host.run("tail -n 2000 /var/log/apt/history.log")
    # sshd
    assert host.run("sshd -T").rc in (0, 255)
    # accounts and sudo
    assert host.run("awk -F: '$3 == 0 {print $1}' /etc/passwd").rc == 0
    host.run("grep -rh NOPASSWD /etc/sudoers /etc/sudoers.d")
    # firewall
    host.run("nft list ruleset")
