"""The CISA Known Exploited Vulnerabilities extract (``baselines/lifecycle/kev.json``, or a
newer one in the user's data folder): which CVEs of a vendor's product are known to be
exploited (:func:`kev_for`).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from scanner.errors import InputError
from scanner.lifecycle.catalogue import _read_text, _shipped_text, user_dir
from scanner.lifecycle.model import (
    KEV_FIELDS,
    KEV_FILE,
    KEV_SCHEMA,
)

# --------------------------------------------------------------------------------------------
# KEV
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Kev:
    """The shipped extract of CISA's Known Exploited Vulnerabilities catalogue."""

    catalog_version: str
    date_released: str | None
    entries: tuple[dict[str, str], ...]

    def for_product(self, vendor: str, product: str) -> list[dict[str, str]]:
        """Entries whose vendor equals ``vendor`` and whose product names ``product`` as a word,
        both ignoring case (``"FortiOS"`` finds "FortiOS and FortiProxy"). KEV names products
        loosely ("Multiple Products"), so this finds candidates, not proof."""
        v = vendor.strip().casefold()
        word = re.compile(rf"(?<![\w-]){re.escape(product.strip().casefold())}(?![\w-])")
        return [
            dict(e)
            for e in self.entries
            if e.get("vendorProject", "").strip().casefold() == v
            and word.search(e.get("product", "").strip().casefold())
        ]


def kev_from_json(text: str, label: str = KEV_FILE) -> Kev:
    """Parse the shipped extract (``undone.kev/1``) or CISA's own
    ``known_exploited_vulnerabilities.json``, so a newer CISA file can be used as it is."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{label}: not valid JSON (line {e.lineno}): {e.msg}") from None
    except (RecursionError, ValueError):
        raise InputError(f"{label}: not JSON undone can read (too deep, or a number too long)"
                         ) from None
    if not isinstance(doc, dict):
        raise InputError(f"{label}: not a KEV catalogue")
    if doc.get("schema") == KEV_SCHEMA:
        version, released = doc.get("catalog_version"), doc.get("date_released")
    elif "catalogVersion" in doc:
        version, released = doc.get("catalogVersion"), doc.get("dateReleased")
    else:
        raise InputError(
            f"{label}: not a KEV catalogue (no schema {KEV_SCHEMA!r} or catalogVersion)"
        )
    vulns = doc.get("vulnerabilities")
    if not isinstance(vulns, list):
        raise InputError(f"{label}: vulnerabilities: expected a list")
    entries = tuple(
        {k: e[k] if isinstance(e[k], str) else str(e[k]) for k in KEV_FIELDS
         if isinstance(e.get(k), str | int | float) and not isinstance(e.get(k), bool)}
        for e in vulns
        if isinstance(e, dict)
    )
    return Kev(str(version), None if released is None else str(released), entries)


@functools.lru_cache(maxsize=1)
def _default_kev() -> Kev:
    return kev_from_json(_shipped_text(KEV_FILE), f"baselines/lifecycle/{KEV_FILE}")


def load_kev(path: str | None = None) -> Kev:
    """The shipped KEV extract (cached), or a file in the same format (a newer one). Without a
    path, a KEV file written by ``undone lifecycle refresh --kev`` in :func:`user_dir` is used
    when present."""
    if path is None:
        user = user_dir() / KEV_FILE
        if user.exists():
            return _user_kev(str(user), user.stat().st_mtime_ns)
        return _default_kev()
    return kev_from_json(_read_text(path, path), path)


@functools.lru_cache(maxsize=2)
def _user_kev(path: str, _mtime: int) -> Kev:
    return kev_from_json(_read_text(path, path), path)


def kev_for(vendor: str, product: str) -> list[dict[str, str]]:
    """Known exploited vulnerabilities of a vendor's product in the shipped extract (see
    :meth:`Kev.for_product`)."""
    return _default_kev().for_product(vendor, product)
