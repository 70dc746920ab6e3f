"""The sandboxed connection of ``repr-assets sql`` (see ``repr_assets.sql``): every
LanceDB table and the reports, read-only, closed off from files, the network and
settings, under a memory limit, spilling to a folder of its own."""

from __future__ import annotations

import re
import shutil
import uuid
import weakref
from pathlib import Path

import duckdb
import pyarrow as pa

from repr_assets.home import Home
from repr_assets.stores.duckdb_file import while_locked
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.serving import served_dataset

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
        if home.has_lancedb():
            store = LanceStore.of(home)
            for name in store.table_names():
                # Embeddings tables at their served version (see repr_assets.stores.serving).
                connection.register(name, served_dataset(store, name))
        if home.reports.exists():
            attach = f"ATTACH {_sql_string(str(home.reports))} AS {REPORTS_CATALOG} (READ_ONLY)"
            try:
                # A run holds the file for writing only while it writes: wait for it.
                while_locked(lambda: connection.execute(attach))
            except duckdb.IOException as error:
                raise QueryRefused(
                    f"cannot open {home.reports} to read it (is a run writing it?): "
                    f"{_one_line(error)}"
                ) from None
            connection.execute(f"USE {REPORTS_CATALOG}")
        spill = _spill_folder(home)
        if spill is not None:  # DuckDB removes it on closing; this in case it was not closed
            weakref.finalize(connection, shutil.rmtree, spill, ignore_errors=True)
        # Before external access goes off: DuckDB then allows this folder, and only it.
        connection.execute(f"SET temp_directory = {_sql_string(str(spill or ''))}")
        _set_memory_limit(connection, memory_limit)
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


def _set_memory_limit(connection: duckdb.DuckDBPyConnection, limit: str) -> None:
    try:
        connection.execute(f"SET memory_limit = {_sql_string(limit)}")
        return
    except duckdb.Error as error:
        refused = QueryRefused(f"--memory-limit {limit!r}: {_one_line(error)}")
    # DuckDB 1.1 takes no percentages: a share of the memory it sees, then, from its
    # default, which is 80% of that.
    default = connection.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    size = _share_of_memory(limit, default)
    if size is None:
        raise refused
    connection.execute(f"SET memory_limit = {_sql_string(size)}")


_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(bytes|KiB|MiB|GiB|TiB|PiB)")
_POWERS = {"bytes": 0, "KiB": 1, "MiB": 2, "GiB": 3, "TiB": 4, "PiB": 5}


def _share_of_memory(percent: str, default_limit: str) -> str | None:
    """``percent`` (``25%``) of the memory DuckDB sees, in MiB, from its default limit
    (``18.8 GiB``, 80% of that memory); None if either is not one of those."""
    share, size = _PERCENT.fullmatch(percent), _SIZE.fullmatch(default_limit.strip())
    if share is None or size is None or not 0 < float(share[1]) <= 100:
        return None
    memory = float(size[1]) * 1024 ** _POWERS[size[2]] / 0.8
    return f"{max(1, round(memory * float(share[1]) / 100 / 2**20))}MiB"


def check_query(connection: duckdb.DuckDBPyConnection, query: str) -> duckdb.DuckDBPyRelation:
    """``query`` as a relation, bound but not run, if it is one SELECT; else refused."""
    try:
        statements = connection.extract_statements(query)
    except duckdb.Error as error:
        raise QueryRefused(_one_line(error)) from None
    if len(statements) != 1:
        raise QueryRefused(f"expected one SQL statement, got {len(statements)}")
    kind = statements[0].type
    if kind not in ALLOWED_STATEMENTS:
        # The statement's own first word (DuckDB files INSTALL under LOAD), unless it
        # opens a common table expression: then the kind says what it does.
        words = statements[0].query.split()
        verb = words[0].upper() if words and words[0].upper() != "WITH" else kind.name
        raise QueryRefused(f"only read-only SELECT queries are allowed, not {verb}")
    try:
        return connection.sql(query)
    except duckdb.CatalogException as error:
        if "Table with name" not in str(error):
            raise QueryRefused(_one_line(error)) from None
        raise QueryRefused(_unknown_table(connection, str(error))) from None
    except duckdb.Error as error:
        raise QueryRefused(_one_line(error)) from None


def run_query(
    connection: duckdb.DuckDBPyConnection, query: str, batch_size: int = 10_000
) -> pa.RecordBatchReader:
    """Run one SELECT and stream its rows as Arrow, with no time limit (for code; the CLI
    uses ``write_result``); any other statement, or more than one, is refused."""
    relation = check_query(connection, query)
    try:
        return relation.to_arrow_reader(batch_size)
    except duckdb.Error as error:
        raise QueryRefused(_one_line(error)) from None


def _unknown_table(connection: duckdb.DuckDBPyConnection, message: str) -> str:
    """DuckDB's message for a table it does not know, with the tables a query can name
    (DuckDB's own guess is kept only when it is one of them, not a system table)."""
    try:
        names = sorted(
            {
                row[0]
                for row in connection.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_catalog IN (?, 'temp')",
                    [REPORTS_CATALOG],
                ).fetchall()
            }
        )
    except duckdb.Error:
        return _one_line(message)
    line = message.strip().splitlines()[0]
    guess = re.search(r'Did you mean "([^"]+)"', message)
    if guess is not None and guess[1] in names:
        line += f" Did you mean {guess[1]!r}?"
    if not names:
        return f"{line} There are no tables yet: `repr-assets run` makes them."
    return f"{line} The tables are: {', '.join(names)}."


def _sql_string(text: str) -> str:
    """``text`` as a SQL string literal (for the home's own path and settings)."""
    return "'" + text.replace("'", "''") + "'"


def _one_line(error: BaseException | str) -> str:
    """DuckDB's message on one line: its first paragraph (the rest is the query quoted
    with a caret, or advice such as ``SET threads``, which the sandbox refuses)."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    paragraph = text.split("\n\n")[0].splitlines()
    return " ".join(line.strip() for line in paragraph if line.strip())
