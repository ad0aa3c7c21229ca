"""Who can administer a system, and whose they are: the client's, the provider's, or nobody's.

"The client keeps the keys": the client of an IT support provider should always hold a working
administrator account of its own on every system, so that it can check the work, change
provider, or act in an emergency. This package holds the pure pieces every platform shares:

- :mod:`probes.access.identity`: the grammar of the identities the inventory declares
  (``estate.client_admins`` / ``provider_admins``, overridable per group or host);
- :mod:`probes.access.derive`: from a platform's list of administrative accounts (with enabled,
  locked, expired, credential and last login) and the declared identities, the ``access.*``
  facts the rules judge;
- :mod:`probes.access.windows` and :mod:`probes.access.netos`: parsers of recorded outputs
  (Windows local Administrators; RouterOS, FortiOS and Cisco IOS admin users) that produce the
  same facts, for the Windows and network-device sections to call.

The POSIX section (``probes/posix/accounts``) calls :func:`probes.access.derive.derive` too.
Nothing here touches a network or a file; nothing imports ``scanner``.
"""
