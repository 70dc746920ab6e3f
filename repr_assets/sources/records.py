"""Rows of a CSV, Parquet or JSONL file as text or tabular items."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.hashing import short_hash
from repr_assets.items import RESERVED_COLUMNS, TEXT_ITEMS_SCHEMA, tabular_items_schema
from repr_assets.sources.base import Quarantined, ReadBatch, SourceError
from repr_assets.sources.files import RawRows, file_format, read_rows

SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class RecordFileSource:
    """One CSV, Parquet or JSONL file whose rows are items.

    Text items take ``text_column``; tabular items take every other column, numeric ones
    (``numeric``) as numbers and the rest (``categorical``) as text. Without an
    ``id_column``, an item's id is a hash of its content (its text, or its feature values),
    so an exact duplicate row is the same item.
    """

    path: Path
    modality: Literal["text", "tabular"]
    label_column: str | None
    id_column: str | None
    text_column: str | None
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    max_bytes: int

    @property
    def schema(self) -> pa.Schema:
        if self.modality == "text":
            return TEXT_ITEMS_SCHEMA
        return tabular_items_schema(list(self.numeric), list(self.categorical))

    @property
    def description(self) -> str:
        return f"{file_format(self.path)} file {self.path}"

    def read(self, batch_size: int, known_refs: frozenset[str]) -> Iterator[ReadBatch]:
        for raw in read_rows(self.path, batch_size, self.max_bytes):
            yield self._items(raw)

    def _items(self, raw: RawRows) -> ReadBatch:
        table, refs = raw.table, raw.refs
        bad = np.zeros(table.num_rows, dtype=bool)
        reasons: dict[int, str] = {}

        def reject(rows: np.ndarray, reason: str) -> None:
            for row in np.flatnonzero(rows & ~bad):
                reasons[int(row)] = reason
            bad[rows] = True

        missing = [c for c in self._used_columns() if c not in table.column_names]
        if missing and table.num_rows:
            reject(
                np.ones(table.num_rows, bool), f"row of the wrong shape: no column {missing[0]!r}"
            )
        if not table.num_rows or missing:
            quarantined = raw.quarantined + [Quarantined(refs[r], reasons[r]) for r in reasons]
            return ReadBatch(pa.RecordBatch.from_pylist([], schema=self.schema), quarantined)

        payload: dict[str, pa.Array] = {}
        if self.modality == "text":
            assert self.text_column is not None
            text = _strings(table.column(self.text_column))
            empty = pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0), True)
            reject(empty.to_numpy(zero_copy_only=False), f"no text in column {self.text_column!r}")
            payload["text"] = text
        else:
            for name in self.numeric:
                # A missing value is imputed by the featuriser; a NaN is not a value at all.
                values, not_numbers = _numbers(table.column(name))
                missing_values = _nulls(table.column(name))
                reject(not_numbers, f"value of numeric column {name!r} is not a number")
                reject(np.isnan(values) & ~missing_values, f"NaN in numeric column {name!r}")
                reject(np.isinf(values), f"infinite value in numeric column {name!r}")
                payload[name] = pa.array(values, pa.float64(), mask=missing_values)
            for name in self.categorical:
                payload[name] = _strings(table.column(name))
        if self.id_column is not None:
            ids = _strings(table.column(self.id_column))
            reject(_nulls(ids), f"no id in column {self.id_column!r}")
        else:
            ids = pa.array(self._content_ids(payload), pa.string())
        labels = (
            _strings(table.column(self.label_column))
            if self.label_column
            else pa.nulls(table.num_rows, pa.string())
        )
        columns = {
            "item_id": ids,
            "label": labels,
            "split": pa.nulls(table.num_rows, pa.string()),
            "ref": pa.array(refs, pa.string()),
            **payload,
        }
        items = pa.RecordBatch.from_pydict(
            {name: columns[name] for name in self.schema.names}, schema=self.schema
        )
        quarantined = raw.quarantined + [Quarantined(refs[r], reasons[r]) for r in sorted(reasons)]
        if bad.any():
            items = items.filter(pa.array(~bad))
        return ReadBatch(items, quarantined)

    def _used_columns(self) -> list[str]:
        named = [self.label_column, self.id_column, self.text_column]
        return [c for c in named if c] + [*self.numeric, *self.categorical]

    def _content_ids(self, payload: dict[str, pa.Array]) -> list[str]:
        if self.modality == "text":
            return [short_hash("text", t or "", length=16) for t in payload["text"].to_pylist()]
        rows = len(next(iter(payload.values())))
        numbers = np.column_stack(
            [pc.fill_null(payload[n], np.nan).to_numpy(zero_copy_only=False) for n in self.numeric]
            or [np.zeros((rows, 0))]
        ).astype(np.float64)
        texts = list(zip(*(payload[n].to_pylist() for n in self.categorical), strict=True))
        return [
            short_hash(
                "row",
                numbers[i].tobytes(),
                "\x1f".join("\x00" if v is None else v for v in (texts[i] if texts else ())),
                length=16,
            )
            for i in range(rows)
        ]


def inspect_record_file(
    path: Path,
    modality: Literal["text", "tabular"],
    label_column: str | None,
    id_column: str | None,
    text_column: str | None,
    max_bytes: int,
) -> RecordFileSource:
    """The source of ``path``, with its columns checked against its first rows.

    A column named in the options must exist; a text column must hold text; a tabular
    column is numeric when every value of the first rows is a number.
    """
    sample = _sample(path, max_bytes)
    names = sample.column_names
    for option, column in (
        ("--label-column", label_column),
        ("--id-column", id_column),
        ("--text-column", text_column),
    ):
        if column is not None and column not in names:
            raise SourceError(
                f"{path}: no column {column!r} ({option}); its columns are: {', '.join(names)}"
            )
    if modality == "text":
        if text_column is None:
            raise SourceError(f"{path}: text items need --text-column; its columns are: {names}")
        example = _numeric_example(sample.column(text_column))
        if example is not None:
            raise SourceError(
                f"{path}: column {text_column!r} is not text: its values are numbers "
                f"(such as {example!r})"
            )
        return RecordFileSource(
            path, "text", label_column, id_column, text_column, (), (), max_bytes
        )
    roles = {label_column, id_column}
    features = [c for c in names if c not in roles]
    clashes = sorted(RESERVED_COLUMNS.intersection(features))
    if clashes:
        raise SourceError(
            f"{path}: column {clashes[0]!r} clashes with a column of the items table; "
            "rename it, or name it with --label-column or --id-column"
        )
    if not features:
        raise SourceError(f"{path}: no feature columns besides the label and id")
    # A few stray words in a column of numbers are bad values, set aside row by row.
    numeric = tuple(c for c in features if _is_numeric(sample.column(c), NUMERIC_SHARE))
    categorical = tuple(c for c in features if c not in numeric)
    return RecordFileSource(
        path, "tabular", label_column, id_column, None, numeric, categorical, max_bytes
    )


def _sample(path: Path, max_bytes: int) -> pa.Table:
    tables = []
    rows = 0
    for raw in read_rows(path, SAMPLE_ROWS, max_bytes):
        if raw.table.num_rows:
            tables.append(raw.table)
            rows += raw.table.num_rows
        if rows >= SAMPLE_ROWS:
            break
    if not tables:
        raise SourceError(f"{path}: no readable rows")
    return pa.concat_tables(tables, promote_options="permissive")


NUMERIC_SHARE = 0.9


def _is_numeric(column: pa.ChunkedArray, share: float = 1.0) -> bool:
    """Whether at least ``share`` of the column's values are numbers (and some are)."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return True
    values = column.drop_null()
    if len(values) == 0:
        return False
    _, not_numbers = _numbers(values)
    return float(1.0 - not_numbers.mean()) >= share


def _numeric_example(column: pa.ChunkedArray) -> object | None:
    """A value of ``column``, when all its values are numbers; else ``None``."""
    if len(column.drop_null()) and _is_numeric(column):
        return column.drop_null()[0].as_py()
    return None


def _strings(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_floating(column.type):
        # 3.0 -> "3", so that a label read as a number names the same class as its text.
        whole = pc.equal(column, pc.round(column))
        as_int = pc.if_else(whole, column.cast(pa.int64(), safe=False).cast(pa.string()), None)
        return pc.coalesce(as_int, column.cast(pa.string()))
    return column.cast(pa.string())


def _nulls(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return column.is_null().to_numpy(zero_copy_only=False)


def _numbers(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, not_a_number)``: float64 values (NaN for null or unparsable)."""
    column = column.combine_chunks()
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        values = pc.fill_null(column.cast(pa.float64()), np.nan)
        return values.to_numpy(zero_copy_only=False), np.zeros(len(column), bool)
    try:
        parsed = column.cast(pa.float64())
        return pc.fill_null(parsed, np.nan).to_numpy(zero_copy_only=False), np.zeros(
            len(column), bool
        )
    except pa.ArrowInvalid:
        pass
    values = np.full(len(column), np.nan)
    bad = np.zeros(len(column), bool)
    for row, text in enumerate(column.to_pylist()):
        if text is None:
            continue
        try:
            values[row] = float(text)
        except ValueError:
            bad[row] = True
    return values, bad
