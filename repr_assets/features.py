"""Features: featurise items in batches into ``{dataset}_features``, and read them back.

The featuriser is fitted once on the training items, saved with its version, and reused
as it is when new items arrive; only items without current features are featurised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.datasets import DatasetSpec
from repr_assets.featurisers import Featuriser, build_featuriser
from repr_assets.hashing import canonical_json
from repr_assets.holdout import stratified_test_mask
from repr_assets.items import vectors_of
from repr_assets.memory import release_free_memory
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.stores.models import FEATURISER, ModelStore
from repr_assets.tables import features_table, items_table
from repr_assets.vectorise import Progress, write_vectors

FEATURISER_VERSION = "featuriser_version"


@dataclass(frozen=True)
class FeaturesWritten:
    write: WriteResult
    featuriser: Featuriser
    refitted: bool


def current_featuriser(
    spec: DatasetSpec, store: LanceStore, models: ModelStore, refit: bool = False
) -> tuple[Featuriser, bool]:
    """The saved featuriser when its parameters still hold and ``refit`` is not asked for;
    else one fitted now on the training items and saved. ``(featuriser, fitted_now)``."""
    items = items_table(spec.name)
    wanted = build_featuriser(spec, store.open(items).schema)
    saved = models.latest(spec.name, FEATURISER)
    if (
        not refit
        and saved is not None
        and canonical_json(saved.meta["params"]) == canonical_json(wanted.params)
    ):
        return models.load_featuriser(spec.name, saved.version)[0], False
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
    refit: bool = False,
    batch_size: int = 4096,
    progress: Progress | None = None,
) -> FeaturesWritten:
    """Featurise the items of ``{dataset}_items`` that have no current features, batch by
    batch, into ``{dataset}_features``; each row carries the featuriser's version."""
    featuriser, refitted = current_featuriser(spec, store, models, refit)
    write = write_vectors(
        store,
        items_table(spec.name),
        features_table(spec.name),
        featuriser.dim,
        featuriser.featurise,
        constants={FEATURISER_VERSION: featuriser.version},
        batch_size=batch_size,
        progress=progress,
        current_by=FEATURISER_VERSION,
    )
    release_free_memory()  # what the stream through Arrow and LanceDB left cached
    return FeaturesWritten(write, featuriser, refitted)


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
