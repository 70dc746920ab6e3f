"""Equality filters on a table's columns, kept as data from the command line to the engine.

A filter's value never becomes SQL text. It is cast to its column's Arrow type and then
applied either as a NumPy mask over Arrow columns (the exact path) or as a PyArrow
compute expression, which Lance serialises to Substrait with the value as a typed
literal (the ANN path). LanceDB's ``where`` strings have no parameter binding, so they
are never used.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class FilterError(ValueError):
    """A filter that names an unknown column or holds a value its column cannot hold."""


@dataclass(frozen=True)
class Equals:
    """Rows whose ``column`` equals ``value`` (an Arrow scalar of the column's type)."""

    column: str
    value: pa.Scalar

    @property
    def expression(self) -> pc.Expression:
        return pc.field(self.column) == pc.scalar(self.value)


def parse_where(text: str) -> tuple[str, str]:
    """``"COLUMN=VALUE"`` as ``(column, value)``: the value is everything after the first
    ``=``, and spaces around either are dropped (``label = cat`` is ``label=cat``)."""
    column, separator, value = text.partition("=")
    if not separator or not column.strip():
        raise FilterError(f"--where expects COLUMN=VALUE, got {text!r}")
    return column.strip(), value.strip()


def bind_filters(schema: pa.Schema, conditions: Iterable[tuple[str, Any]]) -> list[Equals]:
    """Check each ``(column, value)`` against ``schema`` and cast the value to its type.

    A value may be text (as ``--where`` gives it: ``"3"`` for an integer column) or a
    Python value of the column's kind.

    Raises ``FilterError`` naming the column or value when a column is unknown, cannot be
    compared by value (a vector, a binary payload) or cannot hold the value.
    """
    return [_bind(schema, column, value) for column, value in conditions]


def _bind(schema: pa.Schema, column: str, value: Any) -> Equals:
    if column not in schema.names:
        raise FilterError(
            f"unknown column {column!r} in --where; the table's columns are: "
            f"{', '.join(schema.names)}"
        )
    column_type = schema.field(column).type
    if not _comparable(column_type):
        raise FilterError(f"column {column!r} ({column_type}) cannot be filtered by value")
    if value is None:
        raise FilterError(f"no value for column {column!r}: a null never equals anything")
    try:
        typed = pa.scalar(value).cast(column_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise FilterError(
            f"value {value!r} for column {column!r} is not a valid {column_type}"
        ) from None
    return Equals(column, typed)


def _comparable(column_type: pa.DataType) -> bool:
    return (
        pa.types.is_string(column_type)
        or pa.types.is_large_string(column_type)
        or pa.types.is_integer(column_type)
        or pa.types.is_floating(column_type)
        or pa.types.is_boolean(column_type)
        or pa.types.is_temporal(column_type)
        or pa.types.is_decimal(column_type)
    )


def filter_columns(filters: Sequence[Equals]) -> list[str]:
    """The columns ``filters`` read, each once, in order."""
    return list(dict.fromkeys(f.column for f in filters))


def filter_mask(table: pa.Table | pa.RecordBatch, filters: Sequence[Equals]) -> np.ndarray:
    """``(table.num_rows,)`` bool: the rows that match every filter (a null never matches)."""
    mask = np.ones(table.num_rows, dtype=bool)
    for condition in filters:
        equal = pc.equal(table.column(condition.column), condition.value)
        mask &= equal.fill_null(False).to_numpy(zero_copy_only=False)
    return mask


def filter_expression(filters: Sequence[Equals]) -> pc.Expression | None:
    """The conjunction of ``filters`` as a PyArrow expression; ``None`` when there are none."""
    expression: Any = None
    for condition in filters:
        term = condition.expression
        expression = term if expression is None else expression & term
    return expression
