"""Turning core results into Dagster UI metadata: images, preview tables, metric tables."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

import dagster as dg
import pyarrow as pa

from repr_assets.items.hashing import canonical_json
from repr_assets.pipeline.embed import Embedded
from repr_assets.pipeline.featurise import FeaturesWritten
from repr_assets.pipeline.fit import Fit
from repr_assets.pipeline.ingest import IngestResult
from repr_assets.pipeline.publish import EncoderPublication
from repr_assets.quality.compare import MetricRanking, format_value
from repr_assets.quality.plots import image_grid_png, loss_curve_png, scree_png
from repr_assets.stores.integrity import distinct_labels
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.retention import mebibytes

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
            cells[encoder] = (
                "-" if value is None else f"{format_value(value)} ({ranking.rank(encoder)})"
            )
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


def features_metadata(written: FeaturesWritten) -> dict[str, Any]:
    featuriser = written.featuriser
    how = "fitted" if written.refitted else "reused"
    return {
        "table": written.write.table,
        "dagster/row_count": written.write.total_rows,
        "featurised_now": written.write.rows_written,
        QUARANTINED: len(written.set_aside),
        "dimensions": featuriser.dim,
        "featuriser_version": featuriser.version,
        "featuriser": f"{featuriser.kind} ({how}) {canonical_json(featuriser.params)}",
    }


def fit_line(encoder: str, fit: Fit) -> str:
    if not fit.trained:
        line = f"{encoder} {fit.version}: pretrained, nothing to fit"
    elif fit.fitted_now:
        line = f"{encoder} {fit.version}: fitted on {fit.fitted_items} items"
        history = getattr(fit.encoder, "history_", None)
        if history is not None and history.train_loss:
            epochs = len(history.train_loss)
            rows = f" of {history.train_rows:,} rows" if history.train_rows else ""
            stop = "stopped early" if history.stopped_early else "the whole budget"
            line += (
                f" in {epochs} epoch{'s' * (epochs != 1)}{rows} ({stop}; best {history.best_epoch})"
            )
    else:
        line = (
            f"kept {encoder} {fit.version}, fitted by run {fit.saved.meta.get('run_id')}: "
            "same parameters and featuriser (refit to fit again)"
        )
    return "; ".join((line, *fit.notes))


def fit_metadata(fit: Fit) -> dict[str, Any]:
    """What a fit shows in the UI: its version and size, and for a model fitted now the
    scree plot of a PCA or the loss curve of a training."""
    meta: dict[str, Any] = {
        "model_version": fit.version,
        "fitted_now": fit.fitted_now,
        "fitted_items": fit.fitted_items,
    }
    if fit.notes:
        meta["notes"] = "; ".join(fit.notes)
    if fit.encoder is None:
        meta["fitted_by_run"] = str(fit.saved.meta.get("run_id"))
        return meta
    meta["latent_dim"] = fit.encoder.latent_dim
    ratios = getattr(fit.encoder, "explained_variance_ratio_", None)
    if ratios is not None:
        meta["explained_variance"] = float(ratios.sum())
        meta["scree_plot"] = image(scree_png(ratios), "scree plot")
    history = getattr(fit.encoder, "history_", None)
    if history is not None and history.train_loss:
        best = history.best_epoch - 1
        curve = loss_curve_png(history.train_loss, history.validation_loss, history.best_epoch)
        meta.update(
            {
                "epochs_run": len(history.train_loss),
                "best_epoch": history.best_epoch,
                "stopped_early": history.stopped_early,
                "final_train_loss": history.train_loss[best],
                "final_validation_loss": history.validation_loss[best],
                "loss_curve": image(curve, "loss curve"),
            }
        )
    return meta


def embedded_metadata(embedded: Embedded) -> dict[str, Any]:
    written, index = embedded.write, embedded.index
    return {
        "table": written.table,
        "dagster/row_count": written.total_rows,
        "dimensions": embedded.latent_dim,
        "model_version": embedded.model_version,
        "lance_version": written.version,
        "vector_index": index.describe(),
        "preview": preview(embedded.preview),
    }


def publish_metadata(published: Sequence[EncoderPublication]) -> dict[str, Any]:
    """The decisions as a table, and the encoders held back and never served."""
    rows = [
        f"| {p.encoder} | {p.model_version} | {p.decision.version} | "
        f"{'none' if p.decision.served is None else p.decision.served} | "
        f"{'published' if p.decision.published else 'held back'}: {p.decision.reason} |"
        for p in published
    ]
    header = "| encoder | model | newest | served | decision |\n|---|---|---|---|---|\n"
    kept = [
        f"| {p.encoder} | {', '.join(map(str, p.retained.kept))} | "
        f"{p.retained.removed_versions} | {mebibytes(p.retained.bytes_removed)} |"
        for p in published
    ]
    kept_header = "| encoder | versions kept | versions removed | removed |\n|---|---|---|---|\n"
    return {
        "served": dg.MetadataValue.md(header + "\n".join(rows)),
        "retention": dg.MetadataValue.md(kept_header + "\n".join(kept)),
        # Each encoder held back with why: failed checks, a rollback, no report yet.
        HELD_BACK: {p.encoder: p.decision.reason for p in published if not p.decision.published},
        NEVER_SERVED: [p.encoder for p in published if p.decision.served is None],
    }
