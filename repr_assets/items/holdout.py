"""The seeded, stratified train/test split shared by model fitting and the quality report."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def stratified_test_mask(
    item_ids: Sequence[str],
    labels: Sequence[str | None],
    seed: int,
    test_fraction: float = 0.2,
) -> np.ndarray:
    """Boolean ``(n,)`` mask of the test items.

    Within each label (unlabelled items form a group of their own), items are ordered by a
    seeded hash of their ``item_id`` and the first ``round(test_fraction * group size)`` go
    to the test side. The split therefore depends on the ids, labels and seed alone, not
    on row order, and items of other classes arriving never move an item. Growing its own
    class by ``m`` items moves at most ``m`` old items, all in the same direction, since
    the class's share of test items must stay exact.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    if len(item_ids) != len(labels):
        raise ValueError(f"{len(item_ids)} item ids but {len(labels)} labels")
    n = len(item_ids)
    if n == 0:
        return np.zeros(0, dtype=bool)
    prefix = f"{seed}:".encode()
    keys = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(prefix + i.encode(), digest_size=8).digest(), "little")
            for i in item_ids
        ),
        dtype=np.uint64,
        count=n,
    )
    _, groups = np.unique(
        np.array(["\0" if lab is None else lab for lab in labels]), return_inverse=True
    )
    order = np.lexsort((keys, groups))
    sorted_groups = groups[order]
    rank_in_group = np.arange(n) - np.searchsorted(sorted_groups, sorted_groups, side="left")
    test_per_group = np.rint(np.bincount(groups) * test_fraction).astype(np.int64)
    mask = np.empty(n, dtype=bool)
    mask[order] = rank_in_group < test_per_group[sorted_groups]
    return mask
