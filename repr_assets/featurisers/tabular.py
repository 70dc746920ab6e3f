"""Table featuriser: standardised numbers, one-hot categories, imputed missing values."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.augment import Augmentation, feature_noise
from repr_assets.hashing import canonical_json, short_hash


class TabularFeaturiser:
    """Featurise table rows into float32 rows.

    - A numeric column is standardised with the mean and standard deviation of the rows it
      was fitted on; a missing value becomes the mean (0 after standardising), and a
      column that had missing values at ``fit`` gets an indicator column.
    - A categorical column is one-hot encoded over its ``max_categories`` most frequent
      values at ``fit``, plus an ``other`` column for the rest and a ``missing`` column.

    ``fit`` streams over batches, keeping only sums and counts.
    """

    kind = "tabular"

    def __init__(
        self, numeric: Iterable[str], categorical: Iterable[str], max_categories: int = 20
    ) -> None:
        self.numeric = tuple(numeric)
        self.categorical = tuple(categorical)
        self.max_categories = max_categories
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.has_missing_: list[bool] | None = None
        self.categories_: dict[str, list[str]] | None = None

    @property
    def params(self) -> dict[str, Any]:
        return {
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "max_categories": self.max_categories,
        }

    @property
    def fitted(self) -> bool:
        return self.mean_ is not None

    @property
    def feature_names(self) -> list[str]:
        state = self._state()
        names = list(self.numeric)
        names += [
            f"{n}=missing" for n, gap in zip(self.numeric, state.has_missing_, strict=True) if gap
        ]
        for name in self.categorical:
            names += [f"{name}={value}" for value in state.categories_[name]]
            names += [f"{name}=other", f"{name}=missing"]
        return names

    @property
    def dim(self) -> int:
        return len(self.feature_names)

    @property
    def version(self) -> str:
        state = self._state()
        fitted = {
            "mean": state.mean_.tolist(),
            "scale": state.scale_.tolist(),
            "has_missing": state.has_missing_,
            "categories": state.categories_,
        }
        return short_hash(self.kind, canonical_json(self.params), canonical_json(fitted))

    def fit(self, batches: Iterable[pa.RecordBatch]) -> TabularFeaturiser:
        count = np.zeros(len(self.numeric))
        total = np.zeros(len(self.numeric))
        squares = np.zeros(len(self.numeric))
        rows = 0
        frequency: dict[str, Counter[str]] = {name: Counter() for name in self.categorical}
        for batch in batches:
            rows += batch.num_rows
            for j, name in enumerate(self.numeric):
                values = batch.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
                present = values[~np.isnan(values)]
                count[j] += len(present)
                total[j] += present.sum()
                squares[j] += np.square(present).sum()
            for name in self.categorical:
                counts = pc.value_counts(batch.column(name).drop_null())
                frequency[name].update(
                    dict(
                        zip(
                            counts.field("values").to_pylist(),
                            counts.field("counts").to_pylist(),
                            strict=True,
                        )
                    )
                )
        if rows == 0:
            raise ValueError("no rows to fit the table featuriser on")
        mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        variance = np.divide(squares, count, out=np.zeros_like(total), where=count > 0) - mean**2
        scale = np.sqrt(np.clip(variance, 0.0, None))
        # A constant column carries no information; scale 1 keeps it finite (all zeros).
        scale[scale < 1e-12] = 1.0
        self.mean_, self.scale_ = mean, scale
        self.has_missing_ = [bool(c < rows) for c in count]
        self.categories_ = {
            name: sorted(
                value
                for value, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[
                    : self.max_categories
                ]
            )
            for name, counter in frequency.items()
        }
        return self

    def featurise(self, batch: pa.RecordBatch) -> np.ndarray:
        state = self._state()
        n = batch.num_rows
        blocks: list[np.ndarray] = []
        if self.numeric:
            values = np.column_stack(
                [
                    batch.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
                    for name in self.numeric
                ]
            ).reshape(n, len(self.numeric))
            missing = np.isnan(values)
            standard = (values - state.mean_) / state.scale_
            standard[missing] = 0.0
            blocks.append(standard)
            gaps = np.array(state.has_missing_)
            if gaps.any():
                blocks.append(missing[:, gaps].astype(np.float64))
        for name in self.categorical:
            categories = state.categories_[name]
            column = batch.column(name)
            index = pc.index_in(column, value_set=pa.array(categories, pa.string()))
            position = pc.fill_null(index, -1).to_numpy(zero_copy_only=False)
            absent = column.is_null().to_numpy(zero_copy_only=False)
            one_hot = np.zeros((n, len(categories) + 2))
            known = position >= 0
            one_hot[np.flatnonzero(known), position[known]] = 1.0
            one_hot[~known & ~absent, len(categories)] = 1.0
            one_hot[absent, len(categories) + 1] = 1.0
            blocks.append(one_hot)
        return np.hstack(blocks).astype(np.float32) if blocks else np.zeros((n, 0), np.float32)

    def augmentations(self) -> dict[str, Augmentation]:
        # Standardised numeric columns have unit deviation: 5% of it is 0.05.
        return {"all": feature_noise(len(self.numeric), std=0.05)}

    def save(self, directory: Path) -> None:
        state = self._state()
        (directory / "featuriser.json").write_text(
            json.dumps(
                {
                    "params": self.params,
                    "mean": state.mean_.tolist(),
                    "scale": state.scale_.tolist(),
                    "has_missing": state.has_missing_,
                    "categories": state.categories_,
                }
            )
        )

    @classmethod
    def load(cls, directory: Path) -> TabularFeaturiser:
        state = json.loads((directory / "featuriser.json").read_text())
        featuriser = cls(**state["params"])
        featuriser.mean_ = np.array(state["mean"], dtype=np.float64)
        featuriser.scale_ = np.array(state["scale"], dtype=np.float64)
        featuriser.has_missing_ = state["has_missing"]
        featuriser.categories_ = state["categories"]
        return featuriser

    def _state(self) -> _Fitted:
        if (
            self.mean_ is None
            or self.scale_ is None
            or self.has_missing_ is None
            or self.categories_ is None
        ):
            raise ValueError("the table featuriser is not fitted yet")
        return _Fitted(self.mean_, self.scale_, self.has_missing_, self.categories_)


class _Fitted:
    def __init__(
        self,
        mean: np.ndarray,
        scale: np.ndarray,
        has_missing: list[bool],
        categories: dict[str, list[str]],
    ) -> None:
        self.mean_, self.scale_, self.has_missing_, self.categories_ = (
            mean,
            scale,
            has_missing,
            categories,
        )
