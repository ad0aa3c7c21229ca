"""History: every scan recorded as it runs, host by host, and the life of each finding.

``store`` (the SQLite store: open, migrate, record), ``read`` (a recorded scan's document,
rebuilt), ``codes`` (what each stored integer and blob means, and the named migrations),
``times`` (stored times, due dates), ``events`` (maintenance events read from facts), ``period``
(the contract-period document).
"""
