"""The ``webhook`` channel: the message as a JSON POST, ``text`` for chat systems (Slack,
Mattermost, Teams: :func:`chat` escaping) and ``undone`` (the change document) for ticketing
systems.

Its settings, the inventory's ``notify.webhook``: ``url``, or ``url_env`` (the NAME of an
environment variable holding a URL that is itself a secret, as chat webhooks are),
``headers_env`` (the NAME of an environment variable holding ``Name: value`` lines, such as an
``Authorization`` header; https only, but for a receiver on this machine, whether the URL is
written or read from ``url_env``) and ``on``. A redirect is never followed.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from scanner import __version__
from scanner.channels.base import Checker, News, NotSent, env
from scanner.channels.message import chat, text
from scanner.channels.settings import http_url, kinds, on_key, unknown_keys

KEYS = ("url", "url_env", "headers_env", "on")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


# -- its settings --------------------------------------------------------------------------------

def check(raw: Any, where: str, c: Checker) -> dict[str, Any] | None:
    """``notify.webhook`` checked and normalised (every key present); None after a problem."""
    if not isinstance(raw, dict):
        c.problem(where, f"expected a mapping with url (or url_env), found {c.type_name(raw)}")
        return None
    raw = on_key(raw)
    before = c.problems()
    unknown_keys(raw, KEYS, where, c)
    url = None
    if ("url" in raw) == ("url_env" in raw):
        c.problem(where, "expected one of 'url' or 'url_env' (the NAME of an environment "
                         "variable holding a URL that is itself a secret, as chat webhooks are)")
    elif "url" in raw:
        url = http_url(raw["url"], where, "url", c)
    else:
        c.value("envname", raw["url_env"], where, "url_env")
    headers_env = raw.get("headers_env")
    if headers_env is not None:
        c.value("envname", headers_env, where, "headers_env")
        if url is not None:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
                c.problem(where, "'headers_env' over plain http would send the token readable "
                                 "on the network; use an https:// URL")
    on = kinds(raw["on"], where, c) if "on" in raw else None
    if c.problems() > before:
        return None
    return {"url": url, "url_env": raw.get("url_env"), "headers_env": headers_env, "on": on}


# -- sending -------------------------------------------------------------------------------------

def payload(change: Mapping[str, Any], body: str, report_url: str | None) -> dict[str, Any]:
    """The webhook's JSON: ``text`` (what chat systems such as Slack and Mattermost show) and
    ``undone`` (the change document, for ticketing systems)."""
    doc = {k: change[k] for k in ("schema", "estate", "inventory", "scan", "previous", "counts",
                                  "total", "changes", "now")}
    if report_url:
        doc["report_url"] = report_url
    return {"text": body, "undone": doc}


def compose(cfg: Mapping[str, Any], news: News) -> dict[str, Any]:
    """The JSON to POST: the text escaped for chat (:func:`chat`), and the change document."""
    return payload(news.change, text(news.change, news.report_url, esc=chat), news.report_url)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook answers where it is: following a redirect would carry the POST (and its
    headers, which may hold a token) to somewhere the inventory never named."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        raise NotSent(f"the webhook answered HTTP {code} (a redirect); redirects are not "
                      "followed: give the final URL")


def _headers(cfg: Mapping[str, Any]) -> dict[str, str]:
    name = cfg.get("headers_env")
    raw = env(name, "headers_env")
    out: dict[str, str] = {}
    if raw is None:
        return out
    for i, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or any(c in key for c in " \t\r"):
            raise NotSent(f"environment variable {name} (headers_env): line {i} is not "
                          "'Name: value'")
        out[key.strip()] = value.strip()
    return out


def send(cfg: Mapping[str, Any], data: dict[str, Any], timeout: float) -> str:
    """POST ``data`` as JSON to the URL (read from ``url_env`` at send time), with the headers
    ``headers_env`` holds; only the scheme, host and port are ever shown."""
    url = cfg.get("url") or env(cfg.get("url_env"), "url_env") or ""
    where = f"environment variable {cfg.get('url_env')}" if cfg.get("url_env") else "url"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:  # its text quotes the URL, which may be a secret
        raise NotSent(f"{where}: not an http(s) URL (a bad port)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotSent(f"{where}: not an http(s) URL")
    shown = f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}"
    headers = {"Content-Type": "application/json", "User-Agent": f"undone/{__version__}"}
    own = _headers(cfg)
    if own and parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        # the check of the inventory's 'url' (check), for a URL read from url_env at send time
        raise NotSent(f"webhook {shown}: 'headers_env' over plain http would send the token "
                      "readable on the network; not sent (use an https:// URL)")
    headers.update(own)
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked above
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(req, timeout=timeout) as resp:
            resp.read(65536)
            status = resp.status
    except urllib.error.HTTPError as e:
        raise NotSent(f"webhook {shown} answered HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        why = getattr(e, "reason", e)
        raise NotSent(f"webhook {shown} failed: {why}") from None
    except (http.client.HTTPException, ValueError) as e:
        # http.client quotes the URL's path or a header's value in these (a chat webhook's path
        # and a token are secrets): only the kind of error is shown
        raise NotSent(f"webhook {shown}: the request could not be made ({type(e).__name__}: a "
                      f"character the URL or a header may not hold; {where} and headers_env are "
                      "not shown)") from None
    return f"webhook {shown} answered HTTP {status}"
