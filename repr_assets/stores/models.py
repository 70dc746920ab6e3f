"""Fitted encoders and featurisers on disk: ``models/{dataset}/{name}/{version}/`` plus a
``LATEST`` pointer. The featuriser of a data set is saved under the name ``featuriser``.

Reading refuses a malformed or hostile store with one ``ModelFileError`` line naming the
file (``ModelNotFoundError``, also a ``FileNotFoundError``, where nothing is saved yet):
``LATEST`` must name a plain version folder that exists, ``meta.json`` must be an object
whose ``kind`` is a known one, and each kind's ``load`` checks its own files (see
``repr_assets.stores.model_files``). The store knows folders and records, not what is
in them: a caller hands ``load`` the loaders of the kinds it may find, so this module
imports neither torch nor any encoder or featuriser.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from repr_assets.stores.model_files import (
    MAX_JSON_BYTES,
    MAX_POINTER_BYTES,
    ModelFileError,
    ModelNotFoundError,
    error_summary,
    plain_name,
    read_bytes,
    read_json,
)

T = TypeVar("T")

FEATURISER = "featuriser"
SPLIT_SEED = "split_seed"
"""The ``meta.json`` key of the seed of the train/test split a fit was made on."""


class Saveable(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...

    def save(self, directory: Path) -> None: ...


@dataclass(frozen=True)
class SavedModel:
    dataset: str
    encoder: str
    version: str
    path: Path
    meta: dict[str, Any]


class ModelStore:
    """Saves encoders as parameters plus weights, one folder per model version.

    A version's folder is written under a temporary name and renamed into place, and
    ``LATEST`` is replaced atomically, so a crash never leaves a half-saved model that
    ``load`` would pick up.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def save(
        self,
        dataset: str,
        name: str,
        encoder: Saveable,
        version: str,
        extra_meta: dict[str, Any] | None = None,
    ) -> SavedModel:
        folder = self.root / dataset / name
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / version
        meta = {
            "dataset": dataset,
            "encoder": name,
            "kind": encoder.kind,
            "version": version,
            "params": encoder.params,
            "saved_at": datetime.now(UTC).isoformat(),
            **(extra_meta or {}),
        }
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=folder))
        retired = folder / f".{version}-retired"
        try:
            encoder.save(staging)
            (staging / "meta.json").write_text(json.dumps(meta, indent=2))
            if target.exists():
                # Same version means same parameters and data: the newer fit replaces it.
                # Renames, not a delete, so the old copy is never half removed.
                shutil.rmtree(retired, ignore_errors=True)
                target.rename(retired)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(retired, ignore_errors=True)
        atomic_write(folder / "LATEST", version)
        return SavedModel(dataset, name, version, target, meta)

    def latest_version(self, dataset: str, name: str) -> str:
        """The version ``LATEST`` names: a plain folder name, never a path."""
        pointer = self._folder(dataset, name) / "LATEST"
        if not pointer.exists():
            raise ModelNotFoundError(
                pointer,
                f"no saved {name!r} model for data set {dataset!r}: "
                "materialise its model asset first",
            )
        data = read_bytes(pointer, MAX_POINTER_BYTES)
        try:
            version = data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ModelFileError(pointer, "is not UTF-8 text") from None
        return plain_name(version, pointer, "version")

    def record(self, dataset: str, name: str, version: str | None = None) -> SavedModel:
        """The record of the model saved as ``version`` (the latest when ``None``)."""
        folder = self._folder(dataset, name)
        if version is None:
            version, named_by = self.latest_version(dataset, name), folder / "LATEST"
        else:
            named_by = folder
            plain_name(version, folder, "model version")
        path = folder / version
        if not (path / "meta.json").exists():
            raise ModelNotFoundError(named_by, f"no model version {version!r} at {path}")
        meta_path = path / "meta.json"
        meta = read_json(meta_path, MAX_JSON_BYTES)
        if not isinstance(meta, dict):
            raise ModelFileError(meta_path, "is not a JSON object")
        kind = meta.get("kind")
        if not isinstance(kind, str) or not kind:
            raise ModelFileError(meta_path, "names no kind of model")
        if meta.get("version") != version:
            raise ModelFileError(
                meta_path, f"says version {meta.get('version')!r}, but lies in {version!r}"
            )
        return SavedModel(dataset, name, version, path, meta)

    def latest(self, dataset: str, name: str) -> SavedModel | None:
        """The record of the latest saved model, or ``None`` when there is none yet."""
        if not (self._folder(dataset, name) / "LATEST").exists():
            return None
        return self.record(dataset, name)

    def load(
        self,
        dataset: str,
        name: str,
        loaders: Mapping[str, Callable[[Path], T]],
        version: str | None = None,
        what: str = "model",
    ) -> tuple[T, SavedModel]:
        """What is saved as ``version`` of ``name`` (the latest when ``None``), read by the
        loader of its kind among ``loaders``, and its record. The store knows folders, not
        encoders: the caller hands it the loaders (``repr_assets.encoders.registry`` and
        ``repr_assets.featurisers`` do)."""
        saved = self.record(dataset, name, version)
        load = loaders.get(saved.meta["kind"])
        if load is None:
            raise ModelFileError(
                saved.path / "meta.json",
                f"kind {saved.meta['kind']!r} is not a known {what} ({', '.join(loaders)})",
            )
        return _refusing(saved, load), saved

    def _folder(self, dataset: str, name: str) -> Path:
        """``root/dataset/name``, each a plain folder name."""
        plain_name(dataset, self.root, "data set")
        plain_name(name, self.root / dataset, "model name")
        return self.root / dataset / name


def _refusing(saved: SavedModel, load: Any) -> Any:
    """``load(saved.path)``; a kind's loader that fails on its files in a way of its own
    (one of another package, or one not yet checking every file) is refused in one line."""
    try:
        return load(saved.path)
    except (ModelFileError, ImportError):  # an ImportError: an extra that is not installed
        raise
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        OSError,
        RuntimeError,
        EOFError,
    ) as error:
        raise ModelFileError(
            saved.path, f"cannot be loaded as a {saved.meta['kind']} ({error_summary(error)})"
        ) from None


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    # mkstemp makes the file private; give it the mode any other file here would get.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    os.replace(temporary, path)
