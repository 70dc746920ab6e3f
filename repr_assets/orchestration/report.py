"""The ``quality_report`` asset: every metric per encoder, its history in DuckDB, its checks."""

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg
import numpy as np
from dagster_duckdb import DuckDBResource

from repr_assets.augment import drop_words
from repr_assets.compare import rank_encoders
from repr_assets.datasets import DatasetSpec
from repr_assets.embed import read_texts
from repr_assets.encoders.registry import encoder_kind
from repr_assets.features import FeatureMatrix, load_features, load_vectors
from repr_assets.figures import map_points, query_neighbours
from repr_assets.hashing import canonical_json, short_hash
from repr_assets.holdout import stratified_test_mask
from repr_assets.memory import release_free_memory
from repr_assets.orchestration import metadata
from repr_assets.orchestration.pool import STORE_POOL
from repr_assets.orchestration.resources import LanceDBResource, ModelStoreResource
from repr_assets.orchestration.versions import report_code_version
from repr_assets.plots import embedding_map_png, neighbour_grid_png
from repr_assets.quality import EncoderReport, add_code_metrics, add_input_metrics
from repr_assets.search import search_recall
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.reports import MetricValue, append_metrics
from repr_assets.tables import embeddings_table, items_table
from repr_assets.thresholds import THRESHOLD_CHECKS, check_thresholds

GRID_QUERIES = 6
GRID_NEIGHBOURS = 7


def build_quality_report_asset(
    spec: DatasetSpec, encoders: Sequence[str], embeddings: Sequence[dg.AssetsDefinition]
) -> dg.AssetsDefinition:
    name = spec.name
    key = dg.AssetKey([name, "quality_report"])
    thresholds = spec.thresholds
    check_specs = [
        dg.AssetCheckSpec(
            f"{encoder}_{metric}_at_least",
            asset=key,
            description=f"{encoder}: {metric} >= {getattr(thresholds, field)}. {guards}",
        )
        for encoder in encoders
        for metric, field, guards in THRESHOLD_CHECKS
    ]

    @dg.asset(
        key=key,
        deps=list(embeddings),
        group_name=name,
        kinds={"duckdb"},
        check_specs=check_specs,
        code_version=report_code_version(spec),
        owners=list(spec.owners),
        pool=STORE_POOL,
        description=(
            f"The quality metrics of each encoder of {name} (INTERFACE.md), appended to the "
            "DuckDB table ``quality_metrics`` with model version and run id; a 2-D map of "
            "each embedding and, for images, query images with their nearest neighbours."
        ),
    )
    def quality_report(
        context: dg.AssetExecutionContext,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
        duckdb: DuckDBResource,
    ) -> dg.MaterializeResult:
        store = lancedb.get_store()
        models = model_store.get_store()
        augmentations = models.load_featuriser(name)[0].augmentations()
        data = load_features(store, name)
        item_ids, labels = data.item_ids, data.labels
        test_mask = stratified_test_mask(item_ids, labels, seed=spec.seed)
        reports = {encoder_name: EncoderReport() for encoder_name in encoders}
        versions: dict[str, str] = {}
        texts: np.ndarray | None = None
        # First pass: the metrics that read the features. They are freed before the second
        # pass (probes, searches, plots): 256 MiB at a million items of 64 features.
        for encoder_name in encoders:
            encoder, saved = models.load(name, encoder_name)
            versions[encoder_name] = saved.version
            codes = _codes(store, name, encoder_name, item_ids)
            reads_text = encoder_kind(encoder_name).reads == "text"
            if reads_text and texts is None:
                texts = read_texts(store, name, item_ids)
            add_input_metrics(
                reports[encoder_name],
                encoder,
                data.X,
                codes.X,
                test_mask,
                spec.seed,
                augmentations={"all": drop_words()} if reads_text else augmentations,
                inputs=texts if reads_text else None,
            )
            del encoder, codes
        del data, texts
        release_free_memory()
        computed_at = datetime.now(UTC).replace(tzinfo=None)
        rows: list[MetricValue] = []
        values_by_encoder: dict[str, dict[str, float]] = {}
        check_results: list[dg.AssetCheckResult] = []
        notes: list[str] = []
        maps = {}
        grids = {}
        for encoder_name in encoders:
            table = embeddings_table(name, encoder_name)
            codes = _codes(store, name, encoder_name, item_ids)
            report = reports[encoder_name]
            add_code_metrics(
                report,
                codes.X,
                labels,
                test_mask,
                spec.seed,
                embeddings=store.open(table).to_lance(),
            )
            recall = search_recall(store, table, k=10, queries=200, seed=spec.seed)
            if recall is not None:
                report.add("recall_at_10", recall)
            shown = ", ".join(f"{k}={v:.4f}" for k, v in report.values.items())
            context.log.info(f"{encoder_name}: {shown}")
            notes += [f"{encoder_name}: {note}" for note in report.notes]
            version = versions[encoder_name]
            rows += [
                MetricValue(name, encoder_name, version, metric, value, context.run_id, computed_at)
                for metric, value in report.values.items()
            ]
            values_by_encoder[encoder_name] = report.values
            check_results += _check_results(encoder_name, report.values, spec)
            maps[encoder_name] = map_points(codes.X, codes.labels, spec.seed)
            if spec.modality == "image":
                grids[encoder_name] = _neighbour_grid(store, name, codes, test_mask, spec.seed)
            del codes  # before the next encoder's codes are read, not after
        with duckdb.get_connection() as connection:
            append_metrics(connection, rows)
        for note in notes:
            context.log.warning(note)
        figures = {"embedding_map": metadata.image(embedding_map_png(maps), "2-D map")}
        for encoder_name, png in grids.items():
            figures[f"neighbours_{encoder_name}"] = metadata.image(png, "nearest neighbours")
        return dg.MaterializeResult(
            data_version=dg.DataVersion(short_hash(canonical_json(values_by_encoder))),
            metadata={
                "metrics_written": len(rows),
                "test_items": int(test_mask.sum()),
                "metrics": metadata.ranking_table(rank_encoders(values_by_encoder)),
                "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in notes) or "none"),
                **figures,
            },
            check_results=check_results,
        )

    return quality_report


def _check_results(
    encoder: str, values: dict[str, float], spec: DatasetSpec
) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=f"{encoder}_{outcome.check}",
            passed=outcome.passed,
            metadata={
                "value": outcome.value if outcome.value is not None else "not computed",
                "minimum": outcome.minimum,
            },
            description=None if outcome.value is not None else f"{outcome.metric} not computed",
        )
        for outcome in check_thresholds(values, spec.thresholds)
    ]


def _neighbour_grid(
    store: LanceStore, dataset: str, codes: FeatureMatrix, test_mask: np.ndarray, seed: int
) -> bytes:
    candidates = np.flatnonzero(test_mask) if test_mask.any() else np.arange(len(codes.X))
    queries, neighbours = query_neighbours(codes.X, candidates, GRID_QUERIES, GRID_NEIGHBOURS, seed)
    wanted = {codes.item_ids[i] for i in [*queries, *neighbours.ravel()]}
    images = store.take(items_table(dataset), sorted(wanted), columns=["item_id", "image"])
    image_of = dict(
        zip(images.column("item_id").to_pylist(), images.column("image").to_pylist(), strict=True)
    )
    rows = [
        (
            image_of[codes.item_ids[q]],
            codes.labels[q],
            [(image_of[codes.item_ids[n]], codes.labels[n]) for n in row],
        )
        for q, row in zip(queries, neighbours, strict=True)
    ]
    return neighbour_grid_png(rows, "query (blue) and nearest neighbours: green = same label")


def _codes(store: LanceStore, dataset: str, encoder: str, item_ids: list[str]) -> FeatureMatrix:
    """The encoder's embeddings, in the features' item order (checked)."""
    codes = load_vectors(store, embeddings_table(dataset, encoder))
    if codes.item_ids != item_ids:
        raise ValueError(
            f"the {encoder} embeddings do not cover the same items as the features "
            f"({len(codes.item_ids)} vs {len(item_ids)} rows): "
            f"materialise {encoder}_embeddings again"
        )
    # Equal lists, so one serves both (75 MiB of strings at a million items).
    return dataclasses.replace(codes, item_ids=item_ids)
