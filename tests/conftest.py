"""Shared fixtures: a temporary home and a run config that trains quickly."""

from __future__ import annotations

import pytest

from repr_assets.home import HOME_VARIABLE, Home


@pytest.fixture
def home(tmp_path, monkeypatch) -> Home:
    """A fresh ``REPR_ASSETS_HOME`` that the code under test must stay inside."""
    root = tmp_path / "home"
    monkeypatch.setenv(HOME_VARIABLE, str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster"))
    return Home.at(root)


# The test files that take longest, longest first (seconds per file, measured with
# `pytest --durations=0`): pytest-xdist hands whole files to its workers in collection
# order, so that the long ones start first and no long file ends the run alone.
LONGEST_FIRST = (
    "tests/cli/test_cli_promises.py",
    "tests/test_readme.py",
    "tests/benchmarks/test_suite.py",
    "tests/orchestration/test_dask_run.py",
    "tests/cli/test_run_sources.py",
    "tests/stores/test_object_storage.py",
    "tests/encoders/test_encoders_compared.py",
    "tests/quality/test_factor_report.py",
    "tests/orchestration/test_sharded_run.py",
    "tests/encoders/test_contrastive.py",
    "tests/orchestration/test_postgres_instance.py",
    "tests/cli/test_cli.py",
    "tests/cli/test_ui.py",
    "tests/datasets/test_declared.py",
    "tests/quality/test_transfer.py",
    "tests/quality/test_drift_report.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: position for position, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
