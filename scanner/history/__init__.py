"""History: every scan recorded as it runs, host by host, and the life of each finding.

``store`` (``History``: a scan's begin, record and finish, and the reads), ``opening`` (opening a
file: read-only or migrated, its tables and stored codes checked), ``write`` (the write path:
one host in one transaction, returning the dating of its failing results), ``read`` (a recorded
scan's document, rebuilt), ``codes`` (what each stored integer and blob means, and the named
migrations), ``times`` (stored times, due dates, a finding's dating), ``events`` (maintenance
events read from facts), ``period`` (the contract-period document).
"""
