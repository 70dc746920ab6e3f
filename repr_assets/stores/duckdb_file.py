"""Opening ``reports.duckdb`` while a run may be writing it.

DuckDB lets one process hold a database file for writing, and no other process open it
meanwhile, not even to read. A run's steps hold it only while they write (a moment), so a
reader that finds it locked waits and tries again instead of failing: the summary that
``repr-assets run`` prints while another run reports, ``repr-assets report`` during a
scheduled run, ``rollback``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from repr_assets.stores.retrying import retrying

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")
WAIT_SECONDS = 60.0


def connect(path: Path, *, read_only: bool, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file ``path``, waiting up to ``wait`` seconds
    (``WAIT_SECONDS``) for another process's lock on it to go."""
    import duckdb  # here, not above: a search that reads no report never loads DuckDB

    return while_locked(lambda: duckdb.connect(str(path), read_only=read_only), wait)


def while_locked(attempt: Callable[[], T], wait: float | None = None) -> T:
    """``attempt()``, tried again with back-off while it fails on another process's lock
    of a DuckDB file, for up to ``wait`` seconds (``WAIT_SECONDS``); any other error at
    once."""
    return retrying(attempt, _locked_by_another, WAIT_SECONDS if wait is None else wait)


def _locked_by_another(error: Exception) -> bool:
    import duckdb

    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def has_table(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database holds table or view ``name`` (reads only)."""
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])
