"""``undone advisories``: the security advisory catalogue that dates pending updates.

``undone advisories refresh`` downloads the Debian security tracker's DSA and DLA lists and
Canonical's USN data (OSV) and keeps a compact index of them in the user's data folder:
``$UNDONE_ADVISORIES_DIR``, else ``$XDG_DATA_HOME/undone/advisories``, else
``~/.local/share/undone/advisories`` (or ``--out``). ``--from DIR`` builds it from files brought
in by hand, for machines without internet (what the folder may hold:
scanner/lifecycle/advisories.py).
``--only debian`` or ``--only ubuntu`` refreshes one side and keeps the other.

``undone advisories status`` says what the catalogue holds (sources, releases, newest advisory)
and how old it is.
"""

from __future__ import annotations

from pathlib import Path

import click

from reports import clean
from scanner import clock
from scanner.lifecycle import advisories
from scanner.lifecycle import advisories_refresh as lifecycle_advisories_refresh


@click.group("advisories")
def advisories_group() -> None:
    """The advisory catalogue: when each Debian and Ubuntu security fix was published."""


@advisories_group.command("refresh")
@click.option("--from", "src", type=click.Path(file_okay=False, exists=True),
              help="Build from files instead of downloading: DSA/list, DLA/list (or a clone of "
                   "the Debian security-tracker repository), osv-all.tar.xz or USN-*.json.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Where to write advisories.json (default: the user data folder; see "
                   "`undone advisories status`).")
@click.option("--only", type=click.Choice(["debian", "ubuntu"]),
              help="Refresh one distribution's sources; the other's stay as they were.")
@click.option("--dsa-url", metavar="URL", help=f"Another place for the DSA list (a mirror; "
              f"default {advisories.DSA_URL}).")
@click.option("--dla-url", metavar="URL", help="Another place for the DLA list.")
@click.option("--usn-url", metavar="URL", help=f"Another place for the USN tarball (default "
              f"{advisories.USN_URL}).")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def refresh_cmd(src: str | None, out: str | None, only: str | None, dsa_url: str | None,
                dla_url: str | None, usn_url: str | None, debug: bool) -> None:
    """Download (or read with --from) the advisory lists and rebuild the catalogue."""
    from scanner.cli.boundary import guard as _guard

    urls = {k: v for k, v in (("debian-dsa", dsa_url), ("debian-dla", dla_url),
                              ("ubuntu-usn", usn_url)) if v}
    raise SystemExit(_guard(_refresh, debug, src, out, only, urls))


def _refresh(src: str | None, out: str | None, only: str | None, urls: dict[str, str]) -> int:
    from scanner.errors import InputError

    if src is not None and urls:
        raise InputError("advisories refresh: --from reads files; the --*-url options are for "
                         "downloading (give one or the other)")
    try:
        done = lifecycle_advisories_refresh.refresh(Path(src) if src else None,
                                                    Path(out) if out else None, only, urls)
    except advisories.AdvisoryError as e:
        raise InputError(f"advisories refresh: {e}") from None
    for name, meta in done["sources"].items():
        click.echo(clean(f"{name}: {meta['advisories']} advisories, newest {meta['newest']}, "
                         f"releases {', '.join(meta['releases']) or 'none'} "
                         f"(from {meta['origin']})"))
    if done["kept"]:
        click.echo(clean(f"kept as they were: {', '.join(done['kept'])}"))
    click.echo(clean(f"{done['path']}: {done['bytes']} bytes"))
    return 0


@advisories_group.command("status")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def status_cmd(debug: bool) -> None:
    """What the advisory catalogue holds and how old it is."""
    from scanner.cli.boundary import guard as _guard

    raise SystemExit(_guard(_status, debug))


def _age(day: str | None) -> str:
    if not day:
        return "unknown age"
    from datetime import date

    try:
        days = (clock.now().date() - date.fromisoformat(day[:10])).days
    except ValueError:
        return "unknown age"
    return f"{days} day{'s' if days != 1 else ''} ago"


def _status() -> int:
    from scanner.errors import InputError

    where = advisories.user_dir() / advisories.FILE
    try:
        cat = advisories.load()
    except advisories.AdvisoryError as e:
        raise InputError(f"advisories status: {e}") from None
    if cat is None:
        click.echo(clean(f"no advisory catalogue yet ({where}): pending Debian and Ubuntu "
                         "updates are dated only by the scan history or bounded; run "
                         "`undone advisories refresh`"))
        return 0
    click.echo(clean(f"catalogue: {cat.label}, refreshed {cat.built_at} "
                     f"({_age(cat.built_at)})"))
    for name in advisories.SOURCES:
        meta = cat.sources.get(name)
        if meta is None:
            click.echo(clean(f"{name}: none (`undone advisories refresh` fetches it)"))
            continue
        releases = meta.get("releases") or {}
        held = ", ".join(f"{r} ({n} package{'s' if n != 1 else ''})"
                         for r, n in releases.items()) or "none"
        click.echo(clean(
            f"{name}: {meta.get('advisories')} advisories, newest {meta.get('newest')} "
            f"({_age(meta.get('newest'))}), releases {held}"))
        click.echo(clean(f"  from {meta.get('origin')}; terms: {meta.get('terms')}"))
    for distro in advisories.DISTRO_SOURCES:
        missing = cat.missing(distro)
        if missing:
            click.echo(clean(f"{distro}: not dated by advisories: {missing}"))
    return 0
