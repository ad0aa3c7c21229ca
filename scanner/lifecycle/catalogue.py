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

import functools
import json
import os
import re
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
# Local overlay (the inventory's lifecycle: rows and the user's overlay file)
# --------------------------------------------------------------------------------------------


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
