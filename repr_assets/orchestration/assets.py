"""The asset graph of one data set, built by ``build_representation_assets``.

    items -> features -> {encoder}_model -> {encoder}_embeddings --> quality_report
                      (one model and one embeddings asset per encoder of the data set)
                                                                 --> served_embeddings

Every asset persists its result to a store (LanceDB, the model store or DuckDB) and
returns ``MaterializeResult`` metadata; the computing is done by the core.
"""

from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from repr_assets.datasets import DatasetSpec
from repr_assets.embed import read_texts
from repr_assets.encoders.registry import (
    EncoderKind,
    check_encoders,
    effective_defaults,
    encoder_kind,
)
from repr_assets.features import featurise_items, load_features, quarantine_recorder
from repr_assets.hashing import canonical_json, model_version
from repr_assets.holdout import stratified_test_mask
from repr_assets.orchestration import metadata
from repr_assets.orchestration.checks import build_embedding_checks
from repr_assets.orchestration.config import FeaturesConfig, encoder_config_schema, encoder_params
from repr_assets.orchestration.embeddings import build_embeddings_asset
from repr_assets.orchestration.pool import STORE_POOL
from repr_assets.orchestration.progress import epoch_logger, read_logger, row_logger
from repr_assets.orchestration.publish import build_publish_asset
from repr_assets.orchestration.report import build_quality_report_asset
from repr_assets.orchestration.resources import LanceDBResource, ModelStoreResource
from repr_assets.orchestration.versions import (
    encoder_code_version,
    features_code_version,
    source_code_version,
)
from repr_assets.pipeline.ingest import ingest
from repr_assets.plots import loss_curve_png, scree_png
from repr_assets.quality import COMBINED_AUGMENTATION
from repr_assets.refit import reusable_fit
from repr_assets.stores.model_records import record_model
from repr_assets.stores.models import FEATURISER, ModelStore, SavedModel
from repr_assets.tables import embeddings_table, features_table, items_table


def build_representation_assets(
    spec: DatasetSpec,
) -> list[dg.AssetsDefinition | dg.AssetChecksDefinition]:
    """The assets and checks of ``spec``, keyed under its name and grouped by it.

    Add them to your own ``Definitions`` together with ``build_resources(home)``::

        spec = DatasetSpec(name="digits", modality="image", image_size=8)
        defs = dg.Definitions(
            assets=build_representation_assets(spec),
            resources=build_resources(Home.at(".repr_assets")),
        )
    """
    name = spec.name

    def key(asset: str) -> dg.AssetKey:
        return dg.AssetKey([name, asset])

    @dg.asset(
        key=key("items"),
        group_name=name,
        kinds={"lancedb"},
        code_version=source_code_version(spec),
        tags={"modality": spec.modality},
        owners=list(spec.owners),
        pool=STORE_POOL,
        description=(
            f"Raw items of {name} with stable ``item_id`` s, added to the LanceDB table "
            f"``{items_table(name)}``: new items only, each once. Items that cannot be read "
            f"are set aside in the DuckDB table ``quarantine`` with the reason. "
            f"{spec.description}"
        ),
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

    @dg.asset(
        key=key("features"),
        deps=[items],
        group_name=name,
        kinds={"numpy", "lancedb"},
        code_version=features_code_version(spec),
        owners=list(spec.owners),
        pool=STORE_POOL,
        description=(
            f"Items turned into float32 feature rows ({spec.modality} featuriser, fitted on "
            f"the training items and reused for new ones), upserted into the LanceDB table "
            f"``{features_table(name)}``."
        ),
    )
    def features(
        context: dg.AssetExecutionContext,
        config: FeaturesConfig,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
        duckdb: DuckDBResource,
    ) -> dg.MaterializeResult:
        written = featurise_items(
            spec,
            lancedb.get_store(),
            model_store.get_store(),
            quarantine_recorder(duckdb.get_connection, spec, context.run_id),
            refit=config.refit,
            progress=row_logger(context, "featurised"),
        )
        featuriser = written.featuriser
        how = "fitted" if written.refitted else "reused"
        context.log.info(
            f"featuriser {featuriser.version} ({how}): {written.write.rows_written} items "
            f"featurised into {featuriser.dim} features, {len(written.set_aside)} set aside"
        )
        for item in written.set_aside[:20]:
            context.log.warning(f"quarantined {item.ref}: {item.reason}")
        return dg.MaterializeResult(
            data_version=dg.DataVersion(f"{featuriser.version}@{written.write.version}"),
            metadata={
                "table": written.write.table,
                "dagster/row_count": written.write.total_rows,
                "featurised_now": written.write.rows_written,
                "quarantined": len(written.set_aside),
                "dimensions": featuriser.dim,
                "featuriser_version": featuriser.version,
                "featuriser": f"{featuriser.kind} ({how}) {canonical_json(featuriser.params)}",
            },
        )

    check_encoders(spec.encoders, spec.modality, name)
    kinds = [encoder_kind(encoder) for encoder in spec.encoders]
    models = {kind.name: _model_asset(spec, kind, features) for kind in kinds}
    embeddings = {
        kind.name: build_embeddings_asset(spec, kind, models[kind.name]) for kind in kinds
    }

    quality_report = build_quality_report_asset(spec, list(embeddings), list(embeddings.values()))
    served = build_publish_asset(spec, list(embeddings), quality_report)

    checks: list[dg.AssetChecksDefinition] = []
    for encoder_name, asset in embeddings.items():
        checks += build_embedding_checks(spec, asset.key, embeddings_table(name, encoder_name))
    return [
        items,
        features,
        *models.values(),
        *embeddings.values(),
        quality_report,
        served,
        *checks,
    ]


def _model_asset(
    spec: DatasetSpec, kind: EncoderKind, features: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    """Fits ``kind`` on the training split, unless a saved fit still serves."""
    name = spec.name
    options = spec.encoder_options.get(kind.name, {})

    @dg.asset(
        key=dg.AssetKey([name, f"{kind.name}_model"]),
        deps=[features],
        group_name=name,
        kinds={kind.compute_kind},
        config_schema=encoder_config_schema(kind, options),
        code_version=encoder_code_version(spec, kind.name, effective_defaults(kind, options)),
        owners=list(spec.owners),
        pool=STORE_POOL,
        description=f"{kind.summary} A saved fit with the same parameters and featuriser is "
        "kept unless ``refit`` is set.",
    )
    def model(
        context: dg.AssetExecutionContext,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
        duckdb: DuckDBResource,
    ) -> dg.MaterializeResult:
        models = model_store.get_store()
        config = context.op_config
        params = encoder_params(kind, config)
        encoder = kind.build(params, _feature_dim(models, name))
        kept = reusable_fit(models, name, kind.name, encoder.params, bool(config["refit"]))
        if kept is not None:
            return _kept_result(context, kept)
        store = lancedb.get_store()
        data = load_features(store, name)
        train = ~stratified_test_mask(data.item_ids, data.labels, seed=spec.seed)
        data_version = f"{data.data_version}:split-seed-{spec.seed}"
        if kind.reads == "text":
            inputs: Any = read_texts(
                store, name, [i for i, t in zip(data.item_ids, train, strict=True) if t]
            )
            augmentation = None
        else:
            inputs = data.X[train]
            featuriser, _ = models.load_featuriser(name)
            augmentation = featuriser.augmentations().get(COMBINED_AUGMENTATION)
        del data  # the training rows are copied out: the whole matrix need not outlive them
        epochs = int(params.get("epochs", 0))
        kind.fit(encoder, inputs, augmentation, epoch_logger(context, epochs or 1))
        version = model_version(encoder.kind, encoder.params, data_version)
        fitted = int(train.sum())
        models.save(name, kind.name, encoder, version, _fit_meta(context, models, fitted))
        with duckdb.get_connection() as connection:
            record_model(
                connection, name, kind.name, version, encoder.params, fitted, context.run_id
            )
        context.log.info(f"{kind.name} {version}: fitted on {fitted} items")
        return dg.MaterializeResult(
            data_version=dg.DataVersion(version),
            metadata={
                "model_version": version,
                "fitted_now": True,
                "latent_dim": encoder.latent_dim,
                "fitted_items": fitted,
                **_fit_figures(encoder),
            },
        )

    return model


def _fit_figures(encoder: Any) -> dict[str, Any]:
    """What a fit shows in the UI: the scree plot of a PCA, the loss curve of a training."""
    figures: dict[str, Any] = {}
    ratios = getattr(encoder, "explained_variance_ratio_", None)
    if ratios is not None:
        figures["explained_variance"] = float(ratios.sum())
        figures["scree_plot"] = metadata.image(scree_png(ratios), "scree plot")
    history = getattr(encoder, "history_", None)
    if history is not None and history.train_loss:
        best = history.best_epoch - 1
        figures.update(
            {
                "epochs_run": len(history.train_loss),
                "best_epoch": history.best_epoch,
                "stopped_early": history.stopped_early,
                "final_train_loss": history.train_loss[best],
                "final_validation_loss": history.validation_loss[best],
                "loss_curve": metadata.image(
                    loss_curve_png(history.train_loss, history.validation_loss, history.best_epoch),
                    "loss curve",
                ),
            }
        )
    return figures


def _fit_meta(
    context: dg.AssetExecutionContext, models: ModelStore, fitted_items: int
) -> dict[str, object]:
    featuriser = models.latest_version(context.asset_key.path[0], FEATURISER)
    return {
        "run_id": context.run_id,
        "fitted_items": fitted_items,
        "featuriser_version": featuriser,
    }


def _feature_dim(models: ModelStore, dataset: str) -> int:
    """Width of the features, from the saved featuriser's record."""
    return int(models.record(dataset, FEATURISER).meta["dim"])


def _kept_result(context: dg.AssetExecutionContext, kept: SavedModel) -> dg.MaterializeResult:
    context.log.info(
        f"kept {kept.encoder} {kept.version}, fitted by run {kept.meta.get('run_id')}: same "
        "parameters and featuriser (refit to fit again)"
    )
    return dg.MaterializeResult(
        data_version=dg.DataVersion(kept.version),
        metadata={
            "model_version": kept.version,
            "fitted_now": False,
            "fitted_by_run": str(kept.meta.get("run_id")),
            "fitted_items": int(kept.meta.get("fitted_items", 0)),
        },
    )
