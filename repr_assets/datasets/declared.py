"""Data sets declared in YAML: a mapping of names to the fields of ``DatasetSpec``.

    datasets:
      reviews:
        source: data/reviews.csv        # relative to the YAML file
        modality: text
        text_column: review
        label_column: topic
        encoders: [pca, autoencoder]
        thresholds: {min_linear_probe_accuracy: 0.8}
        refit_schedule: "0 3 * * 0"     # cron; the default is Sundays at 03:00
        owners: [team:search, ana@example.com]
        embed_shards: 4                 # item shards, encoded at once

Every field is checked; an unknown one, a bad value or a missing source is an error that
names the data set and the field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from repr_assets.datasets.errors import DeclarationError
from repr_assets.datasets.specs import (
    BUILTIN_DATASETS,
    CODE_SIZE_BY_MODALITY,
    DatasetSpec,
    check_modality,
    default_thresholds,
    implied_modality,
    validate_dataset_name,
)
from repr_assets.quality.thresholds import QualityThresholds

SPEC_FIELDS = {f.name for f in dataclasses.fields(DatasetSpec)} - {"name"}
EXTRA_FIELDS = {"refit_schedule"}


@dataclasses.dataclass(frozen=True)
class DeclaredDataset:
    spec: DatasetSpec
    refit_schedule: str | None = None


@dataclasses.dataclass(frozen=True)
class Declarations:
    """What a YAML file declares: its good data sets, and one line for each bad one, so
    that a typo in one entry refuses that data set and leaves the others to run.
    ``file_error``: the file as a whole could not be read (every entry unknown)."""

    datasets: tuple[DeclaredDataset, ...] = ()
    broken: Mapping[str, str] = dataclasses.field(default_factory=dict)
    file_error: str | None = None

    @property
    def problems(self) -> list[str]:
        return [self.file_error] if self.file_error else list(self.broken.values())


def read_declarations(path: Path) -> Declarations:
    """The data sets declared in ``path`` (none when it does not exist), bad ones apart."""
    if not path.exists():
        return Declarations()
    import yaml  # here: a command that names a built-in data set reads no YAML

    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        return Declarations(file_error=f"{path}: not valid YAML ({_one_line(error)})")
    datasets = document.get("datasets") if isinstance(document, dict) else None
    if not isinstance(datasets, dict):
        return Declarations(file_error=f"{path}: expected a mapping under 'datasets:'")
    good, broken = [], {}
    for name, fields in datasets.items():
        try:
            good.append(declared_dataset(path, str(name), fields))
        except DeclarationError as error:
            broken[str(name)] = str(error)
    return Declarations(tuple(good), broken)


def load_declared(path: Path) -> list[DeclaredDataset]:
    """The data sets declared in ``path``; ``DeclarationError`` for the first bad one."""
    declarations = read_declarations(path)
    if declarations.problems:
        raise DeclarationError(declarations.problems[0])
    return list(declarations.datasets)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def declared_dataset(path: Path, name: str, fields: Any) -> DeclaredDataset:
    """One data set declared in the file ``path``; a relative ``source`` is relative to it."""
    where = f"{path}: data set {name!r}"
    if not isinstance(fields, dict):
        raise DeclarationError(f"{where}: expected a mapping of fields")
    unknown = sorted(set(fields) - SPEC_FIELDS - EXTRA_FIELDS)
    if unknown:
        raise DeclarationError(
            f"{where}: unknown field {unknown[0]!r}; the fields are: "
            f"{', '.join(sorted(SPEC_FIELDS | EXTRA_FIELDS))}"
        )
    if name in BUILTIN_DATASETS:
        raise DeclarationError(f"{where}: a built-in data set has that name; choose another")
    values = {k: v for k, v in fields.items() if k in SPEC_FIELDS}
    try:  # the name and the modality first: what the rest is checked against
        validate_dataset_name(name)
        if "modality" in values:
            check_modality(values["modality"])
    except ValueError as error:
        raise DeclarationError(f"{where}: {error}") from None
    if not isinstance(values.get("source"), str) or not values["source"].strip():
        raise DeclarationError(f"{where}: 'source' must name the data set's folder or file")
    source = Path(values["source"]).expanduser()
    values["source"] = str(source if source.is_absolute() else path.parent / source)
    modality = values.get("modality") or implied_modality(
        values["source"], values.get("text_column")
    )
    floors = values.get("thresholds", {})
    if not isinstance(floors, dict):
        raise DeclarationError(f"{where}: 'thresholds' must be a mapping of floors, got {floors!r}")
    known = [f.name for f in dataclasses.fields(QualityThresholds)]
    unknown = sorted(set(floors) - set(known))
    if unknown:
        raise DeclarationError(
            f"{where}: unknown threshold {unknown[0]!r}; the thresholds are: {', '.join(known)}"
        )
    for key in ("ngram_range", "encoders", "owners", "factor_columns"):
        if key in values:
            if not isinstance(values[key], list):
                raise DeclarationError(f"{where}: {key!r} must be a list, got {values[key]!r}")
            values[key] = tuple(values[key])
    try:
        values["thresholds"] = dataclasses.replace(default_thresholds(modality), **floors)
        # The modality's code size, under the options the entry gives. The registry is
        # imported here: reading a report needs the floors of a spec, not its encoders.
        from repr_assets.encoders.registry import code_size_options

        sizes = code_size_options(CODE_SIZE_BY_MODALITY.get(modality))
        given = values.get("encoder_options") or {}
        if isinstance(given, Mapping):
            values["encoder_options"] = (
                {
                    name: {**sizes.get(name, {}), **options}
                    for name, options in {**sizes, **given}.items()
                }
                if sizes
                else given
            )
        spec = DatasetSpec(name=name, **{"modality": modality, **values})
    except (TypeError, ValueError) as error:
        raise DeclarationError(f"{where}: {_one_line(error)}") from None
    return DeclaredDataset(spec, fields.get("refit_schedule"))
