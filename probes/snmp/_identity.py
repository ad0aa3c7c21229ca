"""Moved to :mod:`probes.device.identity` (the device family, shared with the netos sections and
the SNMP transport); this name is kept for older imports."""

from probes.device.identity import *  # noqa: F403
