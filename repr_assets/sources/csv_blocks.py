"""The low level of ``repr_assets.sources.csv_file``: where the rows of a block of CSV
bytes end (found with NumPy), lines of a file read on their own, batches of rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from repr_assets.sources.base import Quarantined, RawRows

_QUOTE, _COMMA, _CR, _LF = 0x22, 0x2C, 0x0D, 0x0A
_BOM = b"\xef\xbb\xbf"
# Bytes that may stand before an opening quote or after a closing one.
_BESIDE_QUOTES = np.zeros(256, dtype=bool)
_BESIDE_QUOTES[[_QUOTE, _COMMA, _CR, _LF]] = True
_LINE_END = re.compile(rb"\r\n?|\n")

_Piece = tuple[pa.Table, list[str], list[Quarantined]]


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
        self.given: list[str] = []  # lines given since the caller last took them
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
        text = line.decode("latin-1")
        self.given.append(text)
        return text

    def take(self) -> bytes:
        """The raw bytes of the lines given since the last ``take``: one row's."""
        raw = "".join(self.given).encode("latin-1")
        self.given.clear()
        return raw


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
