"""The quality report of a data set, as one step: every metric per encoder, the baselines
its floors are measured against, and each encoder's checks.

A report is recomputed only when something it reads changed: the features, an encoder's
model or embeddings, or the report's settings (``report_key``). Otherwise the step says
the report is current and hands back the stored values, appending nothing, so that an
hourly run with nothing new leaves the history as it was.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import numpy as np

from repr_assets.cosine import cosine_topk
from repr_assets.datasets.specs import DatasetSpec
from repr_assets.encoders.pca import PCA
from repr_assets.encoders.registry import encoder_kind, load_encoder
from repr_assets.featurisers import load_featuriser
from repr_assets.items.augment import Augmentation, drop_words
from repr_assets.items.hashing import canonical_json, package_version, short_hash
from repr_assets.items.holdout import stratified_test_mask
from repr_assets.items.sampling import seeded_sample
from repr_assets.memory import release_free_memory
from repr_assets.names import embeddings_table, features_table, items_table
from repr_assets.pipeline import Connect
from repr_assets.pipeline.cross_checks import (
    FACTOR_NOTE,
    borrowed_versions,
    collapse_notes,
    previous_overlap,
    read_dataset_factors,
    transfer_metrics,
)
from repr_assets.quality.encoder_report import (
    EncoderReport,
    add_code_metrics,
    add_factor_metrics,
    add_input_metrics,
    baseline_report,
)
from repr_assets.quality.plots import embedding_map_png, neighbour_grid_png
from repr_assets.quality.thresholds import (
    BASELINE_ENCODER,
    Floor,
    ThresholdOutcome,
    check_thresholds,
    resolve_floors,
)
from repr_assets.search import search_recall
from repr_assets.search.tuning import stored_tuning
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.models import FEATURISER, ModelStore
from repr_assets.stores.reports import (
    MetricValue,
    ReportRun,
    last_report,
    record_report,
    reported,
)
from repr_assets.stores.vectors import (
    FeatureMatrix,
    load_features,
    load_vectors,
    read_texts,
)

GRID_QUERIES = 6
GRID_NEIGHBOURS = 7
# Spec fields that change neither what is measured nor how it is judged.
# What changes where or how long things are kept, not what a report computes.
NOT_REPORT_SETTINGS = (
    "owners",
    "description",
    "embed_shards",
    "executor",
    "dask_address",
    "keep_published",
    "retention_grace",
)


@dataclass
class QualityReport:
    """What a report step found. ``current``: nothing changed since the report of
    ``run_id``, whose values these are, so nothing was recomputed or written."""

    current: bool
    run_id: str
    values: dict[str, dict[str, float]]
    baselines: dict[str, float]
    floors: dict[str, Floor]
    versions: dict[str, str]
    notes: list[str] = field(default_factory=list)
    test_items: int = 0
    rows_written: int = 0
    figures: dict[str, bytes] = field(default_factory=dict)

    def outcomes(self, encoder: str) -> list[ThresholdOutcome]:
        return check_thresholds(self.values.get(encoder, {}), self.floors)


def report_key(spec: DatasetSpec, store: LanceStore, models: ModelStore) -> str:
    """A hash of everything a report reads: the features and each encoder's model and
    embeddings (their versions), and the report's settings."""
    settings = {k: v for k, v in dataclasses.asdict(spec).items() if k not in NOT_REPORT_SETTINGS}
    read = {
        "features": [store.dataset(features_table(spec.name)).version],
        "featuriser": models.latest_version(spec.name, FEATURISER),
        **{
            encoder: [
                models.latest_version(spec.name, encoder),
                store.dataset(embeddings_table(spec.name, encoder)).version,
            ]
            for encoder in spec.encoders
        },
        "transfer": borrowed_versions(spec, models),
    }
    return short_hash(package_version(), canonical_json(settings), canonical_json(read))


def run_quality_report(
    spec: DatasetSpec, store: LanceStore, models: ModelStore, connect: Connect, run_id: str
) -> QualityReport:
    """The report of ``spec``'s encoders: computed and appended to ``quality_metrics``
    when what it reads changed since the last one, else that one's values."""
    key = report_key(spec, store, models)
    with connect() as connection:
        last = last_report(connection, spec.name)
        if last is not None and last.report_key == key:
            return _stored_report(spec, connection, last.run_id)
    report = _compute(spec, store, models, run_id)
    computed_at = datetime.now(UTC).replace(tzinfo=None)
    featuriser = models.latest_version(spec.name, FEATURISER)
    rows = [
        MetricValue(spec.name, encoder, version, metric, value, run_id, computed_at)
        for encoder, version in [(BASELINE_ENCODER, featuriser), *report.versions.items()]
        for metric, value in (
            report.baselines if encoder == BASELINE_ENCODER else report.values[encoder]
        ).items()
    ]
    with connect() as connection:
        report.rows_written = record_report(
            connection, ReportRun(spec.name, key, run_id, computed_at), rows
        )
    return report


def _stored_report(
    spec: DatasetSpec, connection: duckdb.DuckDBPyConnection, run_id: str
) -> QualityReport:
    stored = reported(connection, spec.name, run_id)
    baselines = stored.values.get(BASELINE_ENCODER, {})
    return QualityReport(
        current=True,
        run_id=run_id,
        values={encoder: stored.values.get(encoder, {}) for encoder in spec.encoders},
        baselines=baselines,
        floors=resolve_floors(spec.thresholds, baselines),
        versions={e: v for e, v in stored.versions.items() if e != BASELINE_ENCODER},
    )


def _compute(
    spec: DatasetSpec, store: LanceStore, models: ModelStore, run_id: str
) -> QualityReport:
    name, encoders = spec.name, spec.encoders
    augmentations = load_featuriser(models, name)[0].augmentations()
    data = load_features(store, name)
    item_ids, labels = data.item_ids, data.labels
    test_mask = stratified_test_mask(item_ids, labels, seed=spec.seed)
    baselines = baseline_report(data.X, labels, test_mask, spec.seed)
    reports = {encoder: EncoderReport() for encoder in encoders}
    factors = read_dataset_factors(store, spec, item_ids, baselines)
    versions: dict[str, str] = {}
    texts: np.ndarray | None = None
    # First pass: the metrics that read the features. They are freed before the second
    # pass (probes, searches, plots): 256 MiB at a million items of 64 features.
    for encoder_name in encoders:
        encoder, saved = load_encoder(models, name, encoder_name)
        versions[encoder_name] = saved.version
        codes = _codes(store, name, encoder_name, item_ids)
        reads = encoder_kind(encoder_name).reads
        if reads == "text" and texts is None:
            texts = read_texts(store, name, item_ids)
        if reads == "image":
            # The augmentations change pixels of the features, not encoded image files.
            reports[encoder_name].notes.append(
                "invariance left out: it reads the images themselves, which the "
                "augmentations of the features do not change"
            )
        add_input_metrics(
            reports[encoder_name],
            encoder,
            data.X,
            codes.X,
            test_mask,
            spec.seed,
            augmentations=_augmentations_for(reads, augmentations),
            inputs=texts if reads == "text" else None,
        )
        if spec.encoders_from is not None and reads == "features":
            transfer_metrics(reports[encoder_name], spec, models, encoder_name, data, test_mask)
        elif spec.encoders_from is not None:
            reports[encoder_name].notes.append(
                f"transfer left out: {encoder_name} is pretrained, the same on every data set"
            )
        del encoder, codes
    del data, texts
    release_free_memory(len(item_ids))
    maps = {}
    widths: dict[str, int] = {}
    figures: dict[str, bytes] = {}
    for encoder_name in encoders:
        table = embeddings_table(name, encoder_name)
        codes = _codes(store, name, encoder_name, item_ids)
        report = reports[encoder_name]
        add_code_metrics(
            report, codes.X, labels, test_mask, spec.seed, embeddings=store.dataset(table)
        )
        if factors:
            add_factor_metrics(report, codes.X, factors, test_mask, spec.seed)
        # The newest version, which this report scores, not the one served until now.
        recall = search_recall(store, table, k=10, queries=200, seed=spec.seed, served=False)
        if recall is not None:
            report.add("recall_at_10", recall)
        tuning = stored_tuning(store.dataset(table))
        if tuning is not None:
            report.notes.append(f"search through the ANN index: {tuning.describe()}")
        overlap = previous_overlap(store, table, codes, spec.seed)
        if overlap is not None:
            report.add("neighbour_overlap_previous", overlap)
        maps[encoder_name] = map_points(codes.X, codes.labels, spec.seed)
        widths[encoder_name] = codes.X.shape[1]
        if spec.modality == "image":
            grid = _neighbour_grid(store, name, codes, test_mask, spec.seed)
            figures[f"neighbours_{encoder_name}"] = grid
        del codes  # before the next encoder's codes are read, not after
    figures = {"embedding_map": embedding_map_png(maps), **figures}
    # The baselines' notes (no labels, one class) are the encoders' own: not repeated,
    # but for those of the factors, which no encoder has.
    notes = [f"{e}: {note}" for e, report in reports.items() for note in report.notes]
    notes += [note for note in baselines.notes if note.startswith(FACTOR_NOTE)]
    notes += collapse_notes({e: report.values for e, report in reports.items()}, widths)
    return QualityReport(
        current=False,
        run_id=run_id,
        values={e: report.values for e, report in reports.items()},
        baselines=baselines.values,
        floors=resolve_floors(spec.thresholds, baselines.values),
        versions=versions,
        notes=notes,
        test_items=int(test_mask.sum()),
        figures=figures,
    )


def _augmentations_for(
    reads: str, featuriser_augmentations: dict[str, Augmentation]
) -> dict[str, Augmentation]:
    """What the invariance metrics change for an encoder that reads ``reads``: the
    featuriser's augmentations of the features, word dropout of raw texts, or nothing."""
    if reads == "text":
        return {"all": drop_words()}
    return featuriser_augmentations if reads == "features" else {}


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


# --- which items the pictures show ------------------------------------------------------

MAP_MAX_ITEMS = 3_000


def map_points(
    Z: np.ndarray, labels: list[str | None], seed: int
) -> tuple[np.ndarray, list[str | None]]:
    """A seeded sample of at most ``MAP_MAX_ITEMS`` codes projected on their first two
    principal axes, ``(m, 2)``, with the sample's labels."""
    sample = seeded_sample(len(Z), MAP_MAX_ITEMS, seed)
    codes = Z[sample]
    if codes.shape[1] <= 2:
        points = np.pad(codes, ((0, 0), (0, 2 - codes.shape[1])))
    else:
        points = PCA(2).fit(codes).transform(codes)
    return points, [labels[i] for i in sample]


def query_neighbours(
    Z: np.ndarray, candidates: np.ndarray, queries: int, k: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``queries`` seeded query rows drawn from ``candidates`` and their ``k`` cosine
    neighbours among all rows of ``Z`` (the query itself left out): ``(q,)``, ``(q, k)``."""
    chosen = candidates[seeded_sample(len(candidates), queries, seed)]
    return chosen, cosine_topk(Z[chosen], Z, k, exclude=chosen)
