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

from repr_assets.featurisers.moments import RunningMoments, standard_scale
from repr_assets.items.augment import Augmentation, feature_noise
from repr_assets.items.hashing import canonical_json, short_hash


class TabularFeaturiser:
    """Featurise table rows into float32 rows.

    - A numeric column is standardised with the mean and standard deviation of the rows it
      was fitted on; a missing value becomes the mean (0 after standardising), and a
      column that had missing values at ``fit`` gets an indicator column.
    - A categorical column is one-hot encoded over its ``max_categories`` most frequent
      values at ``fit``, plus an ``other`` column for the rest and a ``missing`` column.

    ``fit`` streams over batches, keeping only counts, means and sums of squared
    deviations per column (``moments``): stable for large offsets, free of overflow.
    A value that does not standardise to a finite float32 has no features:
    ``featurise_rows`` names its row, for the caller to set aside.
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
        moments = RunningMoments(len(self.numeric))
        rows = 0
        frequency: dict[str, Counter[str]] = {name: Counter() for name in self.categorical}
        for batch in batches:
            rows += batch.num_rows
            if self.numeric:
                moments.add(self._numbers(batch))
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
        mean, std = moments.mean_and_std()
        self.mean_, self.scale_ = mean, standard_scale(mean, std)
        self.has_missing_ = [bool(c < rows) for c in moments.count]
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

    @property
    def sound(self) -> bool:
        """Whether the fitted statistics are finite, with a positive scale: a featuriser
        saved by a version that overflowed (NaN scales) is to be fitted again."""
        state = self._state()
        return bool(
            np.isfinite(state.mean_).all()
            and np.isfinite(state.scale_).all()
            and (state.scale_ > 0).all()
        )

    def featurise(self, batch: pa.RecordBatch) -> np.ndarray:
        """The features of ``batch``; a ``ValueError`` names a value that has none."""
        features, unfit = self.featurise_rows(batch)
        if unfit:
            row = min(unfit)
            raise ValueError(f"row {row}: {unfit[row]}")
        return features

    def featurise_rows(self, batch: pa.RecordBatch) -> tuple[np.ndarray, dict[int, str]]:
        """The features of ``batch``, and ``{row: reason}`` for the rows that have none: a
        number that does not standardise to a finite float32 (1e300 in a column fitted on
        values near 1). Those rows' features are zeros, for the caller to leave out."""
        state = self._state()
        n = batch.num_rows
        blocks: list[np.ndarray] = []
        unfit: dict[int, str] = {}
        if self.numeric:
            values = self._numbers(batch)
            missing = np.isnan(values)
            with np.errstate(over="ignore", invalid="ignore"):
                # Halves: x - mean overflows for x near 1.8e308 and a mean of the other sign.
                standard = (values * 0.5 - state.mean_[:, None] * 0.5) / state.scale_[:, None]
                standard = (standard * 2.0).astype(np.float32)
            # Finite is not enough: 2.4e38 is a finite float32 whose square, and any sum
            # the report takes over a row, is not. A feature stays within a bound that
            # keeps a row's sum of squares finite in float32.
            bound = np.float32(np.sqrt(np.finfo(np.float32).max / (4 * max(self.dim, 1))))
            bad = ~missing & ~(np.abs(standard) <= bound)
            if bad.any():
                unfit = self._reasons(values, standard, bad, float(bound))
            standard[missing | bad] = 0.0
            blocks.append(standard.T)
            gaps = np.array(state.has_missing_)
            if gaps.any():
                blocks.append(missing[gaps].T.astype(np.float32))
        for name in self.categorical:
            categories = state.categories_[name]
            column = batch.column(name)
            index = pc.index_in(column, value_set=pa.array(categories, pa.string()))
            position = pc.fill_null(index, -1).to_numpy(zero_copy_only=False)
            absent = column.is_null().to_numpy(zero_copy_only=False)
            one_hot = np.zeros((n, len(categories) + 2), np.float32)
            known = position >= 0
            one_hot[np.flatnonzero(known), position[known]] = 1.0
            one_hot[~known & ~absent, len(categories)] = 1.0
            one_hot[absent, len(categories) + 1] = 1.0
            blocks.append(one_hot)
        features = np.hstack(blocks) if blocks else np.zeros((n, 0), np.float32)
        if unfit:
            features[sorted(unfit)] = 0.0
        return features, unfit

    def _numbers(self, batch: pa.RecordBatch) -> np.ndarray:
        """The numeric columns as a ``(columns, rows)`` float64 array, NaN where missing."""
        return np.vstack(
            [
                pc.fill_null(batch.column(name).cast(pa.float64()), np.nan).to_numpy(
                    zero_copy_only=False
                )
                for name in self.numeric
            ]
        ).reshape(len(self.numeric), batch.num_rows)

    def _reasons(
        self, values: np.ndarray, standard: np.ndarray, bad: np.ndarray, bound: float
    ) -> dict[int, str]:
        """Why each row of ``bad`` (``(columns, rows)``) has no features: its first bad value."""
        state = self._state()
        rows = np.flatnonzero(bad.any(axis=0))
        columns = bad[:, rows].argmax(axis=0)
        reasons = {}
        for row, j in zip(rows.tolist(), columns.tolist(), strict=True):
            what = (
                "a finite feature"
                if not np.isfinite(standard[j, row])
                else f"a feature within ±{bound:.3g} (it lies {float(standard[j, row]):.3g} "
                "deviations out)"
            )
            reasons[int(row)] = (
                f"value {float(values[j, row])!r} of numeric column {self.numeric[j]!r} cannot "
                f"be standardised to {what} (training mean {float(state.mean_[j]):.6g}, scale "
                f"{float(state.scale_[j]):.6g})"
            )
        return reasons

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
