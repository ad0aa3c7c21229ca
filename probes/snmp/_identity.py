"""What a device is and which firmware it runs, from what SNMP shows: sysDescr, sysObjectID and a
few vendor OIDs. Pure functions, no I/O.

Recognised (each pattern from a recorded output, see tests/fixtures/snmp/SOURCE.md and
tests/fixtures/netos/SOURCE.md):

* Cisco IOS (``Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE4,
  ...``) and IOS XE (``... (CAT9K_IOSXE), Version 16.9.3, ...``, ``IOS-XE Software``): the same
  first line ``show version`` prints;
* Fortinet FortiGate (enterprise 12356): the version from FORTINET-FORTIGATE-MIB
  ``fgSysVersion`` (``v7.2.5,build1517,230606 (GA.F)``), the serial from ``fnSysSerial``;
* MikroTik RouterOS (enterprise 14988, ``RouterOS <board>``): the version from MIKROTIK-MIB
  ``mtxrLicVersion``, the serial from ``mtxrSerialNumber``;
* APC network management cards (``APC Web/SNMP Management Card (MB:... PF:v6.8.2 ... MN:AP9630
  ... SN: ...)``): model, serial and firmware, a product the lifecycle catalogue does not hold;
* net-snmp on Linux (``Linux <name> <kernel> ...``): the kernel only, which says nothing of the
  distribution's lifecycle.

Anything else is unknown: the caller reports it as such (an error with the sysDescr), never as a
device that passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYSTEM_OIDS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, SYS_LOCATION)

#: ENTITY-MIB entPhysicalTable columns walked (1.3.6.1.2.1.47.1.1.1.1.<column>.<index>)
ENTITY_TABLE = "1.3.6.1.2.1.47.1.1.1.1"
ENTITY_COLUMNS = {
    2: "descr",
    5: "class",
    7: "name",
    8: "hardware_rev",
    9: "firmware_rev",
    10: "software_rev",
    11: "serial",
    12: "mfg",
    13: "model",
}
ENTITY_CLASSES = {
    "1": "other",
    "2": "unknown",
    "3": "chassis",
    "4": "backplane",
    "5": "container",
    "6": "powerSupply",
    "7": "fan",
    "8": "sensor",
    "9": "module",
    "10": "port",
    "11": "stack",
    "12": "cpu",
}

FORTINET = "1.3.6.1.4.1.12356"
FG_SYS_VERSION = "1.3.6.1.4.1.12356.101.4.1.1.0"  # FORTINET-FORTIGATE-MIB fgSysVersion
FN_SYS_SERIAL = "1.3.6.1.4.1.12356.100.1.1.1.0"  # FORTINET-CORE-MIB fnSysSerial
MIKROTIK = "1.3.6.1.4.1.14988"
MTXR_LIC_VERSION = "1.3.6.1.4.1.14988.1.1.4.4.0"  # MIKROTIK-MIB mtxrLicVersion (RouterOS)
MTXR_SERIAL = "1.3.6.1.4.1.14988.1.1.7.3.0"  # MIKROTIK-MIB mtxrSerialNumber
MTXR_FIRMWARE = "1.3.6.1.4.1.14988.1.1.7.4.0"  # MIKROTIK-MIB mtxrFirmwareVersion (RouterBOOT)

#: vendor OIDs worth a GET, by the enterprise prefix of sysObjectID
VENDOR_OIDS: dict[str, tuple[str, ...]] = {
    FORTINET: (FG_SYS_VERSION, FN_SYS_SERIAL),
    MIKROTIK: (MTXR_LIC_VERSION, MTXR_SERIAL, MTXR_FIRMWARE),
}


def vendor_oids(sysobjectid: str | None) -> tuple[str, ...]:
    """The vendor OIDs to ask a device for, given its sysObjectID (dotted)."""
    oid = (sysobjectid or "").lstrip(".")
    for prefix, oids in VENDOR_OIDS.items():
        if oid == prefix or oid.startswith(prefix + "."):
            return oids
    return ()


@dataclass(frozen=True)
class Identity:
    """A device as recognised: ``product`` is a lifecycle catalogue slug (``cisco-ios``,
    ``cisco-ios-xe``, ``fortios``, ``routeros``, ...) and ``version`` its firmware version, or
    None where they cannot be told; ``source`` says where the version was read."""

    vendor: str
    os: str
    product: str | None
    version: str | None
    model: str | None = None
    serial: str | None = None
    source: str | None = None


_CISCO_RE = re.compile(
    r"Cisco IOS Software(?:, IOS-XE Software)?(?: \[[^\]]*\])?, (?P<platform>.+?) Software "
    r"\((?P<image>[^)]+)\), (?:Experimental )?Version (?P<version>[^\s,]+)"
)
_CISCO_OLD_RE = re.compile(
    r"IOS \(tm\) (?P<platform>.+?) Software \((?P<image>[^)]+)\), (?:Experimental )?"
    r"Version (?P<version>[^\s,]+)"
)
_CISCO_XE_LINE_RE = re.compile(r"Cisco IOS XE Software, Version (?P<version>\S+)")
_FG_VERSION_RE = re.compile(r"^v?(?P<version>\d+\.\d+\.\d+)(?:,build(?P<build>\d+))?")
_APC_RE = re.compile(r"^APC Web/SNMP Management Card \((?P<fields>[^)]*)\)")
_APC_FIELD_RE = re.compile(r"\b(MB|PF|PN|AF1|AN1|MN|HR|SN|MD):\s*(\S*)")
_LINUX_RE = re.compile(r"^Linux (?P<name>\S+) (?P<kernel>\S+)")


def cisco_version(text: str) -> tuple[str, str, str | None] | None:
    """From a sysDescr or ``show version`` text: (product, version, platform) of Cisco IOS or
    IOS XE, or None. IOS XE is told by its ``IOS-XE``/``IOS XE``/``IOSXE`` markers; its
    ``Cisco IOS XE Software, Version 16.09.03`` line is preferred where present."""
    m = _CISCO_RE.search(text) or _CISCO_OLD_RE.search(text)
    if m is None:
        return None
    xe = bool(re.search(r"IOS[- ]?XE", text, re.IGNORECASE))
    version = m.group("version")
    if xe:
        line = _CISCO_XE_LINE_RE.search(text)
        if line:
            version = line.group("version")
    return ("cisco-ios-xe" if xe else "cisco-ios"), version, m.group("platform").strip()


def identify(values: dict[str, str]) -> Identity | None:
    """Recognise a device from its SNMP values (``{oid: text}``: sysDescr, sysObjectID and the
    vendor OIDs of :data:`VENDOR_OIDS`); None when nothing here knows it."""
    descr = values.get(SYS_DESCR, "") or ""
    objid = (values.get(SYS_OBJECT_ID) or "").lstrip(".")
    cisco = cisco_version(descr)
    if cisco is not None:
        product, version, platform = cisco
        os_name = "Cisco IOS XE" if product == "cisco-ios-xe" else "Cisco IOS"
        return Identity("Cisco", os_name, product, version, model=platform, source="sysDescr")
    if objid == FORTINET or objid.startswith(FORTINET + "."):
        raw = values.get(FG_SYS_VERSION) or ""
        m = _FG_VERSION_RE.match(raw.strip())
        model = descr.split()[0] if descr.strip() else None
        return Identity(
            "Fortinet",
            "FortiOS",
            "fortios",
            m.group("version") if m else None,
            model=model,
            serial=values.get(FN_SYS_SERIAL) or None,
            source="FORTINET-FORTIGATE-MIB fgSysVersion" if m else None,
        )
    if objid == MIKROTIK or objid.startswith(MIKROTIK + ".") or descr.startswith("RouterOS"):
        lic = (values.get(MTXR_LIC_VERSION) or "").strip()
        board = descr[len("RouterOS") :].strip() if descr.startswith("RouterOS") else ""
        return Identity(
            "MikroTik",
            "RouterOS",
            "routeros",
            lic.split()[0] if lic else None,
            model=board or None,
            serial=values.get(MTXR_SERIAL) or None,
            source="MIKROTIK-MIB mtxrLicVersion" if lic else None,
        )
    m = _APC_RE.match(descr)
    if m:
        fields = dict(_APC_FIELD_RE.findall(m.group("fields")))
        pf = fields.get("PF", "").lstrip("v")
        return Identity(
            "APC",
            "APC AOS (network management card)",
            "apc-nmc-aos",
            pf or None,
            model=fields.get("MN") or None,
            serial=fields.get("SN") or None,
            source="sysDescr PF:" if pf else None,
        )
    m = _LINUX_RE.match(descr)
    if m:
        return Identity("net-snmp", "Linux", None, None, source=None)
    return None
