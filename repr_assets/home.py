"""Where a run's data lives: one folder, ``REPR_ASSETS_HOME``, holds everything."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_VARIABLE = "REPR_ASSETS_HOME"
LANCEDB_VARIABLE = "REPR_ASSETS_LANCEDB_URI"


@dataclass(frozen=True)
class Home:
    """The layout of a repr-assets home folder.

    The core is handed a ``Home``; only the CLI and the code location decide where it is.
    The LanceDB database can live elsewhere (``lancedb_uri``: any URI LanceDB accepts,
    ``s3://...`` included); the models, the reports and the Dagster instance stay here.
    """

    root: Path
    lancedb_uri: str | None = None

    @classmethod
    def at(cls, path: str | Path, lancedb_uri: str | None = None) -> Home:
        return cls(Path(path).expanduser().resolve(), lancedb_uri or None)

    @property
    def lancedb(self) -> str:
        """The URI of the LanceDB database (by default the folder ``lancedb`` here)."""
        return self.lancedb_uri or str(self.root / "lancedb")

    @property
    def lancedb_is_local(self) -> bool:
        return local_path(self.lancedb) is not None

    def has_lancedb(self) -> bool:
        """Whether the database may hold tables: a local one once its folder exists; one on
        object storage is asked (its listing is empty until the first write)."""
        folder = local_path(self.lancedb)
        return folder is None or folder.is_dir()

    @property
    def lancedb_locks(self) -> Path:
        """The tables' write locks (``repr_assets.stores.table_locks``): here, so that
        every process that shares the home shares them, wherever the tables are."""
        return self.root / "lancedb.locks"

    @property
    def reports(self) -> Path:
        return self.root / "reports.duckdb"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def dagster(self) -> Path:
        return self.root / "dagster"


def local_path(uri: str) -> Path | None:
    """The folder a LanceDB URI names on this machine (a path, or ``file://``), or
    ``None`` for one on object storage (``s3://`` and the like)."""
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    return None if "://" in uri else Path(uri)


def home_from_environment() -> Home:
    """``$REPR_ASSETS_HOME``, else ``.repr_assets`` in the working directory, with its
    LanceDB database at ``$REPR_ASSETS_LANCEDB_URI`` when that is set.

    Only the entry points (the CLI and the code location) call this; the core is always
    handed its ``Home``.
    """
    return Home.at(
        os.environ.get(HOME_VARIABLE) or ".repr_assets", os.environ.get(LANCEDB_VARIABLE)
    )
