"""Small PNG figures for the Dagster UI: loss curves and scree plots."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt
import numpy as np


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def loss_curve_png(
    train_loss: Sequence[float], validation_loss: Sequence[float], best_epoch: int
) -> bytes:
    """Training and validation loss per epoch, log scale, with the kept epoch marked."""
    figure, axes = plt.subplots(figsize=(5, 3))
    epochs = np.arange(1, len(train_loss) + 1)
    axes.plot(epochs, train_loss, label="train")
    axes.plot(epochs, validation_loss, label="validation")
    if best_epoch:
        axes.axvline(best_epoch, color="grey", linestyle=":", label=f"kept (epoch {best_epoch})")
    axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("reconstruction MSE")
    axes.legend()
    return _png(figure)


def scree_png(explained_variance_ratio: Sequence[float]) -> bytes:
    """Variance share per component, with the cumulative share on a second axis."""
    ratios = np.asarray(explained_variance_ratio)
    components = np.arange(1, len(ratios) + 1)
    figure, axes = plt.subplots(figsize=(5, 3))
    axes.bar(components, ratios, color="tab:blue")
    axes.set_xlabel("component")
    axes.set_ylabel("explained variance ratio")
    cumulative = axes.twinx()
    cumulative.plot(components, np.cumsum(ratios), color="tab:orange", marker=".")
    cumulative.set_ylim(0, 1.02)
    cumulative.set_ylabel("cumulative")
    return _png(figure)
