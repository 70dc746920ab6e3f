"""Drift between model versions in a whole run: a refit is measured against the model
served until now, and with a floor set, a refit that reshuffles neighbourhoods is held back."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from repr_assets.metrics.drift import neighbour_overlap
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.serving import served_version
from repr_assets.stores.vectors import load_vectors, load_vectors_at
from tests.helpers import repr_assets

# Five epochs reconstruct little: a floor of 0 lets the first model be served.
RUN = ("run", "--encoders", "autoencoder", "--epochs", "5", "--min-explained-variance", "0")


def _overlaps(home) -> list[float]:
    with duckdb.connect(str(home / "reports.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "SELECT value FROM quality_metrics WHERE metric = 'neighbour_overlap_previous' "
            "ORDER BY computed_at"
        ).fetchall()
    return [value for (value,) in rows]


@pytest.mark.slow
def test_a_refit_is_compared_with_the_served_model_and_held_back_below_its_floor(tmp_path):
    home = tmp_path / "home"
    assert repr_assets(home, *RUN).returncode == 0
    assert _overlaps(home) == []  # nothing was served before the first run
    store = LanceStore(home / "lancedb")
    first = served_version(store.dataset("digits_autoencoder"))
    first_codes = load_vectors_at(store, "digits_autoencoder", first)

    # A new seed is a new split and new weights: a new model, its neighbourhoods moved.
    held = repr_assets(home, *RUN, "--seed", "1", "--min-neighbour-overlap", "0.99")
    assert held.returncode == 0, held.stderr
    [overlap] = _overlaps(home)
    newest = load_vectors(store, "digits_autoencoder")
    assert newest.item_ids == first_codes.item_ids
    sample = np.arange(len(newest.item_ids))  # 1,797 items: all of them, as the report reads
    assert overlap == pytest.approx(neighbour_overlap(first_codes.X, newest.X, sample))
    assert overlap < 0.99
    assert "neighbour_overlap_previous" in held.stdout
    assert served_version(store.dataset("digits_autoencoder")) == first

    # Without the floor (set back to 0) the same refit is served.
    served = repr_assets(home, *RUN, "--seed", "2", "--min-neighbour-overlap", "0")
    assert served.returncode == 0, served.stderr
    assert len(_overlaps(home)) == 2
    table = store.dataset("digits_autoencoder")
    assert served_version(table) == table.version
