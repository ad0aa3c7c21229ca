"""Build the shipped application catalogue (``baselines/applications``) from the project's
endoflife.date snapshot::

    python -m scanner.lifecycle.applications.build --from ../shared/data/endoflife \
        --out baselines/applications

writes ``catalogue.json`` and ``NOTICE.md`` (the MIT notice and the snapshot's commits, as the
lifecycle catalogue does). A test checks that the shipped files equal a fresh build. The shipped
catalogue is as old as that snapshot: it can prove an application out of date, never current
(``undone applications refresh`` brings data young enough for that).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from scanner.lifecycle.applications import catalogue
from scanner.lifecycle.applications import sources as lifecycle_sources
from scanner.lifecycle.build import MIT_BODY


def notice(cat: catalogue.Catalogue, source_md: str) -> str:
    flat = re.sub(r"\s+", " ", source_md)
    commits = [f"{repo} at commit `{sha}` ({when})" for repo, sha, when in re.findall(
        r"(endoflife-date/[\w.-]+)\b.*?at commit ([0-9a-f]{40}) \((\d{4}-\d{2}-\d{2})\)", flat)]
    prods = ", ".join(f"`{p}`" for p in sorted(cat.products))
    return (
        "# Application release data: sources and licences\n\n"
        f"Snapshot date: **{cat.snapshot_date}**. Application rules need release data at most "
        "14 days old to pass anything; this shipped snapshot can only prove an application out "
        "of date or unsupported. Run `undone applications refresh` (online, or `--from DIR`).\n\n"
        "`catalogue.json` and this file are generated; do not edit them by hand:\n\n"
        "```\npython -m scanner.lifecycle.applications.build --from ../shared/data/endoflife "
        "--out baselines/applications\n```\n\n"
        "## endoflife.date\n\n"
        "Release cycles with their end of support (`products.json`, from the YAML front matter "
        "of `products/*.md` in https://github.com/endoflife-date/endoflife.date) and per-version "
        "release dates (`releases/*.json` in https://github.com/endoflife-date/release-data) "
        f"of: {prods}. Only data fields were kept. Taken from:\n\n"
        + "\n".join(f"- {c}" for c in commits[:6]) + "\n\n"
        "Both repositories are under the MIT licence:\n\n```\n"
        "Copyright 2020 endoflife.date contributors (endoflife-date/endoflife.date)\n"
        "Copyright (c) 2022 endoflife.date (endoflife-date/release-data)\n\n" + MIT_BODY + "```\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.lifecycle.applications.build")
    parser.add_argument("--from", dest="src", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    src, out = Path(args.src), Path(args.out)
    try:
        cat = lifecycle_sources.build(src)
        source_md = (src / "SOURCE.md").read_text(encoding="utf-8")
    except (catalogue.BuildError, OSError) as e:
        print(f"applications build: {e}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / catalogue.CATALOGUE_FILE).write_text(catalogue.to_json(cat), encoding="utf-8")
    (out / catalogue.NOTICE_FILE).write_text(notice(cat, source_md), encoding="utf-8")
    print(f"{out / catalogue.CATALOGUE_FILE}: {len(cat.products)} products, snapshot "
          f"{cat.snapshot_date}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
