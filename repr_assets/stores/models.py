"""Fitted encoders and featurisers on disk: ``models/{dataset}/{name}/{version}/`` plus a
``LATEST`` pointer. The featuriser of a data set is saved under the name ``featuriser``."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from repr_assets.encoders import Encoder, load_encoder
from repr_assets.featurisers import Featuriser, load_featuriser

FEATURISER = "featuriser"


class Saveable(Protocol):
    kind: str

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
        pointer = self.root / dataset / name / "LATEST"
        if not pointer.exists():
            raise FileNotFoundError(
                f"no saved {name!r} model for data set {dataset!r} under {self.root}: "
                "materialise its model asset first"
            )
        return pointer.read_text().strip()

    def record(self, dataset: str, name: str, version: str | None = None) -> SavedModel:
        """The record of the model saved as ``version`` (the latest when ``None``)."""
        version = version or self.latest_version(dataset, name)
        path = self.root / dataset / name / version
        if not (path / "meta.json").exists():
            raise FileNotFoundError(f"no model version {version!r} at {path}")
        meta = json.loads((path / "meta.json").read_text())
        return SavedModel(dataset, name, version, path, meta)

    def latest(self, dataset: str, name: str) -> SavedModel | None:
        """The record of the latest saved model, or ``None`` when there is none yet."""
        if not (self.root / dataset / name / "LATEST").exists():
            return None
        return self.record(dataset, name)

    def load(
        self, dataset: str, name: str, version: str | None = None
    ) -> tuple[Encoder, SavedModel]:
        """The encoder saved as ``version`` (the latest when ``None``) and its record."""
        saved = self.record(dataset, name, version)
        return load_encoder(saved.meta["kind"], saved.path), saved

    def load_featuriser(
        self, dataset: str, version: str | None = None
    ) -> tuple[Featuriser, SavedModel]:
        """The data set's fitted featuriser (the latest when ``version`` is ``None``)."""
        saved = self.record(dataset, FEATURISER, version)
        return load_featuriser(saved.meta["kind"], saved.path), saved


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
