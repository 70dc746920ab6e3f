"""Turning core results into Dagster UI metadata: images, preview tables, metric tables."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa


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


def metric_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> dg.MetadataValue:
    """Rows of metric values as a table; absent metrics are shown as empty cells."""
    schema = dg.TableSchema(
        columns=[dg.TableColumn(c, "string" if i == 0 else "float") for i, c in enumerate(columns)]
    )
    records = [
        dg.TableRecord({c: row.get(c) for c in columns if row.get(c) is not None}) for row in rows
    ]
    return dg.MetadataValue.table(records=records, schema=schema)
