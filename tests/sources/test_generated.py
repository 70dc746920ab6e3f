"""The generated data sets: each image shows the factors its row names, and the manifold
rows are scikit-learn's points with their true coordinates."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import make_s_curve, make_swiss_roll

from repr_assets.sources.generated import (
    GENERATOR_SEED,
    SEGMENTS,
    SHAPE_FACTORS,
    SHAPES_PIXELS,
    ManifoldSource,
    ShapeFactors,
    ShapesSource,
    render_shapes,
)


def _one(shape: str, scale: float = 1.0, rotation: float = 0.0, x: float = 0.0, y: float = 0.0):
    factors = ShapeFactors(
        shape=np.array([shape]),
        scale=np.array([scale]),
        rotation=np.array([rotation]),
        x=np.array([x]),
        y=np.array([y]),
    )
    return render_shapes(factors)[0].astype(np.float64) / 255


def _centre(image: np.ndarray) -> tuple[float, float]:
    """The image's centre of mass in the [-1, 1] frame, y upwards."""
    rows, columns = np.indices(image.shape)
    to_frame = lambda i: (i + 0.5) / SHAPES_PIXELS * 2 - 1  # noqa: E731
    total = image.sum()
    return (
        float(to_frame(columns).ravel() @ image.ravel() / total),
        float(-to_frame(rows).ravel() @ image.ravel() / total),
    )


def test_a_square_by_hand() -> None:
    """At scale 1 the square's half side is 0.8 x 0.5 = 0.4 in the [-1, 1] frame. The 64
    sub-pixel centres per side lie 1/32 apart from ±1/64: 26 of them fall within ±0.4, so
    it covers (26/64)² of the image; at scale 0.5, 12 fall within ±0.2."""
    assert _one("square").mean() == pytest.approx((26 / 64) ** 2, abs=1e-3)
    assert _one("square", scale=0.5).mean() == pytest.approx((12 / 64) ** 2, abs=1e-3)


@pytest.mark.parametrize("shape", ["square", "ellipse"])
@pytest.mark.parametrize(("x", "y"), [(0.0, 0.0), (0.3, -0.2), (-0.45, 0.45)])
def test_a_symmetric_shape_is_centred_on_its_position(shape: str, x: float, y: float) -> None:
    cx, cy = _centre(_one(shape, scale=0.7, rotation=0.6, x=x, y=y))
    half_pixel = 1 / SHAPES_PIXELS
    assert cx == pytest.approx(x, abs=half_pixel)
    assert cy == pytest.approx(y, abs=half_pixel)


def test_rotation_turns_the_image() -> None:
    """A quarter turn of a centred ellipse is the image turned a quarter; a square turned a
    quarter is itself; a heart is not symmetric under a half turn."""
    ellipse = _one("ellipse")
    np.testing.assert_allclose(_one("ellipse", rotation=np.pi / 2), np.rot90(ellipse), atol=0.02)
    np.testing.assert_allclose(_one("square", rotation=np.pi / 2), _one("square"), atol=0.02)
    heart = _one("heart")
    assert np.abs(_one("heart", rotation=np.pi) - heart).max() > 0.5


def test_the_shapes_source_carries_its_factors_and_reads_the_same_each_time() -> None:
    source = ShapesSource(size=300)
    first = [batch.items for batch in source.read(128, frozenset())]
    again = [batch.items for batch in source.read(128, frozenset())]
    assert [b.num_rows for b in first] == [128, 128, 44]
    assert all(a.equals(b) for a, b in zip(first, again, strict=True))
    batch = first[0]
    assert batch.schema.equals(source.schema)
    assert set(SHAPE_FACTORS) <= set(batch.schema.names)
    assert batch.column("label").to_pylist() == batch.column("shape").to_pylist()
    # The stored image is the one the factors draw.
    row = 5
    png = Image.open(io.BytesIO(batch.column("image")[row].as_py()))
    factors = {name: batch.column(name)[row].as_py() for name in SHAPE_FACTORS}
    expected = _one(**factors)
    np.testing.assert_array_equal(np.asarray(png), np.rint(expected * 255).astype(np.uint8))


@pytest.mark.parametrize(
    ("name", "generator"), [("swiss_roll", make_swiss_roll), ("s_curve", make_s_curve)]
)
def test_manifold_rows_are_scikit_learns_points_and_coordinates(name, generator) -> None:
    source = ManifoldSource(name, size=500)
    rows = [batch.items for batch in source.read(200, frozenset())]
    table = {
        column: np.concatenate([b.column(column).to_numpy() for b in rows])
        for column in ("x", "y", "z", "t", "height")
    }
    points, t = generator(n_samples=500, random_state=GENERATOR_SEED)
    np.testing.assert_array_equal(np.stack([table["x"], table["y"], table["z"]], axis=1), points)
    np.testing.assert_array_equal(table["t"], t)
    np.testing.assert_array_equal(table["height"], points[:, 1])
    labels = [label for b in rows for label in b.column("label").to_pylist()]
    assert sorted(set(labels)) == [f"segment_{k}" for k in range(1, SEGMENTS + 1)]
    # Segments are in the order of t: every point of segment k lies below those of k + 1.
    segment = np.array([int(label.split("_")[1]) for label in labels])
    for k in range(1, SEGMENTS):
        assert t[segment == k].max() <= t[segment == k + 1].min()
