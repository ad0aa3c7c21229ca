"""History: every scan recorded as it runs, host by host, and the life of each finding.

``store`` holds the SQLite store, its reads and the period model.
"""
