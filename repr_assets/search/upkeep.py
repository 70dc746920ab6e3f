"""Keeping an embeddings table's ANN index current and tuned, right after each write."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import lance

from repr_assets.items.sampling import seeded_sample
from repr_assets.search.hits import recall_at_k
from repr_assets.search.index import (
    DEFAULT_INDEX_SETTINGS,
    IndexAction,
    IndexSettings,
    build_index,
    vector_index_state,
)
from repr_assets.search.searcher import Searcher
from repr_assets.search.tuning import (
    REFINE_FACTORS,
    TUNING_K,
    TUNING_QUERIES,
    AnnTuning,
    index_ids,
    probe_counts,
    store_tuning,
    stored_tuning,
)
from repr_assets.stores.lance import LanceStore


@dataclass(frozen=True)
class IndexReport:
    """What ``ensure_vector_index`` did to one table, and why."""

    table: str
    action: IndexAction
    rows: int
    indexed_rows: int
    unindexed_rows: int
    reason: str
    tuning: AnnTuning | None = None
    """How deep the index is probed, as measured after this action (none: no index)."""

    def describe(self) -> str:
        """``built (no cosine vector index yet); nprobes 9 of 123, refine x2: ...``."""
        tuned = "" if self.tuning is None else f"; {self.tuning.describe()}"
        return f"{self.action} ({self.reason}){tuned}"


def ensure_vector_index(
    store: LanceStore, table_name: str, settings: IndexSettings = DEFAULT_INDEX_SETTINGS
) -> IndexReport:
    """Give a large embeddings table a current ANN index; leave a small one alone.

    Call it right after the table is written. It builds the index when the table has
    reached ``settings.min_rows`` rows and has none; after upserts it adds the new rows
    to the index (``optimize``), or retrains the index when most rows are new (a new
    model version rewrites every vector, and the old partitions no longer fit them).
    Until then LanceDB scans unindexed rows by brute force, so results stay correct.
    """
    dataset = store.dataset(table_name)
    rows = dataset.count_rows()
    state = vector_index_state(dataset)
    if rows < settings.min_rows:
        # Brute force is as fast as the index here; an index left from a larger
        # version of the table is not used by search and is not worth updating.
        return IndexReport(
            table_name, "none", rows, 0, rows, f"{rows} rows < {settings.min_rows}: brute force"
        )

    def build() -> None:
        store.commit(
            table_name, "index", lambda: build_index(store.open(table_name), rows, settings)
        )

    action: IndexAction
    if state is None:
        build()
        action, reason = "built", "no cosine vector index yet"
    elif state.unindexed_rows == 0:
        action, reason = "current", "index is current"
    elif state.unindexed_rows > settings.rebuild_fraction * rows:
        build()
        action = "rebuilt"
        reason = f"{state.unindexed_rows} of {rows} rows are new since the index was trained"
    else:
        store.commit(table_name, "index", lambda: store.open(table_name).optimize())
        action, reason = "optimized", f"added {state.unindexed_rows} new rows to the index"
    tuning = ensure_tuned(store, table_name, settings)
    return _report(table_name, store.dataset(table_name), action, reason, tuning)


def ensure_tuned(store: LanceStore, table_name: str, settings: IndexSettings) -> AnnTuning:
    """The tuning of the table's current index, measured and stored now unless the newest
    version already holds one for this index and target."""
    stored = stored_tuning(store.dataset(table_name))
    if stored is not None and stored.target_recall == settings.target_recall:
        return stored
    searcher = Searcher(store, table_name, settings=settings, served=False)
    exact = Searcher(store, table_name, exact=True, settings=settings, served=False)
    assert searcher.ann is not None
    tuning = tune(searcher, exact, searcher.partitions, settings.target_recall)
    store.commit(table_name, "tune", lambda: store_tuning(store.dataset(table_name), tuning))
    return tuning


def _report(
    table_name: str,
    dataset: lance.LanceDataset,
    action: IndexAction,
    reason: str,
    tuning: AnnTuning,
) -> IndexReport:
    state = vector_index_state(dataset)
    if state is None:
        raise RuntimeError(f"LanceDB reports no vector index on {table_name!r} after {action}")
    rows = dataset.count_rows()
    return IndexReport(
        table_name, action, rows, state.indexed_rows, state.unindexed_rows, reason, tuning
    )


def tune(
    searcher: Searcher,
    exact: Searcher,
    partitions: int,
    target_recall: float,
    queries: int = TUNING_QUERIES,
    seed: int = 0,
) -> AnnTuning:
    """The fastest (``nprobes``, refine factor) whose recall@10 on ``queries`` seeded items
    of the table reaches ``target_recall``, against ``exact``; when no setting does, the
    deepest one (every partition, the largest refine factor).

    For each refine factor the probe depth doubles until the target is reached, then the
    fewest probes between the last two are found by bisection: recall grows with depth,
    and so does the time a query takes.
    """
    assert searcher.ann is not None, "tune needs a searcher on the ANN path"
    positions = seeded_sample(searcher.rows, queries, seed)
    item_ids = searcher.dataset.take(positions, columns=["item_id"]).column("item_id")
    ids: Sequence[str] = item_ids.to_pylist()
    truth = exact.search_ids(ids, TUNING_K)

    def measure(probes: int, refine: int) -> tuple[float, float]:
        searcher.ann.probes, searcher.ann.refine_factor = probes, refine  # type: ignore[union-attr]
        started = time.perf_counter()
        found = searcher.search_ids(ids, TUNING_K)
        seconds = time.perf_counter() - started
        return recall_at_k(found, truth), seconds * 1000 / len(ids)

    reached: list[tuple[float, int, int, float]] = []  # (ms, probes, refine, recall)
    deepest = (0.0, partitions, REFINE_FACTORS[-1], 0.0)
    for refine in REFINE_FACTORS:
        below, found = 0, None
        for probes in probe_counts(partitions):
            recall, ms = measure(probes, refine)
            if recall >= target_recall:
                found = (ms, probes, refine, recall)
                break
            below = probes
            if probes == partitions and refine == REFINE_FACTORS[-1]:
                deepest = (ms, probes, refine, recall)
        if found is None:
            continue
        high = found[1]
        while high - below > 1:  # the fewest probes in (below, high] that reach the target
            middle = (below + high) // 2
            recall, ms = measure(middle, refine)
            if recall >= target_recall:
                high, found = middle, (ms, middle, refine, recall)
            else:
                below = middle
        reached.append(found)
    ms, probes, refine, recall = min(reached) if reached else deepest
    return AnnTuning(
        probes,
        refine,
        partitions,
        target_recall,
        recall,
        len(ids),
        ms,
        index_ids(searcher.dataset),
    )
