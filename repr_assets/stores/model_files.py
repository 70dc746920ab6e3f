"""Reading saved models and featurisers defensively: one error type, bounded reads.

A saved model is files under ``models/``: JSON (``meta.json``, ``params.json``,
``featuriser.json``), a ``LATEST`` pointer, and arrays (``repr_assets.stores.saved_arrays``;
torch's ``state.pt`` is checked in ``repr_assets.encoders.checkpoint``). Each is read with
its size bounded and every value checked against a schema of its kind
(``repr_assets.schema``) *before* anything is built from it, so that a malformed or
hostile file is refused with one ``ModelFileError`` line that names it, never a
traceback, a huge allocation or code run.

This module imports no torch: the command line can import ``ModelFileError`` cheaply.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from repr_assets.schema import Schema, object_of

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


def checked(value: Any, schema: Schema, path: Path) -> dict[str, Any]:
    """``value`` when it is an object that ``schema`` allows, else refuse ``path``."""
    problem = object_of(schema)(value)
    if problem is not None:
        raise ModelFileError(path, problem.removeprefix("."))
    return dict(value)


def read_params(path: Path, schema: Schema, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The JSON object of ``path``, checked against ``schema``."""
    return checked(read_json(path, limit), schema, path)
