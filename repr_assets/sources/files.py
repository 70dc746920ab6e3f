"""Reading CSV, Parquet and JSONL files as batches of raw rows, setting bad rows aside.

Every reader yields ``RawRows``: an Arrow table whose columns are strings or numbers,
the ``ref`` of each row (``file:line N`` for CSV and JSONL, the line the row starts on;
``file:N`` for Parquet), and the rows it could not read: a row of the wrong shape, bytes
that are not UTF-8, a line that is not a JSON object.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

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


def read_rows(
    path: Path, batch_size: int, max_bytes: int, *, block_size: int | None = None
) -> Iterator[RawRows]:
    """Raw rows of ``path`` in batches of at most ``batch_size`` rows.

    A CSV file is read ``block_size`` bytes at a time (by default 1 MiB, or 256 bytes a
    row of a batch); its columns are all text, and only an empty field is missing.
    """
    kind = file_format(path)
    if kind == "csv":
        yield from _csv_rows(path, batch_size, max_bytes, block_size)
    else:
        readers = {"parquet": _parquet_rows, "jsonl": _jsonl_rows}
        yield from readers[kind](path, batch_size, max_bytes)


def column_names(path: Path) -> list[str]:
    """The file's column names, read from its header or first rows only."""
    for rows in read_rows(path, batch_size=256, max_bytes=2**31):
        if rows.table.num_columns:
            return rows.table.column_names
    raise SourceError(f"{path}: no readable rows")


# --- CSV ---------------------------------------------------------------------------------
#
# A CSV file is read in blocks of bytes, cut only between rows. The cut is found with
# NumPy: a line end is inside a quoted field when an odd number of quotes comes before it,
# which is exact for RFC 4180 quoting (a quote opens a field or closes it, "" inside one).
# Each row's field count and its first line come from the same scan, so a row of the wrong
# shape is set aside on its own line, and the rows around it go to pyarrow whole. A quote
# that RFC 4180 does not allow (in the middle of a bare field, text after a closing quote)
# hands its row to Python's csv module, whose reading is the contract, and the fast scan
# takes over again at the next row.

CSV_BLOCK_BYTES = 1 << 20
HEADER_BYTES = 16 << 20
_QUOTE, _COMMA, _CR, _LF = 0x22, 0x2C, 0x0D, 0x0A
_BOM = b"\xef\xbb\xbf"
# Bytes that may stand before an opening quote or after a closing one.
_BESIDE_QUOTES = np.zeros(256, dtype=bool)
_BESIDE_QUOTES[[_QUOTE, _COMMA, _CR, _LF]] = True
_LINE_END = re.compile(rb"\r\n?|\n")

_Piece = tuple[pa.Table, list[str], list[Quarantined]]


def _csv_rows(
    path: Path, batch_size: int, max_bytes: int, block_size: int | None = None
) -> Iterator[RawRows]:
    block = max(1, block_size or max(CSV_BLOCK_BYTES, batch_size * 256))
    with path.open("rb") as handle:
        names, offset, line = _csv_header(path, handle, block)
        reader = _CsvReader(handle, path.name, names, block, max_bytes, offset, line)
        batches = _Batches(names, batch_size)
        for table, refs, quarantined in reader.pieces():
            strings, refs, undecodable = _decode_utf8(table, refs, max_bytes)
            yield from batches.add(strings, refs, quarantined + undecodable)
        yield from batches.flush()


def _csv_header(path: Path, handle: BinaryIO, block: int) -> tuple[list[str], int, int]:
    """The column names, the offset of the first byte after them, and that byte's line."""
    start = len(_BOM) if handle.read(len(_BOM)) == _BOM else 0
    lines = _Lines(handle, start, block, longest=HEADER_BYTES)
    try:
        row = next((row for row in csv.reader(lines) if row), None)
    except csv.Error as error:
        raise SourceError(f"{path}: unreadable header row: {error}") from None
    except _LineTooLong:
        raise SourceError(f"{path}: no header row in its first {HEADER_BYTES:,} bytes") from None
    if row is None:
        raise SourceError(f"{path}: empty file, or no header row")
    try:
        names = [name.encode("latin-1").decode("utf-8") for name in row]
    except UnicodeDecodeError as error:
        raise SourceError(f"{path}: the header row is not UTF-8 ({error.reason})") from None
    if len(set(names)) != len(names):
        raise SourceError(f"{path}: the header names a column twice: {names}")
    return names, lines.offset, 1 + lines.count


@dataclass
class _Scan:
    """Where a block's line ends (the last byte of each), rows and quotes are."""

    breaks: np.ndarray  # every line end, inside quotes or not
    ends: np.ndarray  # the line ends outside quotes: where rows end
    quotes: np.ndarray
    bad_quote: int | None  # the first quote that RFC 4180 quoting does not allow


def _line_ends(data: np.ndarray, raw: bytes, final: bool) -> np.ndarray:
    """Positions of the last byte of each line end (LF, CR LF or a lone CR). A CR at the
    very end of a block that is not the file's last is left for the next block."""
    lf = np.flatnonzero(data == _LF)
    if b"\r" not in raw:  # memchr: much faster than a NumPy pass
        return lf
    cr = np.flatnonzero(data == _CR)
    after = cr + 1
    known = after < len(data)
    lone = np.full(cr.size, final)
    lone[known] = data[after[known]] != _LF
    if not lone.any():
        return lf
    return np.sort(np.concatenate([lf, cr[lone]]))


def _scan(data: np.ndarray, raw: bytes, final: bool) -> _Scan:
    """The rows of ``data`` (the bytes ``raw``), which starts where a row starts."""
    breaks = _line_ends(data, raw, final)
    if b'"' not in raw:
        return _Scan(breaks, breaks, np.empty(0, np.intp), None)
    quotes = np.flatnonzero(data == _QUOTE)
    ends = breaks[(np.searchsorted(quotes, breaks) & 1) == 0]
    # An opening quote starts a field (or follows a closing one: a "" in a quoted field);
    # a closing quote ends its field or row (or is followed by an opening one). A closing
    # quote that is the block's last byte is judged with the next block.
    opening, closing = quotes[0::2], quotes[1::2]
    bad_opening = opening[(opening > 0) & ~_BESIDE_QUOTES[data[np.maximum(opening - 1, 0)]]]
    known = closing + 1 < len(data)
    bad_closing = closing[known][~_BESIDE_QUOTES[data[closing[known] + 1]]]
    bad = np.concatenate([bad_opening[:1], bad_closing[:1]])
    return _Scan(breaks, ends, quotes, int(bad.min()) if bad.size else None)


class _CsvReader:
    """The rows of a CSV file after its header, as pieces of binary columns with refs."""

    def __init__(
        self,
        handle: BinaryIO,
        name: str,
        names: list[str],
        block: int,
        max_bytes: int,
        offset: int,
        line: int,
    ) -> None:
        self.handle, self.name, self.names, self.block = handle, name, names, block
        self.offset, self.line = offset, line  # where the next row starts
        # No row of at most len(names) values of at most max_bytes bytes is longer, quotes
        # doubled and all: a longer one is set aside without being held (an unclosed quote).
        self.limit = max(4 * block, len(names) * (2 * max_bytes + 3))
        self.max_bytes = max_bytes

    def pieces(self) -> Iterator[_Piece]:
        self.handle.seek(self.offset)
        pending, final, want = b"", False, self.block
        while True:
            if not final:
                more = self.handle.read(want)
                final = not more
                pending += more
            data = pending
            if final and data and data[-1] not in b"\r\n":
                data += b"\n"
            if not data:
                return
            array = np.frombuffer(data, dtype=np.uint8)
            scan = _scan(array, data, final)
            ends = scan.ends if scan.bad_quote is None else scan.ends[scan.ends < scan.bad_quote]
            base = self.offset
            if ends.size:
                size = int(ends[-1]) + 1
                piece = self._fast(data, array, scan, ends)
                if piece is None:  # pyarrow and the scan disagree: read it as Python does
                    piece = self._exact(stop=base + size - 1)
                    pending, final = b"", False
                    self.handle.seek(self.offset)
                else:
                    self.line += int(np.searchsorted(scan.breaks, size))
                    self.offset += size
                    pending = pending[size:]
                yield piece
                want = self.block
            if scan.bad_quote is not None:
                # The rest of the block, so that a file with such a quote in every row
                # costs a scan a block, not a scan a row.
                yield self._exact(stop=max(base + scan.bad_quote, base + len(data) - 1))
                pending, final, want = b"", False, self.block
                self.handle.seek(self.offset)
            elif ends.size:
                continue
            elif final:
                if pending.strip(b"\r\n"):  # an unclosed quote runs to the end
                    yield self._exact(stop=1 << 62)
                return
            elif len(pending) > self.limit:
                yield self._skip(pending)
                pending, want = b"", self.block
                self.handle.seek(self.offset)
            else:  # a long row: read on, doubling, up to just over the limit
                want = max(self.block, min(len(pending), self.limit + 1 - len(pending)))

    def _fast(self, data: bytes, array: np.ndarray, scan: _Scan, ends: np.ndarray) -> _Piece | None:
        """The rows ending at ``ends`` parsed by pyarrow; ``None`` if it counts otherwise."""
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        crlf = (ends > starts) & (array[ends] == _LF) & (array[ends - 1] == _CR)
        keep = ends - starts != crlf  # a blank line is no row (pyarrow skips it too)
        size = int(ends[-1]) + 1
        breaks = int(np.searchsorted(scan.breaks, size))
        if breaks == ends.size:  # no line end inside quotes: a row a line
            lines = self.line + np.arange(ends.size)
        else:
            lines = self.line + np.searchsorted(scan.breaks, starts)
        multiline = breaks > ends.size
        # Most blocks hold no row of the wrong shape: pyarrow, which counts the fields of
        # each row anyway, says whether this one does, and only then are they counted here.
        table, wrong_shape = self._parse(pa.py_buffer(data).slice(0, size), keep, multiline)
        quarantined = []
        if wrong_shape:
            commas = np.flatnonzero(array[:size] == _COMMA)
            if scan.quotes.size:
                commas = commas[(np.searchsorted(scan.quotes, commas) & 1) == 0]
            fields = np.bincount(np.searchsorted(ends, commas), minlength=ends.size) + 1
            width = len(self.names)
            wrong = keep & (fields != width)
            keep &= ~wrong
            quarantined = [
                Quarantined(
                    f"{self.name}:line {line}",
                    f"row of the wrong shape: {count} fields, expected {width}",
                )
                for line, count in zip(lines[wrong].tolist(), fields[wrong].tolist(), strict=True)
            ]
            payload = pa.py_buffer(array[:size][np.repeat(keep, ends - starts + 1)])
            table, wrong_shape = self._parse(payload, keep, multiline)
        prefix = f"{self.name}:line "
        refs = [prefix + str(line) for line in lines[keep].tolist()]
        if wrong_shape or table.num_rows != len(refs):
            return None
        return table, refs, quarantined

    def _parse(
        self, payload: pa.Buffer, keep: np.ndarray, multiline: bool
    ) -> tuple[pa.Table, bool]:
        """Whole rows parsed as binary columns, and whether some row had the wrong shape."""
        if not keep.any():
            return _empty_binary(self.names), False
        if payload[: len(_BOM)].to_pybytes() == _BOM:  # pyarrow would take it for the file's
            payload = pa.py_buffer(b"\n" + payload.to_pybytes())  # byte order mark and drop it
        wrong_shape = []

        def on_invalid_row(row: pa_csv.InvalidRow) -> str:
            wrong_shape.append(row)
            return "skip"

        table = pa_csv.read_csv(
            pa.BufferReader(payload),
            # One block: a row may be longer than pyarrow's default block of 1 MiB.
            read_options=pa_csv.ReadOptions(
                column_names=self.names, block_size=min(payload.size + 1, 2**31 - 1)
            ),
            parse_options=pa_csv.ParseOptions(
                newlines_in_values=multiline, invalid_row_handler=on_invalid_row
            ),
            # Bytes first: a cell that is not UTF-8 then costs its row, not the whole file.
            # Only an empty field is missing; "NA", "null" and the like are text.
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.binary() for name in self.names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        return table, bool(wrong_shape)

    def _exact(self, stop: int) -> _Piece:
        """Rows read by Python's csv module, up to the one that holds byte ``stop``."""
        lines = _Lines(self.handle, self.offset, self.block)
        reader = csv.reader(lines)
        width = len(self.names)
        columns: list[list[bytes | None]] = [[] for _ in self.names]
        refs: list[str] = []
        quarantined: list[Quarantined] = []
        while lines.offset <= stop:
            ref = f"{self.name}:line {self.line + lines.count}"
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                quarantined.append(Quarantined(ref, f"unreadable row: {error}"))
                continue
            if not row:
                continue
            if len(row) != width:
                quarantined.append(
                    Quarantined(ref, f"row of the wrong shape: {len(row)} fields, expected {width}")
                )
                continue
            for column, value in zip(columns, row, strict=True):
                column.append(value.encode("latin-1") if value else None)
            refs.append(ref)
        self.offset, self.line = lines.offset, self.line + lines.count
        table = pa.table(
            {
                name: pa.array(column, pa.binary())
                for name, column in zip(self.names, columns, strict=True)
            }
        )
        return table, refs, quarantined

    def _skip(self, pending: bytes) -> _Piece:
        """Set aside the row that starts ``pending`` and is longer than any good row can be,
        reading on to its end without holding it."""
        ref = f"{self.name}:line {self.line}"
        parity, lines, position = 0, 0, self.offset  # position: the file offset of data[0]
        data, final = pending, False
        while True:
            array = np.frombuffer(data, dtype=np.uint8)
            breaks = _line_ends(array, data, final)
            quotes = np.flatnonzero(array == _QUOTE)
            outside = np.flatnonzero(((np.searchsorted(quotes, breaks) + parity) & 1) == 0)
            if outside.size:
                end = position + int(breaks[outside[0]]) + 1
                lines += int(outside[0]) + 1
                break
            if final:
                end = position + len(data)
                break
            lines += len(breaks)
            parity = (parity + len(quotes)) & 1
            carry = data[-1:] if data.endswith(b"\r") else b""  # perhaps the CR of a CR LF
            position += len(data) - len(carry)
            chunk = self.handle.read(self.block)
            data, final = carry + chunk, not chunk
        self.offset, self.line = end, self.line + lines
        reason = (
            f"row over {self.limit:,} bytes, longer than {len(self.names)} values of at most "
            f"{self.max_bytes:,} bytes can be (a quote left open?)"
        )
        return _empty_binary(self.names), [], [Quarantined(ref, reason)]


class _LineTooLong(Exception):
    pass


class _Lines:
    """The lines of a binary file from ``offset`` on, split where ``open(newline="")``
    splits them, as Latin-1 text: a character a byte, so that the csv module parses the
    bytes themselves (every byte it looks at is ASCII, and no UTF-8 character holds one)."""

    def __init__(
        self, handle: BinaryIO, offset: int, block: int, longest: int | None = None
    ) -> None:
        handle.seek(offset)
        self.handle, self.block, self.longest = handle, block, longest
        self.offset = offset  # of the next line
        self.count = 0  # lines given so far
        self.buffer, self.position, self.final = b"", 0, False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        while True:
            found = _LINE_END.search(self.buffer, self.position)
            if found and (self.final or found.end() < len(self.buffer)):
                line = self.buffer[self.position : found.end()]
                break
            if self.final:
                if self.position >= len(self.buffer):
                    raise StopIteration
                line = self.buffer[self.position :]
                break
            if self.longest is not None and len(self.buffer) - self.position > self.longest:
                raise _LineTooLong
            want = max(self.block, len(self.buffer) - self.position)
            more = self.handle.read(want)
            self.final = not more
            self.buffer = self.buffer[self.position :] + more
            self.position = 0
        self.position += len(line)
        self.offset += len(line)
        self.count += 1
        return line.decode("latin-1")


class _Batches:
    """Pieces of rows regrouped into batches of ``size`` rows (the last one shorter)."""

    def __init__(self, names: list[str], size: int) -> None:
        self.names, self.size = names, max(1, size)
        self.tables: list[pa.Table] = []
        self.refs: list[str] = []
        self.quarantined: list[Quarantined] = []

    def add(
        self, table: pa.Table, refs: list[str], quarantined: list[Quarantined]
    ) -> Iterator[RawRows]:
        self.tables.append(table)
        self.refs += refs
        self.quarantined += quarantined
        if len(self.refs) < self.size:
            if len(self.quarantined) >= self.size:  # a file of bad rows: not all held
                yield RawRows(_empty_strings(self.names), [], self.quarantined)
                self.quarantined = []
            return
        whole = pa.concat_tables(self.tables)
        done = len(self.refs) - len(self.refs) % self.size
        for start in range(0, done, self.size):
            batch = whole.slice(start, self.size).combine_chunks()
            yield RawRows(batch, self.refs[start : start + self.size], self.quarantined)
            self.quarantined = []
        self.tables, self.refs = [whole.slice(done)], self.refs[done:]

    def flush(self) -> Iterator[RawRows]:
        if self.refs or self.quarantined:
            table = pa.concat_tables(self.tables) if self.tables else _empty_strings(self.names)
            yield RawRows(table.combine_chunks(), self.refs, self.quarantined)


def _empty_binary(names: list[str]) -> pa.Table:
    return pa.table({name: pa.array([], pa.binary()) for name in names})


def _empty_strings(names: list[str]) -> pa.Table:
    return pa.table({name: pa.array([], pa.string()) for name in names})


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
