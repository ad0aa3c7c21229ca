"""The ``undone`` command line.

``app`` (the click group, ``main``, and the ``validate``, ``rules``, ``schedule`` and
``evidence`` commands), ``boundary`` (the one place exceptions become messages and exit codes),
``scan`` and ``report`` (the two big commands), ``write`` (reports to files or standard output),
one module per other command group (``advisories``, ``applications``, ``inventory``,
``lifecycle``), ``progress`` (what a running scan shows on standard error).

The installed command is ``scanner.cli:main``; ``python -m scanner`` runs the same.
"""

from scanner.cli.app import main

__all__ = ["main"]
