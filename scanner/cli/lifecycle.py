"""``undone lifecycle``: the lifecycle catalogue (end-of-life dates, version release dates, KEV).

``undone lifecycle refresh --from PATH`` rebuilds the catalogue from a newer endoflife.date export
(a folder with ``products.json`` and ``release-data/``, like ``../shared/data/endoflife``) into
a user-writable place, because the installed package may be read-only: ``$UNDONE_LIFECYCLE_DIR``,
else ``$XDG_DATA_HOME/undone/lifecycle``, else ``~/.local/share/undone/lifecycle`` (or ``--out``).
Scans use that catalogue instead of the shipped one when its snapshot is newer.
``--kev FILE`` takes a newer ``known_exploited_vulnerabilities.json`` from CISA as it is.

``undone lifecycle status`` says which catalogue a scan would use, how old it is, and where the
local overlay (``local-overlay.yaml``: rows with a source URL each, see docs/lifecycle.md) is.
"""

from __future__ import annotations

from pathlib import Path

import click

from reports import clean
from scanner import clock
from scanner.lifecycle import build as lifecycle_build
from scanner.lifecycle import catalogue as lifecycle
from scanner.lifecycle import catalogue_refresh as lifecycle_catalogue_refresh
from scanner.lifecycle import kev as lifecycle_kev


@click.group("lifecycle")
def lifecycle_group() -> None:
    """The lifecycle catalogue: end-of-life and release dates, known exploited CVEs."""


@lifecycle_group.command("refresh")
@click.option("--from", "src", required=True, type=click.Path(file_okay=False, exists=True),
              help="An endoflife.date export folder: products.json and release-data/.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Where to write catalogue.json (default: the user data folder; see "
                   "`undone lifecycle status`).")
@click.option("--snapshot-date", metavar="YYYY-MM-DD",
              help="The export's date (default: from a SOURCE.md beside products.json, else "
                   "the newest date in the data, a lower bound).")
@click.option("--kev", "kev_file", type=click.Path(dir_okay=False, exists=True),
              help="A newer known_exploited_vulnerabilities.json from CISA (used as it is).")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def refresh_cmd(src: str, out: str | None, snapshot_date: str | None, kev_file: str | None,
                debug: bool) -> None:
    """Rebuild the lifecycle catalogue from a newer endoflife.date export."""
    from scanner.cli.boundary import guard as _guard

    raise SystemExit(_guard(_refresh, debug, src, out, snapshot_date, kev_file))


def _refresh(src: str, out: str | None, snapshot_date: str | None, kev_file: str | None) -> int:
    from scanner.errors import InputError

    try:
        done = lifecycle_catalogue_refresh.refresh(Path(src), Path(out) if out else None,
                                                   snapshot_date,
                                                   Path(kev_file) if kev_file else None)
    except (lifecycle_build.BuildError, ValueError) as e:
        raise InputError(f"lifecycle refresh: {e}") from None
    click.echo(clean(f"{done['catalogue']}: {done['products']} products, snapshot "
                     f"{done['snapshot_date']} ({done['snapshot_basis']})"))
    if done.get("kev"):
        click.echo(clean(f"{done['kev']}: KEV catalogVersion {done['kev_catalog_version']}"))
    if done["used_instead_of_shipped"]:
        click.echo("scans now use it instead of the shipped catalogue "
                   f"(snapshot {done['shipped_snapshot_date']})")
    elif out is None:
        click.echo(clean(f"not newer than the shipped catalogue (snapshot "
                         f"{done['shipped_snapshot_date']}): scans keep using the shipped one"))
    return 0


@lifecycle_group.command("status")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def status_cmd(debug: bool) -> None:
    """Which lifecycle catalogue and KEV extract a scan would use, and how old they are."""
    from scanner.cli.boundary import guard as _guard

    raise SystemExit(_guard(_status, debug))


def _status() -> int:
    cat = lifecycle.load_catalogue()
    kev = lifecycle_kev.load_kev()
    age = cat.age_days(clock.now())
    click.echo(clean(f"catalogue: {cat.label} (snapshot {cat.snapshot_date}, {age} days old, "
                     f"{len(cat.products)} products)"))
    click.echo(clean(f"KEV: catalogVersion {kev.catalog_version}, {len(kev.entries)} entries"))
    click.echo(clean(f"refreshed catalogues go to: {lifecycle.user_dir()}"))
    local_file = lifecycle.user_dir() / "local-overlay.yaml"
    local = lifecycle.local_overlay(None)  # a bad file is exit 2 with its one-line problems
    if local_file.exists():
        click.echo(clean(f"local overlay: {local_file} ({len(local.firmware)} firmware and "
                         f"{len(local.hardware)} hardware rows)"))
    else:
        click.echo(clean(f"local overlay: none (rows go in {local_file}, or in an inventory's "
                         "lifecycle: section)"))
    return 0
