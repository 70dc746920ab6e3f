"""The kinds of encoder a data set can name, and how the pipeline builds, fits and feeds each.

Each encoder module ends with a ``KIND = EncoderKind(...)``: its name, its configuration
(the defaults are the run config the Dagster asset offers), how to build an encoder from
that configuration and how to fit it. Adding an encoder is writing one such module and
naming it in ``BUILTIN_MODULES``, or, from another package, declaring it under the entry
point group ``repr_assets.encoders`` (``name = "package.module:KIND"``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

import numpy as np

from repr_assets.augment import Augmentation
from repr_assets.encoders.training import ProgressCallback, TrainingSettings

BUILTIN_MODULES = (
    "repr_assets.encoders.pca",
    "repr_assets.encoders.autoencoder",
    "repr_assets.encoders.denoising",
    "repr_assets.encoders.contrastive",
    "repr_assets.encoders.minilm",
)
ENTRY_POINT_GROUP = "repr_assets.encoders"
DEFAULT_ENCODERS = ("pca", "autoencoder")
ALL_MODALITIES = ("image", "text", "tabular")

Fit = Callable[[Any, Any, Augmentation | None, ProgressCallback | None], None]


@dataclass(frozen=True)
class EncoderKind:
    """One kind of encoder, as the pipeline sees it.

    ``build(config, n_features)`` makes an unfitted encoder from the run config (the
    ``defaults`` overridden by the user); ``fit(encoder, inputs, augmentation, progress)``
    fits it on the training inputs: the feature matrix, or the raw texts when ``reads`` is
    ``"text"``. ``augmentation`` is the modality's, as the invariance metrics use it.
    ``load(directory)`` reads back what the encoder's ``save`` wrote.
    """

    name: str
    summary: str
    defaults: Mapping[str, Any]
    build: Callable[[Mapping[str, Any], int], Any]
    fit: Fit
    load: Callable[[Path], Any]
    reads: Literal["features", "text"] = "features"
    modalities: tuple[str, ...] = ALL_MODALITIES
    compute_kind: str = "pytorch"
    descriptions: Mapping[str, str] = field(default_factory=dict)


class UnknownEncoderError(ValueError):
    pass


def encoder_kinds() -> dict[str, EncoderKind]:
    """Every encoder kind: the built-in ones, then those other packages declare."""
    kinds: dict[str, EncoderKind] = {}
    for module in BUILTIN_MODULES:
        kind = importlib.import_module(module).KIND
        kinds[kind.name] = kind
    for point in entry_points(group=ENTRY_POINT_GROUP):
        kind = point.load()
        kinds.setdefault(kind.name, kind)
    return kinds


def encoder_kind(name: str) -> EncoderKind:
    kinds = encoder_kinds()
    try:
        return kinds[name]
    except KeyError:
        raise UnknownEncoderError(
            f"unknown encoder {name!r}; the known encoders are: {', '.join(kinds)}"
        ) from None


def load_saved_encoder(kind: str, directory: Path) -> Any:
    """The encoder of ``kind`` saved in ``directory``."""
    return encoder_kind(kind).load(directory)


def check_encoders(names: tuple[str, ...], modality: str, dataset: str) -> None:
    """Refuse an unknown encoder, a repeated one, or one that cannot read this modality."""
    if not names:
        raise UnknownEncoderError("name at least one encoder")
    if len(set(names)) != len(names):
        raise UnknownEncoderError(f"an encoder is named twice: {', '.join(names)}")
    for name in names:
        kind = encoder_kind(name)
        if modality not in kind.modalities:
            raise UnknownEncoderError(
                f"encoder {name!r} reads {' or '.join(kind.modalities)} items, but data set "
                f"{dataset!r} holds {modality} items"
            )


def effective_defaults(kind: EncoderKind, options: Mapping[str, Any]) -> dict[str, Any]:
    """``kind``'s defaults with a data set's ``options`` for it; an unknown option is a
    ``ValueError`` that lists the known ones."""
    unknown = sorted(set(options) - set(kind.defaults))
    if unknown:
        raise ValueError(
            f"encoder {kind.name!r} has no option {unknown[0]!r}; its options are: "
            f"{', '.join(sorted(kind.defaults))}"
        )
    return {name: options.get(name, default) for name, default in kind.defaults.items()}


# --- helpers shared by the trained encoders' kinds ---------------------------------------

TRAINING_DEFAULTS: dict[str, Any] = {
    "latent_dim": 16,
    "epochs": 200,
    "batch_size": 128,
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "patience": 15,
    "validation_fraction": 0.1,
    "device": "auto",
    "seed": 0,
}
TRAINING_DESCRIPTIONS = {
    "latent_dim": "Size of the code (at most the number of features).",
    "hidden_dims": "Encoder hidden widths.",
    "epochs": "Most epochs; early stopping may end sooner.",
    "batch_size": "Mini-batch size.",
    "learning_rate": "Adam learning rate.",
    "weight_decay": "Adam weight decay.",
    "patience": "Epochs without validation gain before stopping.",
    "validation_fraction": "Share of training rows held out for early stopping.",
    "device": "auto (CUDA when present), cpu or cuda.",
    "seed": "Seed for initial weights and shuffling.",
}


def training_settings(config: Mapping[str, Any], base: TrainingSettings) -> TrainingSettings:
    """``base`` with the optimiser fields that ``config`` sets."""
    return TrainingSettings(
        epochs=int(config.get("epochs", base.epochs)),
        batch_size=int(config.get("batch_size", base.batch_size)),
        learning_rate=float(config.get("learning_rate", base.learning_rate)),
        weight_decay=float(config.get("weight_decay", base.weight_decay)),
        patience=int(config.get("patience", base.patience)),
        min_delta=base.min_delta,
        seed=int(config.get("seed", base.seed)),
        cpu_threads=base.cpu_threads,
    )


def latent_width(config: Mapping[str, Any], n_features: int) -> int:
    """The configured code size, never wider than the features it encodes."""
    return min(int(config["latent_dim"]), n_features)


def fit_with_progress(
    encoder: Any, inputs: np.ndarray, augmentation: Augmentation | None, progress: Any
) -> None:
    encoder.fit(inputs, progress=progress)


def fit_with_augmentation(
    encoder: Any, inputs: np.ndarray, augmentation: Augmentation | None, progress: Any
) -> None:
    encoder.fit(inputs, augmentation=augmentation, progress=progress)
