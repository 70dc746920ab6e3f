"""Invariance metrics against NumPy references, and the image augmentations they use."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from repr_assets.encoders.pca import PCA
from repr_assets.items.augment import identity, image_augmentations
from repr_assets.items.holdout import stratified_test_mask
from repr_assets.metrics.invariance import invariance_cosine, invariance_knn_overlap
from repr_assets.quality.encoder_report import evaluate_encoder

REL = 1e-6
AUGMENTATIONS = ("shift", "rotation", "noise", "all")


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """300 of scikit-learn's 8x8 digits, pixels scaled to [0, 1] as float32."""
    data = load_digits()
    return (data.data[:300] / 16.0).astype(np.float32), data.target[:300]


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- invariance_cosine -----------------------------------------------------------------


def _reference_cosine(Z: np.ndarray, Z_augmented: np.ndarray) -> float:
    sims = [
        float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        for a, b in zip(np.asarray(Z, np.float64), np.asarray(Z_augmented, np.float64), strict=True)
    ]
    return float(np.mean(sims))


def test_invariance_cosine_of_identical_codes_is_exactly_one() -> None:
    Z = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    assert invariance_cosine(Z, Z.copy()) == 1.0


@pytest.mark.parametrize("noise", [0.1, 1.0, 5.0])
def test_invariance_cosine_matches_numpy(noise: float) -> None:
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(80, 6)).astype(np.float32)
    Z_augmented = (Z + noise * rng.normal(size=Z.shape)).astype(np.float32)
    value = invariance_cosine(Z, Z_augmented)
    assert value == pytest.approx(_reference_cosine(Z, Z_augmented), rel=REL)
    assert -1.0 <= value < 1.0


def test_invariance_cosine_is_minus_one_for_opposite_codes() -> None:
    Z = np.random.default_rng(2).normal(size=(10, 4))
    assert invariance_cosine(Z, -3.0 * Z) == pytest.approx(-1.0, abs=1e-12)


def test_invariance_cosine_ignores_scale() -> None:
    Z = np.random.default_rng(3).normal(size=(10, 4))
    assert invariance_cosine(Z, 7.5 * Z) == pytest.approx(1.0, abs=1e-12)


def test_invariance_cosine_handles_zero_codes() -> None:
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(6, 3))
    Z_augmented = Z + 0.2 * rng.normal(size=Z.shape)
    Z[0] = 0.0  # zero code, non-zero copy: no direction kept
    Z_augmented[1] = 0.0  # non-zero code, zero copy: no direction kept
    Z[2] = Z_augmented[2] = 0.0  # both zero: unchanged
    with np.errstate(all="raise"):  # no division by zero, no NaN warnings
        value = invariance_cosine(Z, Z_augmented)
    assert np.isfinite(value)
    rest = _reference_cosine(Z[3:], Z_augmented[3:])
    assert value == pytest.approx((0.0 + 0.0 + 1.0 + 3 * rest) / 6, rel=REL)


def test_invariance_cosine_of_all_zero_codes_is_one() -> None:
    Z = np.zeros((5, 3), dtype=np.float32)
    assert invariance_cosine(Z, Z.copy()) == 1.0


# --- invariance_knn_overlap ------------------------------------------------------------


def _reference_knn_overlap(
    Z_all: np.ndarray, sample: np.ndarray, Z_augmented: np.ndarray, k: int
) -> float:
    """Neighbours of item i among all items but i, under cosine; |N(z) ∩ N(z')| / k, mean."""
    unit = Z_all / np.linalg.norm(Z_all, axis=1, keepdims=True)
    overlaps = []
    for row, i in enumerate(sample):
        neighbours = []
        for query in (Z_all[i], Z_augmented[row]):
            similarity = unit @ (query / np.linalg.norm(query))
            candidates = [j for j in range(len(Z_all)) if j != i]
            candidates.sort(key=lambda j: -similarity[j])
            neighbours.append(set(candidates[:k]))
        overlaps.append(len(neighbours[0] & neighbours[1]) / k)
    return float(np.mean(overlaps))


def test_knn_overlap_of_an_identical_copy_is_exactly_one() -> None:
    Z = np.random.default_rng(5).normal(size=(120, 5)).astype(np.float32)
    sample = np.arange(0, 120, 3)
    assert invariance_knn_overlap(Z, sample, Z[sample].copy(), k=10) == 1.0


@pytest.mark.parametrize(("noise", "k"), [(0.05, 10), (0.3, 10), (1.0, 10), (0.3, 3)])
def test_knn_overlap_matches_brute_force(noise: float, k: int) -> None:
    rng = np.random.default_rng(6)
    Z = rng.normal(size=(150, 6))
    sample = np.sort(rng.choice(150, size=40, replace=False))
    Z_augmented = Z[sample] + noise * rng.normal(size=(40, 6))
    value = invariance_knn_overlap(Z, sample, Z_augmented, k=k)
    assert value == pytest.approx(_reference_knn_overlap(Z, sample, Z_augmented, k), rel=REL)
    assert 0.0 <= value <= 1.0


def test_knn_overlap_leaves_the_item_itself_out() -> None:
    # Each item's copy is itself: were the item counted as its own neighbour, the copy's
    # list (which would hold it) and the original's would still agree, so use a copy that
    # moved: the item is then the copy's nearest neighbour but may not be counted.
    rng = np.random.default_rng(7)
    Z = rng.normal(size=(60, 4))
    sample = np.arange(60)
    Z_augmented = Z + 0.01 * rng.normal(size=Z.shape)
    value = invariance_knn_overlap(Z, sample, Z_augmented, k=5)
    assert value == pytest.approx(_reference_knn_overlap(Z, sample, Z_augmented, 5), rel=REL)


def test_knn_overlap_of_unrelated_copies_is_low() -> None:
    rng = np.random.default_rng(8)
    Z = rng.normal(size=(200, 8))
    sample = np.arange(50)
    Z_augmented = rng.normal(size=(50, 8))
    value = invariance_knn_overlap(Z, sample, Z_augmented, k=10)
    assert value == pytest.approx(_reference_knn_overlap(Z, sample, Z_augmented, 10), rel=REL)
    assert value < 0.25


# --- image augmentations ---------------------------------------------------------------


def test_image_augmentations_are_named() -> None:
    assert set(image_augmentations(8)) == {"shift", "rotation", "noise", "all"}


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_augmentation_keeps_shape_dtype_and_range(digits, name: str) -> None:
    X, _ = digits
    out = image_augmentations(8)[name](X, _generator(0))
    assert out.shape == X.shape
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_augmentation_is_deterministic_per_seed(digits, name: str) -> None:
    X, _ = digits
    augment = image_augmentations(8)[name]
    first = augment(X, _generator(1))
    np.testing.assert_array_equal(augment(X, _generator(1)), first)
    assert not np.array_equal(augment(X, _generator(2)), first)


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_augmentation_changes_images_a_little(digits, name: str) -> None:
    X, _ = digits
    out = image_augmentations(8)[name](X, _generator(3))
    difference = np.abs(out - X).mean()
    # Pixels lie in [0, 1] and average about 0.3 on digits; a sub-pixel shift of an 8x8
    # image already changes them by about 0.14 on average, noise alone by about 0.03.
    assert 0.0 < difference < 0.25


def test_augmentation_leaves_its_input_untouched(digits) -> None:
    X, _ = digits
    before = X.copy()
    for augment in image_augmentations(8).values():
        augment(X, _generator(4))
    np.testing.assert_array_equal(X, before)


def _blob(size: int, centre: tuple[float, float], sigma: float) -> np.ndarray:
    rows, cols = np.mgrid[0:size, 0:size] + 0.5  # pixel centres
    return np.exp(-((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / (2 * sigma**2))


def _centre_of_mass(images: np.ndarray, size: int) -> np.ndarray:
    images = images.reshape(-1, size, size)
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    mass = images.sum(axis=(1, 2))
    return np.stack(
        [(images * rows).sum(axis=(1, 2)) / mass, (images * cols).sum(axis=(1, 2)) / mass], axis=1
    )


def test_rotation_keeps_a_centred_blob_in_place() -> None:
    size = 16
    blob = _blob(size, (size / 2, size / 2), sigma=2.0).astype(np.float32)
    X = np.tile(blob.reshape(1, -1), (20, 1))
    out = image_augmentations(size)["rotation"](X, _generator(5))
    np.testing.assert_allclose(_centre_of_mass(out, size), size / 2, atol=0.05)
    assert np.abs(out - X).max() < 0.1  # a round blob barely changes under rotation


def test_rotation_turns_an_off_centre_blob_by_at_most_the_angle() -> None:
    size, radius = 16, 5.0
    blob = _blob(size, (size / 2, size / 2 + radius), sigma=1.0).astype(np.float32)
    X = np.tile(blob.reshape(1, -1), (30, 1))
    out = image_augmentations(size, max_degrees=10.0)["rotation"](X, _generator(6))
    centres = _centre_of_mass(out, size) - size / 2
    angles = np.degrees(np.arctan2(centres[:, 0], centres[:, 1]))
    assert np.abs(angles).max() < 10.0 + 1.0
    assert np.abs(angles).max() > 2.0  # it does rotate
    assert len(np.unique(np.round(angles, 3))) > 20  # each image draws its own angle
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), radius, atol=0.3)


def test_shift_moves_a_blob_by_at_most_the_maximum_shift() -> None:
    size = 20
    blob = _blob(size, (size / 2, size / 2), sigma=1.5).astype(np.float32)
    X = np.tile(blob.reshape(1, -1), (30, 1))
    out = image_augmentations(size, max_shift=0.1)["shift"](X, _generator(7))
    moved = _centre_of_mass(out, size) - size / 2
    assert np.abs(moved).max() <= 0.1 * size + 0.1
    assert np.abs(moved).max() > 0.5  # it does shift


def test_noise_has_the_requested_spread() -> None:
    X = np.full((200, 64), 0.5, dtype=np.float32)  # far from the clipping bounds
    out = image_augmentations(8, noise_std=0.05)["noise"](X, _generator(8))
    assert (out - X).std() == pytest.approx(0.05, rel=0.05)
    assert abs((out - X).mean()) < 0.005


def test_identity_returns_an_equal_float32_copy(digits) -> None:
    X, _ = digits
    out = identity(X, _generator(9))
    np.testing.assert_array_equal(out, X)
    assert out.dtype == np.float32
    assert not np.shares_memory(out, X)


# --- through the quality report --------------------------------------------------------


def test_evaluate_encoder_with_the_identity_augmentation_is_perfectly_invariant(digits) -> None:
    X, y = digits
    pca = PCA(n_components=8).fit(X)
    Z = pca.transform(X)
    labels = [str(label) for label in y]
    mask = stratified_test_mask([f"d{i}" for i in range(len(X))], labels, seed=0)
    report = evaluate_encoder(pca, X, Z, labels, mask, seed=0, augmentations={"all": identity})
    assert report.values["invariance_cosine"] == 1.0
    assert report.values["invariance_knn_overlap"] == 1.0


def test_evaluate_encoder_with_image_augmentations(digits) -> None:
    X, y = digits
    pca = PCA(n_components=8).fit(X)
    Z = pca.transform(X)
    labels = [str(label) for label in y]
    mask = stratified_test_mask([f"d{i}" for i in range(len(X))], labels, seed=0)
    report = evaluate_encoder(pca, X, Z, labels, mask, seed=0, augmentations=image_augmentations(8))
    # "all" is reported without a suffix, the others with theirs.
    for suffix in ("", "_shift", "_rotation", "_noise"):
        cosine = report.values[f"invariance_cosine{suffix}"]
        overlap = report.values[f"invariance_knn_overlap{suffix}"]
        assert 0.0 < cosine < 1.0
        assert 0.0 < overlap < 1.0
    # The references, from the same seeded draw the report makes.
    Z_augmented = pca.transform(image_augmentations(8)["all"](X, _generator(0)))
    assert report.values["invariance_cosine"] == pytest.approx(
        _reference_cosine(Z, Z_augmented), rel=REL
    )
    assert report.values["invariance_knn_overlap"] == pytest.approx(
        _reference_knn_overlap(Z, np.arange(len(X)), Z_augmented, 10), rel=REL
    )


def test_above_the_pool_size_neighbours_are_sought_among_a_seeded_sample(monkeypatch) -> None:
    from repr_assets.items.sampling import seeded_sample
    from repr_assets.quality import invariance_report

    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 6)).astype(np.float32)

    class Identity:
        def transform(self, rows: np.ndarray) -> np.ndarray:
            return np.asarray(rows, np.float32)

    def shift(rows: np.ndarray, generator) -> np.ndarray:
        return rows + 0.3

    augmentations = {"all": shift}
    whole, notes = invariance_report.invariance_metrics(Identity(), X, X, augmentations, 0)
    assert notes == []
    sample = seeded_sample(400, invariance_report.INVARIANCE_MAX_ITEMS, 0)
    reference = _reference_knn_overlap(X, sample, X[sample] + 0.3, 10)
    assert whole["invariance_knn_overlap"] == pytest.approx(reference, rel=REL)

    monkeypatch.setattr(invariance_report, "INVARIANCE_MAX_ITEMS", 50)
    monkeypatch.setattr(invariance_report, "INVARIANCE_MAX_POOL", 100)
    bounded, notes = invariance_report.invariance_metrics(Identity(), X, X, augmentations, 0)
    sample = seeded_sample(400, 50, 0)
    pool = np.union1d(sample, seeded_sample(400, 100, 1))
    in_pool = np.searchsorted(pool, sample)
    reference = _reference_knn_overlap(X[pool], in_pool, X[sample] + 0.3, 10)
    assert bounded["invariance_knn_overlap"] == pytest.approx(reference, rel=REL)
    assert notes == [
        f"invariance_knn_overlap: neighbours among a seeded sample of {len(pool)} of the 400 items"
    ]
