"""Releasing cached free memory between steps: safe to call at any time."""

import numpy as np
import pyarrow as pa

from repr_assets.memory import release_free_memory


def test_release_keeps_live_data_and_can_be_called_again() -> None:
    live = pa.array(np.arange(1_000_000, dtype=np.float64))
    dropped = pa.array(np.ones(2_000_000))
    del dropped
    release_free_memory()
    release_free_memory()
    assert live.to_numpy()[-1] == 999_999.0
