"""One query of ``repr-assets sql`` run under a time limit, its rows written as an
aligned table, CSV or JSON, every value as DuckDB renders it (see ``repr_assets.sql``)."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

import duckdb
import pyarrow as pa

from repr_assets.sql.sandbox import QueryRefused, _one_line, check_query

DEFAULT_TIMEOUT_S = 60.0
# Rows per Arrow batch: at 768 float dimensions, a batch is about 16 MB of text.
BATCH_ROWS = 2048
# The table format is for reading in a terminal: it shows this many rows, and says so.
TABLE_ROWS = 1_000
# Longer values are cut short in the table format, and it says so.
TABLE_CELL_WIDTH = 80

NUMERIC_TYPES = {
    "tinyint",
    "smallint",
    "integer",
    "bigint",
    "hugeint",
    "utinyint",
    "usmallint",
    "uinteger",
    "ubigint",
    "uhugeint",
    "float",
    "double",
    "decimal",
    "bignum",
    "varint",
}
NESTED_TYPES = {"list", "array", "struct", "map", "union", "tuple", "variant"}
AS_TEXT = "CAST({} AS VARCHAR)"
AS_JSON = "to_json({})"

T = TypeVar("T")


def write_result(
    connection: duckdb.DuckDBPyConnection,
    query: str,
    output_format: str,
    stream: IO[str],
    timeout: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Run one SELECT within ``timeout`` seconds and write its rows to ``stream`` as
    ``table``, ``csv`` or ``json``. A refused or failed query raises ``QueryRefused`` (one
    line); nothing is written unless rows came, and a JSON array cut short by an error is
    left unclosed, so that it cannot pass for the whole result."""
    writer = WRITERS[output_format]
    with Deadline(connection, timeout) as deadline:
        relation = deadline.run(check_query, connection, query)
        writer(Rows(relation, deadline), stream)


class Deadline:
    """Interrupts ``connection`` once the query has worked for ``limit`` seconds.

    The clock runs from the start but stops while the output is being written (``paused``):
    a reader that takes its time (``| less``) does not use up the query's time. DuckDB's
    interrupt flag is set again every 50 ms once the time is up, so that a query starting
    just then does not miss it.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, limit: float) -> None:
        self.limit = limit
        self.expired = False
        self._connection = connection
        self._spent = 0.0
        self._since: float | None = None
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._watch, name="sql-deadline", daemon=True)

    def __enter__(self) -> Deadline:
        self._since = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()

    def _watch(self) -> None:
        with self._wake:
            while not self._closed:
                if self._since is None:  # paused
                    self._wake.wait()
                    continue
                left = self.limit - self._spent - (time.monotonic() - self._since)
                if left <= 0:
                    self.expired = True
                    self._connection.interrupt()
                    left = 0.05
                self._wake.wait(left)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The clock stopped (writing output); the time limit is checked first."""
        self.check()
        with self._wake:
            if self._since is not None:
                self._spent += time.monotonic() - self._since
            self._since = None
        try:
            yield
        finally:
            with self._wake:
                self._since = time.monotonic()
                self._wake.notify()

    def check(self) -> None:
        if self.expired:
            raise self.stopped()

    def stopped(self) -> QueryRefused:
        return QueryRefused(f"the query ran past its {self.limit:g} s limit and was stopped")

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)``, a DuckDB or Arrow call, with its errors as one line."""
        self.check()
        try:
            return function(*args)
        except (duckdb.Error, pa.ArrowException, OSError, QueryRefused) as error:
            # A stream of results reports DuckDB's errors as OSError through Arrow; this
            # wraps no writes, so a BrokenPipeError of the output is never caught here.
            if self.expired:  # whatever failed, it was stopped by the interrupt
                raise self.stopped() from None
            if isinstance(error, QueryRefused):
                raise
            message = _one_line(error)
            if isinstance(error, duckdb.OutOfMemoryException) or message.startswith(
                "Out of Memory"
            ):
                message = f"the query needed more memory than its limit (--memory-limit): {message}"
            raise QueryRefused(message) from None


class Rows:
    """A checked SELECT, not run yet: its column names and types, and its values as DuckDB
    renders them, in batches, on its deadline."""

    def __init__(self, relation: duckdb.DuckDBPyRelation, deadline: Deadline) -> None:
        self._relation = relation
        self.deadline = deadline
        self.names: list[str] = list(relation.columns)
        self.types: list[str] = [str(kind.id) for kind in relation.types]

    def text(self, render: Callable[[str], str]) -> Generator[list[list[str | None]], None, None]:
        """Batch by batch, one list per column of its values as text (None for NULL):
        ``render(type)`` is the SQL, ``{}`` for the column, such as ``AS_JSON``."""
        # By position, as a repeated name would be ambiguous; one string of SQL, ours alone
        # (DuckDB 1.1 has no duckdb.SQLExpression).
        expressions = ", ".join(
            f"{render(kind).format(f'#{i + 1}')} AS c{i}" for i, kind in enumerate(self.types)
        )
        projected = self.deadline.run(self._relation.project, expressions)
        reader = self.deadline.run(projected.to_arrow_reader, BATCH_ROWS)
        while True:
            try:
                batch = self.deadline.run(reader.read_next_batch)
            except StopIteration:
                return
            if batch.num_rows:
                yield [column.to_pylist() for column in batch.columns]

    def write(self, stream: IO[str], text: str) -> None:
        """Write ``text`` with the clock stopped: a slow reader is not the query's time."""
        with self.deadline.paused():
            stream.write(text)


def write_table(rows: Rows, stream: IO[str]) -> None:
    """An aligned text table of the first ``TABLE_ROWS`` rows, numbers to the right;
    values cut at ``TABLE_CELL_WIDTH`` characters. A line under it says how many rows there
    are, and whether any were left out or cut short."""
    shown: list[tuple[str | None, ...]] = []
    more = False
    batches = rows.text(lambda kind: AS_TEXT)
    for columns in batches:
        shown.extend(zip(*columns, strict=True))
        if len(shown) > TABLE_ROWS:
            more = True
            del shown[TABLE_ROWS:]
            break
    batches.close()  # stop the query: the rest is not shown
    right = [kind in NUMERIC_TYPES for kind in rows.types]
    header = [_cell(name) for name in rows.names]
    body = [[_cell("NULL" if value is None else value) for value in row] for row in shown]
    widths = [max(width for _, width, _ in column) for column in zip(header, *body, strict=True)]
    lines = []
    for cells in [header, None, *body]:
        if cells is None:
            parts = ["-" * width for width in widths]
        else:
            parts = [
                " " * (width - used) + text if align else text + " " * (width - used)
                for (text, used, _), width, align in zip(cells, widths, right, strict=True)
            ]
        lines.append("  ".join(parts).rstrip())
    count = len(shown)
    if more:
        lines.append(f"(the first {count:,} rows; there are more: --format csv or json prints all)")
    else:
        lines.append(f"({count:,} row{'' if count == 1 else 's'})")
    if any(cut for row in body for _, _, cut in row):
        lines.append(
            f"(values over {TABLE_CELL_WIDTH} characters are cut short, ending in …: "
            "--format csv or json prints them whole)"
        )
    rows.write(stream, "\n".join(lines) + "\n")


def write_csv(rows: Rows, stream: IO[str]) -> None:
    """CSV with a header, written batch by batch: values as DuckDB's text (NULL is an empty
    field); lists, structs, maps and unions as JSON."""
    nested = [i for i, kind in enumerate(rows.types) if kind in NESTED_TYPES]
    header: list[str] | None = rows.names
    for columns in rows.text(lambda kind: AS_JSON if kind in NESTED_TYPES else AS_TEXT):
        for i in nested:
            columns[i] = [None if v is None else _strict_json(v) for v in columns[i]]
        chunk = io.StringIO()
        writer = csv.writer(chunk, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
            header = None
        writer.writerows(zip(*columns, strict=True))
        rows.write(stream, chunk.getvalue())
    if header is not None:  # no rows: the header alone
        chunk = io.StringIO()
        csv.writer(chunk, lineterminator="\n").writerow(header)
        rows.write(stream, chunk.getvalue())


def write_json(rows: Rows, stream: IO[str]) -> None:
    """A JSON array of one object per row, written as the rows arrive: values as DuckDB's
    ``to_json`` has them, NaN and infinities as null; a repeated column name gets ``_1``
    (as DuckDB names them in a subquery), ``_2``, … so that every key is kept."""
    keys = [json.dumps(name) + ": " for name in _unique(rows.names)]
    separator = "[\n"
    for columns in rows.text(lambda kind: AS_JSON):
        objects = [
            "{"
            + ", ".join(
                key + ("null" if value is None else _strict_json(value))
                for key, value in zip(keys, values, strict=True)
            )
            + "}"
            for values in zip(*columns, strict=True)
        ]
        rows.write(stream, separator + ",\n".join(objects))
        separator = ",\n"
    rows.write(stream, "[]\n" if separator == "[\n" else "\n]\n")


WRITERS: dict[str, Callable[[Rows, IO[str]], None]] = {
    "table": write_table,
    "csv": write_csv,
    "json": write_json,
}

# A JSON string (left as it is), or DuckDB's NaN and infinities, which JSON does not have.
_NOT_JSON = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN')


def _strict_json(text: str) -> str:
    """DuckDB's ``to_json`` text with NaN and ±Infinity as null."""
    if "NaN" not in text and "Infinity" not in text:
        return text
    return _NOT_JSON.sub(lambda m: m[0] if m[0].startswith('"') else "null", text)


def _unique(names: list[str]) -> list[str]:
    taken: set[str] = set()
    unique = []
    for name in names:
        candidate, n = name, 0
        while candidate in taken:
            n += 1
            candidate = f"{name}_{n}"
        taken.add(candidate)
        unique.append(candidate)
    return unique


# Control characters, and the ones that break a line, as escapes: one value, one line.
_ESCAPES = {i: f"\\x{i:02x}" for i in [*range(32), 127]} | {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x85: "\\x85",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def _cell(value: str) -> tuple[str, int, bool]:
    """``value`` for one cell of a text table: its text, its width in terminal columns and
    whether it was cut short."""
    if value.isascii() and value.isprintable():
        if len(value) <= TABLE_CELL_WIDTH:
            return value, len(value), False
        return value[: TABLE_CELL_WIDTH - 1] + "…", TABLE_CELL_WIDTH, True
    text = value.translate(_ESCAPES)
    widths = [_char_width(char) for char in text]
    if sum(widths) <= TABLE_CELL_WIDTH:
        return text, sum(widths), False
    used = 0
    for i, width in enumerate(widths):
        if used + width > TABLE_CELL_WIDTH - 1:
            return text[:i] + "…", used + 1, True
        used += width
    raise AssertionError("unreachable")


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in {"Mn", "Me", "Cf"}:
        return 0
    return 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1
