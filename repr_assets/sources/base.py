"""What every source yields: batches of items, and the items it had to set aside."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa


class SourceError(ValueError):
    """A source that cannot be read at all: a missing path, an unknown column, no items."""


@dataclass(frozen=True)
class Quarantined:
    """An item that could not be read: where it is (``ref``) and why."""

    ref: str
    reason: str


@dataclass
class ReadBatch:
    """Good items (rows of the source's item schema) and the items set aside with them."""

    items: pa.RecordBatch
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
