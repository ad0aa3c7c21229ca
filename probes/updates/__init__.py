"""The ``updates.*`` and ``patch.*`` facts: what updates wait, and when updates were installed.

``posix.updates`` and ``windows.updates`` fill :data:`PROVIDES` (pending updates, how old the
oldest pending security fix is and how that is known, the update metadata's age, a pending
reboot, automatic updates); ``posix.patch_history`` and ``windows.patch_history`` fill
:data:`HISTORY` (the update runs of the past year). One rule set judges every platform on these
names; a section adds what only its platform has after them. What each fact means is told in
the sections (:mod:`probes.posix.updates`, :mod:`probes.windows.updates`,
:mod:`probes.posix.patch_history`, :mod:`probes.windows.patch_history`).

A family package is not a section: :func:`probes.sections` finds sections only in the folders
it lists.
"""

from __future__ import annotations

PROVIDES = (
    "updates.manager",
    "updates.pending_count",
    "updates.security_count",
    "updates.pending",
    "updates.security_packages",
    "updates.security_age_days",
    "updates.security_age_basis",
    "updates.security_since",
    "updates.metadata_date",
    "updates.metadata_age_days",
    "updates.reboot_required",
    "updates.reboot_packages",
    "updates.auto_tool",
    "updates.auto_configured",
    "updates.auto_timer_enabled",
    "updates.auto_timers",
)

HISTORY = (
    "patch.source",
    "patch.last_install_at",
    "patch.days_since_last",
    "patch.last_upgrade_at",
    "patch.days_since_last_upgrade",
    "patch.runs_30d",
    "patch.runs_90d",
    "patch.runs_365d",
    "patch.history_since",
    "patch.recent",
)
