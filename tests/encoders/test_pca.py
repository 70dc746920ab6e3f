"""PCA against a NumPy SVD reference, its sign rule, batching, persistence and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from repr_assets.encoders.pca import PCA
from repr_assets.metrics import batches


def _data(n: int = 120, d: int = 8, seed: int = 0) -> np.ndarray:
    """Correlated data with clearly separated variances, away from the origin."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(4.0, 0.5, d)
    mixing = np.linalg.qr(rng.normal(size=(d, d)))[0]
    return (rng.normal(size=(n, d)) * scales) @ mixing + 3.0


def _svd_reference(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, components (largest-|entry| positive), variances and variance ratios by SVD."""
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    variance = s**2 / (len(X) - 1)
    components = vt[:k].copy()
    largest = components[np.arange(k), np.abs(components).argmax(axis=1)]
    components *= np.sign(largest)[:, None]
    return mean, components, variance[:k], variance[:k] / variance.sum()


@pytest.fixture
def X() -> np.ndarray:
    return _data()


def test_matches_svd_reference(X: np.ndarray) -> None:
    k = 5
    pca = PCA(n_components=k).fit(X)
    mean, components, variance, ratio = _svd_reference(X, k)

    np.testing.assert_allclose(pca.mean_, mean, rtol=0, atol=1e-12)
    assert pca.components_.shape == (k, X.shape[1])
    # Equal up to sign: compare absolute cosines first, then exactly-signed below.
    np.testing.assert_allclose(np.abs(np.sum(pca.components_ * components, axis=1)), 1.0, atol=1e-9)
    np.testing.assert_allclose(pca.components_, components, atol=1e-9)
    np.testing.assert_allclose(pca.explained_variance_, variance, rtol=1e-9)
    np.testing.assert_allclose(pca.explained_variance_ratio_, ratio, rtol=1e-9)
    np.testing.assert_allclose(pca.total_variance_, X.var(axis=0, ddof=1).sum(), rtol=1e-9)
    assert pca.n_samples_seen_ == len(X)
    # Variances come out sorted, largest first.
    assert np.all(np.diff(pca.explained_variance_) <= 0)


def test_components_are_orthonormal(X: np.ndarray) -> None:
    pca = PCA(n_components=6).fit(X)
    np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(6), atol=1e-10)


def test_transform_is_the_projection(X: np.ndarray) -> None:
    pca = PCA(n_components=3).fit(X)
    Z = pca.transform(X)
    assert Z.shape == (len(X), 3)
    assert Z.dtype == np.float32
    expected = (X - X.mean(axis=0)) @ pca.components_.T
    np.testing.assert_allclose(Z, expected, rtol=1e-5, atol=1e-5)
    # The codes are uncorrelated with the explained variances as their variances.
    np.testing.assert_allclose(Z.var(axis=0, ddof=1), pca.explained_variance_, rtol=1e-4)


def test_transforms_in_row_blocks_equal_the_whole_matrix(
    X: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    pca = PCA(3).fit(X)
    codes = ((X - pca.mean_) @ pca.components_.T).astype(np.float32)
    rows = (codes.astype(np.float64) @ pca.components_ + pca.mean_).astype(np.float32)
    monkeypatch.setattr(batches, "ROWS_PER_BATCH", 7)  # several blocks, the last one short
    assert len(X) % 7 != 0
    np.testing.assert_allclose(pca.transform(X), codes, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pca.inverse_transform(codes), rows, rtol=1e-6, atol=1e-6)
    assert pca.transform(X).dtype == pca.inverse_transform(codes).dtype == np.float32
    # float32 input is cast a block at a time, to the same codes
    np.testing.assert_allclose(pca.transform(X.astype(np.float32)), codes, rtol=1e-5, atol=1e-5)


def test_sign_rule_largest_entry_positive(X: np.ndarray) -> None:
    pca = PCA(n_components=X.shape[1]).fit(X)
    rows = np.arange(X.shape[1])
    largest = pca.components_[rows, np.abs(pca.components_).argmax(axis=1)]
    assert np.all(largest > 0)


def test_sign_is_deterministic_under_negation_and_row_order(X: np.ndarray) -> None:
    reference = PCA(n_components=4).fit(X)
    negated = PCA(n_components=4).fit(-X)
    permuted = PCA(n_components=4).fit(X[np.random.default_rng(1).permutation(len(X))])

    # Negating the data leaves the covariance, hence the signed components, unchanged.
    np.testing.assert_allclose(negated.components_, reference.components_, atol=1e-12)
    np.testing.assert_allclose(negated.mean_, -reference.mean_, atol=1e-12)
    np.testing.assert_allclose(permuted.components_, reference.components_, atol=1e-10)
    np.testing.assert_allclose(permuted.explained_variance_, reference.explained_variance_)


def test_fit_batches_equals_fit_on_whole_matrix(X: np.ndarray) -> None:
    whole = PCA(n_components=5).fit(X)
    # Uneven batches, one of them a single row.
    batches = [X[:7], X[7:8], X[8:50], X[50:]]
    batched = PCA(n_components=5).fit_batches(iter(batches))

    np.testing.assert_allclose(batched.mean_, whole.mean_, atol=1e-12)
    np.testing.assert_allclose(batched.components_, whole.components_, atol=1e-10)
    np.testing.assert_allclose(batched.explained_variance_, whole.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(
        batched.explained_variance_ratio_, whole.explained_variance_ratio_, rtol=1e-10
    )
    assert batched.n_samples_seen_ == whole.n_samples_seen_ == len(X)
    np.testing.assert_array_equal(batched.transform(X).shape, (len(X), 5))
    np.testing.assert_allclose(batched.transform(X), whole.transform(X), atol=1e-5)


def test_fit_far_from_origin_stays_accurate() -> None:
    X = _data(n=200, d=5, seed=3) + 1e6
    pca = PCA(n_components=5).fit_batches([X[:40], X[40:]])
    _, _, variance, _ = _svd_reference(X, 5)
    np.testing.assert_allclose(pca.explained_variance_, variance, rtol=1e-6)


def test_inverse_transform_with_all_components_recovers_input(X: np.ndarray) -> None:
    pca = PCA(n_components=X.shape[1]).fit(X)
    X_back = pca.inverse_transform(pca.transform(X))
    assert X_back.shape == X.shape
    assert X_back.dtype == np.float32
    np.testing.assert_allclose(X_back, X, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pca.explained_variance_ratio_.sum(), 1.0, rtol=1e-12)


def test_inverse_transform_with_fewer_components_loses_the_tail(X: np.ndarray) -> None:
    pca = PCA(n_components=2).fit(X)
    X_back = pca.inverse_transform(pca.transform(X)).astype(np.float64)
    # The mean squared residual is the variance left in the dropped components.
    residual = np.sum((X - X_back) ** 2) / (len(X) - 1)
    np.testing.assert_allclose(
        residual, pca.total_variance_ - pca.explained_variance_.sum(), rtol=1e-4
    )


def test_fitted_attributes_end_in_underscore(X: np.ndarray) -> None:
    pca = PCA(n_components=2)
    before = set(vars(pca))
    pca.fit(X)
    added = set(vars(pca)) - before
    assert added == {
        "mean_",
        "components_",
        "explained_variance_",
        "explained_variance_ratio_",
        "total_variance_",
        "n_samples_seen_",
    }
    assert all(name.endswith("_") for name in added)
    assert pca.params == {"n_components": 2}
    assert pca.latent_dim == 2


def test_save_load_round_trip(tmp_path, X: np.ndarray) -> None:
    pca = PCA(n_components=4).fit(X)
    pca.save(tmp_path / "model")
    assert json.loads((tmp_path / "model" / "params.json").read_text()) == {"n_components": 4}
    # The arrays load without pickle.
    with np.load(tmp_path / "model" / "state.npz", allow_pickle=False) as state:
        assert set(state.files) >= {"mean_", "components_", "explained_variance_"}

    loaded = PCA.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.transform(X), pca.transform(X))
    Z = pca.transform(X)
    np.testing.assert_array_equal(loaded.inverse_transform(Z), pca.inverse_transform(Z))
    np.testing.assert_array_equal(loaded.explained_variance_ratio_, pca.explained_variance_ratio_)
    assert loaded.total_variance_ == pca.total_variance_
    assert loaded.n_samples_seen_ == pca.n_samples_seen_


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_refused(X: np.ndarray, bad: float) -> None:
    X = X.copy()
    X[5, 2] = bad
    with pytest.raises(ValueError, match="NaN"):
        PCA(n_components=2).fit(X)


def test_non_finite_in_a_later_batch_is_refused(X: np.ndarray) -> None:
    later = X[50:].copy()
    later[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        PCA(n_components=2).fit_batches([X[:50], later])


@pytest.mark.parametrize("n_components", [0, 9, -1])
def test_n_components_out_of_range(X: np.ndarray, n_components: int) -> None:
    with pytest.raises(ValueError, match="n_components must be between 1 and 8"):
        PCA(n_components=n_components).fit(X)


@pytest.mark.parametrize("rows", [0, 1])
def test_fewer_than_two_rows(rows: int) -> None:
    with pytest.raises(ValueError, match=f"at least 2 rows, got {rows}"):
        PCA(n_components=1).fit(np.ones((rows, 3)))


def test_no_batches_at_all() -> None:
    with pytest.raises(ValueError, match="at least 2 rows, got 0"):
        PCA(n_components=1).fit_batches([])


def test_not_two_dimensional() -> None:
    with pytest.raises(ValueError, match="2-D"):
        PCA(n_components=1).fit(np.ones(10))


def test_batches_of_different_widths(X: np.ndarray) -> None:
    with pytest.raises(ValueError, match="7 features, expected 8"):
        PCA(n_components=1).fit_batches([X[:10], X[10:20, :7]])


def test_use_before_fit_raises_runtime_error(tmp_path) -> None:
    pca = PCA(n_components=2)
    with pytest.raises(RuntimeError, match="not fitted"):
        pca.transform(np.ones((3, 4)))
    with pytest.raises(RuntimeError, match="not fitted"):
        pca.inverse_transform(np.ones((3, 2)))
    with pytest.raises(RuntimeError, match="not fitted"):
        pca.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_inputs_of_the_wrong_width_are_refused(X: np.ndarray) -> None:
    pca = PCA(n_components=3).fit(X)
    with pytest.raises(ValueError, match=r"features of shape \(n, 8\), got \(5, 7\)"):
        pca.transform(X[:5, :7])
    with pytest.raises(ValueError, match=r"codes of shape \(n, 3\), got \(5, 4\)"):
        pca.inverse_transform(np.ones((5, 4)))
