"""snmp.system: a network device's identity and firmware over SNMP (v2c or v3, read-only).

The scanner asks (see ``QUERY``) and records the varbinds in net-snmp's ``-On`` text format, in
three blocks: ``system`` (GET of sysDescr, sysObjectID, sysUpTime, sysName, sysLocation),
``entity`` (a GETBULK walk of ENTITY-MIB entPhysicalTable's descriptive columns) and ``vendor``
(GETs of the vendor OIDs that carry the firmware version where sysDescr does not: FortiGate
``fgSysVersion``, MikroTik ``mtxrLicVersion``). A block whose query failed has a non-zero
``@@rc`` and the reason as its text.

Facts: ``snmp.sysdescr``, ``snmp.sysobjectid``, ``snmp.sysuptime_seconds``, ``snmp.sysname``,
``snmp.syslocation``; ``snmp.entities`` (``[{index, class, descr, name, model, serial,
hardware_rev, firmware_rev, software_rev, mfg}]``, empty when the agent has no ENTITY-MIB);
``device.vendor``, ``device.os``, ``device.model``, ``device.serial``; ``firmware.product`` (a
lifecycle catalogue slug), ``firmware.version`` and ``firmware.version_source``;
``firmware.software_revisions`` and ``firmware.hardware_revisions`` (the distinct ENTITY-MIB
revisions). A sysDescr nothing recognises gives errors for the device and firmware facts that
quote it: an unknown device is never judged as a good one.
"""

from __future__ import annotations

from typing import Any

from probes import device
from probes.base import Facts, RawSection, guard, split_blocks
from probes.device import identity as ident
from probes.snmp._varbinds import parse_varbinds

QUERY = (
    "SNMP (v2c or v3, read-only): GET sysDescr.0 sysObjectID.0 sysUpTime.0 sysName.0 "
    "sysLocation.0 (1.3.6.1.2.1.1.{1,2,3,5,6}.0); GETBULK walk of ENTITY-MIB entPhysicalTable "
    "columns 2,5,7,8,9,10,11,12,13 (1.3.6.1.2.1.47.1.1.1.1); GET of the vendor's firmware OIDs "
    "(FORTINET-FORTIGATE-MIB fgSysVersion, MIKROTIK-MIB mtxrLicVersion) by sysObjectID"
)

SYSTEM = (
    "snmp.sysdescr",
    "snmp.sysobjectid",
    "snmp.sysuptime_seconds",
    "snmp.sysname",
    "snmp.syslocation",
)
ENTITY = ("snmp.entities", "firmware.software_revisions", "firmware.hardware_revisions")
DEVICE = device.DEVICE
FIRMWARE = (*device.FIRMWARE, "firmware.version_source")
PROVIDES = SYSTEM + ENTITY + DEVICE + FIRMWARE


def _text(vb: Any) -> str | None:
    return None if vb is None or vb.missing else str(vb.value)


def entities(text: str) -> list[dict[str, Any]]:
    """ENTITY-MIB entPhysicalTable rows from a walk's varbinds, by index (ascending)."""
    rows: dict[int, dict[str, Any]] = {}
    prefix = ident.ENTITY_TABLE + "."
    for oid, vb in parse_varbinds(text).items():
        if not oid.startswith(prefix) or vb.missing:
            continue
        parts = oid[len(prefix) :].split(".")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            continue
        column, index = int(parts[0]), int(parts[1])
        name = ident.ENTITY_COLUMNS.get(column)
        if name is None:
            continue
        row = rows.setdefault(index, {"index": index})
        value = str(vb.value)
        if name == "class":
            value = ident.ENTITY_CLASSES.get(value, value)
        row[name] = value
    return [rows[i] for i in sorted(rows)]


def _body(raw: RawSection, f: Facts) -> None:
    blocks = split_blocks(raw.stdout)
    system = blocks.get("system")
    if system is None or not system.ok:
        why = "no answer to the SNMP query"
        if system is not None and system.text.strip():
            why = system.text.strip().splitlines()[0][:300]
        f.error_all(PROVIDES, why)
        return
    vbs = parse_varbinds(system.text)
    descr = _text(vbs.get(ident.SYS_DESCR))
    objid = _text(vbs.get(ident.SYS_OBJECT_ID))
    if descr is None:
        f.error_all(PROVIDES, "the agent answered but gave no sysDescr")
        return
    f.set("snmp.sysdescr", descr)
    f.set("snmp.sysobjectid", objid)
    ticks = _text(vbs.get(ident.SYS_UPTIME))
    if ticks is not None and ticks.isdigit():
        f.set("snmp.sysuptime_seconds", int(ticks) / 100)
    else:
        f.error("snmp.sysuptime_seconds", "sysUpTime not given")
    f.set("snmp.sysname", _text(vbs.get(ident.SYS_NAME)))
    f.set("snmp.syslocation", _text(vbs.get(ident.SYS_LOCATION)))

    entity = blocks.get("entity")
    rows: list[dict[str, Any]] = []
    if entity is not None and entity.ok:
        rows = entities(entity.text)
        f.set("snmp.entities", rows)
        f.set("firmware.software_revisions",
              sorted({r["software_rev"] for r in rows if r.get("software_rev")}))
        f.set("firmware.hardware_revisions",
              sorted({r["hardware_rev"] for r in rows if r.get("hardware_rev")}))
    else:
        why = "ENTITY-MIB walk failed"
        if entity is not None and entity.text.strip():
            why += ": " + entity.text.strip().splitlines()[0][:200]
        f.error_all(ENTITY, why)

    values: dict[str, str] = {ident.SYS_DESCR: descr, ident.SYS_OBJECT_ID: objid or ""}
    vendor = blocks.get("vendor")
    if vendor is not None and vendor.ok:
        for oid, vb in parse_varbinds(vendor.text).items():
            if not vb.missing:
                values[oid] = str(vb.value)
    found = ident.identify(values, rows)
    chassis = next((r for r in rows if r.get("class") == "chassis"), rows[0] if rows else {})
    # the chassis's part number (entPhysicalModelName, "WS-C2960+24TC-L") names the hardware
    # better than sysDescr's platform ("C2960"): it is what vendors' end-of-life notices list
    part = str(chassis.get("model") or "").strip() or None
    if found is None:
        first = descr.strip().splitlines()[0][:160] if descr.strip() else "(empty)"
        why = f"unknown device: sysDescr {first!r} (sysObjectID {objid}) is not one undone knows"
        f.error_all(("device.vendor", "device.os", *FIRMWARE), why)
        f.set("device.model", chassis.get("model") or None)
        f.set("device.serial", chassis.get("serial") or None)
        return
    f.set("device.vendor", found.vendor)
    f.set("device.os", found.os)
    f.set("device.model", part or found.model or None)
    serial = found.serial or str(chassis.get("serial") or "").strip() or None
    f.set("device.serial", serial)
    if found.product is None:
        f.error_all(FIRMWARE, f"{found.os} device: {found.note or 'no product release known'}")
        return
    f.set("firmware.product", found.product)
    if found.version is None:
        why = f"{found.vendor} {found.os}: the firmware version was not readable over SNMP"
        if found.note:
            why += f" ({found.note})"
        if vendor is not None and not vendor.ok and vendor.text.strip():
            why += ": " + vendor.text.strip().splitlines()[0][:200]
        f.error_all(("firmware.version", "firmware.version_source"), why)
        return
    f.set("firmware.version", found.version)
    f.set("firmware.version_source", found.source)


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _body)
