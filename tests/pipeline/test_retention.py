"""Ten refits in a row, each published, with retention after every publication: the
versions on disk stay bounded, every kept version can still be rolled back to, and
compaction changes no search result of the served version.

Each refit writes as a run does: every vector again under a new model (an upsert), then
a few new items (an append), so that the newest version has small data files for
compaction to merge and the old versions hold whole copies of the table for cleanup to
remove.
"""

from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.items.schemas import vector_array
from repr_assets.pipeline.compact import compact_dataset
from repr_assets.pipeline.embed import embedding_schema
from repr_assets.pipeline.publish import publish_encoders
from repr_assets.search.searcher import Searcher
from repr_assets.stores.lance import COMPACT_AT_FRAGMENTS, LanceStore
from repr_assets.stores.retention import table_bytes
from repr_assets.stores.serving import RollbackError, rollback, served_version
from tests.pipeline.test_publish import GOOD, report

KEEP = 3
REFITS = 10
SPEC = DatasetSpec(
    name="d", modality="tabular", encoders=("pca",), keep_published=KEEP, retention_grace=0
)
DIM = 8


def _rows(model: str, start: int, stop: int) -> pa.RecordBatch:
    rng = np.random.default_rng(abs(hash((model, start))) % 2**32)
    rows = stop - start
    return pa.RecordBatch.from_arrays(
        [
            pa.array([f"i{k:05d}" for k in range(start, stop)]),
            pa.array([str(k % 3) for k in range(start, stop)]),
            pa.nulls(rows, pa.string()),
            vector_array(rng.normal(size=(rows, DIM)).astype(np.float32)),
            pa.array([model] * rows),
            pa.array(["run"] * rows),
        ],
        schema=embedding_schema(DIM),
    )


def _refit(store: LanceStore, reports, model: str, refit: int) -> None:
    """A run that refits: every row again by ``model``, then 20 new items."""
    rows = 2000 + 20 * refit
    store.upsert("d_pca", embedding_schema(DIM), [_rows(model, 0, rows)])
    store.insert_new("d_pca", embedding_schema(DIM), [_rows(model, rows, rows + 20)])
    report(reports, model, GOOD, refit, baselines=True)


def _neighbours(store: LanceStore) -> list[list[str]]:
    searcher = Searcher(store, "d_pca", exact=True)
    return [
        hits.item_ids for hits in searcher.search_ids([f"i{k:05d}" for k in range(0, 2000, 97)])
    ]


def _publish_all(store, reports, spec) -> list:
    published = []
    for refit in range(REFITS):
        _refit(store, reports, f"model-{refit}", refit)
        (result,) = publish_encoders(spec, store, lambda: duckdb.connect(str(reports)), "run")
        assert result.decision.published
        published.append(result)
    return published


@pytest.fixture(scope="module")
def retained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("retention")
    store, reports = LanceStore(folder / "lancedb"), folder / "reports.duckdb"
    return store, reports, _publish_all(store, reports, SPEC)


def test_ten_refits_keep_at_most_keep_plus_two_versions(retained):
    store, _, published = retained
    versions = [v["version"] for v in store.dataset("d_pca").versions()]
    assert len(versions) <= KEEP + 2
    served = served_version(store.dataset("d_pca"))
    assert served == published[-1].decision.version
    assert served in versions
    # The last KEEP published versions are all there: what a rollback may return to.
    assert [p.decision.version for p in published[-KEEP:]] == sorted(versions)[-KEEP:]
    assert published[-1].retained.removed_versions > 0


def test_every_kept_published_version_can_be_rolled_back_to(retained):
    store, reports, published = retained
    kept = [p.decision.version for p in published[-KEEP:]]
    with duckdb.connect(str(reports)) as connection:
        for version in reversed(kept[:-1]):
            rollback(store, connection, "d", "pca", to=version)
            assert served_version(store.dataset("d_pca")) == version
        removed = published[0].decision.version
        with pytest.raises(RollbackError, match=f"version {removed} .* removed by retention"):
            rollback(store, connection, "d", "pca", to=removed)
        rollback(store, connection, "d", "pca", to=kept[-1])


def test_compaction_changes_no_search_result_of_the_served_version(tmp_path):
    store, reports = LanceStore(tmp_path / "lancedb"), tmp_path / "reports.duckdb"
    spec = dataclasses.replace(SPEC, keep_published=1)
    _refit(store, reports, "model-0", 0)
    (first,) = publish_encoders(spec, store, lambda: duckdb.connect(str(reports)), "run")
    before = _neighbours(store)
    store.insert_new("d_pca", embedding_schema(DIM), [_rows("model-0", 5000, 5010)])
    store.insert_new("d_pca", embedding_schema(DIM), [_rows("model-0", 5010, 5020)])
    with duckdb.connect(str(reports)) as connection:
        (items, *_) = compact_dataset(store, connection, "d", 1, 0)
    assert items.table == "d_pca" and items.compacted  # the newest, not yet decided on
    assert served_version(store.dataset("d_pca")) == first.decision.version
    assert _neighbours(store) == before


def test_without_retention_the_table_keeps_every_copy(retained, tmp_path):
    store, _, _ = retained
    unbounded = LanceStore(tmp_path / "lancedb")
    reports = tmp_path / "reports.duckdb"
    _publish_all(unbounded, reports, dataclasses.replace(SPEC, retention_grace=10**9))
    kept, every = table_bytes(store, "d_pca"), table_bytes(unbounded, "d_pca")
    assert kept is not None and every is not None
    versions = [v["version"] for v in unbounded.dataset("d_pca").versions()]
    assert versions == list(range(1, unbounded.open("d_pca").version + 1))  # none removed
    assert every > 3 * kept
    print(f"d_pca after {REFITS} refits: {every:,} bytes without retention, {kept:,} with")


def test_a_write_compacts_once_incremental_appends_leave_enough_files(tmp_path):
    store = LanceStore(tmp_path / "lancedb")
    _refit(store, tmp_path / "reports.duckdb", "model-0", 0)  # two files: the rows, an append
    before = store.read_table("d_pca")
    for k in range(COMPACT_AT_FRAGMENTS - 3):
        written = store.insert_new(
            "d_pca", embedding_schema(DIM), [_rows("model-0", 9000 + k, 9001 + k)]
        )
    assert len(store.dataset("d_pca").get_fragments()) == COMPACT_AT_FRAGMENTS - 1
    assert written is not None and written.version == store.open("d_pca").version
    written = store.insert_new("d_pca", embedding_schema(DIM), [_rows("model-0", 9100, 9101)])
    assert len(store.dataset("d_pca").get_fragments()) == 1  # the eighth file: compacted
    assert written is not None and written.version == store.open("d_pca").version
    after = store.read_table("d_pca")
    assert after.num_rows == before.num_rows + COMPACT_AT_FRAGMENTS - 2
    assert after.slice(0, before.num_rows).equals(before)  # sorted by item_id: i0..., i9...
