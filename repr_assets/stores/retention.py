"""Retention of a table's versions: remove the versions nobody can ask for again, keep the
ones that are served or that a rollback may return to (compaction is the writes' own:
``LanceStore.compact``).

Lance never removes a tagged version, and refuses to clean up at all when asked to remove
one. So the versions to keep are tagged: ``served`` (``repr_assets.stores.serving``) and
``published-<version>`` for each of the last ``keep`` published versions, moved here as
publications come and go; everything else older than the grace period is removed. Lance
always keeps the newest version.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from repr_assets.home import local_path
from repr_assets.stores.lance import LanceStore

KEPT_PREFIX = "published-"


@dataclass(frozen=True)
class Retained:
    """What retention did to one table."""

    table: str
    compacted: bool  # data files were rewritten into fewer, as a new version
    kept: tuple[int, ...]  # the versions on disk afterwards
    removed_versions: int
    bytes_removed: int
    bytes_before: int | None  # the table's folder (None: on object storage)
    bytes_after: int | None


def retain(
    store: LanceStore,
    name: str,
    published: Sequence[int],
    keep: int,
    grace: float,
    compacted: bool = False,
) -> Retained:
    """Keep the served version, the last ``keep`` of ``published`` (oldest first) that the
    table still has, the newest and any younger than ``grace`` seconds; remove the rest.
    ``compacted`` says whether the caller compacted the table just before."""
    before = table_bytes(store, name)

    def clean() -> tuple[int, int]:
        _tag_kept(store, name, published, keep)
        stats = store.dataset(name).cleanup_old_versions(
            older_than=timedelta(seconds=grace), error_if_tagged_old_versions=False
        )
        return int(stats.old_versions), int(stats.bytes_removed)

    removed, freed = store.commit(name, "cleanup", clean)
    kept = tuple(v["version"] for v in store.dataset(name).versions())
    return Retained(name, compacted, kept, removed, freed, before, table_bytes(store, name))


def _tag_kept(store: LanceStore, name: str, published: Sequence[int], keep: int) -> None:
    table = store.dataset(name)
    present = {v["version"] for v in table.versions()}
    wanted = {f"{KEPT_PREFIX}{v}": v for v in [v for v in published if v in present][-keep:]}
    tags = table.tags.list()
    for tag in tags:
        if tag.startswith(KEPT_PREFIX) and tag not in wanted:
            table.tags.delete(tag)
    for tag, version in wanted.items():
        if tag not in tags:
            table.tags.create(tag, version)


def table_bytes(store: LanceStore, name: str) -> int | None:
    """The bytes of a local table's folder, every version's files together; ``None`` for
    a table on object storage, where listing them would cost a request per page."""
    database = local_path(store.uri)
    if database is None:
        return None
    folder = database / f"{name}.lance"
    return sum(
        os.path.getsize(os.path.join(root, file))
        for root, _, files in os.walk(folder)
        for file in files
    )


def mebibytes(size: int) -> str:
    return f"{size / 2**20:.2f} MiB"
