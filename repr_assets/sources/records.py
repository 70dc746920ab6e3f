"""Rows of a CSV, Parquet or JSONL file as text or tabular items."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
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
                # A missing value (MISSING_TOKENS) is imputed by the featuriser.
                column = table.column(name)
                values, missing_values, not_numbers = _numbers(column)
                reject(not_numbers, _bad_value(column, name, "is not a number"))
                reject(np.isinf(values), _bad_value(column, name, "is infinite"))
                payload[name] = pa.array(values, pa.float64(), mask=missing_values)
            for name in self.categorical:
                payload[name] = _strings(table.column(name))
        labels = (
            _strings(table.column(self.label_column))
            if self.label_column
            else pa.nulls(table.num_rows, pa.string())
        )
        if self.id_column is not None:
            ids = _strings(table.column(self.id_column))
            reject(_nulls(ids), f"no id in column {self.id_column!r}")
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
        quarantined = raw.quarantined + [Quarantined(refs[r], reasons[r]) for r in sorted(reasons)]
        if bad.any():
            items = items.filter(pa.array(~bad))
        return ReadBatch(items, quarantined)

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


NUMERIC_SHARE = 0.9


MISSING_TOKENS = frozenset({"NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None"})
"""Text that means "no value" in a numeric column (surrounding spaces aside, case as
listed), as an empty cell does: the featuriser imputes it. In categorical and text
columns these are text like any other."""

# What Arrow's cast to float64 parses: decimals, exponents, inf, infinity and nan.
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$|^[+-]?(?i:inf|infinity|nan)$"
_SHOWN_CHARACTERS = 40


def _is_numeric(column: pa.ChunkedArray, share: float = 1.0) -> bool:
    """Whether at least ``share`` of the column's values are numbers (and some are);
    missing values count for neither."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return True
    _, missing, not_numbers = _numbers(column)
    if missing.all():
        return False
    return float(1.0 - not_numbers[~missing].mean()) >= share


def _numeric_example(column: pa.ChunkedArray) -> object | None:
    """A value of ``column``, when all its values are numbers; else ``None``."""
    if not _is_numeric(column):
        return None
    _, missing, _ = _numbers(column)
    present = np.flatnonzero(~missing)
    return column[int(present[0])].as_py() if len(present) else None


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


def _numbers(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, missing, not_numbers)`` of a numeric column, as NumPy arrays.

    ``values`` are float64, NaN where missing or not a number. Missing: null, NaN (how
    pandas writes a missing float to Parquet), and in text an empty cell or one of
    ``MISSING_TOKENS``. Not a number: any other text that does not parse as one (a word,
    or a NaN spelled otherwise, such as "NAN").
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        values = pc.fill_null(column.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        return values, np.isnan(values), np.zeros(len(column), bool)
    text = pc.utf8_trim_whitespace(column.cast(pa.string()))
    absent = pc.or_kleene(
        pc.equal(pc.utf8_length(text), 0),
        pc.is_in(text, value_set=pa.array(sorted(MISSING_TOKENS), pa.string())),
    )
    missing = pc.fill_null(absent, True).to_numpy(zero_copy_only=False)
    values = _parsed(pc.if_else(absent, pa.scalar(None, pa.string()), text))
    not_numbers = np.isnan(values) & ~missing
    return values, missing, not_numbers


def _parsed(text: pa.Array) -> np.ndarray:
    """``text`` as float64, NaN for null and for what is not a number; vectorised."""
    try:
        return pc.fill_null(text.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        pass
    numbers = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
    candidates = pc.if_else(numbers, text, pa.scalar(None, pa.string()))
    try:
        return pc.fill_null(candidates.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # a form the pattern admits and Arrow does not: value by value
        values = np.full(len(text), np.nan)
        for row in np.flatnonzero(numbers.to_numpy(zero_copy_only=False)).tolist():
            with contextlib.suppress(ValueError):
                values[row] = float(candidates[row].as_py())
        return values


def _bad_value(column: pa.Array, name: str, what: str) -> Callable[[int], str]:
    """The reason of a bad value of numeric column ``name``, made for its row only."""

    def reason(row: int) -> str:
        value = column[row].as_py()
        if isinstance(value, str) and len(value) > _SHOWN_CHARACTERS:
            value = value[:_SHOWN_CHARACTERS] + "..."
        return f"value {value!r} of numeric column {name!r} {what}"

    return reason
