"""Featurising, as one step: the items without current features, in batches, by the
data set's featuriser (fitted once on the training items, then reused for new ones).

Items the featuriser finds no features for are set aside: recorded in the quarantine
table, then removed from the data set's tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.featurisers import Featuriser, build_featuriser, load_featuriser
from repr_assets.items.hashing import canonical_json
from repr_assets.items.holdout import stratified_test_mask
from repr_assets.items.schemas import vector_array, vectors_of
from repr_assets.memory import release_free_memory
from repr_assets.names import embeddings_table, features_table, items_table
from repr_assets.pipeline import Connect, Progress
from repr_assets.pipeline.vectorise import current_ids, vector_batches, vectors_schema, without_ids
from repr_assets.sources import open_source
from repr_assets.sources.base import Quarantined
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.stores.models import FEATURISER, SPLIT_SEED, ModelStore
from repr_assets.stores.quarantine import record_quarantined

FEATURISER_VERSION = "featuriser_version"


@dataclass(frozen=True)
class FeaturesWritten:
    """What ``featurise_items`` did; ``set_aside`` are the items it found no features for,
    recorded and then removed from the data set's tables."""

    write: WriteResult
    featuriser: Featuriser
    refitted: bool
    set_aside: list[Quarantined] = field(default_factory=list)

    def summary(self) -> str:
        how = "fitted" if self.refitted else "reused"
        return (
            f"featuriser {self.featuriser.version} ({how}): {self.write.rows_written} items "
            f"featurised into {self.featuriser.dim} features, {len(self.set_aside)} set aside"
        )


def current_featuriser(
    spec: DatasetSpec, store: LanceStore, models: ModelStore, refit: bool = False
) -> tuple[Featuriser, bool]:
    """The saved featuriser when its parameters still hold and ``refit`` is not asked for;
    else one fitted now on the training items and saved. ``(featuriser, fitted_now)``.

    A saved featuriser whose statistics are not finite (an earlier version overflowed on
    values near 1e300) is fitted again: kept, it would find no features for any item.
    """
    items = items_table(spec.name)
    wanted = build_featuriser(spec, store.dataset(items).schema)
    saved = models.latest(spec.name, FEATURISER)
    if (
        not refit
        and saved is not None
        and canonical_json(saved.meta["params"]) == canonical_json(wanted.params)
        and saved.meta.get(SPLIT_SEED, 0) == spec.seed  # fitted on this split's training side
    ):
        kept = load_featuriser(models, spec.name, saved.version)[0]
        if getattr(kept, "sound", True):
            return kept, False
    wanted.fit(_training_batches(spec, store))
    models.save(
        spec.name, FEATURISER, wanted, wanted.version, {"dim": wanted.dim, SPLIT_SEED: spec.seed}
    )
    return wanted, True


def _training_batches(spec: DatasetSpec, store: LanceStore) -> Iterator[pa.RecordBatch]:
    """The items of the training side of the split, streamed."""
    table = items_table(spec.name)
    keys = store.read_columns(table, ["item_id", "label"])
    ids = keys.column("item_id").to_pylist()
    test = stratified_test_mask(ids, keys.column("label").to_pylist(), seed=spec.seed)
    training = pa.array([i for i, is_test in zip(ids, test, strict=True) if not is_test])
    for batch in store.read_batches(table):
        yield batch.filter(pc.is_in(batch.column("item_id"), training))


def featurise(
    spec: DatasetSpec,
    store: LanceStore,
    models: ModelStore,
    connect: Connect,
    run_id: str,
    *,
    refit: bool = False,
    batch_size: int = 4096,
    progress: Progress | None = None,
) -> FeaturesWritten:
    """Featurise the items of ``{dataset}_items`` that have no current features, batch by
    batch, into ``{dataset}_features``; each row carries the featuriser's version.

    An item the featuriser has no features for (a number that does not standardise to a
    finite float32) is left out, recorded in the DuckDB table ``quarantine`` (on a
    connection from ``connect``), and only then removed from the items table, the features
    table and the embeddings of the data set's encoders, so that every item keeps exactly
    one row in each and a run that stops
    half way is finished by the next one. Nothing else fails the data set.
    """
    featuriser, refitted = current_featuriser(spec, store, models, refit)
    items, target = items_table(spec.name), features_table(spec.name)
    constants = {FEATURISER_VERSION: featuriser.version}
    schema = vectors_schema(featuriser.dim, constants)
    current = current_ids(store, target, schema, FEATURISER_VERSION, constants)
    set_aside: list[Quarantined] = []
    featurised = _featurised_rows(
        store.read_batches(items, batch_size=batch_size), featuriser, current, set_aside
    )
    write = store.upsert(
        target,
        schema,
        vector_batches(
            featurised,
            schema,
            lambda batch: vectors_of(batch.column("vector")),
            constants,
            pa.array([], pa.string()),  # left out already, before featurising
            progress,
            store.count(items) - len(current),
        ),
    )
    release_free_memory(write.rows_written)  # what the stream through Arrow and LanceDB left
    if set_aside:
        with connect() as connection:
            source = open_source(spec).description  # as the items step names it
            record_quarantined(connection, spec.name, source, set_aside, run_id)
        remove_items(store, spec, [str(item.item_id) for item in set_aside])
        features = store.dataset(target)
        write = dataclasses.replace(
            write, total_rows=features.count_rows(), version=features.version
        )
    return FeaturesWritten(write, featuriser, refitted, set_aside)


def _featurised_rows(
    batches: Iterable[pa.RecordBatch],
    featuriser: Featuriser,
    current: pa.Array,
    set_aside: list[Quarantined],
) -> Iterator[pa.RecordBatch]:
    """The item keys and features (as ``vector``) of the rows of ``batches`` that are not
    ``current`` and that have features; the others are appended to ``set_aside``."""
    for batch in without_ids(batches, current):
        features, unfit = featurise_rows(featuriser, batch)
        if unfit:
            rows = sorted(unfit)
            ids = batch.column("item_id").take(rows).to_pylist()
            where = "ref" if "ref" in batch.schema.names else "item_id"
            refs = batch.column(where).take(rows).to_pylist()
            for row, item_id, ref in zip(rows, ids, refs, strict=True):
                set_aside.append(Quarantined(ref or item_id, unfit[row], item_id))
            keep = np.ones(batch.num_rows, bool)
            keep[rows] = False
            batch, features = batch.filter(pa.array(keep)), features[keep]
            if not batch.num_rows:
                continue
        yield pa.RecordBatch.from_arrays(
            [batch.column(key) for key in ("item_id", "label", "split")] + [vector_array(features)],
            names=["item_id", "label", "split", "vector"],
        )


def featurise_rows(
    featuriser: Featuriser, batch: pa.RecordBatch
) -> tuple[np.ndarray, dict[int, str]]:
    """The features of ``batch`` and ``{row: reason}`` for rows that have none; only the
    table featuriser finds such rows (images and texts always have features, or fail)."""
    rows = getattr(featuriser, "featurise_rows", None)
    return (featuriser.featurise(batch), {}) if rows is None else rows(batch)


def remove_items(store: LanceStore, spec: DatasetSpec, item_ids: list[str]) -> None:
    """Delete ``item_ids`` from the embeddings and features tables (a refit may set aside
    an item that has rows there already), and last from the items table: a run stopped
    in between leaves the items, which the next run finds and removes again."""
    where = pc.field("item_id").isin(item_ids)  # an Arrow expression: ids are never SQL
    tables = [embeddings_table(spec.name, encoder) for encoder in spec.encoders]
    for table in [*tables, features_table(spec.name), items_table(spec.name)]:
        if store.exists(table):
            store.delete(table, where)
