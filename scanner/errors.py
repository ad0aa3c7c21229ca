"""undone's exceptions. Only the command line turns them into messages and exit codes.

::

    UndoneError                     anything undone raises on purpose
    ├── InputError                  bad input: exit 2, nothing scanned
    │   ├── InventoryError          an inventory that does not load or validate
    │   ├── BaselineError           a baseline (rules file) that does not load or validate
    │   └── UsageError              a command line that cannot be carried out
    ├── BusyError                   another scan of the same estate holds its lock: exit 5
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


# what str.splitlines() breaks a line at: a problem quoting a key or value that holds one of
# these (a YAML key may) still prints as one line, with the break shown escaped
_LINE_BREAKS = {c: repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
_ONE_LINE = str.maketrans(_LINE_BREAKS)


class InputError(UndoneError):
    """Bad input; ``problems`` holds one line per problem (line breaks inside a problem, say in
    a key it quotes, are escaped so that it stays one line)."""

    def __init__(self, problems: list[str] | str) -> None:
        lines = [problems] if isinstance(problems, str) else list(problems)
        self.problems = [str(p).translate(_ONE_LINE) for p in lines]
        super().__init__("\n".join(self.problems))


class InventoryError(InputError):
    pass


class BaselineError(InputError):
    pass


class UsageError(InputError):
    pass


class BusyError(UndoneError):
    """Another scan of the same estate is running (scanner/ops/lock.py); nothing was scanned."""


class CollectError(UndoneError):
    """A host could not be collected. ``kind`` is a short machine-readable reason."""

    kind = "error"


class UnreachableError(CollectError):
    kind = "unreachable"


class HostKeyError(CollectError):
    kind = "host-key"

    def __init__(
        self,
        message: str,
        changed: bool = False,
        fingerprint: str | None = None,
        expected: str | None = None,
        key_type: str | None = None,
        of: str | None = None,
        state: str | None = None,
    ):
        super().__init__(message)
        self.changed = changed
        # what known_hosts says of the key: changed | unknown | revoked | bad-certificate
        self.state = state or ("changed" if changed else "unknown")
        self.fingerprint = fingerprint  # what the host offered
        self.expected = expected  # what known_hosts holds (a changed key)
        self.key_type = key_type
        self.of = of  # the jump host whose key this is, when it is not the target's own

    def again(self, message: str, of: str | None = None) -> HostKeyError:
        """The same refusal with a new message (a jump host's, reported for its target)."""
        return HostKeyError(
            message, self.changed, self.fingerprint, self.expected, self.key_type, of or self.of,
            self.state,
        )


class AuthError(CollectError):
    kind = "auth"
