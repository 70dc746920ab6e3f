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


def test_an_epoch_line_says_the_time_so_far_and_the_most_left() -> None:
    # 30 s for 3 epochs is 10 s an epoch: 16 epochs left are at most 160 s.
    line = progress.epoch_line(3, 19, 0.012341, 0.013009, 30.0)
    assert line == (
        "epoch 3/19: train 0.01234, validation 0.01301, 30 s so far, at most 2 min 40 s left"
    )
    assert progress.epoch_line(19, 19, 0.01, 0.02, 190.4).endswith("3 min 10 s so far")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.4, "0 s"), (59.4, "59 s"), (60, "1 min 00 s"), (3599, "59 min 59 s"), (3720, "1 h 02 min")],
)
def test_durations_read_as_a_person_says_them(seconds: float, shown: str) -> None:
    assert progress.duration(seconds) == shown


def test_about_twenty_epochs_are_logged_and_always_the_last() -> None:
    lines: list[str] = []

    class Context:
        class log:  # the attribute of a Dagster context
            info = lines.append

    logger = progress.epoch_logger(Context())  # type: ignore[arg-type]
    for epoch in range(1, 48):
        logger(epoch, 47, 0.1, 0.2, float(epoch))
    epochs = [int(line.split()[1].split("/")[0]) for line in lines]
    assert epochs == [1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36,
                      38, 40, 42, 44, 46, 47]  # fmt: skip
