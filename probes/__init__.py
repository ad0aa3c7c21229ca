"""The read-only probe sections: a script that runs on the target paired with a parser.

:func:`sections` lists every section shipped in this package. A section named
``<family>.<topic>`` is the pair ``probes/<family>/<topic>.sh`` (or ``.ps1``) and
``probes/<family>/<topic>.py``, whose module defines ``parse(raw: RawSection) -> Facts`` and may
set ``PROVIDES`` (the fact names it can produce) and ``NEEDS_ROOT`` (facts that only root can read).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from probes.base import Facts, RawSection

FAMILIES = ("posix",)
SCRIPT_SUFFIX = {"posix": ".sh"}


@dataclass(frozen=True)
class Section:
    name: str
    family: str
    script: str
    parse: Callable[[RawSection], Facts]
    provides: tuple[str, ...]


@cache
def prelude(family: str) -> str:
    return (resources.files("probes") / family / "_prelude.sh").read_text(encoding="utf-8")


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
                parse=module.parse,
                provides=tuple(getattr(module, "PROVIDES", ())),
            )
    return found
