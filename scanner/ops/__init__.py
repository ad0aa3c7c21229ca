"""Operations around one or many scans: folder mode (``estates``), notifications (``notify``),
evidence bundles (``evidence``), schedules (``schedule``), the per-estate lock (``lock``),
which environment variables an estate may use (``envpolicy``) and where each report goes
(``outputs``). May use the engine, rules and history; never the command line.
"""
