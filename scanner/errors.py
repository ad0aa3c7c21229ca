"""undone's exceptions. Only the command line turns them into messages and exit codes.

::

    UndoneError                     anything undone raises on purpose
    ├── InputError                  bad input: exit 2, nothing scanned
    │   ├── InventoryError          an inventory that does not load or validate
    │   ├── BaselineError           a baseline (rules file) that does not load or validate
    │   └── UsageError              a command line that cannot be carried out
    └── CollectError                a host could not be collected (recorded, the scan goes on)
        ├── UnreachableError        no connection: refused, timed out, no route, DNS
        ├── HostKeyError            the host key is unknown or has changed
        └── AuthError               the host refused every credential offered

An :class:`InputError` carries one line per problem, each naming the file, the key path and
what was expected: ``inventory.yaml: all.children.servers.hosts.files01: unknown key 'prot'
(did you mean 'port'?)``.
"""

from __future__ import annotations


class UndoneError(Exception):
    """Base of every error undone raises on purpose."""


class InputError(UndoneError):
    """Bad input; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class InventoryError(InputError):
    pass


class BaselineError(InputError):
    pass


class UsageError(InputError):
    pass


class CollectError(UndoneError):
    """A host could not be collected. ``kind`` is a short machine-readable reason."""

    kind = "error"


class UnreachableError(CollectError):
    kind = "unreachable"


class HostKeyError(CollectError):
    kind = "host-key"

    def __init__(self, message: str, changed: bool = False, fingerprint: str | None = None):
        super().__init__(message)
        self.changed = changed
        self.fingerprint = fingerprint


class AuthError(CollectError):
    kind = "auth"
