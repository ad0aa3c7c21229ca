"""Who still sends this release security fixes, until when, in words: one story for CE-SU-001
(does it still get fixes?) and PM-OS-001 (for how long?).

The lifecycle catalogue gives a release's end of regular support (``os.eol_date``) and of its
extended support (``os.eoes_date``: Debian LTS, Ubuntu ESM, RHEL ELS, Windows ESU), and
scanner/lifecycle/catalogue.py whether each is still running. Whether extended support means the
host gets
fixes depends on the vendor: Debian LTS is free and comes through the same security repository;
Windows ESU only with a licence installed (``os.esu_licensed``, read on the host); Ubuntu ESM and
RHEL ELS only with a subscription undone does not see. This module derives, before evaluation:

- ``os.security_fixes``: ``regular`` (the vendor's normal support), ``lts`` (Debian LTS),
  ``esu`` (Windows, licence installed), ``esm`` or ``els`` (a subscription undone cannot see),
  ``esu-unlicensed`` (Windows ESU runs, no licence here), or ``none``;
- ``os.security_fixes_until``: the last day of that support (ISO date; None: no end announced;
  for ``none`` the day the last support ended);
- ``os.security_fixes_days_left``: days from the scan to that day (negative once past);
- ``os.support_summary``: the same in a sentence a head teacher can read.

Data only, like scanner/engine/dating.py: the rules decide what passes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from scanner.result import HostRecord

FACTS = ("os.security_fixes", "os.security_fixes_until", "os.security_fixes_days_left",
         "os.support_summary")
VENDORS = {"debian": "Debian", "ubuntu": "Canonical", "windows": "Microsoft",
           "windows-server": "Microsoft", "rhel": "Red Hat", "macos": "Apple"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def _day(text: Any) -> date | None:
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _words(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _left(n: int) -> str:
    if n < 0:
        return f"{-n} day{'s' if n != -1 else ''} ago"
    return f"{n} day{'s' if n != 1 else ''} left"


def enrich(rec: HostRecord, now: datetime) -> None:
    """Add the four facts to a host record whose lifecycle facts are known (or the reason they
    are not, as errors)."""
    facts: dict[str, Any] = rec.get("facts") or {}
    errors: dict[str, str] = rec.setdefault("fact_errors", {})
    if "os.supported" not in facts:
        why = errors.get("os.supported")
        if why is not None:
            for name in FACTS:
                errors.setdefault(name, why)
        return
    product = str(facts.get("os.lifecycle_product") or "")
    name = str(facts.get("os.pretty_name") or
               f"{product} {facts.get('os.lifecycle_cycle') or ''}".strip())
    eol, eoes = _day(facts.get("os.eol_date")), _day(facts.get("os.eoes_date"))
    today = now.date()
    vendor = VENDORS.get(product, product or "its vendor")
    if facts.get("os.supported") is True:
        who, until = "regular", eol
        text = f"{name} gets security fixes from {vendor} (regular support)"
    elif facts.get("os.extended_support") is True:
        until = eoes
        if product == "debian":
            who = "lts"
            text = (f"{name} gets security fixes from Debian LTS (free, through the same "
                    "security repository; Debian's regular support has ended)")
        elif product in ("windows", "windows-server"):
            licensed = facts.get("os.esu_licensed")
            if licensed is None:
                for n in FACTS:
                    facts.pop(n, None)
                    errors[n] = errors.get("os.esu_licensed") or (
                        "whether an Extended Security Updates licence is installed is unknown")
                return
            who = "esu" if licensed else "esu-unlicensed"
            text = (f"{name} gets security fixes only through the paid Extended Security "
                    "Updates licence installed on it" if licensed else
                    f"{name} would get security fixes only with a paid Extended Security "
                    "Updates licence, and none is installed")
        elif product == "ubuntu":
            who = "esm"
            text = (f"{name} gets security fixes only with an Ubuntu Pro subscription (ESM), "
                    "which undone cannot see; Canonical's regular support has ended")
        else:
            who = "els"
            text = (f"{name} gets security fixes only with {vendor}'s paid extended support, "
                    "which undone cannot see; regular support has ended")
    else:
        who, until = "none", eoes or eol
        text = f"{name} no longer gets security fixes from {vendor}"
    days = (until - today).days if until is not None else None
    if who == "none":
        text += (f": the last support ended on {_words(until)} ({_left(days)})"
                 if until is not None and days is not None else "")
    elif who == "esu-unlicensed":
        text += f"; regular support ended on {_words(eol)}" if eol is not None else ""
    elif until is not None and days is not None:
        text += f", until {_words(until)}: {_left(days)}"
    else:
        text += ", with no end date announced"
    facts["os.security_fixes"] = who
    facts["os.security_fixes_until"] = until.isoformat() if until is not None else None
    facts["os.security_fixes_days_left"] = days
    facts["os.support_summary"] = text + "."
    for n in FACTS:
        errors.pop(n, None)
