"""Writers at once on one table: eight processes upserting overlapping ids, two publishers
racing on the ``served`` tag, a commit that meets a conflict.

Without the table locks, Lance commits each of eight overlapping upserts as if it were
alone, and the table holds ids twice (450 distinct ids in 600 rows, seen here): the
union and the duplicate count below tell the two apart.
"""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.items.schemas import vector_array, vector_schema
from repr_assets.pipeline.publish import publish_encoders
from repr_assets.stores.lance import CONFLICT_RETRIES, LanceStore
from repr_assets.stores.serving import served_version
from tests.pipeline.test_publish import GOOD, report, write_version

WRITERS = 8


def _ids(writer: int) -> list[str]:
    """Writer ``w`` writes ids 50w .. 50w+99: half shared with the next writer, and writer
    7's second half its own."""
    return [f"item-{k:04d}" for k in range(writer * 50, writer * 50 + 100)]


def _batch(writer: int) -> pa.RecordBatch:
    ids = _ids(writer)
    vectors = np.full((len(ids), 4), float(writer), dtype=np.float32)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ids),
            pa.array([str(writer)] * len(ids)),
            pa.nulls(len(ids), pa.string()),
            vector_array(vectors),
        ],
        schema=vector_schema(4),
    )


def _upsert(uri: str, writer: int, start: multiprocessing.synchronize.Event) -> None:
    store = LanceStore(uri)
    start.wait()
    store.upsert("t", vector_schema(4), [_batch(writer)])
    # What the note on concurrency reports: the commit conflicts this writer retried.
    Path(uri, f"retries-{writer}").write_text(str(sum(CONFLICT_RETRIES.values())))


def test_eight_processes_upserting_at_once_leave_the_union_with_no_duplicates(tmp_path):
    store = LanceStore(tmp_path / "lancedb")
    store.replace("t", vector_schema(4), [_batch(0)])
    # Lance's runtime does not survive fork: the writers start as fresh interpreters.
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    writers = [
        context.Process(target=_upsert, args=(store.uri, w, start)) for w in range(1, WRITERS)
    ]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join(timeout=240)
    assert [process.exitcode for process in writers] == [0] * (WRITERS - 1)

    retries = [int(Path(store.uri, f"retries-{w}").read_text()) for w in range(1, WRITERS)]
    print(f"commit conflicts retried by the {WRITERS - 1} writers: {retries}")
    table = store.read_table("t", ["item_id", "label"])
    ids = table.column("item_id").to_pylist()
    expected = sorted({i for w in range(WRITERS) for i in _ids(w)})
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} duplicated ids"
    assert ids == expected  # the union: nothing lost
    # Each row holds what one of the writers of its id wrote, whole.
    writers_of = {i: {str(w) for w in range(WRITERS) if i in _ids(w)} for i in expected}
    labels = table.column("label").to_pylist()
    assert all(label in writers_of[i] for i, label in zip(ids, labels, strict=True))


def _race_two_publishers(spec: DatasetSpec, store: LanceStore, reports: Path) -> list:
    barrier = threading.Barrier(2)
    results: list = []

    def publisher() -> None:
        barrier.wait()
        results.extend(publish_encoders(spec, store, lambda: duckdb.connect(str(reports)), "run"))

    threads = [threading.Thread(target=publisher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_publishers_racing_on_one_tag_give_one_result_recorded_once(tmp_path):
    spec = DatasetSpec(name="d", modality="tabular", encoders=("pca",))
    for attempt in range(3):  # a race is a race: three tries at it
        store = LanceStore(tmp_path / f"lancedb-{attempt}")
        reports = tmp_path / f"reports-{attempt}.duckdb"
        version = write_version(store, f"model-{attempt}")
        report(reports, f"model-{attempt}", GOOD, attempt, baselines=True)
        results = _race_two_publishers(spec, store, reports)

        reasons = sorted(r.decision.reason for r in results)
        assert reasons == ["already served", "checks passed (first publication)"]
        assert served_version(store.dataset("d_pca")) == version
        with duckdb.connect(str(reports)) as connection:
            recorded = connection.execute(
                "SELECT table_version, model_version, action FROM publications"
            ).fetchall()
        assert recorded == [(version, f"model-{attempt}", "publish")]


def test_a_commit_that_meets_a_conflict_is_tried_again_and_counted(tmp_path):
    store = LanceStore(tmp_path / "lancedb")
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("Retryable commit conflict for version 4: preempted by concurrent Merge")
        return "committed"

    before = CONFLICT_RETRIES["test"]
    assert store.commit("t", "test", flaky) == "committed"
    assert CONFLICT_RETRIES["test"] - before == 2


def test_any_other_error_of_a_commit_is_raised_at_once(tmp_path):
    store = LanceStore(tmp_path / "lancedb")
    calls = []

    def broken() -> None:
        calls.append(1)
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"):
        store.commit("t", "test", broken)
    assert len(calls) == 1


def test_a_write_inside_a_write_of_the_same_table_does_not_wait_for_itself(tmp_path):
    store = LanceStore(tmp_path / "lancedb")

    def nested() -> None:
        with store.writing("t"):
            store.replace("t", vector_schema(4), [_batch(0)])  # locks "t" again, same thread

    writer = threading.Thread(target=nested, daemon=True)  # a deadlock would hang it
    writer.start()
    writer.join(timeout=60)
    assert not writer.is_alive(), "the nested write waited for its own lock"
    assert store.count("t") == 100
    assert Path(store.locks, "t.lock").exists()
