"""Small PNG figures for the Dagster UI: losses, scree plots, images, maps, neighbours."""

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
            _show(ax, images[index], labels[index] or "", colour="black")
    return _png(figure)


def embedding_map_png(maps: dict[str, tuple[np.ndarray, list[str | None]]]) -> bytes:
    """One panel per encoder: ``(n, 2)`` points coloured by label (grey when unlabelled)."""
    figure, axes = plt.subplots(1, len(maps), figsize=(4.2 * len(maps), 4), squeeze=False)
    for ax, (title, (points, labels)) in zip(axes[0], maps.items(), strict=True):
        names = sorted({label for label in labels if label is not None})
        colour_of = {name: plt.cm.tab10(i % 10) for i, name in enumerate(names)}
        grey = (0.6, 0.6, 0.6, 1.0)
        colours = [grey if label is None else colour_of[label] for label in labels]
        ax.scatter(points[:, 0], points[:, 1], c=colours, s=4, linewidths=0)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        for name in names[:10]:
            ax.scatter([], [], color=colour_of[name], label=name, s=12)
        if names:
            ax.legend(fontsize=7, markerscale=1.5, loc="best", ncol=2)
    return _png(figure)


def neighbour_grid_png(
    rows: list[tuple[bytes, str | None, list[tuple[bytes, str | None]]]], title: str
) -> bytes:
    """Each row: a query image, then its nearest neighbours, each titled with its label."""
    columns = 1 + max((len(neighbours) for _, _, neighbours in rows), default=0)
    figure, axes = plt.subplots(
        len(rows), columns, figsize=(columns * 0.9, len(rows) * 1.0 + 0.4), squeeze=False
    )
    for ax_row, (query, label, neighbours) in zip(axes, rows, strict=True):
        for column, ax in enumerate(ax_row):
            ax.axis("off")
            if column == 0:
                _show(ax, query, f"query {label or ''}", colour="tab:blue")
            elif column - 1 < len(neighbours):
                image, neighbour_label = neighbours[column - 1]
                match = neighbour_label == label and label is not None
                _show(ax, image, neighbour_label or "", colour="tab:green" if match else "tab:red")
    figure.suptitle(title, fontsize=9)
    return _png(figure)


def _show(ax: plt.Axes, png: bytes, title: str, colour: str) -> None:
    with Image.open(io.BytesIO(png)) as image:
        ax.imshow(np.asarray(image.convert("L")), cmap="gray_r")
    ax.set_title(title, fontsize=7, color=colour)
