"""A folder of MNIST-format IDX files: ``PREFIX-images-idx3-ubyte[.gz]`` with
``PREFIX-labels-idx1-ubyte[.gz]``; the prefix becomes each item's split."""

from __future__ import annotations

import gzip
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from repr_assets.items.hashing import short_hash
from repr_assets.items.schemas import encode_png
from repr_assets.sources.base import ImageFiles, Quarantined, ReadBatch, SourceError
from repr_assets.sources.safety import SourceFile, walk_files

_IMAGES = re.compile(r"^(?P<prefix>.+?)[-.]images[-.]idx3[-.]ubyte(?P<gz>\.gz)?$")
_UBYTE = 0x08


def idx_image_files(root: Path, max_bytes: int) -> list[SourceFile]:
    """The image files of an IDX folder (top level only), sorted by name."""
    return [
        entry
        for entry in walk_files(root, max_bytes=max_bytes, recursive=False)
        if isinstance(entry, SourceFile) and _IMAGES.match(entry.path.name)
    ]


def looks_like_idx_folder(root: Path) -> bool:
    return any(_IMAGES.match(path.name) for path in root.iterdir() if path.is_file())


@dataclass(frozen=True)
class IDXFolderSource(ImageFiles):
    """Images and labels of every IDX pair in ``root``, streamed in batches.

    Files are read chunk by chunk, never whole; an item's id is a hash of its pixels. An
    images file without its labels file gives unlabelled items.
    """

    @property
    def description(self) -> str:
        return f"IDX folder {self.root}"

    def read(self, batch_size: int, known_refs: frozenset[str]) -> Iterator[ReadBatch]:
        # Whole files can be large (the limit is per item here), so the walk's size limit
        # is off and each image's size is bounded by its header instead.
        files = idx_image_files(self.root, max_bytes=2**62)
        if not files:
            raise SourceError(f"no '*-images-idx3-ubyte[.gz]' files in {self.root}")
        for entry in files:
            yield from self._read_pair(entry, batch_size, known_refs)

    def _read_pair(
        self, entry: SourceFile, batch_size: int, known_refs: frozenset[str]
    ) -> Iterator[ReadBatch]:
        match = _IMAGES.match(entry.path.name)
        assert match is not None
        prefix = match["prefix"]
        labels_path = _labels_path(entry.path, prefix)
        try:
            with _open(entry.path) as images:
                count, shape = _header(images, 3, entry.ref)
                height, width = shape
                if height * width > self.max_pixels:
                    raise SourceError(
                        f"{entry.ref}: images of {height}x{width} pixels exceed the limit"
                    )
                label_stream = _open(labels_path) if labels_path else None
                if label_stream is not None:
                    label_count, _ = _header(label_stream, 1, labels_path.name)  # type: ignore[union-attr]
                    if label_count != count:
                        raise SourceError(
                            f"{entry.ref} holds {count} images but its labels file "
                            f"{labels_path.name} holds {label_count} labels"  # type: ignore[union-attr]
                        )
                try:
                    yield from self._batches(
                        entry.ref,
                        prefix,
                        images,
                        label_stream,
                        count,
                        (height, width),
                        batch_size,
                        known_refs,
                    )
                finally:
                    if label_stream is not None:
                        label_stream.close()
        except (OSError, EOFError, SourceError) as error:
            # A damaged file: what was read of it stays, the rest is set aside by name.
            yield ReadBatch(
                pa.RecordBatch.from_pylist([], schema=self.schema),
                [Quarantined(entry.ref, f"unreadable IDX file: {error}")],
            )

    def _batches(
        self,
        ref: str,
        split: str,
        images: BinaryIO,
        labels: BinaryIO | None,
        count: int,
        shape: tuple[int, int],
        batch_size: int,
        known_refs: frozenset[str],
    ) -> Iterator[ReadBatch]:
        pixels_per_image = shape[0] * shape[1]
        for start in range(0, count, batch_size):
            n = min(batch_size, count - start)
            raw = images.read(n * pixels_per_image)
            got = len(raw) // pixels_per_image
            block = np.frombuffer(raw[: got * pixels_per_image], np.uint8).reshape(got, *shape)
            label_bytes = labels.read(got) if labels is not None else b""
            quarantined = []
            if got < n:
                quarantined.append(
                    Quarantined(
                        f"{ref}#{start + got}",
                        f"truncated IDX file: {count - start - got} of {count} images missing",
                    )
                )
            refs = [f"{ref}#{start + i}" for i in range(got)]
            # Items ingested before are not encoded again: that is most of the cost.
            new = [i for i in range(got) if refs[i] not in known_refs]
            rows = {
                "item_id": [short_hash("idx", block[i].tobytes(), length=16) for i in new],
                "label": [str(label_bytes[i]) if labels is not None else None for i in new],
                "split": [split] * len(new),
                "image": [encode_png(block[i]) for i in new],
                "width": [shape[1]] * len(new),
                "height": [shape[0]] * len(new),
                "ref": [refs[i] for i in new],
            }
            skipped = [refs[i] for i in range(got) if refs[i] in known_refs]
            items = pa.RecordBatch.from_pydict(rows, schema=self.schema)
            yield ReadBatch(items, quarantined, skipped)
            if got < n:
                return


def _labels_path(images: Path, prefix: str) -> Path | None:
    for name in (
        f"{prefix}-labels-idx1-ubyte",
        f"{prefix}-labels.idx1-ubyte",
        f"{prefix}.labels.idx1.ubyte",
    ):
        for candidate in (images.parent / name, images.parent / f"{name}.gz"):
            if candidate.is_file() and not candidate.is_symlink():
                return candidate
    return None


def _open(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _header(stream: BinaryIO, dims: int, name: str) -> tuple[int, tuple[int, ...]]:
    """Check an IDX header of unsigned bytes with ``dims`` dimensions; ``(count, shape)``."""
    head = stream.read(4 + 4 * dims)
    if len(head) < 4 + 4 * dims:
        raise SourceError(f"{name}: too short for an IDX header")
    zero, dtype, ndim = struct.unpack(">HBB", head[:4])
    if zero != 0 or dtype != _UBYTE or ndim != dims:
        raise SourceError(
            f"{name}: not an IDX file of unsigned bytes with {dims} dimensions "
            f"(magic {head[:4].hex()})"
        )
    sizes = struct.unpack(f">{dims}I", head[4:])
    return sizes[0], tuple(sizes[1:])
