"""The webhook channel's send-time checks."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from scanner.channels import NotSent, webhook


def test_headers_never_go_over_plain_http_from_url_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inventory refuses ``headers_env`` with an ``http://`` ``url`` that is not this
    machine's; a URL read from ``url_env`` at send time is refused the same way, before anything
    is sent (before: the token went out readable). Nothing connects: the opener is a stand-in."""
    opened: list[Any] = []

    class Opener:
        def open(self, req: Any, timeout: float) -> Any:
            opened.append(req)
            raise OSError("the test's stand-in opener sends nothing")

    monkeypatch.setattr(urllib.request, "build_opener", lambda *a: Opener())
    monkeypatch.setenv("HOOK_URL", "http://hooks.example.org/abc")
    monkeypatch.setenv("HOOK_HEADERS", "Authorization: Bearer s3cret")
    cfg = {"url": None, "url_env": "HOOK_URL", "headers_env": "HOOK_HEADERS", "on": None}
    with pytest.raises(NotSent, match="plain http") as e:
        webhook.send(cfg, {"text": "x"}, 1.0)
    assert opened == []
    assert "s3cret" not in str(e.value) and "/abc" not in str(e.value)
    # https, or a receiver on this machine, is taken
    for url in ("https://hooks.example.org/abc", "http://127.0.0.1:9/abc"):
        monkeypatch.setenv("HOOK_URL", url)
        with pytest.raises(NotSent, match="stand-in"):
            webhook.send(cfg, {"text": "x"}, 1.0)
    assert [r.get_header("Authorization") for r in opened] == ["Bearer s3cret"] * 2
    # no headers: plain http is the inventory's choice
    monkeypatch.delenv("HOOK_HEADERS")
    monkeypatch.setenv("HOOK_URL", "http://hooks.example.org/abc")
    with pytest.raises(NotSent, match="stand-in"):
        webhook.send({**cfg, "headers_env": None}, {"text": "x"}, 1.0)


@pytest.mark.parametrize(("url", "headers"), [
    # a space in the path: http.client's InvalidURL quoted the path (the chat webhook's secret)
    ("http://127.0.0.1:9/services/T0/B0/SECRETTOKEN x", None),
    # a port that is no number: urlsplit's ValueError quoted it
    ("http://127.0.0.1:SECRETTOKEN/hook", None),
])
def test_a_send_error_never_quotes_the_url_or_a_header(
        monkeypatch: pytest.MonkeyPatch, url: str, headers: str | None) -> None:
    """Nothing is sent: each of these fails before a connection (port 9 is never reached)."""
    monkeypatch.setenv("HOOK_URL", url)
    if headers is not None:
        monkeypatch.setenv("HOOK_HEADERS", headers)
    cfg = {"url": None, "url_env": "HOOK_URL",
           "headers_env": "HOOK_HEADERS" if headers else None, "on": None}
    with pytest.raises(NotSent) as e:
        webhook.send(cfg, {"text": "x"}, 1.0)
    assert "SECRETTOKEN" not in str(e.value), str(e.value)
    assert "HOOK_URL" in str(e.value) or "127.0.0.1" in str(e.value)
