"""The batch script and the splitter: per-run markers that output cannot forge, caps, cut-offs."""

from __future__ import annotations

import subprocess

from probes import Section
from probes.base import Facts, RawSection
from scanner.engine.batch import Splitter, build


def _section(name: str, script: str) -> Section:
    def parse(raw: RawSection) -> Facts:
        return Facts()
    return Section(name=name, family="posix", script=script, parse=parse, provides=())


def run(batch_script: str) -> tuple[bytes, bytes, int]:
    p = subprocess.run(["sh", "-s"], input=batch_script.encode(), capture_output=True, timeout=30)
    return p.stdout, p.stderr, p.returncode


def split(sections: list[Section], **kw: int) -> tuple[Splitter, Splitter]:
    b = build(sections, section_timeout=kw.pop("section_timeout", 20))
    out, err, _ = run(b.script)
    so, se = Splitter(b, **kw), Splitter(b, **kw)
    so.feed(out)
    so.close()
    se.feed(err)
    se.close()
    return so, se


def test_sections_split_with_exit_codes_and_stderr() -> None:
    so, se = split([_section("posix.a", "echo one; echo two >&2; exit 3"),
                    _section("posix.b", "printf 'no newline'")])
    assert bytes(so.parts["posix.a"].data) == b"one\n"
    assert so.parts["posix.a"].exit_code == 3
    assert bytes(se.parts["posix.a"].data) == b"two\n"
    assert bytes(so.parts["posix.b"].data) == b"no newline"
    assert so.parts["posix.b"].ended and so.parts["posix.b"].exit_code == 0


def test_markers_of_another_run_cannot_forge_a_section() -> None:
    old = build([_section("posix.a", "true")])
    forged = (f"\\n==undone:{old.nonce}:END:posix.a:0==\\n"
              f"==undone:{old.nonce}:BEGIN:posix.b==\\nroot_login=no\\n")
    so, _ = split([_section("posix.a", f"printf '{forged}'; echo after"),
                   _section("posix.b", "echo real")])
    a = bytes(so.parts["posix.a"].data)
    assert old.nonce.encode() in a and b"after" in a
    assert bytes(so.parts["posix.b"].data) == b"real\n"


def test_the_script_text_does_not_contain_its_own_marker() -> None:
    b = build([_section("posix.a", "true")])
    assert b.nonce not in b.script


def test_section_cannot_read_the_rest_of_the_batch() -> None:
    so, _ = split([_section("posix.a", "cat; echo done"), _section("posix.b", "echo b")])
    assert bytes(so.parts["posix.a"].data) == b"done\n"
    assert bytes(so.parts["posix.b"].data) == b"b\n"


def test_cap_marks_truncated_and_keeps_going() -> None:
    so, _ = split([_section("posix.big", "head -c 300000 /dev/zero | tr '\\0' x"),
                   _section("posix.after", "echo ok")], cap=1000)
    big = so.parts["posix.big"]
    assert big.truncated and len(big.data) == 1000 and big.size >= 300000
    assert bytes(so.parts["posix.after"].data) == b"ok\n"


def test_section_timeout_on_target() -> None:
    so, _ = split([_section("posix.slow", "sleep 30"), _section("posix.next", "echo next")],
                  section_timeout=1)
    assert so.parts["posix.slow"].exit_code == 124
    assert bytes(so.parts["posix.next"].data) == b"next\n"


def test_stream_cut_mid_section_is_marked() -> None:
    b = build([_section("posix.a", "echo XYZZY")])
    out, _, _ = run(b.script)
    cut = out[: out.index(b"XYZZY") + 5]
    s = Splitter(b)
    s.feed(cut)
    s.close()
    assert not s.parts["posix.a"].ended and s.parts["posix.a"].truncated


def test_feeding_byte_by_byte_equals_feeding_at_once() -> None:
    b = build([_section("posix.a", "echo hello; printf 'x%.0s' 1 2 3"), _section("posix.b", "echo b")])
    out, _, _ = run(b.script)
    s1, s2 = Splitter(b), Splitter(b)
    s1.feed(out)
    s1.close()
    for i in range(len(out)):
        s2.feed(out[i:i + 1])
    s2.close()
    assert {k: bytes(v.data) for k, v in s1.parts.items()} == {
        k: bytes(v.data) for k, v in s2.parts.items()}


def test_a_flood_is_read_only_so_far() -> None:
    """A host that floods costs bounded work: past the read cap (kept or not), or past the host
    cap outside any section, the splitter says to stop reading."""
    batch = build([_section("posix.a", "true")])
    out = Splitter(batch, cap=1024, total_cap=4096)
    begin = f"==undone:{batch.nonce}:BEGIN:posix.a==\n".encode()
    out.feed(begin)
    for _ in range(8 * 4096 // 1000 + 2):
        out.feed(b"x" * 999 + b"\n")
    assert out.parts["posix.a"].truncated and out.over_read
    stray = Splitter(batch, cap=1024, total_cap=4096)
    stray.feed(b"y" * 5000 + b"\n")
    assert stray.over_read and "outside any section" in stray.over_read


def test_scanner_side_sections_are_never_sent() -> None:
    from probes import sections

    scanner_side = [s for s in sections().values() if not s.on_target]
    assert scanner_side
    batch = build([_section("posix.a", "true"), *scanner_side])
    assert batch.sections == ("posix.a",)
