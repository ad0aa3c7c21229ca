"""Plain HTTPS reads of a tenant's APIs: GET only, paging, throttling, and errors a person can act
on, recorded call by call in a bundle (probes/cloud/_common.py documents its shape).

- :class:`ReadOnlySession` refuses any method but GET, and any URL outside the origins it was
  made for: a ``@odata.nextLink`` or a redirect pointing elsewhere never receives the tenant's
  token. Redirects are not followed.
- :class:`Reader` makes one named call (all its pages), retries a 429 after its
  ``Retry-After`` (and a 5xx after a short pause) within bounds, caps the size of every page and
  the number of pages, and records the call: request, time, HTTP status, pages, items, and on
  failure its ``kind``, the API's error code and a one-line reason naming the missing permission
  or licence (from the call's catalogue entry in probes/cloud/entra.py or google.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests


class ReadOnlyViolation(RuntimeError):
    """Something tried to send a request that is not a GET, or to another origin."""


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Session(requests.Session):
    """A requests session whose own ``verify`` (a CA file) wins over the environment's
    ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``, which requests would otherwise prefer for any
    request that does not pass ``verify`` itself (as MSAL's and google-auth's do not)."""

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        settings: Any = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str) and verify in (None, True):
            settings["verify"] = self.verify
        return settings


class ReadOnlySession(Session):
    """A requests session that only GETs, and only from ``origins``."""

    def __init__(self, origins: list[str], verify: str | bool = True) -> None:
        super().__init__()
        self.origins = {origin(o) for o in origins}
        self.verify = verify
        self.max_redirects = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        verb = method.decode() if isinstance(method, bytes) else str(method)
        target = url.decode() if isinstance(url, bytes) else str(url)
        if verb.upper() != "GET":
            raise ReadOnlyViolation(f"refused a {verb} request: undone only reads tenants")
        if origin(target) not in self.origins:
            raise ReadOnlyViolation(f"refused a request to {origin(target)}: not the API's own "
                                    "origin")
        kwargs["allow_redirects"] = False
        return super().request("GET", target, *args, **kwargs)


@dataclass
class Limits:
    request_timeout: float = 30.0
    max_retries: int = 4  # per request, for 429 and 5xx
    max_retry_wait: float = 60.0  # a Retry-After longer than this is not waited for
    max_total_wait: float = 180.0  # all waits of one tenant together
    max_page_bytes: int = 32 * 1024 * 1024
    max_pages: int = 2000


@dataclass
class Failure(Exception):
    status: int | None
    kind: str
    code: str | None
    reason: str

    def __str__(self) -> str:
        return self.reason


Classifier = Callable[[int, dict[str, Any]], tuple[str, str | None, str]]


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Reader:
    """Reads one tenant's API with a bearer token; records every call into ``calls``/``data``."""

    session: ReadOnlySession
    token: str
    classify: Classifier
    limits: Limits = field(default_factory=Limits)
    deadline: float = float("inf")  # time.monotonic() after which no request starts
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    waited: float = 0.0
    requests_made: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _get(self, url: str) -> tuple[int, dict[str, Any]]:
        """One GET with retries; returns (status, JSON object) or raises Failure."""
        attempt = 0
        while True:
            if time.monotonic() > self.deadline:
                raise Failure(None, "timeout", None, "not read: the tenant's time limit ran out")
            try:
                with self.session.get(url, headers={"Authorization": f"Bearer {self.token}",
                                                    "Accept": "application/json"},
                                      timeout=self.limits.request_timeout, stream=True) as resp:
                    with self._lock:
                        self.requests_made += 1
                    body = self._body(resp)
                    status = resp.status_code
                    retry_after = resp.headers.get("Retry-After")
            except ReadOnlyViolation:
                raise
            except requests.exceptions.SSLError as e:
                raise Failure(None, "network", None, f"TLS failed: {_short(e)}") from None
            except requests.RequestException as e:
                raise Failure(None, "network", None, f"no answer: {_short(e)}") from None
            if status == 200:
                if not isinstance(body, dict):
                    raise Failure(status, "bad-response", None, "the answer is not a JSON object")
                return status, body
            retriable = status == 429 or status >= 500
            if retriable and attempt < self.limits.max_retries:
                wait = _retry_after(retry_after, self.clock())
                if wait is None:
                    wait = min(2.0 ** attempt, 8.0)
                if wait <= self.limits.max_retry_wait and (
                        self.waited + wait <= self.limits.max_total_wait):
                    with self._lock:
                        self.waited += wait
                    self.sleep(wait)
                    attempt += 1
                    continue
            if status == 429:
                raise Failure(status, "throttled", "TooManyRequests",
                              f"throttled by the API (HTTP 429, Retry-After {retry_after}) after "
                              f"{attempt + 1} tries: run again later")
            if 300 <= status < 400:
                raise Failure(status, "bad-response", None, f"redirected (HTTP {status}): not "
                                                            "followed")
            kind, code, reason = self.classify(status, body if isinstance(body, dict) else {})
            raise Failure(status, kind, code, reason)

    def _body(self, resp: requests.Response) -> Any:
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > self.limits.max_page_bytes:
                raise Failure(resp.status_code, "bad-response", None,
                              f"the answer exceeds {self.limits.max_page_bytes} bytes")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def call(self, name: str, url: str, *, items: str | None = None, paging: str = "none",
             params: dict[str, str] | None = None) -> Any:
        """Read ``url`` (with ``params``) into ``data[name]``; ``items`` is the key holding the
        list (``value`` for Graph, ``users``/``items``/... for Google) and ``paging`` how pages
        continue: ``odata`` (``@odata.nextLink``), ``google`` (``nextPageToken``) or ``none``.
        Returns the data, or None when the call failed (recorded with its reason)."""
        first = url + (("&" if "?" in url else "?") + urlencode(params) if params else "")
        record: dict[str, Any] = {"request": f"GET {first}", "at": _iso(self.clock()),
                                  "status": None, "ok": False, "pages": 0, "items": None,
                                  "error": None}
        with self._lock:
            self.calls[name] = record
        out: list[Any] = []
        page_url: str | None = first
        token_param: str | None = None
        try:
            while page_url is not None:
                if record["pages"] >= self.limits.max_pages:
                    raise Failure(None, "bad-response", None,
                                  f"more than {self.limits.max_pages} pages")
                status, body = self._get(page_url)
                record["status"] = status
                record["pages"] += 1
                if items is None:
                    result: Any = body
                    break
                got = body.get(items, [])
                if not isinstance(got, list):
                    raise Failure(status, "bad-response", None, f"'{items}' is not a list")
                out.extend(got)
                result = out
                page_url = None
                if paging == "odata":
                    nxt = body.get("@odata.nextLink")
                    page_url = nxt if isinstance(nxt, str) and nxt else None
                elif paging == "google":
                    token_param = body.get("nextPageToken") if isinstance(
                        body.get("nextPageToken"), str) else None
                    if token_param:
                        page_url = first + ("&" if "?" in first else "?") + urlencode(
                            {"pageToken": token_param})
        except Failure as f:
            record.update(status=f.status if f.status is not None else record["status"],
                          error={"kind": f.kind, "code": f.code, "reason": f.reason})
            if f.status is not None:
                record["status"] = f.status
            return None
        except ReadOnlyViolation as e:
            record["error"] = {"kind": "refused", "code": None, "reason": str(e)}
            return None
        record["ok"] = True
        record["items"] = len(result) if isinstance(result, list) else None
        with self._lock:
            self.data[name] = result
        return result

    def note(self, name: str, request: str, kind: str, reason: str) -> None:
        """Record a call that was not made, and why (a licence the tenant lacks, a cap)."""
        with self._lock:
            self.calls[name] = {"request": f"GET {request}", "at": _iso(self.clock()),
                                "status": None, "ok": False, "pages": 0, "items": None,
                                "error": {"kind": kind, "code": None, "reason": reason}}


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
