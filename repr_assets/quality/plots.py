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


def _png(figure: plt.Figure, tight: bool = True) -> bytes:
    """The figure as PNG bytes. ``tight=False`` keeps the caller's layout: ``tight_layout``
    measures every axis, which takes seconds for a grid of dozens of small images."""
    buffer = io.BytesIO()
    if tight:
        figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def loss_curve_png(
    train_loss: Sequence[float], validation_loss: Sequence[float], best_epoch: int
) -> bytes:
    """Training and validation loss per epoch, with the kept epoch marked: on a log scale
    when every loss is positive (a squared error), else linear (a β-VAE's negative ELBO
    with a fitted decoder variance goes below 0)."""
    figure, axes = plt.subplots(figsize=(5, 3))
    epochs = np.arange(1, len(train_loss) + 1)
    axes.plot(epochs, train_loss, label="train")
    axes.plot(epochs, validation_loss, label="validation")
    if best_epoch:
        axes.axvline(best_epoch, color="grey", linestyle=":", label=f"kept (epoch {best_epoch})")
    if min(min(train_loss, default=1.0), min(validation_loss, default=1.0)) > 0:
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
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
    cells = [(image, label or "", "black") for image, label in zip(images, labels, strict=True)]
    rows = [cells[start : start + columns] for start in range(0, len(cells), columns)]
    return _tiled_png(rows or [[]], columns, title=None)


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
    cells = []
    for query, label, neighbours in rows:
        row = [(query, f"query {label or ''}", "tab:blue")]
        for image, neighbour_label in neighbours:
            match = neighbour_label == label and label is not None
            row.append((image, neighbour_label or "", "tab:green" if match else "tab:red"))
        cells.append(row)
    return _tiled_png(cells or [[]], columns, title=title)


def _tiled_png(rows: list[list[tuple[bytes, str, str]]], columns: int, title: str | None) -> bytes:
    """Cells ``(encoded image, caption, caption colour)``, row by row, as one PNG.

    The images are tiled into a single array drawn by one ``imshow`` (each scaled to its
    own range, as ``imshow`` does for one image), with the captions as text above them:
    one axes instead of one per image, which takes matplotlib seconds to build and lay out.
    """
    pictures = [[_grey(image) for image, _, _ in row] for row in rows]
    height = max((p.shape[0] for row in pictures for p in row), default=1)
    width = max((p.shape[1] for row in pictures for p in row), default=1)
    caption = max(1, round(height * 0.35))  # room for a caption over each row
    gap = max(1, round(width * 0.12))
    cell_h, cell_w = height + caption, width + gap
    canvas = np.zeros((len(rows) * cell_h, max(columns, 1) * cell_w))
    heading = 0.4 if title else 0.0
    figure = plt.figure(figsize=(max(columns, 1) * 0.9, len(rows) * 1.0 + heading))
    ax = figure.add_axes((0.01, 0.01, 0.98, 0.98 - heading / figure.get_figheight()))
    ax.axis("off")
    for r, (row, row_pictures) in enumerate(zip(rows, pictures, strict=True)):
        for c, ((_, text, colour), picture) in enumerate(zip(row, row_pictures, strict=True)):
            top, left = r * cell_h + caption, c * cell_w
            canvas[top : top + picture.shape[0], left : left + picture.shape[1]] = picture
            ax.text(left + width / 2, top - 0.5, text, fontsize=7, color=colour, ha="center")
    ax.imshow(canvas, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    if title:
        figure.suptitle(title, fontsize=9, y=1 - 0.1 / figure.get_figheight())
    return _png(figure, tight=False)


def _grey(png: bytes) -> np.ndarray:
    """A grey-scale image scaled to [0, 1] by its own minimum and maximum."""
    with Image.open(io.BytesIO(png)) as image:
        grey = np.asarray(image.convert("L"), dtype=np.float64)
    if not grey.size:
        return np.zeros((1, 1))
    low, high = grey.min(), grey.max()
    return (grey - low) / (high - low) if high > low else np.zeros_like(grey)
