"""The applications undone judges, and how an installed item is recognised as one of them.

Which and why (docs/applications.md says the same): the software found on small-office machines
that takes documents, mail and web pages from strangers, and so is where attacks land, plus the
runtimes those run on: the web browsers (Chrome, Edge, Firefox, Chromium), the mail client
(Thunderbird), the PDF reader (Acrobat / Acrobat Reader), the office suites (Microsoft 365
Apps, Office 2016-2024, LibreOffice), Java runtimes (Oracle, Temurin, Corretto, Microsoft's
OpenJDK), the meeting clients (Zoom, Teams) and the tools that open files from anywhere
(7-Zip, Notepad++, VLC).

An installed item (from the Windows Uninstall keys, a macOS bundle, a dpkg/rpm package, a snap,
a flatpak, an ``/opt`` install) is recognised by name, bundle identifier or package name and
mapped to a product and an *upstream* version in that product's scheme. Everything else is
inventoried and listed, never judged.

Each product says how its versions group:

- ``track``: the releases a version is compared with ("a newer one in the same product line"):
  Chrome's ``stable`` channel, Firefox ``release`` or ``esr-115``, LibreOffice ``24.8``, Java
  ``17``, a Microsoft 365 Apps update channel, Acrobat's Continuous (``dc``) or Classic track;
- ``model``: ``rolling`` when the vendor only fixes its newest release (Chrome, Edge, Firefox's
  release channel, Zoom, 7-Zip, Notepad++, VLC, Acrobat Continuous: being behind is the finding,
  judged by the 14-day rule), ``lines`` when product lines have their own published end of
  support (Firefox and Thunderbird ESR, LibreOffice, Java, Office 2016-2024, Acrobat Classic,
  Microsoft 365 Apps releases).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from probes.windows import office_channel as m365_channel
from scanner.lifecycle.applications import versions

__all__ = ["PRODUCTS", "Product", "Recognised", "m365_channel", "recognise"]


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    scheme: str
    endoflife: str | None = None  # endoflife.date slug (cycles, and release-data versions)
    size: int | None = None  # dotted: how many parts order versions
    lines: bool = False  # some tracks have their own end of support (see track_model)


PRODUCTS: dict[str, Product] = {p.id: p for p in (
    Product("chrome", "Google Chrome", "chrome", "chrome"),
    Product("chromium", "Chromium", "chrome", "chrome"),
    Product("edge", "Microsoft Edge", "chrome"),
    Product("firefox", "Mozilla Firefox", "mozilla", "firefox", lines=True),
    Product("thunderbird", "Mozilla Thunderbird", "mozilla", lines=True),
    Product("acrobat", "Adobe Acrobat", "acrobat", lines=True),  # and Acrobat Reader
    Product("m365", "Microsoft 365 Apps", "dotted", size=4, lines=True),
    Product("office", "Microsoft Office (2016-2024)", "dotted", "office", size=4, lines=True),
    Product("libreoffice", "LibreOffice", "dotted", "libreoffice", size=3, lines=True),
    Product("oracle-jdk", "Oracle Java", "java", "oracle-jdk", lines=True),
    Product("eclipse-temurin", "Eclipse Temurin (Java)", "java", "eclipse-temurin", lines=True),
    Product("amazon-corretto", "Amazon Corretto (Java)", "java", "amazon-corretto", lines=True),
    Product("microsoft-build-of-openjdk", "Microsoft Build of OpenJDK", "java",
            "microsoft-build-of-openjdk", lines=True),
    Product("zoom", "Zoom Workplace", "dotted", size=4),
    Product("teams", "Microsoft Teams", "dotted", size=4),
    Product("7-zip", "7-Zip", "dotted", size=2),
    Product("notepad-plus-plus", "Notepad++", "dotted", "notepad-plus-plus", size=4),
    Product("vlc", "VLC media player", "dotted", size=3),
)}

# Distribution packages whose security fixes the distribution backports into a version it
# keeps (Debian's LibreOffice 7.4.7 gets fixes as 7.4.7-1+deb12uN): comparing them with the
# upstream project's releases would be wrong; the OS's own update rules judge them
DISTRIBUTION_MAINTAINED = re.compile(
    r"^(libreoffice-core|libreoffice|vlc|vlc-bin|p7zip|p7zip-full|7zip|openjdk-\d+-jre(-headless)?"
    r"|openjdk-\d+-jdk(-headless)?|java-\d+(\.\d+)*-openjdk(-headless)?)$")

# dpkg/rpm packages whose version is the upstream version (the distribution ships new upstream
# releases: Debian's firefox-esr, thunderbird and chromium; the vendors' own repositories)
PACKAGES: dict[str, str] = {
    "firefox-esr": "firefox", "firefox": "firefox", "thunderbird": "thunderbird",
    "chromium": "chromium", "chromium-browser": "chromium",
    "google-chrome-stable": "chrome", "microsoft-edge-stable": "edge", "zoom": "zoom",
}
SNAPS: dict[str, str] = {
    "firefox": "firefox", "chromium": "chromium", "thunderbird": "thunderbird",
    "libreoffice": "libreoffice", "vlc": "vlc", "zoom-client": "zoom",
}
FLATPAKS: dict[str, str] = {
    "org.mozilla.firefox": "firefox", "org.mozilla.Thunderbird": "thunderbird",
    "org.mozilla.thunderbird": "thunderbird", "com.google.Chrome": "chrome",
    "org.chromium.Chromium": "chromium", "com.microsoft.Edge": "edge",
    "org.libreoffice.LibreOffice": "libreoffice", "org.videolan.VLC": "vlc",
    "us.zoom.Zoom": "zoom",
}
BUNDLES: dict[str, str] = {
    "com.google.Chrome": "chrome", "com.microsoft.edgemac": "edge",
    "org.chromium.Chromium": "chromium",
    "org.mozilla.firefox": "firefox", "org.mozilla.firefoxesr": "firefox",
    "org.mozilla.thunderbird": "thunderbird", "com.adobe.Reader": "acrobat",
    "com.adobe.Acrobat.Pro": "acrobat", "us.zoom.xos": "zoom", "com.microsoft.teams2": "teams",
    "com.microsoft.teams": "teams", "org.videolan.vlc": "vlc",
    "org.libreoffice.script": "libreoffice",
}
# Windows DisplayName patterns (first match wins); a group named v holds a version in the name
_WINDOWS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.I), pid) for p, pid in (
    (r"^Google Chrome$", "chrome"),
    (r"^Microsoft Edge$", "edge"),
    (r"^Mozilla Firefox\b", "firefox"),
    (r"^Mozilla Thunderbird\b", "thunderbird"),
    (r"^Adobe Acrobat\b(?!.*\bReader\b.*\bXI\b)", "acrobat"),
    (r"^Adobe Reader\b", "acrobat"),
    (r"^Java (?P<v>\d+) Update (?P<u>\d+)\b", "oracle-jdk"),
    (r"^Java\(TM\) SE (?:Development Kit|Runtime Environment) (?P<v>\d[\d.+]*)", "oracle-jdk"),
    (r"^Java SE Development Kit (?P<v>\d[\d.+]*)", "oracle-jdk"),
    (r"^Eclipse Temurin (?:JDK|JRE) with Hotspot (?P<v>\d[\d.+]*)", "eclipse-temurin"),
    (r"^Amazon Corretto\b", "amazon-corretto"),
    (r"^Microsoft Build of OpenJDK with Hotspot (?P<v>\d[\d.+]*)", "microsoft-build-of-openjdk"),
    (r"^Zoom( Workplace)?\b", "zoom"),
    (r"^(Microsoft Teams|Teams Machine-Wide Installer)\b", "teams"),
    (r"^7-Zip\b", "7-zip"),
    (r"^Notepad\+\+", "notepad-plus-plus"),
    (r"^VLC media player\b", "vlc"),
    (r"^LibreOffice \d", "libreoffice"),
    (r"^Microsoft (365|Office 365)\b", "m365"),
    (r"^Microsoft Office (Professional|Standard|Home|Small Business|LTSC)"
     r".*\b(2016|2019|2021|2024)\b", "office"),
))
_OFFICE_YEAR = re.compile(r"(2016|2019|2021|2024)")


@dataclass(frozen=True)
class Recognised:
    product: str
    version: versions.Parsed | None  # None: the version text is not one undone can compare
    track: str | None
    cycle: str | None  # the release cycle whose end of support applies (endoflife.date's name)
    note: str = ""  # why it is not judged, when it is not


def recognise(item: Mapping[str, Any]) -> Recognised | None:
    """The product an installed item is, or ``None`` (an application undone does not judge).
    ``Recognised.version`` is ``None`` when the item's version cannot be read in the product's
    scheme, and ``note`` says why it is not judged (distribution-maintained packages)."""
    source = str(item.get("source") or "")
    name = str(item.get("name") or "")
    raw = str(item.get("version") or "")
    pid: str | None = None
    text = raw
    if source in ("dpkg", "rpm"):
        if DISTRIBUTION_MAINTAINED.match(name):
            return Recognised("distribution", None, None, None,
                              f"{name} is maintained by the distribution, which backports "
                              "security fixes: judged with the operating system's updates")
        pid = PACKAGES.get(name)
        text = versions.debian_upstream(raw) if source == "dpkg" else versions.rpm_upstream(raw)
    elif source == "snap":
        pid = SNAPS.get(name)
        text = re.sub(r"-\d{1,4}$", "", raw)  # the snap's packaging revision: 144.0.2-1
    elif source == "flatpak":
        pid = FLATPAKS.get(str(item.get("id") or name))
    elif source == "bundle":
        pid = BUNDLES.get(str(item.get("id") or ""))
    elif source == "opt":
        low = name.lower()
        pid = "firefox" if low == "firefox" else "thunderbird" if low == "thunderbird" else None
        if pid and item.get("channel") == "esr" and not text.endswith("esr"):
            text += "esr"
    elif source == "c2r":
        pid = "m365" if item.get("m365") else "office"
    elif source in ("registry", "appx"):
        if source == "appx":
            pid = "teams" if str(item.get("id") or "").lower() == "msteams" else None
        else:
            pid, text = _windows(name, raw)
    if pid is None:
        return None
    product = PRODUCTS[pid]
    if pid in ("firefox", "thunderbird") and "esr" in name.lower() and not text.endswith("esr"):
        text += "esr"
    parsed = versions.parse(product.scheme, text, product.size)
    if parsed is None:
        return Recognised(pid, None, None, None, f"version {raw[:64]!r} is not a "
                          f"{product.title} version undone can compare")
    return Recognised(pid, parsed, track_of(pid, parsed, item), cycle_of(pid, parsed, item))


def _windows(name: str, version: str) -> tuple[str | None, str]:
    for rx, pid in _WINDOWS:
        m = rx.search(name)
        if not m:
            continue
        groups = m.groupdict()
        if pid == "oracle-jdk" and groups.get("u"):
            return pid, f"{groups['v']}u{groups['u']}"
        if groups.get("v"):
            return pid, groups["v"].rstrip(".")
        if pid == "zoom":  # "5.17.11 (34827)" or "5.17.11.34827"
            return pid, version
        return pid, version
    return None, version


def track_of(pid: str, v: versions.Parsed, item: Mapping[str, Any] | None = None) -> str:
    """The product line a version is compared within."""
    if pid in ("firefox", "thunderbird"):
        if v.esr:
            return f"esr-{v.key[0]}"
        if pid == "thunderbird" and v.key[0] <= 115:
            return f"esr-{v.key[0]}"  # every Thunderbird up to 115 was an ESR line
        return "release"
    if pid in ("chrome", "chromium", "edge"):
        return "stable"
    if pid == "acrobat":
        return versions.acrobat_track(v.key)
    if pid in ("m365", "office"):
        # Click-to-Run builds are compared within their update channel (Office 2019-2024 retail
        # take Current channel builds; volume editions their PerpetualVL channel)
        channel = str((item or {}).get("channel") or "")
        return channel or "unknown-channel"
    if pid == "libreoffice":
        return f"{v.key[0]}.{v.key[1]}"
    if PRODUCTS[pid].scheme == "java":
        return str(v.key[0])
    return "all"


def cycle_of(pid: str, v: versions.Parsed, item: Mapping[str, Any] | None = None) -> str | None:
    """The endoflife.date cycle whose end of support applies, for products with lines."""
    if pid == "firefox":
        return str(v.key[0]) if v.esr else None
    if pid == "thunderbird":
        return str(v.key[0]) if (v.esr or v.key[0] <= 115) else None
    if pid == "acrobat":
        track = versions.acrobat_track(v.key)
        return None if track == "dc" else track
    if pid == "office":
        return _office_year(item)
    if pid == "m365":
        return None  # a release's end of support is per build (catalogue: end_of_support)
    if pid == "libreoffice":
        return f"{v.key[0]}.{v.key[1]}"
    if PRODUCTS[pid].scheme == "java":
        return str(v.key[0])
    return None


def _office_year(item: Mapping[str, Any] | None) -> str:
    text = " ".join(str((item or {}).get(k) or "") for k in ("name", "product_ids"))
    m = _OFFICE_YEAR.search(text)
    year = m.group(1) if m else "unknown"
    if "ltsc" in text.lower() or "volume" in text.lower():
        return f"{year}-ltsc" if year in ("2021", "2024") else year
    return year
