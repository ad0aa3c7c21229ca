"""Helpers for the Windows parser tests: load a recorded section output and parse it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from probes import sections
from probes.base import Facts, RawSection

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "windows"
AT = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)


def text(topic: str, name: str) -> str:
    return (FIXTURES / topic / f"{name}.out").read_text(encoding="utf-8")


def doc(topic: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text(topic, name))
    return data


def parse(topic: str, name: str | None = None, *, stdout: str | None = None,
          config: dict[str, Any] | None = None, at: datetime = AT) -> Facts:
    section = sections()[f"windows.{topic}"]
    out = stdout if stdout is not None else text(topic, name or "")
    return section.parse(RawSection(name=section.name, stdout=out, collected_at=at,
                                    config=config or {}))
