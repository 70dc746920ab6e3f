"""Dagster resources: where the LanceDB database, the model store and the reports live."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from repr_assets.home import Home
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.models import ModelStore


class LanceDBResource(dg.ConfigurableResource):
    """The LanceDB database that holds items, features and embeddings."""

    uri: str = Field(
        description=(
            "Where the LanceDB database lives: a folder, or any URI LanceDB accepts "
            "(s3://bucket/path, with the standard AWS environment variables)."
        )
    )
    locks: str | None = Field(
        default=None,
        description=(
            "Folder of the tables' write locks, on a volume every writer shares (default: "
            "beside a local database; this machine's temporary folder for object storage)."
        ),
    )

    def get_store(self) -> LanceStore:
        return LanceStore(self.uri, locks=Path(self.locks) if self.locks else None)


class ReportsResource(DuckDBResource):
    """``reports.duckdb``, whose folder is made on first use: DuckDB makes the file, not
    the folders above it, and a step may open the reports before anything else is written
    in a new home."""

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as connection:
            yield connection


class ModelStoreResource(dg.ConfigurableResource):
    """The folder of fitted encoders, one sub-folder per data set, encoder and version."""

    root: str = Field(description="Path of the models folder.")

    def get_store(self) -> ModelStore:
        return ModelStore(self.root)


def build_resources(home: Home) -> dict[str, Any]:
    """The resources of every repr-assets graph, all under one home folder.

    The same objects for the same home, so that ``Definitions`` built apart (one per
    component, say) merge: Dagster refuses two resource objects under one key.
    """
    return dict(_resources(home))


@functools.cache
def _resources(home: Home) -> dict[str, Any]:
    return {
        "lancedb": LanceDBResource(uri=home.lancedb, locks=str(home.lancedb_locks)),
        "model_store": ModelStoreResource(root=str(home.models)),
        "duckdb": ReportsResource(database=str(home.reports)),
        # The values steps hand on (the sharded embedding plan) as files under the home,
        # which every process and every Dask worker of a deployment shares.
        "io_manager": dg.FilesystemIOManager(base_dir=str(home.dagster / "io")),
    }
