"""The image featuriser over the built-in digits items."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from repr_assets.featurisers.image import ImageFeaturiser
from repr_assets.items.schemas import IMAGE_ITEMS_SCHEMA, encode_png, image_batches
from repr_assets.sources.digits import DIGITS_SIZE, read_digits


@pytest.fixture(scope="module")
def digit_batches() -> list[pa.RecordBatch]:
    return list(read_digits(batch_size=500))


def test_digits_items(digit_batches: list[pa.RecordBatch]) -> None:
    assert DIGITS_SIZE == 1797
    assert [b.num_rows for b in digit_batches] == [500, 500, 500, 297]
    assert all(b.schema.equals(IMAGE_ITEMS_SCHEMA) for b in digit_batches)
    ids = [i for b in digit_batches for i in b.column("item_id").to_pylist()]
    assert len(ids) == len(set(ids)) == 1797
    assert ids[0] == "digits-0000"
    assert ids[-1] == "digits-1796"
    labels = [lab for b in digit_batches for lab in b.column("label").to_pylist()]
    assert labels == [str(t) for t in load_digits().target]


def test_features_match_sklearn_digits(digit_batches: list[pa.RecordBatch]) -> None:
    featuriser = ImageFeaturiser(size=8)
    features = np.concatenate([featuriser.featurise(b) for b in digit_batches])
    assert features.shape == (1797, 64)
    assert features.dtype == np.float32
    expected = np.rint(load_digits().data * 255 / 16) / 255
    np.testing.assert_allclose(features, expected, rtol=0, atol=1e-6)
    assert features.min() >= 0.0
    assert features.max() <= 1.0
    assert features.max() == pytest.approx(1.0)
    assert featuriser.dim == 64


def test_batch_size_does_not_change_features() -> None:
    featuriser = ImageFeaturiser(size=8)
    small = np.concatenate([featuriser.featurise(b) for b in read_digits(batch_size=97)])
    large = np.concatenate([featuriser.featurise(b) for b in read_digits(batch_size=4096)])
    np.testing.assert_array_equal(small, large)


def _image_batch(images: np.ndarray) -> pa.RecordBatch:
    n = len(images)
    return next(image_batches([f"img-{i}" for i in range(n)], [None] * n, [None] * n, images, n))


def test_resize_path_gives_the_requested_shape() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 12, 20), dtype=np.uint8)
    batch = _image_batch(images)
    for size in (4, 8, 32):
        features = ImageFeaturiser(size=size).featurise(batch)
        assert features.shape == (5, size * size)
        assert features.dtype == np.float32
        assert features.min() >= 0.0
        assert features.max() <= 1.0


def test_resize_matches_pillow_bilinear() -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(3, 10, 10), dtype=np.uint8)
    features = ImageFeaturiser(size=6).featurise(_image_batch(images))
    for row, pixels in enumerate(images):
        resized = Image.fromarray(pixels, mode="L").resize((6, 6), Image.Resampling.BILINEAR)
        expected = np.asarray(resized, dtype=np.float32).reshape(-1) / 255
        np.testing.assert_allclose(features[row], expected, atol=1e-6)


def test_uniform_image_stays_uniform_after_resize() -> None:
    images = np.full((1, 9, 7), 51, dtype=np.uint8)
    features = ImageFeaturiser(size=5).featurise(_image_batch(images))
    np.testing.assert_allclose(features, 0.2, atol=1e-6)


def test_colour_images_become_grey() -> None:
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    rgb[..., 0] = 255  # pure red
    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG")
    batch = pa.RecordBatch.from_pydict(
        {
            "item_id": ["red"],
            "label": [None],
            "split": [None],
            "image": [buffer.getvalue()],
            "width": [4],
            "height": [4],
        },
        schema=IMAGE_ITEMS_SCHEMA,
    )
    features = ImageFeaturiser(size=4).featurise(batch)
    # Pillow's ITU-R 601-2 luma: L = R * 299/1000.
    np.testing.assert_allclose(features, round(255 * 0.299) / 255, atol=1e-6)


def test_null_image_bytes_raise_naming_the_item() -> None:
    good = encode_png(np.zeros((8, 8), dtype=np.uint8))
    batch = pa.RecordBatch.from_pydict(
        {
            "item_id": ["ok-1", "broken-7"],
            "label": ["0", "1"],
            "split": [None, None],
            "image": [good, None],
            "width": [8, None],
            "height": [8, None],
        },
        schema=IMAGE_ITEMS_SCHEMA,
    )
    with pytest.raises(ValueError, match=r"item 'broken-7' has no image bytes"):
        ImageFeaturiser(size=8).featurise(batch)


def test_version_depends_on_parameters_only() -> None:
    assert ImageFeaturiser(size=8).version == ImageFeaturiser(size=8).version
    assert ImageFeaturiser(size=8).version != ImageFeaturiser(size=16).version


@pytest.mark.parametrize("payload", [b"not an image", encode_png(np.zeros((8, 8), np.uint8))[:20]])
def test_corrupt_or_truncated_image_raises_naming_the_item(payload: bytes) -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "item_id": ["bad-3"],
            "label": [None],
            "split": [None],
            "image": [payload],
            "width": [8],
            "height": [8],
        },
        schema=IMAGE_ITEMS_SCHEMA,
    )
    with pytest.raises(ValueError, match=r"item 'bad-3': cannot decode its image"):
        ImageFeaturiser(size=8).featurise(batch)
