"""What an encoder is to the pipeline: the ``Encoder`` protocol and its ``EncoderKind``.

An encoder module ends with ``KIND = EncoderKind(name=..., config=..., estimator=...)``:
the kind names the config class that holds its settings and the estimator class that
fits them. This module imports neither torch nor any encoder, so that every encoder
module can import it and the registry can import them without a loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Self

import numpy as np

from repr_assets.encoders.config import EncoderConfig

if TYPE_CHECKING:  # augment imports torch, which a kind's description does not need
    from repr_assets.items.augment import Augmentation

ALL_MODALITIES = ("image", "text", "tabular")

TrainingProgress = Callable[[int, int, float, float, float], None]
"""``(epoch, max_epochs, train_loss, validation_loss, seconds) -> None``, called after each
epoch, ``seconds`` being the time spent training so far."""


class Encoder(Protocol):
    """``fit`` on the training inputs, ``transform`` to codes, ``save`` and ``load``.

    ``inputs`` are the ``(n, n_features)`` features, or the raw texts of a kind that
    ``reads`` text. ``augmentation`` is the modality's, as the invariance metrics apply it
    (encoders that learn from changed copies use it; the others ignore it).
    """

    kind: ClassVar[str]

    @classmethod
    def from_config(cls, config: Any, /) -> Self: ...

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def latent_dim(self) -> int: ...

    def fit(
        self,
        inputs: Any,
        /,
        *,
        augmentation: Augmentation | None = None,
        progress: TrainingProgress | None = None,
    ) -> Self: ...

    def transform(self, inputs: Any, /) -> np.ndarray: ...

    def save(self, directory: Path) -> None: ...

    @classmethod
    def load(cls, directory: Path, /) -> Self: ...


RAW_INPUTS = ("text", "image")
"""What an encoder that reads raw items reads: the items table's column of that name."""


@dataclass(frozen=True)
class EncoderKind:
    """One kind of encoder, as the pipeline sees it.

    ``config``: the frozen dataclass of its settings and their defaults; ``estimator``:
    the class that ``from_config`` builds, ``fit`` s, and ``load`` s from a folder.
    ``reads``: the feature matrix, or the items' raw ``"text"`` or ``"image"`` bytes
    (``RAW_INPUTS``: the column of the items table it reads). ``trains``: ``False``
    for a pretrained encoder, whose ``fit`` learns nothing.
    """

    name: str
    summary: str
    config: type[EncoderConfig]
    estimator: type[Encoder]
    reads: Literal["features", "text", "image"] = "features"
    modalities: tuple[str, ...] = ALL_MODALITIES
    compute_kind: str = "pytorch"
    trains: bool = True

    def build(self, config: EncoderConfig, n_features: int) -> Encoder:
        """An unfitted encoder of ``config`` for inputs ``n_features`` wide."""
        return self.estimator.from_config(config.for_features(n_features))

    def load(self, directory: Path) -> Encoder:
        return self.estimator.load(directory)

    def defaults(self) -> dict[str, Any]:
        """Every setting's default (a run config of JSON values)."""
        return self.config().values()


def input_width(encoder: Encoder) -> int | None:
    """How many features a fitted encoder reads (``n_features_in_``, as in scikit-learn);
    ``None`` for one that reads raw items (a pretrained text encoder)."""
    width = getattr(encoder, "n_features_in_", None)
    return None if width is None else int(width)
