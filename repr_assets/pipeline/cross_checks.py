"""Report metrics that look beyond one encoder's own codes: the same-named encoder of
another data set (transfer), the model served until now (drift), the data set's factor
columns, and PCA beside a trained encoder (collapse)."""

from __future__ import annotations

import numpy as np

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.encoders.kind import input_width
from repr_assets.encoders.registry import load_encoder
from repr_assets.items.sampling import seeded_sample
from repr_assets.metrics.drift import neighbour_overlap
from repr_assets.metrics.factors import Factor, read_factors
from repr_assets.quality.compare import format_value
from repr_assets.quality.encoder_report import EncoderReport, add_transfer_metrics
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.models import ModelNotFoundError, ModelStore
from repr_assets.stores.serving import model_version_of, served_version
from repr_assets.stores.vectors import FeatureMatrix, load_vectors_at, read_item_columns


def borrowed_versions(spec: DatasetSpec, models: ModelStore) -> dict[str, str | None]:
    """The model version of each encoder of ``spec.encoders_from`` the report scores."""
    if spec.encoders_from is None:
        return {}
    versions: dict[str, str | None] = {}
    for encoder in spec.encoders:
        try:
            versions[encoder] = models.latest_version(spec.encoders_from, encoder)
        except ModelNotFoundError:
            versions[encoder] = None
    return versions


COLLAPSE_PROBE_MARGIN = 0.02


def collapse_notes(values: dict[str, dict[str, float]], widths: dict[str, int]) -> list[str]:
    """One line per encoder with a decoder that collapsed (its held-out explained variance
    is not positive: it decodes about the mean row), or whose linear probe falls more than
    ``COLLAPSE_PROBE_MARGIN`` below PCA's at the same code size (``widths``)."""
    pca_probe = values.get("pca", {}).get("linear_probe_accuracy")
    notes = []
    for encoder, own in values.items():
        if encoder == "pca" or "explained_variance" not in own:
            continue
        variance = own["explained_variance"]
        if variance <= 0:
            notes.append(
                f"{encoder}: collapsed: it decodes about the mean row (held-out explained "
                f"variance {format_value(variance)})"
            )
            continue
        probe = own.get("linear_probe_accuracy")
        same_size = widths.get(encoder) == widths.get("pca")
        if probe is None or pca_probe is None or not same_size:
            continue
        if probe < pca_probe - COLLAPSE_PROBE_MARGIN:
            notes.append(
                f"{encoder}: its code keeps less of the classes than PCA's of the same size "
                f"(linear probe {format_value(probe)} against {format_value(pca_probe)})"
            )
    return notes


def transfer_metrics(
    report: EncoderReport,
    spec: DatasetSpec,
    models: ModelStore,
    encoder_name: str,
    data: FeatureMatrix,
    test_mask: np.ndarray,
) -> None:
    """Score the ``encoder_name`` fitted on ``spec.encoders_from`` on this data set's
    features, or say in a note why it cannot be."""
    assert spec.encoders_from is not None
    other = spec.encoders_from
    try:
        borrowed, _ = load_encoder(models, other, encoder_name)
    except ModelNotFoundError:
        report.notes.append(f"transfer left out: data set {other!r} has no fitted {encoder_name}")
        return
    width = input_width(borrowed)
    if width != data.X.shape[1]:
        report.notes.append(
            f"transfer left out: {other}'s {encoder_name} reads {width} features, this data "
            f"set has {data.X.shape[1]}"
        )
        return
    codes = borrowed.transform(data.X)
    add_transfer_metrics(report, codes, data.labels, test_mask, spec.seed)


FACTOR_NOTE = "a factor left out"


def read_dataset_factors(
    store: LanceStore, spec: DatasetSpec, item_ids: list[str], baselines: EncoderReport
) -> list[Factor]:
    """The data set's factor columns, for the items of the features. A column that cannot
    serve as a factor (a missing value, one value) is left out with a note in
    ``baselines``; the others still are factors."""
    if not spec.factor_columns:
        return []
    columns = read_item_columns(store, spec.name, item_ids, spec.factor_columns)
    factors = []
    for name, values in columns.items():
        try:
            factors += read_factors({name: values})
        except ValueError as error:
            baselines.notes.append(f"{FACTOR_NOTE}: {error}")
    return factors


DRIFT_MAX_ITEMS = 2_000


def previous_overlap(
    store: LanceStore, table: str, codes: FeatureMatrix, seed: int
) -> float | None:
    """``neighbour_overlap`` of the codes a refit wrote (``codes``, the newest version)
    with those of the model served until now, over a seeded sample of at most
    ``DRIFT_MAX_ITEMS`` of the items both hold; ``None`` when nothing is served, or the
    served version's model is the newest one (new items, no refit)."""
    served = served_version(store.dataset(table))
    if served is None or model_version_of(store, table, served) == model_version_of(store, table):
        return None
    before = load_vectors_at(store, table, served)
    position = {item_id: row for row, item_id in enumerate(before.item_ids)}
    common = [row for row, item_id in enumerate(codes.item_ids) if item_id in position]
    if len(common) <= 10:
        return None
    rows = np.asarray(common)
    previous = before.X[[position[codes.item_ids[row]] for row in common]]
    sample = seeded_sample(len(rows), DRIFT_MAX_ITEMS, seed)
    return neighbour_overlap(previous, codes.X[rows], sample, k=10)
