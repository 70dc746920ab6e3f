"""Progress of long steps, written to the run's log in the Dagster UI."""

import time
from collections.abc import Callable

import dagster as dg

from repr_assets.pipeline import Progress

LOG_EVERY_SECONDS = 5.0
"""At most one progress line per this many seconds (and the last one): each is a row in
the instance's event log, and a million items come in hundreds of batches."""


def read_logger(context: dg.OpExecutionContext | dg.AssetExecutionContext) -> Progress:
    return _throttled(lambda done, total: context.log.info(f"read {done:,} new items"))


def row_logger(context: dg.OpExecutionContext | dg.AssetExecutionContext, verb: str) -> Progress:
    return _throttled(
        lambda done, total: context.log.info(
            f"{verb} {done:,} of {total:,} items ({done / max(total, 1):.0%})"
        )
    )


def _throttled(log: Progress) -> Progress:
    last = -LOG_EVERY_SECONDS
    logged = -1

    def maybe_log(done: int, total: int) -> None:
        nonlocal last, logged
        now = time.monotonic()
        due = now - last >= LOG_EVERY_SECONDS or done >= total > 0
        if due and done != logged:  # the last line repeats no count already shown
            last, logged = now, done
            log(done, total)

    return maybe_log


def epoch_logger(
    context: dg.OpExecutionContext | dg.AssetExecutionContext,
) -> Callable[[int, int, float, float, float], None]:
    """Logs about twenty of the epochs (the first, then every twentieth of the budget),
    each with the time left were training to run its whole budget: early stopping may
    end it sooner."""

    def log(
        epoch: int, max_epochs: int, train_loss: float, validation_loss: float, seconds: float
    ) -> None:
        if epoch == 1 or epoch % max(1, max_epochs // 20) == 0 or epoch == max_epochs:
            context.log.info(epoch_line(epoch, max_epochs, train_loss, validation_loss, seconds))

    return log


def epoch_line(
    epoch: int, max_epochs: int, train_loss: float, validation_loss: float, seconds: float
) -> str:
    """``epoch 3/19: train 0.01234, validation 0.01301, 41 s so far, at most 3 min 48 s
    left``: the time left is the mean epoch's time so far for each epoch left."""
    left = seconds / epoch * (max_epochs - epoch)
    line = (
        f"epoch {epoch}/{max_epochs}: train {train_loss:.5f}, validation {validation_loss:.5f}, "
        f"{duration(seconds)} so far"
    )
    return line + (f", at most {duration(left)} left" if epoch < max_epochs else "")


def duration(seconds: float) -> str:
    """``7 s``, ``3 min 48 s``, ``1 h 02 min``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
