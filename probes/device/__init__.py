"""The ``device.*`` and ``firmware.*`` facts: what a network device is and which firmware it runs.

The SNMP section (``snmp.system``), the network operating systems' sections (``probes/netos/``)
and the firmware lookup (``net.firmware``) fill these names, so one rule set judges a device
however it was read. A section adds what only it knows after them.

- :mod:`probes.device.identity`: what a device is from what SNMP shows (sysDescr, sysObjectID,
  vendor OIDs) and Cisco's ``show version`` line, shared by ``snmp.system``, ``netos.ios`` and
  the SNMP transport (which asks for the vendor OIDs it names).

A family package is not a section: :func:`probes.sections` finds sections only in the folders
it lists.
"""

from __future__ import annotations

DEVICE = ("device.vendor", "device.os", "device.model", "device.serial")
FIRMWARE = ("firmware.product", "firmware.version")
#: a firmware's release train (FortiOS "GA"/"Mature"; pfSense "RELEASE"), where a device says
RELEASE_TYPE = "firmware.release_type"
