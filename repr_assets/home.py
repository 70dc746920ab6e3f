"""Where a run's data lives: one folder, ``REPR_ASSETS_HOME``, holds everything."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_VARIABLE = "REPR_ASSETS_HOME"


@dataclass(frozen=True)
class Home:
    """The layout of a repr-assets home folder.

    The core is handed a ``Home``; only the CLI and the code location decide where it is.
    """

    root: Path

    @classmethod
    def at(cls, path: str | Path) -> Home:
        return cls(Path(path).expanduser().resolve())

    @property
    def lancedb(self) -> Path:
        return self.root / "lancedb"

    @property
    def reports(self) -> Path:
        return self.root / "reports.duckdb"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def dagster(self) -> Path:
        return self.root / "dagster"


def home_from_environment() -> Home:
    """``$REPR_ASSETS_HOME``, else ``.repr_assets`` in the working directory.

    Only the entry points (the CLI and the code location) call this; the core is always
    handed its ``Home``.
    """
    return Home.at(os.environ.get(HOME_VARIABLE) or ".repr_assets")
