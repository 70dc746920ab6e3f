"""Reading a CSV file as batches of raw rows, each whole, with its line."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from repr_assets.sources.base import Quarantined, RawRows, SourceError, cells_content, row_content
from repr_assets.sources.csv_blocks import (
    _BOM,
    _COMMA,
    _CR,
    _LF,
    _QUOTE,
    _Batches,
    _empty_binary,
    _line_ends,
    _Lines,
    _LineTooLong,
    _Piece,
    _Scan,
    _scan,
)

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


def csv_rows(
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
        csv.field_size_limit(max(csv.field_size_limit(), HEADER_BYTES))
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
                    content=row_content(data[start : end + 1]),
                )
                for line, count, start, end in zip(
                    lines[wrong].tolist(),
                    fields[wrong].tolist(),
                    starts[wrong].tolist(),
                    ends[wrong].tolist(),
                    strict=True,
                )
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
        # Python's csv refuses fields over 131,072 characters by default; a field may be
        # as long as an item may be (longer ones are set aside by their length later).
        csv.field_size_limit(max(csv.field_size_limit(), 2 * self.max_bytes + 2))
        reader = csv.reader(lines)
        width = len(self.names)
        columns: list[list[bytes | None]] = [[] for _ in self.names]
        refs: list[str] = []
        quarantined: list[Quarantined] = []
        while lines.offset <= stop:
            ref = f"{self.name}:line {self.line + lines.count}"
            lines.take()
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                quarantined.append(
                    Quarantined(ref, f"unreadable row: {error}", content=row_content(lines.take()))
                )
                continue
            if not row:
                continue
            if len(row) != width:
                reason = f"row of the wrong shape: {len(row)} fields, expected {width}"
                quarantined.append(Quarantined(ref, reason, content=row_content(lines.take())))
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
    quarantined = [
        Quarantined(refs[row], reasons[row], content=cells_content(table, row))
        for row in sorted(reasons)
    ]
    if bad.any():
        table = table.filter(pa.array(~bad))
        refs = [ref for ref, drop in zip(refs, bad, strict=True) if not drop]
    strings = pa.table({name: table.column(name).cast(pa.string()) for name in table.column_names})
    return strings, refs, quarantined
