"""The asset graph of one data set, built by ``build_representation_assets``.

    items -> features -> {encoder}_model -> {encoder}_embeddings --> quality_report
                      (one model and one embeddings asset per encoder of the data set)
                                                                 --> served_embeddings

Each asset body calls one step of ``repr_assets.pipeline`` and turns its result into
``MaterializeResult`` metadata (``repr_assets.orchestration.metadata``).
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.encoders.kind import EncoderKind
from repr_assets.encoders.registry import check_encoders, configured, encoder_kind
from repr_assets.names import FEATURES, ITEMS, embeddings_table, items_table, model_asset
from repr_assets.orchestration import metadata
from repr_assets.orchestration.checks import build_embedding_checks
from repr_assets.orchestration.common import asset_fields
from repr_assets.orchestration.config import (
    FeaturesConfig,
    encoder_config_schema,
    run_encoder_config,
)
from repr_assets.orchestration.embeddings import build_embeddings_asset
from repr_assets.orchestration.progress import epoch_logger, read_logger, row_logger
from repr_assets.orchestration.publish import build_publish_asset
from repr_assets.orchestration.report import build_quality_report_asset
from repr_assets.orchestration.resources import LanceDBResource, ModelStoreResource
from repr_assets.orchestration.versions import (
    encoder_code_version,
    features_code_version,
    source_code_version,
)
from repr_assets.pipeline.featurise import featurise
from repr_assets.pipeline.fit import fit_encoder
from repr_assets.pipeline.ingest import ingest

AssetList = list[dg.AssetsDefinition | dg.AssetChecksDefinition]


def build_representation_assets(spec: DatasetSpec) -> AssetList:
    """The assets and checks of ``spec``, keyed under its name and grouped by it.

    Add them to your own ``Definitions`` together with ``build_resources(home)``::

        spec = DatasetSpec(name="digits", modality="image", image_size=8)
        defs = dg.Definitions(
            assets=build_representation_assets(spec),
            resources=build_resources(Home.at(".repr_assets")),
        )
    """
    check_encoders(spec.encoders, spec.modality, spec.name)
    items = _items_asset(spec)
    features = _features_asset(spec, items)
    kinds = [encoder_kind(encoder) for encoder in spec.encoders]
    models = {kind.name: _model_asset(spec, kind, features) for kind in kinds}
    embeddings = {k.name: build_embeddings_asset(spec, k, models[k.name]) for k in kinds}
    report = build_quality_report_asset(spec, list(embeddings), list(embeddings.values()))
    checks: AssetList = []
    for encoder, asset in embeddings.items():
        checks += build_embedding_checks(spec, asset.key, embeddings_table(spec.name, encoder))
    served = build_publish_asset(spec, list(embeddings), report)
    return [items, features, *models.values(), *embeddings.values(), report, served, *checks]


def _items_asset(spec: DatasetSpec) -> dg.AssetsDefinition:
    @dg.asset(
        **asset_fields(
            spec,
            ITEMS,
            kinds={"lancedb"},
            code_version=source_code_version(spec),
            description=(
                f"Raw items of {spec.name} with stable ``item_id`` s, added to the LanceDB "
                f"table ``{items_table(spec.name)}``: new items only, each once. Items that "
                "cannot be read are set aside in the DuckDB table ``quarantine`` with the "
                f"reason. Every entry of the source is counted once. {spec.description}"
            ),
        ),
        tags={"modality": spec.modality},
    )
    def items(
        context: dg.AssetExecutionContext, lancedb: LanceDBResource, duckdb: DuckDBResource
    ) -> dg.MaterializeResult:
        store = lancedb.get_store()
        result = ingest(spec, store, duckdb.get_connection, context.run_id, read_logger(context))
        context.log.info(result.summary())
        for item in result.quarantined[:20]:
            context.log.warning(f"quarantined {item.ref}: {item.reason}")
        return dg.MaterializeResult(
            data_version=dg.DataVersion(f"{result.table}@{result.version}"),
            metadata=metadata.ingest_metadata(result, store),
        )

    return items


def _features_asset(spec: DatasetSpec, items: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        **asset_fields(
            spec,
            FEATURES,
            kinds={"numpy", "lancedb"},
            code_version=features_code_version(spec),
            description=(
                f"Items turned into float32 feature rows ({spec.modality} featuriser, fitted "
                "on the training items and reused for new ones), upserted into the LanceDB "
                f"table ``{spec.name}_features``. An item with no finite features is set "
                "aside in ``quarantine`` and removed from the data set's tables."
            ),
        ),
        deps=[items],
    )
    def features(
        context: dg.AssetExecutionContext,
        config: FeaturesConfig,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
        duckdb: DuckDBResource,
    ) -> dg.MaterializeResult:
        written = featurise(
            spec,
            lancedb.get_store(),
            model_store.get_store(),
            duckdb.get_connection,
            context.run_id,
            refit=config.refit,
            progress=row_logger(context, "featurised"),
        )
        context.log.info(written.summary())
        for item in written.set_aside[:20]:
            context.log.warning(f"quarantined {item.ref}: {item.reason}")
        return dg.MaterializeResult(
            data_version=dg.DataVersion(f"{written.featuriser.version}@{written.write.version}"),
            metadata=metadata.features_metadata(written),
        )

    return features


def _model_asset(
    spec: DatasetSpec, kind: EncoderKind, features: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    """Fits ``kind`` on the training split, unless a saved fit still serves."""
    config = configured(kind, spec.encoder_options.get(kind.name, {}))

    @dg.asset(
        **asset_fields(
            spec,
            model_asset(kind.name),
            kinds={kind.compute_kind},
            code_version=encoder_code_version(spec, kind.name, config.values()),
            description=f"{kind.summary} A saved fit with the same parameters and "
            "featuriser is kept unless ``refit`` is set.",
        ),
        deps=[features],
        config_schema=encoder_config_schema(kind, config),
    )
    def model(
        context: dg.AssetExecutionContext,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
        duckdb: DuckDBResource,
    ) -> dg.MaterializeResult:
        run_config = run_encoder_config(kind, context.op_config)
        fit = fit_encoder(
            spec,
            kind,
            run_config,
            lancedb.get_store(),
            model_store.get_store(),
            duckdb.get_connection,
            context.run_id,
            refit=bool(context.op_config["refit"]),
            progress=epoch_logger(context),
        )
        context.log.info(metadata.fit_line(kind.name, fit))
        return dg.MaterializeResult(
            data_version=dg.DataVersion(fit.version), metadata=metadata.fit_metadata(fit)
        )

    return model
