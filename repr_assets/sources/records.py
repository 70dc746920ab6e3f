"""Rows of a CSV, Parquet or JSONL file as text or tabular items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.items.hashing import short_hash
from repr_assets.items.schemas import (
    RESERVED_COLUMNS,
    TEXT_ITEMS_SCHEMA,
    payload_fields,
    tabular_items_schema,
)
from repr_assets.sources.base import Quarantined, ReadBatch, SourceError, cells_content
from repr_assets.sources.files import RawRows, file_format, read_rows
from repr_assets.sources.record_values import (
    NUMERIC_SHARE,
    as_strings,
    bad_value,
    is_numeric,
    nulls,
    numbers,
    numeric_example,
)

SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class RecordFileSource:
    """One CSV, Parquet or JSONL file whose rows are items.

    Text items take ``text_column``; tabular items take every other column, numeric ones
    (``numeric``) as numbers and the rest (``categorical``) as text. The factor columns
    of a text source are its only ``numeric`` and ``categorical`` ones (a tabular source's
    are among them, and its featuriser leaves them out). Without an
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
            return pa.schema([*TEXT_ITEMS_SCHEMA, *payload_fields(self.numeric, self.categorical)])
        return tabular_items_schema(list(self.numeric), list(self.categorical))

    @property
    def description(self) -> str:
        return record_file_description(self.path)

    def read(self, batch_size: int, known_refs: frozenset[str]) -> Iterator[ReadBatch]:
        """Items of every row. ``known_refs`` skip nothing here: a row's ref is its line,
        which a row inserted above changes, so rows are told apart by their ids (ingest
        compares them with the table's)."""
        for raw in read_rows(self.path, batch_size, self.max_bytes):
            yield self._items(raw)

    def _items(self, raw: RawRows) -> ReadBatch:
        table, refs = raw.table, raw.refs
        bad = np.zeros(table.num_rows, dtype=bool)
        reasons: dict[int, str] = {}

        def reject(rows: np.ndarray, reason: str | Callable[[int], str]) -> None:
            for row in np.flatnonzero(rows & ~bad).tolist():
                reasons[row] = reason if isinstance(reason, str) else reason(row)
            bad[rows] = True

        missing = [c for c in self._used_columns() if c not in table.column_names]
        if missing and table.num_rows:
            reject(
                np.ones(table.num_rows, bool), f"row of the wrong shape: no column {missing[0]!r}"
            )
        if not table.num_rows or missing:
            quarantined = raw.quarantined + self._set_aside(table, refs, reasons)
            return ReadBatch(pa.RecordBatch.from_pylist([], schema=self.schema), quarantined)

        payload: dict[str, pa.Array] = {}
        if self.modality == "text":
            assert self.text_column is not None
            text = as_strings(table.column(self.text_column))
            empty = pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0), True)
            reject(empty.to_numpy(zero_copy_only=False), f"no text in column {self.text_column!r}")
            payload["text"] = text
        for name in self.numeric:
            # A missing value (MISSING_TOKENS) is imputed by the featuriser.
            column = table.column(name)
            values, missing_values, not_numbers = numbers(column)
            reject(not_numbers, bad_value(column, name, "is not a number"))
            reject(np.isinf(values), bad_value(column, name, "is infinite"))
            payload[name] = pa.array(values, pa.float64(), mask=missing_values)
        for name in self.categorical:
            payload[name] = as_strings(table.column(name))
        labels = (
            as_strings(table.column(self.label_column))
            if self.label_column
            else pa.nulls(table.num_rows, pa.string())
        )
        if self.id_column is not None:
            ids = as_strings(table.column(self.id_column))
            reject(nulls(ids), f"no id in column {self.id_column!r}")
        else:
            content_labels = labels if self.label_column else None
            ids = pa.array(self._content_ids(payload, content_labels), pa.string())
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
        quarantined = raw.quarantined + self._set_aside(table, refs, reasons)
        if bad.any():
            items = items.filter(pa.array(~bad))
        return ReadBatch(items, quarantined)

    @staticmethod
    def _set_aside(table: pa.Table, refs: list[str], reasons: dict[int, str]) -> list[Quarantined]:
        return [
            Quarantined(refs[row], reasons[row], content=cells_content(table, row))
            for row in sorted(reasons)
        ]

    def _used_columns(self) -> list[str]:
        named = [self.label_column, self.id_column, self.text_column]
        return [c for c in named if c] + [*self.numeric, *self.categorical]

    def _content_ids(self, payload: dict[str, pa.Array], labels: pa.Array | None) -> list[str]:
        """A hash of each row's content (its text, or its feature values) and, with
        ``labels``, of its label: rows that differ only by label are distinct items, and
        only an exact duplicate is the same item. Without ``labels`` (an unlabelled data
        set) the ids are those of earlier versions, unchanged."""
        rows = len(next(iter(payload.values())))
        tail = [()] * rows if labels is None else [(_label_part(v),) for v in labels.to_pylist()]
        if self.modality == "text":
            texts = payload["text"].to_pylist()
            return [
                short_hash("text", t or "", *end, length=16)
                for t, end in zip(texts, tail, strict=True)
            ]
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
                *tail[i],
                length=16,
            )
            for i in range(rows)
        ]

    def holds_label_blind_ids(self, items: pa.Table) -> bool:
        """Whether ``items``, rows read back from this source's items table, carry the ids
        of earlier versions, which left the label out of the content id.

        Those versions merged rows that differ only by label into one item; reading the
        source now would add every row again under its new id.
        """
        if self.label_column is None or self.id_column is not None or not items.num_rows:
            return False
        names = ["text"] if self.modality == "text" else [*self.numeric, *self.categorical]
        payload = {name: items.column(name).combine_chunks() for name in names}
        old = self._content_ids(payload, None)
        return any(a == b for a, b in zip(old, items.column("item_id").to_pylist(), strict=True))


def _label_part(label: str | None) -> str:
    # A prefix keeps the label "" apart from no label.
    return "\x00" if label is None else f"={label}"


def record_file_description(path: Path) -> str:
    """How the ``quarantine`` table names a record file source: "csv file /data/x.csv"."""
    return f"{file_format(path)} file {path}"


def inspect_record_file(
    path: Path,
    modality: Literal["text", "tabular"],
    label_column: str | None,
    id_column: str | None,
    text_column: str | None,
    max_bytes: int,
    factor_columns: tuple[str, ...] = (),
) -> RecordFileSource:
    """The source of ``path``, with its columns checked against its first rows.

    A column named in the options must exist; a text column must hold text; a tabular
    column (a factor column too) is numeric when the values of the first rows are numbers.
    """
    sample = _sample(path, max_bytes)
    names = sample.column_names
    named = [("--factor-columns", column) for column in factor_columns]
    for option, column in (
        ("--label-column", label_column),
        ("--id-column", id_column),
        ("--text-column", text_column),
        *named,
    ):
        if column is not None and column not in names:
            raise SourceError(
                f"{path}: no column {column!r} ({option}); its columns are: {', '.join(names)}"
            )
    if modality == "text":
        if text_column is None:
            raise SourceError(f"{path}: text items need --text-column; its columns are: {names}")
        example = numeric_example(sample.column(text_column))
        if example is not None:
            raise SourceError(
                f"{path}: column {text_column!r} is not text: its values are numbers "
                f"(such as {example!r})"
            )
        numeric, categorical = _typed(sample, list(factor_columns))
        return RecordFileSource(
            path, "text", label_column, id_column, text_column, numeric, categorical, max_bytes
        )
    roles = {label_column, id_column}
    features = [c for c in names if c not in roles]
    clashes = sorted(RESERVED_COLUMNS.intersection(features))
    if clashes:
        raise SourceError(
            f"{path}: column {clashes[0]!r} clashes with a column of the items table; "
            "rename it, or name it with --label-column or --id-column"
        )
    if not set(features) - set(factor_columns):
        raise SourceError(f"{path}: no feature columns besides the label, id and factors")
    numeric, categorical = _typed(sample, features)
    return RecordFileSource(
        path, "tabular", label_column, id_column, None, numeric, categorical, max_bytes
    )


def _typed(sample: pa.Table, columns: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``columns`` split into numeric and categorical ones by the values of ``sample``.
    A few stray words in a column of numbers are bad values, set aside row by row."""
    numeric = tuple(c for c in columns if is_numeric(sample.column(c), NUMERIC_SHARE))
    return numeric, tuple(c for c in columns if c not in numeric)


def _sample(path: Path, max_bytes: int) -> pa.Table:
    tables = []
    rows = 0
    first_bad: Quarantined | None = None
    for raw in read_rows(path, SAMPLE_ROWS, max_bytes):
        if raw.table.num_rows:
            tables.append(raw.table)
            rows += raw.table.num_rows
        first_bad = first_bad or next(iter(raw.quarantined), None)
        if rows >= SAMPLE_ROWS:
            break
    if not tables:
        # Say why: scikit-learn's wine_data.csv, say, has a first line of 5 fields (its
        # sizes and class names) over rows of 14.
        why = f" (the first, {first_bad.ref}: {first_bad.reason})" if first_bad else ""
        raise SourceError(f"{path}: no readable rows{why}")
    return pa.concat_tables(tables, promote_options="permissive")
