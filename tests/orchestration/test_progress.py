"""Progress lines in the run's log: the first, then at most one per interval, and the last."""

from __future__ import annotations

import pytest

from repr_assets.orchestration import progress


def test_progress_is_throttled_but_says_the_start_and_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = iter([0.0, 1.0, 2.0, 6.0, 7.0, 8.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    said: list[tuple[int, int]] = []
    log = progress._throttled(lambda done, total: said.append((done, total)))
    for done in (10, 20, 30, 40, 50, 60):
        log(done, 60)
    assert said == [(10, 60), (40, 60), (60, 60)]
