"""The lifecycle catalogue's model: products, their release cycles and dates, and how an
operating system's ``/etc/os-release`` or Windows build maps to a cycle (:class:`Catalogue`,
:class:`Release`, :class:`Product`), with the names of the files and facts of the catalogue.

Loaded by scanner/lifecycle/catalogue.py; built by scanner/lifecycle/build.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

SCHEMA = "undone.lifecycle/1"
KEV_SCHEMA = "undone.kev/1"
OVERLAY_SCHEMA = "undone.lifecycle-overlay/1"

CATALOGUE_FILE = "catalogue.json"
KEV_FILE = "kev.json"
NOTICE_FILE = "NOTICE.md"
OVERLAY_FILE = "overlay.yaml"

UPSTREAM_SOURCE = "endoflife.date"

# Products extracted from endoflife.date's products.json (slugs checked against the 2026-08-22
# snapshot; a missing one fails the build).
PRODUCTS: tuple[str, ...] = (
    # operating systems read from /etc/os-release (and macOS, Windows)
    "almalinux",
    "alpine-linux",
    "amazon-linux",
    "centos",
    "centos-stream",
    "debian",
    "fedora",
    "freebsd",
    "linuxmint",
    "macos",
    "opensuse",
    "oracle-linux",
    "rhel",
    "rocky-linux",
    "sles",
    "ubuntu",
    "windows",
    "windows-server",
    # firewalls, routers and network operating systems
    "cisco-ios-xe",
    "fortios",
    "openwrt",
    "opnsense",
    "pan-os",
    "routeros",
    "sns-firmware",
    # hypervisors, backup, anti-malware
    "clamav",
    "proxmox-backup-server",
    "proxmox-ve",
    "veeam-backup-and-replication",
    "vmware-esxi",
    "vmware-vcenter",
)

# Taken too when a later snapshot has them (absent from the 2026-08-22 one).
OPTIONAL_PRODUCTS: tuple[str, ...] = (
    "borg",
    "borgbackup",
    "qnap-qts",
    "raspberry-pi-os",
    "restic",
    "synology-dsm",
)

# Products whose per-version release dates are kept (release-data), for "a newer patch exists in
# the same cycle" where no package manager tells: firmware, appliances, ClamAV, macOS. pan-os has
# cycles but no versions in release-data; fortios has no release-data file at all.
VERSION_PRODUCTS: tuple[str, ...] = (
    "clamav",
    "macos",
    "openwrt",
    "opnsense",
    "pan-os",
    "proxmox-backup-server",
    "proxmox-ve",
    "routeros",
    "veeam-backup-and-replication",
)

KEV_FIELDS: tuple[str, ...] = (
    "cveID",
    "vendorProject",
    "product",
    "dateAdded",
    "dueDate",
    "knownRansomwareCampaignUse",
)

# Fact names produced by enrich_os.
OS_FACTS: tuple[str, ...] = (
    "os.lifecycle_product",
    "os.lifecycle_cycle",
    "os.eol_date",
    "os.days_to_eol",
    "os.supported",
    "os.eoes_date",
    "os.extended_support",
)
SNAPSHOT_FACT = "lifecycle.snapshot_date"
AGE_FACT = "lifecycle.catalogue_age_days"

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """One release cycle of a product, with its dates as :class:`datetime.date`.

    ``eol`` is ``None`` either because no end date is announced (``eol_flag`` false: supported)
    or because the source says it has ended without giving a date (``eol_flag`` true). The same
    holds for ``eoas``/``eoas_flag`` and ``eoes``/``eoes_flag``. ``lts`` is true when the source
    marks the cycle as long-term support, now or from ``lts_from``. ``source`` is
    ``"endoflife.date"`` or, for an overlay entry, the vendor URL it cites.
    """

    product: str
    cycle: str
    title: str
    release_date: date | None
    eol: date | None
    eol_flag: bool
    eoas: date | None
    eoes: date | None
    lts: bool
    latest: str | None
    latest_date: date | None
    codename: str | None = None
    label: str | None = None
    lts_from: date | None = None
    eoas_flag: bool = False
    eoes_flag: bool = False
    source: str = UPSTREAM_SOURCE
    checked_on: date | None = None
    # where the dates come from: "endoflife.date", or an overlay row's class ("primary",
    # "secondary", "local") with its source (URL, repository and commit, where it was written)
    source_class: str = UPSTREAM_SOURCE
    source_detail: Mapping[str, Any] | None = None
    eol_unknown: bool = False  # the overlay knows the cycle but not its end: never "supported"
    unsupported_versions: Mapping[str, date] = field(default_factory=dict)
    as_of: date | None = None  # the date the source's statement was true (its commit or reading)
    last_support: date | None = None  # Cisco: Last Date of Support of the release

    @property
    def name(self) -> str:
        """A display name: ``Debian 12 (Bookworm)``, ``Microsoft Windows 11 24H2 (E)``."""
        label = self.label or self.cycle
        text = label if label.startswith(self.title) else f"{self.title} {label}"
        if self.codename and self.codename not in text:
            text += f" ({self.codename})"
        return text

    def days_to_eol(self, on: date) -> int | None:
        """Days from ``on`` to the end-of-life date (negative once past); ``None`` without a
        date."""
        return None if self.eol is None else (self.eol - on).days

    def supported(self, on: date) -> bool:
        """Whether the cycle is not past its end of life on ``on`` (the ``eol`` day itself is
        still supported; an ``eol: false`` cycle is supported; ``eol: true`` is not)."""
        if self.eol is not None:
            return on <= self.eol
        return not self.eol_flag


@dataclass(frozen=True, eq=False)
class Product:
    """A product of the catalogue and its cycles, newest first as in the source."""

    slug: str
    title: str
    category: str | None
    release_policy_link: str | None
    releases: tuple[Release, ...]
    versions: Mapping[str, date] = field(default_factory=dict)

    def release(self, cycle: str) -> Release | None:
        for r in self.releases:
            if r.cycle == cycle:
                return r
        return None


# os-release ID -> product slug.
_OS_IDS: dict[str, str] = {
    "almalinux": "almalinux",
    "alpine": "alpine-linux",
    "amzn": "amazon-linux",
    "centos": "centos",
    "debian": "debian",
    "fedora": "fedora",
    "freebsd": "freebsd",
    "linuxmint": "linuxmint",
    "macos": "macos",
    "ol": "oracle-linux",
    "opensuse": "opensuse",
    "opensuse-leap": "opensuse",
    "raspbian": "debian",
    "rhel": "rhel",
    "rocky": "rocky-linux",
    "sles": "sles",
    "sles_sap": "sles",
    "ubuntu": "ubuntu",
}

# How VERSION_ID becomes a cycle name, after an exact match has been tried:
# "major": "9.4" -> "9"; "minor": "3.19.1" -> "3.19"; "exact": nothing else;
# "dot0": exact, then "15" -> "15.0"; "macos": "10.15.7" -> "10.15", "14.5" -> "14".
_CYCLE_RULE: dict[str, str] = {
    "almalinux": "major",
    "alpine-linux": "minor",
    "amazon-linux": "exact",
    "centos": "major",
    "centos-stream": "major",
    "debian": "major",
    "fedora": "exact",
    "freebsd": "exact",
    "linuxmint": "exact",
    "macos": "macos",
    "opensuse": "dot0",
    "oracle-linux": "major",
    "rhel": "major",
    "rocky-linux": "major",
    "sles": "dot0",
    "ubuntu": "minor",
}


def _cycle_candidates(rule: str, version: str) -> list[str]:
    parts = version.split(".")
    out = [version]
    if rule == "major":
        out.append(parts[0])
    elif rule == "minor" and len(parts) >= 2:
        out.append(".".join(parts[:2]))
    elif rule == "dot0" and len(parts) == 1:
        out.append(f"{version}.0")
    elif rule == "macos":
        out.append(".".join(parts[:2]) if parts[0] == "10" and len(parts) >= 2 else parts[0])
    return out


def _as_utc_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


class Catalogue:
    """A loaded lifecycle catalogue (see the module docstring)."""

    def __init__(
        self,
        snapshot_date: date,
        products: Mapping[str, Product],
        sources: Sequence[Mapping[str, Any]] = (),
        label: str = CATALOGUE_FILE,
    ) -> None:
        self.snapshot_date = snapshot_date
        self.products: dict[str, Product] = dict(products)
        self.sources: tuple[Mapping[str, Any], ...] = tuple(sources)
        self.label = label

    def __repr__(self) -> str:
        n = len(self.products)
        return f"Catalogue({self.label}, snapshot {self.snapshot_date}, {n} products)"

    def age_days(self, now: datetime) -> int:
        """Whole days from the snapshot date to ``now`` (UTC; a naive ``now`` is taken as UTC).
        Negative when ``now`` is before the snapshot (re-evaluating an older scan)."""
        return (_as_utc_date(now) - self.snapshot_date).days

    def stale_reason(self, now: datetime, max_age_days: int) -> str | None:
        """``None`` when the catalogue is at most ``max_age_days`` old at ``now``, else why not."""
        age = self.age_days(now)
        if age <= max_age_days:
            return None
        snap = self.snapshot_date.isoformat()
        return f"lifecycle data is stale (snapshot {snap}, {age} days old)"

    def product(self, slug: str) -> Product | None:
        return self.products.get(slug)

    def release(self, slug: str, cycle: str) -> Release | None:
        p = self.products.get(slug)
        return None if p is None else p.release(cycle)

    def version_date(self, slug: str, version: str) -> date | None:
        """Release date of one version (``routeros`` ``7.23.3``), where the catalogue keeps
        versions for that product."""
        p = self.products.get(slug)
        return None if p is None else p.versions.get(version)

    def os_release(
        self,
        os_id: str,
        version_id: str,
        id_like: list[str] | None = None,
        *,
        name: str | None = None,
    ) -> Release | None:
        """Map ``/etc/os-release`` ``ID`` and ``VERSION_ID`` to a release cycle, or ``None``.

        ``id_like`` only tells LMDE (``ID=linuxmint``, ``ID_LIKE=debian``) from Linux Mint
        (``ID_LIKE="ubuntu debian"``); it is never used to guess a derivative's lifecycle from its
        parent's (Kali or Pop!_OS are not Debian or Ubuntu releases). ``name`` (``NAME``) tells
        CentOS Stream 8 from CentOS Linux 8, which share ``ID=centos VERSION_ID=8``; without it,
        ``centos`` ``8`` is CentOS Linux, and ``9`` and later are CentOS Stream (there is no
        CentOS Linux 9).
        """
        oid = os_id.strip().strip("\"'").lower()
        version = version_id.strip().strip("\"'")
        slug = _OS_IDS.get(oid)
        if slug is None or not version:
            return None
        like = [x.lower() for x in (id_like or [])]
        if slug == "linuxmint" and "ubuntu" not in like and "debian" in like:
            return self.release("linuxmint", f"lmde{version.split('.')[0]}")
        if slug == "centos":
            stream = name is not None and "stream" in name.lower()
            if stream or self.release("centos", version.split(".")[0]) is None:
                slug = "centos-stream"
        for cycle in _cycle_candidates(_CYCLE_RULE[slug], version):
            found = self.release(slug, cycle)
            if found is not None:
                return found
        return None

    def windows_release(
        self, build: int, edition: str | None, server: bool, name: str | None = None
    ) -> Release | None:
        """Map a Windows build number and edition to a cycle of ``windows`` or
        ``windows-server`` (endoflife.date's names), or ``None``.

        Clients: the build gives the release (19045 is Windows 10 22H2, 26100 Windows 11 24H2)
        and the edition (``EditionID``) its servicing: ``-e`` for Enterprise, Education and IoT
        Enterprise (36 months for Windows 11), ``-w`` for Home, Pro and the rest (24 months),
        ``-e-lts``/``-iot-lts`` for the LTSC editions (``EnterpriseS``, ``IoTEnterpriseS``); a
        release with one lifecycle for all editions (Windows 10 22H2) has no suffix. Servers:
        the year in the product name (``Windows Server 2022 Standard``), else the build (a
        Semi-Annual Channel release has no year in its name)."""
        if server:
            text = (name or "").lower()
            for year, cycle in _WINDOWS_SERVER_NAMES:
                if year in text:
                    return self.release("windows-server", cycle)
            for cycle in _WINDOWS_SERVER_BUILDS.get(build, ()):
                found = self.release("windows-server", cycle)
                if found is not None:
                    return found
            return None
        release = _WINDOWS_CLIENT_BUILDS.get(build)
        if release is None:
            return None
        ed = (edition or "").strip().lower()
        if ed.startswith("iotenterprises"):
            suffixes = ["-iot-lts", "-e-lts"]
        elif ed.startswith("enterprises"):
            suffixes = ["-e-lts"]
        elif ed.startswith(("enterprise", "education", "iotenterprise", "serverrdsh")):
            suffixes = ["-e"]
        else:
            suffixes = ["-w"]
        for suffix in [*suffixes, ""]:
            found = self.release("windows", release + suffix)
            if found is not None:
                return found
        return None


# Windows client builds and the release each one is (endoflife.date's cycle, less the edition).
_WINDOWS_CLIENT_BUILDS: dict[int, str] = {
    10240: "10-1507",
    10586: "10-1511",
    14393: "10-1607",
    15063: "10-1703",
    16299: "10-1709",
    17134: "10-1803",
    17763: "10-1809",
    18362: "10-1903",
    18363: "10-1909",
    19041: "10-2004",
    19042: "10-20h2",
    19043: "10-21h1",
    19044: "10-21h2",
    19045: "10-22h2",
    22000: "11-21h2",
    22621: "11-22h2",
    22631: "11-23h2",
    26100: "11-24h2",
    26200: "11-25h2",
    28000: "11-26h1",
}
# Windows Server: the year in the product name, then cycles by build.
_WINDOWS_SERVER_NAMES: tuple[tuple[str, str], ...] = (
    ("2025", "2025"),
    ("2022", "2022"),
    ("2019", "2019"),
    ("2016", "2016"),
    ("2012 r2", "2012-r2"),
    ("2012", "2012"),
    ("2008 r2", "2008-r2-sp1"),
    ("2008", "2008-sp2"),
)
_WINDOWS_SERVER_BUILDS: dict[int, tuple[str, ...]] = {
    26100: ("2025",),
    25398: ("23h2-ac",),
    20348: ("2022",),
    19042: ("20h2-sac",),
    19041: ("2004-sac",),
    18363: ("1909-sac",),
    18362: ("1903-sac",),
    17763: ("1809-sac", "2019"),  # a name without a year: the Semi-Annual Channel release
    17134: ("1803-sac",),
    16299: ("1709-sac",),
    14393: ("2016",),
    9600: ("2012-r2",),
    9200: ("2012",),
    7601: ("2008-r2-sp1",),
    6003: ("2008-sp2",),
}
