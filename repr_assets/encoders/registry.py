"""The kinds of encoder a data set can name, found once per process.

Each encoder module ends with ``KIND = EncoderKind(...)`` (``repr_assets.encoders.kind``):
its name, its config class and its estimator. Adding an encoder is writing one such
module and naming it in ``BUILTIN_MODULES``, or, from another package, declaring it under
the entry point group ``repr_assets.encoders`` (``name = "package.module:KIND"``). The
registry imports those modules by name; none of them imports the registry.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from repr_assets.encoders.config import EncoderConfig
from repr_assets.encoders.kind import Encoder, EncoderKind
from repr_assets.stores.models import ModelStore, SavedModel

BUILTIN_MODULES = (
    "repr_assets.encoders.pca",
    "repr_assets.encoders.autoencoder",
    "repr_assets.encoders.denoising",
    "repr_assets.encoders.beta_vae",
    "repr_assets.encoders.conv_autoencoder",
    "repr_assets.encoders.contrastive",
    "repr_assets.encoders.minilm",
    "repr_assets.encoders.efficientnet",
)
ENTRY_POINT_GROUP = "repr_assets.encoders"
DEFAULT_ENCODERS = ("pca", "autoencoder")


class UnknownEncoderError(ValueError):
    pass


@functools.cache
def encoder_kinds() -> dict[str, EncoderKind]:
    """Every encoder kind: the built-in ones, then those other packages declare (read
    once: entry points do not change while a process runs)."""
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


def code_size_options(size: int | None) -> dict[str, dict[str, Any]]:
    """``{"latent_dim": size}`` for every kind that has the setting (none for ``None``): a
    data set's starting code size (``datasets.specs.CODE_SIZE_BY_MODALITY``)."""
    if size is None:
        return {}
    return {
        name: {"latent_dim": size}
        for name, kind in encoder_kinds().items()
        if "latent_dim" in kind.defaults()
    }


def configured(kind: EncoderKind, options: Mapping[str, Any]) -> EncoderConfig:
    """``kind``'s config with a data set's ``options``: a ``ValueError`` names the encoder
    and an option that is unknown or out of bounds."""
    try:
        return kind.config.from_options(options)
    except ValueError as error:
        raise ValueError(f"encoder {kind.name!r} {error}") from None


def load_encoder(
    models: ModelStore, dataset: str, name: str, version: str | None = None
) -> tuple[Encoder, SavedModel]:
    """The encoder saved as ``version`` (the latest when ``None``) and its record; the
    model store only finds the folder, the encoder's kind reads it."""
    loaders = {kind: found.load for kind, found in encoder_kinds().items()}
    return models.load(dataset, name, loaders, version, what="encoder")
