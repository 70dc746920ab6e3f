"""Grey PNGs through zlib alone, checked against Pillow both ways."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from repr_assets.featurisers.image import ImageFeaturiser
from repr_assets.items import png
from repr_assets.items.png import decode_grey, encode_grey
from repr_assets.items.schemas import IMAGE_ITEMS_SCHEMA

SHAPES = [(1, 1), (28, 28), (3, 50), (50, 3)]


def _pixels(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _pillow_png(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


@pytest.mark.parametrize("shape", SHAPES)
def test_pillow_reads_what_encode_grey_writes(shape: tuple[int, int]) -> None:
    pixels = _pixels(shape)
    with Image.open(io.BytesIO(encode_grey(pixels))) as image:
        assert image.mode == "L"
        np.testing.assert_array_equal(np.asarray(image), pixels)


@pytest.mark.parametrize("shape", SHAPES)
def test_decode_grey_reads_what_encode_grey_writes(shape: tuple[int, int]) -> None:
    pixels = _pixels(shape, seed=1)
    decoded = decode_grey(encode_grey(pixels))
    assert decoded is not None
    np.testing.assert_array_equal(decoded, pixels)


def test_a_grey_png_from_pillow_decodes_the_same_or_steps_aside() -> None:
    """Pillow filters rows adaptively: such a file goes back to Pillow (None)."""
    pixels = _pixels((28, 28), seed=2)
    decoded = decode_grey(_pillow_png(Image.fromarray(pixels, mode="L")))
    assert decoded is None or np.array_equal(decoded, pixels)
    unfiltered = np.zeros((28, 28), np.uint8)  # all rows equal: Pillow picks no filter
    decoded = decode_grey(_pillow_png(Image.fromarray(unfiltered, mode="L")))
    assert decoded is None or np.array_equal(decoded, unfiltered)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: _pillow_png(Image.fromarray(np.stack([p] * 3, axis=2), mode="RGB")),
        lambda p: _pillow_png(Image.fromarray(p, mode="L").convert("P")),
        lambda p: _pillow_png(Image.fromarray(p.astype(np.uint16) * 257).convert("I;16")),
        lambda p: _pillow_png(Image.fromarray(p, mode="L").convert("LA")),
    ],
    ids=["rgb", "palette", "16-bit", "grey-alpha"],
)
def test_other_layouts_step_aside_to_pillow(make) -> None:
    assert decode_grey(make(_pixels((8, 8)))) is None


def _damaged_idat_crc() -> bytes:
    data = bytearray(encode_grey(_pixels((8, 8))))
    data[-13] ^= 0xFF  # the last byte of the IDAT chunk's CRC, before IEND's 12 bytes
    return bytes(data)


def _damaged_idat_body() -> bytes:
    data = bytearray(encode_grey(_pixels((8, 8))))
    data[45] ^= 0xFF  # inside the compressed pixels: the CRC no longer matches
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image",
        encode_grey(_pixels((8, 8)))[:20],
        encode_grey(_pixels((8, 8)))[:-12],  # no IEND
        _damaged_idat_crc(),
        _damaged_idat_body(),
    ],
    ids=["empty", "text", "truncated-header", "no-iend", "bad-crc", "bad-pixels"],
)
def test_bytes_that_are_not_an_intact_png_step_aside(data: bytes) -> None:
    assert decode_grey(data) is None


def test_large_images_step_aside_to_pillows_bomb_check(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode_grey(_pixels((10, 10)))
    monkeypatch.setattr(png, "MAX_FAST_PIXELS", 99)
    assert decode_grey(data) is None


def test_encode_grey_refuses_other_arrays() -> None:
    with pytest.raises(ValueError, match="uint8 image"):
        encode_grey(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="uint8 image"):
        encode_grey(np.zeros((4, 4, 3), np.uint8))


def _batch(images: list[bytes]) -> pa.RecordBatch:
    n = len(images)
    return pa.RecordBatch.from_pydict(
        {
            "item_id": [f"i{j}" for j in range(n)],
            "label": [None] * n,
            "split": [None] * n,
            "image": images,
            "width": [28] * n,
            "height": [28] * n,
        },
        schema=IMAGE_ITEMS_SCHEMA,
    )


def test_features_of_zlib_and_pillow_decoding_are_equal() -> None:
    images = [_pixels((28, 28), seed=s) for s in range(20)]
    featuriser = ImageFeaturiser(size=28)
    ours = featuriser.featurise(_batch([encode_grey(p) for p in images]))
    pillows = featuriser.featurise(
        _batch([_pillow_png(Image.fromarray(p, mode="L")) for p in images])
    )
    np.testing.assert_array_equal(ours, pillows)
    pixels = np.stack(images).reshape(20, -1).astype(np.float32)
    np.testing.assert_allclose(ours, pixels / 255, rtol=1e-6)


def test_a_damaged_png_still_names_its_item() -> None:
    with pytest.raises(ValueError, match=r"item 'i0': cannot decode its image"):
        ImageFeaturiser(size=8).featurise(_batch([_damaged_idat_body()]))
