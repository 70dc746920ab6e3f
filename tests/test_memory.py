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


def test_cycles_are_collected_only_after_a_step_of_many_rows() -> None:
    import gc
    import weakref

    from repr_assets.memory import COLLECT_FROM_ROWS

    class Holder:
        pass

    def cycle() -> weakref.ref:
        held = Holder()
        held.self = held  # type: ignore[attr-defined]
        held.data = np.ones(10_000)  # type: ignore[attr-defined]
        return weakref.ref(held)

    gc.disable()
    try:
        small = cycle()
        release_free_memory(COLLECT_FROM_ROWS - 1)
        assert small() is not None  # a small step pays for no collection
        release_free_memory(COLLECT_FROM_ROWS)
        assert small() is None
    finally:
        gc.enable()
