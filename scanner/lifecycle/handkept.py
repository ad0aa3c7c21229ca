"""The hand-kept overlay (``baselines/lifecycle/overlay.yaml``): entries for vendors
endoflife.date lacks, each cycle citing a vendor ``source`` URL and the date it was
``checked_on``; merged over the upstream catalogue when it loads (an overlay cycle replaces an
upstream cycle of the same name, and says where it came from).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from scanner.errors import InputError
from scanner.lifecycle.model import (
    _DATE_RE,
    _SLUG_RE,
    OVERLAY_SCHEMA,
    Catalogue,
    Product,
    Release,
)

# --------------------------------------------------------------------------------------------
# Overlay (hand-kept entries for vendors endoflife.date lacks)
# --------------------------------------------------------------------------------------------

_OVERLAY_TOP_KEYS = {"schema", "products"}
_OVERLAY_PRODUCT_KEYS = {"product", "title", "category", "release_policy_link", "cycles"}
_OVERLAY_CYCLE_REQUIRED = ("cycle", "eol", "source", "checked_on")
_OVERLAY_CYCLE_KEYS = set(_OVERLAY_CYCLE_REQUIRED) | {
    "release_date",
    "eoas",
    "eoes",
    "lts",
    "latest",
    "latest_date",
    "codename",
    "label",
}


@dataclass(frozen=True)
class OverlayProduct:
    """One product of an overlay file: its cycles already as :class:`Release` values."""

    slug: str
    title: str | None
    category: str | None
    release_policy_link: str | None
    releases: tuple[Release, ...]
    versions: Mapping[str, date] = field(default_factory=dict)


def _yaml_date(value: Any, where: str, *, flags: bool) -> tuple[date | None, bool]:
    """A YAML date field: a date (unquoted or ISO string), or with ``flags`` true/false.
    Returns (date, flag)."""
    if flags and isinstance(value, bool):
        return None, value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value, False
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip()), False
        except ValueError:
            pass
    allowed = "a date (YYYY-MM-DD), true or false" if flags else "a date (YYYY-MM-DD)"
    raise InputError(f"{where}: expected {allowed}, got {value!r}")


def _yaml_str(value: Any, where: str) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    hint = " (quote it: YAML reads 24.10 as the number 24.1)" if isinstance(value, float) else ""
    raise InputError(f"{where}: expected a non-empty string, got {value!r}{hint}")


def _unknown_keys(got: Iterable[Any], allowed: set[str], where: str) -> list[str]:
    return [
        f"{where}: unknown key {k!r} (expected one of: {', '.join(sorted(allowed))})"
        for k in got
        if k not in allowed
    ]


def parse_overlay(doc: Any, label: str) -> list[OverlayProduct]:
    """Validate an overlay document (already parsed YAML). Every cycle needs ``cycle``, ``eol``,
    ``source`` (an http(s) URL of the vendor's own lifecycle page) and ``checked_on`` (the date
    someone read that page). All problems are reported at once as an :class:`InputError`."""
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise InputError(f"{label}: expected a mapping with 'schema' and 'products'")
    problems = _unknown_keys(doc, _OVERLAY_TOP_KEYS, label)
    if doc.get("schema") != OVERLAY_SCHEMA:
        problems.append(f"{label}: schema: expected {OVERLAY_SCHEMA!r}, got {doc.get('schema')!r}")
    raw_products = doc.get("products")
    if raw_products is None:
        raw_products = []
    if not isinstance(raw_products, list):
        problems.append(f"{label}: products: expected a list")
        raw_products = []
    out: list[OverlayProduct] = []
    seen_products: set[str] = set()
    for i, rp in enumerate(raw_products):
        where = f"{label}: products[{i}]"
        if not isinstance(rp, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        problems += _unknown_keys(rp, _OVERLAY_PRODUCT_KEYS, where)
        try:
            slug = _yaml_str(rp.get("product"), f"{where}.product")
            if not _SLUG_RE.match(slug):
                raise InputError(f"{where}.product: {slug!r} is not a slug (a-z, 0-9, '-', '.')")
            if slug in seen_products:
                raise InputError(f"{where}.product: {slug!r} appears twice")
            seen_products.add(slug)
            title = None if rp.get("title") is None else _yaml_str(rp["title"], f"{where}.title")
            category = rp.get("category")
            category = None if category is None else _yaml_str(category, f"{where}.category")
            link = rp.get("release_policy_link")
            link = None if link is None else _yaml_str(link, f"{where}.release_policy_link")
        except InputError as e:
            problems += e.problems
            continue
        cycles = rp.get("cycles")
        if not isinstance(cycles, list) or not cycles:
            problems.append(f"{where}.cycles: expected a non-empty list")
            continue
        releases: list[Release] = []
        seen_cycles: set[str] = set()
        for j, rc in enumerate(cycles):
            cw = f"{where}.cycles[{j}]"
            if not isinstance(rc, dict):
                problems.append(f"{cw}: expected a mapping")
                continue
            problems += _unknown_keys(rc, _OVERLAY_CYCLE_KEYS, cw)
            missing = [k for k in _OVERLAY_CYCLE_REQUIRED if k not in rc]
            if missing:
                problems.append(f"{cw}: missing {', '.join(repr(k) for k in missing)}")
                continue
            try:
                releases.append(_overlay_release(slug, title or slug, rc, cw, seen_cycles))
            except InputError as e:
                problems += e.problems
        out.append(OverlayProduct(slug, title, category, link, tuple(releases)))
    if problems:
        raise InputError(problems)
    return out


def _overlay_release(slug: str, title: str, rc: dict[str, Any], cw: str, seen: set[str]) -> Release:
    problems: list[str] = []

    def text(key: str, required: bool = False) -> str | None:
        if rc.get(key) is None and not required:
            return None
        try:
            return _yaml_str(rc.get(key), f"{cw}.{key}")
        except InputError as e:
            problems.extend(e.problems)
            return None

    def when(key: str, flags: bool, required: bool = False) -> tuple[date | None, bool]:
        if rc.get(key) is None and not required:
            return None, False
        try:
            return _yaml_date(rc.get(key), f"{cw}.{key}", flags=flags)
        except InputError as e:
            problems.extend(e.problems)
            return None, False

    cycle = text("cycle", required=True)
    if cycle is not None:
        if cycle in seen:
            problems.append(f"{cw}.cycle: {cycle!r} appears twice")
        seen.add(cycle)
    source = text("source", required=True)
    if source is not None and not re.match(r"^https?://\S+$", source):
        problems.append(f"{cw}.source: expected the http(s) URL of the vendor page, not {source!r}")
    checked_on, _ = when("checked_on", flags=False, required=True)
    eol, eol_flag = when("eol", flags=True, required=True)
    release_date, _ = when("release_date", flags=False)
    eoas, eoas_flag = when("eoas", flags=True)
    eoes, eoes_flag = when("eoes", flags=True)
    latest_date, _ = when("latest_date", flags=False)
    latest, codename, label = text("latest"), text("codename"), text("label")
    lts = rc.get("lts", False)
    if not isinstance(lts, bool):
        problems.append(f"{cw}.lts: expected true or false, got {lts!r}")
    if problems or cycle is None or source is None:
        raise InputError(problems)
    return Release(
        product=slug,
        cycle=cycle,
        title=title,
        release_date=release_date,
        eol=eol,
        eol_flag=eol_flag,
        eoas=eoas,
        eoes=eoes,
        lts=lts is True,
        latest=latest,
        latest_date=latest_date,
        codename=codename,
        label=label,
        eoas_flag=eoas_flag,
        eoes_flag=eoes_flag,
        source=source,
        checked_on=checked_on,
    )


def merge_overlay(
    cat: Catalogue, overlay: Sequence[OverlayProduct], *, replace_cycles: bool = True
) -> Catalogue:
    """A new catalogue with the overlay merged: a new product is added (it then needs a
    ``title``); a cycle of an existing product replaces the upstream cycle of the same name
    (unless ``replace_cycles`` is false: then the upstream cycle stays) or is added before the
    upstream ones. Each merged :class:`Release` keeps its ``source``."""
    if not overlay:
        return cat
    products = dict(cat.products)
    for op in overlay:
        base = products.get(op.slug)
        if base is None:
            if op.title is None:
                raise InputError(
                    f"overlay product {op.slug!r}: not in the catalogue, so it needs a 'title'"
                )
            products[op.slug] = Product(
                op.slug, op.title, op.category, op.release_policy_link, op.releases,
                dict(op.versions)
            )
            continue
        title = op.title or base.title
        ours = {r.cycle: replace(r, title=title) for r in op.releases
                if replace_cycles or base.release(r.cycle) is None}
        added = [r for r in ours.values() if base.release(r.cycle) is None]
        merged = [ours.get(r.cycle, replace(r, title=title)) for r in base.releases]
        products[op.slug] = Product(
            op.slug,
            title,
            op.category or base.category,
            op.release_policy_link or base.release_policy_link,
            tuple(added + merged),
            {**base.versions, **op.versions},
        )
    return Catalogue(cat.snapshot_date, products, cat.sources, cat.label)
