"""The built-in ``digits`` data set: scikit-learn's bundled 8x8 digits, no download."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from sklearn.datasets import load_digits

from repr_assets.items.schemas import IMAGE_ITEMS_SCHEMA, image_batches
from repr_assets.sources.base import ReadBatch

DIGITS_SIZE = 1797


def read_digits(batch_size: int = 1024) -> Iterator[pa.RecordBatch]:
    """Yield the 1,797 digits as image items with ids ``digits-0000`` … ``digits-1796``.

    The 0-16 grey levels are scaled to 0-255 so that the images are ordinary 8-bit PNGs,
    which the image featuriser reads like any other image.
    """
    bunch = load_digits()
    pixels = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    item_ids = [f"digits-{i:04d}" for i in range(len(pixels))]
    labels: list[str | None] = [str(int(t)) for t in bunch.target]
    splits: list[str | None] = [None] * len(pixels)
    yield from image_batches(item_ids, labels, splits, pixels, batch_size)


class DigitsSource:
    """The built-in digits as a source."""

    schema = IMAGE_ITEMS_SCHEMA
    description = "scikit-learn's bundled digits"

    def read(self, batch_size: int, known_refs: frozenset[str]) -> Iterator[ReadBatch]:
        for batch in read_digits(batch_size):
            yield ReadBatch(batch)
