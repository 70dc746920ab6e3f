"""The image grids of the UI: one PNG, whatever the images' sizes."""

import io

import numpy as np
from PIL import Image

from repr_assets.items.schemas import encode_png
from repr_assets.quality.plots import image_grid_png, neighbour_grid_png


def _size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_neighbour_grid_is_one_png_with_a_row_per_query() -> None:
    small, large = encode_png(np.zeros((8, 8), np.uint8)), encode_png(np.eye(20, dtype=np.uint8))
    rows: list[tuple[bytes, str | None, list[tuple[bytes, str | None]]]] = [
        (small, "1", [(large, "1"), (small, None)]),
        (large, None, [(small, "2")]),
    ]
    width, height = _size(neighbour_grid_png(rows, "queries"))
    assert width == round(3 * 0.9 * 90) and height == round((2 * 1.0 + 0.4) * 90)


def test_image_grid_wraps_rows_and_takes_no_images() -> None:
    images = [encode_png(np.full((8, 8), i * 10, np.uint8)) for i in range(10)]
    assert _size(image_grid_png(images, [str(i) for i in range(10)], columns=4)) == (324, 270)
    assert _size(image_grid_png([], [])) == (648, 90)


def test_a_loss_curve_below_zero_is_drawn_without_a_warning(recwarn):
    from repr_assets.quality.plots import loss_curve_png

    png = loss_curve_png([0.5, -0.2, -0.4], [0.4, -0.1, -0.3], best_epoch=3)
    assert png.startswith(b"\x89PNG")
    assert [str(w.message) for w in recwarn] == []
