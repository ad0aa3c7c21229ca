"""The test estate: many real, different hosts on one machine, described as data.

Usage::

    from tests.estate import Estate

    with Estate.up("functional") as estate:          # tests/estate/scenarios/functional.yaml
        estate.write_inventory("/tmp/inv.yaml")
        estate.run_in_scanner(["undone", "scan", "/tmp/inv.yaml"])
        print(estate.ssh("web01", "hostname").stdout)

or from a shell (as root)::

    python -m tests.estate up functional      # or: up --hosts 200
    python -m tests.estate status
    python -m tests.estate ssh web01 -- cat /etc/os-release
    python -m tests.estate down

See ``estate.py`` (the API), ``scenario.py`` (the scenario format), ``builder.py`` (what a host
holds) and ``../shared/reference/test-estate.md`` (the measured recipe this follows).
"""

from .common import EstateError
from .estate import Estate, cleanup, preflight, runs_status
from .scenario import HostSpec, Scenario, generated_scenario, load_scenario

__all__ = [
    "Estate",
    "EstateError",
    "HostSpec",
    "Scenario",
    "cleanup",
    "generated_scenario",
    "load_scenario",
    "preflight",
    "runs_status",
]
