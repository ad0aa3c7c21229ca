"""The ``os.*`` facts: what operating system a host runs, its name, clock and uptime.

``posix.os`` and ``windows.os`` fill :data:`PROVIDES` on every platform (the lifecycle catalogue
and the rules read these names whatever the platform); each adds what only its platform has
after them (the kernel and package manager on POSIX; the build, edition and domain on Windows).
What each fact means is told in :mod:`probes.posix.os` and :mod:`probes.windows.os`.

A family package is not a section: :func:`probes.sections` finds sections only in the folders
it lists.
"""

from __future__ import annotations

PROVIDES = (
    "os.family",
    "os.id",
    "os.id_like",
    "os.version_id",
    "os.version",
    "os.name",
    "os.pretty_name",
    "os.arch",
    "os.hostname",
    "os.uptime_days",
    "os.boot_time",
    "os.privileged",
    "os.time",
    "os.clock_skew_seconds",
)
