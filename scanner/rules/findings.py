"""Findings in words: a rule's ``finding`` (baselines/*.yaml) filled with the host's facts.

A rule's ``title`` says the compliant state ("No security updates are waiting to be installed");
its ``finding`` says what is wrong, for a reader who is not technical:

```yaml
finding:
  title: Security updates are waiting to be installed       # the heading of the item
  text: >-                                                  # a sentence about this machine
    {updates.security_count} security updates are waiting, the oldest
    {updates.security_since|since}: {updates.pending|updates}
  advice: {linux: ..., windows: ...}                        # optional: the remediation of
                                                            # each platform, when it differs
```

``text`` may also be a list of alternatives, each ``{when: CONDITION, text: ...}`` (``when``
optional, judged like a rule's condition): the first whose condition holds and whose
placeholders all have a value is used; when none fits, the result has no finding and reports
show the rule's message. A placeholder is ``{topic.fact}``, ``{topic.fact|filter}`` (filters
in :data:`FILTERS`) or, for a count with its noun and verb agreed, ``{topic.fact|of:update is}``.
Filling is linear in the template and every value is cut short, so a hostile host's facts make
a long sentence at most; renderers escape it like any target text.

The rule logic (``message``: "updates.security_count is 85; expected equal to 0") stays beside
it as the technical detail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+(?:\.[a-z0-9_]+)+)(?:\|([a-z_]+)(?::([^{}|]{1,60}))?)?\}")
MAX_VALUE = 300  # characters of one filled value
MAX_TEXT = 900  # characters of a whole finding
LIST_SHOWN = 6  # items of a list shown before "and N more"
UPDATES_SHOWN = 6

Part = str | tuple[str, str, str]  # literal text, or (fact, filter, its argument)


@dataclass(frozen=True)
class Template:
    parts: tuple[Part, ...]
    facts: tuple[str, ...]


def parse(text: str) -> Template:
    """A template's literal parts and placeholders (unknown filters are left to
    :func:`problems`; here they print the value as it is)."""
    parts: list[Part] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        if m.start() > pos:
            parts.append(text[pos:m.start()])
        parts.append((m.group(1), m.group(2) or "", m.group(3) or ""))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return Template(tuple(parts), tuple(p[0] for p in parts if isinstance(p, tuple)))


def _text_of(spec: Any) -> list[tuple[Any, str]]:
    """(when, text) of each alternative of a finding's ``text``."""
    if isinstance(spec, str):
        return [(None, spec)]
    out = []
    for alt in spec if isinstance(spec, list) else []:
        if isinstance(alt, dict):
            out.append((alt.get("when"), str(alt.get("text", ""))))
    return out


def problems(spec: Mapping[str, Any], where: str, platforms: tuple[str, ...]) -> list[str]:
    """What a schema cannot say about a rule's ``finding``: placeholders well formed, filters
    known, advice only for the rule's own platforms."""
    out: list[str] = []
    for i, (_, text) in enumerate(_text_of(spec.get("text"))):
        at = f"{where}.text" + (f"[{i}]" if not isinstance(spec.get("text"), str) else "")
        for m in _PLACEHOLDER.finditer(text):
            if m.group(3) and m.group(2) not in WITH_ARGUMENT:
                out.append(f"{at}: the filter '{m.group(2)}' takes no argument ({m.group(0)})")
            elif m.group(2) == "of" and not m.group(3):
                out.append(f"{at}: 'of' needs the thing counted ({{fact|of:update is}})")
            if m.group(2) and m.group(2) not in FILTERS:
                out.append(f"{at}: unknown filter '{m.group(2)}' in {m.group(0)} (known: "
                           f"{', '.join(sorted(FILTERS))})")
        rest = _PLACEHOLDER.sub("", text)
        if "{" in rest or "}" in rest:
            out.append(f"{at}: a brace that is not a placeholder {{topic.fact}} or "
                       "{topic.fact|filter}")
    for p in spec.get("advice") or {}:
        if platforms and p not in platforms:
            out.append(f"{where}.advice.{p}: the rule is for {', '.join(platforms)} only")
    return out


def conditions(spec: Mapping[str, Any]) -> list[Any]:
    """The ``when`` conditions of a finding's alternatives (for the parameters they use)."""
    return [w for w, _ in _text_of(spec.get("text")) if w is not None]


# -- filling -----------------------------------------------------------------------------------

Bases = Mapping[str, Mapping[str, Any]]


_SPACES = re.compile(r"\s\s|[\t\n\r\f\v]")


def _cut(text: str, limit: int = MAX_VALUE) -> str:
    if len(text) <= limit and not _SPACES.search(text):
        return text.strip(" ")  # the common case: one short line
    text = " ".join(text[: limit * 4].split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(v: Any) -> str:
    if isinstance(v, float):
        return f"{round(v, 1):g}"
    return str(v)


def _day(v: Any) -> str | None:
    if isinstance(v, datetime):
        dt = v.astimezone(UTC)
    elif isinstance(v, date):
        dt = datetime(v.year, v.month, v.day, tzinfo=UTC)
    elif isinstance(v, str) and len(v) >= 10:
        try:
            dt = (datetime.fromisoformat(v.replace("Z", "+00:00")) if len(v) > 10
                  else datetime.fromisoformat(v + "T00:00:00+00:00"))
        except ValueError:
            return None
    else:
        return None
    return f"{dt.day} {dt:%b %Y}"


def _items(v: Any, limit: int = LIST_SHOWN + 1) -> tuple[list[str], int]:
    """The first ``limit`` items of a value in words, and how many there are in all."""
    if isinstance(v, dict):
        pairs = list(v.items())[:limit]
        return [f"{k}: {_plain(x) or 'none'}" for k, x in pairs], len(v)
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v[:limit]], len(v)
    return [_plain(v)], 1


def _join(items: list[str], total: int | None = None, shown: int = LIST_SHOWN) -> str:
    items = [i for i in items if i]
    total = len(items) if total is None else total
    if not items:
        return "none"
    if total <= shown:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return ", ".join(items[:shown]) + f" and {total - shown} more"


def _plain(v: Any) -> str:
    if isinstance(v, str):
        return _cut(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float):
        return _number(v)
    if isinstance(v, dict):
        for key in ("name", "entry"):
            if v.get(key):
                return _cut(str(v[key]), 120)
        if v.get("address"):  # a device: its address, then what is known of it
            more = [_plain(v.get(k)) for k in ("vendor", "open_ports") if v.get(k)]
            return _cut(str(v["address"]) + (f" ({'; '.join(more)})" if more else ""), 160)
        return _cut("; ".join(_items(v)[0]))
    if isinstance(v, list | tuple):
        return _join(*_items(v))
    return _cut(str(v))


def _basis(bases: Bases, fact: str) -> str:
    b = bases.get(fact) or {}
    return str(b.get("basis") or "") if isinstance(b, Mapping) else ""


def _f_plain(v: Any, fact: str, bases: Bases, arg: str) -> str | None:
    return _plain(v)


def _f_day(v: Any, fact: str, bases: Bases, arg: str) -> str | None:
    return _day(v)


def _f_since(v: Any, fact: str, bases: Bases, arg: str) -> str | None:
    d = _day(v)
    if d is None:
        return None
    return f"since at least {d}" if _basis(bases, fact) == "lower-bound" else f"since {d}"


def _f_days(v: Any, fact: str, bases: Bases, arg: str) -> str | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    words = f"{_number(v)} day{'' if v == 1 else 's'}"
    basis = _basis(bases, fact)
    return {"lower-bound": "at least ", "upper-bound": "at most ",
            "estimate": "about "}.get(basis, "") + words


def _f_count(v: Any, fact: str, bases: Bases, arg: str) -> str | None:
    if isinstance(v, list | tuple | dict):
        return str(len(v))
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return None


def _f_list(v: Any, fact: str, bases: Bases, arg: str) -> str | None:
    return _join(*_items(v))


def _f_names(v: Any, fact: str, bases: Bases, arg: str) -> str | None:
    if not isinstance(v, list | tuple):
        return None
    return _join([_cut(str(x.get("name") if isinstance(x, dict) else x), 80)
                  for x in v[:LIST_SHOWN + 1]], len(v))


def _f_updates(v: Any, fact: str, bases: Bases, arg: str) -> str | None:
    """Pending security updates (``updates.pending``) by source package, oldest first: those an
    advisory dates one by one ("openssl (DSA-5678-1, released 12 Oct 2026)"), the others
    together by since when they are known to wait."""
    if not isinstance(v, list):
        return None
    groups: dict[str, dict[str, Any]] = {}
    for p in v[:5000]:
        if not isinstance(p, dict) or not p.get("security"):
            continue
        name = str(p.get("source_package") or p.get("package") or "?")[:60]
        g = groups.setdefault(name, {"name": name, "advisory": None, "issued": None,
                                     "basis": None, "packages": 0})
        g["packages"] += 1
        issued = p.get("issued") if isinstance(p.get("issued"), str) else None
        if issued and (g["issued"] is None or issued < g["issued"]):
            g["issued"], g["basis"] = issued, p.get("basis")
            g["advisory"] = p.get("advisory") or g["advisory"]
        elif not g["advisory"] and p.get("advisory"):
            g["advisory"] = p.get("advisory")
    if not groups:
        return None
    ordered = sorted(groups.values(), key=lambda g: (g["issued"] is None, g["issued"] or "",
                                                     g["name"]))
    shown: list[str] = []
    rest: dict[str, list[str]] = {}  # "waiting since at least 5 Dec 2026" -> source packages
    for g in ordered:
        day = _day(g["issued"])
        if g["advisory"] and len(shown) < UPDATES_SHOWN:
            when = f", released {day}" if day and g["basis"] in ("advisory", "release-date") \
                else (f", waiting since {day}" if day else "")
            more = f", {g['packages']} packages" if g["packages"] > 1 else ""
            shown.append(f"{g['name']} ({_cut(str(g['advisory']), 40)}{when}{more})")
            continue
        if not day:
            words = "release date unknown"
        else:
            words = {"history": f"first seen waiting on {day}",
                     "lower-bound": f"waiting since at least {day}",
                     "advisory": f"released {day}", "release-date": f"released {day}"}.get(
                         str(g["basis"]), f"since {day}")
        if not g["advisory"]:
            words = "no advisory found; " + words
        rest.setdefault(words, []).append(g["name"])
    parts = list(shown)
    for words, names in rest.items():
        parts.append(f"{_join(names)} ({words})")
    text = "; ".join(parts[:4])
    if len(parts) > 4:
        text += f"; and {len(parts) - 4} more groups"
    return text


_VERBS = {"is": "are", "was": "were", "has": "have", "answers": "answer", "uses": "use"}


def _noun_plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def _f_of(v: Any, fact: str, bases: Bases, arg: str) -> str | None:
    """A count with its noun (and verb) agreed: ``{n|of:update is}`` gives "1 update is",
    "3 updates are"; a list counts its items."""
    n = len(v) if isinstance(v, list | tuple | dict) else v
    if isinstance(n, bool) or not isinstance(n, int | float):
        return None
    words = arg.split()
    verb = words.pop() if len(words) > 1 and words[-1] in _VERBS else ""
    noun = " ".join(words)
    if n != 1:
        noun = " ".join([*words[:-1], _noun_plural(words[-1])]) if words else noun
        verb = _VERBS.get(verb, verb)
    return f"{_number(n)} {noun}" + (f" {verb}" if verb else "")


def _f_ago(v: Any, fact: str, bases: Bases, arg: str) -> str | None:
    """A number of days in the past (negative: days left that went by) as "37 days ago"."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    n = abs(v)
    return f"{_number(n)} day{'' if n == 1 else 's'} ago"


Filter = Callable[[Any, str, Bases, str], str | None]
FILTERS: dict[str, Filter] = {
    "": _f_plain, "day": _f_day, "since": _f_since, "days": _f_days, "count": _f_count,
    "list": _f_list, "names": _f_names, "updates": _f_updates, "of": _f_of, "ago": _f_ago,
}
WITH_ARGUMENT = frozenset({"of"})


def fill(t: Template, facts: Mapping[str, Any], bases: Bases) -> str | None:
    """The template with the host's values, or None when a placeholder has no value."""
    out: list[str] = []
    for p in t.parts:
        if isinstance(p, str):
            out.append(p)
            continue
        fact, flt, arg = p
        v = facts.get(fact)
        if v is None:
            return None
        text = FILTERS.get(flt, _f_plain)(v, fact, bases, arg)
        if text is None or text == "":
            return None
        out.append(_cut(text, MAX_TEXT if flt == "updates" else MAX_VALUE))
    return _cut("".join(out), MAX_TEXT)


Condition = Callable[..., tuple[Any, ...]]


@dataclass(frozen=True)
class Compiled:
    """A rule's finding ready to fill: the heading, the alternatives (condition or None, template)
    and the advice per platform. ``facts``: every fact it reads (what evaluation's memo keys the
    sentence by, scanner/rules/evaluate.py: hosts with the same values get the same words, so
    filling
    is done once per distinct state, not per host)."""

    title: str
    alternatives: tuple[tuple[Condition | None, Template], ...]
    advice: tuple[tuple[str, str], ...] = ()
    facts: tuple[str, ...] = ()

    def text(self, facts: Mapping[str, Any], errors: Mapping[str, str], bases: Bases
             ) -> str | None:
        for cond, t in self.alternatives:
            if cond is not None and cond(facts, errors, bases)[0] is not True:
                continue
            filled = fill(t, facts, bases)
            if filled is not None:
                return filled
        return None


def compile_finding(spec: Mapping[str, Any] | None,
                    condition: Callable[[Any], Condition]) -> Compiled | None:
    """``spec`` (a rule's ``finding``) ready to fill; ``condition`` compiles a ``when``."""
    if not spec:
        return None
    texts = _text_of(spec.get("text"))
    alts = tuple((condition(w) if w is not None else None, parse(" ".join(text.split())))
                 for w, text in texts)
    advice = tuple((str(k), " ".join(str(v).split()))
                   for k, v in (spec.get("advice") or {}).items())
    read = [f for _, t in alts for f in t.facts]
    for w, _ in texts:
        read += _condition_facts(w)
    return Compiled(" ".join(str(spec.get("title") or "").split()), alts, advice,
                    tuple(dict.fromkeys(read)))


def _condition_facts(cond: Any) -> list[str]:
    if not isinstance(cond, dict):
        return []
    if "fact" in cond:
        return [str(cond["fact"])]
    return [f for k in ("all", "any", "none") for c in cond.get(k) or [] for f in
            _condition_facts(c)]
