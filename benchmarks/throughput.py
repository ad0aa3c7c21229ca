"""Throughput on the test estate: undone beside the OpenSSH floor and two peers, in one run.

    sudo .venv/bin/python benchmarks/throughput.py --hosts 50 200 --parallel 16 --runs 3

For each estate size N it brings up N alike hosts (tests/estate/scenarios/bench.yaml: real sshd in
network namespaces, frozen apt repository, ClamAV database, borg repository), then measures, on the
same hosts with the same parallelism, each run inside the estate's scanner namespace:

- floor:     the OpenSSH client (curve25519-sha256), one connection per host, running the exact
             batch script undone sends (every probe section), via ``xargs -P``;
- undone:    ``undone scan`` of the estate with every shipped baseline, JSON output;
- undone-no-quickack, undone-plain-socket: the same with paramiko's socket tuning taken out
             (no TCP_QUICKACK; neither TCP_QUICKACK nor TCP_NODELAY), to check that the tuning
             measured in shared/reference/paramiko.md holds inside undone;
- ansible:   ``ansible all -m script`` running the same batch script (too large for ``raw``'s
             command line), same forks (``-f``);
- testinfra: pytest-testinfra (paramiko backend, xdist ``-n``) running equivalent checks, one
             connection per host (benchmarks/testinfra_checks.py).

Per tool: wall time, CPU time of the client process tree (user+sys from RUSAGE_CHILDREN),
peak RSS of the largest client process, hosts per second; the median of ``--runs`` runs; the
ratios undone/floor and peer/undone. Results go to stdout as a table and to a JSON file. The
machine is shared and noisy: compare the ratios of one run, and read CPU per host beside wall.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from probes import sections  # noqa: E402
from scanner.engine.batch import build  # noqa: E402
from tests.estate import Estate, generated_scenario  # noqa: E402

KEX = "curve25519-sha256"

NO_QUICKACK = (
    "import scanner.engine.transports.ssh as s; s.USE_QUICKACK = False; "
    "from scanner.cli import main; raise SystemExit(main())"
)
PLAIN_SOCKET = (
    "import scanner.engine.transports.ssh as s; s.USE_QUICKACK = False; s.USE_NODELAY = False; "
    "from scanner.cli import main; raise SystemExit(main())"
)


# Run the command under a fresh Python process, so that its RUSAGE_CHILDREN (CPU of the whole
# client process tree, and the peak RSS of its largest process) covers this command alone.
RUNNER = (
    "import json, resource, subprocess, sys, time\n"
    "t0 = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "wall = time.perf_counter() - t0\n"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "sys.stderr.write(p.stderr.decode(errors='replace')[-400:])\n"
    "print(json.dumps({'wall': wall, 'cpu': r.ru_utime + r.ru_stime,"
    " 'maxrss_mib': r.ru_maxrss / 1024, 'rc': p.returncode}))\n"
)


def measure(argv: list[str], **kw: Any) -> dict[str, Any]:
    p = subprocess.run(
        [sys.executable, "-c", RUNNER, *argv], capture_output=True, text=True, check=True, **kw
    )
    res: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    res["stderr_tail"] = p.stderr[-400:] if res["rc"] not in (0, 1, 3) else ""
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--tools",
        nargs="+",
        default=[
            "floor",
            "undone",
            "undone-no-quickack",
            "undone-plain-socket",
            "ansible",
            "testinfra",
        ],
    )
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "throughput.json"))
    a = ap.parse_args()
    py = sys.executable
    venv_bin = Path(py).parent
    out: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "ssh": subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip(),
        },
        "parallel": a.parallel,
        "runs": a.runs,
        "sizes": {},
    }
    secs = list(sections().values())
    script = build(secs).script
    for n in a.hosts:
        with (
            tempfile.TemporaryDirectory(prefix="undone-bench-") as tmp,
            Estate.up(generated_scenario(n)) as est,
        ):
            d = Path(tmp)
            names = [h["name"] for h in est.hosts if h["kind"] == "ssh"]
            addrs = [est.host(h)["address"] for h in names]
            inv = est.write_inventory(d / "inventory.yaml", names)
            (d / "script.sh").write_text(script)
            (d / "addrs").write_text("\n".join(addrs) + "\n")
            ssh_opts = (
                f"-o KexAlgorithms={KEX} -o BatchMode=yes -o StrictHostKeyChecking=yes "
                f"-o UserKnownHostsFile={est.known_hosts} -o ControlMaster=no "
                f"-o ControlPath=none -i {est.key_file}"
            )
            ansible_inv = d / "ansible.yaml"
            ansible_inv.write_text(
                json.dumps(
                    {
                        "all": {
                            "vars": {
                                "ansible_user": "root",
                                "ansible_ssh_private_key_file": str(est.key_file),
                            },
                            "hosts": {
                                h: {"ansible_host": ad} for h, ad in zip(names, addrs, strict=True)
                            },
                        }
                    }
                )
            )
            sshcfg = d / "ssh_config"
            sshcfg.write_text(
                f"Host *\n  StrictHostKeyChecking yes\n  UserKnownHostsFile "
                f"{est.known_hosts}\n  IdentityFile {est.key_file}\n  User root\n"
            )
            env = dict(
                os.environ,
                HOME=str(d),
                LC_ALL="C.UTF-8",
                ANSIBLE_HOST_KEY_CHECKING="True",
                ANSIBLE_SSH_ARGS=ssh_opts,
                ANSIBLE_NOCOLOR="1",
                ANSIBLE_LOCAL_TEMP=str(d / "ansible-tmp"),
                ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
            )
            undone_args = [
                "scan",
                str(inv),
                "--format",
                "json",
                "--output",
                str(d / "o.json"),
                "-q",
                "-j",
                str(a.parallel),
            ]
            cmds = {
                "floor": [
                    "sh",
                    "-c",
                    f"xargs -P {a.parallel} -I{{}} sh -c "
                    f"'ssh {ssh_opts} root@{{}} sh -s < {d}/script.sh >/dev/null' "
                    f"< {d}/addrs",
                ],
                "undone": [py, "-m", "scanner", *undone_args],
                "undone-no-quickack": [py, "-c", NO_QUICKACK, *undone_args],
                "undone-plain-socket": [py, "-c", PLAIN_SOCKET, *undone_args],
                "ansible": [
                    str(venv_bin / "ansible"),
                    "all",
                    "-i",
                    str(ansible_inv),
                    "-m",
                    "script",
                    "-a",
                    f"{d}/script.sh",
                    "-f",
                    str(a.parallel),
                    "-o",
                ],
                "testinfra": [
                    py,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-n",
                    str(min(a.parallel, 16)),
                    f"--ssh-config={sshcfg}",
                    "--hosts=" + ",".join(f"paramiko://root@{ad}" for ad in addrs),
                    str(ROOT / "benchmarks" / "testinfra_checks.py"),
                ],
            }
            size: dict[str, Any] = {}
            for tool in a.tools:
                if tool == "ansible" and not (venv_bin / "ansible").exists():
                    continue
                runs = []
                for _ in range(a.runs):
                    # the runner (and its clock) sits inside the namespace with the client
                    runs.append(
                        measure(
                            ["ip", "netns", "exec", est.scanner_ns, *cmds[tool]],
                            env=env,
                            cwd=str(ROOT),
                        )
                    )
                med = {
                    k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "maxrss_mib")
                }
                med["hosts_per_s"] = n / med["wall"]
                med["cpu_ms_per_host"] = 1000 * med["cpu"] / n
                size[tool] = {"median": med, "runs": runs}
                print(
                    f"N={n} {tool:<20} wall {med['wall']:6.2f} s  cpu {med['cpu']:6.2f} s "
                    f"({med['cpu_ms_per_host']:5.1f} ms/host)  rss {med['maxrss_mib']:5.0f} MiB"
                    f"  {med['hosts_per_s']:6.1f} hosts/s  rc={[r['rc'] for r in runs]}",
                    flush=True,
                )
            ratios = {}
            if "undone" in size and "floor" in size:
                ratios["undone/floor"] = (
                    size["undone"]["median"]["wall"] / size["floor"]["median"]["wall"]
                )
            for peer in ("ansible", "testinfra"):
                if peer in size and "undone" in size:
                    ratios[f"{peer}/undone"] = (
                        size[peer]["median"]["wall"] / size["undone"]["median"]["wall"]
                    )
            for k, v in ratios.items():
                print(f"N={n} ratio {k}: {v:.2f}", flush=True)
            out["sizes"][str(n)] = {"tools": size, "ratios": ratios}
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(out, indent=1))
    print(f"written {a.json}")
    return 0


if __name__ == "__main__":
    if shutil.which("ip") is None or os.geteuid() != 0:
        sys.exit("run as root on a machine with iproute2: the estate needs network namespaces")
    raise SystemExit(main())
