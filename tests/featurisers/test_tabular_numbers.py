"""The table featuriser's statistics on adversarial columns, against scikit-learn and an
exact oracle, and the values it cannot standardise to a finite feature."""

from __future__ import annotations

import statistics
import warnings
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import StandardScaler

from repr_assets.featurisers import TabularFeaturiser
from repr_assets.featurisers.moments import EPSILON

WIDTH = 3
NAMES = [f"x{j}" for j in range(WIDTH)]
OFFSETS = [0.0, 1.0, -3.5, 1e12, -1.7e12, 1.7e12, 1e300, -1e300]
SPREADS = [0.0, 1e-3, 1.0, 1e3, 1e150, 1e285, 1e300]
OUTLIERS = [None, None, 1e300, -1e300, 1.7e308]
FLOAT32_MAX = float(np.finfo(np.float32).max)


def batches_of(values: np.ndarray, sizes: list[int]) -> list[pa.RecordBatch]:
    """``values`` (rows, WIDTH) as record batches of ``sizes`` rows, NaN as null."""
    batches, start = [], 0
    for size in sizes:
        part = values[start : start + size]
        start += size
        batches.append(
            pa.RecordBatch.from_pydict(
                {
                    name: pa.array(part[:, j], pa.float64(), mask=np.isnan(part[:, j]))
                    for j, name in enumerate(NAMES)
                }
            )
        )
    return batches


@st.composite
def adversarial_columns(draw: st.DrawFn) -> tuple[np.ndarray, list[int]]:
    """Columns of large offsets, values near 1e300, mixed signs, constants, outliers and
    gaps, cut into a few batches of very different sizes."""
    sizes = draw(st.lists(st.sampled_from([1, 2, 7, 60, 400, 1500]), min_size=1, max_size=4))
    rows = sum(sizes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = np.empty((rows, WIDTH))
    for j in range(WIDTH):
        shape = draw(st.sampled_from(["uniform", "normal", "signs"]))
        base = {
            "uniform": lambda: rng.uniform(-1.0, 1.0, rows),
            "normal": lambda: rng.normal(0.0, 1.0, rows),
            "signs": lambda: rng.choice([-1.0, 1.0], rows),
        }[shape]()
        column = draw(st.sampled_from(OFFSETS)) + draw(st.sampled_from(SPREADS)) * base
        outlier = draw(st.sampled_from(OUTLIERS))
        if outlier is not None:
            column[rng.integers(rows)] = outlier
        if draw(st.booleans()):
            gaps = rng.random(rows) < 0.1
            gaps[0] = False  # every column keeps a value
            column[gaps] = np.nan
        values[:, j] = column
    return values, sizes


def exact_moments(column: np.ndarray) -> tuple[float, float]:
    """Mean and population deviation on exact fractions, each rounded once."""
    present = column[~np.isnan(column)].tolist()
    return statistics.mean(present), statistics.pstdev(present)


def near(value: float, bound: float) -> bool:
    """Whether ``value`` is too close to ``bound`` for rounding to settle which side."""
    return bound != 0 and abs(value - bound) <= 1e-6 * abs(bound)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(adversarial_columns())
def test_statistics_equal_the_exact_ones_and_scikit_learn_where_it_is_finite(case):
    values, sizes = case
    featuriser = TabularFeaturiser(NAMES, []).fit(batches_of(values, sizes))
    assert featuriser.mean_ is not None and featuriser.scale_ is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's squares overflow near 1e300
        reference = StandardScaler().fit(values)
    for j in range(WIDTH):
        mean, std = exact_moments(values[:, j])
        # Constant: a deviation within the rounding of the mean (scale 1, as scikit-learn).
        assume(not near(std, EPSILON * abs(mean)))
        scale = 1.0 if std <= EPSILON * abs(mean) else std
        assert featuriser.mean_[j] == pytest.approx(mean, rel=0, abs=1e-12 * (abs(mean) + std))
        assert featuriser.scale_[j] == pytest.approx(scale, rel=1e-9)
        sk_mean, sk_scale = float(reference.mean_[j]), float(reference.scale_[j])
        if not (np.isfinite(sk_mean) and np.isfinite(sk_scale) and np.isfinite(reference.var_[j])):
            continue  # scikit-learn overflowed: the exact values above are the reference
        n = int(np.sum(~np.isnan(values[:, j])))
        if sk_scale == 1.0 and scale != 1.0:
            # scikit-learn calls a column constant within its sums' error bound, which grows
            # with the rows (n * eps * |mean|); ours does not (see ``standard_scale``).
            assert std <= 1.01 * n * EPSILON * abs(mean)
            continue
        assert featuriser.mean_[j] == pytest.approx(sk_mean, rel=0, abs=1e-9 * (abs(mean) + std))
        assert featuriser.scale_[j] == pytest.approx(sk_scale, rel=1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(adversarial_columns())
def test_a_row_has_features_exactly_when_every_value_standardises_within_the_bound(case):
    """A feature must be finite, and small enough that a row's sum of squares stays finite
    in float32 (``sqrt(float32 max / (4 * width))``): 2.4e38 is a finite float32 whose
    square is not, which failed a whole report."""
    values, sizes = case
    featuriser = TabularFeaturiser(NAMES, []).fit(batches_of(values, sizes))
    assert featuriser.mean_ is not None and featuriser.scale_ is not None
    bound = np.sqrt(FLOAT32_MAX / (4 * featuriser.dim))
    [batch] = batches_of(values, [len(values)])
    features, unfit = featuriser.featurise_rows(batch)
    assert features.dtype == np.float32 and np.isfinite(features).all()
    for row in range(len(values)):
        expected = []
        for j in range(WIDTH):
            x = values[row, j]
            if np.isnan(x):
                expected.append(0.0)  # missing: the mean
                continue
            exact = (Fraction(x) - Fraction(featuriser.mean_[j])) / Fraction(featuriser.scale_[j])
            expected.append(float(exact) if abs(exact) < 2**1000 else float("inf"))
        fits = [abs(z) <= bound for z in expected]
        assume(all(not near(abs(z), bound) for z in expected))
        assert (row not in unfit) == all(fits), (row, expected, unfit.get(row))
        if all(fits):
            np.testing.assert_allclose(features[row, :WIDTH], expected, rtol=1e-6, atol=1e-30)
        else:
            np.testing.assert_array_equal(features[row], 0.0)


def column_batch(**columns: list[float | None]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({k: pa.array(v, pa.float64()) for k, v in columns.items()})


def test_one_value_of_1e300_leaves_every_training_row_finite():
    # The issue: squares overflowed, the scale became NaN and so did every feature row.
    rng = np.random.default_rng(0)
    mass = [*rng.normal(1.2, 0.3, 999).tolist(), 1e300]
    featuriser = TabularFeaturiser(["mass"], []).fit([column_batch(mass=mass)])
    assert np.isfinite(featuriser.featurise(column_batch(mass=mass))).all()
    assert featuriser.featurise_rows(column_batch(mass=mass))[1] == {}
    assert featuriser.sound
    assert featuriser.scale_[0] == pytest.approx(statistics.pstdev(mass), rel=1e-12)


def test_millisecond_timestamps_keep_their_scale():
    # 1.7e12 +- 1000: mean of squares minus squared mean gave scale 1 (all digits lost).
    rng = np.random.default_rng(1)
    stamps = 1.7e12 + rng.uniform(-1000, 1000, 5000)
    batches = [column_batch(t=stamps[:13].tolist()), column_batch(t=stamps[13:].tolist())]
    featuriser = TabularFeaturiser(["t"], []).fit(batches)
    assert featuriser.scale_[0] == pytest.approx(np.std(stamps - 1.7e12), rel=1e-9)
    assert 550 < featuriser.scale_[0] < 600
    features = featuriser.featurise(column_batch(t=stamps.tolist()))
    assert features[:, 0].std() == pytest.approx(1.0, rel=1e-4)


def test_a_later_value_of_1e300_is_named_with_its_column_and_the_training_statistics():
    featuriser = TabularFeaturiser(["mass", "size"], []).fit(
        [column_batch(mass=[0.9, 1.5, 1.2], size=[1.0, 2.0, 3.0])]
    )
    features, unfit = featuriser.featurise_rows(
        column_batch(mass=[1.2, 1e300, -1e300, None], size=[2.0, 2.0, 1e300, 2.0])
    )
    mean, scale = featuriser.mean_[0], featuriser.scale_[0]
    assert unfit == {
        1: "value 1e+300 of numeric column 'mass' cannot be standardised to a finite feature "
        f"(training mean {mean:.6g}, scale {scale:.6g})",
        2: "value -1e+300 of numeric column 'mass' cannot be standardised to a finite feature "
        f"(training mean {mean:.6g}, scale {scale:.6g})",
    }
    assert unfit[1].endswith("(training mean 1.2, scale 0.244949)")
    np.testing.assert_array_equal(features[[1, 2]], 0.0)
    assert np.isfinite(features).all()
    with pytest.raises(ValueError, match=r"row 1: value 1e\+300 of numeric column 'mass'"):
        featuriser.featurise(column_batch(mass=[1.2, 1e300], size=[2.0, 2.0]))


def test_a_finite_float32_too_large_to_square_is_set_aside():
    # The review's case: 2.4e38 in a column fitted on values of scale about 1 standardises
    # to a finite float32 (2.9e38), whose square (and the report's sums) is not.
    featuriser = TabularFeaturiser(["x", "y"], []).fit(
        [column_batch(x=[-1.0, 0.0, 1.0], y=[0.5, 0.4, 0.6])]
    )
    features, unfit = featuriser.featurise_rows(column_batch(x=[0.5, 2.4e38], y=[0.5, 0.5]))
    assert list(unfit) == [1]
    assert "cannot be standardised to a feature within" in unfit[1]
    assert np.isfinite(np.square(features.astype(np.float32)).sum(axis=1)).all()


def test_values_near_the_largest_float_of_both_signs_do_not_overflow():
    big = 1.7976931348623157e308
    featuriser = TabularFeaturiser(["x"], []).fit([column_batch(x=[big, -big, big, -big])])
    assert featuriser.mean_[0] == 0.0
    assert featuriser.scale_[0] == big
    features, unfit = featuriser.featurise_rows(column_batch(x=[big, -big, 0.0]))
    assert unfit == {}
    np.testing.assert_array_equal(features[:, 0], [1.0, -1.0, 0.0])


def test_a_constant_column_gets_scale_one_as_in_scikit_learn():
    values = [[0.1], [0.1], [0.1]]
    featuriser = TabularFeaturiser(["x"], []).fit([column_batch(x=[v[0] for v in values])])
    assert featuriser.scale_[0] == StandardScaler().fit(values).scale_[0] == 1.0
    assert featuriser.mean_[0] == 0.1


def test_a_column_empty_in_its_first_batches_or_in_all_of_them():
    batches = [
        column_batch(x=[None, None], y=[None, None]),
        column_batch(x=[3.0, 5.0], y=[None, None]),
    ]
    featuriser = TabularFeaturiser(["x", "y"], []).fit(batches)
    assert featuriser.mean_ is not None and featuriser.scale_ is not None
    assert featuriser.mean_.tolist() == [4.0, 0.0]
    assert featuriser.scale_.tolist() == [1.0, 1.0]
    assert featuriser.feature_names == ["x", "y", "x=missing", "y=missing"]
    features = featuriser.featurise(column_batch(x=[None, 6.0], y=[None, 2.0]))
    np.testing.assert_array_equal(features, [[0, 0, 1, 1], [2, 2, 0, 0]])
