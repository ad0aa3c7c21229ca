"""Generate the rule catalogue (docs/rules.md) from the shipped baselines.

    python -m scanner.docs > docs/rules.md

A test checks that the committed file is current.
"""

from __future__ import annotations

import sys

from scanner import baselines


def _flat(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def rules_markdown() -> str:
    out = [
        "# Rule catalogue",
        "",
        "Generated from `baselines/*.yaml` by `python -m scanner.docs`; do not edit by hand.",
        "",
        "Every age and count a rule judges says how it is known (its basis): exact, or only a",
        "lower bound, an upper bound or an estimate. A bound can make a rule fail, never pass:",
        "within the limit the rule is `error`, with what is unknown and what would make it known.",
        "How undone dates pending updates, and the audit of every rule for bounds, estimates and",
        "shortcuts: [dating.md](dating.md).",
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
                f"**Why.** {_flat(r.rationale)}",
                "",
                f"**What to do.** {_flat(r.remediation)}",
                "",
            ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(rules_markdown())
