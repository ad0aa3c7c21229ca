"""Templates shared by every host, built once and cached, and the frozen apt repository.

The cache lives under ``<state dir>/cache/<hash>``, the hash being that of this generator (this
module, ``keys.py``, ``clamdb.py`` and ``data/``), so a change to how templates are made rebuilds
them. It holds:

- the shared RSA host key (RSA keygen costs ~0.3 s, so every host gets the same one);
- an initialised, empty restic repository and its password (``restic init`` spends ~3 s
  calibrating scrypt) and an initialised borg repository (repokey) and its passphrase;
- a read-only overlay layer of whiteouts that hides ClamAV's programs from ``/usr/bin``;
- dpkg ``status`` templates: this machine's status with whole stanzas swapped in from ``data/``
  (never only ``Version:``: apt tells same-version entries apart by their dependencies, and a
  lone version edit breaks ``Depends: (= ver)`` between sibling packages). Each template is keyed
  on the machine's status too, and is checked with ``apt-get -s dist-upgrade`` against the frozen
  repository when built.

The frozen repository (``data/security.Packages``, ``data/point.Packages``; stanzas captured with
``apt-cache show`` from Debian 12) has two suites, ``<codename>-security`` (Label
``Debian-Security``) and ``<codename>`` (a point release, Label ``Debian``), whose Release files
carry a ``Date:`` the scenario sets. It is a ``file:`` URI with ``Trusted: yes``, so apt needs
neither network nor keys, and ``apt-get -s`` costs ~0.04 s instead of ~0.7 s with Debian's lists.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import keys
from .common import DATA_DIR, PACKAGE_DIR, EstateError, run, state_dir, write_text

#: binary packages of each source package the frozen repository carries newer versions of
GROUPS: dict[str, tuple[str, ...]] = {
    "openssl": ("openssl", "libssl3", "libssl-dev"),
    "openssh": ("openssh-client", "openssh-server", "openssh-sftp-server"),
}
CLAMAV_PACKAGES = ("clamav", "clamav-base", "clamav-freshclam", "libclamav12", "clamdscan")
CLAMAV_PROGRAMS = (
    "clamscan", "freshclam", "sigtool", "clambc", "clamsubmit", "clamconf", "clamdscan", "clamdtop",
)  # fmt: skip
STATUS_FILE = Path("/var/lib/dpkg/status")
CODENAMES = {"debian12": ("bookworm", "12", "12.12"), "debian11": ("bullseye", "11", "11.11")}

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def release_date(moment: datetime) -> str:
    """``Sun, 01 Nov 2026 10:00:00 UTC``, as in Debian's Release files (locale-independent)."""
    m = moment.astimezone(UTC)
    return f"{_DAYS[m.weekday()]}, {m.day:02d} {_MONTHS[m.month - 1]} {m:%Y %H:%M:%S} UTC"


# ------------------------------------------------------------------------------------------------
# deb822 stanzas


class Stanza:
    """One deb822 paragraph, fields in order, continuation lines kept verbatim."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields

    @classmethod
    def parse_many(cls, text: str) -> list[Stanza]:
        stanzas = []
        for block in re.split(r"\n\s*\n", text.strip("\n")):
            fields: list[tuple[str, str]] = []
            for line in block.splitlines():
                if line[:1] in (" ", "\t") and fields:
                    name, value = fields[-1]
                    fields[-1] = (name, value + "\n" + line)
                elif ":" in line:
                    name, value = line.split(":", 1)
                    fields.append((name, value.strip()))
            if fields:
                stanzas.append(cls(fields))
        return stanzas

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.fields:
            if key.lower() == name.lower():
                return value
        return default

    @property
    def package(self) -> str:
        return self.get("Package")

    def render(self) -> str:
        lines = []
        for key, value in self.fields:
            lines.append(
                f"{key}:" + (f" {value}" if value and not value.startswith("\n") else value)
            )
        return "\n".join(lines) + "\n"


def render_stanzas(stanzas: list[Stanza]) -> str:
    return "\n".join(s.render() for s in stanzas)


_PACKAGES_ONLY = {"filename", "size", "md5sum", "sha1", "sha256", "description-md5", "tag"}


def as_status_stanza(candidate: Stanza, installed: Stanza | None) -> Stanza:
    """A Packages stanza turned into a dpkg status one, keeping the installed Status/Conffiles."""
    status = (
        installed.get("Status", "install ok installed") if installed else "install ok installed"
    )
    fields: list[tuple[str, str]] = []
    for key, value in candidate.fields:
        if key.lower() in _PACKAGES_ONLY:
            continue
        fields.append((key, value))
        if key == "Package":
            fields.append(("Status", status))
    if installed is not None and installed.get("Conffiles"):
        fields.append(("Conffiles", installed.get("Conffiles")))
    return Stanza(fields)


@functools.cache
def read_packages(name: str) -> tuple[Stanza, ...]:
    """The stanzas of ``data/<name>`` (cached: do not modify them)."""
    return tuple(Stanza.parse_many((DATA_DIR / name).read_text(encoding="utf-8")))


@functools.cache
def newest_by_package(point: bool = True) -> dict[str, tuple[Stanza, str]]:
    """package -> (stanza of its newest version in the frozen repo, "security" or "point");
    ``point`` False: a host that lists the security suite only."""
    newest: dict[str, tuple[Stanza, str]] = {}
    pockets = (("security", "security.Packages"), ("point", "point.Packages"))
    for pocket, filename in pockets if point else pockets[:1]:
        for stanza in read_packages(filename):
            known = newest.get(stanza.package)
            if known is None or dpkg_version_gt(stanza.get("Version"), known[0].get("Version")):
                newest[stanza.package] = (stanza, pocket)
    return newest


def dpkg_version_gt(left: str, right: str) -> bool:
    return run(["dpkg", "--compare-versions", left, "gt", right], check=False).returncode == 0


# ------------------------------------------------------------------------------------------------
# the frozen apt repository


@dataclass(frozen=True)
class AptLists:
    lists: Path  # files for /var/lib/apt/lists
    sources: str  # contents of /etc/apt/sources.list.d/debian.sources
    codename: str
    security_date: datetime
    point_date: datetime | None  # None: the security suite only


def _uri_to_filename(uri: str) -> str:
    """apt's URItoFileName: drop the scheme, %-quote some characters, then '/' -> '_'."""
    path = uri.split(":", 1)[1]
    quoted = "".join(
        f"%{ord(c):02x}" if c in '\\|{}[]<>"^~_=!@#$%&*' or not 0x20 < ord(c) < 0x7F else c
        for c in path
    )
    return quoted.replace("/", "_")


def build_apt_lists(
    out: Path, os_name: str, security_date: datetime, point_date: datetime | None
) -> AptLists:
    """Write the frozen repository under ``out`` and the lists apt would fetch from it (without
    the point-release suite when ``point_date`` is None)."""
    codename, major, point_version = CODENAMES[os_name]
    suites = [
        ("debian", codename, "Debian", point_version, "point.Packages", point_date,
         f"Debian {point_version} Released {release_date(point_date)[5:16]}"),
    ] if point_date is not None else []  # fmt: skip
    suites.append(
        ("debian-security", f"{codename}-security", "Debian-Security", major, "security.Packages",
         security_date, f"Debian {major} - Security Updates"),
    )  # fmt: skip
    lists = out / "lists"
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    (lists / "lock").touch()
    sources = []
    for archive, suite, label, version, packages_file, date, description in suites:
        base = out / archive
        uri = f"file:{base}"
        packages = (DATA_DIR / packages_file).read_bytes()
        pkg_dir = base / "dists" / suite / "main" / "binary-amd64"
        pkg_dir.mkdir(parents=True, exist_ok=True)
        (pkg_dir / "Packages").write_bytes(packages)
        release = (
            f"Origin: Debian\nLabel: {label}\nSuite: {suite}\nVersion: {version}\n"
            f"Codename: {suite}\nDate: {release_date(date)}\nArchitectures: amd64\n"
            f"Components: main\nDescription: {description} (frozen copy for the test estate)\n"
            f"SHA256:\n {hashlib.sha256(packages).hexdigest()} {len(packages)} "
            "main/binary-amd64/Packages\n"
        )
        (base / "dists" / suite / "Release").write_text(release, encoding="utf-8")
        prefix = _uri_to_filename(uri) + f"_dists_{suite}"
        stamp = date.timestamp()
        for name, data in ((f"{prefix}_Release", release.encode()),
                           (f"{prefix}_main_binary-amd64_Packages", packages)):  # fmt: skip
            target = lists / name
            target.write_bytes(data)
            os.utime(target, (stamp, stamp))
        sources.append(
            f"Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: main\nTrusted: yes\n"
        )
    return AptLists(
        lists=lists,
        sources="\n".join(sources),
        codename=codename,
        security_date=security_date,
        point_date=point_date,
    )


def apt_options(lists: AptLists, status: Path, scratch: Path) -> list[str]:
    """``-o`` options that make apt in this namespace look only at ``status`` and ``lists``."""
    sources = scratch / "sources.list.d"
    sources.mkdir(parents=True, exist_ok=True)
    (sources / "debian.sources").write_text(lists.sources, encoding="utf-8")
    empty = scratch / "empty.d"
    empty.mkdir(exist_ok=True)
    (scratch / "log").mkdir(exist_ok=True)
    return [
        "-o", f"Dir::State::status={status}",
        "-o", f"Dir::State::Lists={lists.lists}",
        "-o", "Dir::Etc::SourceList=/dev/null",
        "-o", f"Dir::Etc::SourceParts={sources}",
        "-o", f"Dir::Etc::Parts={empty}",
        "-o", "Dir::Etc::Preferences=/dev/null",
        "-o", f"Dir::Etc::PreferencesParts={empty}",
        "-o", f"Dir::Log={scratch / 'log'}",
        "-o", "Dir::Cache::pkgcache=",
        "-o", "Dir::Cache::srcpkgcache=",
        "-o", "Debug::NoLocking=true",
        "-o", "APT::Architecture=amd64",
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------------
# the cache


@dataclass(frozen=True)
class DpkgLayer:
    """A lower overlay layer holding ``dpkg/status``, and what that status says."""

    path: Path
    versions: dict[str, str]  # installed version of each GROUPS package present
    packages: int


def generator_hash() -> str:
    digest = hashlib.sha256()
    files = [PACKAGE_DIR / n for n in ("templates.py", "keys.py", "clamdb.py")]
    files += sorted(DATA_DIR.iterdir())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fresh_dir(path: Path) -> Path:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _publish(tmp: Path, final: Path) -> None:
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


class Templates:
    """The cached templates; building any missing part happens under a lock."""

    def __init__(self, root: Path | None = None) -> None:
        base = state_dir() / "cache"
        self.root = root or base / generator_hash()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.lock = self.root.with_name(self.root.name + ".lock")
        self._status_hash: str | None = None
        self._machine_status: list[Stanza] | None = None

    # -- shared keys, backup repositories, whiteout layer --------------------------------------

    def ensure_basics(self) -> None:
        with file_lock(self.lock):
            if not (self.root / "rsa" / "ssh_host_rsa_key").exists():
                tmp = _fresh_dir(self.root / "rsa")
                keys.generate("rsa").write(tmp / "ssh_host_rsa_key", "root@estate")
                _publish(tmp, self.root / "rsa")
            if not (self.root / "restic" / "repo" / "config").exists():
                self._build_restic()
            if not (self.root / "borg" / "repo" / "config").exists():
                self._build_borg()
            if not (self.root / "noclam" / "bin").exists():
                tmp = _fresh_dir(self.root / "noclam")
                (tmp / "bin").mkdir()
                for program in CLAMAV_PROGRAMS:
                    os.mknod(tmp / "bin" / program, stat.S_IFCHR | 0o000, os.makedev(0, 0))
                _publish(tmp, self.root / "noclam")
        self._prune_old()

    def _build_restic(self) -> None:
        tmp = _fresh_dir(self.root / "restic")
        write_text(tmp / "password", secrets.token_urlsafe(24) + "\n", 0o600)
        run(
            ["restic", "init", "-q", "--no-cache", "-r", str(tmp / "repo"),
             "--password-file", str(tmp / "password")],
            what="restic init (template)",
        )  # fmt: skip
        _publish(tmp, self.root / "restic")

    def _build_borg(self) -> None:
        tmp = _fresh_dir(self.root / "borg")
        write_text(tmp / "password", secrets.token_urlsafe(24) + "\n", 0o600)
        run(
            ["borg", "init", "--encryption=repokey", str(tmp / "repo")],
            env={
                "BORG_PASSCOMMAND": f"cat {tmp / 'password'}",
                "BORG_BASE_DIR": str(tmp / "base"),
            },
            what="borg init (template)",
        )
        shutil.rmtree(tmp / "base", ignore_errors=True)
        _publish(tmp, self.root / "borg")

    def _prune_old(self) -> None:
        """Remove caches of other generator versions not used for a day."""
        cutoff = time.time() - 86400
        for other in self.root.parent.iterdir():
            if other == self.root or other.name.endswith(".lock") or not other.is_dir():
                continue
            try:
                if other.stat().st_mtime < cutoff:
                    shutil.rmtree(other, ignore_errors=True)
                    other.with_name(other.name + ".lock").unlink(missing_ok=True)
            except OSError:
                continue

    @property
    def rsa_key(self) -> Path:
        return self.root / "rsa" / "ssh_host_rsa_key"

    @property
    def restic_repo(self) -> Path:
        return self.root / "restic" / "repo"

    @property
    def restic_password(self) -> Path:
        return self.root / "restic" / "password"

    @property
    def borg_repo(self) -> Path:
        return self.root / "borg" / "repo"

    @property
    def borg_password(self) -> Path:
        return self.root / "borg" / "password"

    @property
    def noclam_bin(self) -> Path:
        return self.root / "noclam" / "bin"

    # -- dpkg status templates ------------------------------------------------------------------

    def _machine(self) -> list[Stanza]:
        if self._machine_status is None:
            try:
                data = STATUS_FILE.read_bytes()
            except OSError as exc:
                raise EstateError(f"{STATUS_FILE}: cannot read: {exc.strerror}") from exc
            self._status_hash = hashlib.sha256(data).hexdigest()[:16]
            self._machine_status = Stanza.parse_many(data.decode("utf-8", "replace"))
        return self._machine_status

    def dpkg_layer(self, behind: tuple[str, ...], clamav: bool, uu: bool) -> DpkgLayer:
        machine = self._machine()
        key = (
            f"{'+'.join(behind) or 'patched'}_{'av' if clamav else 'noav'}_{'uu' if uu else 'nouu'}"
        )
        final = self.root / "dpkg" / f"{self._status_hash}-{key}"
        meta = final / "meta.json"
        if not meta.exists():
            with file_lock(self.lock):
                if not meta.exists():
                    self._build_dpkg_layer(final, machine, behind, clamav, uu)
        info = json.loads(meta.read_text(encoding="utf-8"))
        return DpkgLayer(path=final / "layer", versions=info["versions"], packages=info["packages"])

    def _build_dpkg_layer(
        self, final: Path, machine: list[Stanza], behind: tuple[str, ...], clamav: bool, uu: bool
    ) -> None:
        newest = newest_by_package()
        older = {s.package: s for s in read_packages("behind.Packages")}
        group_of = {pkg: group for group, pkgs in GROUPS.items() for pkg in pkgs}
        installed = {s.package for s in machine if "installed" in s.get("Status")}
        result: list[Stanza] = []
        versions: dict[str, str] = {}
        for stanza in machine:
            name = stanza.package
            if not clamav and name in CLAMAV_PACKAGES:
                continue
            if name in group_of and "installed" in stanza.get("Status"):
                source = older if group_of[name] in behind else {k: v[0] for k, v in newest.items()}
                if name in source:
                    stanza = as_status_stanza(source[name], stanza)
                versions[name] = stanza.get("Version")
            result.append(stanza)
        if uu and "unattended-upgrades" not in installed:
            extra = {s.package: s for s in read_packages("extra.Packages")}["unattended-upgrades"]
            result.append(_with_satisfied_depends(as_status_stanza(extra, None), installed))
        tmp = _fresh_dir(final)
        try:
            status = tmp / "layer" / "dpkg" / "status"
            write_text(status, render_stanzas(result))
            self._validate(status, tmp, behind, versions)
            meta = {"versions": versions, "packages": len(result)}
            write_text(tmp / "meta.json", json.dumps(meta))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _publish(tmp, final)

    def _validate(
        self, status: Path, scratch: Path, behind: tuple[str, ...], versions: dict[str, str]
    ) -> None:
        """Check the template with apt itself: exactly the held-back packages are upgradable."""
        now = datetime.now(UTC)
        lists = build_apt_lists(scratch / "repo", "debian12", now, now - timedelta(days=30))
        proc = run(
            ["apt-get", "-s", "dist-upgrade", *apt_options(lists, status, scratch / "apt")],
            check=False,
            what="apt-get -s dist-upgrade (template check)",
        )
        shutil.rmtree(scratch / "repo", ignore_errors=True)
        shutil.rmtree(scratch / "apt", ignore_errors=True)
        upgraded = sorted(re.findall(r"^Inst (\S+) \[", proc.stdout, re.M))
        expected = sorted(p for g in behind for p in GROUPS[g] if p in versions)
        if proc.returncode != 0 or upgraded != expected:
            raise EstateError(
                f"dpkg template {status}: apt-get -s dist-upgrade shows {upgraded or 'nothing'}"
                f" to upgrade, expected {expected or 'nothing'} (exit {proc.returncode}):\n"
                + (proc.stdout + proc.stderr)[-3000:]
            )


def _with_satisfied_depends(stanza: Stanza, installed: set[str]) -> Stanza:
    """Drop alternatives naming packages this machine lacks (a simplification, said in truth)."""
    fields = []
    for key, value in stanza.fields:
        if key in ("Depends", "Pre-Depends", "Recommends"):
            kept = []
            for clause in value.split(","):
                alts = [
                    a.strip() for a in clause.split("|") if a.strip().split(" ")[0] in installed
                ]
                if alts:
                    kept.append(" | ".join(alts))
            if not kept:
                continue
            value = ", ".join(kept)
        fields.append((key, value))
    return Stanza(fields)
