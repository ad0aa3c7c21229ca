"""undone's vocabularies, one home each (DESIGN.md §3): statuses, controls, severities, owners,
platforms, transports, the reasons a rule does not apply, the kinds of host error, and the exit
codes.

Each is a tuple (the order is the order people read them in) and a ``Literal`` type of the same
words for the typed records (scanner/result.py); tests/unit/scanner/test_result_types.py checks
that each tuple, its type and the JSON Schema's enum (scanner/schema/scan.schema.json) say the same.

These words are the contract. The history does not store them by their position here: it has its
own explicit, versioned codes (scanner/history/), so reordering a tuple changes no stored row.
This module imports nothing; everything in scanner may import it.
"""

from __future__ import annotations

from typing import Final, Literal

Status = Literal["pass", "fail", "error", "not_applicable", "waived", "manual"]
STATUSES: Final[tuple[Status, ...]] = ("pass", "fail", "error", "not_applicable", "waived",
                                       "manual")

Control = Literal["firewalls", "secure-configuration", "security-update-management",
                  "user-access-control", "malware-protection", "backup", "asset-management"]
#: the five Cyber Essentials controls, then backup and asset management
CONTROLS: Final[tuple[Control, ...]] = (
    "firewalls", "secure-configuration", "security-update-management", "user-access-control",
    "malware-protection", "backup", "asset-management",
)

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: Final[tuple[Severity, ...]] = ("critical", "high", "medium", "low", "info")

Owner = Literal["provider", "client", "shared"]
OWNERS: Final[tuple[Owner, ...]] = ("provider", "client", "shared")

#: the platforms an inventory may declare for a machine
PLATFORMS: Final = ("linux", "macos", "bsd", "windows", "network")
#: the platforms with a POSIX shell (one batch of ``.sh`` sections)
POSIX_PLATFORMS: Final = ("linux", "macos", "bsd")

#: how undone reaches a machine an inventory declares (its ``transport:``): each is a transport
#: registered in scanner/engine/transports/registry.py, which the inventory (a lower layer) may
#: not import, so the inventory checks its hosts against this tuple instead
HostTransport = Literal["local", "ssh", "winrm", "snmp"]
HOST_TRANSPORTS: Final[tuple[HostTransport, ...]] = ("local", "ssh", "winrm", "snmp")
#: a host record's ``transport``: the above, and those of the records undone makes of what is
#: not an inventory host: a declared network (nmap), a cloud tenant (graph, google)
Transport = Literal[HostTransport, "nmap", "graph", "google"]
TRANSPORTS: Final[tuple[Transport, ...]] = (*HOST_TRANSPORTS, "nmap", "graph", "google")

#: why a result is ``not_applicable`` (the result's ``na_reason``)
NaReason = Literal["platform", "role", "sections", "precondition"]
NA_REASONS: Final[tuple[NaReason, ...]] = ("platform", "role", "sections", "precondition")

#: what went wrong with a host (a host record's ``error_kind``; None: nothing)
ErrorKind = Literal["error", "unreachable", "host-key", "auth", "timeout", "incomplete",
                    "interrupted"]
ERROR_KINDS: Final[tuple[ErrorKind, ...]] = ("error", "unreachable", "host-key", "auth",
                                             "timeout", "incomplete", "interrupted")

# exit codes (DESIGN.md §3); like ruff and grep, 1 means "found something"
EXIT_OK: Final = 0  # every rule passed or is waived
EXIT_FINDINGS: Final = 1  # at least one fail
EXIT_BAD_INPUT: Final = 2  # bad usage or invalid input: nothing scanned
EXIT_INCOMPLETE: Final = 3  # no fail, but a host unreachable or a rule in error
EXIT_INTERNAL: Final = 4  # a bug: one line, --debug for the traceback
EXIT_BUSY: Final = 5  # another scan of the same estate holds its lock
