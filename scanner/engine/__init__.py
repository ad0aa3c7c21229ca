"""The engine: plan -> collect, one host in, one host record out. No history, no command line.

``collect`` plans the sections each host needs and collects them in one batched round trip
(``batch`` builds the POSIX script and splits what comes back, ``winbatch`` the PowerShell
one); ``network`` is the scanner-side collector for network devices (SNMP, network OS over SSH)
and networks (nmap); ``dating`` dates pending security updates before evaluation;
``transports/`` holds one module per way of reaching a host (ssh, winrm, local, snmp, nmap).
"""
