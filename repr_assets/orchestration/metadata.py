"""Turning core results into Dagster UI metadata: images, preview tables, metric tables."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

import dagster as dg
import pyarrow as pa

from repr_assets.compare import MetricRanking
from repr_assets.ingest import IngestResult
from repr_assets.integrity import distinct_labels
from repr_assets.plots import image_grid_png
from repr_assets.stores.lance import LanceStore

# Metadata keys that ``repr_assets.orchestration.run`` reads back into a ``RunSummary``.
INGEST_LINE = "summary"
NEW_ITEMS = "new_items"
QUARANTINED = "quarantined"
HELD_BACK = "held_back"
NEVER_SERVED = "never_served"
REPORT_CURRENT = "current"


def image(png: bytes, alt: str) -> dg.MetadataValue:
    """A PNG shown inline in the asset's metadata (Markdown with a data URI)."""
    encoded = base64.b64encode(png).decode()
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{encoded})")


def _column_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "float"
    return "string"


def preview(table: pa.Table, rows: int = 5) -> dg.MetadataValue:
    """The first ``rows`` rows as a table; vectors are shown shortened."""
    head = table.slice(0, rows).to_pylist()
    records = [dg.TableRecord({k: _cell(v) for k, v in row.items()}) for row in head]
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(
                f.name,
                "string"
                if pa.types.is_list(f.type) or pa.types.is_fixed_size_list(f.type)
                else _column_type(f.type),
            )
            for f in table.schema
        ]
    )
    return dg.MetadataValue.table(records=records, schema=schema)


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        shown = ", ".join(f"{x:.3f}" for x in value[:4])
        return f"[{shown}{', …' if len(value) > 4 else ''}] ({len(value)})"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def ranking_table(rankings: Sequence[MetricRanking]) -> dg.MetadataValue:
    """A row per metric, a column per encoder ("value (rank)", "-" when not computed) and
    the best encoder: the comparison of the encoders, metric by metric."""
    encoders = list(rankings[0].values) if rankings else []
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn("metric", "string"),
            *(dg.TableColumn(e, "string") for e in encoders),
            dg.TableColumn("best", "string"),
        ]
    )
    records = []
    for ranking in rankings:
        cells: dict[str, Any] = {"metric": ranking.metric}
        for encoder in encoders:
            value = ranking.values[encoder]
            cells[encoder] = "-" if value is None else f"{value:.4f} ({ranking.rank(encoder)})"
        cells["best"] = ranking.best or "-"
        records.append(dg.TableRecord(cells))
    return dg.MetadataValue.table(records=records, schema=schema)


def ingest_metadata(result: IngestResult, store: LanceStore) -> dict[str, Any]:
    """The items asset's metadata: where every entry went, and a preview of the table."""
    head = store.head(result.table, 16)
    extra = {}
    if "image" in head.column_names:
        png = image_grid_png(head.column("image").to_pylist(), head.column("label").to_pylist())
        extra["samples"] = image(png, "sample items")
        head = head.drop_columns(["image"])
    return {
        "table": result.table,
        "source": result.source,
        INGEST_LINE: result.summary(),
        "dagster/row_count": result.total_items,
        "entries_read": result.entries,
        NEW_ITEMS: result.new_items,
        "ingested_before": result.already_ingested,
        "duplicates_dropped": result.duplicates_dropped,
        QUARANTINED: len(result.quarantined),
        "set_aside_before": result.set_aside_before,
        "not_items": dg.MetadataValue.json(result.not_items),
        "classes": len(distinct_labels(store, result.table)),
        "lance_version": result.version,
        "preview": preview(head),
        **extra,
    }
