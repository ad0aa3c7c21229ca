"""Devices identified but not dated: the report's "firmware we could not date" list.

Read from each host's ``lifecycle.undated`` fact (probes/net/firmware.py: what was identified,
what date is missing and why, and what the client should ask the provider for). Data of the
result document only, as every report reads it. One row per device.
"""

from __future__ import annotations

from typing import TypedDict

from scanner.result import ResultDocument


class Undated(TypedDict):
    """One date undone could not find (a ``lifecycle.undated`` entry), and what to ask for."""

    kind: str | None  # firmware, hardware
    missing: str | None
    why: str | None
    ask: str | None


class Device(TypedDict):
    """One device with something undone could not date (:func:`devices`)."""

    host: str | None
    vendor: str
    model: str
    firmware: str
    items: list[Undated]
    policy: str | None  # the vendor's published support policy, in one line


def devices(doc: ResultDocument) -> list[Device]:
    """One row per device that has something undone could not date."""
    out: list[Device] = []
    for host in doc.get("hosts") or []:
        facts = host.get("facts") or {}
        items = [i for i in facts.get("lifecycle.undated") or [] if isinstance(i, dict)]
        if not items:
            continue
        first = items[0]
        firmware = " ".join(str(x) for x in (first.get("product"), first.get("version")) if x)
        out.append({
            "host": host.get("name"),
            "vendor": first.get("vendor") or facts.get("device.vendor") or "",
            "model": first.get("model") or facts.get("device.model") or "model unknown",
            "firmware": firmware or "unknown",
            "items": [{"kind": i.get("kind"), "missing": i.get("missing"), "why": i.get("why"),
                       "ask": i.get("ask")} for i in items],
            "policy": next((i.get("policy") for i in items if i.get("policy")), None),
        })
    return out
