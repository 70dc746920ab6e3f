"""The fields of a record as numbers: which columns hold numbers, which text means no
value, and which value cannot be read (named by row and column)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NUMERIC_SHARE = 0.9


MISSING_TOKENS = frozenset({"NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None"})
"""Text that means "no value" in a numeric column (surrounding spaces aside, case as
listed), as an empty cell does: the featuriser imputes it. In categorical and text
columns these are text like any other."""

# What Arrow's cast to float64 parses: decimals, exponents, inf, infinity and nan.
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$|^[+-]?(?i:inf|infinity|nan)$"
_SHOWN_CHARACTERS = 40


def is_numeric(column: pa.ChunkedArray, share: float = 1.0) -> bool:
    """Whether at least ``share`` of the column's values are numbers (and some are);
    missing values count for neither."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return True
    _, missing, not_numbers = numbers(column)
    if missing.all():
        return False
    return float(1.0 - not_numbers[~missing].mean()) >= share


def numeric_example(column: pa.ChunkedArray) -> object | None:
    """A value of ``column``, when all its values are numbers; else ``None``."""
    if not is_numeric(column):
        return None
    _, missing, _ = numbers(column)
    present = np.flatnonzero(~missing)
    return column[int(present[0])].as_py() if len(present) else None


def as_strings(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_floating(column.type):
        # 3.0 -> "3", so that a label read as a number names the same class as its text.
        whole = pc.equal(column, pc.round(column))
        as_int = pc.if_else(whole, column.cast(pa.int64(), safe=False).cast(pa.string()), None)
        return pc.coalesce(as_int, column.cast(pa.string()))
    return column.cast(pa.string())


def nulls(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return column.is_null().to_numpy(zero_copy_only=False)


def numbers(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    values = parsed(pc.if_else(absent, pa.scalar(None, pa.string()), text))
    not_numbers = np.isnan(values) & ~missing
    return values, missing, not_numbers


def parsed(text: pa.Array) -> np.ndarray:
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


def bad_value(column: pa.Array, name: str, what: str) -> Callable[[int], str]:
    """The reason of a bad value of numeric column ``name``, made for its row only."""

    def reason(row: int) -> str:
        value = column[row].as_py()
        if isinstance(value, str) and len(value) > _SHOWN_CHARACTERS:
            value = value[:_SHOWN_CHARACTERS] + "..."
        return f"value {value!r} of numeric column {name!r} {what}"

    return reason
