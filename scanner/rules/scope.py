"""Whether a rule concerns a host, and if not, why: the one answer to "does this rule apply".

:func:`scope` judges it on what was collected (a :class:`HostView`): a rule for other
platforms, for other roles, or judging sections this kind of host does not have is
``not_applicable`` with its reason; an unknown platform is ``error``. :func:`may_apply` asks the
same before anything is collected (the plan, scanner/engine/collect.py): could the rule apply to
a host of these platforms and roles?"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scanner.rules.baselines import Rule
from scanner.rules.conditions import (
    Bases,
)
from scanner.rules.roles import INFERABLE
from scanner.vocab import POSIX_PLATFORMS


@dataclass
class HostView:
    """What evaluation needs of a collected host (taken from the result document's host).

    ``roles`` are the roles that scope the rules and ``roles_source`` where they came from:
    ``inventory`` (declared), ``inferred`` (from the facts, scanner/rules/roles.py) or ``none``;
    left
    empty, it is ``inventory`` when there are roles and ``none`` when there are not."""

    name: str
    platform: str | None
    roles: tuple[str, ...]
    reachable: bool
    error: str | None
    facts: dict[str, Any]
    fact_errors: dict[str, str]
    sections: Mapping[str, Mapping[str, Any]]
    owner: str | None = None
    transport: str = "ssh"
    fact_basis: Bases = field(default_factory=dict)
    roles_source: str = ""


def _section_problem(host: HostView, needed: tuple[str, ...]) -> str | None:
    """Why the sections a rule needs cannot be judged, or None. A host that could not be scanned
    has no sections but the scanner's own (``scanner.connection``, written when the host key was
    the reason), so only a rule over those is judged there; every other rule is ``error``.

    A rule written for several platforms names the same facts' sections of each target family
    (``requires: [posix.updates, windows.updates]``): a host needs only those of its own."""
    own = _target_family(host)
    mine = tuple(
        s for s in needed if s.split(".", 1)[0] not in TARGET_FAMILIES or s.split(".", 1)[0] == own
    )
    if not mine:
        if not host.reachable:
            return f"host not scanned: {host.error or 'unreachable'}"
        return f"none of the sections {', '.join(needed)} is collected from {own} hosts"
    for s in mine:
        rec = host.sections.get(s)
        if rec is None:
            if not host.reachable:
                return f"host not scanned: {host.error or 'unreachable'}"
            return f"section {s} was not collected"
        if rec.get("status") == "error":
            return f"section {s} could not be collected: {rec.get('error') or 'unknown error'}"
    return None


TARGET_FAMILIES = ("posix", "windows")  # probe families whose scripts run on the target
# the platforms a transport can reach when the host's own platform is not known: only WinRM and
# SNMP are certain (a host reached over SSH may be any of them, Windows with OpenSSH included)
TRANSPORT_PLATFORMS = {"winrm": ("windows",), "snmp": ("network",), "nmap": ("segment",),
                       "graph": ("m365",), "google": ("google-workspace",)}
#: platforms of records that are not machines: declared networks, cloud tenants (scanner/cloud)
NOT_HOSTS = ("segment", "m365", "google-workspace")

PLATFORM_WORDS = {"linux": "Linux", "macos": "macOS", "bsd": "BSD", "windows": "Windows",
                  "network": "network devices", "segment": "declared networks (nmap)",
                  "m365": "Microsoft 365 tenants", "google-workspace": "Google Workspace tenants"}
HOST_WORDS = {"linux": "a Linux host", "macos": "a macOS host", "bsd": "a BSD host",
              "windows": "a Windows host", "network": "a network device",
              "segment": "a declared network, not a single host",
              "m365": "a Microsoft 365 tenant", "google-workspace": "a Google Workspace tenant"}
FAMILY_WORDS = {"posix": "Linux, macOS and BSD", "windows": "Windows"}



def _target_family(host: HostView) -> str:
    if host.platform == "windows" or (host.platform is None and host.transport == "winrm"):
        return "windows"
    return "posix"


def _words(items: Iterable[str], last: str = "and") -> str:
    xs = list(items)
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + f" {last} " + xs[-1]


# A rule's scope on a host: None (judge it), or (status, na_reason, message). The status is
# "error" with the reason "platform" only when the host's platform is unknown: what it is cannot
# be told, so the rule is not checked, never "does not apply".
Scope = tuple[str, str, str] | None
UNKNOWN_PLATFORM = "operating system unknown"  # a marker: the message is written per host
_PLATFORM_FAMILY = {"linux": "posix", "macos": "posix", "bsd": "posix", "windows": "windows"}


def scope(rule: Rule, host: HostView) -> Scope:
    """Whether a selected rule is judged on this host, and if not, why: its platforms, its roles
    (only those the inventory declares: inferred roles never narrow scope), or sections of a
    family this host does not have. A precondition (``when``) is judged later, on the facts."""
    platform = host.platform
    if platform is None and host.transport in TRANSPORT_PLATFORMS:
        platform = TRANSPORT_PLATFORMS[host.transport][0]
    if rule.platforms:
        if platform is None:  # a host reached over SSH (or locally) whose system is unknown
            if set(rule.platforms) <= set(NOT_HOSTS):  # whatever it is, a host is not these
                wanted = _words(PLATFORM_WORDS.get(p, p) for p in rule.platforms)
                return ("not_applicable", "platform",
                        f"does not apply: a rule for {wanted}; this is a host")
            if not set(rule.platforms) & set(POSIX_PLATFORMS):
                return ("error", "platform", UNKNOWN_PLATFORM)
        elif platform not in rule.platforms:
            wanted = _words(PLATFORM_WORDS.get(p, p) for p in rule.platforms)
            this = HOST_WORDS.get(platform, "platform " + platform)
            return ("not_applicable", "platform", f"does not apply: a rule for {wanted}; "
                                                  f"this is {this}")
    # A role narrows scope only when written down (issue 13). A host without declared roles is
    # judged by every rule for the roles a host of its family can be (INFERABLE: endpoint and
    # server, so malware protection and backups are never left out on a guess) and for the
    # roles its facts point to; a rule for a role only a declaration gives (a Linux gateway, a
    # backup host) is not applicable, and says so.
    source = host.roles_source or ("inventory" if host.roles else "none")
    if rule.roles and source != "none":
        if source == "inventory":
            held = set(host.roles)
            why = (f"the inventory gives this host the role{'s' if len(host.roles) > 1 else ''} "
                   f"{_words(host.roles)}")
        else:
            family = _PLATFORM_FAMILY.get(platform or "", "")
            held = set(host.roles) | set(INFERABLE.get(family, ()))
            why = ("the inventory gives this host no roles, and only a declared role makes a "
                   "host one of these")
        if not set(rule.roles) & held:
            wanted = _words(rule.roles, "or")
            return ("not_applicable", "role",
                    f"does not apply: a rule for hosts with the role {wanted}; {why}")
    if platform is not None:
        own = _PLATFORM_FAMILY.get(platform)
        families = {s.split(".", 1)[0] for s in rule.requires}
        if families and families <= set(TARGET_FAMILIES) and own not in families:
            where = _words(FAMILY_WORDS[f] for f in sorted(families))
            return ("not_applicable", "sections",
                    f"does not apply: it judges {', '.join(rule.requires)}, collected from "
                    f"{where} hosts only; this is {HOST_WORDS.get(platform, platform)}")
    return None


def _unknown_platform(rule: Rule, host: HostView) -> str:
    """The message of a rule that cannot be scoped on a host whose platform is unknown."""
    if not host.reachable:
        return f"host not scanned: {host.error or 'unreachable'}"
    fam = host.facts.get("os.family")
    if isinstance(fam, str):
        why = f"os.family {fam!r} is not one undone knows"
    else:
        why = "os.family: " + host.fact_errors.get("os.family", "not collected")
    return (f"the operating system of this host is not known ({why}), so whether this rule for "
            f"{_words(PLATFORM_WORDS.get(p, p) for p in rule.platforms)} applies cannot be told; "
            "declare the host's platform in the inventory")


def may_apply(rule: Rule, platforms: Iterable[str], roles: Iterable[str]) -> bool:
    """Before anything is collected (the plan): could ``rule`` apply to a host that is one of
    ``platforms`` with one of ``roles``? Its platforms and roles, as :func:`scope` later judges
    them on the facts; a rule without either applies to every host."""
    if rule.roles and not set(rule.roles) & set(roles):
        return False
    return not (rule.platforms and not set(rule.platforms) & set(platforms))
