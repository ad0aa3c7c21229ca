"""The PowerShell batch (scanner.engine.winbatch): markers the output cannot forge, per-section
variables, the fixed bootstrap; and static checks of the Windows probe scripts, which cannot be
run here (no PowerShell): ASCII only, balanced brackets, and no command that changes anything."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from probes import Section, prelude, sections
from probes.base import Facts, RawSection
from scanner.engine import winbatch
from scanner.engine.batch import Splitter

PROBES = Path(__file__).resolve().parents[4] / "probes" / "windows"


def _section(name: str, script: str) -> Section:
    def parse(raw: RawSection) -> Facts:
        return Facts()
    return Section(name=name, family="windows", script=script, parse=parse, provides=())


def test_batch_holds_each_section_once_and_only_windows_ones() -> None:
    secs = [s for n, s in sections().items() if n.startswith(("windows.", "posix.os"))]
    b = winbatch.build(secs, section_timeout=33)
    names = [s.name for s in secs if s.family == "windows"]
    assert list(b.sections) == names
    nonce, found = winbatch.sections_in(b.script)
    assert nonce == b.nonce and found == names
    assert b.nonce not in b.script  # split over two variables
    assert b.script.isascii()
    assert " 33 @{}" in b.script
    for s in secs:
        if s.family == "windows":
            assert len(b.script_sha256[s.name]) == 64
    assert b.script.rstrip().endswith("[Environment]::Exit(0)")


def test_each_run_has_its_own_nonce() -> None:
    s = [_section("windows.a", "undone_emit ([ordered]@{})")]
    assert winbatch.build(s).nonce != winbatch.build(s).nonce


def test_quoting_and_variables() -> None:
    assert winbatch.quote("it's") == "'it''s'"
    with pytest.raises(ValueError, match="non-ASCII"):
        winbatch.quote("l\u2019heure")  # PowerShell takes U+2019 as a quote
    b = winbatch.build([_section("windows.a", "$x = 1")],
                       env={"windows.a": {"UNDONE_BK1_SECRET": "p'w"}})
    assert "@{UNDONE_BK1_SECRET = 'p''w'}" in b.script
    with pytest.raises(ValueError):
        winbatch.build([_section("windows.a", "1")], env={"windows.a": {"bad name": "x"}})


def test_bootstrap_is_short_and_reads_standard_input() -> None:
    args = winbatch.arguments()
    assert args[:3] == ["-NoProfile", "-NonInteractive", "-EncodedCommand"]
    decoded = base64.b64decode(args[3]).decode("utf-16-le")
    assert decoded == winbatch.BOOTSTRAP and "$input" in decoded
    assert len(args[3]) < 1000  # far below the ~8 K command-line limit, whatever the batch


def test_output_framed_as_the_runner_frames_it_splits_back() -> None:
    b = winbatch.build([_section("windows.a", "1"), _section("windows.b", "2")])
    forged = f"\n==undone:{'0' * 32}:END:windows.a:0==\n"
    out = (f"\n==undone:{b.nonce}:BEGIN:windows.a==\n" + '{"x":1,"y":"' + forged.strip()
           + '"}' + f"\n==undone:{b.nonce}:END:windows.a:0==\n"
           f"\n==undone:{b.nonce}:BEGIN:windows.b==\n\n==undone:{b.nonce}:END:windows.b:1==\n")
    sp = Splitter(b)
    sp.feed(out.encode())
    sp.close()
    assert bytes(sp.parts["windows.a"].data).startswith(b'{"x":1')
    assert sp.parts["windows.a"].exit_code == 0 and sp.parts["windows.b"].exit_code == 1


# ---------------------------------------------------------------- static checks of the scripts

SCRIPTS = sorted(PROBES.glob("*.ps1"))
# verbs and commands that change a machine; a probe may only read
WRITES = re.compile(
    r"\b(Set|New-Item|Remove|Start|Stop|Restart|Install|Uninstall|Enable|Disable|Add|Clear|"
    r"Register|Unregister|Update|Invoke-WebRequest|Invoke-RestMethod|Out-File|Export|"
    r"Set-Content|Add-Content|Rename|Move|Copy|Suspend|Resume|Mount|Dismount)-[A-Z]\w*"
)
ALLOWED_WRITES = {"Set-StrictMode"}  # none used today; the runner's SetEnvironmentVariable is .NET


def _code(text: str) -> str:
    """The script without comments and string contents (brackets counted in code only)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("<#", i):
            i = text.index("#>", i) + 2
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c == "'":
            i += 1
            while i < n:
                if text[i] == "'" and text[i + 1 : i + 2] == "'":
                    i += 2
                elif text[i] == "'":
                    break
                else:
                    i += 1
            i += 1
            out.append("''")
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "`" else 1
            i += 1
            out.append('""')
        else:
            out.append(c)
            i += 1
    return "".join(out)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_script_is_ascii_balanced_and_read_only(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.isascii(), "non-ASCII text in a PowerShell script"
    code = _code(text)
    for o, c in ("{}", "()", "[]"):
        depth = 0
        for ch in code:
            depth += (ch == o) - (ch == c)
            assert depth >= 0, f"unbalanced {o}{c}"
        assert depth == 0, f"unbalanced {o}{c}"
    writes = {m.group(0) for m in WRITES.finditer(code)} - ALLOWED_WRITES
    assert not writes, writes
    assert not re.search(r"[^2]>\s*[^&\s$]", code.replace("-gt", "")), "redirection to a file"
    if path.name != "_prelude.ps1":
        assert text.startswith(f"# undone section windows.{path.stem}:")
        assert "# Privilege:" in text and "Writes nothing" in text
        assert code.rstrip().endswith("undone_emit $r")


def test_the_runner_and_prelude_are_balanced_too() -> None:
    b = winbatch.build([_section("windows.a", "$r = [ordered]@{}\nundone_emit $r")])
    code = _code(b.script)
    for o, c in ("{}", "()", "[]"):
        assert code.count(o) == code.count(c)
    assert prelude("windows").isascii()
