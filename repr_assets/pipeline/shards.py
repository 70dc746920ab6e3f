"""Vectors computed in item shards, written in one commit.

Each shard computes the rows of one contiguous range of the source table, at the version
fixed by the plan, into a staging table of its own run; shards can therefore run at once,
in separate processes or machines. One writer then upserts every staged row into the
target in a single commit, exactly as one unsplit ``write_vectors`` would, and drops the
staging tables. Staging tables live in a sibling database (``<uri>-staging``), so that
nothing a user queries ever lists them, and a run that dies half-way leaves the target as
it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pyarrow as pa

from repr_assets.pipeline.vectorise import (
    Compute,
    Progress,
    current_ids,
    vector_batches,
    vectors_schema,
)
from repr_assets.stores.lance import LanceStore, WriteResult

_RUN = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class ShardPlan:
    """``rows`` rows of ``source`` at ``version``, cut into ``shards`` contiguous ranges by
    the run ``run``, whose staging tables no other run touches."""

    source: str
    version: int
    rows: int
    shards: int
    run: str

    def bounds(self, shard: int) -> tuple[int, int]:
        if not 0 <= shard < self.shards:
            raise ValueError(f"shard {shard} is not one of the plan's {self.shards}")
        return shard * self.rows // self.shards, (shard + 1) * self.rows // self.shards


def plan_shards(store: LanceStore, source: str, shards: int, run: str) -> ShardPlan:
    """Fix the source version every shard reads, so that they cut the same rows."""
    if shards < 1:
        raise ValueError(f"the number of shards must be at least 1, got {shards}")
    if not _RUN.match(run):
        raise ValueError(f"run {run!r} may hold only letters, digits and hyphens")
    table = store.dataset(source)
    return ShardPlan(source, table.version, table.count_rows(), shards, run)


def staging_store(store: LanceStore) -> LanceStore:
    return LanceStore(store.uri.rstrip("/") + "-staging", locks=store.locks)


def staging_table(target: str, run: str, shard: int, shards: int) -> str:
    return f"{target}__{run}__shard_{shard}_of_{shards}"


def compute_shard(
    store: LanceStore,
    plan: ShardPlan,
    shard: int,
    target: str,
    dim: int,
    compute: Compute,
    constants: Mapping[str, str],
    current_by: str | None = None,
    batch_size: int = 8192,
    progress: Progress | None = None,
) -> int:
    """Stage the target rows of one shard (without rows ``target`` holds as current, as
    ``write_vectors`` leaves them out); the number of rows staged."""
    schema = vectors_schema(dim, constants)
    current = current_ids(store, target, schema, current_by, constants)
    start, stop = plan.bounds(shard)
    source = store.dataset(plan.source, plan.version)
    batches = source.to_batches(batch_size=batch_size, offset=start, limit=stop - start)
    staged = staging_store(store).replace(
        staging_table(target, plan.run, shard, plan.shards),
        schema,
        vector_batches(batches, schema, compute, constants, current, progress, stop - start),
    )
    return staged.rows_written


def write_shards(store: LanceStore, plan: ShardPlan, target: str) -> WriteResult:
    """Upsert every shard's staged rows into ``target`` in one commit, then drop them."""
    staging = staging_store(store)
    names = [staging_table(target, plan.run, k, plan.shards) for k in range(plan.shards)]
    missing = [name for name in names if not staging.exists(name)]
    if missing:
        raise ValueError(
            f"shards {', '.join(missing)} of {target} were not computed (in {staging.uri}); "
            "nothing was written"
        )
    schema = staging.dataset(names[0]).schema

    def staged() -> Iterator[pa.RecordBatch]:
        for name in names:
            yield from staging.read_batches(name)

    result = store.upsert(target, schema, staged())
    drop_staging(store, target, plan.run)
    return result


def staging_runs(store: LanceStore, target: str) -> set[str]:
    """The runs that have staging tables of ``target``."""
    prefix = f"{target}__"
    return {
        name[len(prefix) :].split("__shard_")[0]
        for name in staging_store(store).table_names()
        if name.startswith(prefix) and "__shard_" in name
    }


def drop_staging(store: LanceStore, target: str, run: str) -> None:
    """Drop the staging tables of ``target`` made by ``run`` (say, one that failed)."""
    staging = staging_store(store)
    prefix = f"{target}__{run}__shard_"
    for name in staging.table_names():
        if name.startswith(prefix):
            staging.drop(name)
