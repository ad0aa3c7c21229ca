"""The lifecycle catalogue: end-of-life dates of operating systems, firmware and products, offline.

undone ships a compact catalogue derived from two dated public snapshots (``../shared/data``):

- ``baselines/lifecycle/catalogue.json``: per product (``debian``, ``fortios``, ``clamav``, ...)
  its release cycles with release date, end of life (``eol``), end of active support (``eoas``),
  end of extended support (``eoes``), LTS flag and latest version, from endoflife.date; and for
  a few products (firmware, appliances, ClamAV, macOS) the release date of each version, from
  endoflife.date's release-data, for "a newer patch exists in the same cycle".
- ``baselines/lifecycle/kev.json``: an extract of the CISA Known Exploited Vulnerabilities
  catalogue (CVE, vendor, product, dates, ransomware use).
- ``baselines/lifecycle/NOTICE.md``: the licences, commits and snapshot date.
- ``baselines/lifecycle/overlay.yaml``: hand-kept entries for vendors endoflife.date lacks, each
  cycle citing a vendor ``source`` URL and the date it was ``checked_on``. Merged at load time
  (an overlay cycle replaces an upstream cycle of the same name, and says where it came from).

The first three are generated, deterministically (sorted keys), by::

    python -m scanner.lifecycle build --from ../shared/data --out baselines/lifecycle

and a test checks that the shipped files equal a fresh build.

Date semantics follow endoflife.date: each of ``eol``/``eoas``/``eoes`` is a date, ``true``
(ended, date not known) or ``false`` (not ended / no date announced). A cycle is past its end of
life on the day *after* its ``eol`` date (endoflife.date computes ``is_eol = today > eol``).

Reading: :func:`load_catalogue` (cached for the shipped file), :meth:`Catalogue.os_release`
(``/etc/os-release`` ``ID``/``VERSION_ID`` to a product cycle), :func:`enrich_os` (derived
``os.*`` and ``lifecycle.*`` facts; data only, it never judges) and :func:`kev_for`.

A catalogue is a dated snapshot: :meth:`Catalogue.age_days` says how old it is at a given
time, and :func:`enrich_os` refuses to state ``os.supported`` or ``os.days_to_eol`` from a
catalogue older than the caller's limit (an error fact, never a value).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from scanner.errors import InputError
from scanner.lifecycle import overlay as _devices
from scanner.yamlio import load_file, load_text

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


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _date_or_none(value: Any, where: str) -> date | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{where}: expected a date (YYYY-MM-DD), true, false or null, got {value!r}")


def _str_or_none(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"{where}: expected a string or null, got {value!r}")


def _release_from_json(slug: str, title: str, raw: Any, where: str) -> Release:
    if not isinstance(raw, dict) or not isinstance(raw.get("cycle"), str):
        raise InputError(f"{where}: expected an object with a string 'cycle'")
    lts_raw = raw.get("lts")
    return Release(
        product=slug,
        cycle=raw["cycle"],
        title=title,
        release_date=_date_or_none(raw.get("release_date"), f"{where}.release_date"),
        eol=_date_or_none(raw.get("eol"), f"{where}.eol"),
        eol_flag=raw.get("eol") is True,
        eoas=_date_or_none(raw.get("eoas"), f"{where}.eoas"),
        eoes=_date_or_none(raw.get("eoes"), f"{where}.eoes"),
        lts=lts_raw is True or isinstance(lts_raw, str),
        latest=_str_or_none(raw.get("latest"), f"{where}.latest"),
        latest_date=_date_or_none(raw.get("latest_date"), f"{where}.latest_date"),
        codename=_str_or_none(raw.get("codename"), f"{where}.codename"),
        label=_str_or_none(raw.get("label"), f"{where}.label"),
        lts_from=_date_or_none(lts_raw, f"{where}.lts"),
        eoas_flag=raw.get("eoas") is True,
        eoes_flag=raw.get("eoes") is True,
    )


def catalogue_from_json(text: str, label: str = CATALOGUE_FILE) -> Catalogue:
    """Parse a catalogue document (the ``catalogue.json`` format), without any overlay."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{label}: not valid JSON (line {e.lineno}): {e.msg}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise InputError(f"{label}: not a lifecycle catalogue (expected schema {SCHEMA!r})")
    snap = _date_or_none(doc.get("snapshot_date"), f"{label}: snapshot_date")
    if snap is None:
        raise InputError(f"{label}: snapshot_date is missing")
    raw_products = doc.get("products")
    if not isinstance(raw_products, dict):
        raise InputError(f"{label}: products: expected an object")
    products: dict[str, Product] = {}
    for slug, raw in sorted(raw_products.items()):
        where = f"{label}: products.{slug}"
        if not isinstance(raw, dict) or not isinstance(raw.get("title"), str):
            raise InputError(f"{where}: expected an object with a string 'title'")
        title: str = raw["title"]
        releases = raw.get("releases") or []
        if not isinstance(releases, list):
            raise InputError(f"{where}.releases: expected a list")
        versions_raw = raw.get("versions") or {}
        if not isinstance(versions_raw, dict):
            raise InputError(f"{where}.versions: expected an object")
        versions: dict[str, date] = {}
        for v, d in versions_raw.items():
            parsed = _date_or_none(d, f"{where}.versions.{v}")
            if parsed is not None:
                versions[str(v)] = parsed
        products[slug] = Product(
            slug=slug,
            title=title,
            category=_str_or_none(raw.get("category"), f"{where}.category"),
            release_policy_link=_str_or_none(
                raw.get("release_policy_link"), f"{where}.release_policy_link"
            ),
            releases=tuple(
                _release_from_json(slug, title, r, f"{where}.releases[{i}]")
                for i, r in enumerate(releases)
            ),
            versions=versions,
        )
    sources = doc.get("sources") or []
    if not isinstance(sources, list):
        raise InputError(f"{label}: sources: expected a list")
    return Catalogue(snap, products, [s for s in sources if isinstance(s, dict)], label)


def _shipped_text(name: str) -> str:
    return (resources.files("baselines") / "lifecycle" / name).read_text(encoding="utf-8")


def _read_text(path: str, label: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{label}: not UTF-8 text") from None
    except OSError as e:
        raise InputError(f"{label}: cannot read: {e.strerror or e}") from None


def _shipped_overlay() -> list[OverlayProduct]:
    label = f"baselines/lifecycle/{OVERLAY_FILE}"
    return parse_overlay(load_text(_shipped_text(OVERLAY_FILE), label), label)


def user_dir() -> Path:
    """Where ``undone lifecycle refresh`` writes a newer catalogue: ``$UNDONE_LIFECYCLE_DIR``,
    else ``$XDG_DATA_HOME/undone/lifecycle``, else ``~/.local/share/undone/lifecycle`` (the
    installed package may be read-only). A catalogue there is used in place of the shipped one
    when its snapshot is newer."""
    env = os.environ.get("UNDONE_LIFECYCLE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "undone" / "lifecycle"


@functools.lru_cache(maxsize=4)
def _default_catalogue(user_file: str | None = None) -> Catalogue:
    label = f"baselines/lifecycle/{CATALOGUE_FILE}"
    shipped = catalogue_from_json(_shipped_text(CATALOGUE_FILE), label)
    if user_file is not None and os.path.exists(user_file):
        # a refreshed catalogue: a file that does not load is an error, never a silent fallback
        newer = catalogue_from_json(_read_text(user_file, user_file), user_file)
        if newer.snapshot_date > shipped.snapshot_date:
            shipped = newer
    return _with_device_overlay(merge_overlay(shipped, _shipped_overlay()))


def _device_products(rows: Iterable[_devices.FirmwareRow]) -> list[OverlayProduct]:
    """Firmware rows of the device overlay (derived or local) as overlay products."""
    by_product: dict[str, list[_devices.FirmwareRow]] = {}
    for row in rows:
        by_product.setdefault(row.product, []).append(row)
    out: list[OverlayProduct] = []
    for slug, group in by_product.items():
        releases = tuple(
            Release(
                product=slug, cycle=r.cycle, title=r.title, release_date=r.release_date,
                eol=r.eol, eol_flag=False, eoas=r.eoas, eoes=None, lts=False, latest=r.latest,
                latest_date=r.latest_date,
                source=str(r.source.get("url") or r.source.get("repo") or r.source_class),
                checked_on=r.as_of, source_class=r.source_class, source_detail=dict(r.source),
                eol_unknown=r.eol_unknown, unsupported_versions=dict(r.unsupported_versions),
                as_of=r.as_of, last_support=r.last_support,
            )
            for r in group
        )
        versions: dict[str, date] = {}
        for r in group:
            versions.update(r.versions)
        out.append(OverlayProduct(slug, group[0].title, "firmware", None, releases, versions))
    return out


def _with_device_overlay(cat: Catalogue) -> Catalogue:
    """The catalogue with the derived device overlay's firmware cycles added (never replacing a
    cycle endoflife.date has)."""
    return merge_overlay(cat, _device_products(_devices.shipped().firmware),
                         replace_cycles=False)


def with_local(cat: Catalogue, local: _devices.LocalOverlay | None) -> Catalogue:
    """The catalogue with a local overlay's firmware rows merged over everything else."""
    if not local or not local.firmware:
        return cat
    return merge_overlay(cat, _device_products(local.firmware))


def load_catalogue(path: str | None = None, *, overlay: str | None = None) -> Catalogue:
    """Load the lifecycle catalogue: the shipped one (cached) when ``path`` is ``None``, else the
    file at ``path`` (a newer snapshot built with the same command). The shipped
    ``overlay.yaml`` is merged in both cases, then the ``overlay`` file if one is given."""
    if path is None:
        cat = _default_catalogue(str(user_dir() / CATALOGUE_FILE))
    else:
        cat = _with_device_overlay(
            merge_overlay(catalogue_from_json(_read_text(path, path), path), _shipped_overlay()))
    if overlay is not None:
        cat = merge_overlay(cat, parse_overlay(load_file(overlay), overlay))
    return cat


# --------------------------------------------------------------------------------------------
# Overlay (hand-kept entries for vendors endoflife.date lacks)
# --------------------------------------------------------------------------------------------

_OVERLAY_TOP_KEYS = {"schema", "products"}
_OVERLAY_PRODUCT_KEYS = {"product", "title", "category", "release_policy_link", "cycles"}
_OVERLAY_CYCLE_REQUIRED = ("cycle", "eol", "source", "checked_on")
_OVERLAY_CYCLE_KEYS = set(_OVERLAY_CYCLE_REQUIRED) | {
    "release_date",
    "eoas",
    "eoes",
    "lts",
    "latest",
    "latest_date",
    "codename",
    "label",
}


@dataclass(frozen=True)
class OverlayProduct:
    """One product of an overlay file: its cycles already as :class:`Release` values."""

    slug: str
    title: str | None
    category: str | None
    release_policy_link: str | None
    releases: tuple[Release, ...]
    versions: Mapping[str, date] = field(default_factory=dict)


def _yaml_date(value: Any, where: str, *, flags: bool) -> tuple[date | None, bool]:
    """A YAML date field: a date (unquoted or ISO string), or with ``flags`` true/false.
    Returns (date, flag)."""
    if flags and isinstance(value, bool):
        return None, value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value, False
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip()), False
        except ValueError:
            pass
    allowed = "a date (YYYY-MM-DD), true or false" if flags else "a date (YYYY-MM-DD)"
    raise InputError(f"{where}: expected {allowed}, got {value!r}")


def _yaml_str(value: Any, where: str) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    hint = " (quote it: YAML reads 24.10 as the number 24.1)" if isinstance(value, float) else ""
    raise InputError(f"{where}: expected a non-empty string, got {value!r}{hint}")


def _unknown_keys(got: Iterable[Any], allowed: set[str], where: str) -> list[str]:
    return [
        f"{where}: unknown key {k!r} (expected one of: {', '.join(sorted(allowed))})"
        for k in got
        if k not in allowed
    ]


def parse_overlay(doc: Any, label: str) -> list[OverlayProduct]:
    """Validate an overlay document (already parsed YAML). Every cycle needs ``cycle``, ``eol``,
    ``source`` (an http(s) URL of the vendor's own lifecycle page) and ``checked_on`` (the date
    someone read that page). All problems are reported at once as an :class:`InputError`."""
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise InputError(f"{label}: expected a mapping with 'schema' and 'products'")
    problems = _unknown_keys(doc, _OVERLAY_TOP_KEYS, label)
    if doc.get("schema") != OVERLAY_SCHEMA:
        problems.append(f"{label}: schema: expected {OVERLAY_SCHEMA!r}, got {doc.get('schema')!r}")
    raw_products = doc.get("products")
    if raw_products is None:
        raw_products = []
    if not isinstance(raw_products, list):
        problems.append(f"{label}: products: expected a list")
        raw_products = []
    out: list[OverlayProduct] = []
    seen_products: set[str] = set()
    for i, rp in enumerate(raw_products):
        where = f"{label}: products[{i}]"
        if not isinstance(rp, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        problems += _unknown_keys(rp, _OVERLAY_PRODUCT_KEYS, where)
        try:
            slug = _yaml_str(rp.get("product"), f"{where}.product")
            if not _SLUG_RE.match(slug):
                raise InputError(f"{where}.product: {slug!r} is not a slug (a-z, 0-9, '-', '.')")
            if slug in seen_products:
                raise InputError(f"{where}.product: {slug!r} appears twice")
            seen_products.add(slug)
            title = None if rp.get("title") is None else _yaml_str(rp["title"], f"{where}.title")
            category = rp.get("category")
            category = None if category is None else _yaml_str(category, f"{where}.category")
            link = rp.get("release_policy_link")
            link = None if link is None else _yaml_str(link, f"{where}.release_policy_link")
        except InputError as e:
            problems += e.problems
            continue
        cycles = rp.get("cycles")
        if not isinstance(cycles, list) or not cycles:
            problems.append(f"{where}.cycles: expected a non-empty list")
            continue
        releases: list[Release] = []
        seen_cycles: set[str] = set()
        for j, rc in enumerate(cycles):
            cw = f"{where}.cycles[{j}]"
            if not isinstance(rc, dict):
                problems.append(f"{cw}: expected a mapping")
                continue
            problems += _unknown_keys(rc, _OVERLAY_CYCLE_KEYS, cw)
            missing = [k for k in _OVERLAY_CYCLE_REQUIRED if k not in rc]
            if missing:
                problems.append(f"{cw}: missing {', '.join(repr(k) for k in missing)}")
                continue
            try:
                releases.append(_overlay_release(slug, title or slug, rc, cw, seen_cycles))
            except InputError as e:
                problems += e.problems
        out.append(OverlayProduct(slug, title, category, link, tuple(releases)))
    if problems:
        raise InputError(problems)
    return out


def _overlay_release(slug: str, title: str, rc: dict[str, Any], cw: str, seen: set[str]) -> Release:
    problems: list[str] = []

    def text(key: str, required: bool = False) -> str | None:
        if rc.get(key) is None and not required:
            return None
        try:
            return _yaml_str(rc.get(key), f"{cw}.{key}")
        except InputError as e:
            problems.extend(e.problems)
            return None

    def when(key: str, flags: bool, required: bool = False) -> tuple[date | None, bool]:
        if rc.get(key) is None and not required:
            return None, False
        try:
            return _yaml_date(rc.get(key), f"{cw}.{key}", flags=flags)
        except InputError as e:
            problems.extend(e.problems)
            return None, False

    cycle = text("cycle", required=True)
    if cycle is not None:
        if cycle in seen:
            problems.append(f"{cw}.cycle: {cycle!r} appears twice")
        seen.add(cycle)
    source = text("source", required=True)
    if source is not None and not re.match(r"^https?://\S+$", source):
        problems.append(f"{cw}.source: expected the http(s) URL of the vendor page, not {source!r}")
    checked_on, _ = when("checked_on", flags=False, required=True)
    eol, eol_flag = when("eol", flags=True, required=True)
    release_date, _ = when("release_date", flags=False)
    eoas, eoas_flag = when("eoas", flags=True)
    eoes, eoes_flag = when("eoes", flags=True)
    latest_date, _ = when("latest_date", flags=False)
    latest, codename, label = text("latest"), text("codename"), text("label")
    lts = rc.get("lts", False)
    if not isinstance(lts, bool):
        problems.append(f"{cw}.lts: expected true or false, got {lts!r}")
    if problems or cycle is None or source is None:
        raise InputError(problems)
    return Release(
        product=slug,
        cycle=cycle,
        title=title,
        release_date=release_date,
        eol=eol,
        eol_flag=eol_flag,
        eoas=eoas,
        eoes=eoes,
        lts=lts is True,
        latest=latest,
        latest_date=latest_date,
        codename=codename,
        label=label,
        eoas_flag=eoas_flag,
        eoes_flag=eoes_flag,
        source=source,
        checked_on=checked_on,
    )


def merge_overlay(
    cat: Catalogue, overlay: Sequence[OverlayProduct], *, replace_cycles: bool = True
) -> Catalogue:
    """A new catalogue with the overlay merged: a new product is added (it then needs a
    ``title``); a cycle of an existing product replaces the upstream cycle of the same name
    (unless ``replace_cycles`` is false: then the upstream cycle stays) or is added before the
    upstream ones. Each merged :class:`Release` keeps its ``source``."""
    if not overlay:
        return cat
    products = dict(cat.products)
    for op in overlay:
        base = products.get(op.slug)
        if base is None:
            if op.title is None:
                raise InputError(
                    f"overlay product {op.slug!r}: not in the catalogue, so it needs a 'title'"
                )
            products[op.slug] = Product(
                op.slug, op.title, op.category, op.release_policy_link, op.releases,
                dict(op.versions)
            )
            continue
        title = op.title or base.title
        ours = {r.cycle: replace(r, title=title) for r in op.releases
                if replace_cycles or base.release(r.cycle) is None}
        added = [r for r in ours.values() if base.release(r.cycle) is None]
        merged = [ours.get(r.cycle, replace(r, title=title)) for r in base.releases]
        products[op.slug] = Product(
            op.slug,
            title,
            op.category or base.category,
            op.release_policy_link or base.release_policy_link,
            tuple(added + merged),
            {**base.versions, **op.versions},
        )
    return Catalogue(cat.snapshot_date, products, cat.sources, cat.label)


# --------------------------------------------------------------------------------------------
# Derived facts
# --------------------------------------------------------------------------------------------


def _id_like(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [str(x) for x in value]
    return []


def enrich_os(
    values: dict[str, Any],
    collected_at: datetime,
    catalogue: Catalogue,
    max_catalogue_age_days: int,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Derive the lifecycle facts of a host from its ``os.*`` facts.

    Reads ``os.id``, ``os.version_id``, and if present ``os.id_like`` (a list, or the
    space-separated string of os-release) and ``os.name``. Returns (values, errors) for
    ``os.lifecycle_product``, ``os.lifecycle_cycle``, ``os.eol_date`` (ISO date, or ``None``
    when no end date is set), ``os.days_to_eol`` (negative once past, ``None`` without a date),
    ``os.supported`` (not past its end of life at ``collected_at``), ``os.eoes_date``, and always
    ``lifecycle.snapshot_date`` and ``lifecycle.catalogue_age_days``. When the catalogue is
    older than ``max_catalogue_age_days`` at ``collected_at``, ``os.supported`` and
    ``os.days_to_eol`` are errors, never values. Data only: no policy is applied here.
    """
    age = catalogue.age_days(collected_at)
    out: dict[str, Any] = {
        SNAPSHOT_FACT: catalogue.snapshot_date.isoformat(),
        AGE_FACT: age,
    }
    errors: dict[str, str] = {}
    os_id = values.get("os.id")
    if not isinstance(os_id, str) or not os_id.strip():
        errors.update(dict.fromkeys(OS_FACTS, "os release unknown"))
        return out, errors
    raw_version = values.get("os.version_id")
    version = str(raw_version).strip() if raw_version is not None else ""
    name = values.get("os.name")
    if os_id in ("windows", "windows-server"):
        # Windows: the build and the edition decide (windows.os facts)
        build = values.get("os.build")
        edition = values.get("os.edition")
        release = (
            catalogue.windows_release(
                build,
                edition if isinstance(edition, str) else None,
                os_id == "windows-server",
                name if isinstance(name, str) else None,
            )
            if isinstance(build, int)
            else None
        )
        version = f"build {build} {edition or ''}".strip()
    else:
        release = catalogue.os_release(
            os_id,
            version,
            _id_like(values.get("os.id_like")),
            name=name if isinstance(name, str) else None,
        )
    stale = catalogue.stale_reason(collected_at, max_catalogue_age_days)
    if release is None:
        shown = version or "(no VERSION_ID)"
        msg = f"os release {os_id.strip()} {shown} is not in the lifecycle catalogue"
        if stale and os_id.strip().lower() in (*_OS_IDS, "windows", "windows-server"):
            # a known distribution: the release may be newer than the snapshot
            msg += f"; {stale}"
        errors.update(dict.fromkeys(OS_FACTS, msg))
        return out, errors
    on = _as_utc_date(collected_at)
    out["os.lifecycle_product"] = release.product
    out["os.lifecycle_cycle"] = release.cycle
    out["os.eol_date"] = release.eol.isoformat() if release.eol else None
    out["os.eoes_date"] = release.eoes.isoformat() if release.eoes else None
    if stale:
        errors["os.supported"] = stale
        errors["os.days_to_eol"] = stale
        errors["os.extended_support"] = stale
    else:
        out["os.days_to_eol"] = release.days_to_eol(on)
        out["os.supported"] = release.supported(on)
        # extended support (Debian LTS, Ubuntu ESM, RHEL ELS, Windows ESU) still running at ``on``;
        # whether it counts is the rules' decision, since its terms differ per vendor
        out["os.extended_support"] = bool(
            release.eoes_flag or (release.eoes is not None and on <= release.eoes)
        )
    return out, errors


# --------------------------------------------------------------------------------------------
# KEV
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Kev:
    """The shipped extract of CISA's Known Exploited Vulnerabilities catalogue."""

    catalog_version: str
    date_released: str | None
    entries: tuple[dict[str, str], ...]

    def for_product(self, vendor: str, product: str) -> list[dict[str, str]]:
        """Entries whose vendor equals ``vendor`` and whose product names ``product`` as a word,
        both ignoring case (``"FortiOS"`` finds "FortiOS and FortiProxy"). KEV names products
        loosely ("Multiple Products"), so this finds candidates, not proof."""
        v = vendor.strip().casefold()
        word = re.compile(rf"(?<![\w-]){re.escape(product.strip().casefold())}(?![\w-])")
        return [
            dict(e)
            for e in self.entries
            if e.get("vendorProject", "").strip().casefold() == v
            and word.search(e.get("product", "").strip().casefold())
        ]


def kev_from_json(text: str, label: str = KEV_FILE) -> Kev:
    """Parse the shipped extract (``undone.kev/1``) or CISA's own
    ``known_exploited_vulnerabilities.json``, so a newer CISA file can be used as it is."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{label}: not valid JSON (line {e.lineno}): {e.msg}") from None
    except (RecursionError, ValueError):
        raise InputError(f"{label}: not JSON undone can read (too deep, or a number too long)"
                         ) from None
    if not isinstance(doc, dict):
        raise InputError(f"{label}: not a KEV catalogue")
    if doc.get("schema") == KEV_SCHEMA:
        version, released = doc.get("catalog_version"), doc.get("date_released")
    elif "catalogVersion" in doc:
        version, released = doc.get("catalogVersion"), doc.get("dateReleased")
    else:
        raise InputError(
            f"{label}: not a KEV catalogue (no schema {KEV_SCHEMA!r} or catalogVersion)"
        )
    vulns = doc.get("vulnerabilities")
    if not isinstance(vulns, list):
        raise InputError(f"{label}: vulnerabilities: expected a list")
    entries = tuple(
        {k: e[k] if isinstance(e[k], str) else str(e[k]) for k in KEV_FIELDS
         if isinstance(e.get(k), str | int | float) and not isinstance(e.get(k), bool)}
        for e in vulns
        if isinstance(e, dict)
    )
    return Kev(str(version), None if released is None else str(released), entries)


@functools.lru_cache(maxsize=1)
def _default_kev() -> Kev:
    return kev_from_json(_shipped_text(KEV_FILE), f"baselines/lifecycle/{KEV_FILE}")


def load_kev(path: str | None = None) -> Kev:
    """The shipped KEV extract (cached), or a file in the same format (a newer one). Without a
    path, a KEV file written by ``undone lifecycle refresh --kev`` in :func:`user_dir` is used
    when present."""
    if path is None:
        user = user_dir() / KEV_FILE
        if user.exists():
            return _user_kev(str(user), user.stat().st_mtime_ns)
        return _default_kev()
    return kev_from_json(_read_text(path, path), path)


@functools.lru_cache(maxsize=2)
def _user_kev(path: str, _mtime: int) -> Kev:
    return kev_from_json(_read_text(path, path), path)


def kev_for(vendor: str, product: str) -> list[dict[str, str]]:
    """Known exploited vulnerabilities of a vendor's product in the shipped extract (see
    :meth:`Kev.for_product`)."""
    return _default_kev().for_product(vendor, product)


# --------------------------------------------------------------------------------------------
# Build (derivation from ../shared/data)
# --------------------------------------------------------------------------------------------


class BuildError(Exception):
    """The source data is not what the build expects."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _source_commit(text: str, repo: str, where: str) -> tuple[str, str | None]:
    m = re.search(
        rf"{re.escape(repo)}\s+at\s+commit\s+([0-9a-f]{{40}})(?:\s+\((\d{{4}}-\d{{2}}-\d{{2}})\))?",
        _one_line(text),
    )
    if m is None:
        raise BuildError(f"{where}: no commit of {repo} found")
    return m.group(1), m.group(2)


def _src_value(value: Any, where: str) -> Any:
    """A date-or-boolean field of the source, validated and kept as in the source."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise BuildError(f"{where}: {value!r} is not a real date; expected YYYY-MM-DD, "
                             "true, false or null") from None
        return value
    raise BuildError(f"{where}: expected a date (YYYY-MM-DD), true, false or null, got "
                     f"{_shown(value)}")


def _shown(value: Any) -> str:
    """A value of an export, shown short in a one-line message (never its whole text)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if abs(value) < 10**30 else "a number of more than 30 digits"
    if isinstance(value, str):
        return repr(value[:40] + ("..." if len(value) > 40 else ""))
    if isinstance(value, dict):
        return "an object"
    return "a list" if isinstance(value, list) else type(value).__name__


def _render_label(template: Any, r: Mapping[str, Any]) -> str | None:
    if not isinstance(template, str) or not template:
        return None
    text = template.strip()
    for key, field_name in (
        ("__RELEASE_CYCLE__", "releaseCycle"),
        ("__CODENAME__", "codename"),
        ("__LATEST__", "latest"),
        ("__LATEST_RELEASE_DATE__", "latestReleaseDate"),
    ):
        value = r.get(field_name)
        text = text.replace(key, value if isinstance(value, str) else "")
    return text


def _opt_str(r: Mapping[str, Any], key: str, where: str) -> str | None:
    value = r.get(key)
    if value is None or isinstance(value, str):
        return value
    raise BuildError(f"{where}.{key}: expected text or null, got {_shown(value)}")


def _cycle(slug: str, r: Any, label: str = "products.json", index: int = 0) -> dict[str, Any]:
    where = f"{label}: {slug}.releases[{index}]"
    if not isinstance(r, dict):
        raise BuildError(f"{where}: expected an object (a release cycle), got {_shown(r)}")
    cycle = r.get("releaseCycle")
    if not isinstance(cycle, str):
        raise BuildError(f"{where}.releaseCycle: expected text, got {_shown(cycle)}")
    where = f"{label}: {slug} {cycle[:40]!r}"
    latest = _opt_str(r, "latest", where)
    release_date = _src_value(r.get("releaseDate"), f"{where}.releaseDate")
    if isinstance(release_date, bool):
        raise BuildError(f"{where}.releaseDate: expected a date (YYYY-MM-DD), got "
                         f"{_shown(release_date)}")
    return {
        "cycle": cycle,
        "codename": _opt_str(r, "codename", where),
        "label": _render_label(r.get("releaseLabel"), r),
        "release_date": release_date,
        "eol": _src_value(r.get("eol"), f"{where}.eol"),
        "eoas": _src_value(r.get("eoas"), f"{where}.eoas"),
        "eoes": _src_value(r.get("eoes"), f"{where}.eoes"),
        "lts": _src_value(r.get("lts", False), f"{where}.lts"),
        "latest": latest,
        "latest_date": _src_value(r.get("latestReleaseDate"), f"{where}.latestReleaseDate"),
    }


def _dump(value: Any, inline_at: int, level: int = 0) -> str:
    """JSON with sorted keys, indented one space per level down to ``inline_at``, below which
    each value sits on one line: small, deterministic and diff-friendly."""
    if level >= inline_at or not isinstance(value, dict | list) or not value:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    pad = " " * (level + 1)
    if isinstance(value, dict):
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_dump(value[k], inline_at, level + 1)}"
            for k in sorted(value)
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * level + "}"
    items = [f"{pad}{_dump(v, inline_at, level + 1)}" for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * level + "]"


#: the largest export file read (endoflife.date's products.json is about 1.5 MB)
MAX_EXPORT_BYTES = 64 * 1024 * 1024


def _load_json(path: Path, expected: str = "JSON") -> Any:
    """A JSON file of an export, or BuildError naming the file and what was expected: never a
    traceback, whatever the file holds (truncated, binary, huge numbers, deep nesting, a FIFO,
    a folder)."""
    import stat

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise BuildError(f"{path}: not a regular file; expected {expected}")
        if st.st_size > MAX_EXPORT_BYTES:
            raise BuildError(f"{path}: {st.st_size} bytes, more than the {MAX_EXPORT_BYTES} "
                             f"read; expected {expected}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise BuildError(f"{path}: not found; expected {expected}") from None
    except OSError as e:
        raise BuildError(f"{path}: cannot read ({e.strerror or e}); expected {expected}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BuildError(f"{path}: not UTF-8 text (byte {e.start}); expected {expected}") from None
    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, parse_constant=no_constants)
    except json.JSONDecodeError as e:
        raise BuildError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
                         f"expected {expected}") from None
    except RecursionError:
        raise BuildError(f"{path}: nested too deeply; expected {expected}") from None
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        raise BuildError(f"{path}: {str(e).splitlines()[0][:120]}; expected {expected}") from None


def _extract_products(
    eol_dir: Path, all_products: Mapping[str, Any], label: str = "products.json"
) -> tuple[list[str], dict[str, Any]]:
    """The products undone keeps (``PRODUCTS`` and those of ``OPTIONAL_PRODUCTS`` present), in
    the ``catalogue.json`` shape, with per-version dates from ``release-data`` where kept."""
    wanted = sorted(set(PRODUCTS) | {s for s in OPTIONAL_PRODUCTS if s in all_products})
    products: dict[str, Any] = {}
    for slug in wanted:
        raw = all_products[slug]
        if not isinstance(raw, dict):
            raise BuildError(f"{label}: {slug}: expected an object (a product), got {_shown(raw)}")
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip():
            raise BuildError(f"{label}: {slug}.title: expected text, got {_shown(title)}")
        versions: dict[str, str] = {}
        rd_path = eol_dir / "release-data" / f"{slug}.json"
        if slug in VERSION_PRODUCTS and rd_path.exists():
            rd = _load_json(rd_path, "an endoflife.date release-data file ({\"versions\": "
                                     "{name: {\"date\": YYYY-MM-DD}}})")
            rd_versions = rd.get("versions") if isinstance(rd, dict) else None
            if rd_versions is not None and not isinstance(rd_versions, dict):
                raise BuildError(f"{rd_path}: versions: expected an object, got "
                                 f"{_shown(rd_versions)}")
            if not isinstance(rd, dict):
                raise BuildError(f"{rd_path}: expected an object with 'versions', got "
                                 f"{_shown(rd)}")
            for key, v in (rd_versions or {}).items():
                d = v.get("date") if isinstance(v, dict) else v
                if not isinstance(d, str) or not _DATE_RE.match(d):
                    raise BuildError(f"{rd_path}: versions.{str(key)[:40]}.date: expected a "
                                     f"date (YYYY-MM-DD), got {_shown(d)}")
                _src_value(d, f"{rd_path}: versions.{str(key)[:40]}.date")
                versions[str(key)] = d
        releases = raw.get("releases") or []
        if not isinstance(releases, list):
            raise BuildError(f"{label}: {slug}.releases: expected a list, got {_shown(releases)}")
        products[slug] = {
            "slug": slug,
            "title": title,
            "category": _opt_str(raw, "category", f"{label}: {slug}"),
            "release_policy_link": _opt_str(raw, "releasePolicyLink", f"{label}: {slug}"),
            "releases": [_cycle(slug, r, label, i) for i, r in enumerate(releases)],
            "versions": versions,
        }
    return wanted, products


def render(src: Path, snapshot_date: str | None = None) -> dict[str, str]:
    """Derive the generated files (name -> text) from a ``../shared/data`` directory.
    Pure and deterministic: the same input gives byte-identical output."""
    eol_dir = src / "endoflife"
    kev_dir = src / "kev"
    try:
        eol_source = (eol_dir / "SOURCE.md").read_text(encoding="utf-8")
        kev_source = (kev_dir / "SOURCE.md").read_text(encoding="utf-8")
    except OSError as e:
        raise BuildError(f"{e.filename}: {e.strerror}") from None
    eol_commit, eol_date = _source_commit(
        eol_source, "endoflife-date/endoflife.date", "endoflife/SOURCE.md"
    )
    rd_commit, rd_date = _source_commit(
        eol_source, "endoflife-date/release-data", "endoflife/SOURCE.md"
    )
    kev_commit, _ = _source_commit(kev_source, "cisagov/kev-data", "kev/SOURCE.md")
    dates = sorted(d for d in (eol_date, rd_date) if d)
    snapshot = snapshot_date or (dates[0] if dates else None)
    if snapshot is None:
        raise BuildError("endoflife/SOURCE.md: no snapshot date; pass --snapshot-date")
    date.fromisoformat(snapshot)

    all_products = _load_json(eol_dir / "products.json")
    if not isinstance(all_products, dict):
        raise BuildError("products.json: expected an object of products")
    missing = [s for s in PRODUCTS if s not in all_products]
    if missing:
        raise BuildError(f"products.json: missing products: {', '.join(missing)}")
    wanted, products = _extract_products(eol_dir, all_products)
    sources = [
        {
            "name": "endoflife.date",
            "repository": "https://github.com/endoflife-date/endoflife.date",
            "commit": eol_commit,
            "date": eol_date,
            "license": "MIT",
            "used": "products/*.md front matter (release cycles and dates)",
        },
        {
            "name": "endoflife.date release-data",
            "repository": "https://github.com/endoflife-date/release-data",
            "commit": rd_commit,
            "date": rd_date,
            "license": "MIT",
            "used": "releases/<product>.json versions (release date of each version)",
        },
    ]
    catalogue = {
        "schema": SCHEMA,
        "snapshot_date": snapshot,
        "sources": sources,
        "products": products,
    }

    kev_raw = _load_json(kev_dir / "known_exploited_vulnerabilities.json")
    vulns = kev_raw.get("vulnerabilities") if isinstance(kev_raw, dict) else None
    if not isinstance(vulns, list):
        raise BuildError("known_exploited_vulnerabilities.json: no vulnerabilities list")
    extract = sorted(
        ({k: e.get(k) for k in KEV_FIELDS} for e in vulns),
        key=lambda e: (str(e["cveID"]), str(e["vendorProject"]), str(e["product"])),
    )
    kev = {
        "schema": KEV_SCHEMA,
        "catalog_version": kev_raw.get("catalogVersion"),
        "date_released": kev_raw.get("dateReleased"),
        "count": len(extract),
        "source": {
            "name": "CISA Known Exploited Vulnerabilities",
            "repository": "https://github.com/cisagov/kev-data",
            "commit": kev_commit,
            "license": "CC0-1.0",
            "fields": list(KEV_FIELDS),
        },
        "vulnerabilities": extract,
    }
    absent = [s for s in OPTIONAL_PRODUCTS if s not in all_products]
    notice = _notice(snapshot, sources, kev, wanted, absent)
    try:
        devices = _devices.render_device_overlay(src)
    except _devices.OverlayBuildError as e:
        raise BuildError(str(e)) from None
    return {
        CATALOGUE_FILE: _dump(catalogue, inline_at=4) + "\n",
        KEV_FILE: _dump(kev, inline_at=2) + "\n",
        NOTICE_FILE: notice,
        _devices.DEVICE_OVERLAY_FILE: devices,
    }


_MIT_BODY = """\
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def _notice(
    snapshot: str,
    sources: list[dict[str, Any]],
    kev: Mapping[str, Any],
    products: list[str],
    absent: list[str],
) -> str:
    eol, rd = sources
    kev_src = kev["source"]
    lines = [
        "# Lifecycle data: sources and licences",
        "",
        f"Snapshot date: **{snapshot}**. Reports state the age of this data; past the configured",
        "limit, undone reports a host's support status as unknown (stale data), not as a value.",
        "",
        f"`{CATALOGUE_FILE}`, `{KEV_FILE}` and this file are generated; do not edit them by hand:",
        "",
        "```",
        "python -m scanner.lifecycle build --from ../shared/data --out baselines/lifecycle",
        "```",
        "",
        f"`{OVERLAY_FILE}` is kept by hand: entries for vendors endoflife.date lacks, each citing",
        "the vendor's page and the date it was checked.",
        "",
        "## endoflife.date (`catalogue.json`)",
        "",
        f"Release cycles, end-of-life dates and version release dates of {len(products)} products,",
        "derived from:",
        "",
        f"- {eol['repository']}",
        f"  at commit `{eol['commit']}` ({eol['date']}):",
        "  the YAML front matter of `products/*.md`;",
        f"- {rd['repository']}",
        f"  at commit `{rd['commit']}` ({rd['date']}):",
        "  `releases/*.json`.",
        "",
        "Only data fields were kept. The prose descriptions of the product pages (partly adapted",
        "from Wikipedia under CC BY-SA) were left out on purpose.",
        "",
        "Products: " + ", ".join(f"`{p}`" for p in products) + ".",
    ]
    if absent:
        lines += [
            "",
            "Looked for but absent from this snapshot: "
            + ", ".join(f"`{p}`" for p in absent)
            + ".",
        ]
    lines += [
        "",
        "Both repositories are under the MIT licence:",
        "",
        "```",
        "Copyright 2020 endoflife.date contributors (endoflife-date/endoflife.date)",
        "Copyright (c) 2022 endoflife.date (endoflife-date/release-data)",
        "",
        _MIT_BODY.rstrip("\n"),
        "```",
        "",
        "## CISA Known Exploited Vulnerabilities (`kev.json`)",
        "",
        f"An extract of the KEV catalogue, catalogVersion {kev['catalog_version']}",
        f"(released {kev['date_released']}, {kev['count']} entries),",
        f"from {kev_src['repository']} at commit",
        f"`{kev_src['commit']}`. Fields kept: "
        + ", ".join(f"`{f}`" for f in kev_src["fields"])
        + ".",
        "",
        "The KEV catalogue is in the public domain (CC0 1.0). It is a dated snapshot too: a newer",
        "`known_exploited_vulnerabilities.json` from CISA can be loaded in its place as it is.",
        "",
        f"## Network devices (`{_devices.DEVICE_OVERLAY_FILE}`)",
        "",
        "Firmware trains and hardware end-of-support dates for vendors endoflife.date lacks",
        "(Cisco IOS and Catalyst hardware, Sophos SFOS and XG, SonicWall appliances, pfSense CE,",
        "QNAP QTS) and vendor support policies, derived from",
        "`shared/data/lifecycle-overlay/overlay.yaml` (its SOURCE.md lists every page and",
        "repository read). Each row keeps its own source (URL, or repository and commit) and",
        "class: `primary` (the vendor's page, document or repository) or `secondary` (an",
        "unmerged endoflife.date pull request under MIT, news, a reseller, a wiki). A secondary",
        "row can prove a failure, never a pass. Dates the sources did not give are left out.",
        "pfSense release dates are facts read from pfsense/docs (CC BY-NC-SA 4.0); no text of it",
        "is copied.",
        "",
    ]
    return "\n".join(lines)


def build(src: Path, out: Path, snapshot_date: str | None = None) -> dict[str, int]:
    """Write the generated files into ``out``; returns name -> size in bytes. Leaves
    ``overlay.yaml`` alone."""
    files = render(src, snapshot_date)
    out.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    for name, text in files.items():
        data = text.encode("utf-8")
        (out / name).write_bytes(data)
        sizes[name] = len(data)
    return sizes


# --------------------------------------------------------------------------------------------
# Firmware and network operating systems (scanner/network.py, probes/net/firmware.py)
# --------------------------------------------------------------------------------------------

# KEV names a product loosely; per catalogue slug: the vendor and a pattern of its product names.
# A slug listed here with no KEV entry (OPNsense) is known to have none, which is not the same as
# a slug missing from this table (then KEV cannot be judged for it).
KEV_PRODUCTS: dict[str, tuple[str, str]] = {
    "cisco-ios": ("Cisco", r"\bIOS\b(?!\s+X[ER])"),
    "cisco-ios-xe": ("Cisco", r"\bIOS XE\b|\bXE Software\b|\bIOS and IOS XE\b"),
    "fortios": ("Fortinet", r"\bFortiOS\b"),
    "junos": ("Juniper", r"\bJunos\b"),
    "opnsense": ("OPNsense", r"OPNsense"),
    "openwrt": ("OpenWrt", r"OpenWrt"),
    "pan-os": ("Palo Alto Networks", r"\bPAN-OS\b"),
    "pfsense": ("Netgate", r"pfSense"),
    "pfsense-plus": ("Netgate", r"pfSense"),
    "routeros": ("MikroTik", r"\bRouterOS\b"),
    "sns-firmware": ("Stormshield", r"Stormshield|SNS"),
    "sonicos": ("SonicWall", r"\bSonicOS\b"),
}

_IOS_RE = re.compile(r"^(\d+)\.(\d+)\((\d+)[a-z]?\)([A-Z]*)")


def firmware_cycles(product: str, version: str) -> list[str]:
    """Cycle names a firmware version may belong to, most specific first: the version itself,
    then ``7.12.1`` -> ``7.12``; ``17.03.04a`` -> ``17.03.04``, ``17.03``, ``17.3``; ``23.05.3``
    -> ``23.05``, ``23.5``; QTS ``4.3.6.2050`` -> ``4.3.6``, ``4.3``; classic Cisco IOS
    ``15.0(2)SE4`` -> ``15.0(2)SE``, ``15.0SE``, ``15.0`` (the trains a local overlay may
    name)."""
    v = version.strip().lstrip("vV")
    out: list[str] = []
    if product == "cisco-ios":
        m = _IOS_RE.match(v)
        if m:
            a, b, c, train = m.groups()
            out = [v, f"{a}.{b}({c}){train}", f"{a}.{b}{train}", f"{a}.{b}"]
        return list(dict.fromkeys(out))
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", v)
    if m:
        raw = f"{m.group(1)}.{m.group(2)}"
        three = [f"{raw}.{m.group(3)}"] if m.group(3) is not None else []
        out = [v, *three, raw, f"{int(m.group(1))}.{int(m.group(2))}", str(int(m.group(1)))]
    elif (lead := re.match(r"^\d+", v)) is not None:
        out = [v, str(int(lead.group(0)))]
    return list(dict.fromkeys(out))


def _release_json(r: Release, version: str | None = None) -> dict[str, Any]:
    def iso(d: date | None) -> str | None:
        return d.isoformat() if d else None

    doc: dict[str, Any] = {
        "cycle": r.cycle,
        "release_date": iso(r.release_date),
        "eol": iso(r.eol),
        "eol_flag": r.eol_flag,
        "eol_unknown": r.eol_unknown,
        "eoas": iso(r.eoas),
        "eoes": iso(r.eoes),
        "lts": r.lts,
        "latest": r.latest,
        "latest_date": iso(r.latest_date),
        "source": r.source,
        "checked_on": iso(r.checked_on),
        "class": r.source_class,
        "source_detail": dict(r.source_detail) if r.source_detail else None,
        "as_of": iso(r.as_of),
        "last_day_of_support": iso(r.last_support),
    }
    if version is not None and version in r.unsupported_versions:
        doc["version_unsupported_as_of"] = r.unsupported_versions[version].isoformat()
    return doc


def _hardware_json(
    vendor: str | None, model: str | None, local: _devices.LocalOverlay | None
) -> dict[str, Any]:
    """The device's hardware against the local rows, then the derived overlay."""
    doc: dict[str, Any] = {"vendor": vendor, "model": model}
    if not model:
        doc["reason"] = "the device's model is unknown"
        return doc
    rows = [*(local.hardware if local else ()), *_devices.shipped().hardware]
    row = next((h for h in rows if h.matches(vendor, model)), None)
    doc["row"] = None if row is None else row.as_json()
    if row is not None and row.source_class == _devices.LOCAL:
        doc["row"]["where"] = row.source.get("where")
    return doc


def firmware_lookup(
    product: str | None,
    version: str | None,
    catalogue: Catalogue | None = None,
    kev: Kev | None = None,
    reason: str | None = None,
    *,
    vendor: str | None = None,
    model: str | None = None,
    local: _devices.LocalOverlay | None = None,
) -> dict[str, Any]:
    """Everything the catalogue knows about one device's firmware and hardware, as JSON-able
    data: the evidence of a device's ``net.firmware`` section, which probes/net/firmware.py
    turns into facts. Data only: no clock, no judgement. ``reason`` says why product or version
    are None; ``vendor`` and ``model`` (``device.vendor``, ``device.model``) find the hardware's
    end of support; ``local`` is the inventory's (and data folder's) local overlay, which wins
    over every other source. Each date carries its source and class (see
    scanner/lifecycle_overlay.py: a secondary source can prove a failure, never a pass)."""
    from probes.net.firmware import version_key  # the one version order, shared with the parser

    cat = with_local(catalogue or load_catalogue(), local)
    overlay = _devices.shipped()
    doc: dict[str, Any] = {
        "product": product,
        "version": version,
        "catalogue": {
            "label": cat.label,
            "snapshot_date": cat.snapshot_date.isoformat(),
            "sources": [dict(s) for s in cat.sources],
            "device_overlay": dict(overlay.meta.get("derived_from") or {}),
            "trust": overlay.meta.get("trust"),
            "local_rows": (len(local.firmware) + len(local.hardware)) if local else 0,
        },
        "hardware": _hardware_json(vendor, model, local),
        "policies": _devices.policies_json(overlay.policies_for(vendor)),
    }
    if not product or not version:
        doc["reason"] = reason or "the device's product and firmware version are unknown"
        return doc
    p = cat.product(product)
    doc["known_product"] = p is not None
    if p is None:
        return doc
    doc["title"] = p.title
    doc["cycles_known"] = [r.cycle for r in p.releases]
    candidates = firmware_cycles(product, version)
    doc["cycle_candidates"] = candidates
    release = next((r for c in candidates if (r := p.release(c)) is not None), None)
    doc["release"] = None if release is None else _release_json(release, version)
    if release is not None:
        prefix = version_key(release.cycle)
        doc["versions_in_cycle"] = {
            v: d.isoformat()
            for v, d in sorted(p.versions.items())
            if version_key(v)[: len(prefix)] == prefix
        }
        vdate = p.versions.get(version)
        if vdate is None and release.latest == version:
            vdate = release.latest_date
        if vdate is None:
            vdate = next(
                (d for v, d in p.versions.items() if version_key(v) == version_key(version)), None
            )
        doc["version_date"] = vdate.isoformat() if vdate else None
    mapping = KEV_PRODUCTS.get(product)
    if mapping is None:
        doc["kev"] = {"mapped": False}
    else:
        k = kev or load_kev()
        vendor_name, pattern = mapping
        rx = re.compile(pattern, re.IGNORECASE)
        entries = [
            {f: e.get(f) for f in ("cveID", "product", "dateAdded", "knownRansomwareCampaignUse")}
            for e in k.entries
            if e.get("vendorProject", "").strip().casefold() == vendor_name.casefold()
            and rx.search(e.get("product", ""))
        ]
        doc["kev"] = {
            "mapped": True,
            "vendor": vendor_name,
            "pattern": pattern,
            "catalog_version": k.catalog_version,
            "entries": sorted(entries, key=lambda e: (str(e["dateAdded"]), str(e["cveID"]))),
        }
    return doc


def device_lookup(
    facts: Mapping[str, Any], errors: Mapping[str, str], local: Any = None
) -> dict[str, Any]:
    """:func:`firmware_lookup` for a device record's facts (``firmware.product``,
    ``firmware.version``, ``device.vendor``, ``device.model``): the one call scanner/network.py
    makes, so the lookup's inputs live here."""
    def text(key: str) -> str | None:
        value = facts.get(key)
        return value if isinstance(value, str) and value else None

    reason = errors.get("firmware.product") or errors.get("firmware.version")
    return firmware_lookup(
        text("firmware.product"), text("firmware.version"), reason=reason,
        vendor=text("device.vendor"), model=text("device.model"),
        local=local if isinstance(local, _devices.LocalOverlay) else None,
    )


def local_overlay(inventory_rows: Any = None) -> _devices.LocalOverlay:
    """The local overlay of a scan: the data folder's ``local-overlay.yaml`` (see
    :func:`user_dir`), then the inventory's ``lifecycle:`` rows (already validated by the
    inventory), which come first and so win. Raises InputError for a bad data-folder file."""
    from scanner.yamlio import load_file as _load

    folder = _devices.load_local_file(_devices.local_file(user_dir()), _load)
    inv = inventory_rows if isinstance(inventory_rows, _devices.LocalOverlay) else None
    return (inv + folder) if inv else folder


def parse_inventory_section(raw: Any, label: str) -> tuple[_devices.LocalOverlay, list[str]]:
    """The inventory's ``lifecycle:`` section (scanner/inventory.py calls this): the rows and
    one problem line per mistake."""
    return _devices.parse_local(raw, label)


# --------------------------------------------------------------------------------------------
# Refresh (undone lifecycle refresh): a newer endoflife.date export into a user-writable place
# --------------------------------------------------------------------------------------------


def _newest_date(value: Any) -> str | None:
    """The newest YYYY-MM-DD string anywhere in ``value`` (a lower bound on an export's date)."""
    best: str | None = None
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str) and _DATE_RE.match(v) and (best is None or v > best):
            best = v
    return best


def render_refresh(src: Path, snapshot_date: str | None = None) -> tuple[str, str]:
    """A ``catalogue.json`` text from an endoflife.date export folder (``products.json`` and
    ``release-data/``, like ``../shared/data/endoflife``), and a note on where its snapshot date
    came from: ``--snapshot-date``, else the commits' dates in a ``SOURCE.md`` beside it, else the
    newest date in the data (a lower bound: the catalogue may then look older than it is, never
    newer)."""
    products_file = src / "products.json"
    if not products_file.exists():
        raise BuildError(f"{products_file}: not found (expected an endoflife.date export folder "
                         "with products.json and release-data/)")
    all_products = _load_json(products_file, "an endoflife.date products.json (an object of "
                                              "products)")
    if not isinstance(all_products, dict):
        raise BuildError(f"{products_file}: expected an object of products, got "
                         f"{_shown(all_products)}")
    missing = [s for s in PRODUCTS if s not in all_products]
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6
                                          else "")
        raise BuildError(f"{products_file}: missing products: {shown}; expected an "
                         "endoflife.date export")
    sources: list[dict[str, Any]] = []
    note = "given with --snapshot-date"
    snapshot = snapshot_date
    source_md = src / "SOURCE.md"
    if source_md.exists():
        try:
            text = source_md.read_bytes()[:1_000_000].decode("utf-8")
        except (OSError, UnicodeDecodeError):
            raise BuildError(f"{source_md}: not readable UTF-8 text; expected the export's "
                             "SOURCE.md (or none)") from None
        found: list[str] = []
        for repo, used in (
            ("endoflife-date/endoflife.date", "products/*.md front matter (release cycles)"),
            ("endoflife-date/release-data", "releases/<product>.json versions"),
        ):
            try:
                commit, when = _source_commit(text, repo, str(source_md))
            except BuildError:
                continue
            sources.append({"name": repo.split("/")[1], "repository": f"https://github.com/{repo}",
                            "commit": commit, "date": when, "license": "MIT", "used": used})
            if when:
                found.append(when)
        if snapshot is None and found:
            snapshot, note = min(found), f"the commit dates in {src.name}/SOURCE.md"
    if snapshot is None:
        snapshot = _newest_date(all_products)
        note = "the newest date in products.json (a lower bound on the export's date)"
    if snapshot is None:
        raise BuildError(f"{src}: no date found; pass --snapshot-date")
    try:
        date.fromisoformat(snapshot)
    except ValueError:
        raise BuildError(f"snapshot date {snapshot[:40]!r} ({note}): expected YYYY-MM-DD") from None
    if not sources:
        sources = [{"name": "endoflife.date export", "path": str(src), "license": "MIT",
                    "used": "products.json and release-data/"}]
    _, products = _extract_products(src, all_products, str(products_file))
    doc = {"schema": SCHEMA, "snapshot_date": snapshot, "sources": sources, "products": products}
    return _dump(doc, inline_at=4) + "\n", note


def refresh(
    src: Path,
    out: Path | None = None,
    snapshot_date: str | None = None,
    kev_file: Path | None = None,
) -> dict[str, Any]:
    """Rebuild the catalogue from an endoflife.date export into ``out`` (default
    :func:`user_dir`), and with ``kev_file`` (CISA's ``known_exploited_vulnerabilities.json``)
    the KEV extract too. The shipped files are never touched. Returns what was written."""
    text, note = render_refresh(src, snapshot_date)
    new = catalogue_from_json(text, str(src / "products.json"))
    kev_text: str | None = None
    k: Kev | None = None
    if kev_file is not None:  # read and check everything before writing anything
        raw = _load_json(kev_file, "CISA's known_exploited_vulnerabilities.json")
        try:
            k = kev_from_json(json.dumps(raw), str(kev_file))
        except InputError as e:
            raise BuildError(f"{e.problems[0]}; expected CISA's "
                             "known_exploited_vulnerabilities.json") from None
        doc = {"schema": KEV_SCHEMA, "catalog_version": k.catalog_version,
               "date_released": k.date_released, "count": len(k.entries),
               "source": {"name": "CISA Known Exploited Vulnerabilities", "path": str(kev_file),
                          "license": "CC0-1.0", "fields": list(KEV_FIELDS)},
               "vulnerabilities": sorted(k.entries, key=lambda e: str(e.get("cveID")))}
        kev_text = _dump(doc, inline_at=2) + "\n"
    target = out or user_dir()
    written: dict[str, Any] = {"dir": str(target), "snapshot_date": new.snapshot_date.isoformat(),
                               "snapshot_basis": note, "products": len(new.products)}
    try:
        target.mkdir(parents=True, exist_ok=True)
        _write_atomic(target / CATALOGUE_FILE, text)
        if kev_text is not None:
            _write_atomic(target / KEV_FILE, kev_text)
    except OSError as e:
        raise BuildError(f"{target}: cannot write the catalogue there ({e.strerror or e}); "
                         "expected a writable folder (--out, or $UNDONE_LIFECYCLE_DIR)") from None
    written["catalogue"] = str(target / CATALOGUE_FILE)
    shipped = catalogue_from_json(_shipped_text(CATALOGUE_FILE), CATALOGUE_FILE)
    written["shipped_snapshot_date"] = shipped.snapshot_date.isoformat()
    written["used_instead_of_shipped"] = new.snapshot_date > shipped.snapshot_date
    if k is not None:
        written["kev"] = str(target / KEV_FILE)
        written["kev_catalog_version"] = k.catalog_version
    _default_catalogue.cache_clear()
    return written


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through an unpredictable temporary file in the same folder
    (created exclusively, never following a link), then rename it into place; a link, device
    or folder at ``path`` is refused, never replaced (scanner/safeio.py, issue 15 L1)."""
    from scanner import safeio

    safeio.write_file(str(path), text, "catalogue", mode=0o644)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scanner.lifecycle",
        description="Build undone's lifecycle catalogue from endoflife.date and KEV snapshots.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="derive catalogue.json, kev.json and NOTICE.md")
    b.add_argument("--from", dest="src", required=True, help="the shared data directory")
    b.add_argument("--out", required=True, help="output directory (baselines/lifecycle)")
    b.add_argument("--snapshot-date", help="override the snapshot date read from SOURCE.md")
    args = parser.parse_args(argv)
    try:
        sizes = build(Path(args.src), Path(args.out), args.snapshot_date)
    except (BuildError, ValueError, KeyError) as e:
        print(f"lifecycle build: {e}", file=sys.stderr)
        return 2
    for name, size in sizes.items():
        print(f"{Path(args.out) / name}: {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
