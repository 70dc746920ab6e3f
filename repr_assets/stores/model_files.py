"""Reading saved models and featurisers defensively: one error type, the bounds, the checks.

A saved model is files under ``models/``: JSON (``meta.json``, ``params.json``,
``featuriser.json``), a ``LATEST`` pointer, and arrays (``state.npz``, ``idf.npy``;
torch's ``state.pt`` is checked in ``repr_assets.encoders.checkpoint``). Each is read here
with its size bounded, and every value checked against a schema of its kind *before*
anything is built from it, so that a malformed or hostile file is refused with one
``ModelFileError`` line that names it, never a traceback, a huge allocation or code run.

This module imports no torch: the command line can import ``ModelFileError`` cheaply.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# --- the bounds: every limit on what a saved file may describe --------------------------

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
MAX_BATCH_SIZE = 2**24
MAX_THREADS = 4096
SEED_RANGE = (-(2**63), 2**64 - 1)
"""What ``torch.manual_seed`` accepts."""
MAX_POINTER_BYTES = 256
"""``LATEST``: one version string."""
MAX_JSON_BYTES = 1 << 20
"""``meta.json`` and ``params.json``."""
MAX_FEATURISER_JSON_BYTES = 256 << 20
"""``featuriser.json``, which may hold a vocabulary or per-column statistics."""

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
"""A version folder's name (or a data set's, an encoder's): one path component, never
``.``/``..``, a hidden staging folder (``.v1-…``) or anything with a separator."""


class ModelFileError(ValueError):
    """A saved model or featuriser file is missing, malformed or out of bounds.

    ``str(error)`` is one line: the file, then what is wrong with it.
    """

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return _one_line(f"{self.path}: {self.problem}")

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.path, self.problem)


class ModelNotFoundError(ModelFileError, FileNotFoundError):
    """No model (or no such version) is saved where one is asked for: nothing is wrong
    with a file, there is none yet. Also a ``FileNotFoundError``, as it always was."""


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(text.splitlines())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_summary(error: BaseException) -> str:
    """``Type: first line of the message``, short enough to go inside one line."""
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    return _one_line(f"{type(error).__name__}: {first}" if first else type(error).__name__, 200)


def plain_name(text: str, path: Path | str, what: str) -> str:
    """``text`` when it is a plain folder name (see ``_PLAIN_NAME``), else refuse it."""
    if not isinstance(text, str) or not _PLAIN_NAME.fullmatch(text):
        raise ModelFileError(path, f"{what} {text!r} is not a plain name (letters, digits, _ . -)")
    return text


# --- reading files ----------------------------------------------------------------------


def regular_file(path: Path) -> Path:
    """``path`` when it is a regular file (not missing, a folder, a device or a pipe)."""
    try:
        if path.is_file():
            return path
        exists = path.exists()
    except OSError as error:
        raise ModelFileError(path, f"cannot be read ({error_summary(error)})") from None
    raise ModelFileError(path, "is not a regular file" if exists else "is missing")


def read_bytes(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, refused when there are more than ``limit``."""
    regular_file(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise ModelFileError(path, f"cannot be read ({error_summary(error)})") from None
    if len(data) > limit:
        raise ModelFileError(path, f"is larger than the {limit:,} bytes such a file may hold")
    return data


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    """The JSON value of ``path`` (UTF-8, at most ``limit`` bytes)."""
    data = read_bytes(path, limit)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ModelFileError(path, "is not UTF-8 text") from None
    except (ValueError, RecursionError) as error:  # JSONDecodeError, too many digits, nesting
        raise ModelFileError(path, f"is not valid JSON ({error_summary(error)})") from None


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


def checked(value: Any, schema: Schema, path: Path) -> dict[str, Any]:
    """``value`` when it is an object that ``schema`` allows, else refuse ``path``."""
    problem = object_of(schema)(value)
    if problem is not None:
        raise ModelFileError(path, problem.removeprefix("."))
    return dict(value)


def read_params(path: Path, schema: Schema, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The JSON object of ``path``, checked against ``schema``."""
    return checked(read_json(path, limit), schema, path)


# --- arrays: .npy headers checked before any data is read ---------------------------------


@dataclass(frozen=True)
class ArraySpec:
    """What a saved array must be. ``kind``: ``"f"`` (float32 or float64) or ``"i"`` (any
    integer). ``shape``: each axis a length, or a name that binds one length across the
    arrays of a file (``"n_features"``), checked against the bounds the reader is given."""

    kind: str
    shape: tuple[int | str, ...]


_KINDS = {"f": ("float32 or float64", lambda d: d.kind == "f" and d.itemsize in (4, 8))}
_KINDS["i"] = ("an integer type", lambda d: d.kind in "iu")


def _npy_header(handle: Any, path: Path, where: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, header bytes)`` of the .npy stream ``handle``, nothing else read."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = npy.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = npy.read_array_header_2_0(handle)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as error:
        raise ModelFileError(
            path, f"{where}has no valid .npy header ({error_summary(error)})"
        ) from None
    return shape, dtype, handle.tell()


def _check_array(
    shape: tuple[int, ...],
    dtype: np.dtype,
    data_bytes: int,
    spec: ArraySpec,
    dims: dict[str, int],
    bounds: Mapping[str, int],
    path: Path,
    where: str,
) -> None:
    """Refuse an array header that ``spec`` does not allow, or whose data is not all there.
    Binds the named axes of ``spec`` in ``dims``."""
    if dtype.hasobject:
        raise ModelFileError(path, f"{where}holds Python objects (an object array)")
    label, fits = _KINDS[spec.kind]
    if not fits(dtype):
        raise ModelFileError(path, f"{where}has dtype {dtype}, expected {label}")
    if len(shape) != len(spec.shape):
        raise ModelFileError(
            path, f"{where}has {len(shape)} dimensions {shape}, expected {len(spec.shape)}"
        )
    for axis, (length, want) in enumerate(zip(shape, spec.shape, strict=True)):
        if isinstance(want, int):
            expected = want
        elif want in dims:
            expected = dims[want]
        else:
            high = bounds.get(want, MAX_FEATURES)
            if not 1 <= length <= high:
                raise ModelFileError(
                    path, f"{where}has {length:,} {want} (axis {axis}), expected 1..{high:,}"
                )
            dims[want] = expected = length
        if length != expected:
            raise ModelFileError(
                path, f"{where}has shape {shape}, expected {want} = {expected} on axis {axis}"
            )
    count = math.prod(shape)
    if count > MAX_PARAMETERS:
        raise ModelFileError(path, f"{where}has {count:,} elements, more than {MAX_PARAMETERS:,}")
    if count * dtype.itemsize != data_bytes:
        raise ModelFileError(
            path,
            f"{where}holds {data_bytes:,} bytes of data, but its header says "
            f"{count * dtype.itemsize:,} (truncated or padded)",
        )


def _check_values(array: np.ndarray, path: Path, where: str) -> np.ndarray:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ModelFileError(path, f"{where}holds NaN or Inf values")
    return array


def read_npy(
    path: Path, spec: ArraySpec, dims: Mapping[str, int], bounds: Mapping[str, int] | None = None
) -> np.ndarray:
    """The array of the ``.npy`` file ``path``, its header checked against ``spec`` (with
    the axis lengths ``dims`` already known) before the data is read; floats finite."""
    regular_file(path)
    bound = dict(dims)
    try:
        with open(path, "rb") as handle:
            shape, dtype, header = _npy_header(handle, path, "")
            size = path.stat().st_size
            _check_array(shape, dtype, size - header, spec, bound, bounds or {}, path, "")
            return _check_values(np.load(path, allow_pickle=False), path, "")
    except ModelFileError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise ModelFileError(path, f"cannot be read ({error_summary(error)})") from None


def read_npz(
    path: Path,
    specs: Mapping[str, ArraySpec],
    dims: Mapping[str, int],
    bounds: Mapping[str, int] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """The arrays of the ``.npz`` file ``path``: exactly those of ``specs``, uncompressed,
    each header checked before its data is read; floats finite. Also the axis lengths
    bound by name (``dims`` with those the file set)."""
    regular_file(path)
    bound = dict(dims)
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            members = {info.filename: info for info in entries}
            missing = [key for key in specs if f"{key}.npy" not in members]
            if missing:
                raise ModelFileError(path, f"lacks the array {', '.join(map(repr, missing))}")
            unknown = sorted(set(members) - {f"{key}.npy" for key in specs})
            if unknown:
                raise ModelFileError(path, f"holds unknown entries {unknown[:5]}")
            if len(entries) != len(members):
                raise ModelFileError(path, "holds an entry twice")
            for key, spec in specs.items():
                info, where = members[f"{key}.npy"], f"array {key!r} "
                if info.compress_type != zipfile.ZIP_STORED:
                    raise ModelFileError(path, f"{where}is compressed; saved arrays never are")
                with archive.open(info) as member:
                    shape, dtype, header = _npy_header(member, path, where)
                data_bytes = info.file_size - header
                _check_array(shape, dtype, data_bytes, spec, bound, bounds or {}, path, where)
            with np.load(path, allow_pickle=False) as state:
                arrays = {key: _check_values(state[key], path, f"array {key!r} ") for key in specs}
    except ModelFileError:
        raise
    except zipfile.BadZipFile as error:
        raise ModelFileError(path, f"is not an .npz archive ({error_summary(error)})") from None
    except (OSError, ValueError, EOFError, zipfile.LargeZipFile) as error:
        raise ModelFileError(path, f"cannot be read ({error_summary(error)})") from None
    return arrays, bound
