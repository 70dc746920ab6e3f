"""Checked values: what a saved file, a run option or a config field may hold.

A ``Check`` says what is wrong with a value, or ``None``; a ``Schema`` names every key an
object must hold and the check of its value. The bounds below are the one place that says
how large a model, a code or an input may be: encoders' configs, the command line and the
readers of saved models all check against them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

# --- the bounds: every limit on what a saved file or a config may describe ----------------

MAX_WIDTH = 65_536
"""A hidden width, a code (latent) size, a projection size, a number of PCA components."""
MAX_FEATURES = 1_048_576
"""An input width: a 1024 x 1024 image, a vocabulary of 2**20 terms."""
MAX_LAYERS = 32
"""Hidden layers of one MLP."""
MAX_PARAMETERS = 2**28
"""Weights and buffers of one torch model, or elements of one saved array (1 GiB of float32)."""
MAX_IMAGE_SIZE = 1024
"""Side of the square an image featuriser resizes to (so at most ``MAX_FEATURES`` pixels)."""
MAX_NGRAM = 16
"""Longest n-gram of a text featuriser."""
MAX_EPOCHS = 1_000_000
MAX_SAMPLES = 10**15
MAX_BATCH_SIZE = 2**24
MAX_THREADS = 4096
SEED_RANGE = (-(2**63), 2**64 - 1)
"""What ``torch.manual_seed`` accepts."""


# --- schemas: what each value of a JSON object may be -----------------------------------

Check = Callable[[Any], str | None]
"""Says what is wrong with a value, or ``None`` when it is fine."""
Schema = Mapping[str, Check]
"""Every key an object must hold (no more, no fewer) and the check of its value."""


def describe(value: Any) -> str:
    """A value as an error message shows it: its JSON type, then the value, cut short."""
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    if value is None:
        return "null"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    text = json.dumps(value) if isinstance(value, str | bool) else repr(value)
    text = text if len(text) <= 40 else text[:39] + "…"
    return f"{names.get(type(value), type(value).__name__)} {text}"


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer(low: int, high: int) -> Check:
    """An integer (never a boolean, a float or a string of digits) in ``low..high``."""

    def check(value: Any) -> str | None:
        if not _is_integer(value) or not low <= value <= high:
            return f"expected an integer in {low:,}..{high:,}, got {describe(value)}"
        return None

    return check


def number(
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> Check:
    """A finite number (an integer will do) between ``low`` and ``high``."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def check(value: Any) -> str | None:
        fine = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (low < value if low_open else low <= value)
            and (value < high if high_open else value <= high)
        )
        return None if fine else f"expected a finite number in {interval}, got {describe(value)}"

    return check


def list_of(item: Check, min_length: int, max_length: int) -> Check:
    """A list of ``min_length..max_length`` values, each passing ``item``."""

    def check(value: Any) -> str | None:
        if not isinstance(value, list) or not min_length <= len(value) <= max_length:
            return f"expected a list of {min_length}..{max_length:,} values, got {describe(value)}"
        for i, element in enumerate(value):
            problem = item(element)
            if problem is not None:
                return f"[{i}]: {problem}"
        return None

    return check


def one_of(*choices: Any) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or value not in choices:
            return f"expected one of {', '.join(map(json.dumps, choices))}, got {describe(value)}"
        return None

    return check


def string(max_length: int = 1024) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or len(value) > max_length:
            return f"expected a string of at most {max_length:,} characters, got {describe(value)}"
        return None

    return check


def boolean() -> Check:
    return lambda value: (
        None if isinstance(value, bool) else f"expected true or false, got {describe(value)}"
    )


def mapping_of(item: Check, max_length: int) -> Check:
    """An object of at most ``max_length`` keys of one's choosing, each value passing
    ``item`` (per-column statistics, say, keyed by the column's name)."""

    def check(value: Any) -> str | None:
        if not isinstance(value, dict) or len(value) > max_length:
            return f"expected an object of at most {max_length:,} keys, got {describe(value)}"
        for key, element in value.items():
            problem = item(element)
            if problem is not None:
                return (
                    f"[{json.dumps(key)}]{'' if problem.startswith(('.', '[')) else ': '}{problem}"
                )
        return None

    return check


def optional(check: Check) -> Check:
    """``null``, or a value that passes ``check``."""
    return lambda value: None if value is None else check(value)


def object_of(schema: Schema) -> Check:
    """An object with exactly the keys of ``schema``, each value passing its check."""

    def check(value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"expected an object, got {describe(value)}"
        missing = [key for key in schema if key not in value]
        if missing:
            return f"missing key {', '.join(map(repr, missing))}"
        unknown = sorted(str(key) for key in value if key not in schema)
        if unknown:
            return f"unknown key {', '.join(map(repr, unknown[:5]))}"
        for key, inner in schema.items():
            problem = inner(value[key])
            if problem is not None:  # ".params.size: …", ".hidden_dims[0]: …"
                return f".{key}{'' if problem.startswith(('.', '[')) else ': '}{problem}"
        return None

    return check
