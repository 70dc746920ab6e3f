"""The Dagster instance that lives in ``REPR_ASSETS_HOME/dagster``."""

from __future__ import annotations

import os
import sys

import dagster as dg

from repr_assets.home import Home
from repr_assets.orchestration.pool import POOL_CONFIG, free_stranded_slots

DAGSTER_YAML = """\
# Written by repr-assets. Runs made by `repr-assets run` and by `make ui` share this instance.
telemetry:
  enabled: false
nux:
  enabled: false
# Steps that write the stores take a slot of the pool repr_assets_stores, so that two runs
# never write the same DuckDB file or LanceDB table at once (repr_assets/orchestration/pool.py).
"""
DAGSTER_YAML += POOL_CONFIG


def prepare_dagster_home(home: Home) -> None:
    """Create the instance folder with its ``dagster.yaml`` (kept if the user edited it)."""
    home.dagster.mkdir(parents=True, exist_ok=True)
    config = home.dagster / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)


def open_instance(home: Home) -> dg.DagsterInstance:
    """The persistent instance under ``home``; this process's ``DAGSTER_HOME`` points at it.

    Pool slots left behind by runs that are over or whose process is gone are given back
    first, and said on stderr, so that a killed run never stalls the next one.
    """
    prepare_dagster_home(home)
    os.environ["DAGSTER_HOME"] = str(home.dagster)
    instance = dg.DagsterInstance.get()
    for run_id in free_stranded_slots(instance):
        print(
            f"repr-assets: freed the pool slots of run {run_id}, which had stopped without "
            "giving them back",
            file=sys.stderr,
        )
    return instance
