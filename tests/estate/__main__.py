"""Command line for the test estate (run as root from the repository root).

    python -m tests.estate up SCENARIO [--run-id K]   # a path, or a name in scenarios/
    python -m tests.estate up --hosts 200              # the benchmark estate (bench.yaml)
    python -m tests.estate status
    python -m tests.estate inventory OUT [--run-id K] [--hosts a,b]
    python -m tests.estate ssh HOST [--run-id K] -- COMMAND...
    python -m tests.estate down [--run-id K | --all]

``up`` leaves the estate running (detached) and prints where its key, known_hosts and inventory
are; ``down`` without options removes every estate not owned by a live process (and leftovers of
crashed runs); ``--all`` removes live ones too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .common import EstateError
from .estate import Estate, cleanup, runs_status
from .scenario import generated_scenario, load_scenario


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.estate", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="bring an estate up from a scenario and leave it running")
    up.add_argument(
        "scenario", nargs="?", help="scenario file or name under tests/estate/scenarios"
    )
    up.add_argument("--hosts", type=int, help="a generated estate of N alike hosts (bench.yaml)")
    up.add_argument(
        "--run-id", type=int, help="subnet 10.213.K.0/24, names ueK-* (default: lowest free)"
    )
    up.add_argument("--ready-timeout", type=float, default=120.0)
    up.add_argument("--json", action="store_true", help="print the estate's state as JSON")
    down = sub.add_parser("down", help="tear estates down")
    down.add_argument("--run-id", type=int)
    down.add_argument("--all", action="store_true", help="also estates owned by live processes")
    sub.add_parser("status", help="list the estates on this machine")
    inv = sub.add_parser("inventory", help="write an undone inventory for a running estate")
    inv.add_argument("output")
    inv.add_argument("--run-id", type=int)
    inv.add_argument("--hosts", help="comma-separated host names (default: every SSH host)")
    ssh = sub.add_parser("ssh", help="run a command on a host, from the scanner namespace")
    ssh.add_argument("host")
    ssh.add_argument("--run-id", type=int)
    ssh.add_argument("--user", default="root")
    ssh.add_argument("argv", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "up":
            if args.hosts is not None:
                if args.scenario:
                    raise EstateError("give a scenario or --hosts, not both")
                scenario = load_scenario(generated_scenario(args.hosts))
            elif args.scenario:
                scenario = load_scenario(args.scenario)
            else:
                raise EstateError("give a scenario (path or name) or --hosts N")
            started = time.monotonic()
            estate = Estate.up(scenario, args.run_id, detach=True, ready_timeout=args.ready_timeout)
            if args.json:
                print(json.dumps(json.loads(estate.state_file.read_text()), indent=1))
                return 0
            print(
                f"estate ue{estate.run_id} up: {len(estate.hosts)} hosts on {estate.subnet}"
                f" in {time.monotonic() - started:.2f} s"
            )
            print("  timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in estate.timings.items()))
            print(f"  scanner namespace: {estate.scanner_ns} ({estate.scanner_address})")
            print(f"  key: {estate.key_file}")
            print(f"  known_hosts: {estate.known_hosts}")
            print(f"  inventory: {estate.dir / 'inventory.yaml'}")
            print(f"  truth: {estate.state_file}")
            inventory = estate.dir / "inventory.yaml"
            print(f"  scan: ip netns exec {estate.scanner_ns} undone scan {inventory}")
            return 0
        if args.command == "down":
            started = time.monotonic()
            removed = cleanup(run_id=args.run_id, include_live=args.all)
            print(
                f"removed estates: {', '.join(f'ue{k}' for k in removed) or 'none'}"
                f" ({time.monotonic() - started:.2f} s)"
            )
            return 0
        if args.command == "status":
            rows = runs_status()
            if not rows:
                print("no estate on this machine")
            for row in rows:
                print(
                    f"ue{row['run_id']}: {row['status']}, scenario {row['scenario']},"
                    f" {row['hosts']} hosts, {row['processes_alive']} processes alive,"
                    f" {row['netns']} netns, owner {row['owner']}"
                    + ("" if row["live"] else " (dead: removed by the next down/up)")
                )
            return 0
        if args.command == "inventory":
            estate = Estate.attach(args.run_id)
            hosts = args.hosts.split(",") if args.hosts else None
            print(estate.write_inventory(args.output, hosts))
            return 0
        if args.command == "ssh":
            estate = Estate.attach(args.run_id)
            command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
            proc = estate.run_in_scanner(
                estate.ssh_argv(args.host, " ".join(command), user=args.user),
                capture_output=False,
                text=False,
            )
            return int(proc.returncode)
    except EstateError as exc:
        print(f"estate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head`: the estate is up all the same
        return 0
    return 2


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("estate: run as root (network namespaces and mounts need it)", file=sys.stderr)
        sys.exit(2)
    sys.exit(main())
