"""Windows probe sections: PowerShell scripts run over WinRM, each paired with its parser.

Each ``<topic>.ps1`` runs inside the batch of :mod:`scanner.engine.winbatch` in a runspace of its
own, after ``_prelude.ps1``, and returns one object that the batch writes as JSON between the
section's markers; ``<topic>.py`` turns that JSON into facts (see :mod:`probes.windows._json`).
"""

from probes.windows._office import channel as office_channel

#: what the scanner side may use: Microsoft 365 Apps' update channel from its CDN base URL
#: (scanner/lifecycle/applications/products.py dates Office by it)
__all__ = ["office_channel"]
