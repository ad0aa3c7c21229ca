"""What a scan shows while it runs (scanner/cli/progress.py): a live line on a terminal, plain lines
otherwise, and a host that could not be reached is one line, never one per rule."""

from __future__ import annotations

import io
import re
from typing import Any

from scanner.cli.progress import Progress, is_terminal


def rec(name: str, reachable: bool = True) -> dict[str, Any]:
    return {"name": name, "address": f"{name}.example.org", "reachable": reachable,
            "error": None if reachable else "connection refused\x1b[2J", "duration_ms": 12}


def results(status: str, n: int = 40) -> list[dict[str, Any]]:
    return [{"status": status}] * n


def test_plain_lines_without_a_terminal() -> None:
    out = io.StringIO()
    p = Progress(out)
    assert not p.live and not is_terminal(out)
    p.start(3)
    p.host(rec("web01"), results("pass", 30) + results("fail", 3))
    p.host(rec("gone", reachable=False), results("error", 40))  # 40 rules not run
    p.stop()
    lines = out.getvalue().splitlines()
    assert lines == [
        "undone: web01 (web01.example.org) ok 12ms fail=3 pass=30",
        "undone: gone (gone.example.org) UNREACHABLE: connection refused 12ms error=40"]
    assert "\x1b" not in out.getvalue()  # the target's escape sequence is gone
    assert p.line().startswith("2 of 3 hosts done, 1 not reached")


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_live_line_on_a_terminal() -> None:
    out = io.StringIO()
    clock = _Clock()
    p = Progress(out, concurrency=2, live=True, clock=clock)
    p.start(5)
    p.host(rec("web01"), results("pass"))
    p.host(rec("gone", reachable=False), results("error"))
    clock.t += 65
    p._bar.refresh()  # what the refresh thread draws four times a second
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "2/5" in text and "hosts" in text
    assert "2 running, 1 not reached" in text  # three hosts left, two at a time
    assert text.count("gone (gone.example.org) not reached: connection refused") == 1
    assert "web01" not in text  # a host that was fine is counted, not listed
    p.host(rec("db01"), results("pass"))
    p.host(rec("app01"), results("pass"))
    p.host(rec("last"), results("pass"))
    p._bar.refresh()
    assert "0 running" in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    p.stop()
    assert p.line() == "5 of 5 hosts done, 1 not reached, 65s"
