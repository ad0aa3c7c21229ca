"""Build one host's private tree and its truth from its :class:`HostSpec`.

A host's tree (``<run>/hosts/<name>/tree``) is what its private mount namespace lays over the
machine's files (``host-init.sh`` mounts it):

=================  ==============================================================================
tree/etc           overlay upper over /etc: hostname, hosts, machine-id, debian_version, passwd,
                   group, shadow, gshadow, sudoers(.d), ssh/ (own keys, sshd_config), apt/
                   (sources, apt.conf.d, preferences.d), clamav/ whiteout when AV is absent
tree/os-release    bound over /usr/lib/os-release (/etc/os-release links to it)
tree/var-lib       overlay upper over /var/lib (the dpkg status template is a lower layer between):
                   apt/lists (frozen repo), apt/periodic, clamav/ (database or whiteout)
tree/var-log       bound over /var/log: apt/history.log, dpkg.log, clamav/freshclam.log, ...
tree/srv           bound over /srv: backup/{restic,borg} repositories and their passwords
tree/root          bound over /root (root's HOME: .ssh/authorized_keys, backup tools' caches)
tree/home          bound over /home: homes of the scenario's accounts
tree/tmp           bound over /tmp (and tree/var-tmp over /var/tmp): the host's own, empty
=================  ==============================================================================

Beside the tree: ``run/`` (copied into the host's fresh /run: reboot-required), ``work/`` (overlay
work directories), ``init.conf`` (read by host-init.sh) and ``init.log`` (host-init and sshd).
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import clamdb, faults, keys
from .common import EstateError, days_before, iso, run, set_mtime, write_text
from .scenario import AccountSpec, HostSpec
from .templates import (
    CODENAMES,
    GROUPS,
    AptLists,
    Stanza,
    Templates,
    build_apt_lists,
    newest_by_package,
    read_packages,
)

#: host path <- tree subdirectory (for snapshots and for host-init.sh)
TREE_MOUNTS = {
    "etc": "/etc",
    "os-release": "/usr/lib/os-release",
    "var-lib": "/var/lib",
    "var-log": "/var/log",
    "srv": "/srv",
    "root": "/root",
    "home": "/home",
    "tmp": "/tmp",
    "var-tmp": "/var/tmp",
}
#: files sshd itself writes at each login (login records), left out of snapshots
LOGIN_RECORDS = ("/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog")

OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux {major} ({codename})"
NAME="Debian GNU/Linux"
VERSION_ID="{major}"
VERSION="{major} ({codename})"
VERSION_CODENAME={codename}
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""

SSHD_COMMON = """\
# sshd_config of estate host {name} (profile: {profile})
{ports}
AddressFamily inet
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_rsa_key
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
StrictModes yes
UsePAM no
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 100:30:200
LogLevel VERBOSE
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""

SSHD_PROFILES = {
    "hardened": {
        "PermitRootLogin": "prohibit-password",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "PermitEmptyPasswords": "no",
        "X11Forwarding": "no",
        "AllowAgentForwarding": "no",
        "MaxAuthTries": "3",
        "LoginGraceTime": "30",
        "ClientAliveInterval": "300",
        "ClientAliveCountMax": "2",
        "Ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,"
        "aes256-ctr,aes192-ctr,aes128-ctr",
        "MACs": "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
        "umac-128-etm@openssh.com,hmac-sha2-512,hmac-sha2-256",
        "KexAlgorithms": "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
        "curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,"
        "diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256",
    },
    # weak, but still offers curve25519 so that modern clients (paramiko 5 included) get in
    "weak": {
        "PermitRootLogin": "yes",
        "PasswordAuthentication": "yes",
        "KbdInteractiveAuthentication": "yes",
        "PermitEmptyPasswords": "no",
        "X11Forwarding": "yes",
        "AllowAgentForwarding": "yes",
        "MaxAuthTries": "10",
        "LoginGraceTime": "120",
        "Ciphers": "aes128-ctr,aes256-ctr,aes128-cbc,aes256-cbc,3des-cbc,"
        "chacha20-poly1305@openssh.com",
        "MACs": "hmac-sha1,hmac-md5,hmac-sha2-256,hmac-sha2-512",
        "KexAlgorithms": "curve25519-sha256,curve25519-sha256@libssh.org,"
        "diffie-hellman-group14-sha1,diffie-hellman-group1-sha1,"
        "diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha256",
        "HostKeyAlgorithms": "+ssh-rsa",
        "PubkeyAcceptedAlgorithms": "+ssh-rsa",
    },
}

SUDOERS_DEFAULT = """\
Defaults\tenv_reset
Defaults\tmail_badpass
Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults\tuse_pty
root\tALL=(ALL:ALL) ALL
%sudo\tALL=(ALL:ALL) ALL
@includedir /etc/sudoers.d
"""

UU_CONFIG = """\
// written for the test estate: security updates only
Unattended-Upgrade::Origins-Pattern {
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
};
Unattended-Upgrade::Automatic-Reboot "false";
"""


# ------------------------------------------------------------------------------------------------
# the run-wide context


@dataclass
class BaseAccounts:
    """The machine's system accounts (uid < 1000, and nobody), the base of every host's."""

    passwd: list[list[str]]
    group: list[list[str]]
    shadow: list[list[str]]
    gshadow: list[list[str]]

    @classmethod
    def from_machine(cls) -> BaseAccounts:
        def rows(path: str) -> list[list[str]]:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except FileNotFoundError:
                return []
            return [line.split(":") for line in text.splitlines() if line and ":" in line]

        passwd = [
            r for r in rows("/etc/passwd")
            if len(r) >= 7 and (r[0] == "root" or (0 < int(r[2]) < 1000) or int(r[2]) == 65534)
        ]  # fmt: skip
        users = {r[0] for r in passwd}
        group = [
            r
            for r in rows("/etc/group")
            if len(r) >= 4 and (int(r[2]) < 1000 or int(r[2]) == 65534)
        ]
        for row in group:
            row[3] = ",".join(m for m in row[3].split(",") if m in users)
        groups = {r[0] for r in group}
        shadow = [r for r in rows("/etc/shadow") if r[0] in users]
        known = {r[0] for r in shadow}
        shadow += [[u, "*", "19000", "0", "99999", "7", "", "", ""] for u in users - known]
        for row in shadow:
            if row[0] == "root":
                row[1] = "*"
        gshadow = [r for r in rows("/etc/gshadow") if r and r[0] in groups]
        for row in gshadow:
            if len(row) >= 4:
                row[3] = ",".join(m for m in row[3].split(",") if m in users)
        return cls(passwd=passwd, group=group, shadow=shadow, gshadow=gshadow)


@dataclass
class RunContext:
    dir: Path
    now: datetime
    client_public: str
    templates: Templates
    base: BaseAccounts
    password_hash: str
    lists: dict[tuple[str, float, float], AptLists] = field(default_factory=dict)
    #: the password of accounts with ``password: known`` (made for this run; in the truth)
    known_password: str = ""
    known_password_hash: str = "*"

    def apt_lists(self, spec: HostSpec) -> AptLists:
        key = (spec.os, spec.security_release_age_days, spec.point_release_age_days)
        if key not in self.lists:
            security = days_before(self.now, spec.security_release_age_days)
            point = (days_before(self.now, spec.point_release_age_days)
                     if spec.point_release_age_days is not None else None)
            out = self.dir / "apt" / f"{spec.os}-{len(self.lists)}"
            self.lists[key] = build_apt_lists(out, spec.os, security, point)
        return self.lists[key]


@dataclass
class BackupJob:
    """A backup to make in the host's view (its /srv and /root), after the tree is written."""

    host: str
    tool: str  # restic | borg
    tree: Path
    ages: list[datetime]
    hostname: str
    shared: bool = False


@dataclass
class BuiltHost:
    truth: dict[str, Any]
    host_dir: Path
    jobs: list[BackupJob]
    firewall: str | None


# ------------------------------------------------------------------------------------------------
# helpers


def _whiteout(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def _opaque_dir(path: Path, mode: int = 0o755) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    os.setxattr(path, "trusted.overlay.opaque", b"y")
    return path


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _rows(rows: list[list[str]]) -> str:
    return "".join(":".join(r) + "\n" for r in rows)


def password_hash(secret: str | None = None) -> str:
    """A SHA-512 crypt hash of ``secret``, by default a random password nobody knows (for
    accounts that 'have one')."""
    secret = secret or secrets.token_urlsafe(18)
    return run(
        ["openssl", "passwd", "-6", "-stdin"], input_text=secret + "\n", what="openssl passwd"
    ).stdout.strip()


# ------------------------------------------------------------------------------------------------
# the builder


class HostBuilder:
    def __init__(self, ctx: RunContext, spec: HostSpec, address: str, netns: str) -> None:
        self.ctx = ctx
        self.spec = spec
        self.address = address
        self.netns = netns
        self.host_dir = ctx.dir / "hosts" / spec.name
        self.tree = self.host_dir / "tree"
        self.etc = self.tree / "etc"
        self.varlib = self.tree / "var-lib"
        self.varlog = self.tree / "var-log"
        self.truth: dict[str, Any] = {
            "name": spec.name,
            "kind": "ssh",
            "address": address,
            "netns": netns,
            "roles": list(spec.roles),
            "hostname": spec.name,
        }
        self.jobs: list[BackupJob] = []
        self.uids: dict[str, tuple[int, int]] = {}

    def build(self) -> BuiltHost:
        if self.host_dir.exists():
            shutil.rmtree(self.host_dir)
        for sub in ("etc", "var-lib", "var-log", "srv", "root", "home", "tmp", "var-tmp"):
            (self.tree / sub).mkdir(parents=True)
        (self.tree / "root").chmod(0o700)
        for sub in ("tmp", "var-tmp"):  # the host's own, so a snapshot sees temporary files too
            (self.tree / sub).chmod(0o1777)
        for sub in ("etc", "var-lib"):
            (self.host_dir / "work" / sub).mkdir(parents=True)
        (self.host_dir / "run").mkdir()
        self._identity()
        self._accounts()
        self._sshd()
        layer = self._packages()
        if self.spec.applications is not None:
            from . import applications

            self.truth["applications"] = applications.build(self, self.spec.applications, layer)
        self._reboot()
        self._clamav()
        self._backups()
        firewall = self._firewall()
        extra: dict[str, str] = {}
        self.truth["fault"] = None
        if self.spec.fault:
            extra, self.truth["fault"] = faults.apply(
                self.spec.fault, self.host_dir, self.tree, self.etc / "ssh" / "sshd_config",
                self.address,
            )
        self._init_conf(layer, extra)
        return BuiltHost(
            truth=self.truth, host_dir=self.host_dir, jobs=self.jobs, firewall=firewall
        )

    # -- identity -------------------------------------------------------------------------------

    def _identity(self) -> None:
        spec = self.spec
        codename, major, point = CODENAMES[spec.os]
        os_release = OS_RELEASE.format(major=major, codename=codename)
        write_text(self.tree / "os-release", os_release)
        write_text(self.etc / "debian_version", point + "\n")
        write_text(self.etc / "hostname", spec.name + "\n")
        write_text(
            self.etc / "hosts",
            f"127.0.0.1\tlocalhost\n127.0.1.1\t{spec.name}\n{self.address}\t{spec.name}\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n",
        )
        machine_id = secrets.token_hex(16)
        write_text(self.etc / "machine-id", machine_id + "\n", 0o444)
        self.truth["machine_id"] = machine_id
        self.truth["os"] = {
            "id": "debian",
            "name": spec.os,
            "version_id": major,
            "codename": codename,
            "pretty_name": f"Debian GNU/Linux {major} ({codename})",
            "debian_version": point,
        }

    # -- accounts -------------------------------------------------------------------------------

    def _accounts(self) -> None:
        base = self.ctx.base
        passwd = [list(r) for r in base.passwd]
        group = [list(r) for r in base.group]
        shadow = [list(r) for r in base.shadow]
        gshadow = [list(r) for r in base.gshadow]
        weak = self.spec.sshd_profile == "weak"
        for row in shadow:
            if row[0] == "root" and weak:
                row[1] = self.ctx.password_hash
        used_uids = {int(r[2]) for r in passwd}
        used_gids = {int(r[2]) for r in group}
        next_id = 1001
        sudoers_d = _opaque_dir(self.etc / "sudoers.d")
        write_text(
            sudoers_d / "README",
            "# Files in this directory are read by sudo (see @includedir in /etc/sudoers).\n",
            0o440,
        )
        last_change = str((self.ctx.now - datetime(1970, 1, 1, tzinfo=UTC)).days - 30)
        added: list[dict[str, Any]] = []
        known_password = False
        for acct in self.spec.accounts:
            if acct.uid is None:
                while next_id in used_uids or next_id in used_gids:
                    next_id += 1
                uid = next_id
            else:
                uid = acct.uid
            used_uids.add(uid)
            if uid == 0:
                gid, home = 0, "/root"
            else:
                gid, home = uid, f"/home/{acct.name}"
                group.append([acct.name, "x", str(gid), ""])
                gshadow.append([acct.name, "!", "", ""])
                used_gids.add(gid)
            passwd.append([acct.name, "x", str(uid), str(gid), acct.comment, home, acct.shell])
            if acct.password == "known":
                secret = self.ctx.known_password_hash
                known_password = True
            else:
                secret = self.ctx.password_hash if acct.password else "*"
            if acct.locked:
                secret = "!" + secret
            shadow.append([acct.name, secret, last_change, "0", "99999", "7", "", "", ""])
            for name in acct.groups:
                self._add_member(group, gshadow, used_gids, name, acct.name)
            if acct.sudo != "none":
                rule = "NOPASSWD: ALL" if acct.sudo == "nopasswd" else "ALL"
                write_text(sudoers_d / acct.name, f"{acct.name}\tALL=(ALL:ALL) {rule}\n", 0o440)
            self.uids[acct.name] = (uid, gid)
            if uid != 0:
                self._home(acct, uid, gid)
            added.append(
                {
                    "name": acct.name, "uid": uid, "gid": gid, "groups": list(acct.groups),
                    "sudo": acct.sudo, "locked": acct.locked, "shell": acct.shell,
                    "comment": acct.comment, "authorized_key": acct.authorized_key,
                    "password": acct.password, "home": home,
                }
            )  # fmt: skip
        write_text(self.etc / "passwd", _rows(passwd))
        write_text(self.etc / "group", _rows(group))
        write_text(self.etc / "shadow", _rows(shadow), 0o640)
        write_text(self.etc / "gshadow", _rows(gshadow), 0o640)
        for name in ("shadow", "gshadow"):
            os.chown(self.etc / name, 0, _gid_of(group, "shadow", 0))
        sudoers = Path("/etc/sudoers")
        text = sudoers.read_text(encoding="utf-8") if sudoers.exists() else SUDOERS_DEFAULT
        write_text(self.etc / "sudoers", text, 0o440)
        # root's own files
        root = self.tree / "root"
        for skel in (".bashrc", ".profile"):
            source = Path("/etc/skel") / skel
            if source.exists():
                shutil.copy2(source, root / skel)
        ssh_dir = root / ".ssh"
        ssh_dir.mkdir(mode=0o700)
        write_text(ssh_dir / "authorized_keys", self.ctx.client_public + " undone-estate\n", 0o600)
        sudo_members = next((r[3] for r in group if r[0] == "sudo"), "")
        self.truth["accounts"] = {
            "added": added,
            "uid0": ["root"] + [a["name"] for a in added if a["uid"] == 0],
            "sudo_group": [m for m in sudo_members.split(",") if m],
            "sudoers_d": {a["name"]: a["sudo"] for a in added if a["sudo"] != "none"},
            "nopasswd": [a["name"] for a in added if a["sudo"] == "nopasswd"],
            "locked": [a["name"] for a in added if a["locked"]],
            "root_password_set": weak,
            "authorized": ["root"] + [a["name"] for a in added if a["authorized_key"]],
        }
        if known_password:
            self.truth["accounts"]["known_password"] = self.ctx.known_password

    @staticmethod
    def _add_member(
        group: list[list[str]], gshadow: list[list[str]], used: set[int], name: str, user: str
    ) -> None:
        row = next((r for r in group if r[0] == name), None)
        if row is None:
            gid = 2000
            while gid in used:
                gid += 1
            used.add(gid)
            row = [name, "x", str(gid), ""]
            group.append(row)
            gshadow.append([name, "!", "", ""])
        members = [m for m in row[3].split(",") if m]
        if user not in members:
            members.append(user)
        row[3] = ",".join(members)
        for srow in gshadow:
            if srow[0] == name and len(srow) >= 4:
                smembers = [m for m in srow[3].split(",") if m]
                if user not in smembers:
                    smembers.append(user)
                srow[3] = ",".join(smembers)

    def _home(self, acct: AccountSpec, uid: int, gid: int) -> None:
        home = self.tree / "home" / acct.name
        home.mkdir(mode=0o750)
        for skel in (".bashrc", ".profile"):
            source = Path("/etc/skel") / skel
            if source.exists():
                shutil.copy2(source, home / skel)
                os.chown(home / skel, uid, gid)
        if acct.authorized_key:
            ssh_dir = home / ".ssh"
            ssh_dir.mkdir(mode=0o700)
            write_text(
                ssh_dir / "authorized_keys", self.ctx.client_public + " undone-estate\n", 0o600
            )
            os.chown(ssh_dir, uid, gid)
            os.chown(ssh_dir / "authorized_keys", uid, gid)
        os.chown(home, uid, gid)

    # -- sshd -----------------------------------------------------------------------------------

    def _sshd(self) -> None:
        spec = self.spec
        ssh_dir = self.etc / "ssh"
        ssh_dir.mkdir()
        # hide the machine's own host keys (the host has its own)
        ours = {"ssh_host_ed25519_key", "ssh_host_rsa_key"}
        for lower in Path("/etc/ssh").glob("ssh_host_*"):
            if lower.name.removesuffix(".pub") not in ours:
                _whiteout(ssh_dir / lower.name)
        host_key = keys.generate("ed25519")
        host_key.write(ssh_dir / "ssh_host_ed25519_key", f"root@{spec.name}")
        rsa = self.ctx.templates.rsa_key
        shutil.copy2(rsa, ssh_dir / "ssh_host_rsa_key")
        shutil.copy2(rsa.with_name(rsa.name + ".pub"), ssh_dir / "ssh_host_rsa_key.pub")
        settings = dict(SSHD_PROFILES[spec.sshd_profile])
        settings.update(spec.sshd_options)
        ports = "\n".join(f"Port {p}" for p in spec.sshd_ports)
        text = SSHD_COMMON.format(name=spec.name, profile=spec.sshd_profile, ports=ports)
        text += "".join(f"{k} {v}\n" for k, v in settings.items())
        write_text(ssh_dir / "sshd_config", text)
        rsa_public = keys.load(rsa).public
        self.truth["sshd"] = {
            "profile": spec.sshd_profile,
            "ports": list(spec.sshd_ports),
            "settings": {k.lower(): v for k, v in settings.items()},
            "host_keys": {"ed25519": host_key.public, "rsa": rsa_public},
            "fingerprints": {
                "ed25519": host_key.fingerprint,
                "rsa": keys.KeyPair(private=b"", public=rsa_public).fingerprint,
            },
        }

    # -- packages, apt, patch history -------------------------------------------------------------

    def _packages(self) -> Path:
        spec = self.spec
        ctx = self.ctx
        uu_installed = spec.unattended_upgrades != "absent"
        layer = ctx.templates.dpkg_layer(tuple(spec.pending), spec.clamav is not None, uu_installed)
        lists = ctx.apt_lists(spec)
        apt = self.etc / "apt"
        write_text(_opaque_dir(apt / "sources.list.d") / "debian.sources", lists.sources)
        if Path("/etc/apt/sources.list").exists():
            _whiteout(apt / "sources.list")
        _opaque_dir(apt / "preferences.d")
        conf = _opaque_dir(apt / "apt.conf.d")
        write_text(
            conf / "00estate-nocache",
            "// test estate: no binary package cache (as in Debian's container images)\n"
            'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n',
        )
        if uu_installed:
            flag = "1" if spec.unattended_upgrades == "on" else "0"
            write_text(
                conf / "20auto-upgrades",
                f'APT::Periodic::Update-Package-Lists "{flag}";\n'
                f'APT::Periodic::Unattended-Upgrade "{flag}";\n',
            )
            write_text(conf / "50unattended-upgrades", UU_CONFIG)
        # /var/lib/apt: the lists the host last fetched, and the periodic stamps
        lists_dir = _opaque_dir(self.varlib / "apt" / "lists")
        for item in lists.lists.iterdir():
            if item.is_file():
                _link_or_copy(item, lists_dir / item.name)
        partial = lists_dir / "partial"
        partial.mkdir(mode=0o700)
        apt_uid = next((int(r[2]) for r in ctx.base.passwd if r[0] == "_apt"), 0)
        os.chown(partial, apt_uid, 0)
        periodic = _opaque_dir(self.varlib / "apt" / "periodic")
        for stamp in ("update-success-stamp", "update-stamp"):
            (periodic / stamp).touch()
            set_mtime(periodic / stamp, lists.security_date)
        # truth: what apt will say
        newest = newest_by_package(point=lists.point_date is not None)
        security_versions = {
            s.package: s.get("Version") for s in read_packages("security.Packages")
        }
        pending = []
        codename = lists.codename
        for group in spec.pending:
            for package in GROUPS[group]:
                if package not in layer.versions:
                    continue
                if package not in newest:
                    continue
                stanza, pocket = newest[package]
                version = stanza.get("Version")
                pending.append(
                    {
                        "package": package,
                        "source": group,
                        "installed": layer.versions[package],
                        "candidate": version,
                        "suite": f"{codename}-security" if pocket == "security" else codename,
                        "label": "Debian-Security" if pocket == "security" else "Debian",
                        "security_version": security_versions.get(package),
                    }
                )
        self.truth["packages"] = {
            "versions": dict(layer.versions),
            "status_entries": layer.packages,
        }
        self.truth["updates"] = {
            "state": "behind-security" if spec.pending else "none",
            "pending_sources": list(spec.pending),
            "pending": pending,
            "pending_names": [p["package"] for p in pending],
            # candidate comes from the security suite
            "security_pending": [p["package"] for p in pending if p["label"] == "Debian-Security"],
            # the security suite has a version newer than installed (its candidate may be newer)
            "security_fix_available": [p["package"] for p in pending if p["security_version"]],
            "security_release_date": iso(lists.security_date),
            "point_release_date": iso(lists.point_date) if lists.point_date else None,
            "security_suite": f"{codename}-security",
        }
        self.truth["unattended_upgrades"] = {
            "state": spec.unattended_upgrades,
            "enabled": spec.unattended_upgrades == "on",
            "installed": uu_installed,
        }
        self._patch_history(layer.versions)
        return layer.path

    def _patch_history(self, versions: dict[str, str]) -> None:
        spec = self.spec
        older = {s.package: s.get("Version") for s in read_packages("behind.Packages")}
        history: list[str] = []
        dpkg_log: list[str] = []
        uu_log: list[str] = []
        events = []
        patched_pkgs = [
            p for g in GROUPS if g not in spec.pending for p in GROUPS[g] if p in versions
        ]
        for index, event in enumerate(spec.patch_history):
            moment = days_before(self.ctx.now, event.age_days)
            names = event.packages
            if names is None:
                names = (
                    patched_pkgs
                    if index == len(spec.patch_history) - 1 and patched_pkgs
                    else ["tzdata"]
                )
            upgrades = []
            for name in names:
                new = versions.get(name) or _machine_version(name) or "1.0-1"
                old = older.get(name) if name in versions and older.get(name) != new else None
                upgrades.append((name, old or f"{new}~pre", new))
            events.append(
                {
                    "date": iso(moment),
                    "command": event.command,
                    "packages": [{"package": n, "from": o, "to": v} for n, o, v in upgrades],
                }
            )
            local = moment.astimezone()
            start = local.strftime("%Y-%m-%d  %H:%M:%S")
            end = (local + timedelta(seconds=12)).strftime("%Y-%m-%d  %H:%M:%S")
            command = (
                "/usr/bin/unattended-upgrade"
                if event.command == "unattended-upgrade"
                else "apt-get -y dist-upgrade"
            )
            arch = "amd64"
            history.append(
                f"Start-Date: {start}\nCommandline: {command}\n"
                + ("" if event.command == "unattended-upgrade" else "Requested-By: admin (1000)\n")
                + "Upgrade: "
                + ", ".join(f"{n}:{arch} ({o}, {v})" for n, o, v in upgrades)
                + f"\nEnd-Date: {end}\n"
            )
            stamp = local.strftime("%Y-%m-%d %H:%M:%S")
            dpkg_log.append(f"{stamp} startup archives unpack\n")
            for n, o, v in upgrades:
                dpkg_log.append(f"{stamp} upgrade {n}:{arch} {o} {v}\n")
                dpkg_log.append(f"{stamp} status half-configured {n}:{arch} {v}\n")
                dpkg_log.append(f"{stamp} status installed {n}:{arch} {v}\n")
            if event.command == "unattended-upgrade":
                uu_log.append(
                    f"{local:%Y-%m-%d %H:%M:%S},000 INFO Starting unattended upgrades script\n"
                    f"{local:%Y-%m-%d %H:%M:%S},100 INFO Packages that will be upgraded: "
                    + " ".join(n for n, _, _ in upgrades)
                    + f"\n{local:%Y-%m-%d %H:%M:%S},900 INFO All upgrades installed\n"
                )
        apt_log = self.varlog / "apt"
        apt_log.mkdir(parents=True, exist_ok=True)
        write_text(apt_log / "history.log", "\n".join(history) + ("\n" if history else ""))
        write_text(apt_log / "term.log", "", 0o640)
        write_text(self.varlog / "dpkg.log", "".join(dpkg_log))
        if uu_log:
            write_text(
                self.varlog / "unattended-upgrades" / "unattended-upgrades.log", "".join(uu_log)
            )
        for name in ("wtmp", "btmp", "lastlog"):
            write_text(self.varlog / name, "", 0o664 if name != "btmp" else 0o660)
        self.truth["patch_history"] = events
        self.truth["last_patched"] = events[-1]["date"] if events else None

    # -- reboot, AV, backups, firewall ------------------------------------------------------------

    def _reboot(self) -> None:
        spec = self.spec
        since = None
        if spec.reboot_required:
            moment = days_before(self.ctx.now, spec.reboot_age_days)
            run_dir = self.host_dir / "run"
            write_text(run_dir / "reboot-required", "*** System restart required ***\n")
            write_text(
                run_dir / "reboot-required.pkgs", "".join(p + "\n" for p in spec.reboot_packages)
            )
            set_mtime(run_dir / "reboot-required", moment)
            set_mtime(run_dir / "reboot-required.pkgs", moment)
            since = iso(moment)
        self.truth["reboot_required"] = spec.reboot_required
        self.truth["reboot_required_pkgs"] = (
            list(spec.reboot_packages) if spec.reboot_required else []
        )
        self.truth["reboot_required_since"] = since

    def _clamav(self) -> None:
        spec = self.spec
        if spec.clamav is None:
            _whiteout(self.etc / "clamav")
            _whiteout(self.varlib / "clamav")
            self.truth["clamav"] = {"installed": False, "db": None}
            return
        clam_uid = next((int(r[2]) for r in self.ctx.base.passwd if r[0] == "clamav"), 0)
        clam_gid = next((int(r[3]) for r in self.ctx.base.passwd if r[0] == "clamav"), 0)
        db_dir = _opaque_dir(self.varlib / "clamav")
        build = days_before(self.ctx.now, spec.clamav.db_age_days)
        db = clamdb.write_database(db_dir, build, fmt=spec.clamav.fmt)
        log_dir = self.varlog / "clamav"
        write_text(log_dir / "freshclam.log", clamdb.freshclam_log(db), 0o640)
        for path in (db_dir, db.path, log_dir, log_dir / "freshclam.log"):
            os.chown(path, clam_uid, clam_gid)
        self.truth["clamav"] = {
            "installed": True,
            "db": {
                "file": f"/var/lib/clamav/{db.path.name}",
                "format": spec.clamav.fmt,
                "version": db.version,
                "build_time": iso(db.build_time),
                "signatures": db.signatures,
            },
        }

    def _backups(self) -> None:
        spec = self.spec
        backup: dict[str, Any] = {}
        srv = self.tree / "srv"
        data = srv / "data"
        if spec.restic or spec.borg:
            write_text(data / "README", f"Business data of {spec.name}.\n")
            write_text(data / "ledger.csv", "date,amount\n2026-01-01,100\n")
        for tool, bspec in (("restic", spec.restic), ("borg", spec.borg)):
            if bspec is None:
                continue
            ages = [days_before(self.ctx.now, a) for a in bspec.ages_days]
            hostname = "shared" if bspec.shared else spec.name
            password = srv / "backup" / f"{tool}.pass"
            template_pw = (
                self.ctx.templates.restic_password
                if tool == "restic"
                else self.ctx.templates.borg_password
            )
            password.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(template_pw, password)
            password.chmod(0o600)
            self.jobs.append(BackupJob(spec.name, tool, self.tree, ages, hostname, bspec.shared))
            backup[tool] = {
                "repository": f"/srv/backup/{tool}",
                "password_file": f"/srv/backup/{tool}.pass",
                "snapshots": [{"time": iso(a), "hostname": hostname} for a in ages],
                "latest": iso(ages[-1]),
                "shared": bspec.shared,
            }
        self.truth["backup"] = backup

    def _firewall(self) -> str | None:
        fw = self.spec.firewall
        if fw is None:
            self.truth["firewall"] = None
            return None
        self.truth["firewall"] = {"open": fw.open, "filtered": fw.filtered, "closed": fw.closed}

        def ports(values: list[int]) -> str:
            return "{ " + ", ".join(str(p) for p in values) + " }"

        lines = [
            "flush ruleset",
            "table inet filter {",
            "  chain input {",
            "    type filter hook input priority 0; policy drop;",
            "    ct state established,related accept",
            '    iif "lo" accept',
            "    ip protocol icmp accept",
        ]
        if fw.open:
            lines.append(f"    tcp dport {ports(fw.open)} accept")
        if fw.closed:
            lines.append(f"    tcp dport {ports(fw.closed)} reject with tcp reset")
        lines += ["  }", "}", ""]
        return "\n".join(lines)

    def _init_conf(self, layer: Path, extra: dict[str, str] | None = None) -> None:
        values = {
            "HOST_NAME": self.spec.name,
            "TREE": str(self.tree),
            "WORK": str(self.host_dir / "work"),
            "RUN_INIT": str(self.host_dir / "run"),
            "DPKG_LAYER": str(layer),
            "BIN_LAYER": str(self.ctx.templates.noclam_bin) if self.spec.clamav is None else "",
        }
        values.update(extra or {})
        for value in values.values():
            if any(c in value for c in ":,'\n"):
                raise EstateError(f"{self.spec.name}: path unusable in a mount option: {value!r}")
        write_text(self.host_dir / "init.conf", "".join(f"{k}='{v}'\n" for k, v in values.items()))
        self.truth["tcp_ports"] = list(self.spec.sshd_ports)


def _gid_of(group: list[list[str]], name: str, default: int) -> int:
    return next((int(r[2]) for r in group if r[0] == name), default)


_MACHINE_VERSIONS: dict[str, str] = {}


def _machine_version(name: str) -> str | None:
    if not _MACHINE_VERSIONS:
        for stanza in Stanza.parse_many(
            Path("/var/lib/dpkg/status").read_text(encoding="utf-8", errors="replace")
        ):
            if "installed" in stanza.get("Status"):
                _MACHINE_VERSIONS[stanza.package] = stanza.get("Version")
    return _MACHINE_VERSIONS.get(name)


# ------------------------------------------------------------------------------------------------
# backups, made in the host's own view of /srv and /root


def backup_script(job: BackupJob, templates: Templates) -> tuple[str, dict[str, str]]:
    """The shell script (run in a private mount namespace) that makes one host's backups."""
    same_fs = os.stat(templates.restic_repo).st_dev == os.stat(job.tree).st_dev
    copy = (
        f"cp -a{'l' if same_fs else ''} '{templates.restic_repo}' '{job.tree}/srv/backup/restic'"
        if job.tool == "restic"
        else f"cp -a '{templates.borg_repo}' '{job.tree}/srv/backup/borg'"
    )
    lines = [
        "set -eu",
        copy,  # before the binds: a hard link cannot cross mount points
        f"mount --bind '{job.tree}/srv' /srv",
        f"mount --bind '{job.tree}/root' /root",
        "cd /",
    ]
    env = {"HOME": "/root", "TZ": "UTC"}
    if job.tool == "restic":
        for moment in job.ages:
            lines.append(
                "restic -q -r /srv/backup/restic --password-file /srv/backup/restic.pass backup"
                f" --host '{job.hostname}' --time '{moment:%Y-%m-%d %H:%M:%S}'"
                " --tag daily /srv/data"
            )
    else:
        env.update(
            {
                "BORG_PASSCOMMAND": "cat /srv/backup/borg.pass",
                "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes",
            }
        )
        for moment in job.ages:
            lines.append(
                f"borg create --timestamp {moment:%Y-%m-%dT%H:%M:%S}"
                f" '/srv/backup/borg::{job.hostname}-{moment:%Y-%m-%dT%H:%M}' /srv/data"
            )
    return "\n".join(lines) + "\n", env


def make_backup(job: BackupJob, templates: Templates) -> None:
    script, env = backup_script(job, templates)
    run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        env=env,
        timeout=300,
        what=f"{job.host}: {job.tool} backup",
    )


def make_backups(jobs: list[BackupJob], templates: Templates, workers: int = 2) -> None:
    """Make every backup, ``workers`` at a time (restic is CPU-bound: scrypt)."""
    from concurrent.futures import ThreadPoolExecutor

    shared: dict[tuple[str, tuple[str, ...]], BackupJob] = {}
    direct: list[BackupJob] = []
    copies: list[tuple[BackupJob, BackupJob]] = []
    for job in jobs:
        if job.shared:
            key = (job.tool, tuple(iso(a) for a in job.ages))
            if key in shared:
                copies.append((job, shared[key]))
                continue
            shared[key] = job
        direct.append(job)
    # longest first (a restic snapshot costs ~0.7 s of scrypt and I/O, a borg archive ~0.3 s)
    direct.sort(key=lambda j: -len(j.ages) * (0.7 if j.tool == "restic" else 0.3))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(lambda j: make_backup(j, templates), direct))
    for job, source in copies:
        src = source.tree / "srv" / "backup" / job.tool
        dst = job.tree / "srv" / "backup" / job.tool
        run(["cp", "-al" if job.tool == "restic" else "-a", str(src), str(dst)], what="copy backup")
