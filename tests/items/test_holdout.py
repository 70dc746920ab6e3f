"""The seeded, stratified, order-independent test split."""

from __future__ import annotations

import numpy as np
import pytest

from repr_assets.items.holdout import stratified_test_mask

CLASS_SIZES = {"a": 50, "b": 33, "c": 7, "d": 1, "e": 2, "f": 12, "g": 13}


def _items(sizes: dict[str, int] = CLASS_SIZES) -> tuple[list[str], list[str | None]]:
    ids: list[str] = []
    labels: list[str | None] = []
    for label, size in sizes.items():
        ids += [f"{label}-{i:03d}" for i in range(size)]
        labels += [label] * size
    return ids, labels


def test_per_class_test_share_is_round_of_a_fifth() -> None:
    ids, labels = _items()
    mask = stratified_test_mask(ids, labels, seed=0)
    assert mask.dtype == bool
    assert mask.shape == (len(ids),)
    labels_array = np.array(labels)
    for label, size in CLASS_SIZES.items():
        assert mask[labels_array == label].sum() == round(size * 0.2), label
    # 50 -> 10, 33 -> 7, 7 -> 1, 1 -> 0, 2 -> 0, 12 -> 2, 13 -> 3
    assert mask.sum() == 10 + 7 + 1 + 0 + 0 + 2 + 3


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.9])
def test_other_fractions(fraction: float) -> None:
    ids, labels = _items({"x": 40, "y": 17})
    mask = stratified_test_mask(ids, labels, seed=3, test_fraction=fraction)
    labels_array = np.array(labels)
    assert mask[labels_array == "x"].sum() == int(np.rint(40 * fraction))
    assert mask[labels_array == "y"].sum() == int(np.rint(17 * fraction))


def test_is_deterministic() -> None:
    ids, labels = _items()
    first = stratified_test_mask(ids, labels, seed=11)
    second = stratified_test_mask(list(ids), list(labels), seed=11)
    np.testing.assert_array_equal(first, second)


def test_independent_of_row_order() -> None:
    ids, labels = _items()
    mask = stratified_test_mask(ids, labels, seed=5)
    order = np.random.default_rng(0).permutation(len(ids))
    permuted = stratified_test_mask([ids[i] for i in order], [labels[i] for i in order], seed=5)
    np.testing.assert_array_equal(permuted, mask[order])


def test_a_different_seed_gives_a_different_split() -> None:
    ids, labels = _items()
    first = stratified_test_mask(ids, labels, seed=0)
    second = stratified_test_mask(ids, labels, seed=1)
    assert not np.array_equal(first, second)
    # Still stratified the same way.
    labels_array = np.array(labels)
    for label in CLASS_SIZES:
        assert first[labels_array == label].sum() == second[labels_array == label].sum()


def test_split_is_not_simply_the_first_items() -> None:
    ids, labels = _items({"a": 100})
    mask = stratified_test_mask(ids, labels, seed=0)
    assert mask.sum() == 20
    assert not mask[:20].all()


def test_items_keep_their_side_when_items_of_other_classes_arrive() -> None:
    ids, labels = _items({"a": 30, "b": 20})
    before = stratified_test_mask(ids, labels, seed=2)
    more_ids = [*ids, *(f"c-{i}" for i in range(17)), *(f"z-{i}" for i in range(4))]
    more_labels = [*labels, *(["c"] * 17), *([None] * 4)]
    after = stratified_test_mask(more_ids, more_labels, seed=2)
    np.testing.assert_array_equal(after[: len(ids)], before)


def test_few_items_change_side_when_their_class_grows() -> None:
    # With an exact round(n * 0.2) per class, growing a class by m items may move a few
    # old items across the boundary, but never more than about m of them, and the old
    # items on the test side remain those that come first in the seeded hash order.
    ids, labels = _items({"a": 100})
    before = stratified_test_mask(ids, labels, seed=0)
    for m in (1, 5, 20):
        grown = [*ids, *(f"new-{i}" for i in range(m))]
        after = stratified_test_mask(grown, ["a"] * len(grown), seed=0)
        assert after.sum() == round(len(grown) * 0.2)
        moved = before != after[:100]
        assert moved.sum() <= m
        # All moves go the same way.
        assert not (before[moved].any() and (~before[moved]).any())


def test_unlabelled_items_are_split_as_a_group_of_their_own() -> None:
    ids = [f"u-{i}" for i in range(40)] + [f"l-{i}" for i in range(10)]
    labels: list[str | None] = [None] * 40 + ["x"] * 10
    mask = stratified_test_mask(ids, labels, seed=0)
    assert mask[:40].sum() == 8
    assert mask[40:].sum() == 2
    # The unlabelled group splits the same way whether or not labelled items are present.
    only_unlabelled = stratified_test_mask(ids[:40], [None] * 40, seed=0)
    np.testing.assert_array_equal(only_unlabelled, mask[:40])


def test_empty_input() -> None:
    mask = stratified_test_mask([], [], seed=0)
    assert mask.shape == (0,)
    assert mask.dtype == bool


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_bad_test_fraction_raises(fraction: float) -> None:
    with pytest.raises(ValueError, match="test_fraction must lie strictly between 0 and 1"):
        stratified_test_mask(["a", "b"], ["x", "y"], seed=0, test_fraction=fraction)


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError, match="3 item ids but 2 labels"):
        stratified_test_mask(["a", "b", "c"], ["x", "y"], seed=0)
