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

A query runs under DuckDB's ``memory_limit``; past it, DuckDB spills to that folder, and a
query that still does not fit fails.
"""

from __future__ import annotations

import base64
import csv
import datetime
import decimal
import json
import math
import shutil
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa

from repr_assets.home import Home
from repr_assets.serving import open_served
from repr_assets.stores.lance import LanceStore

REPORTS_CATALOG = "reports"
ALLOWED_STATEMENTS = {duckdb.StatementType.SELECT}
# Settings applied in this order once the tables are in place; the lock comes last.
SANDBOX_SETTINGS = (
    ("enable_external_access", False),
    ("autoinstall_known_extensions", False),
    ("autoload_known_extensions", False),
    ("allow_community_extensions", False),
    ("allow_unsigned_extensions", False),
    # Else an unknown table name would be looked up among the caller's Python variables.
    ("python_enable_replacements", False),
    ("lock_configuration", True),
)
# Of the memory DuckDB detects (its own default is 80%): sql runs beside pipeline runs, and
# what does not fit spills to disk.
DEFAULT_MEMORY_LIMIT = "25%"
# Each connection's spill folder: this and a random name, in the home.
SPILL_PREFIX = ".sql_tmp-"


class QueryRefused(ValueError):
    """A query that the read-only sandbox does not run, or that DuckDB rejected."""


def open_sandbox(home: Home, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    """A locked, read-only DuckDB connection over the home's LanceDB tables and reports.

    ``memory_limit`` is DuckDB's (``4GB``, ``500MB``, ``25%`` of the memory it detects).
    """
    connection = duckdb.connect(":memory:")
    try:
        if home.lancedb.exists():
            store = LanceStore(home.lancedb)
            for name in store.table_names():
                # Embeddings tables at their served version (see repr_assets.serving).
                connection.register(name, open_served(store, name).to_lance())
        if home.reports.exists():
            try:
                connection.execute(
                    f"ATTACH {_sql_string(str(home.reports))} AS {REPORTS_CATALOG} (READ_ONLY)"
                )
            except duckdb.IOException as error:
                raise QueryRefused(
                    f"cannot open {home.reports} to read it (is a run writing it?): "
                    f"{_first_line(error)}"
                ) from None
            connection.execute(f"USE {REPORTS_CATALOG}")
        spill = _spill_folder(home)
        if spill is not None:  # DuckDB removes it on closing; this in case it was not closed
            weakref.finalize(connection, shutil.rmtree, spill, ignore_errors=True)
        # Before external access goes off: DuckDB then allows this folder, and only it.
        connection.execute(f"SET temp_directory = {_sql_string(str(spill or ''))}")
        try:
            connection.execute(f"SET memory_limit = {_sql_string(memory_limit)}")
        except duckdb.Error as error:
            raise QueryRefused(f"--memory-limit {memory_limit!r}: {_first_line(error)}") from None
        for setting, value in SANDBOX_SETTINGS:
            connection.execute(f"SET {setting} = {str(value).lower()}")
    except BaseException:
        connection.close()
        raise
    return connection


def _spill_folder(home: Home) -> Path | None:
    """A new name in the home for one connection's spill files (DuckDB makes the folder
    only when a query spills, and removes it on closing); None when there is no home
    folder (and so no tables) yet: spilling is off then, and nothing is created."""
    if not home.root.is_dir():
        return None
    return home.root / f"{SPILL_PREFIX}{uuid.uuid4().hex}"


def run_query(
    connection: duckdb.DuckDBPyConnection, query: str, batch_size: int = 10_000
) -> pa.RecordBatchReader:
    """Run one SELECT and stream its rows; any other statement, or more than one, is refused."""
    try:
        statements = connection.extract_statements(query)
    except duckdb.Error as error:
        raise QueryRefused(_first_line(error)) from None
    if len(statements) != 1:
        raise QueryRefused(f"expected one SQL statement, got {len(statements)}")
    kind = statements[0].type
    if kind not in ALLOWED_STATEMENTS:
        raise QueryRefused(f"only read-only SELECT queries are allowed, not {kind.name}")
    try:
        return connection.sql(query).to_arrow_reader(batch_size)
    except duckdb.Error as error:
        raise QueryRefused(_first_line(error)) from None


def write_table(rows: pa.RecordBatchReader, stream: IO[str]) -> None:
    """The rows as an aligned text table (read whole: use CSV or JSON for large results)."""
    table = pa.Table.from_batches(list(_batches(rows)), schema=rows.schema)
    stream.write(table.to_pandas().to_string(index=False, na_rep="NULL") + "\n")


def write_csv(rows: pa.RecordBatchReader, stream: IO[str]) -> None:
    """CSV with a header, written batch by batch; lists and structs as JSON."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(rows.schema.names)
    for batch in _batches(rows):
        for row in batch.to_pylist():
            writer.writerow(_csv_value(value) for value in row.values())


def write_json(rows: pa.RecordBatchReader, stream: IO[str]) -> None:
    """A JSON array of one object per row, written as the rows arrive."""
    separator = "[\n"
    for batch in _batches(rows):
        for row in batch.to_pylist():
            stream.write(separator + json.dumps({k: _json_value(v) for k, v in row.items()}))
            separator = ",\n"
    stream.write("[]\n" if separator == "[\n" else "\n]\n")


def _batches(rows: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    try:
        yield from rows
    except (duckdb.Error, pa.ArrowException) as error:  # errors can surface mid-stream
        raise QueryRefused(_first_line(error)) from None


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.date | datetime.time | datetime.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | datetime.timedelta):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _csv_value(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return json.dumps(_json_value(value))
    return _json_value(value)


def _sql_string(text: str) -> str:
    """``text`` as a SQL string literal (for the home's own path, never for user input)."""
    return "'" + text.replace("'", "''") + "'"


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
