"""What every source yields: batches of items, and the items it had to set aside."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from repr_assets.items.hashing import short_hash
from repr_assets.items.schemas import SOURCED_IMAGE_ITEMS_SCHEMA


class SourceError(ValueError):
    """A source that cannot be read at all: a missing path, an unknown column, no items."""


@dataclass(frozen=True)
class Quarantined:
    """An entry that could not be read: where it is (``ref``) and why. ``item_id`` when it
    was read as an item but could not be featurised; ``content``, for a row of a file, a
    hash of its raw content: a row's line is no identity (a row inserted above moves
    every line after it), so a later run knows the row again by what it holds."""

    ref: str
    reason: str
    item_id: str | None = None
    content: str | None = None

    @property
    def key(self) -> str:
        """What a later run knows this entry by: its item id, its content, or its ref
        (a file's path under the source)."""
        return self.item_id or self.content or self.ref


def row_content(raw: bytes) -> str:
    """The ``content`` of a row of a file: a hash of its bytes, less its line end."""
    return short_hash("row", raw.rstrip(b"\r\n"), length=16)


def cells_content(table: pa.Table, row: int) -> str:
    """The ``content`` of row ``row`` of a table read from a file: a hash of its cells."""
    cells = [table.column(name)[row].as_py() for name in table.column_names]
    return short_hash("cells", repr(cells), length=16)


@dataclass
class ReadBatch:
    """Good items (rows of the source's item schema) and the items set aside with them.

    ``skipped``: refs of entries not read because their ref was known (ingested or set
    aside before); ``not_items``: files that are no items of this source, by suffix
    (``{".txt": 3}``), so that every entry of a source is accounted for.
    """

    items: pa.RecordBatch
    quarantined: list[Quarantined] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_items: dict[str, int] = field(default_factory=dict)


@dataclass
class RawRows:
    """Raw rows of a file (``repr_assets.sources.files``): an Arrow table whose columns are
    strings or numbers, each row's ``ref``, and the rows that could not be read."""

    table: pa.Table
    refs: list[str]
    quarantined: list[Quarantined] = field(default_factory=list)


class Source(Protocol):
    """A readable source of items.

    ``read`` streams batches; ``known_refs`` are references already ingested, which a
    source whose items are files may skip without opening them.
    """

    @property
    def schema(self) -> pa.Schema: ...

    @property
    def description(self) -> str: ...

    def read(self, batch_size: int, known_refs: frozenset[str]) -> Iterator[ReadBatch]: ...


@dataclass(frozen=True)
class ImageFiles:
    """What every source of image files holds: its folder, and the limits an item is held
    to (``max_bytes`` of a file or an item, ``max_pixels`` of a decoded image)."""

    root: Path
    max_bytes: int
    max_pixels: int

    @property
    def schema(self) -> pa.Schema:
        return SOURCED_IMAGE_ITEMS_SCHEMA
