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
    context: dg.OpExecutionContext | dg.AssetExecutionContext, epochs: int
) -> Callable[[int, int, float, float], None]:
    """Logs about twenty of the epochs: the first, then every ``epochs // 20``."""
    every = max(1, epochs // 20)

    def log(epoch: int, max_epochs: int, train_loss: float, validation_loss: float) -> None:
        if epoch == 1 or epoch % every == 0:
            context.log.info(
                f"epoch {epoch}/{max_epochs}: "
                f"train {train_loss:.5f}, validation {validation_loss:.5f}"
            )

    return log
