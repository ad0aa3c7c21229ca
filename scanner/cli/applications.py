"""``undone applications``: the application release catalogue (versions and their release
dates, product lines' end of support) that the application rules judge against.

``undone applications refresh`` downloads the vendors' release feeds (Mozilla's product-details,
Google's VersionHistory API, Microsoft 365 Apps' release API, endoflife.date's API and
release-data) and writes a new catalogue to ``$UNDONE_APPLICATIONS_DIR``, else
``$XDG_DATA_HOME/undone/applications``, else ``~/.local/share/undone/applications`` (or
``--out``); ``--from DIR`` builds it from a folder of the same feeds instead (a scanner without
internet: ``--save DIR`` on a machine with it). Nothing is written unless every feed was read.

``undone applications status`` says which catalogue a scan would use and how old each part of it
is: the rules need data at most 14 days old to call an application current.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import click

from reports import clean
from scanner.lifecycle.applications import UPDATE_DAYS, catalogue, feeds


@click.group("applications")
def applications_group() -> None:
    """The application release catalogue: release dates and end of support."""


@applications_group.command("refresh")
@click.option("--from", "src", type=click.Path(file_okay=False, exists=True),
              help="A folder of release feeds (see docs/applications.md) instead of the "
                   "internet.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Where to write catalogue.json (default: the user data folder; see "
                   "`undone applications status`).")
@click.option("--mirror", metavar="URL",
              help="Fetch URL/<host>/<path> instead of https://<host>/<path> (a mirror).")
@click.option("--save", type=click.Path(file_okay=False),
              help="Keep the downloaded feeds in this folder (for --from elsewhere).")
@click.option("--snapshot-date", metavar="YYYY-MM-DD",
              help="When the --from feeds were taken (default: the fetched.json a download "
                   "wrote, else the newest date in each feed, a lower bound).")
@click.option("--timeout", type=click.FloatRange(1, 600), default=30.0, show_default=True,
              help="Seconds to wait for each feed.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def refresh_cmd(src: str | None, out: str | None, mirror: str | None, save: str | None,
                snapshot_date: str | None, timeout: float, debug: bool) -> None:
    """Rebuild the application release catalogue from the vendors' feeds."""
    from scanner.cli.boundary import guard as _guard

    raise SystemExit(_guard(_refresh, debug, src, out, mirror, save, snapshot_date, timeout))


def _refresh(src: str | None, out: str | None, mirror: str | None, save: str | None,
             snapshot_date: str | None, timeout: float) -> int:
    from scanner.errors import InputError

    if mirror is not None and not mirror.startswith(("http://", "https://")):
        raise InputError(f"--mirror {mirror[:80]!r}: expected an http:// or https:// URL")
    if src is not None and (mirror is not None or save is not None):
        raise InputError("--mirror and --save are for downloading; --from reads a folder")
    try:
        done = feeds.refresh(Path(src) if src else None, Path(out) if out else None, mirror,
                             snapshot_date, Path(save) if save else None, timeout)
    except (catalogue.BuildError, ValueError) as e:
        raise InputError(f"applications refresh: {e}") from None
    click.echo(clean(f"{done['catalogue']}: {done['products']} products, snapshot "
                     f"{done['snapshot_date']}"))
    for s in done["sources"]:
        click.echo(clean(f"  {s['id']}: {s['date']} ({s['date_basis']})"))
    return 0


@applications_group.command("status")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def status_cmd(debug: bool) -> None:
    """Which application catalogue a scan would use, and how old its data is."""
    from scanner.cli.boundary import guard as _guard

    raise SystemExit(_guard(_status, debug))


def _status() -> int:
    cat = catalogue.load()
    today = datetime.now(UTC).date()
    click.echo(clean(f"catalogue: {cat.label} (snapshot {cat.snapshot_date}, "
                     f"{cat.age_days(datetime.now(UTC))} days old, {len(cat.products)} "
                     "products)"))
    for pid in sorted(cat.products):
        p = cat.products[pid]
        dates = [t.as_of for t in p.tracks.values() if t.as_of is not None]
        newest = max(dates) if dates else None
        state = _state(newest, today)
        versions = sum(len(t.versions) for t in p.tracks.values())
        click.echo(clean(f"  {pid}: {versions} releases in {len(p.tracks)} lines, data as of "
                         f"{newest or 'unknown'} ({state}); {len(p.cycles)} release cycles"))
    click.echo(clean(f"refreshed catalogues go to: {catalogue.user_dir()}"))
    return 0


def _state(newest: date | None, today: date) -> str:
    if newest is None:
        return "no dates: cannot pass"
    age = (today - newest).days
    if age > UPDATE_DAYS:
        return f"{age} days old: can prove an application out of date, never current"
    return f"{age} days old: current enough to judge"
