"""Reading CSV, Parquet and JSONL files as batches of raw rows, setting bad rows aside.

Every reader yields ``RawRows``: an Arrow table whose columns are strings or numbers,
the ``ref`` of each row (``file:line N`` for CSV and JSONL, the line the row starts on;
``file:N`` for Parquet), and the rows it could not read: a row of the wrong shape, bytes
that are not UTF-8, a line that is not a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from repr_assets.items.hashing import short_hash
from repr_assets.sources.base import Quarantined, RawRows, SourceError, row_content
from repr_assets.sources.csv_file import csv_rows

TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
TABLE_SUFFIXES[".ndjson"] = "jsonl"


def file_format(path: Path) -> str:
    try:
        return TABLE_SUFFIXES[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(TABLE_SUFFIXES))
        raise SourceError(
            f"{path}: unknown file type {path.suffix!r}; a file source is one of {known}"
        ) from None


def read_rows(
    path: Path, batch_size: int, max_bytes: int, *, block_size: int | None = None
) -> Iterator[RawRows]:
    """Raw rows of ``path`` in batches of at most ``batch_size`` rows.

    A CSV file is read ``block_size`` bytes at a time (by default 1 MiB, or 256 bytes a
    row of a batch); its columns are all text, and only an empty field is missing.
    """
    kind = file_format(path)
    if kind == "csv":
        yield from csv_rows(path, batch_size, max_bytes, block_size)
    else:
        readers = {"parquet": _parquet_rows, "jsonl": _jsonl_rows}
        yield from readers[kind](path, batch_size, max_bytes)


def column_names(path: Path) -> list[str]:
    """The file's column names, read from its header or first rows only."""
    for rows in read_rows(path, batch_size=256, max_bytes=2**31):
        if rows.table.num_columns:
            return rows.table.column_names
    raise SourceError(f"{path}: no readable rows")


# --- Parquet -----------------------------------------------------------------------------


def _parquet_rows(path: Path, batch_size: int, max_bytes: int) -> Iterator[RawRows]:
    try:
        # pre_buffer would keep every row group read so far cached until the file is
        # closed: 0.45 KiB a row, half a GiB for a million rows of 64 numbers.
        parquet = pq.ParquetFile(path, pre_buffer=False)
    except (pa.ArrowInvalid, OSError) as error:
        raise SourceError(f"{path}: not a readable Parquet file ({error})") from None
    ordinal = 0
    with parquet:
        for batch in parquet.iter_batches(batch_size=batch_size):
            table = pa.Table.from_batches([batch])
            refs = [f"{path.name}:{ordinal + i + 1}" for i in range(batch.num_rows)]
            ordinal += batch.num_rows
            yield RawRows(_scalar_columns(table, path), refs)


def _scalar_columns(table: pa.Table, path: Path) -> pa.Table:
    """Numbers stay numbers; booleans, dates and dictionaries become strings."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            columns[name] = column.cast(pa.float64())
        elif any(
            test(kind)
            for test in (
                pa.types.is_string,
                pa.types.is_large_string,
                pa.types.is_boolean,
                pa.types.is_temporal,
            )
        ):
            columns[name] = column.cast(pa.string())
        else:
            raise SourceError(
                f"{path}: column {name!r} has type {kind}, which is neither a number nor text"
            )
    return pa.table(columns)


# --- JSONL -------------------------------------------------------------------------------


def _jsonl_rows(path: Path, batch_size: int, max_bytes: int) -> Iterator[RawRows]:
    records: list[dict[str, object]] = []
    refs: list[str] = []
    quarantined: list[Quarantined] = []
    names: list[str] | None = None
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            ref = f"{path.name}:line {number}"
            if not line.strip():
                continue
            record = _json_record(line, max_bytes)
            if isinstance(record, str):
                quarantined.append(Quarantined(ref, record, content=row_content(line)))
                continue
            if names is None:
                names = list(record)
            records.append(record)
            refs.append(ref)
            if len(records) >= batch_size:
                yield _jsonl_batch(records, refs, quarantined, names)
                records, refs, quarantined = [], [], []
    if records or quarantined:
        yield _jsonl_batch(records, refs, quarantined, names or [])


def _json_record(line: bytes, max_bytes: int) -> dict[str, object] | str:
    """The line's JSON object, or the reason it is not one."""
    if len(line) > max_bytes:
        return f"line is over {max_bytes:,} bytes"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"undecodable text: not UTF-8 ({error.reason})"
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        return f"not valid JSON: {error.msg}"
    if not isinstance(record, dict):
        return f"row of the wrong shape: a JSON {type(record).__name__}, not an object"
    return record


def _jsonl_batch(
    records: list[dict[str, object]],
    refs: list[str],
    quarantined: list[Quarantined],
    names: list[str],
) -> RawRows:
    """Columns of the first object's keys: numbers where every value is one, else text."""
    keep: list[int] = []
    columns: dict[str, list[object]] = {name: [] for name in names}
    for row, record in enumerate(records):
        nested = [k for k in names if isinstance(record.get(k), dict | list)]
        if nested:
            reason = f"row of the wrong shape: column {nested[0]!r} is nested"
            content = short_hash("record", repr(sorted(record.items())), length=16)
            quarantined.append(Quarantined(refs[row], reason, content=content))
            continue
        keep.append(row)
        for name in names:
            columns[name].append(record.get(name))
    arrays = {}
    for name, values in columns.items():
        numeric = all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values if v is not None
        ) and any(v is not None for v in values)
        if numeric:
            arrays[name] = pa.array(values, pa.float64())
        else:
            arrays[name] = pa.array(
                [None if v is None else _as_text(v) for v in values], pa.string()
            )
    return RawRows(
        pa.table(arrays) if names else pa.table({}), [refs[i] for i in keep], quarantined
    )


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
