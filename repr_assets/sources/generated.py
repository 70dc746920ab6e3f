"""Built-in data sets made from a fixed seed, with their generative factors as item columns.

- ``shapes``: small grey images of a square, an ellipse or a heart, each with a scale, a
  rotation and an x and y position, in the spirit of dSprites. The shape is the label too.
- ``swiss_roll`` and ``s_curve``: points of scikit-learn's generators, three numbers per
  row, with the coordinate along the manifold (``t``) and across it (``height``) as factors.
  The label is the segment of ``t`` a point lies in (one of ``SEGMENTS`` of equal width),
  so the supervised metrics ask whether a code keeps the order along the manifold.

Nothing is downloaded: each is computed, the same on every machine, from ``GENERATOR_SEED``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from sklearn.datasets import make_s_curve, make_swiss_roll

from repr_assets.items.schemas import IMAGE_ITEMS_SCHEMA, image_batches, tabular_items_schema
from repr_assets.sources.base import ReadBatch

GENERATOR_SEED = 0
SHAPES_SIZE = 20_000
SHAPES_PIXELS = 32
MANIFOLD_SIZE = 5_000
SEGMENTS = 6

SHAPE_NAMES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ROTATIONS = np.arange(40) * (2 * np.pi / 40)
POSITIONS = np.linspace(-0.45, 0.45, 16)
SHAPE_FACTORS = ("shape", "scale", "rotation", "x", "y")
MANIFOLD_FACTORS = ("t", "height")


@dataclass(frozen=True)
class ShapeFactors:
    """The factors of ``n`` shapes: ``(n,)`` arrays."""

    shape: np.ndarray
    scale: np.ndarray
    rotation: np.ndarray
    x: np.ndarray
    y: np.ndarray


def draw_shape_factors(n: int, seed: int = GENERATOR_SEED) -> ShapeFactors:
    """Independent, uniformly drawn levels of each factor."""
    rng = np.random.default_rng(seed)
    return ShapeFactors(
        shape=np.array(SHAPE_NAMES)[rng.integers(0, len(SHAPE_NAMES), n)],
        scale=SCALES[rng.integers(0, len(SCALES), n)],
        rotation=ROTATIONS[rng.integers(0, len(ROTATIONS), n)],
        x=POSITIONS[rng.integers(0, len(POSITIONS), n)],
        y=POSITIONS[rng.integers(0, len(POSITIONS), n)],
    )


SUPERSAMPLE = 2  # samples per pixel side: edges get grey levels, not jagged steps
_RENDER_BATCH = 1024


def render_shapes(factors: ShapeFactors, pixels: int = SHAPES_PIXELS) -> np.ndarray:
    """``(n, pixels, pixels)`` uint8 images: a white shape on black, drawn by testing each
    sub-pixel against the shape's implicit equation in its own rotated, scaled frame."""
    side = pixels * SUPERSAMPLE
    grid = ((np.arange(side) + 0.5) / side * 2.0 - 1.0).astype(np.float32)  # centres in [-1, 1]
    gx, gy = np.meshgrid(grid, -grid)  # y grows upwards
    images = np.empty((len(factors.shape), pixels, pixels), dtype=np.uint8)
    for name, inside in zip(SHAPE_NAMES, (_square, _ellipse, _heart), strict=True):
        of_shape = np.flatnonzero(factors.shape == name)
        for start in range(0, len(of_shape), _RENDER_BATCH):
            rows = of_shape[start : start + _RENDER_BATCH]
            radius = (0.5 * factors.scale[rows, None, None]).astype(np.float32)
            dx = gx - factors.x[rows, None, None].astype(np.float32)
            dy = gy - factors.y[rows, None, None].astype(np.float32)
            cos = np.cos(factors.rotation[rows]).astype(np.float32)[:, None, None]
            sin = np.sin(factors.rotation[rows]).astype(np.float32)[:, None, None]
            u, v = (cos * dx + sin * dy) / radius, (cos * dy - sin * dx) / radius
            covered = inside(u, v).reshape(-1, pixels, SUPERSAMPLE, pixels, SUPERSAMPLE)
            coverage = covered.mean(axis=(2, 4), dtype=np.float32)
            images[rows] = np.rint(coverage * 255).astype(np.uint8)
    return images


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v)) <= 0.8


def _ellipse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u**2 + (v / 0.55) ** 2 <= 1.0


def _heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # (x² + y² − 1)³ − x² y³ ≤ 0, scaled to fit the unit disc and centred.
    x, y = u * 1.2, v * 1.2 + 0.15
    return (x**2 + y**2 - 1) ** 3 - x**2 * y**3 <= 0


class ShapesSource:
    """``shapes`` as a source: ``SHAPES_SIZE`` images with their factor columns."""

    description = "procedural shapes (square, ellipse, heart) with their factors"

    def __init__(self, size: int | None = None) -> None:
        self.size = SHAPES_SIZE if size is None else size

    @property
    def schema(self) -> pa.Schema:
        factors = [pa.field("shape", pa.string())]
        factors += [pa.field(name, pa.float64()) for name in SHAPE_FACTORS[1:]]
        return pa.schema([*IMAGE_ITEMS_SCHEMA, *factors])

    def read(self, batch_size: int, known_refs: frozenset[str]) -> Iterator[ReadBatch]:
        factors = draw_shape_factors(self.size)
        images = render_shapes(factors)
        item_ids = [f"shapes-{i:05d}" for i in range(self.size)]
        labels: list[str | None] = factors.shape.tolist()
        splits: list[str | None] = [None] * self.size
        start = 0
        for batch in image_batches(item_ids, labels, splits, images, batch_size):
            rows = slice(start, start + batch.num_rows)
            start += batch.num_rows
            columns = {
                name: pa.array(getattr(factors, name)[rows].tolist()) for name in SHAPE_FACTORS
            }
            yield ReadBatch(_with_columns(batch, columns, self.schema))


def manifold_points(
    generator: Callable[..., tuple[np.ndarray, np.ndarray]], n: int
) -> dict[str, np.ndarray]:
    """``x``, ``y``, ``z`` and the factors ``t`` and ``height`` of ``n`` points of
    ``generator`` (``make_swiss_roll`` or ``make_s_curve``)."""
    points, t = generator(n_samples=n, random_state=GENERATOR_SEED)
    return {"x": points[:, 0], "y": points[:, 1], "z": points[:, 2], "t": t, "height": points[:, 1]}


def segment_labels(t: np.ndarray, segments: int = SEGMENTS) -> list[str | None]:
    """The segment of ``t`` each point lies in: ``segment_1`` … ``segment_{segments}``."""
    edges = np.linspace(t.min(), t.max(), segments + 1)[1:-1]
    return [f"segment_{k + 1}" for k in np.digitize(t, edges).tolist()]


class ManifoldSource:
    """``swiss_roll`` or ``s_curve`` as a source of table rows."""

    def __init__(self, name: str, size: int | None = None) -> None:
        self.name = name
        self.size = MANIFOLD_SIZE if size is None else size
        self.description = f"scikit-learn's {name} generator"

    @property
    def schema(self) -> pa.Schema:
        return tabular_items_schema(["x", "y", "z", *MANIFOLD_FACTORS], [])

    def read(self, batch_size: int, known_refs: frozenset[str]) -> Iterator[ReadBatch]:
        generator = make_swiss_roll if self.name == "swiss_roll" else make_s_curve
        columns = manifold_points(generator, self.size)
        labels = segment_labels(columns["t"])
        for start in range(0, self.size, batch_size):
            rows = slice(start, min(start + batch_size, self.size))
            ids = [f"{self.name}-{i:05d}" for i in range(rows.start, rows.stop)]
            batch = {
                "item_id": ids,
                "label": labels[rows],
                "split": [None] * len(ids),
                "ref": ids,
                **{name: values[rows] for name, values in columns.items()},
            }
            yield ReadBatch(pa.RecordBatch.from_pydict(batch, schema=self.schema))


GENERATED_SOURCES: dict[str, Callable[[], ShapesSource | ManifoldSource]] = {
    "shapes": ShapesSource,
    "swiss_roll": functools.partial(ManifoldSource, "swiss_roll"),
    "s_curve": functools.partial(ManifoldSource, "s_curve"),
}


def _with_columns(
    batch: pa.RecordBatch, columns: dict[str, pa.Array], schema: pa.Schema
) -> pa.RecordBatch:
    arrays = {**{name: batch.column(name) for name in batch.schema.names}, **columns}
    return pa.RecordBatch.from_pydict({name: arrays[name] for name in schema.names}, schema=schema)
