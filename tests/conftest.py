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
