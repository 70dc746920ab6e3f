"""Progress of long steps, written to the run's log in the Dagster UI."""

from collections.abc import Callable

import dagster as dg

from repr_assets.vectorise import Progress


def read_logger(context: dg.OpExecutionContext | dg.AssetExecutionContext) -> Progress:
    def log(done: int, total: int) -> None:
        context.log.info(f"read {done:,} new items")

    return log


def row_logger(context: dg.OpExecutionContext | dg.AssetExecutionContext, verb: str) -> Progress:
    def log(done: int, total: int) -> None:
        context.log.info(f"{verb} {done:,} of {total:,} items ({done / max(total, 1):.0%})")

    return log


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
