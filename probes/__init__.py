"""The read-only probe sections: a script that runs on the target paired with a parser.

:func:`sections` lists every section shipped in this package. A section named
``<family>.<topic>`` is the pair ``probes/<family>/<topic>.sh`` (or ``.ps1``) and
``probes/<family>/<topic>.py``, whose module defines ``parse(raw: RawSection) -> Facts`` and may
set ``PROVIDES`` (the fact names it can produce) and ``NEEDS_ROOT`` (facts that only root can read).

Sections are found only in the folders :data:`FAMILIES` and :data:`SCANNER_FAMILIES` name (the
platform folders). The *fact families* beside them (``probes/malware``, ``backup``, ``updates``,
``firewall``, ``access``, ``os``, ``applications``, ``device``) are not sections: each holds the
fact names several platforms' sections give (its ``PROVIDES``, which those sections compose) and
the public helpers they share (docs/architecture.md, "probes/: sections and fact families").

A section that needs per-host settings (say, the backup repositories declared for a host) defines
``environment(config, secret) -> dict[str, str]``: environment variables for its script, built
from the host's declared ``config`` and, for secrets, ``secret(NAME)`` (the scanner's environment
variable the inventory names). The engine exports them to that section's script only, from the
batch on standard input, so they never appear on a command line, in a process listing or in the
evidence. The parser gets the same ``config`` (references only) in ``RawSection.config``.

Every ``Section.parse`` runs its module's ``parse`` under the parse time budget
(:func:`probes.base.run_parser`): a parse past it raises, so the engine records the section as an
error and none of its facts as known.

A *scanner-side* section (family ``scanner``) has no script: the engine writes what it saw of the
host itself (the transport, the host key and whether it matched known_hosts) as the section's
output, and its parser turns that into facts like any other, so rules judge the connection the
same way they judge a host's files. It is recorded even for a host that could not be scanned.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from probes.base import Facts, RawSection, run_parser

FAMILIES = ("posix", "windows")
SCRIPT_SUFFIX = {"posix": ".sh", "windows": ".ps1"}
#: families of sections the scanner fills itself from what it saw of a host (the connection,
#: the host key): a parser ``probes/<family>/<topic>.py`` and no script, never sent to a target
#: net (nmap, lifecycle lookups), snmp and netos (network devices' read-only commands) are
#: queries the scanner runs itself (scanner/engine/network.py); their module's QUERY says what is
#: asked; a netos module declares the devices it reads and its commands (probes.netos), an
#: snmp module other than system and community its GETs and walks (probes.snmp). cloud: a
#: tenant's directory read over HTTPS (scanner/engine/cloud/), parsed from the collected JSON
SCANNER_FAMILIES = ("scanner", "net", "snmp", "netos", "cloud")


def budgeted(name: str, parse: Callable[[RawSection], Facts]) -> Callable[[RawSection], Facts]:
    """``parse`` under the parse time budget (:func:`probes.base.run_parser`): a parse over it
    raises, and the engine records the section as an error."""

    def run(raw: RawSection) -> Facts:
        return run_parser(name, parse, raw)

    run.__wrapped__ = parse  # type: ignore[attr-defined]
    run.__name__ = f"parse_{name.replace('.', '_')}"
    return run


@dataclass(frozen=True)
class Section:
    name: str
    family: str
    script: str
    parse: Callable[[RawSection], Facts]
    provides: tuple[str, ...]
    environment: (
        Callable[[Mapping[str, Any], Callable[[str], str | None]], dict[str, str]] | None
    ) = None

    @property
    def on_target(self) -> bool:
        """Whether this section is a script run on the target (else the scanner fills it)."""
        return self.family in FAMILIES


@cache
def prelude(family: str) -> str:
    name = "_prelude" + SCRIPT_SUFFIX[family]
    return (resources.files("probes") / family / name).read_text(encoding="utf-8")


def scanner_topics(family: str) -> list[str]:
    """The sections of a scanner-side family, by stem in name order: the modules
    ``probes/<family>/<topic>.py`` whose name does not start with ``_``. One listing for
    :func:`sections` and for a family's own index of what the scanner asks (``probes.netos``'s
    :func:`~probes.netos.readers`), so the two never disagree."""
    folder = resources.files("probes") / family
    return sorted(
        entry.name[: -len(".py")] for entry in folder.iterdir()
        if entry.name.endswith(".py") and not entry.name.startswith("_")
    )


@cache
def sections() -> dict[str, Section]:
    found: dict[str, Section] = {}
    for family in FAMILIES:
        folder = resources.files("probes") / family
        suffix = SCRIPT_SUFFIX[family]
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(suffix) or entry.name.startswith("_"):
                continue
            topic = entry.name[: -len(suffix)]
            module = importlib.import_module(f"probes.{family}.{topic}")
            name = f"{family}.{topic}"
            found[name] = Section(
                name=name,
                family=family,
                script=entry.read_text(encoding="utf-8"),
                parse=budgeted(name, module.parse),
                provides=tuple(getattr(module, "PROVIDES", ())),
                environment=getattr(module, "environment", None),
            )
    for family in SCANNER_FAMILIES:
        for topic in scanner_topics(family):
            module = importlib.import_module(f"probes.{family}.{topic}")
            name = f"{family}.{topic}"
            found[name] = Section(
                name=name,
                family=family,
                script=getattr(module, "QUERY", ""),
                parse=budgeted(name, module.parse),
                provides=tuple(getattr(module, "PROVIDES", ())),
            )
    return found
