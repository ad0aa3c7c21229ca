"""Scanner-side SNMP sections: a device's identity and firmware (``snmp.system``) and whether it
answers to a default community (``snmp.community``). The scanner queries (SNMP v2c or v3,
read-only GETs and GETBULK walks); these modules parse the varbinds it recorded."""
