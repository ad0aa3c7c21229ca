"""The ``undone`` command line (``app``) and its command groups, one module each.

The installed command is ``scanner.cli:main``; ``python -m scanner`` runs the same.
"""

from scanner.cli.app import main

__all__ = ["main"]
