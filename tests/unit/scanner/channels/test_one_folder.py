"""Adding a notification channel is a change in one folder: a channel registered in
scanner.channels.CHANNELS alone (here a throwaway one, at test time) is a key the inventory takes
and checks with its own value checks, and a real scan with a change sends on it, with no change
to the inventory's or the operations' code."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner import channels, inventory, yamlio
from scanner.channels.base import Checker, News, NotSent
from scanner.channels.message import KINDS, subject, text
from scanner.channels.settings import kinds, on_key, unknown_keys
from scanner.errors import InputError
from scanner.ops import notify
from tests.unit.scanner.ops.test_notify import scan

HOSTS = "all:\n  hosts:\n    a.example.org:\n"


class Pigeon:
    """A channel as a newcomer would write it (a module in practice): takes ``loft`` (where to
    fly) and ``on``; sends by keeping the message in ``flown``."""

    KEYS = ("loft", "on")

    def __init__(self) -> None:
        self.flown: list[tuple[str, str, str]] = []

    def check(self, raw: Any, where: str, c: Checker) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            c.problem(where, f"expected a mapping with loft, found {c.type_name(raw)}")
            return None
        raw = on_key(raw)
        before = c.problems()
        unknown_keys(raw, self.KEYS, where, c)
        loft = c.value("str", raw.get("loft"), where, "loft")
        on = kinds(raw["on"], where, c) if "on" in raw else None
        return None if c.problems() > before else {"loft": loft, "on": on}

    def compose(self, cfg: Mapping[str, Any], news: News) -> tuple[str, str]:
        return subject(news.change), text(news.change, news.report_url)

    def send(self, cfg: Mapping[str, Any], message: tuple[str, str], timeout: float) -> str:
        if cfg["loft"] == "nowhere":
            raise NotSent("no loft called nowhere")
        self.flown.append((cfg["loft"], *message))
        return f"pigeon flew to {cfg['loft']}"


@pytest.fixture
def pigeon(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pigeon]:
    bird = Pigeon()
    monkeypatch.setitem(channels.CHANNELS, "pigeon", bird)
    yield bird


def parse(text: str) -> inventory.Inventory:
    return inventory.parse(yamlio.load_text(HOSTS + text, "inv.yaml"), "inv.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(InputError) as e:
        parse(text)
    return e.value.problems


def test_the_inventory_takes_and_checks_a_registered_channel(pigeon: Pigeon) -> None:
    inv = parse("notify:\n  pigeon: {loft: ' roof ', on: [fixed]}\n")
    assert inv.notify is not None
    assert inv.notify["pigeon"] == {"loft": "roof", "on": ("fixed",)}
    assert inv.notify["email"] is None and inv.notify["webhook"] is None
    # its mistakes are problem lines at notify.pigeon, in the inventory's words
    assert problems("notify: {pigeon: {loft: ''}}\n") == [
        "inv.yaml: notify.pigeon: 'loft' is text, expected non-empty text"]
    assert problems("notify: {pigeon: {loft: roof, lotf: x, password: y}}\n") == [
        "inv.yaml: notify.pigeon: unknown key 'lotf' (did you mean 'loft'?); expected loft, on",
        "inv.yaml: notify.pigeon: unknown key 'password' (secrets are never values: name an "
        "environment variable with a *_env key); expected loft, on"]
    assert problems("notify: {}\n") == [
        "inv.yaml: notify: expected 'email', 'webhook' or 'pigeon' (or several): where to send "
        "word of a change"]
    assert any(line.endswith("expected on, email, webhook, pigeon, report_url, timeout")
               for line in problems("notify: {pidgeon: {}}\n"))


def test_without_its_registration_the_key_is_unknown() -> None:
    assert any("unknown key 'pigeon'" in line
               for line in problems("notify: {pigeon: {loft: roof}}\n"))


def _write(path: Path, family: str, loft: str) -> Path:
    path.write_text(yaml.safe_dump({
        "estate": {"client": "Acme Dental"},
        "all": {"hosts": {"h1": {"transport": "local"}, "h2": {"transport": "local"}}},
        "params": {"family": family},
        "notify": {"pigeon": {"loft": loft}, "report_url": "https://r.example/acme.html"},
    }, sort_keys=False))
    return path


def test_a_scan_with_a_change_sends_on_a_registered_channel(
        pigeon: Pigeon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("UNDONE_DB", raising=False)
    inv = tmp_path / "acme.yaml"
    assert scan(tmp_path, _write(inv, "linux", "roof")) == 0  # the baseline: nothing to tell
    assert pigeon.flown == []
    capsys.readouterr()
    assert scan(tmp_path, _write(inv, "windows", "roof")) == 1  # the rule fails on both hosts
    assert "undone: notified: pigeon flew to roof" in capsys.readouterr().err
    assert len(pigeon.flown) == 1
    loft, subj, body = pigeon.flown[0]
    assert (loft, subj) == ("roof", "undone: Acme Dental: 2 new")
    assert "New findings (2):" in body and "Report: https://r.example/acme.html" in body
    # a channel that cannot send: one line, and the scan's exit code is unchanged
    assert scan(tmp_path, _write(inv, "linux", "nowhere")) == 0
    assert "undone: notification FAILED: no loft called nowhere" in capsys.readouterr().err
    assert len(pigeon.flown) == 1


def test_an_unforeseen_error_of_a_channel_is_told_without_its_text(
        pigeon: Pigeon, monkeypatch: pytest.MonkeyPatch) -> None:
    """A channel's unexpected exception may quote what it was sending with (a webhook's secret
    URL, a token): the failure line names its kind only."""
    def fails(cfg: Mapping[str, Any], message: Any, timeout: float) -> str:
        raise RuntimeError("could not post to https://hooks.example/T0/SECRETTOKEN")

    monkeypatch.setattr(pigeon, "send", fails)
    change = {"changes": {k: [] for k in KINDS}, "counts": dict.fromkeys(KINDS, 0), "total": 0}
    change["changes"]["new"] = [{"host": "a", "rule": "R-1", "title": "t", "severity": "high"}]
    change.update(counts={**change["counts"], "new": 1}, total=1)
    cfg = {"on": KINDS, "timeout": 5.0, "report_url": None, "email": None, "webhook": None,
           "pigeon": {"loft": "roof", "on": None}}
    monkeypatch.setattr(pigeon, "compose", lambda cfg, news: ("s", "b"))
    [out] = notify.send(cfg, change)
    assert not out.ok
    assert out.detail == "RuntimeError (its text is not shown: it may quote a secret)"
