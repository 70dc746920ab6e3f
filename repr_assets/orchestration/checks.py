"""Blocking integrity checks on each embeddings table."""

import dagster as dg

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.names import items_table
from repr_assets.orchestration.resources import LanceDBResource
from repr_assets.stores.integrity import count_non_finite_vectors, coverage


def build_embedding_checks(
    spec: DatasetSpec, asset_key: dg.AssetKey, table: str
) -> list[dg.AssetChecksDefinition]:
    """``vectors_finite`` and ``one_row_per_item`` for the embeddings table ``table``.

    Both block: a failure stops the run before anything downstream (the quality report)
    reads the table.
    """

    @dg.asset_check(
        asset=asset_key,
        name="vectors_finite",
        blocking=True,
        description=(
            "Guards against NaN or Inf vectors (a diverged model, a bad input) reaching "
            "vector search, where they poison every distance."
        ),
    )
    def vectors_finite(lancedb: LanceDBResource) -> dg.AssetCheckResult:
        rows, bad = count_non_finite_vectors(lancedb.get_store(), table)
        return dg.AssetCheckResult(
            passed=bad == 0 and rows > 0,
            metadata={"rows": rows, "non_finite_rows": bad},
            description=None if bad == 0 else f"{bad} of {rows} vectors hold NaN or Inf",
        )

    @dg.asset_check(
        asset=asset_key,
        name="one_row_per_item",
        blocking=True,
        description=(
            "Guards against duplicated rows (a retried write) and missing or stale items: "
            f"the table must hold exactly one row per item of {items_table(spec.name)}."
        ),
    )
    def one_row_per_item(lancedb: LanceDBResource) -> dg.AssetCheckResult:
        found = coverage(lancedb.get_store(), table, items_table(spec.name))
        return dg.AssetCheckResult(
            passed=found.one_row_per_item,
            metadata={
                "rows": found.rows,
                "distinct_item_ids": found.distinct_ids,
                "items": found.items,
                "missing_items": found.missing,
                "extra_rows": found.extra,
            },
        )

    return [vectors_finite, one_row_per_item]
