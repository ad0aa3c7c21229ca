"""Debian version ordering (scanner/lifecycle/debversion.py) against dpkg itself: every version string of
real data at hand (the advisory samples, the estate's package lists, this machine's dpkg status)
and the awkward cases, sorted by undone and checked pair by pair with
``dpkg --compare-versions``."""

from __future__ import annotations

import functools
import itertools
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from scanner.lifecycle import debversion
from scanner.lifecycle.advisories_refresh import parse_debian_list, parse_usn

ROOT = Path(__file__).resolve().parents[4]
EDGE = [
    "1.0~rc1", "1.0~rc1~1", "1.0", "1.0+deb12u1", "1.0-1", "1.0-1~deb12u1", "1.0-1+deb12u1",
    "1.0-1+b1", "1:0.9", "2:0.1", "0:1.0", "1.0a", "1.0.a", "1.0+", "1.0.", "1.00", "01.0",
    "1.0-0ubuntu0.1", "1.0-0ubuntu1", "1.0-1ubuntu0.22.04.1", "1.0-1ubuntu1", "1.0-1build1",
    "3.0.11-1~deb12u2", "3.0.11-1", "3.0.2-0ubuntu1.19", "3.0.2-0ubuntu1.9",
    "1.9.15p5-3ubuntu5.24.04.1", "1.9.15p5-3ubuntu5", "2.4.56-1~deb11u1", "2.4.56-1",
    "1.2.3-4.el9", "9" * 40, "9" * 40 + ".1", "1.0-a-b", "1.0-a", "1.0+~", "1.0~~", "1.0~~a",
]


def _dpkg_cmp(a: str, b: str) -> int:
    def run(op: str) -> bool:
        p = subprocess.run(["dpkg", "--compare-versions", a, op, b], capture_output=True,
                           check=False)
        assert p.returncode in (0, 1), (a, b, p.stderr)
        return p.returncode == 0
    return -1 if run("lt") else (1 if run("gt") else 0)


def _versions() -> list[str]:
    found: set[str] = set(EDGE)
    adv = ROOT / "tests" / "fixtures" / "advisories"
    for f in sorted((adv / "debian").glob("*.txt")):
        found |= {e[2] for e in parse_debian_list(f.read_text().splitlines(), "D")}
    import json
    for f in sorted((adv / "ubuntu").glob("*.json")):
        found |= {e[2] for e in parse_usn(json.loads(f.read_text()))}
    for f in sorted((ROOT / "tests" / "estate" / "data").glob("*.Packages")):
        found |= set(re.findall(r"^Version: (\S+)$", f.read_text(), re.M))
    for f in sorted((ROOT / "tests" / "fixtures" / "posix" / "updates").glob("debian*.out")):
        for inst, cand in re.findall(r"^Inst \S+ \[([^\]]+)\] \((\S+)", f.read_text(), re.M):
            found |= {inst, cand}
    status = Path("/var/lib/dpkg/status")
    if status.exists():
        mine = re.findall(r"^Version: (\S+)$", status.read_text(errors="replace"), re.M)
        found |= set(random.Random(7).sample(mine, min(400, len(mine))))
    return sorted(found)


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg")
def test_order_agrees_with_dpkg() -> None:
    versions = _versions()
    assert len(versions) > 300  # the real sets above are there
    ordered = sorted(versions, key=functools.cmp_to_key(debversion.compare))
    pairs = list(itertools.pairwise(ordered))
    rng = random.Random(13)
    pairs += [(rng.choice(versions), rng.choice(versions)) for _ in range(250)]
    wrong = [(a, b, debversion.compare(a, b), want) for a, b in pairs
             if debversion.compare(a, b) != (want := _dpkg_cmp(a, b))]
    assert not wrong, wrong[:10]
    # and the order is strict where dpkg says so: no two adjacent versions compare equal unless
    # dpkg agrees they are equal (1.0 and 1.00, 0:1.0 and 1.0)
    assert _dpkg_cmp("1.0", "1.00") == 0 == debversion.compare("1.0", "1.00")
    assert _dpkg_cmp("0:1.0", "1.0") == 0 == debversion.compare("0:1.0", "1.0")


def test_the_orderings_that_dating_relies_on() -> None:
    lt = debversion.lt
    assert lt("1.0~rc1", "1.0") and lt("1.0", "1.0+deb12u1") and lt("1.0-1", "1.0+deb12u1")
    assert lt("3.0.11-1~deb12u1", "3.0.11-1~deb12u2") and lt("3.0.11-1~deb12u2", "3.0.11-1")
    assert lt("2:1.20.4-1+deb10u8", "2:1.20.4-1+deb10u9") and lt("9.9", "1:0.1")
    assert lt("3.0.2-0ubuntu1.9", "3.0.2-0ubuntu1.19")  # numbers compare as numbers
    assert lt("1.3.1-1ubuntu2", "1.3.1-1ubuntu2+esm1") and lt("1.6.7-1ubuntu0.1~esm1",
                                                              "1.6.7-1ubuntu0.1")
    assert debversion.source_version("1.2-3+deb12u1+b2") == "1.2-3+deb12u1"
    assert debversion.source_version("1.2-3+b") == "1.2-3+b"


@pytest.mark.parametrize("ch", [" ", "-", "~", ":", "0", "a", "+", "[", "|"])
def test_hostile_versions_are_ordered_in_linear_time(ch: str) -> None:
    """Versions come from targets: 2 MiB of one character (the section cap) orders at once."""
    big = ch * (2 << 20)
    t0 = time.perf_counter()
    debversion.compare(big, big + "1")
    debversion.compare("1:" + big, big)
    assert time.perf_counter() - t0 < 1.0
