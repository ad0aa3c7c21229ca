"""known_hosts and jump hosts (issue 15, H1 transport side, L5, L8), against SSH servers on
127.0.0.1 (tests/sshserver.py) that record what a client offers them.

Each test reproduces the attack of the issue and fails on the code before the fix:
an inventory-named known_hosts was appended to on trust on first use (a cron job through a
hostile address); an unparsable line's text (a ``.my.cnf`` password) reached the host's error;
one ``@revoked`` line made every host fail; a jump host's connection was shared by hosts with
other trust settings and was offered the target's password.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import paramiko
import pytest

from scanner.engine.transports import knownhosts, ssh
from scanner.errors import HostKeyError
from scanner.inventory import Host
from tests.sshserver import SSHServer, fp, key_file, serving

OPTS = ssh.Options(connect_timeout=5)
SECRET = "Winter2026!"


def _key() -> paramiko.PKey:
    from tests.sshserver import _ed25519

    return _ed25519()


def _connect(conn: ssh.Connector, host: Host) -> dict[str, Any]:
    client, info = conn.client(host, OPTS)
    conn.release(client)
    return info


# -- trust on first use: only undone's own file --------------------------------------------------


def test_tofu_never_writes_the_inventorys_file_only_undones_own(tmp_path: Path) -> None:
    """The inventory names a cron folder's file as known_hosts, with trust on first use: before
    the fix the host's key line (and whatever its address held) was appended to it."""
    cron = tmp_path / "cron.d"
    cron.mkdir()
    target = cron / "x"
    target.write_text("# a file of the inventory author's choosing\n")
    before = target.read_bytes(), target.stat().st_mtime_ns
    own = tmp_path / "state" / "undone" / "known_hosts"
    with serving(SSHServer("empty", passwords={"root": "pw"})) as srv:
        os.environ["UNDONE_TEST_SSH_PW"] = "pw"
        host = Host(name="h", address="127.0.0.1", port=srv.port, user="root",
                    password_env="UNDONE_TEST_SSH_PW", known_hosts=str(target),
                    trust_on_first_use=True)
        info = _connect(ssh.Connector(str(own)), host)
        assert info["host_key"]["accepted_on_first_use"] is True
        assert info["host_key"]["recorded_in"] == str(own)
        assert (target.read_bytes(), target.stat().st_mtime_ns) == before
        assert own.read_text() == srv.known_hosts_line() + "\n"
        assert stat.S_IMODE(own.stat().st_mode) == 0o600
        assert stat.S_IMODE(own.parent.stat().st_mode) == 0o700
        # the next scan verifies against it (no second acceptance)
        again = Host(name="h", address="127.0.0.1", port=srv.port, user="root",
                     password_env="UNDONE_TEST_SSH_PW")
        info = _connect(ssh.Connector(str(own)), again)
        assert info["host_key"]["accepted_on_first_use"] is False


@pytest.mark.parametrize("name", [
    "10.0.0.1\n* * * * * root touch /tmp/pwned",
    "host name", "-oProxyCommand=x", "@revoked", "a\u2028b", "h\x00", "[h]:22\n",
])
def test_a_hostile_name_is_never_recorded(tmp_path: Path, name: str) -> None:
    own = tmp_path / "known_hosts"
    with pytest.raises(knownhosts.Refused):
        knownhosts.append(str(own), name, _key())
    assert not own.exists()


def test_own_file_through_a_link_or_of_another_user_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    link = tmp_path / "known_hosts"
    link.symlink_to(victim)
    with pytest.raises(knownhosts.Refused, match="symbolic link"):
        knownhosts.append(str(link), "127.0.0.1", _key())
    assert victim.read_text() == "untouched\n"
    assert knownhosts.read(str(link), own=True).problems == [
        f"{link} is a symbolic link; undone does not follow it; not read"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(knownhosts.Refused, match="fifo"):  # never blocks, never writes
        knownhosts.append(str(fifo), "127.0.0.1", _key())
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    if os.geteuid() == 0:  # root can give the file away to show the ownership check
        other = tmp_path / "other"
        other.write_text("")
        os.chown(other, 65534, 65534)
        with pytest.raises(knownhosts.Refused, match="does not belong"):
            knownhosts.append(str(other), "127.0.0.1", _key())
        assert other.read_text() == ""


def test_tofu_into_a_linked_own_file_refuses_the_host(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("")
    own = tmp_path / "known_hosts"
    own.symlink_to(victim)
    with serving(SSHServer("empty", passwords={"root": "pw"})) as srv:
        os.environ["UNDONE_TEST_SSH_PW"] = "pw"
        host = Host(name="h", address="127.0.0.1", port=srv.port, user="root",
                    password_env="UNDONE_TEST_SSH_PW", trust_on_first_use=True)
        with pytest.raises(HostKeyError, match="could not be recorded on first use"):
            _connect(ssh.Connector(str(own)), host)
        assert srv.log.auth == []  # refused before any credential was sent
    assert victim.read_text() == ""


# -- reading: errors name lines, never content ----------------------------------------------------


def test_unparsable_lines_are_reported_by_number_never_by_content(tmp_path: Path) -> None:
    """An inventory names a file with secrets as known_hosts: before the fix paramiko's
    InvalidHostKey carried the line (``password = Winter2026!``) into the host's error."""
    with serving(SSHServer("empty", passwords={"root": "pw"})) as srv:
        kh = tmp_path / "my.cnf"
        kh.write_text(f"[client]\npassword = {SECRET}\nmachine db login u password {SECRET}\n"
                      f"@cert-authority * ssh-ed25519 {SECRET}\n")
        os.environ["UNDONE_TEST_SSH_PW"] = "pw"
        host = Host(name="h", address="127.0.0.1", port=srv.port, user="root",
                    password_env="UNDONE_TEST_SSH_PW", known_hosts=str(kh))
        with pytest.raises(HostKeyError) as info:
            _connect(ssh.Connector(str(tmp_path / "own")), host)
        msg = str(info.value)
        assert SECRET not in msg and "client" not in msg
        for n in (1, 2, 3, 4):
            assert f"line {n} of {kh} is not a known_hosts entry" in msg or n == 4
        # with the host's real key added, it connects and the problems travel with the record
        kh.write_text(kh.read_text() + srv.known_hosts_line() + "\n")
        rec = _connect(ssh.Connector(str(tmp_path / "own")), host)
        assert rec["known_hosts_problems"] == [
            f"line {n} of {kh} is not a known_hosts entry" for n in (1, 2, 3, 4)]
        assert SECRET not in repr(rec)


def test_a_fifo_or_device_named_as_known_hosts_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading would block: it must not be opened blocking
    f = knownhosts.read(str(fifo))
    assert f.entries == [] and f.problems == [f"{fifo} is not a regular file; not read"]
    assert knownhosts.read("/dev/zero").problems == ["/dev/zero is not a regular file; not read"]
    assert knownhosts.read(str(tmp_path / "missing")).problems == []


# -- @revoked and patterns -----------------------------------------------------------------------


def test_revoked_key_refuses_that_host_only(tmp_path: Path) -> None:
    """L5: one @revoked line made every host fail (paramiko could not parse it)."""
    with serving(SSHServer("empty", passwords={"root": "pw"})) as a, \
            serving(SSHServer("empty", passwords={"root": "pw"})) as b:
        kh = tmp_path / "known_hosts"
        kh.write_text(f"@revoked {a.known_hosts_line()}\n{a.known_hosts_line()}\n"
                      f"{b.known_hosts_line()}\n")
        os.environ["UNDONE_TEST_SSH_PW"] = "pw"
        conn = ssh.Connector(str(tmp_path / "own"))

        def host(port: int, tofu: bool = False) -> Host:
            return Host(name="h", address="127.0.0.1", port=port, user="root",
                        password_env="UNDONE_TEST_SSH_PW", known_hosts=str(kh),
                        trust_on_first_use=tofu)

        with pytest.raises(HostKeyError, match=r"marked @revoked \(line 1 of "):
            _connect(conn, host(a.port))
        with pytest.raises(HostKeyError, match="revoked"):  # trust on first use cannot undo it
            _connect(conn, host(a.port, tofu=True))
        assert a.log.auth == []
        assert _connect(conn, host(b.port))["host_key"]["fingerprint"] == fp(b.host_key)


def test_patterns_as_openssh_matches_them() -> None:
    key = _key()
    blob = key.asbytes()

    def entry(patterns: str) -> knownhosts.Entry:
        e = knownhosts.parse_line(f"{patterns} {key.get_name()} {key.get_base64()}", "f", 1)
        assert e is not None and e.blob == blob
        return e

    assert entry("*.example.com").matches("web.example.com")
    assert not entry("*.example.com").matches("example.com")
    assert entry("web?.example.com,db").matches("DB")
    assert not entry("*.example.com,!bad.example.com").matches("bad.example.com")
    assert entry("[10.0.0.?]:2222").matches("[10.0.0.5]:2222")
    assert not entry("10.0.0.5").matches("[10.0.0.5]:2222")
    hashed = paramiko.HostKeys.hash_host("10.1.2.3")
    assert entry(hashed).matches("10.1.2.3") and not entry(hashed).matches("10.1.2.4")
    # linear time on a hostile pattern
    assert not entry("*a" * 2000 + "b").matches("a" * 5000)


def test_lines_that_are_not_entries() -> None:
    key = _key()
    good = f"{key.get_name()} {key.get_base64()}"
    for bad in (f"@bogus h {good}", f"h {good[:-4]}!!!!", "h ssh-ed25519",
                f"h ssh-rsa {key.get_base64()}", f"h ssh-ed25519-cert-v01@openssh.com "
                f"{key.get_base64()}", f"! {good}"):
        assert knownhosts.parse_line(bad, "f", 1) is None, bad
    assert knownhosts.parse_line(f"@revoked * {good} comment", "f", 1) is not None


# -- jump hosts (L8) -----------------------------------------------------------------------------


def test_jump_host_gets_its_own_credentials_and_connection_per_trust_setting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two targets behind one bastion (given as user@host:port, not an inventory host), with
    different trust settings: each gets its own connection to the bastion, and the bastion is
    offered only its own credentials (the default identity file), never the targets' password
    or key. Before the fix one connection served both and the target's password and key were
    offered to the bastion."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    bkey = key_file(home / ".ssh" / "id_ed25519")
    tkey = tmp_path / "target_key"
    target_key = key_file(tkey)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("UNDONE_TEST_TARGET_PW", "target-secret")
    with serving(SSHServer("empty", keys={"jumper": [fp(bkey)]})) as jump, \
            serving(SSHServer("empty", passwords={"root": "target-secret"},
                              keys={"root": [fp(target_key)]})) as target:
        kh1 = tmp_path / "kh1"
        kh1.write_text(f"{jump.known_hosts_line()}\n{target.known_hosts_line()}\n")
        kh2 = tmp_path / "kh2"
        kh2.write_text(f"{target.known_hosts_line()}\n")
        spec = f"jumper@127.0.0.1:{jump.port}"
        common: dict[str, Any] = {"address": "127.0.0.1", "port": target.port, "user": "root",
                                  "password_env": "UNDONE_TEST_TARGET_PW",
                                  "key_file": str(tkey), "jump": spec}
        strict = Host(name="t1", known_hosts=str(kh1), **common)
        tofu = Host(name="t2", known_hosts=str(kh2), trust_on_first_use=True, **common)
        conn = ssh.Connector(str(tmp_path / "own"))
        try:
            assert _connect(conn, strict)["jump"] == spec
            assert _connect(conn, strict)["jump"] == spec  # shared by the same settings
            assert jump.log.connections == 1
            assert _connect(conn, tofu)["jump"] == spec
            assert jump.log.connections == 2  # other trust settings: a connection of its own
        finally:
            conn.close()
        offered = [detail for _, _, detail in jump.log.auth]
        assert offered and set(offered) == {fp(bkey)}, jump.log.auth
        assert "target-secret" not in offered and fp(target_key) not in offered
        assert jump.log.forwards == [("127.0.0.1", target.port)] * 3
        assert ("root", "publickey", fp(target_key)) in target.log.auth


def test_jump_host_named_in_the_inventory_uses_only_its_own_credentials(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("UNDONE_TEST_BASTION_PW", "bastion-pw")
    monkeypatch.setenv("UNDONE_TEST_TARGET_PW", "target-pw")
    with serving(SSHServer("empty", passwords={"ops": "bastion-pw"})) as jump, \
            serving(SSHServer("empty", passwords={"root": "target-pw"})) as target:
        kh = tmp_path / "kh"
        kh.write_text(f"{jump.known_hosts_line()}\n{target.known_hosts_line()}\n")
        bastion = Host(name="bastion", address="127.0.0.1", port=jump.port, user="ops",
                       password_env="UNDONE_TEST_BASTION_PW", known_hosts=str(kh))
        t = Host(name="t", address="127.0.0.1", port=target.port, user="root",
                 password_env="UNDONE_TEST_TARGET_PW", known_hosts=str(kh), jump="bastion")
        conn = ssh.Connector(str(tmp_path / "own"))
        conn.by_name = {"bastion": bastion, "t": t}
        try:
            _connect(conn, t)
        finally:
            conn.close()
        assert jump.log.auth == [("ops", "password", "bastion-pw")]
        assert target.log.auth == [("root", "password", "target-pw")]


def test_a_revoked_key_is_a_failed_host_key_rule_not_an_unknown(tmp_path: Path) -> None:
    """A key known_hosts marks @revoked is a finding (UNDONE-SSH-001 fails), not "unknown"
    (which can only be an error: whether an unknown key changed cannot be told)."""
    from scanner.engine.collect import collect_host, plan
    from scanner.engine.options import Options
    from scanner.inventory import Contract
    from scanner.rules import baselines
    from scanner.rules.evaluate import compile_rules, evaluate_host
    from scanner.scan import host_view

    with serving(SSHServer("empty", passwords={"root": "pw"})) as a:
        kh = tmp_path / "known_hosts"
        kh.write_text(f"@revoked {a.known_hosts_line()}\n")
        os.environ["UNDONE_TEST_SSH_PW"] = "pw"
        host = Host(name="h", address="127.0.0.1", port=a.port, user="root",
                    password_env="UNDONE_TEST_SSH_PW", known_hosts=str(kh))
        rules = [r for b in baselines.load(["connection"]) for r in b.rules]
        rec = collect_host(host, plan(host, rules), Options(connect_timeout=5, timeout=10),
                           ssh.Connector(str(tmp_path / "own")))
    assert rec["error_kind"] == "host-key" and not rec["reachable"], rec["error"]
    facts = rec["facts"]
    assert facts["connection.host_key"].startswith("marked @revoked in known_hosts")
    assert facts["connection.host_key_fingerprint"] == fp(a.host_key)
    results = {r["rule"]: r for r in evaluate_host(
        host_view(rec), compile_rules(rules, {}), Contract())}
    assert results["UNDONE-SSH-001"]["status"] == "fail", results["UNDONE-SSH-001"]


def test_a_bastion_not_selected_by_hosts_still_uses_its_own_credentials(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``undone scan --hosts t``, where t's jump host is the inventory host ``bastion`` (not
    selected): before, the bastion was looked up among the selected hosts only, not found, and
    taken for a ``user@host`` written in place: offered the agent and default keys, never its
    own password, so the connection failed. Now it is found by name with its own credentials."""
    import json

    from scanner.cli.app import main

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("UNDONE_TEST_BASTION_PW", "bastion-pw")
    monkeypatch.setenv("UNDONE_TEST_TARGET_PW", "target-pw")
    with serving(SSHServer("empty", passwords={"ops": "bastion-pw"})) as jump, \
            serving(SSHServer("empty", passwords={"root": "target-pw"})) as target:
        kh = tmp_path / "kh"
        kh.write_text(f"{jump.known_hosts_line()}\n{target.known_hosts_line()}\n")
        inv = tmp_path / "inv.yaml"
        inv.write_text(json.dumps({"all": {"hosts": {
            "bastion": {"address": "127.0.0.1", "port": jump.port, "user": "ops",
                        "password_env": "UNDONE_TEST_BASTION_PW", "known_hosts": str(kh)},
            "t": {"address": "127.0.0.1", "port": target.port, "user": "root",
                  "password_env": "UNDONE_TEST_TARGET_PW", "known_hosts": str(kh),
                  "jump": "bastion"}}}}))
        out = tmp_path / "scan.json"
        main(["scan", str(inv), "--hosts", "t", "--no-history", "-q", "-b", "connection",
              "--format", "json", "-o", str(out)])
    doc = json.loads(out.read_text())
    assert [h["name"] for h in doc["hosts"]] == ["t"]
    assert jump.log.auth == [("ops", "password", "bastion-pw")]
    assert target.log.auth == [("root", "password", "target-pw")]
    assert doc["hosts"][0]["reachable"], doc["hosts"][0].get("error")
