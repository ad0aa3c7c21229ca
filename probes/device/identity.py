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
    note: str | None = None  # why product or version is None


_CISCO_RE = re.compile(
    r"Cisco IOS Software(?:, IOS-XE Software)?(?: \[[^\]\n]*\])?, (?P<platform>[^\n]+?) "
    r"Software(?: \((?P<image>[^)\n]+)\))?, (?:Experimental )?Version (?P<version>[^\s,]+)"
)
_CISCO_OLD_RE = re.compile(
    r"IOS \(tm\) (?P<platform>[^\n]+?) Software \((?P<image>[^)\n]+)\), (?:Experimental )?"
    r"Version (?P<version>[^\s,]+)"
)
# "Cisco IOS XE Software, Version 16.09.03" (show version, 16.x and later; special builds
# print a build name there instead: "Version V169_5_SR689355441_2")
_CISCO_XE_LINE_RE = re.compile(r"Cisco IOS XE Software, Version (?P<version>\S+)")
# "IOS XE Version: 03.09.01.S" (show version of IOS XE 3.x routers, whose first line gives the
# IOS-compatible version, 15.3(2)S1)
_CISCO_XE_V3_RE = re.compile(r"^IOS XE Version: (?P<version>\S+)", re.MULTILINE)
# what tells IOS XE from classic IOS when the text does not say "IOS-XE": the IOSd image of
# the Linux-based platforms (X86_64_LINUX_IOSD-..., PPC_LINUX_IOSD-...), a *_IOSXE image, the
# release code name in brackets 16.x and later print ("Cisco IOS Software [Fuji]"), or a version
# classic IOS never had (16.x, 17.x; 03.xx.yy trains)
_XE_MARK_RE = re.compile(r"IOS[- ]?XE|_IOSD\b|LINUX_IOSD|_IOSXE\b", re.IGNORECASE)
_XE_CODENAME_RE = re.compile(r"Cisco IOS Software \[[^\]\n]*\]")
_XE_VERSION_RE = re.compile(r"^(?:1[6-9]|[2-9]\d)\.\d+|^0?3\.\d{1,2}\.\d{1,2}")
_FG_VERSION_RE = re.compile(r"^v?(?P<version>\d+\.\d+\.\d+)(?:,build(?P<build>\d+))?")
_APC_RE = re.compile(r"^APC Web/SNMP Management Card \((?P<fields>[^)]*)\)")
_APC_FIELD_RE = re.compile(r"\b(MB|PF|PN|AF1|AN1|MN|HR|SN|MD):\s*(\S*)")
_LINUX_RE = re.compile(r"^Linux (?P<name>\S+) (?P<kernel>\S+)")
# RouterOS: sysDescr "RouterOS RB493AH" (5.x to 7.21), "RouterOS RBLHG-5nD 7.22.1 (stable)"
# (7.22 and later), "router" (4.x and older); entPhysicalDescr of the chassis "RouterOS 6.45.3
# (stable) on RB711-5Hn-MMCX"
_ROS_DESCR_RE = re.compile(
    r"^RouterOS\s+(?P<board>\S+)(?:\s+(?P<version>\d+\.\d+(?:\.\d+)*(?:(?:beta|rc)\d+)?)"
    r"(?:\s+\((?P<channel>[^)\s]+)\))?)?\s*$"
)
_ROS_ENTITY_RE = re.compile(
    r"^RouterOS\s+v?(?P<version>\d+\.\d+(?:\.\d+)*(?:(?:beta|rc)\d+)?)"
    r"(?:\s+\((?P<channel>[^)\s]+)\))?\s+on\s+(?P<board>\S+)\s*$"
)
MIKROTIK_SWOS = MIKROTIK + ".2"  # SwOS switches (RB250GS, RB260GS, CSS...): not RouterOS


def cisco_version(text: str) -> tuple[str, str | None, str | None] | None:
    """From a sysDescr or ``show version`` text: (product, version, platform) of Cisco IOS or
    IOS XE, or None. IOS XE is told by its markers (see ``_XE_MARK_RE``), its bracketed release
    name or its version numbering; its version is taken from the ``Cisco IOS XE Software,
    Version 16.09.03`` line or, for 3.x, the ``IOS XE Version: 03.09.01.S`` line where present;
    a special build's name there (``V169_5_SR...``) is not a version, the first line's is. An
    IOS XE 3.x sysDescr gives only the IOS-compatible version (``15.5(3)S1a``): the version is
    then None (:func:`cisco_version_note` says why)."""
    m = _CISCO_RE.search(text) or _CISCO_OLD_RE.search(text)
    if m is None:
        return None
    version: str | None = m.group("version")
    v3 = _CISCO_XE_V3_RE.search(text)
    xe = bool(_XE_MARK_RE.search(text) or _XE_CODENAME_RE.search(text)
              or _XE_VERSION_RE.match(version or "") or v3)
    if xe:
        line = _CISCO_XE_LINE_RE.search(text)
        if v3:
            version = v3.group("version")
        elif line and line.group("version")[:1].isdigit():
            version = line.group("version")
        elif version and not _XE_VERSION_RE.match(version):
            version = None  # e.g. 15.5(3)S1a: IOS's number for an IOS XE 3.x release
    return ("cisco-ios-xe" if xe else "cisco-ios"), version, m.group("platform").strip()


def cisco_version_note(text: str) -> str | None:
    """Why :func:`cisco_version` gave no version for an IOS XE text."""
    m = _CISCO_RE.search(text) or _CISCO_OLD_RE.search(text)
    if m is None:
        return None
    return (f"IOS XE reports only its IOS-compatible version {m.group('version')} here, not its "
            "IOS XE release (3.x); `show version` prints it ('IOS XE Version: ...')")


def _routeros(descr: str, objid: str, values: dict[str, str],
              entities: list[dict[str, str]] | None) -> Identity:
    lic = (values.get(MTXR_LIC_VERSION) or "").strip()
    board: str | None = None
    version: str | None = lic.split()[0] if lic else None
    source = "MIKROTIK-MIB mtxrLicVersion" if lic else None
    m = _ROS_DESCR_RE.match(descr.strip())
    if m:
        board = m.group("board")
        if version is None and m.group("version"):
            version, source = m.group("version"), "sysDescr"
    for row in entities or []:
        e = _ROS_ENTITY_RE.match(str(row.get("descr") or "").strip())
        if e:
            board = board or e.group("board")
            if version is None:
                version, source = e.group("version"), "ENTITY-MIB entPhysicalDescr"
            break
    return Identity("MikroTik", "RouterOS", "routeros", version, model=board,
                    serial=values.get(MTXR_SERIAL) or None, source=source)


def identify(
    values: dict[str, str], entities: list[dict[str, str]] | None = None
) -> Identity | None:
    """Recognise a device from its SNMP values (``{oid: text}``: sysDescr, sysObjectID and the
    vendor OIDs of :data:`VENDOR_OIDS`) and its ENTITY-MIB rows; None when nothing here knows
    it."""
    descr = values.get(SYS_DESCR, "") or ""
    objid = (values.get(SYS_OBJECT_ID) or "").lstrip(".")
    cisco = cisco_version(descr)
    if cisco is not None:
        product, version, platform = cisco
        os_name = "Cisco IOS XE" if product == "cisco-ios-xe" else "Cisco IOS"
        return Identity("Cisco", os_name, product, version, model=platform,
                        source="sysDescr" if version else None,
                        note=None if version else cisco_version_note(descr))
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
    if objid == MIKROTIK_SWOS or objid.startswith(MIKROTIK_SWOS + "."):
        return Identity("MikroTik", "SwOS", None, None, model=descr.strip() or None,
                        note="a MikroTik SwOS switch: SNMP gives no SwOS version and the "
                             "lifecycle catalogue has no SwOS releases")
    if objid == MIKROTIK or objid.startswith(MIKROTIK + ".") or descr.startswith("RouterOS"):
        return _routeros(descr, objid, values, entities)
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
        return Identity("net-snmp", "Linux", None, None, source=None,
                        note="SNMP does not tell which product release it runs (sysDescr gives "
                             "only the kernel); scan it over SSH to judge its lifecycle")
    return None
