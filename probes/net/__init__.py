"""Scanner-side network sections: nmap discovery and exposure (``net.nmap``) and the lifecycle
of a device's firmware (``net.firmware``). The scanner runs the query; these modules only parse."""
