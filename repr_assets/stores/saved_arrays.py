"""Saved arrays (``.npy``, ``.npz``): each header checked before any data is read."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from repr_assets.schema import MAX_FEATURES, MAX_PARAMETERS
from repr_assets.stores.model_files import ModelFileError, error_summary, regular_file


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
