"""History: every scan recorded as it runs, host by host, and the life of each finding.

``store`` (the SQLite store: open, migrate, record, rebuild a scan's document), ``codes`` (what
each stored integer means, and the named migrations), ``times`` (stored times, due dates),
``events`` (maintenance events read from facts), ``period`` (the contract-period document).
"""
