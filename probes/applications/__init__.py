"""The ``apps.*`` facts: the applications installed on a host, in one shape on every platform.

``posix.applications`` and ``windows.applications`` fill :data:`PROVIDES`; the scanner matches
the list against its application release catalogue. The browsers' facts (``browsers.*``) are
read by the ``browsers`` sections with the shared :mod:`probes.extensions`.

A family package is not a section: :func:`probes.sections` finds sections only in the folders
it lists.
"""

from __future__ import annotations

PROVIDES = ("apps.installed", "apps.count", "apps.incomplete")
