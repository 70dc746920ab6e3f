"""Small PNG figures for the Dagster UI: loss curves, scree plots, sample images."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator
from PIL import Image


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
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("component")
    axes.set_ylabel("explained variance ratio")
    cumulative = axes.twinx()
    cumulative.plot(components, np.cumsum(ratios), color="tab:orange", marker=".")
    cumulative.set_ylim(0, 1.02)
    cumulative.set_ylabel("cumulative")
    return _png(figure)


def image_grid_png(
    images: Sequence[bytes], labels: Sequence[str | None], columns: int = 8
) -> bytes:
    """Encoded images in a grid, each titled with its label."""
    rows = max(1, -(-len(images) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.0), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(images):
            with Image.open(io.BytesIO(images[index])) as image:
                ax.imshow(np.asarray(image.convert("L")), cmap="gray_r")
            ax.set_title(labels[index] or "", fontsize=8)
    return _png(figure)
