"""Data set specifications and the built-in data sets."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from repr_assets.quality.thresholds import QualityThresholds

Modality = Literal["image", "text", "tabular"]
MODALITIES: tuple[Modality, ...] = ("image", "text", "tabular")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_OWNER = re.compile(r"^(team:[A-Za-z0-9_-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")


Executor = Literal["in_process", "multiprocess", "dask"]


DEFAULT_TARGET_RECALL = 0.95
"""The recall@10 against exact search that the ANN path is tuned to by default."""


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is and how its items become features.

    ``name`` keys the Dagster assets and prefixes the LanceDB tables, so it is restricted
    to lower-case letters, digits and underscores. ``source`` is a folder of images or IDX
    files, or a CSV, Parquet or JSONL file (``None`` for a built-in data set); the
    ``*_column`` options name the columns of a file source. ``seed`` chooses the
    train/test split and every sample the quality report draws; ``thresholds`` are the
    floors of its quality checks.

    Featurising: images are resized to ``image_size`` squared, in grey or, with
    ``color``, in RGB (transparency composited on white either way); texts become bag-of-words
    vectors (``text_vectoriser`` "tfidf" or "hashing", ``ngram_range``,
    ``vocabulary_size``); tables keep at most ``max_categories`` categories per column.
    ``encoders`` names the encoders fitted and compared (see ``encoders.registry``), and
    ``encoder_options`` sets some of their parameters (``{"autoencoder": {"epochs": 30}}``),
    over each kind's defaults: the run config every job of the data set starts from.
    ``embed_shards`` cuts embedding into that many item shards, which the multiprocess
    executor runs at once; the rows written are the same for any number of shards.
    ``owners`` (e-mail addresses or ``team:name``) own every asset of the data set.
    Safety: an item over ``max_item_bytes`` or an image over ``max_image_pixels`` is set
    aside unread. ``factor_columns`` name item columns that hold the true factors of
    variation (a shape, its position; the coordinate along a manifold): they are not
    featurised, and the report measures how well each code disentangles and recovers them.
    ``encoders_from`` names another data set of the same featurised width: its fitted
    encoders of the names in ``encoders`` also embed this data set's features in the
    report, which scores them beside this data set's own (``transfer_*`` metrics).
    Retention: after each publication, each embeddings table keeps the served version, the
    last ``keep_published`` published ones (the rollback targets) and any version younger
    than ``retention_grace`` seconds; older versions are removed
    (``repr_assets.stores.retention``). ``executor`` runs the data set's job in process, in
    a process per step, or on Dask (``dask_address``; none: a local cluster).
    ``ann_target_recall``: the recall@10 against exact search that an embeddings table's
    ANN index is tuned to reach when it is built (``repr_assets.search.tuning``).
    """

    name: str
    modality: Modality
    source: str | None = None
    label_column: str | None = None
    text_column: str | None = None
    id_column: str | None = None
    factor_columns: tuple[str, ...] = ()
    image_size: int = 28
    color: bool = False
    text_vectoriser: Literal["tfidf", "hashing"] = "tfidf"
    ngram_range: tuple[int, int] = (1, 2)
    vocabulary_size: int = 4096
    max_categories: int = 20
    max_item_bytes: int = 16 * 2**20
    max_image_pixels: int = 25_000_000
    encoders: tuple[str, ...] = ("pca", "autoencoder")
    encoder_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)
    encoders_from: str | None = None
    embed_shards: int = 1
    keep_published: int = 5
    retention_grace: int = 3600
    ann_target_recall: float = DEFAULT_TARGET_RECALL
    executor: Executor = "in_process"
    dask_address: str | None = None
    owners: tuple[str, ...] = ()
    seed: int = 0
    thresholds: QualityThresholds = field(default_factory=QualityThresholds)
    description: str = ""

    def __post_init__(self) -> None:
        validate_dataset_name(self.name)
        _check_types(self)
        check_modality(self.modality)
        for name in (*_INTEGERS, "embed_shards"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for owner in self.owners:
            if not _OWNER.match(owner):
                raise ValueError(f"owner {owner!r} is neither an e-mail address nor a team:name")
        low, high = self.ngram_range
        if not 1 <= low <= high:
            raise ValueError(
                f"ngram_range must be (low, high) with 1 <= low <= high, got {low, high}"
            )
        if self.color and self.modality != "image":
            raise ValueError(
                f"color is for images, but data set {self.name!r} holds {self.modality} items"
            )
        if self.encoders_from is not None:
            validate_dataset_name(self.encoders_from)
            if self.encoders_from == self.name:
                raise ValueError(f"encoders_from names the data set itself ({self.name!r})")
        recall = self.ann_target_recall
        if isinstance(recall, bool) or not isinstance(recall, int | float) or not 0 < recall <= 1:
            raise ValueError(f"ann_target_recall must be a number in (0, 1], got {recall!r}")
        if self.retention_grace < 0:
            raise ValueError(f"retention_grace must be 0 or more, got {self.retention_grace}")
        if self.executor not in EXECUTORS:
            raise ValueError(
                f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}"
            )
        if self.text_vectoriser not in ("tfidf", "hashing"):
            raise ValueError(
                f"text_vectoriser must be tfidf or hashing, got {self.text_vectoriser!r}"
            )

    @property
    def builtin(self) -> bool:
        return self.source is None

    def to_json(self) -> str:
        return json.dumps(
            {**dataclasses.asdict(self), "spec_version": SPEC_VERSION}, indent=2, sort_keys=True
        )

    @classmethod
    def from_json(cls, text: str) -> DatasetSpec:
        fields: dict[str, Any] = json.loads(text)
        version = fields.pop("spec_version", 1)
        floors = dict(fields.get("thresholds", {}))
        if version < 2 and floors.get("min_linear_probe_accuracy") == 0.5:
            # Version 1 stored the old default, an absolute 0.5, which no 12-class text
            # set could pass: the default is now relative to the report's baselines.
            floors.pop("min_linear_probe_accuracy")
        fields["thresholds"] = QualityThresholds(**floors)
        fields["ngram_range"] = tuple(fields.get("ngram_range", (1, 2)))
        fields["encoders"] = tuple(fields.get("encoders", ("pca", "autoencoder")))
        fields["owners"] = tuple(fields.get("owners", ()))
        fields["factor_columns"] = tuple(fields.get("factor_columns", ()))
        return cls(**fields)


SPEC_VERSION = 2

EXECUTORS = ("in_process", "multiprocess", "dask")
DASK_EXTRA_MESSAGE = "the dask executor needs dagster-dask: pip install 'repr-assets[dask]'"

_INTEGERS = (
    "image_size",
    "vocabulary_size",
    "max_categories",
    "max_item_bytes",
    "keep_published",
)
_OPTIONAL_TEXTS = (
    "source",
    "label_column",
    "text_column",
    "id_column",
    "encoders_from",
    "dask_address",
)


def _check_types(spec: DatasetSpec) -> None:
    """Refuse a field of the wrong kind by name, before a comparison fails on it with a
    message that names nothing (a spec may come from YAML or JSON)."""
    for name in (*_INTEGERS, "max_image_pixels", "embed_shards", "seed", "retention_grace"):
        value = getattr(spec, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if not isinstance(spec.color, bool):
        raise ValueError(f"color must be true or false, got {spec.color!r}")
    for name in _OPTIONAL_TEXTS:
        value = getattr(spec, name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be text, got {value!r}")
    for name in ("encoders", "owners", "ngram_range", "factor_columns"):
        value = getattr(spec, name)
        if not isinstance(value, tuple):
            raise ValueError(f"{name} must be a list, got {value!r}")
    if not all(isinstance(encoder, str) for encoder in spec.encoders):
        raise ValueError(f"encoders must be names, got {list(spec.encoders)!r}")
    _check_factor_columns(spec)
    if len(spec.ngram_range) != 2 or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in spec.ngram_range
    ):
        raise ValueError(f"ngram_range must be two integers, got {list(spec.ngram_range)!r}")
    options = spec.encoder_options
    if not isinstance(options, Mapping) or not all(
        isinstance(name, str) and isinstance(values, Mapping) for name, values in options.items()
    ):
        raise ValueError(
            "encoder_options must map encoder names to their options "
            f"({{autoencoder: {{epochs: 30}}}}), got {options!r}"
        )
    if not isinstance(spec.thresholds, QualityThresholds):
        raise ValueError(f"thresholds must be a mapping of floors, got {spec.thresholds!r}")


def _check_factor_columns(spec: DatasetSpec) -> None:
    factors = spec.factor_columns
    if not all(isinstance(column, str) and column for column in factors):
        raise ValueError(f"factor_columns must be column names, got {list(factors)!r}")
    if len(set(factors)) != len(factors):
        raise ValueError(f"a factor column is named twice: {', '.join(factors)}")
    roles = {"label_column": spec.label_column, "id_column": spec.id_column}
    roles["text_column"] = spec.text_column
    for role, column in roles.items():
        if column is not None and column in factors:
            raise ValueError(f"column {column!r} cannot be both a factor and the {role}")


def check_modality(modality: object) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}: use one of {MODALITIES}")


def implied_modality(source: str | Path, text_column: str | None) -> Modality:
    """The modality a source implies when none is named: text for a table with a text
    column, images for a folder (or a path without a suffix, not there yet), else tabular
    rows. The command line and YAML decide the same way."""
    if text_column:
        return "text"
    path = Path(source).expanduser()
    if path.is_dir() or (not path.exists() and not path.suffix):
        return "image"
    return "tabular"


CODE_SIZE_BY_MODALITY: dict[str, int] = {"text": 32}
"""The code size a new data set of a modality starts with, where it is not the encoders'
own default (16). Measured on 4,439 fortunes of 8 Debian files (TF-IDF of 4,096 terms,
seed 0): PCA's probe was 0.433 at 16 and 0.508 at 32, the autoencoder's 0.394 and 0.480."""


def default_thresholds(modality: Modality) -> QualityThresholds:
    """The floors a new data set of ``modality`` starts with."""
    if modality == "text":
        # Bag-of-words variance is spread over thousands of terms: a code of 16 keeps a small
        # share of it even when it separates the topics well.
        return QualityThresholds(min_explained_variance=0.05)
    return QualityThresholds()


def validate_dataset_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(
            f"invalid data set name {name!r}: use 1-48 lower-case letters, digits and "
            "underscores, starting with a letter"
        )
    return name


DIGITS = DatasetSpec(
    name="digits",
    modality="image",
    image_size=8,
    # The probe's floor is relative (about 0.68 against a raw-feature probe of 0.97); a
    # 16-d code of 64 pixels should keep most of their variance and use several dimensions.
    thresholds=QualityThresholds(min_effective_rank=4.0, min_explained_variance=0.6),
    description="scikit-learn's bundled 8x8 hand-written digits: 1,797 images in 10 classes.",
)

SHAPES = DatasetSpec(
    name="shapes",
    modality="image",
    image_size=32,
    factor_columns=("shape", "scale", "rotation", "x", "y"),
    encoders=("pca", "autoencoder", "beta_vae"),
    # 16,000 training images of 1,024 pixels take seconds an epoch on two cores: a budget
    # of 40 epochs of 256 keeps the built-in run to minutes.
    encoder_options={
        "autoencoder": {"epochs": 40, "batch_size": 256},
        "beta_vae": {"epochs": 40, "batch_size": 256},
    },
    thresholds=QualityThresholds(min_effective_rank=3.0, min_explained_variance=0.3),
    description=(
        "20,000 procedural 32x32 images of a square, an ellipse or a heart, with their "
        "factors (shape, scale, rotation, x, y) as columns, in the spirit of dSprites."
    ),
)


def _manifold(name: str, generator: str) -> DatasetSpec:
    """A curved surface in three numbers: a code of two should unfold it."""
    return DatasetSpec(
        name=name,
        modality="tabular",
        factor_columns=("t", "height"),
        encoder_options={"pca": {"latent_dim": 2}, "autoencoder": {"latent_dim": 2}},
        # Two dimensions of three features: the rank floor is what two can reach.
        thresholds=QualityThresholds(min_effective_rank=1.2, min_explained_variance=0.5),
        description=(
            f"5,000 points of scikit-learn's {generator}, with the coordinates along the "
            "surface (t, height) as factors; labelled by which of 6 segments of t they lie in."
        ),
    )


SWISS_ROLL = _manifold("swiss_roll", "make_swiss_roll")
S_CURVE = _manifold("s_curve", "make_s_curve")

BUILTIN_DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec for spec in (DIGITS, SHAPES, SWISS_ROLL, S_CURVE)
}
