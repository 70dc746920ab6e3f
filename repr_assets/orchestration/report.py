"""The ``quality_report`` asset: every metric per encoder, its history in DuckDB, its checks."""

from collections.abc import Sequence
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.items.hashing import canonical_json, short_hash
from repr_assets.names import QUALITY_REPORT
from repr_assets.orchestration import metadata
from repr_assets.orchestration.common import asset_fields, asset_key
from repr_assets.orchestration.resources import LanceDBResource, ModelStoreResource
from repr_assets.orchestration.versions import report_code_version
from repr_assets.pipeline.report import QualityReport, run_quality_report
from repr_assets.quality.compare import format_value, rank_encoders
from repr_assets.quality.thresholds import THRESHOLD_CHECKS, describe_floor


def build_quality_report_asset(
    spec: DatasetSpec, encoders: Sequence[str], embeddings: Sequence[dg.AssetsDefinition]
) -> dg.AssetsDefinition:
    name = spec.name
    key = asset_key(spec, QUALITY_REPORT)
    check_specs = [
        dg.AssetCheckSpec(
            f"{encoder}_{metric}_at_least",
            asset=key,
            description=f"{encoder}: {metric} {describe_floor(metric, spec.thresholds)}. {guards}",
        )
        for encoder in encoders
        for metric, guards in THRESHOLD_CHECKS
    ]

    @dg.asset(
        **asset_fields(
            spec,
            QUALITY_REPORT,
            kinds={"duckdb"},
            code_version=report_code_version(spec),
            description=(
                f"The quality metrics of each encoder of {name} (docs/interface.md), "
                "appended to the DuckDB table ``quality_metrics`` with model version and run "
                "id, with the baselines its floors are measured against; a 2-D map of each "
                "embedding and, for images, query images with their nearest neighbours. "
                "Recomputed only when the features, a model, an embeddings table or a "
                "report setting changed."
            ),
        ),
        deps=list(embeddings),
        check_specs=check_specs,
    )
    def quality_report(
        context: dg.AssetExecutionContext,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
        duckdb: DuckDBResource,
    ) -> dg.MaterializeResult:
        report = run_quality_report(
            spec,
            lancedb.get_store(),
            model_store.get_store(),
            duckdb.get_connection,
            context.run_id,
        )
        if report.current:
            context.log.info(f"the report is current: nothing changed since run {report.run_id}")
        for encoder, values in report.values.items():
            context.log.info(
                f"{encoder}: " + ", ".join(f"{k}={format_value(v)}" for k, v in values.items())
            )
        for note in report.notes:
            context.log.warning(note)
        return dg.MaterializeResult(
            data_version=dg.DataVersion(short_hash(canonical_json(report.values))),
            metadata=_metadata(report),
            check_results=[
                result for encoder in encoders for result in _check_results(encoder, report)
            ],
        )

    return quality_report


def _metadata(report: QualityReport) -> dict[str, Any]:
    floors = "\n".join(
        f"- {floor.metric}: {'-' if floor.minimum is None else format_value(floor.minimum)} "
        f"({floor.source})"
        for floor in report.floors.values()
    )
    figures = {
        figure: metadata.image(png, "2-D map" if figure == "embedding_map" else "neighbours")
        for figure, png in report.figures.items()
    }
    return {
        metadata.REPORT_CURRENT: report.current,
        "reported_by_run": report.run_id,
        "metrics_written": report.rows_written,
        "test_items": report.test_items,
        "metrics": metadata.ranking_table(rank_encoders(report.values)),
        "baselines": dg.MetadataValue.json(report.baselines),
        "floors": dg.MetadataValue.md(floors),
        "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in report.notes) or "none"),
        **figures,
    }


def _check_results(encoder: str, report: QualityReport) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=f"{encoder}_{outcome.check}",
            passed=outcome.passed,
            metadata={
                "value": outcome.value if outcome.value is not None else "not computed",
                "minimum": outcome.minimum if outcome.minimum is not None else "none",
                "floor": outcome.source,
            },
            description=None if outcome.value is not None else f"{outcome.metric} not computed",
        )
        for outcome in report.outcomes(encoder)
    ]
