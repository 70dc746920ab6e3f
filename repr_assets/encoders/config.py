"""Each encoder kind's configuration: its fields, defaults, bounds and help, in one place.

A config is a frozen dataclass. Everything that needs an encoder's settings reads them
from it: the Dagster run config (one field per config field, its default the data set's
value), the command line's options (checked by ``from_options``), the estimator (built
from a config), the training loop (handed the config) and the reader of a saved model
(``params.json`` checked against ``saved_schema``). ``--epochs 30`` thus travels as one
typed ``AutoencoderConfig`` from the command line to the loop.

Fields that do not change the fitted model (the device) are ``RUNTIME``: they are left
out of ``params()``, and so of the model version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from repr_assets.schema import (
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_LAYERS,
    MAX_SAMPLES,
    MAX_THREADS,
    MAX_WIDTH,
    SEED_RANGE,
    Check,
    Schema,
    integer,
    list_of,
    number,
    one_of,
)


def setting(default: Any, check: Check, help: str) -> Any:
    """A config field: its default, the check of a value given for it, and its help."""
    return field(default=default, metadata={"check": check, "help": help})


def retuned(config: type[EncoderConfig], name: str, default: Any) -> Any:
    """Field ``name`` of ``config`` with another default, its check and help kept."""
    return field(default=default, metadata=config.__dataclass_fields__[name].metadata)


@dataclass(frozen=True)
class EncoderConfig:
    """The base of every kind's config: what all configs can do."""

    RUNTIME: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            problem = f.metadata["check"](_json(getattr(self, f.name)))
            if problem is not None:
                raise ValueError(f"option {f.name}: {problem}")

    def params(self) -> dict[str, Any]:
        """What determines the fitted model: every field but the runtime ones, as JSON."""
        return {
            f.name: _json(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in self.RUNTIME
        }

    def for_features(self, n_features: int) -> Self:
        """This config for an input of ``n_features`` (see ``CodeConfig``)."""
        return self

    def values(self) -> dict[str, Any]:
        """Every field, runtime ones included, as JSON values (a run config)."""
        return {f.name: _json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name: f.metadata["help"] for f in dataclasses.fields(cls)}

    @classmethod
    def saved_schema(cls) -> Schema:
        """What a saved model's ``params.json`` holds: the fields that are not runtime."""
        return {
            f.name: f.metadata["check"]
            for f in dataclasses.fields(cls)
            if f.name not in cls.RUNTIME
        }

    @classmethod
    def from_options(cls, options: Mapping[str, Any], base: Self | None = None) -> Self:
        """``base`` (the defaults) with ``options`` (JSON values: lists for tuples); a
        ``ValueError`` names an option that is unknown or out of bounds."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(
                f"has no option {unknown[0]!r}; its options are: {', '.join(sorted(known))}"
            )
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
        return dataclasses.replace(base or cls(), **values)  # checked by __post_init__


def _json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class CodeConfig(EncoderConfig):
    """The config of an encoder whose code size is a setting."""

    latent_dim: int = setting(
        16, integer(1, MAX_WIDTH), "Size of the code (at most the number of features)."
    )

    def for_features(self, n_features: int) -> Self:
        """This config for an input of ``n_features``: a code never wider than its input."""
        return dataclasses.replace(self, latent_dim=min(self.latent_dim, n_features))


DEVICE_CHECK = one_of("auto", "cpu", "cuda")

DEFAULT_MAX_SAMPLES = 8_000_000
"""The default training budget in samples seen: digits' 200 epochs (259,000 samples) fit
in it; a 70,000-image folder (50,400 training rows) gets 158 epochs, where early stopping
ends first, at the linear probe of a 200-epoch run (0.9408 both; a budget of 79 epochs
scored 0.923, one of 19 0.892: ``benchmarks/idx_run.py``); a million rows get 11."""


@dataclass(frozen=True)
class TrainingConfig(CodeConfig):
    """What every trained encoder has: the optimiser, the batches, early stopping, the
    seed and the device. The training loops read it; they know nothing else of a model."""

    RUNTIME: ClassVar[frozenset[str]] = frozenset({"device"})

    epochs: int = setting(
        200, integer(1, MAX_EPOCHS), "Most epochs; early stopping may end sooner."
    )
    # 200 epochs suit digits' 1,294 training rows, not a million rows, where each epoch
    # takes minutes on two cores: what a model has seen ends its training, whatever the
    # data set's size.
    max_samples: int = setting(
        DEFAULT_MAX_SAMPLES,
        integer(1, MAX_SAMPLES),
        "Most training samples seen in all (epochs x training rows): a large data set "
        "trains for fewer epochs than `epochs`; early stopping may end sooner.",
    )
    batch_size: int = setting(128, integer(1, MAX_BATCH_SIZE), "Mini-batch size.")
    learning_rate: float = setting(1e-3, number(0.0), "Adam learning rate.")
    weight_decay: float = setting(0.0, number(0.0), "Adam weight decay.")
    patience: int = setting(
        15, integer(0, MAX_EPOCHS), "Epochs without validation gain before stopping."
    )
    # Relative, so that stopping does not depend on the loss's scale: an absolute 1e-5
    # ended text autoencoders (losses near 2e-4) after 20 of 200 epochs, worse than PCA.
    min_delta: float = setting(
        3e-5,
        number(0.0, 1.0),
        "Smallest relative fall of the validation loss (a share of the best) that counts "
        "as a gain.",
    )
    validation_fraction: float = setting(
        0.1,
        number(0.0, 1.0, low_open=True, high_open=True),
        "Share of training rows held out for early stopping.",
    )
    seed: int = setting(0, integer(*SEED_RANGE), "Seed for initial weights and shuffling.")
    # 0: every core this process may use (both of a 2-core machine), the same setting, and
    # so model version, everywhere. Where other processes keep the cores busy, 1 can be
    # several times faster: small mini-batch GEMMs wait on each other's threads (measured
    # 5x slower with 2 threads beside two busy processes).
    cpu_threads: int = setting(
        0, integer(0, MAX_THREADS), "Torch CPU threads (0: every core this process may use)."
    )
    # 128-row steps leave a large GPU idle between kernel launches. The learning rate is
    # kept: scaling it up with the batch trained worse autoencoders here.
    gpu_batch_size: int = setting(
        1024, integer(1, MAX_BATCH_SIZE), "On CUDA, mini-batches of at least this many rows."
    )
    device: str = setting("auto", DEVICE_CHECK, "auto (CUDA when present), cpu or cuda.")

    def epoch_budget(self, train_rows: int) -> int:
        """The most epochs over ``train_rows`` rows: ``epochs``, or as many whole epochs
        as ``max_samples`` allows when that is fewer (at least one)."""
        return max(1, min(self.epochs, self.max_samples // max(train_rows, 1)))


HIDDEN_DIMS_CHECK = list_of(integer(1, MAX_WIDTH), 0, MAX_LAYERS)
