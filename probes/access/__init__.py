"""Who can administer a system, and whose they are: the client's, the provider's, or nobody's.

"The client keeps the keys": the client of an IT support provider should always hold a working
administrator account of its own on every system, so that it can check the work, change
provider, or act in an emergency. This package holds the pure pieces every platform shares:

- :mod:`probes.access.identity`: the grammar of the identities the inventory declares
  (``estate.client_admins`` / ``provider_admins``, overridable per group or host);
- :mod:`probes.access.derive`: from a platform's list of administrative accounts (with enabled,
  locked, expired, credential and last login) and the declared identities, the ``access.*``
  facts the rules judge;
- :mod:`probes.access.posix`, :mod:`probes.access.windows` and :mod:`probes.access.netos`: who
  administers each kind of system, from what its section read (POSIX uid 0, the sudo, wheel and
  admin groups and sudoers; Windows local Administrators; RouterOS, FortiOS and Cisco IOS admin
  users), producing the same facts, for the POSIX, Windows and network-device sections to call.
Nothing here touches a network or a file; nothing imports ``scanner``.

A family package is not a section: :func:`probes.sections` finds sections only in the folders
it lists.
"""

#: the ``accounts.*`` facts every platform's accounts section gives (``posix.accounts``,
#: ``windows.accounts``); each adds its own after them, and the ``access.*`` facts of
#: :mod:`probes.access.derive`
ACCOUNTS = (
    "accounts.users",
    "accounts.login_users",
    "accounts.admin_groups",
    "accounts.admins",
    "accounts.admins_complete",
    "accounts.last_login",
)
