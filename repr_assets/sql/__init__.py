"""Read-only SQL over every LanceDB table and the reports, in a sandboxed DuckDB connection.

Each LanceDB table is registered under its own name as its Lance dataset, which DuckDB
scans in place (projections and filters pushed down, nothing copied). ``reports.duckdb``
is attached read-only and made the default catalog, so its tables are visible by name.

Then the connection is closed off, in two layers:
- DuckDB's own settings: no file system or network access (``read_csv``, ``COPY``,
  ``ATTACH`` of a file, ``INSTALL`` and ``LOAD`` all fail), no extension auto-loading, no
  scans of Python variables by name, and the configuration locked so a query cannot
  turn any of it back on.
- Only a single ``SELECT`` statement is run (``WITH``, ``SHOW``, ``DESCRIBE`` and
  ``SUMMARIZE`` are SELECTs to DuckDB). That refuses what the settings still allow in
  memory: ``CREATE TEMP TABLE``, ``ATTACH ':memory:'``, macros, ``SET``, ``CALL``.

DuckDB lets a query read and list its ``temp_directory`` even without external access
(the default is ``.tmp`` in the current folder, whatever that holds). So each connection
gets a folder of its own, ``$REPR_ASSETS_HOME/.sql_tmp-<random>``, which DuckDB makes only
when a query spills to disk and removes when the connection closes: a query can see its
own spill files there and nothing else. With no home folder yet there are no tables, and
spilling is off.

A query runs under a memory limit (DuckDB's ``memory_limit``; past it, DuckDB spills to
that folder, and a query that still does not fit fails) and a time limit, which DuckDB
does not have: a timer thread interrupts the connection. The time limit counts the
query's own work, not time spent waiting for whatever reads the output (a pager).

Every value DuckDB can return is printed as DuckDB itself renders it (``CAST(... AS
VARCHAR)``, ``to_json``), so dates beyond Python's range, unions, huge integers,
intervals and the like print in every format instead of failing in a Python conversion.
"""

from repr_assets.sql.results import (
    DEFAULT_TIMEOUT_S,
    TABLE_ROWS,
    WRITERS,
    write_csv,
    write_json,
    write_result,
    write_table,
)
from repr_assets.sql.sandbox import (
    DEFAULT_MEMORY_LIMIT,
    SANDBOX_SETTINGS,
    QueryRefused,
    _share_of_memory,
    check_query,
    open_sandbox,
    run_query,
)

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_TIMEOUT_S",
    "SANDBOX_SETTINGS",
    "TABLE_ROWS",
    "WRITERS",
    "QueryRefused",
    "_share_of_memory",
    "check_query",
    "open_sandbox",
    "run_query",
    "write_csv",
    "write_json",
    "write_result",
    "write_table",
]
