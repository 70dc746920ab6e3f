"""Fitting one encoder, as one step: on the training split of the current features,
unless a saved fit of the same config on the same featuriser still serves.

A refit is a decision (``refit``, or the refit schedule), not a side effect of growth:
new items are embedded by the model that embedded the others, keeping its version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.encoders.config import EncoderConfig
from repr_assets.encoders.kind import Encoder, EncoderKind, TrainingProgress
from repr_assets.featurisers import load_featuriser
from repr_assets.items.hashing import canonical_json, model_version
from repr_assets.items.holdout import stratified_test_mask
from repr_assets.pipeline import Connect
from repr_assets.quality.invariance_report import COMBINED_AUGMENTATION
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.model_records import record_model
from repr_assets.stores.models import FEATURISER, SPLIT_SEED, ModelStore, SavedModel
from repr_assets.stores.vectors import load_features, read_texts


@dataclass(frozen=True)
class Fit:
    """What a fitting step did: ``encoder`` is the model fitted now, or ``None`` when the
    saved one (``saved``) still serves. ``trained``: ``False`` for a pretrained encoder;
    ``notes``: what the step changed of what it was asked."""

    version: str
    fitted_items: int
    saved: SavedModel
    encoder: Encoder | None = None
    trained: bool = True
    notes: tuple[str, ...] = ()

    @property
    def fitted_now(self) -> bool:
        return self.encoder is not None


def fit_encoder(
    spec: DatasetSpec,
    kind: EncoderKind,
    config: EncoderConfig,
    store: LanceStore,
    models: ModelStore,
    connect: Connect,
    run_id: str,
    *,
    refit: bool = False,
    progress: TrainingProgress | None = None,
) -> Fit:
    """Fit ``kind`` with ``config`` on ``spec``'s training items, save it, and record it
    in the DuckDB table ``models``; or keep the saved fit when it still serves."""
    featuriser = models.record(spec.name, FEATURISER)
    n_features = int(featuriser.meta["dim"])
    encoder = kind.build(config, n_features)
    notes = _narrowed(config, encoder, n_features)
    kept = None if refit else _reusable(models, spec, kind.name, encoder.params)
    if kept is not None:
        fitted_items = int(kept.meta.get("fitted_items", 0))
        return Fit(kept.version, fitted_items, kept, None, kind.trains, notes)
    inputs, augmentation, data_version = _training_inputs(spec, kind, store, models)
    encoder.fit(inputs, augmentation=augmentation, progress=progress)
    version = model_version(encoder.kind, encoder.params, data_version)
    fitted = len(inputs)
    meta = {
        "run_id": run_id,
        "fitted_items": fitted,
        "featuriser_version": featuriser.version,
        SPLIT_SEED: spec.seed,
    }
    saved = models.save(spec.name, kind.name, encoder, version, meta)
    with connect() as connection:
        record_model(connection, spec.name, kind.name, version, encoder.params, fitted, run_id)
    return Fit(version, fitted, saved, encoder, kind.trains, notes)


def _narrowed(config: EncoderConfig, encoder: Encoder, n_features: int) -> tuple[str, ...]:
    """A note when the code is narrower than asked: never wider than its input."""
    asked = getattr(config, "latent_dim", None)
    if asked is None or encoder.latent_dim >= asked:
        return ()
    return (
        f"latent_dim {asked} cut to {encoder.latent_dim}: a code is never wider than its "
        f"{n_features} features",
    )


def _reusable(
    models: ModelStore, spec: DatasetSpec, encoder: str, params: dict[str, Any]
) -> SavedModel | None:
    """The saved fit of ``encoder`` when it was fitted with ``params`` on the training
    split of ``spec``'s seed, on features of the current featuriser; else ``None``."""
    saved = models.latest(spec.name, encoder)
    featuriser = models.latest(spec.name, FEATURISER)
    if saved is None or featuriser is None:
        return None
    same_params = canonical_json(saved.meta.get("params")) == canonical_json(params)
    same_features = saved.meta.get("featuriser_version") == featuriser.version
    # Another seed is another split: a model fitted on the old one has seen test items.
    same_split = saved.meta.get(SPLIT_SEED, 0) == spec.seed
    return saved if same_params and same_features and same_split else None


def _training_inputs(
    spec: DatasetSpec, kind: EncoderKind, store: LanceStore, models: ModelStore
) -> tuple[Any, Any, str]:
    """What the encoder fits on (the training rows' features, or their raw texts), the
    modality's augmentation, and the version of the data fitted on."""
    data = load_features(store, spec.name)
    train = ~stratified_test_mask(data.item_ids, data.labels, seed=spec.seed)
    data_version = f"{data.data_version}:split-seed-{spec.seed}"
    if kind.reads == "text":
        ids = [item for item, is_train in zip(data.item_ids, train, strict=True) if is_train]
        return read_texts(store, spec.name, ids), None, data_version
    if kind.reads == "image":  # pretrained on images: its fit reads nothing
        return [], None, data_version
    featuriser, _ = load_featuriser(models, spec.name)
    augmentation = featuriser.augmentations().get(COMBINED_AUGMENTATION)
    # The training rows are copied out: the whole matrix need not outlive this function.
    return data.X[train], augmentation, data_version
