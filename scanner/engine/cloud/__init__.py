"""Cloud tenants: read a Microsoft 365 / Entra ID tenant or a Google Workspace customer, read-only,
into a record shaped like a host's, so that the rules of ``baselines/cloud.yaml`` judge it like
any machine and the reports show it beside them.

::

    config.py    TenantConfig, and parse_tenants(): the inventory's ``tenants:`` section
    http.py      ReadOnlySession (GET only, only to the API's own origin), paging, throttling
                 (429 + Retry-After, bounded), errors mapped to a missing permission or licence
    auth.py      tokens: MSAL (Entra: certificate client credentials, or device code for a
                 one-off scan) and google-auth (a service account with domain-wide delegation,
                 read-only scopes, the JWT bearer grant to its key file's token_uri)
    entra.py     what is read from Microsoft Graph, in order, into a bundle
    google.py    what is read from the Admin SDK Directory and Cloud Identity Policy APIs
    collect.py   collect_tenant(tenant, opts) -> a host-shaped record (the one entry point)

The bundle format and the parsers that turn it into facts are in ``probes/cloud/``. The only
requests that leave undone for a tenant are GETs to the tenant's APIs, and the token requests
(POST) to the identity endpoints (login.microsoftonline.com, Google's OAuth token endpoint),
which carry no tenant data. Credentials are only ever named (certificate and key files, a
service account key file, an environment variable for a key's passphrase); no token, key or
secret is written into a record, a message or a log.

The packages it needs (msal, google-auth, requests) are the optional extra ``cloud``:
``pip install 'undone[cloud]'``. Without them a tenant's record says so, and nothing else
breaks.
"""

from __future__ import annotations

EXTRA_HINT = "pip install 'undone[cloud]'"


def missing_extra(exc: ImportError) -> str:
    """The one-line message for a missing optional dependency."""
    name = getattr(exc, "name", None) or str(exc)
    return (f"cloud tenants need the optional dependencies msal, google-auth and requests "
            f"({name} is not installed): {EXTRA_HINT}")
