"""``undone applications refresh``: download the vendors' release feeds, or read a folder of
them, and write a new application catalogue (:mod:`scanner.lifecycle.applications.catalogue`).

Online, each feed below is fetched (HTTP GET, at most
:data:`scanner.lifecycle.applications.catalogue.MAX_FILE_BYTES` each, a timeout per request) into a
temporary folder laid out as ``--from`` expects, with ``fetched.json`` recording the day; then
the catalogue is built from it. ``--mirror URL`` fetches ``URL/<host>/<path>`` instead of
``https://<host>/<path>`` (a site that reaches the internet through a mirror; the tests use a
loopback server). ``--save DIR`` keeps the downloaded folder, to carry to a scanner with no
internet (``--from DIR`` there). Any feed that fails stops the refresh before anything is
written: the catalogue in use stays as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.lifecycle.applications import catalogue
from scanner.lifecycle.applications import sources as lifecycle_sources

CHROME_PLATFORMS = ("win64", "mac", "linux")
CHROME_PAGES = 5  # pages of 1000 releases per platform: years of Chrome stable releases
# Microsoft 365 Apps channels: the LatestRelease path part, and undone's channel name
M365_PATHS = (
    ("Monthly", "Current"),
    ("MonthlyEnterpriseChannel", "MonthlyEnterprise"),
    ("SAC", "SemiAnnual"),
    ("SACT", "SemiAnnualPreview"),
    ("MonthlyPreview", "CurrentPreview"),
)
# endoflife.date products whose cycles (API v1) and versions (release-data) are fetched;
# Firefox's versions come from Mozilla (endoflife.date does not mark ESR builds)
ENDOFLIFE_SLUGS = tuple(sorted(lifecycle_sources.ENDOFLIFE))


@dataclass(frozen=True)
class Feed:
    path: str  # where it goes in the folder
    url: str
    pages: int = 1  # VersionHistory answers come in pages (nextPageToken)


def feeds() -> list[Feed]:
    out = [
        Feed("mozilla/firefox.json", "https://product-details.mozilla.org/1.0/firefox.json"),
        Feed("mozilla/thunderbird.json",
             "https://product-details.mozilla.org/1.0/thunderbird.json"),
    ]
    out += [Feed(f"chrome/{p}.json", "https://versionhistory.googleapis.com/v1/chrome/platforms/"
                 f"{p}/channels/stable/versions/all/releases?pageSize=1000", CHROME_PAGES)
            for p in CHROME_PLATFORMS]
    out += [Feed(f"microsoft365/{name}.json",
                 f"https://clients.config.office.net/releases/v1.0/LatestRelease/{part}")
            for part, name in M365_PATHS]
    for slug in ENDOFLIFE_SLUGS:
        out.append(Feed(f"endoflife-api/{slug}.json",
                        f"https://endoflife.date/api/v1/products/{slug}"))
        if slug not in ("firefox", "chrome"):
            out.append(Feed(f"release-data/{slug}.json", "https://raw.githubusercontent.com/"
                            f"endoflife-date/release-data/main/releases/{slug}.json"))
    return out


class FetchError(Exception):
    pass


def _url(url: str, mirror: str | None) -> str:
    if not mirror:
        return url
    parts = urllib.parse.urlsplit(url)
    base = mirror.rstrip("/")
    return f"{base}/{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def _get(url: str, timeout: float) -> bytes:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise FetchError(f"{url[:200]}: only http and https URLs are fetched")
    req = urllib.request.Request(url, headers={  # noqa: S310 - the scheme is checked above
        "User-Agent": f"undone/{__version__} (application release catalogue)",
        "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - checked above
            data: bytes = resp.read(catalogue.MAX_FILE_BYTES + 1)
    except urllib.error.HTTPError as e:
        raise FetchError(f"{url[:200]}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        reason = getattr(e, "reason", None) or e
        raise FetchError(f"{url[:200]}: {reason}") from None
    if len(data) > catalogue.MAX_FILE_BYTES:
        raise FetchError(f"{url[:200]}: more than {catalogue.MAX_FILE_BYTES} bytes")
    return data


def download(folder: Path, mirror: str | None = None, timeout: float = 30.0,
             only: list[Feed] | None = None) -> list[str]:
    """Fetch every feed into ``folder`` (see :func:`feeds`) and record the day in
    ``fetched.json``. Returns the URLs fetched."""
    fetched: dict[str, str] = {}
    today = datetime.now(UTC).date().isoformat()
    urls: list[str] = []
    for feed in only if only is not None else feeds():
        target = folder / feed.path
        target.parent.mkdir(parents=True, exist_ok=True)
        url = _url(feed.url, mirror)
        if feed.pages > 1:
            releases: list[Any] = []
            token = ""
            for _ in range(feed.pages):
                page_url = url + (f"&pageToken={urllib.parse.quote(token)}" if token else "")
                urls.append(page_url)
                doc = _json(_get(page_url, timeout), page_url)
                page = doc.get("releases") if isinstance(doc, dict) else None
                if not isinstance(page, list):
                    raise FetchError(f"{page_url[:200]}: no 'releases' list in the answer")
                releases.extend(page)
                token = str(doc.get("nextPageToken") or "")
                if not token:
                    break
            target.write_text(json.dumps({"releases": releases}), encoding="utf-8")
        else:
            urls.append(url)
            data = _get(url, timeout)
            _json(data, url)  # only JSON is kept
            target.write_bytes(data)
        key = {"chrome": "chrome", "microsoft365": "microsoft365"}.get(
            feed.path.split("/", 1)[0], feed.path)
        fetched[key] = today
    (folder / catalogue.FETCHED_FILE).write_text(json.dumps(fetched, indent=1, sort_keys=True),
                                                encoding="utf-8")
    return urls


def _json(data: bytes, url: str) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise FetchError(f"{url[:200]}: the answer is not JSON") from None


def refresh(src: Path | None = None, out: Path | None = None, mirror: str | None = None,
            snapshot_date: str | None = None, save: Path | None = None,
            timeout: float = 30.0) -> dict[str, Any]:
    """Build a new catalogue from ``src`` (a folder) or, without it, from the feeds online,
    and write it to ``out`` (default :func:`catalogue.user_dir`). Nothing is written unless
    every feed was read. Returns what was written."""
    target = out or catalogue.user_dir()
    try:
        previous: catalogue.Catalogue | None = catalogue.load()
    except Exception:  # noqa: BLE001 - a broken previous catalogue is replaced, not merged
        previous = None
    tmp: str | None = None
    try:
        if src is None:
            tmp = tempfile.mkdtemp(prefix="undone-feeds-")
            try:
                download(Path(tmp), mirror, timeout)
            except FetchError as e:
                raise catalogue.BuildError(f"download failed, nothing written: {e}") from None
            src = Path(tmp)
            if save is not None:
                shutil.copytree(tmp, save, dirs_exist_ok=True)
        new = lifecycle_sources.build(src, snapshot_date, previous)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    text = catalogue.to_json(new)
    try:
        target.mkdir(parents=True, exist_ok=True)
        _write_atomic(target / catalogue.CATALOGUE_FILE, text)
    except OSError as e:
        raise catalogue.BuildError(f"{target}: cannot write the catalogue there "
                                   f"({e.strerror or e}); expected a writable folder (--out, "
                                   "or $UNDONE_APPLICATIONS_DIR)") from None
    return {"catalogue": str(target / catalogue.CATALOGUE_FILE),
            "snapshot_date": new.snapshot_date.isoformat(),
            "products": len(new.products), "sources": list(new.sources)}


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
