"""Search throughput, measured in one run: our two paths, plain NumPy and LanceDB's search().

Synthetic vectors of low intrinsic dimension (16-d Gaussian codes mapped linearly to 128-d,
plus noise) are written to a LanceDB table and indexed as the embeddings assets index
theirs (``ensure_vector_index``). Queries are fresh points from the same distribution.

For each table size it prints queries per second, single and batched, recall@10 against
the exact path, and the ratios:
- the exact path against plain NumPy brute force over the same cached matrix;
- the ANN path against the exact path, for a ``Searcher`` kept for many queries (it has
  loaded the matrix and re-ranks the index's candidates from it) and for a one-off
  ``Searcher`` as ``repr-assets search`` makes (Lance re-ranks them from disk);
- the ANN path against LanceDB's own ``table.search()``, tuned over ``nprobes`` and
  ``refine_factor`` to the fastest setting whose recall@10 is at least ours.
Wall-clock times on a shared machine are noisy: each figure is the best of several rounds,
the contenders timed in turn, and the ratios, taken within one run, are what to compare.

    python -m benchmarks.search            # 100k and 1M rows (about four minutes on 2 cores)
    python -m benchmarks.search --quick    # 100k rows, fewer queries (about half a minute)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa

from repr_assets.cosine import normalise_rows
from repr_assets.items.schemas import vector_array
from repr_assets.pipeline.embed import embedding_schema
from repr_assets.search import Searcher, ensure_vector_index
from repr_assets.search.index import DEFAULT_INDEX_SETTINGS, IVF_MIN_ROWS
from repr_assets.stores.lance import LanceStore

DIM, LATENT, NOISE, K = 128, 16, 0.25, 10
TABLE = "bench_vectors"


def synthetic(rows: int, seed: int, chunk: int = 100_000) -> Iterator[np.ndarray]:
    """``rows`` vectors in chunks: ``LATENT``-d codes through a fixed linear map, plus noise."""
    mixing = np.random.default_rng(1234).standard_normal((LATENT, DIM)).astype(np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, rows, chunk):
        size = min(chunk, rows - start)
        codes = rng.standard_normal((size, LATENT), dtype=np.float32)
        yield codes @ mixing + NOISE * rng.standard_normal((size, DIM), dtype=np.float32)


def write_table(store: LanceStore, rows: int) -> None:
    schema = embedding_schema(DIM)

    def batches() -> Iterator[pa.RecordBatch]:
        start = 0
        for vectors in synthetic(rows, seed=0):
            ids = [f"item-{i:07d}" for i in range(start, start + len(vectors))]
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(ids),
                    pa.array([str(i % 10) for i in range(start, start + len(vectors))]),
                    pa.array([None] * len(vectors), pa.string()),
                    vector_array(vectors),
                    pa.array(["bench"] * len(vectors)),
                    pa.array(["bench"] * len(vectors)),
                ],
                schema=schema,
            )
            start += len(vectors)

    store.replace(TABLE, schema, batches())


def single_qps(
    runs: dict[str, Callable[[int], object]], count: int, budget_s: float, rounds: int
) -> dict[str, float]:
    """Queries per second of each ``run(i)``, one query a call, over up to ``count`` queries
    or ``budget_s`` a round; the best of ``rounds`` rounds, taken in turn, so that a slow
    spell of a shared machine falls on every contender alike."""
    best = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for name, run in runs.items():
            start, done = time.perf_counter(), 0
            while done < count and (done == 0 or time.perf_counter() - start < budget_s):
                run(done)
                done += 1
            best[name] = max(best[name], done / (time.perf_counter() - start))
    return best


def batched_qps(runs: dict[str, Callable[[], object]], count: int, rounds: int) -> dict[str, float]:
    """Queries per second of each ``run()``, which answers all ``count`` queries in one call;
    the best of ``rounds`` rounds, taken in turn."""
    best = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = max(best[name], count / (time.perf_counter() - start))
    return best


def numpy_top_k(matrix: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Plain NumPy brute force: one product, a partition, a sort of the k chosen."""
    scores = queries @ matrix.T
    chosen = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, chosen, axis=1), axis=1)
    return np.take_along_axis(chosen, order, axis=1)


def recall(found: list[list[str]], truth: list[list[str]]) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


@dataclass
class LanceDBSetting:
    nprobes: int
    refine_factor: int | None
    recall: float = 0.0
    single_qps: float = 0.0


def lancedb_search(table: lancedb.table.Table, setting: LanceDBSetting, query) -> pa.Table:
    """LanceDB's own search of one vector, or of a list of them (a batch)."""
    builder = table.search(query).distance_type("cosine").nprobes(setting.nprobes).limit(K)
    if setting.refine_factor:
        builder = builder.refine_factor(setting.refine_factor)
    return builder.select(["item_id", "label", "_distance"]).to_arrow()


def measure(
    rows: int, queries: np.ndarray, budget_s: float, rounds: int, workdir: Path
) -> dict[str, float]:
    store = LanceStore(workdir / f"lancedb-{rows}")
    started = time.perf_counter()
    write_table(store, rows)
    print(f"\n== {rows:,} rows x {DIM} (written in {time.perf_counter() - started:.1f}s)")
    started = time.perf_counter()
    # Indexed at any size here, to measure the ANN path where it would not be chosen too.
    settings = replace(DEFAULT_INDEX_SETTINGS, min_rows=IVF_MIN_ROWS)
    report = ensure_vector_index(store, TABLE, settings)
    print(f"index: {report.action} in {time.perf_counter() - started:.1f}s ({report.reason})")

    started = time.perf_counter()
    exact = Searcher(store, TABLE, exact=True).load()
    load_s = time.perf_counter() - started
    # The ANN path twice: a searcher kept for many queries, which has loaded the matrix and
    # re-ranks candidates from it, and a one-off searcher, as `repr-assets search` makes,
    # for which Lance re-ranks them from their stored vectors.
    ann = Searcher(store, TABLE, settings=settings).load()
    one_off = Searcher(store, TABLE, settings=settings)
    chosen = Searcher(store, TABLE).path
    print(f"repr-assets search takes the {chosen} path here; the matrix loads in {load_s:.2f}s")
    matrix, ids = exact.unit_matrix()  # the very matrix the exact path searches
    unit_queries = normalise_rows(queries.copy())
    count = len(queries)

    truth = [h.item_ids for h in exact.search(queries, K)]
    numpy_ids = [ids.take(pa.array(r)).to_pylist() for r in numpy_top_k(matrix, unit_queries, K)]
    figures = {
        "exact recall": recall(numpy_ids, truth),
        "ann recall": recall([h.item_ids for h in ann.search(queries, K)], truth),
        "one-off recall": recall([h.item_ids for h in one_off.search(queries, K)], truth),
    }

    table = store.open(TABLE)
    # The depth the index was tuned to (repr_assets.search.tuning); LanceDB's search() is
    # given the settings around it, and the fastest at our recall is its figure.
    tuning = report.tuning
    assert tuning is not None
    probes, refine = tuning.nprobes, tuning.refine_factor
    print(f"tuned: {tuning.describe()}")
    figures["tuned recall"] = tuning.recall
    figures["tuned ms per query"] = tuning.ms_per_query
    figures["tuned nprobes"] = tuning.nprobes
    figures["tuned refine factor"] = tuning.refine_factor
    figures["partitions"] = tuning.partitions
    candidates = [
        LanceDBSetting(max(1, round(probes * f)), r)
        for f in (0.5, 1, 1.5, 2)
        for r in (None, refine)
    ]
    for candidate in candidates:  # one pass each over every query: recall over the same set
        results: list[list[str]] = []
        start = time.perf_counter()
        for query in queries:
            results.append(lancedb_search(table, candidate, query).column("item_id").to_pylist())
        candidate.single_qps = count / (time.perf_counter() - start)
        candidate.recall = recall(results, truth)
    good = [c for c in candidates if c.recall >= figures["ann recall"]]
    best = max(good or candidates, key=lambda c: c.single_qps)
    figures["lancedb recall"] = best.recall
    print(
        "LanceDB search() (nprobes, refine_factor: recall@10, queries/s): "
        + "; ".join(
            f"{c.nprobes},{c.refine_factor}: {c.recall:.3f}, {c.single_qps:.0f}" for c in candidates
        )
    )
    print(
        f"fastest at recall >= ours: nprobes={best.nprobes}, refine_factor={best.refine_factor}"
        f" (ours: nprobes={probes}, refine_factor={refine})"
    )

    single = single_qps(
        {
            "numpy": lambda i: numpy_top_k(matrix, unit_queries[i : i + 1], K),
            "exact": lambda i: exact.search(queries[i], K),
            "ann": lambda i: ann.search(queries[i], K),
            "one-off": lambda i: one_off.search(queries[i], K),
            "lancedb": lambda i: lancedb_search(table, best, queries[i]),
        },
        count,
        budget_s,
        rounds,
    )
    batched = batched_qps(
        {
            "numpy": lambda: numpy_top_k(matrix, unit_queries, K),
            "exact": lambda: exact.search(queries, K),
            "ann": lambda: ann.search(queries, K),
            "one-off": lambda: one_off.search(queries, K),
            "lancedb": lambda: lancedb_search(table, best, list(queries)),
        },
        count,
        rounds,
    )
    figures.update({f"{name} single qps": qps for name, qps in single.items()})
    figures.update({f"{name} batched qps": qps for name, qps in batched.items()})
    return figures


def show(f: dict[str, float]) -> dict[str, float]:
    print(f"\n{'queries per second':<48}{'single':>10}{'batched':>10}{'recall@10':>11}")
    names = {
        "numpy": ("plain NumPy brute force", "exact recall"),
        "exact": ("exact path", None),
        "ann": ("ANN path, a searcher kept for many queries", "ann recall"),
        "one-off": ("ANN path, a one-off searcher (as the CLI)", "one-off recall"),
        "lancedb": ("LanceDB search() at equal recall", "lancedb recall"),
    }
    for key, (name, recall_key) in names.items():
        shown = f"{f[recall_key]:11.4f}" if recall_key else f"{1.0:11.4f}"
        print(f"  {name:<46}{f[key + ' single qps']:10.0f}{f[key + ' batched qps']:10.0f}{shown}")
    ratios = {
        "exact / numpy, single": f["exact single qps"] / f["numpy single qps"],
        "exact / numpy, batched": f["exact batched qps"] / f["numpy batched qps"],
        "ann / exact, single": f["ann single qps"] / f["exact single qps"],
        "ann / exact, batched": f["ann batched qps"] / f["exact batched qps"],
        "ann / lancedb, single": f["ann single qps"] / f["lancedb single qps"],
        "ann / lancedb, batched": f["ann batched qps"] / f["lancedb batched qps"],
        "one-off / lancedb, single": f["one-off single qps"] / f["lancedb single qps"],
        "one-off / exact, single": f["one-off single qps"] / f["exact single qps"],
    }
    print("ratios (ann: the kept searcher; lancedb: its search() at equal recall):")
    for name, ratio in ratios.items():
        print(f"  {name:<30}{ratio:8.2f}x")
    return ratios


@dataclass
class Goal:
    """A figure and the least value that meets its goal."""

    name: str
    value: float
    at_least: float

    @property
    def met(self) -> bool:
        return self.value >= self.at_least


def goals_for(rows: int, figures: dict[str, float], ratios: dict[str, float]) -> list[Goal]:
    """The search issue's goals that apply at ``rows`` (100k or 1M), each a figure or a
    ratio and the least value that meets it."""
    goals: list[Goal] = []
    if rows == 100_000:
        goals += [
            Goal("100k: exact >= 0.5x NumPy, single", ratios["exact / numpy, single"], 0.5),
            Goal("100k: exact recall 1.0", figures["exact recall"], 1.0),
        ]
    if rows == 1_000_000:
        goals += [
            Goal("1M: ANN recall@10 >= 0.95", figures["ann recall"], 0.95),
            Goal("1M: ANN >= 2x exact, single", ratios["ann / exact, single"], 2.0),
            Goal(
                "1M: ANN >= LanceDB search() at equal recall, single",
                ratios["ann / lancedb, single"],
                1.0,
            ),
        ]
    return goals


@dataclass
class SizeResult:
    rows: int
    figures: dict[str, float]
    ratios: dict[str, float]
    goals: list[Goal]


def run(
    sizes: list[int],
    count: int,
    budget_s: float,
    rounds: int,
    workdir: Path | None = None,
) -> list[SizeResult]:
    """Measure every table size in turn (printing each as it goes); the figures as data."""
    queries = next(synthetic(count, seed=99))
    results = []
    with tempfile.TemporaryDirectory(prefix="repr-assets-bench-") as scratch:
        for rows in sizes:
            figures = measure(rows, queries, budget_s, rounds, workdir or Path(scratch))
            ratios = show(figures)
            results.append(SizeResult(rows, figures, ratios, goals_for(rows, figures, ratios)))
    return results


def settings_for(quick: bool) -> tuple[list[int], int, float, int]:
    """Table sizes, queries, seconds a round and rounds of the quick or the full run."""
    if quick:
        return [100_000], 100, 1.0, 2
    return [100_000, 1_000_000], 200, 2.0, 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows, 100 queries")
    parser.add_argument("--rows", type=int, nargs="+", help="table sizes (default 100k 1M)")
    parser.add_argument("--queries", type=int, help="queries (default 200; 100 with --quick)")
    parser.add_argument("--workdir", type=Path, help="keep the tables here (default: a temp dir)")
    args = parser.parse_args()
    sizes, count, budget_s, rounds = settings_for(args.quick)
    results = run(args.rows or sizes, args.queries or count, budget_s, rounds, args.workdir)
    print("\ngoals:")
    for goal in (goal for result in results for goal in result.goals):
        print(f"  {'met' if goal.met else 'MISSED':<8}{goal.name}")


if __name__ == "__main__":
    main()
