"""What the reports derive from the result document, as types: the rows that
reports/model.py computes and the renderers and templates read (the keys a template names are
these). Data only; the functions that fill them are in reports/model.py."""

from __future__ import annotations

from typing import Any, TypedDict

from scanner.result import Result
from scanner.vocab import Control, Owner, Severity


class Item(TypedDict):
    """One rule left undone by one owner (:func:`items`), over every host that fails it."""

    rule: str
    owner: Owner
    title: str
    control: Control
    severity: Severity
    hosts: list[str]
    results: list[Result]
    heading: str
    findings: list[tuple[str, str]]  # (host, what was found there)
    advice: list[tuple[str, str]]  # (platform words, what to ask for): :func:`advice`
    first_seen: str | None
    due: str | None
    overdue_days: int
    overdue_hosts: int
    reopened: bool
    rationale: str
    remediation: str
    message: str
    expected: str
    observed: dict[str, Any]  # the first result's, as evaluation observed it


class ControlRow(TypedDict):
    """Compliance of one control (:func:`by_control`)."""

    control: str
    title: str
    plain: str
    counts: dict[str, int]  # by status, as the document's summary counts them
    compliance: float | None
    overdue: int


class ControlVerdict(ControlRow):
    """A control's row with its verdict for the one-page summary (:func:`control_verdicts`)."""

    verdict: str  # bad, good, warn, none
    words: str
    judged: int
    not_run: int
    why: str


class RuleRef(TypedDict):
    rule: str
    title: str


class NaGroup(TypedDict):
    why: str
    rules: list[RuleRef]


class NotApplicable(TypedDict):
    """What was not checked on one host because it does not apply (:func:`not_applicable`)."""

    count: int
    by_reason: list[tuple[str, int]]
    groups: list[NaGroup]
    role: list[str]


class HostRow(TypedDict):
    """One host's counts and failing results (:func:`by_host`)."""

    name: str
    address: str | None
    system: str
    reachable: bool
    error: str | None
    counts: dict[str, int]
    compliance: float | None
    overdue: int
    failing: list[Result]
    roles: dict[str, str]  # :func:`roles_line`
    not_applicable: NotApplicable


class WaiverRow(TypedDict):
    """One waiver (rule + approval) with the hosts it covers (:func:`waivers`)."""

    rule: str
    title: str
    reason: str
    approved_by: str
    expires: str
    hosts: list[str]
    statuses: list[str]
    still_failing: bool


class Headline(TypedDict):
    """The counts a report opens with (:func:`headline`)."""

    client: str
    provider: str
    estate_name: str
    fails: int
    provider_fails: int
    provider_items: int
    provider_hosts: int
    overdue: int
    overdue_provider: int
    overdue_provider_items: int
    oldest_overdue: int
    hosts: int
    unreachable: int
    compliance: float | None
    errors: int


class Coverage(TypedDict):
    """The headline score with what it stands on (:func:`coverage`)."""

    compliance: float | None
    passed: int
    failed: int
    judged: int
    waived: int
    manual: int
    not_run: int
    not_applicable: int
    hosts: int
    hosts_checked: int
    noun: str
    text: str


class ControlGap(TypedDict):
    """A control not judged (everywhere, or on one host), and why."""

    control: str
    title: str
    why: str
    not_run: int


class HostGap(TypedDict):
    host: str
    unreachable: bool
    why: str
    controls: list[ControlGap]


class NotAssessed(TypedDict):
    """What was not assessed, and why (:func:`not_assessed`)."""

    controls: list[ControlGap]
    hosts: list[HostGap]
    complete: bool


class SinceLast(TypedDict):
    """What changed since the previous scan, as counts (:func:`since_last`)."""

    previous: str | None
    counts: dict[str, int]
    at: str | None
