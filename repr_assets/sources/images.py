"""A folder of image files in the ImageFolder layout: class folders under the root."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
from PIL import Image

from repr_assets.items.hashing import short_hash
from repr_assets.sources.base import ImageFiles, Quarantined, ReadBatch
from repr_assets.sources.safety import SourceFile, read_limited, walk_files

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})


@dataclass(frozen=True)
class ImageFolderSource(ImageFiles):
    """Image files under ``root``; an image's label is its class folder (the first folder
    under the root), and images directly in the root have none.

    Every image is decoded once here, so that a corrupt, truncated or oversized one is set
    aside at ingest rather than failing the featuriser later. The stored payload is the
    file's own bytes; the id is a hash of them, so a copy of an image is one item.
    """

    @property
    def description(self) -> str:
        return f"image folder {self.root}"

    def read(self, batch_size: int, known_refs: frozenset[str]) -> Iterator[ReadBatch]:
        batch = _Batch(self.schema)
        for entry in walk_files(self.root, self.max_bytes):
            if isinstance(entry, Quarantined):
                if entry.ref in known_refs:  # set aside before: counted, not again
                    batch.skipped.append(entry.ref)
                else:
                    batch.quarantined.append(entry)
            elif entry.path.suffix.lower() not in IMAGE_SUFFIXES:
                suffix = entry.path.suffix.lower() or "(no suffix)"
                batch.not_items[suffix] = batch.not_items.get(suffix, 0) + 1
            elif entry.ref in known_refs:
                batch.skipped.append(entry.ref)
            else:
                self._add(batch, entry)
            if batch.size >= batch_size:
                yield batch.done()
                batch = _Batch(self.schema)
        if batch.size:
            yield batch.done()

    def _add(self, batch: _Batch, entry: SourceFile) -> None:
        try:
            data = read_limited(entry.path, self.max_bytes)
            width, height = decode_check(data, self.max_pixels)
        except ValueError as error:
            batch.quarantined.append(Quarantined(entry.ref, str(error)))
            return
        parts = entry.ref.split("/")
        for name, value in (
            ("item_id", short_hash("image", data, length=16)),
            ("label", parts[0] if len(parts) > 1 else None),
            ("split", None),
            ("image", data),
            ("width", width),
            ("height", height),
            ("ref", entry.ref),
        ):
            batch.rows[name].append(value)


class _Batch:
    """A ``ReadBatch`` being filled, entry by entry."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.rows: dict[str, list[object]] = {name: [] for name in schema.names}
        self.quarantined: list[Quarantined] = []
        self.skipped: list[str] = []
        self.not_items: dict[str, int] = {}

    @property
    def size(self) -> int:
        """Entries accounted for so far: items, set aside, skipped and not items."""
        return (
            len(self.rows["item_id"])
            + len(self.quarantined)
            + len(self.skipped)
            + sum(self.not_items.values())
        )

    def done(self) -> ReadBatch:
        items = pa.RecordBatch.from_pydict(self.rows, schema=self.schema)
        return ReadBatch(items, self.quarantined, self.skipped, self.not_items)


def decode_check(data: bytes, max_pixels: int) -> tuple[int, int]:
    """``(width, height)`` of an image that decodes completely, else a ``ValueError`` why.

    The size is checked from the header before any pixel is decoded, so a decompression
    bomb (a small file that expands to a huge image) is refused without expanding it.
    """
    if not data:
        raise ValueError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's advice is not for users' terminals
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ValueError(
                        f"decompression bomb: {width}x{height} pixels, the limit is {max_pixels:,}"
                    )
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(f"decompression bomb: {error}") from None
    except Image.UnidentifiedImageError:  # its message shows a BytesIO's address
        raise ValueError("corrupt or truncated image: not an image format Pillow reads") from None
    except (OSError, SyntaxError) as error:
        raise ValueError(f"corrupt or truncated image: {error}") from None
    return width, height
