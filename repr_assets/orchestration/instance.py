"""The Dagster instance that lives in ``REPR_ASSETS_HOME/dagster``."""

from __future__ import annotations

import os

import dagster as dg

from repr_assets.home import Home

DAGSTER_YAML = """\
# Written by repr-assets. Runs made by `repr-assets run` and by `make ui` share this instance.
telemetry:
  enabled: false
nux:
  enabled: false
"""


def prepare_dagster_home(home: Home) -> None:
    """Create the instance folder with its ``dagster.yaml`` (kept if the user edited it)."""
    home.dagster.mkdir(parents=True, exist_ok=True)
    config = home.dagster / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)


def open_instance(home: Home) -> dg.DagsterInstance:
    """The persistent instance under ``home``; this process's ``DAGSTER_HOME`` points at it."""
    prepare_dagster_home(home)
    os.environ["DAGSTER_HOME"] = str(home.dagster)
    return dg.DagsterInstance.get()
