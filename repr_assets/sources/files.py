"""Reading CSV, Parquet and JSONL files as batches of raw rows, setting bad rows aside.

Every reader yields ``RawRows``: an Arrow table whose columns are strings or numbers,
the ``ref`` of each row (``file:row``), and the rows it could not read: a row of the
wrong shape, bytes that are not UTF-8, a line that is not a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from repr_assets.sources.base import Quarantined, SourceError

TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
TABLE_SUFFIXES[".ndjson"] = "jsonl"


@dataclass
class RawRows:
    table: pa.Table
    refs: list[str]
    quarantined: list[Quarantined] = field(default_factory=list)


def file_format(path: Path) -> str:
    try:
        return TABLE_SUFFIXES[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(TABLE_SUFFIXES))
        raise SourceError(
            f"{path}: unknown file type {path.suffix!r}; a file source is one of {known}"
        ) from None


def read_rows(path: Path, batch_size: int, max_bytes: int) -> Iterator[RawRows]:
    """Raw rows of ``path`` in batches of at most about ``batch_size`` rows."""
    readers = {"csv": _csv_rows, "parquet": _parquet_rows, "jsonl": _jsonl_rows}
    yield from readers[file_format(path)](path, batch_size, max_bytes)


def column_names(path: Path) -> list[str]:
    """The file's column names, read from its header or first rows only."""
    for rows in read_rows(path, batch_size=256, max_bytes=2**31):
        if rows.table.num_columns:
            return rows.table.column_names
    raise SourceError(f"{path}: no readable rows")


# --- CSV ---------------------------------------------------------------------------------


def _csv_rows(path: Path, batch_size: int, max_bytes: int) -> Iterator[RawRows]:
    names = _csv_header(path)
    bad_shape: list[Quarantined] = []

    def on_invalid_row(row: pa_csv.InvalidRow) -> str:
        where = f"line {row.number}" if row.number is not None else "a row"
        bad_shape.append(
            Quarantined(
                f"{path.name}:{where}",
                f"row of the wrong shape: {row.actual_columns} fields, "
                f"expected {row.expected_columns}",
            )
        )
        return "skip"

    reader = pa_csv.open_csv(
        path,
        # Bytes first: a cell that is not UTF-8 then costs its row, not the whole file.
        read_options=pa_csv.ReadOptions(block_size=max(1 << 20, batch_size * 256)),
        parse_options=pa_csv.ParseOptions(invalid_row_handler=on_invalid_row),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.binary() for name in names}, strings_can_be_null=True
        ),
    )
    ordinal = 0
    for batch in reader:
        refs = [f"{path.name}:{ordinal + i + 1}" for i in range(batch.num_rows)]
        ordinal += batch.num_rows
        table, refs, undecodable = _decode_utf8(pa.Table.from_batches([batch]), refs, max_bytes)
        yield RawRows(table, refs, bad_shape + undecodable)
        bad_shape = []
    if bad_shape:
        yield RawRows(pa.table({name: pa.array([], pa.string()) for name in names}), [], bad_shape)


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    if not first.strip():
        raise SourceError(f"{path}: empty file, or no header row")
    try:
        header = pa_csv.read_csv(
            pa.BufferReader(first), read_options=pa_csv.ReadOptions(autogenerate_column_names=False)
        )
    except pa.ArrowInvalid as error:
        raise SourceError(f"{path}: unreadable header row: {error}") from None
    names = header.column_names
    if len(set(names)) != len(names):
        raise SourceError(f"{path}: the header names a column twice: {names}")
    return names


def _decode_utf8(
    table: pa.Table, refs: list[str], max_bytes: int
) -> tuple[pa.Table, list[str], list[Quarantined]]:
    """Binary columns as strings; rows with bytes that are not UTF-8 or over ``max_bytes``
    in a cell are set aside."""
    bad = np.zeros(table.num_rows, dtype=bool)
    reasons: dict[int, str] = {}
    for name in table.column_names:
        column = table.column(name)
        lengths = pc.binary_length(column).to_numpy(zero_copy_only=False)
        for too_long in np.flatnonzero(np.nan_to_num(lengths.astype(float)) > max_bytes):
            bad[too_long] = True
            reasons.setdefault(
                int(too_long), f"value of column {name!r} is over {max_bytes:,} bytes"
            )
        try:
            column.cast(pa.string())
        except pa.ArrowInvalid:
            for row, value in enumerate(column.to_pylist()):
                if value is None or bad[row]:
                    continue
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as error:
                    bad[row] = True
                    reasons.setdefault(
                        row, f"undecodable text in column {name!r}: not UTF-8 ({error.reason})"
                    )
    quarantined = [Quarantined(refs[row], reasons[row]) for row in sorted(reasons)]
    if bad.any():
        table = table.filter(pa.array(~bad))
        refs = [ref for ref, drop in zip(refs, bad, strict=True) if not drop]
    strings = pa.table({name: table.column(name).cast(pa.string()) for name in table.column_names})
    return strings, refs, quarantined


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
                quarantined.append(Quarantined(ref, record))
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
            quarantined.append(
                Quarantined(refs[row], f"row of the wrong shape: column {nested[0]!r} is nested")
            )
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
