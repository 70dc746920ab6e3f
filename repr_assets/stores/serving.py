"""Safe publish: the version of an embeddings table that searches read moves only when the
encoder's quality checks pass, and can be moved back.

Each embeddings table carries a LanceDB tag, ``served``, on the version people query.
Runs write new table versions as they go; ``publish`` moves the tag to the newest one
when the checks of that model version passed, and ``rollback`` moves it back. Readers
(``repr-assets search`` and ``sql``) open the tagged version, or the newest while a
table has never been published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import lance
import pyarrow.compute as pc

from repr_assets.names import embeddings_table
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.publications import (
    Publication,
    now,
    published_versions,
    record_publication,
)

if TYPE_CHECKING:
    import duckdb

SERVED_TAG = "served"


def served_version(dataset: lance.LanceDataset) -> int | None:
    """The version tagged ``served``, or ``None`` when the table was never published."""
    tags = dataset.tags.list()
    return int(tags[SERVED_TAG]["version"]) if SERVED_TAG in tags else None


def model_version_of(store: LanceStore, name: str, version: int | None = None) -> str:
    """The one model version that wrote every vector of ``name`` at ``version`` (the
    newest when ``None``)."""
    dataset = store.dataset(name, version)
    column = dataset.to_table(columns=["model_version"]).column("model_version")
    versions = pc.unique(column.drop_null()).to_pylist()
    if len(versions) != 1:
        raise ValueError(
            f"table {name!r} holds vectors of {len(versions)} model versions, "
            "so no one model wrote it: re-materialise its embeddings"
        )
    return str(versions[0])


def served_dataset(store: LanceStore, name: str) -> lance.LanceDataset:
    """``name`` at its served version (the newest one if it was never published)."""
    return store.dataset(name, served_version(store.dataset(name)))


@dataclass(frozen=True)
class PublishDecision:
    table: str
    version: int
    previous: int | None
    published: bool
    reason: str

    @property
    def served(self) -> int | None:
        """The version searches read after the decision (``None``: never published)."""
        return self.version if self.published else self.previous


def decide(
    newest: int,
    served: int | None,
    failed: list[str] | None,
    rolled_back_over: int | None = None,
) -> tuple[bool, str]:
    """Whether to serve ``newest``, judged by the checks of the model that wrote it alone:
    ``failed`` names its failed checks (``None``: it has no report yet). The model served
    now plays no part: a good new model replaces a bad old one, and a bad new one never
    replaces anything. After a rollback by hand, the versions that were there when it was
    made (up to ``rolled_back_over``) stay unserved: only a version written since is
    judged."""
    never = ""
    if served is None:
        never = "; nothing was ever served, so searches read the newest version"
    if rolled_back_over is not None and newest <= rolled_back_over:
        return False, f"rolled back by hand to {served}: the next version a run writes is judged"
    if failed is None:
        return False, f"no quality report for its model yet{never}"
    if failed:
        return False, f"checks failed: {', '.join(failed)}{never}"
    if served == newest:
        return True, "already served"
    return True, "checks passed" + (" (first publication)" if served is None else "")


def publish_if_passed(
    store: LanceStore, name: str, failed: list[str] | None, rolled_back_over: int | None = None
) -> PublishDecision:
    """Move ``served`` to the newest version of ``name`` when its model passed its checks
    (``failed`` empty), as ``decide`` says; otherwise leave the tag where it is."""
    newest_dataset = store.dataset(name)
    newest, previous = newest_dataset.version, served_version(newest_dataset)
    published, reason = decide(newest, previous, failed, rolled_back_over)
    if published and previous != newest:
        move_served(store, name, newest)
    return PublishDecision(name, newest, previous, published, reason)


def move_served(store: LanceStore, name: str, version: int) -> None:
    """Point ``served`` at ``version``: one commit of the tag, under the table's lock."""

    def move() -> None:
        dataset = store.dataset(name)
        if served_version(dataset) is None:
            dataset.tags.create(SERVED_TAG, version)
        else:
            dataset.tags.update(SERVED_TAG, version)

    store.commit(name, "tag", move)


class RollbackError(ValueError):
    pass


def rollback(
    store: LanceStore,
    connection: duckdb.DuckDBPyConnection,
    dataset: str,
    encoder: str,
    to: int | None = None,
) -> tuple[int, int]:
    """Move ``served`` back to ``to``, or to the newest published version before the one
    served now. Only versions published since the table was last made (whose checks
    passed), and that still hold the model that was published, are allowed. Until a run
    writes a newer version, no run serves the versions rolled back from. Returns
    ``(from version, to version)``."""
    name = embeddings_table(dataset, encoder)
    if not store.exists(name):
        raise RollbackError(f"no embeddings table {name!r}")
    with store.writing(name):  # a publisher at the same time decides before or after
        return _rollback_locked(store, connection, dataset, encoder, name, to)


def _rollback_locked(
    store: LanceStore,
    connection: duckdb.DuckDBPyConnection,
    dataset: str,
    encoder: str,
    name: str,
    to: int | None,
) -> tuple[int, int]:
    table = store.dataset(name)
    current = served_version(table)
    if current is None:
        raise RollbackError(f"{name!r} was never published, so there is nothing to roll back")
    published = published_versions(connection, dataset, encoder)
    if to is None:
        earlier = sorted(v for v in published if v < current)
        if not earlier:
            raise RollbackError(
                f"{name!r} serves version {current}, the first it ever published: "
                "there is no earlier one"
            )
        to = earlier[-1]
    elif to > table.version:
        raise RollbackError(f"{name!r} has no version {to}: its newest is {table.version}")
    elif to not in published:
        shown = ", ".join(map(str, sorted(published))) or "none"
        raise RollbackError(
            f"version {to} of {name!r} was never published (its checks did not pass, or it "
            f"was never reported); the published versions are: {shown}"
        )
    kept = {int(v["version"]) for v in table.versions()}
    if to not in kept:
        shown = ", ".join(str(v) for v in sorted(published) if v in kept)
        raise RollbackError(
            f"version {to} of {name!r} was removed by retention (repr-assets compact); the "
            f"published versions still kept are: {shown}"
        )
    _check_holds(store, name, to, published[to])
    move_served(store, name, to)
    record_publication(
        connection,
        Publication(
            dataset,
            encoder,
            name,
            to,
            published[to],
            "rollback",
            f"from {current}",
            None,
            now(),
            newest_version=table.version,
        ),
    )
    return current, to


def _check_holds(store: LanceStore, name: str, version: int, model: str | None) -> None:
    """Refuse a version the table no longer has, or that another model wrote since."""
    try:
        found = model_version_of(store, name, version)
    except (ValueError, RuntimeError, OSError) as error:
        raise RollbackError(f"version {version} of {name!r} cannot be read: {error}") from None
    if model is not None and found != model:
        raise RollbackError(
            f"version {version} of {name!r} holds model {found}, not {model}, which was "
            "published: the table was made again since"
        )
