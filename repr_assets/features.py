"""Features: featurise items in batches into ``{dataset}_features``, and read them back.

The featuriser is fitted once on the training items, saved with its version, and reused
as it is when new items arrive; only items without current features are featurised.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.datasets import DatasetSpec
from repr_assets.featurisers import Featuriser, build_featuriser
from repr_assets.hashing import canonical_json
from repr_assets.holdout import stratified_test_mask
from repr_assets.ids import IdSet
from repr_assets.items import vector_array, vectors_of
from repr_assets.memory import release_free_memory
from repr_assets.sources.base import Quarantined
from repr_assets.sources.files import TABLE_SUFFIXES
from repr_assets.sources.records import record_file_description
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.stores.models import FEATURISER, ModelStore
from repr_assets.stores.quarantine import record_quarantined
from repr_assets.tables import embeddings_table, features_table, items_table
from repr_assets.vectorise import Progress, current_ids, vector_batches, vectors_schema

FEATURISER_VERSION = "featuriser_version"


@dataclass(frozen=True)
class FeaturesWritten:
    """What ``featurise_items`` did; ``set_aside`` are the items it found no features for,
    recorded and then removed from the data set's tables."""

    write: WriteResult
    featuriser: Featuriser
    refitted: bool
    set_aside: list[Quarantined] = field(default_factory=list)


def current_featuriser(
    spec: DatasetSpec, store: LanceStore, models: ModelStore, refit: bool = False
) -> tuple[Featuriser, bool]:
    """The saved featuriser when its parameters still hold and ``refit`` is not asked for;
    else one fitted now on the training items and saved. ``(featuriser, fitted_now)``.

    A saved featuriser whose statistics are not finite (an earlier version overflowed on
    values near 1e300) is fitted again: kept, it would find no features for any item.
    """
    items = items_table(spec.name)
    wanted = build_featuriser(spec, store.open(items).schema)
    saved = models.latest(spec.name, FEATURISER)
    if (
        not refit
        and saved is not None
        and canonical_json(saved.meta["params"]) == canonical_json(wanted.params)
    ):
        kept = models.load_featuriser(spec.name, saved.version)[0]
        if getattr(kept, "sound", True):
            return kept, False
    wanted.fit(_training_batches(spec, store))
    models.save(spec.name, FEATURISER, wanted, wanted.version, {"dim": wanted.dim})
    return wanted, True


def _training_batches(spec: DatasetSpec, store: LanceStore) -> Iterator[pa.RecordBatch]:
    """The items of the training side of the split, streamed."""
    table = items_table(spec.name)
    keys = store.open(table).to_lance().to_table(columns=["item_id", "label"])
    ids = keys.column("item_id").to_pylist()
    test = stratified_test_mask(ids, keys.column("label").to_pylist(), seed=spec.seed)
    training = pa.array([i for i, is_test in zip(ids, test, strict=True) if not is_test])
    for batch in store.read_batches(table):
        yield batch.filter(pc.is_in(batch.column("item_id"), training))


def featurise_items(
    spec: DatasetSpec,
    store: LanceStore,
    models: ModelStore,
    record: Callable[[list[Quarantined]], object],
    refit: bool = False,
    batch_size: int = 4096,
    progress: Progress | None = None,
) -> FeaturesWritten:
    """Featurise the items of ``{dataset}_items`` that have no current features, batch by
    batch, into ``{dataset}_features``; each row carries the featuriser's version.

    An item the featuriser has no features for (a number that does not standardise to a
    finite float32) is left out, handed to ``record`` (which keeps it in the quarantine
    table), and only then removed from the items table and every vector table, so that
    every item keeps exactly one row in each and a run that stops half way is finished by
    the next one. Nothing else fails the data set.
    """
    featuriser, refitted = current_featuriser(spec, store, models, refit)
    items, target = items_table(spec.name), features_table(spec.name)
    constants = {FEATURISER_VERSION: featuriser.version}
    schema = vectors_schema(featuriser.dim, constants)
    current = current_ids(store, target, schema, FEATURISER_VERSION, constants)
    set_aside: list[SetAside] = []
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
    release_free_memory()  # what the stream through Arrow and LanceDB left cached
    quarantined = [Quarantined(item.ref, item.reason) for item in set_aside]
    if set_aside:
        record(quarantined)
        remove_items(store, spec, [item.item_id for item in set_aside])
        features = store.open(target)
        write = dataclasses.replace(
            write, total_rows=features.count_rows(), version=features.version
        )
    return FeaturesWritten(write, featuriser, refitted, quarantined)


@dataclass(frozen=True)
class SetAside:
    item_id: str
    ref: str
    reason: str


def _featurised_rows(
    batches: Iterable[pa.RecordBatch],
    featuriser: Featuriser,
    current: pa.Array,
    set_aside: list[SetAside],
) -> Iterator[pa.RecordBatch]:
    """The item keys and features (as ``vector``) of the rows of ``batches`` that are not
    ``current`` and that have features; the others are appended to ``set_aside``."""
    current_set = IdSet(current) if len(current) else None
    for batch in batches:
        if current_set is not None:
            batch = batch.filter(pa.array(~current_set.contains(batch.column("item_id"))))
        if not batch.num_rows:
            continue
        features, unfit = featurise_rows(featuriser, batch)
        if unfit:
            rows = sorted(unfit)
            ids = batch.column("item_id").take(rows).to_pylist()
            where = "ref" if "ref" in batch.schema.names else "item_id"
            refs = batch.column(where).take(rows).to_pylist()
            for row, item_id, ref in zip(rows, ids, refs, strict=True):
                set_aside.append(SetAside(item_id, ref or item_id, unfit[row]))
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


def quarantine_recorder(
    connect: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    spec: DatasetSpec,
    run_id: str,
) -> Callable[[list[Quarantined]], None]:
    """A ``record`` for ``featurise_items`` that adds to the DuckDB table ``quarantine``
    (each ref once) on a connection from ``connect``, with ``source`` named as at ingest."""
    source = spec.name
    if spec.source is not None and Path(spec.source).suffix.lower() in TABLE_SUFFIXES:
        source = record_file_description(Path(spec.source))

    def record(items: list[Quarantined]) -> None:
        with connect() as connection:
            record_quarantined(connection, spec.name, source, items, run_id)

    return record


def remove_items(store: LanceStore, spec: DatasetSpec, item_ids: list[str]) -> None:
    """Delete ``item_ids`` from the embeddings and features tables (a refit may set aside
    an item that has rows there already), and last from the items table: a run stopped
    in between leaves the items, which the next run finds and removes again."""
    where = pc.field("item_id").isin(item_ids)  # an Arrow expression: ids are never SQL
    tables = [embeddings_table(spec.name, encoder) for encoder in spec.encoders]
    for table in [*tables, features_table(spec.name), items_table(spec.name)]:
        if store.exists(table):
            store.open(table).to_lance().delete(where)


@dataclass(frozen=True)
class FeatureMatrix:
    """Every item's features, ordered by ``item_id``.

    ``X``: ``(n_items, n_features)`` float32.
    """

    item_ids: list[str]
    labels: list[str | None]
    splits: list[str | None]
    X: np.ndarray

    @property
    def data_version(self) -> str:
        """A content hash of ids and features: equal data, equal version.

        ``short_hash("\\n".join(item_ids), X.tobytes())``, computed without copying ``X``.
        """
        ids = "\n".join(self.item_ids).encode()
        X = np.ascontiguousarray(self.X)
        digest = hashlib.blake2b(digest_size=16)
        for part in (ids, X.reshape(-1).view(np.uint8).data):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
        return digest.hexdigest()[:12]


def load_features(store: LanceStore, dataset: str) -> FeatureMatrix:
    return load_vectors(store, features_table(dataset))


def load_vectors(store: LanceStore, table: str, batch_size: int = 65_536) -> FeatureMatrix:
    """Read a features or embeddings table whole, sorted by ``item_id``.

    The vectors are read batch by batch straight into their sorted rows of one
    preallocated float32 matrix, so the only copy of them held is the result (reading
    the table whole, sorting it and stacking it would hold three). Labels equal to each
    other share one string object.
    """
    release_free_memory()  # make room before the one big allocation
    matrix = _read_sorted(store, table, batch_size)
    # What the read freed stays cached by Arrow and malloc until released: 100-120 MiB
    # after a million rows, held under whatever the caller computes next. Its buffers
    # are freed by reference counting: no cycle collection needed.
    release_free_memory(collect=False)
    return matrix


def _read_sorted(store: LanceStore, table: str, batch_size: int) -> FeatureMatrix:
    dataset = store.open(table).to_lance()  # one version for both passes
    keys = dataset.to_table(columns=["item_id", "label", "split"])
    order = pc.sort_indices(keys.column("item_id")).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    X = np.empty((len(order), dataset.schema.field("vector").type.list_size), np.float32)
    start = 0
    ids = keys.column("item_id")
    for batch in dataset.to_batches(columns=["item_id", "vector"], batch_size=batch_size):
        rows = batch.num_rows
        if not batch.column("item_id").equals(ids.slice(start, rows).combine_chunks()):
            raise RuntimeError(f"the rows of {table!r} came back in another order; read again")
        X[rank[start : start + rows]] = vectors_of(batch.column("vector"))
        start += rows
    if start != len(order):
        raise RuntimeError(f"{table!r} changed while it was read; read again")
    return FeatureMatrix(
        item_ids=ids.take(order).to_pylist(),
        labels=_shared_strings(keys.column("label").take(order)),
        splits=_shared_strings(keys.column("split").take(order)),
        X=X,
    )


def _shared_strings(column: pa.ChunkedArray) -> list[str | None]:
    """``column.to_pylist()``, with one ``str`` object per distinct value."""
    encoded = column.combine_chunks().dictionary_encode()
    values = encoded.dictionary.to_pylist()
    indices = pc.fill_null(encoded.indices, 0).to_numpy(zero_copy_only=False)
    valid = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
    return [
        values[i] if ok else None for i, ok in zip(indices.tolist(), valid.tolist(), strict=True)
    ]
