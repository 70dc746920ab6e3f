"""The pipeline's steps as plain functions: what each Dagster asset, the CLI and a notebook
call. No Dagster here.

A step that writes the reports database is handed ``connect``, a callable that opens a
DuckDB connection as a context manager (``DuckDBResource.get_connection``, or
``lambda: duckdb.connect(path)`` in a notebook), so that it holds the file only while it
writes.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager

import duckdb

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

Progress = Callable[[int, int], None]
"""Called by a step after each batch with ``(rows done, rows in all)``."""
