"""IdSet and hash_strings: membership of batch ids in a set of ids, as ``pc.is_in`` answers it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from repr_assets.items import ids as id_sets
from repr_assets.items.ids import IdSet


def _random_ids(rng: np.random.Generator, n: int) -> list[str]:
    return [f"item-{int(i)}" for i in rng.integers(0, 3 * n, n)]


@pytest.mark.parametrize("collide", [False, True])
def test_id_set_agrees_with_is_in(monkeypatch: pytest.MonkeyPatch, collide: bool) -> None:
    if collide:  # many ids share each hash: the strings decide
        real = id_sets.hash_strings
        monkeypatch.setattr(id_sets, "hash_strings", lambda ids: real(ids) % np.uint64(7))
    rng = np.random.default_rng(0)
    current = pa.array([*sorted(set(_random_ids(rng, 500))), "", "é"])
    ids = IdSet(current)
    for _ in range(5):
        values = pa.array([*_random_ids(rng, 300), "", "é", "zzz"])
        expected = pc.is_in(values, value_set=current).to_numpy(zero_copy_only=False)
        np.testing.assert_array_equal(ids.contains(values), expected)


def test_id_set_of_a_slice_and_an_empty_batch() -> None:
    current = pa.array(["a", "b", "c", "d"]).slice(1, 2)
    ids = IdSet(current)
    assert ids.contains(pa.array(["a", "b", "c", "d"])).tolist() == [False, True, True, False]
    assert ids.contains(pa.array([], pa.string())).tolist() == []
