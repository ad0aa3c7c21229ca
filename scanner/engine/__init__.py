"""The engine: plan -> collect, one host in, one host record out. No history, no command line.

``options`` (one scan's limits), ``records`` (the host record, a section record and the
scanner-side ``scanner.connection`` section, each built in one place), ``collect`` (plan the
sections each host needs; collect them in one batched round trip), ``pool`` (the cost guard:
per-site caps, the run's budget, the connection rate), ``batch`` / ``winbatch`` (the POSIX and
PowerShell batch and the splitter), ``network`` (the scanner-side collector for network devices
over SNMP or their CLI, and networks with nmap), ``dating`` (dating pending security updates
before evaluation), ``cloud/`` (Microsoft 365 and Google Workspace tenants, read over their
APIs), ``transports/`` (one module per way of reaching a host: ssh, winrm, local, snmp, nmap).
"""
