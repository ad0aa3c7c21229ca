"""How big the advisory catalogue is and how fast a scan loads it, at a realistic size.

The catalogue is built the way `undone advisories refresh --from` builds it, from generated
input at the size of the real sources (the real DSA list had 5,406 entries and the DLA list
about 3,400 in 2023; Ubuntu has published about 8,200 USNs, most for 2 to 4 releases, kernel
notices for a dozen source packages): the DSA and DLA lists in the tracker's text format, and
USN records in OSV JSON. Then it measures, each in a fresh process so nothing is cached:

- building it (parsing the lists and records, writing ``advisories.json``);
- loading it as a scan does (:func:`scanner.lifecycle.advisories.load`, once per scan);
- dating 1,000 pending updates against it (:meth:`Catalogue.earliest`).

Run::

    python benchmarks/advisories_load.py              # the realistic size
    python benchmarks/advisories_load.py --scale 0.1  # a quick look

The figures are written down in docs/benchmarks.md; nothing here is asserted by timing.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEBIAN = ["woody", "sarge", "etch", "lenny", "squeeze", "wheezy", "jessie", "stretch", "buster",
          "bullseye", "bookworm", "trixie"]
UBUNTU = ["14.04", "16.04", "18.04", "20.04", "22.04", "24.04", "24.10", "25.04", "25.10"]
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _packages(rng: random.Random, n: int) -> list[str]:
    return [f"pkg{i:04d}" for i in range(n)]


def generate(folder: Path, scale: float, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    pkgs = _packages(rng, 1800)
    start = date(2002, 1, 1)
    counts = {"dsa": int(5406 * scale), "dla": int(3400 * scale), "usn": int(8200 * scale)}
    for kind, n, releases in (("DSA", counts["dsa"], DEBIAN), ("DLA", counts["dla"],
                                                               DEBIAN[6:])):
        lines = []
        for i in range(n, 0, -1):
            day = start + timedelta(days=int(8800 * i / max(n, 1)))
            pkg = rng.choice(pkgs)
            lines.append(f"[{day.day:02d} {MONTHS[day.month - 1]} {day.year}] {kind}-{i}-1 "
                         f"{pkg} - security update")
            lines.append("\t{CVE-2020-%05d CVE-2021-%05d}" % (i, i + 1))  # noqa: UP031
            era = min(len(releases) - 1, int(len(releases) * i / max(n, 1)))
            for rel in releases[max(0, era - rng.randint(0, 1)):era + 1]:
                lines.append(f"\t[{rel}] - {pkg} {rng.randint(1, 9)}.{i % 97}-{i % 13}+deb{i}")
        (folder / kind).mkdir(parents=True, exist_ok=True)
        (folder / kind / "list").write_text("\n".join(lines) + "\n")
    usn = folder / "usn"
    usn.mkdir(parents=True, exist_ok=True)
    for i in range(1, counts["usn"] + 1):
        kernel = i % 25 == 0
        sources = [f"linux-{k}" for k in range(14)] if kernel else [rng.choice(pkgs)]
        era = min(len(UBUNTU) - 1, int(len(UBUNTU) * i / max(counts["usn"], 1)))
        rels = UBUNTU[max(0, era - rng.randint(1, 3)):era + 1]
        affected = [{"package": {"ecosystem": f"Ubuntu:{'Pro:' if r < '18' else ''}{r}:LTS",
                                 "name": s},
                     "ranges": [{"type": "ECOSYSTEM", "events": [
                         {"introduced": "0"}, {"fixed": f"{i % 7}.{i}-0ubuntu{i % 5}.{i}"}]}]}
                    for s in sources for r in rels]
        day = date(2014, 1, 1) + timedelta(days=int(4500 * i / counts["usn"]))
        doc = {"id": f"USN-{i}-1", "published": f"{day.isoformat()}T12:00:00Z",
               "affected": affected}
        (usn / f"USN-{i}-1.json").write_text(json.dumps(doc))
    return counts


def _run(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(Path(__file__).resolve().parents[1]))
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="undone-adv-bench-") as tmp:
        src, out = Path(tmp) / "src", Path(tmp) / "out"
        counts = generate(src, args.scale)
        build = _run(
            "import time;from pathlib import Path;"
            "from scanner.lifecycle import advisories_refresh as a;"
            f"t=time.perf_counter();a.refresh(Path({str(src)!r}),Path({str(out)!r}));"
            "print(time.perf_counter()-t)")
        size = (out / "advisories.json").stat().st_size
        load = _run(
            "import time;t0=time.perf_counter();from scanner.lifecycle import advisories as a;"
            "t1=time.perf_counter();"
            f"c=a.load({str(out / 'advisories.json')!r});print(time.perf_counter()-t1)")
        match = _run(
            "import time,random;from scanner.lifecycle import advisories as a;"
            f"c=a.load({str(out / 'advisories.json')!r});r=random.Random(1);"
            "t=time.perf_counter();"
            "[c.earliest(['debian:bookworm'],f'pkg{r.randrange(1800):04d}','1.0-1','9.9-9') "
            "for _ in range(1000)];print(time.perf_counter()-t)")
        entries = sum(len(v) for idx in json.loads((out / "advisories.json").read_text())
                      ["index"].values() for pkgs in idx.values() for v in pkgs.values())
    print(f"input: {counts['dsa']} DSA, {counts['dla']} DLA, {counts['usn']} USN records")
    print(f"catalogue: {size / 1e6:.2f} MB, {entries} fixed-version entries")
    print(f"build (refresh --from): {build:.2f} s")
    print(f"load (once per scan): {load * 1000:.0f} ms")
    print(f"date 1,000 pending updates: {match * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
