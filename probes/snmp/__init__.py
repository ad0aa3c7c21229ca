"""Scanner-side SNMP sections: a device's identity and firmware (``snmp.system``) and whether it
answers to a default community (``snmp.community``). The scanner queries (SNMP v2c or v3,
read-only GETs and GETBULK walks); these modules parse the varbinds it recorded.

The package's public names are the varbinds' text format (:func:`format_varbind`, which the
scanner's SNMP transport writes, and :func:`parse_varbinds`, which the sections read); what a
device is, from those varbinds, is the device family's (:mod:`probes.device.identity`)."""

from probes.snmp._varbinds import format_varbind, parse_varbinds

__all__ = ["format_varbind", "parse_varbinds"]
