"""windows.os: what system this is (the Windows counterpart of posix.os).

From ``Win32_OperatingSystem``, ``Win32_ComputerSystem`` and the ``CurrentVersion`` registry
key. The build number and the edition decide the release's lifecycle (see
:meth:`scanner.lifecycle.Catalogue.windows_release`): Windows 11 reports itself as "Windows 10"
in the registry's ``ProductName``, so the caption of ``Win32_OperatingSystem`` names it, and the
build number says which release it is.

Example facts (Windows 11 Pro 23H2)::

    os.family "windows"                 os.id "windows"        (Windows Server: "windows-server")
    os.name "Microsoft Windows 11 Pro"  os.edition "Professional"   os.installation_type "Client"
    os.version "10.0.22631"             os.version_id "23H2"        (DisplayVersion, else ReleaseId)
    os.build 22631   os.ubr 4460        os.build_full "22631.4460"
    os.pretty_name "Microsoft Windows 11 Pro 23H2 (build 22631.4460)"
    os.product_type "workstation"       ("server", "domain-controller")
    os.install_date "2024-01-10T09:12:44Z"   os.boot_time "2026-11-20T06:01:13Z"
    os.uptime_days 2.1   os.hostname "PC042"   os.domain "corp.example.org"  os.domain_joined true
    os.arch "x86_64"     os.user "CORP\\svc-undone"   os.privileged true
    os.time "..."        os.clock_skew_seconds 0
    os.esu_licensed false   os.esu_products []   (licensed add-ons whose name mentions ESU)

``os.esu_licensed`` is true when a SoftwareLicensingProduct named like an extended security
update add-on has a key installed and is licensed (LicenseStatus 1). A device enrolled in the
consumer ESU programme through a Microsoft account may show no such product: the fact then says
false, and a waiver records the enrolment.
"""

from __future__ import annotations

from typing import Any

from probes import os as family
from probes.base import Facts, RawSection, guard, iso
from probes.windows._json import PRODUCT_TYPES, document, listed, number, read, when

PROVIDES = (
    *family.PROVIDES,
    "os.edition",
    "os.installation_type",
    "os.build",
    "os.ubr",
    "os.build_full",
    "os.product_type",
    "os.install_date",
    "os.domain",
    "os.domain_joined",
    "os.user",
    "os.esu_licensed",
    "os.esu_products",
)

_ARCH = {"AMD64": "x86_64", "ARM64": "aarch64", "X86": "i686", "IA64": "ia64"}
_OS = (
    "os.name",
    "os.version",
    "os.build",
    "os.product_type",
    "os.install_date",
    "os.boot_time",
    "os.uptime_days",
)


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    doc = document(raw)
    now = raw.collected_at
    facts.set("os.family", "windows")
    facts.set("os.id_like", [])
    osv, why = read(doc, "os", "Win32_OperatingSystem")
    reg, reg_why = read(doc, "current_version", "CurrentVersion registry key")
    if not isinstance(reg, dict):
        reg, reg_why = {}, reg_why or "CurrentVersion registry key: unreadable"
    if not isinstance(osv, dict):
        facts.error_all((*_OS, "os.id", "os.pretty_name"), why or "Win32_OperatingSystem: empty")
        osv = {}
    else:
        _system(osv, now, facts)
    build = number(reg.get("CurrentBuild")) or number(reg.get("CurrentBuildNumber"))
    if build is None:
        build = number(osv.get("build_number"))
    if build is not None:
        facts.set("os.build", build)
    ubr = number(reg.get("UBR"))
    names = ("os.edition", "os.installation_type", "os.version_id", "os.ubr", "os.build_full")
    if reg_why and not reg:
        facts.error_all(names, reg_why)
    else:
        facts.set("os.edition", reg.get("EditionID") or None)
        facts.set("os.installation_type", reg.get("InstallationType") or None)
        facts.set("os.version_id", reg.get("DisplayVersion") or reg.get("ReleaseId") or None)
        facts.set("os.ubr", ubr)
        facts.set(
            "os.build_full", f"{build}.{ubr}" if build is not None and ubr is not None else None
        )
    ptype = PRODUCT_TYPES.get(number(osv.get("product_type")) or 0)
    if osv:
        server = ptype in ("server", "domain-controller")
        facts.set("os.id", "windows-server" if server else "windows")
        caption = str(osv.get("caption") or reg.get("ProductName") or "Windows").strip()
        extra = " ".join(
            x
            for x in (
                facts.values.get("os.version_id") or "",
                f"(build {facts.values.get('os.build_full') or build})" if build else "",
            )
            if x
        )
        facts.set("os.pretty_name", f"{caption} {extra}".strip())
    _computer(doc, facts)
    _identity(doc, facts)
    arch = str(doc.get("processor_architecture") or "").strip().upper()
    if arch:
        facts.set("os.arch", _ARCH.get(arch, arch.lower()))
    else:
        facts.error("os.arch", "PROCESSOR_ARCHITECTURE not reported")
    target = when(doc.get("time_utc"))
    if target is not None:
        facts.set("os.time", iso(target))
        facts.set("os.clock_skew_seconds", round((target - now).total_seconds()))
    else:
        facts.error_all(("os.time", "os.clock_skew_seconds"), "the target's clock was not read")
    _esu(doc, facts)


def _system(osv: dict[str, Any], now: Any, facts: Facts) -> None:
    facts.set("os.name", str(osv.get("caption") or "").strip() or None)
    facts.set("os.version", str(osv.get("version") or "").strip() or None)
    ptype = PRODUCT_TYPES.get(number(osv.get("product_type")) or 0)
    if ptype is None:
        facts.error("os.product_type", f"unknown ProductType {osv.get('product_type')!r}")
    else:
        facts.set("os.product_type", ptype)
    installed = when(osv.get("install_date"))
    facts.set("os.install_date", iso(installed))
    boot = when(osv.get("last_boot"))
    if boot is None:
        facts.error_all(("os.boot_time", "os.uptime_days"), "LastBootUpTime not reported")
    else:
        facts.set("os.boot_time", iso(boot))
        facts.set("os.uptime_days", round(max(0.0, (now - boot).total_seconds()) / 86400.0, 2))


def _computer(doc: dict[str, Any], facts: Facts) -> None:
    cs, why = read(doc, "computer", "Win32_ComputerSystem")
    names = ("os.hostname", "os.domain", "os.domain_joined")
    if not isinstance(cs, dict):
        facts.error_all(names, why or "Win32_ComputerSystem: empty")
        return
    facts.set("os.hostname", str(cs.get("name") or "") or None)
    joined = bool(cs.get("part_of_domain"))
    facts.set("os.domain_joined", joined)
    facts.set("os.domain", (str(cs.get("domain") or "") or None) if joined else None)


def _identity(doc: dict[str, Any], facts: Facts) -> None:
    ident, why = read(doc, "identity", "the scanning account")
    if not isinstance(ident, dict):
        facts.error_all(("os.user", "os.privileged"), why or "the scanning account: unknown")
        return
    facts.set("os.user", ident.get("user") or None)
    facts.set("os.privileged", bool(ident.get("administrator")))


def _esu(doc: dict[str, Any], facts: Facts) -> None:
    items, why = read(doc, "esu", "SoftwareLicensingProduct (ESU)")
    if why is not None:
        facts.error_all(("os.esu_licensed", "os.esu_products"), why)
        return
    products = [
        {"name": str(p.get("name") or ""), "license_status": number(p.get("license_status"))}
        for p in listed(items)
        if isinstance(p, dict)
    ]
    facts.set("os.esu_products", products)
    facts.set("os.esu_licensed", any(p["license_status"] == 1 for p in products))
