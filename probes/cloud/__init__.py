"""Cloud tenants: who administers a Microsoft 365 / Entra ID tenant or a Google Workspace
customer, and whether every administrator and user signs in with MFA.

The scanner reads a tenant over HTTPS (``scanner/engine/cloud/``: GET requests only) and writes
what it got as one JSON *bundle* per tenant: for every API call, the request, when it was made,
its HTTP status and, when it failed, the error code and what it means (a missing permission, a
missing licence); and the data the successful calls returned. The parsers here turn a bundle
into facts, like every other section's parser turns a script's output into facts:

- :mod:`probes.cloud.entra` (section ``cloud.entra``, platform ``m365``);
- :mod:`probes.cloud.google` (section ``cloud.google``, platform ``google-workspace``);
- :mod:`probes.cloud._common`: the identities an inventory declares for a tenant, three-valued
  helpers, and the ``access.*`` / ``tenant.*`` facts both platforms share.

Both parsers produce the same fact names, so the rules of ``baselines/cloud.yaml`` read alike on
both platforms and a report can show every tenant with one function. Nothing here touches a
network or a file; nothing imports ``scanner``. A fact that a failed call (a missing permission
or licence) hides is an error naming the permission or licence, never a guess.
"""

from probes.cloud._common import FORMS, SCHEMA, parse_identity

#: what the scanner side may use: the bundle's schema name (written by scanner/engine/cloud/) and
#: the identity forms an inventory's tenant section is checked against
__all__ = ["FORMS", "SCHEMA", "parse_identity"]
