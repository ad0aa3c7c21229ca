"""YAML loading speed: undone's loader before (pure-Python PyYAML SafeLoader with the checks in
its composer) and after (libyaml's CSafeLoader, the same checks on the composed node graph).

    python benchmarks/yaml_loader.py [--hosts 10000] [--runs 5] [--before-rev 5afa4cb]

The document is an Ansible-shaped inventory of N hosts in 100 groups, each host with an address,
a port and a note (about 130 bytes a host). "before" is scanner/yamlio.py as it was at
``--before-rev`` (read with git show, our own code); "after" is the current one. Each figure is
the median of ``--runs`` runs in this process, in MB/s of input. Results are written to
benchmarks/results/yaml_loader.json and quoted in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def document(hosts: int) -> str:
    groups = 100
    lines = ["all:", "  children:"]
    per = max(1, hosts // groups)
    for g in range(groups):
        lines += [f"    g{g}:", "      vars:", "        ansible_user: admin",
                  "        x: [1, 2, 'three']", "      hosts:"]
        for h in range(per):
            lines += [f"        host{g}-{h}.example.org:",
                      f"          ansible_host: 10.{g % 256}.{h // 256 % 256}.{h % 256}",
                      f"          ansible_port: {2000 + h % 1000}",
                      '          note: "some text here"']
    return "\n".join(lines) + "\n"


def old_loader(rev: str) -> Callable[[str, str], Any]:
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:scanner/yamlio.py"],
                         capture_output=True, text=True, check=True).stdout
    mod = types.ModuleType("yamlio_before")
    exec(compile(src, f"{rev}:scanner/yamlio.py", "exec"), mod.__dict__)  # noqa: S102 - our own file at an older commit
    return mod.load_text  # type: ignore[no-any-return]


def timed(fn: Callable[[str, str], Any], text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn(text, "bench.yaml")
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--before-rev", default="5afa4cb")
    a = ap.parse_args()
    from scanner import yamlio

    text = document(a.hosts)
    size = len(text.encode())
    before = timed(old_loader(a.before_rev), text, a.runs)
    after = timed(yamlio.load_text, text, a.runs)
    assert old_loader(a.before_rev)(text, "b") == yamlio.load_text(text, "a")
    result = {
        "hosts": a.hosts, "bytes": size, "runs": a.runs,
        "before_s": round(before, 3), "after_s": round(after, 3),
        "before_mb_s": round(size / before / 1e6, 2), "after_mb_s": round(size / after / 1e6, 2),
        "speedup": round(before / after, 2), "libyaml": yamlio.WITH_LIBYAML,
    }
    out = ROOT / "benchmarks" / "results" / "yaml_loader.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
