"""Generate the rule catalogue (docs/rules.md) from the shipped baselines.

    python -m scanner.rules.docs > docs/rules.md

A test checks that the committed file is current.
"""

from __future__ import annotations

import sys

from scanner.rules import baselines
from scanner.rules.baselines import Rule
from scanner.rules.conditions import describe
from scanner.rules.scope import NOT_HOSTS, PLATFORM_WORDS

SCOPE = (
    "**Scope.** Every selected rule appears for every host in the result document: judged, or "
    "`not_applicable` with its reason (`na_reason`: `platform`, `role`, `sections`, "
    "`precondition`). A rule's roles narrow its scope by the roles the inventory declares for "
    "the host; a host without `roles` takes the roles its facts point to (Windows client "
    "editions and macOS: endpoint; Windows Server, Linux and BSD: server; network devices by "
    "their kind), recorded as `roles_inferred`. A host whose operating system is unknown gets "
    "its rules as `error`, never `not_applicable`."
)


def applies_to(rule: Rule, params: dict[str, object] | None = None) -> str:
    """Where a rule is judged, in words."""
    if rule.platforms:
        words = [PLATFORM_WORDS.get(p, p) for p in rule.platforms]
        where = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        if not {"network", *NOT_HOSTS} & set(rule.platforms):
            where += " hosts"
    else:
        where = "every host"
    if rule.roles:
        roles = list(rule.roles)
        names = roles[0] if len(roles) == 1 else ", ".join(roles[:-1]) + " or " + roles[-1]
        where += f" with the role {names}"
    if rule.when:
        where += f"; only when {describe(rule.when, dict(params or {}))}, otherwise not applicable"
    return where[:1].upper() + where[1:] + "."


def _flat(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def rules_markdown() -> str:
    out = [
        "# Rule catalogue",
        "",
        "Generated from `baselines/*.yaml` by `python -m scanner.rules.docs`; do not edit by hand.",
        "",
        "Every age and count a rule judges says how it is known (its basis): exact, or only a",
        "lower bound, an upper bound or an estimate. A bound can make a rule fail, never pass:",
        "within the limit the rule is `error`, with what is unknown and what would make it known.",
        "How undone dates pending updates, and the audit of every rule for bounds, estimates and",
        "shortcuts: [dating.md](dating.md).",
        "",
        SCOPE,
        "",
    ]
    for b in baselines.load():
        out += [f"## {b.title}", "", f"Baseline `{b.name}`, version {b.version}.", ""]
        if b.params:
            out += ["Parameters (override per estate under `params:` in the inventory):", ""]
            out += [f"- `{k}`: default `{v}`" for k, v in b.params.items()]
            out.append("")
        out += [
            "| id | control | severity | compliant state | needs | references |",
            "|---|---|---|---|---|---|",
        ]
        for r in b.rules:
            refs = "; ".join(f"{k}: {v}" for k, v in r.references.items())
            out.append(
                f"| {r.id} | {r.control} | {r.severity} | {_flat(r.title)} | "
                f"{', '.join(r.requires)} | {_flat(refs)} |"
            )
        out.append("")
        for r in b.rules:
            out += [
                f"### {r.id}: {r.title}",
                "",
                f"**Applies to.** {_flat(applies_to(r, b.params))}",
                "",
                f"**Why.** {_flat(r.rationale)}",
                "",
                f"**What to do.** {_flat(r.remediation)}",
                "",
            ]
            if r.finding:
                text = r.finding["text"]
                first = text if isinstance(text, str) else text[-1]["text"]
                out += [f"**In a report, when it fails.** {_flat(r.finding['title'])}: "
                        f"`{_flat(first)}`", ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(rules_markdown())
