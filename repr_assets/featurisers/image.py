"""Image featuriser: decoded, grey-scale or RGB, resized pixels scaled to [0, 1]."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from PIL import Image

from repr_assets.items.augment import Augmentation, image_augmentations
from repr_assets.items.hashing import canonical_json, short_hash
from repr_assets.items.png import decode_grey
from repr_assets.schema import MAX_IMAGE_SIZE, integer, object_of
from repr_assets.stores.model_files import MAX_FEATURISER_JSON_BYTES, ModelFileError, read_params

REVISION = 2
"""How images become pixels: 2 composites transparency on white (1, before it, read the
colour channels of transparent pixels, often black). A saved featuriser of revision 1
keeps featurising as it did, so that a search by a new image matches its table; a run
fits the current one, whose other version refits what depends on it."""
SAVED_STATE = {
    "params": object_of(
        {
            "size": integer(1, MAX_IMAGE_SIZE),
            "revision": integer(1, REVISION),
            "channels": integer(1, 3),
        }
    )
}
SAVED_STATE_GREY = {
    "params": object_of({"size": integer(1, MAX_IMAGE_SIZE), "revision": integer(1, REVISION)})
}
SAVED_STATE_1 = {"params": object_of({"size": integer(1, MAX_IMAGE_SIZE)})}
"""``featuriser.json`` and its bounds: now, before colour, and as revision 1 wrote it."""


@dataclass(frozen=True)
class ImageFeaturiser:
    """Featurise image items into ``(n, size * size)`` float32 rows in [0, 1].

    Images are decoded with Pillow, converted to 8-bit grey scale (``channels`` 1) or RGB
    (3, the planes one after another in each row) and resized to ``size`` x ``size`` with
    a bilinear filter when they are not that size already. Transparent
    pixels are composited on ``BACKGROUND`` (white), never read as the black that their
    colour channels often hold. Grey PNGs in
    the layout IDX ingest writes are read with zlib alone (``repr_assets.items.png``).
    It has no fitted state, so its version is a hash of its parameters.
    """

    size: int
    revision: int = REVISION
    channels: int = 1
    kind = "image"
    fitted = True

    @property
    def params(self) -> dict[str, Any]:
        params = asdict(self)
        if self.channels == 1:  # grey, as before colour: the same params and version
            del params["channels"]
        return params

    @property
    def dim(self) -> int:
        return self.channels * self.size * self.size

    @property
    def version(self) -> str:
        return short_hash("image-featuriser", canonical_json(self.params))

    def fit(self, batches: Iterable[pa.RecordBatch]) -> ImageFeaturiser:
        return self

    def augmentations(self) -> dict[str, Augmentation]:
        return image_augmentations(self.size, channels=self.channels)

    def save(self, directory: Path) -> None:
        (directory / "featuriser.json").write_text(json.dumps({"params": self.params}))

    @classmethod
    def load(cls, directory: Path) -> ImageFeaturiser:
        """The featuriser saved in ``directory``; ``ModelFileError`` when it does not fit."""
        path = directory / "featuriser.json"
        for state in (SAVED_STATE, SAVED_STATE_GREY):
            try:
                return cls(**read_params(path, state, MAX_FEATURISER_JSON_BYTES)["params"])
            except ModelFileError:
                continue
        old = read_params(path, SAVED_STATE_1, MAX_FEATURISER_JSON_BYTES)["params"]
        return cls(**old, revision=1)

    def featurise(self, batch: pa.RecordBatch) -> np.ndarray:
        """Features of an image item batch, shape ``(batch.num_rows, channels * size²)``."""
        images = batch.column("image").to_pylist()
        ids = batch.column("item_id").to_pylist()
        out = np.empty((len(images), self.dim), dtype=np.float32)
        for row, (item_id, data) in enumerate(zip(ids, images, strict=True)):
            out[row] = self._pixels(item_id, data).reshape(-1)
        out *= np.float32(1.0 / 255.0)
        return out

    def _pixels(self, item_id: str, data: bytes | None) -> np.ndarray:
        if data is None:
            raise ValueError(f"item {item_id!r} has no image bytes")
        pixels = decode_grey(data)  # the PNG that IDX ingest writes, without Pillow
        if pixels is not None and pixels.shape == (self.size, self.size):
            return pixels if self.channels == 1 else np.broadcast_to(pixels, (3, *pixels.shape))
        try:
            with warnings.catch_warnings():
                # Pillow's advice on palettes and EXIF is not for our users' terminals.
                warnings.simplefilter("ignore")
                with Image.open(io.BytesIO(data)) as image:
                    if self.channels == 3:
                        decoded = on_background(image, "RGB")
                    elif self.revision > 1:
                        decoded = on_background(image, "L")
                    else:
                        decoded = image.convert("L")
        except Image.UnidentifiedImageError:
            raise ValueError(
                f"item {item_id!r}: cannot decode its image: not an image format Pillow reads"
            ) from None
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise ValueError(f"item {item_id!r}: cannot decode its image ({error})") from error
        if decoded.size != (self.size, self.size):
            decoded = decoded.resize((self.size, self.size), Image.Resampling.BILINEAR)
        pixels = np.asarray(decoded, dtype=np.float32)
        return pixels.transpose(2, 0, 1) if self.channels == 3 else pixels


BACKGROUND = 255
"""The grey level that transparent pixels are composited on: white, as images with an
alpha channel (icons, cut-outs) are drawn for a light page."""


def on_background(image: Image.Image, mode: str = "L") -> Image.Image:
    """``image`` in ``mode`` (``"L"``: 8-bit grey; ``"RGB"``), its transparency composited
    on ``BACKGROUND``."""
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if not transparent:
        return image.convert(mode)
    rgba = image.convert("RGBA")
    page = Image.new("RGBA", rgba.size, (BACKGROUND, BACKGROUND, BACKGROUND, 255))
    return Image.alpha_composite(page, rgba).convert(mode)
