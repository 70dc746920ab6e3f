"""The factor metrics on codes whose answer is known, and against plain references:
scikit-learn's mutual information, disentanglement_lib's algorithms written out, SciPy's
entropy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy as scipy_entropy
from scipy.stats import special_ortho_group
from sklearn.metrics import mutual_info_score

from repr_assets.metrics.disentanglement import (
    _dci_completeness,
    _dci_disentanglement,
    dci,
    entropy,
    mig,
    mutual_information,
    sap,
)
from repr_assets.metrics.factors import bin_levels, read_factors


def _dsprites_like(n: int = 3000, seed: int = 0) -> dict[str, np.ndarray]:
    """Independent factors as in dSprites: a shape (text), a scale, a rotation, and x, y."""
    rng = np.random.default_rng(seed)
    return {
        "shape": rng.choice(np.array(["square", "ellipse", "heart"]), n),
        "scale": rng.integers(0, 6, n) * 0.1 + 0.5,
        "rotation": rng.uniform(0, 2 * np.pi, n),  # continuous: binned for MIG
        "x": rng.integers(0, 16, n).astype(float),
        "y": rng.integers(0, 16, n).astype(float),
    }


def _copying_code(columns: dict[str, np.ndarray]) -> np.ndarray:
    """One code dimension per factor, holding its value (the shape as its level)."""
    dims = [
        np.unique(v, return_inverse=True)[1].astype(float) if v.dtype.kind == "U" else v
        for v in columns.values()
    ]
    return np.stack(dims, axis=1)


def _rotated(code: np.ndarray, seed: int = 0) -> np.ndarray:
    standard = (code - code.mean(axis=0)) / code.std(axis=0)
    return standard @ special_ortho_group.rvs(code.shape[1], random_state=seed)


def _test_mask(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(n) < 0.2


# --- the building blocks against references ------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4)), min_size=1, max_size=200))
def test_mutual_information_equals_scikit_learns(pairs: list[tuple[int, int]]) -> None:
    a, b = (np.array(column) for column in zip(*pairs, strict=True))
    assert mutual_information(a, b) == pytest.approx(mutual_info_score(a, b), abs=1e-12)
    assert entropy(a) == pytest.approx(scipy_entropy(np.bincount(a)), abs=1e-12)


def test_bins_are_disentanglement_libs_histogram_discretisation() -> None:
    values = np.random.default_rng(1).normal(size=500)
    reference = np.digitize(values, np.histogram(values, bins=20)[1][:-1])
    assert mutual_info_score(bin_levels(values), reference) == pytest.approx(
        entropy(bin_levels(values))
    )
    assert len(np.unique(bin_levels(values))) == len(np.unique(reference))


def _reference_mig(Z: np.ndarray, factor_levels: list[np.ndarray]) -> float:
    """disentanglement_lib's ``_compute_mig``, written out with scikit-learn."""
    discretised = [np.digitize(z, np.histogram(z, bins=20)[1][:-1]) for z in Z.T]
    m = np.array([[mutual_info_score(f, z) for f in factor_levels] for z in discretised])
    h = np.array([mutual_info_score(f, f) for f in factor_levels])
    top = np.sort(m, axis=0)[::-1]
    return float(np.mean((top[0] - top[1]) / h))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mig_equals_the_reference_algorithm(seed: int) -> None:
    columns = _dsprites_like(n=1500, seed=seed)
    factors = read_factors(columns)
    Z = (
        np.random.default_rng(seed).normal(size=(1500, 6))
        + _rotated(_copying_code(columns))[:, [0, 1, 2, 3, 4, 0]]
    )
    assert mig(Z, factors) == pytest.approx(
        _reference_mig(Z, [f.levels for f in factors]), rel=1e-9
    )


def test_sap_of_a_numeric_factor_is_the_gap_of_squared_correlations() -> None:
    rng = np.random.default_rng(3)
    t = rng.normal(size=800)
    Z = np.stack([t + 0.5 * rng.normal(size=800), t + 2 * rng.normal(size=800)], axis=1)
    factor = read_factors({"t": t})
    r2 = [np.corrcoef(z, t)[0, 1] ** 2 for z in Z.T]
    assert sap(Z, factor) == pytest.approx(abs(r2[0] - r2[1]), rel=1e-9)


def test_dci_entropies_by_hand() -> None:
    # Dimension 0 serves factor 0 alone, dimension 1 splits its importance over both.
    importance = np.array([[0.6, 0.0], [0.2, 0.2]])
    # D: dimension 0 is pure (1 - 0 = 1), dimension 1 has entropy 1 in base 2 (0); weights
    # 0.6 and 0.4 of the total 1.0.
    assert _dci_disentanglement(importance) == pytest.approx(0.6)
    # C: factor 0's column [0.75, 0.25] has entropy H2 = 0.8113; factor 1's [0, 1] has 0.
    expected = np.mean([1 - scipy_entropy([0.75, 0.25], base=2), 1.0])
    assert _dci_completeness(importance) == pytest.approx(expected)


# --- codes whose answer is known -----------------------------------------------------------


def test_a_code_that_copies_the_factors_scores_about_one_and_a_rotation_of_it_low() -> None:
    columns = _dsprites_like()
    factors = read_factors(columns)
    copy = _copying_code(columns)
    rotated = _rotated(copy)
    test = _test_mask(len(copy))
    good, bad = dci(copy, factors, test, seed=0), dci(rotated, factors, test, seed=0)
    assert mig(copy, factors) > 0.95
    assert sap(copy, factors) > 0.95
    assert good["dci_disentanglement"] > 0.9 and good["dci_completeness"] > 0.9
    assert good["dci_informativeness"] > 0.9
    assert mig(rotated, factors) < 0.3
    assert sap(rotated, factors) < 0.3
    assert bad["dci_disentanglement"] < 0.5 and bad["dci_completeness"] < 0.5
    # A rotation loses no information: only how it is spread.
    assert bad["dci_informativeness"] > 0.5


def test_noise_that_knows_nothing_of_the_factors_scores_near_zero() -> None:
    columns = _dsprites_like()
    factors = read_factors(columns)
    noise = np.random.default_rng(9).normal(size=(3000, 5))
    assert mig(noise, factors) < 0.05
    assert sap(noise, factors) < 0.05
    assert dci(noise, factors, _test_mask(3000), seed=0)["dci_informativeness"] < 0.2


def test_a_factor_seen_by_two_dimensions_has_no_gap() -> None:
    """Two dimensions that both copy the scale: complete information, no separation."""
    columns = _dsprites_like()
    factors = [f for f in read_factors(columns) if f.name == "scale"]
    scale = columns["scale"]
    assert mig(np.stack([scale, scale], axis=1), factors) == pytest.approx(0.0, abs=1e-12)
    assert sap(np.stack([scale, scale], axis=1), factors) == pytest.approx(0.0, abs=1e-12)


def test_factors_are_read_as_levels_or_values_and_bad_ones_refused_by_name() -> None:
    factors = {f.name: f for f in read_factors(_dsprites_like(n=500))}
    assert factors["shape"].categorical and factors["shape"].count == 3
    assert factors["x"].categorical and factors["x"].count == 16  # 16 levels: counted
    assert not factors["rotation"].categorical  # continuous: binned for MIG
    assert factors["rotation"].count == 20
    with pytest.raises(ValueError, match=r"'height'.*one value"):
        read_factors({"height": np.ones(10)})
    with pytest.raises(ValueError, match=r"'t'.*missing"):
        read_factors({"t": [0.0, None, 1.0]})
    with pytest.raises(ValueError, match=r"'t'.*non-finite"):
        read_factors({"t": [0.0, float("nan"), 1.0]})


def test_a_constant_code_dimension_scores_zero_not_nan() -> None:
    columns = _dsprites_like(n=400)
    factors = read_factors(columns)
    Z = np.concatenate([_copying_code(columns), np.zeros((400, 1))], axis=1)
    for value in (mig(Z, factors), sap(Z, factors)):
        assert np.isfinite(value)
