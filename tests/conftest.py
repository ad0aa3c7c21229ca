"""Shared pytest configuration: markers, and the test estate as a session fixture."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.estate import Estate

FUNCTIONAL_SCENARIO = "functional"  # tests/estate/scenarios/functional.yaml


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: runs against the test estate (root, network namespaces)"
    )
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def estate() -> Iterator[Estate]:
    """The functional estate (``tests/estate/scenarios/functional.yaml``), built once per session.

    Skips, with the reason, where it cannot be built (not root, a tool missing) or when
    ``UNDONE_SKIP_ESTATE=1``; torn down at the end of the session, failures or not.
    """
    from tests.estate import Estate, load_scenario, preflight

    if os.environ.get("UNDONE_SKIP_ESTATE") == "1":
        pytest.skip("test estate disabled (UNDONE_SKIP_ESTATE=1)")
    scenario = load_scenario(FUNCTIONAL_SCENARIO)
    problems = preflight(scenario)
    if problems:
        if os.environ.get("CI"):
            # CI runs as root with everything installed: a missing estate is a failure there,
            # never a silent skip of every integration test
            pytest.fail("test estate unavailable in CI: " + "; ".join(problems))
        pytest.skip("test estate unavailable: " + "; ".join(problems))
    built = Estate.up(scenario)
    try:
        yield built
    finally:
        built.down()
