"""Fitted encoders on disk: ``models/{dataset}/{encoder}/{version}/`` plus a ``LATEST`` pointer."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from repr_assets.encoders import Encoder, load_encoder


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
        encoder: Encoder,
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
        _atomic_write(folder / "LATEST", version)
        return SavedModel(dataset, name, version, target, meta)

    def latest_version(self, dataset: str, name: str) -> str:
        pointer = self.root / dataset / name / "LATEST"
        if not pointer.exists():
            raise FileNotFoundError(
                f"no saved {name!r} model for data set {dataset!r} under {self.root}: "
                "materialise its model asset first"
            )
        return pointer.read_text().strip()

    def load(
        self, dataset: str, name: str, version: str | None = None
    ) -> tuple[Encoder, SavedModel]:
        """The encoder saved as ``version`` (the latest when ``None``) and its record."""
        version = version or self.latest_version(dataset, name)
        path = self.root / dataset / name / version
        if not (path / "meta.json").exists():
            raise FileNotFoundError(f"no model version {version!r} at {path}")
        meta = json.loads((path / "meta.json").read_text())
        return load_encoder(meta["kind"], path), SavedModel(dataset, name, version, path, meta)


def _atomic_write(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)
