"""The Arrow schemas of item batches, the unit that sources produce and stores write."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa

from repr_assets.items.png import encode_grey

ITEM_KEY_FIELDS = [
    pa.field("item_id", pa.string(), nullable=False),
    pa.field("label", pa.string()),
    pa.field("split", pa.string()),
]

IMAGE_ITEMS_SCHEMA = pa.schema(
    [
        *ITEM_KEY_FIELDS,
        pa.field("image", pa.binary()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
    ]
)


SOURCED_IMAGE_ITEMS_SCHEMA = IMAGE_ITEMS_SCHEMA.append(pa.field("ref", pa.string()))
"""Images read from a source keep ``ref``, where each came from (a path, a file and index)."""

TEXT_ITEMS_SCHEMA = pa.schema(
    [*ITEM_KEY_FIELDS, pa.field("ref", pa.string()), pa.field("text", pa.string())]
)

RESERVED_COLUMNS = frozenset({"item_id", "label", "split", "ref"})


def payload_fields(numeric: Sequence[str], categorical: Sequence[str]) -> list[pa.Field]:
    """Numeric columns as float64, categorical ones as strings, in that order."""
    return [
        *(pa.field(name, pa.float64()) for name in numeric),
        *(pa.field(name, pa.string()) for name in categorical),
    ]


def tabular_items_schema(numeric: Sequence[str], categorical: Sequence[str]) -> pa.Schema:
    """Table rows: the item keys, ``ref``, then the ``payload_fields``."""
    return pa.schema(
        [*ITEM_KEY_FIELDS, pa.field("ref", pa.string()), *payload_fields(numeric, categorical)]
    )


def vector_schema(dim: int, extra: list[pa.Field] | None = None) -> pa.Schema:
    """Schema of a features or embeddings table: item keys plus a ``vector`` of ``dim`` floats."""
    return pa.schema(
        [*ITEM_KEY_FIELDS, pa.field("vector", pa.list_(pa.float32(), dim)), *(extra or [])]
    )


def vector_array(matrix: np.ndarray) -> pa.FixedSizeListArray:
    """A ``(n, d)`` float matrix as an Arrow fixed-size list array of float32, without a copy."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def vectors_of(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The ``(n, d)`` float32 matrix held by a fixed-size list column."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    dim = column.type.list_size
    values = column.flatten().to_numpy(zero_copy_only=False)
    return values.astype(np.float32, copy=False).reshape(-1, dim)


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of a ``(height, width)`` uint8 grey-scale image."""
    return encode_grey(pixels)


def image_batches(
    item_ids: list[str],
    labels: list[str | None],
    splits: list[str | None],
    images: np.ndarray,
    batch_size: int,
) -> Iterator[pa.RecordBatch]:
    """Image item batches from ``(n, height, width)`` uint8 pixels, encoded as PNG."""
    height, width = images.shape[1:]
    for start in range(0, len(item_ids), batch_size):
        stop = min(start + batch_size, len(item_ids))
        yield pa.RecordBatch.from_pydict(
            {
                "item_id": item_ids[start:stop],
                "label": labels[start:stop],
                "split": splits[start:stop],
                "image": [encode_png(img) for img in images[start:stop]],
                "width": [width] * (stop - start),
                "height": [height] * (stop - start),
            },
            schema=IMAGE_ITEMS_SCHEMA,
        )
