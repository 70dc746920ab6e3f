"""The one place that knows which data sets there are, and with which run options.

A data set is built in (``datasets.BUILTIN_DATASETS``), declared in a YAML file
(``repr_assets.datasets.declared``), or made by ``repr-assets run --source`` (its spec stored in
the home). On top of any of them lie the run options given on the command line
(encoders, their parameters, floors, seed), stored beside its models so that a later run
without them, a schedule or the UI runs the same way. The CLI, the code location and
notebooks all resolve names here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repr_assets.datasets.declared import (
    DeclarationError,
    Declarations,
    DeclaredDataset,
    read_declarations,
)
from repr_assets.datasets.errors import UnknownDatasetError
from repr_assets.datasets.specs import BUILTIN_DATASETS, DatasetSpec, validate_dataset_name
from repr_assets.home import Home
from repr_assets.stores.models import atomic_write

DECLARED_VARIABLE = "REPR_ASSETS_DATASETS"
DEFAULT_DECLARED = Path("pipelines") / "datasets.yaml"
SPEC_FILE = "dataset.json"
OPTIONS_FILE = "run_options.json"
LOCK_FILE = ".catalog.lock"


@dataclass(frozen=True)
class RunOptions:
    """What a run was told explicitly; ``None`` / empty: not given, so the base spec's.

    ``encoder_options`` maps an encoder to the parameters given for it; they accumulate
    over runs (``--epochs 30`` then ``--latent-dim 8`` keeps both).
    """

    encoders: tuple[str, ...] | None = None
    encoder_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    thresholds: Mapping[str, float] = dataclasses.field(default_factory=dict)
    seed: int | None = None
    encoders_from: str | None = None

    def over(self, earlier: RunOptions) -> RunOptions:
        """These options given after ``earlier``: each given value replaces the earlier one."""
        return RunOptions(
            encoders=self.encoders if self.encoders is not None else earlier.encoders,
            encoder_options=_merged(earlier.encoder_options, self.encoder_options),
            thresholds={**earlier.thresholds, **self.thresholds},
            seed=self.seed if self.seed is not None else earlier.seed,
            encoders_from=self.encoders_from or earlier.encoders_from,
        )

    def apply(self, spec: DatasetSpec) -> DatasetSpec:
        """``spec`` with these options on top."""
        return dataclasses.replace(
            spec,
            encoders=self.encoders if self.encoders is not None else spec.encoders,
            encoder_options=_merged(spec.encoder_options, self.encoder_options),
            thresholds=dataclasses.replace(spec.thresholds, **self.thresholds),
            seed=self.seed if self.seed is not None else spec.seed,
            encoders_from=self.encoders_from or spec.encoders_from,
        )

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunOptions:
        fields = json.loads(text)
        encoders = fields.get("encoders")
        return cls(
            encoders=None if encoders is None else tuple(encoders),
            encoder_options=fields.get("encoder_options", {}),
            thresholds=fields.get("thresholds", {}),
            seed=fields.get("seed"),
            encoders_from=fields.get("encoders_from"),
        )


def _merged(
    earlier: Mapping[str, Mapping[str, Any]], later: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Encoder options ``later`` given over ``earlier``: each encoder's, key by key."""
    merged = {encoder: dict(options) for encoder, options in earlier.items()}
    for encoder, options in later.items():
        merged.setdefault(encoder, {}).update(options)
    return merged


def declared_file() -> Path | None:
    """The YAML of declared data sets: ``$REPR_ASSETS_DATASETS``, else the repository's
    ``pipelines/datasets.yaml`` when run from its root (the file ``make ui`` loads)."""
    named = os.environ.get(DECLARED_VARIABLE)
    if named:
        return Path(named).expanduser()
    return DEFAULT_DECLARED if DEFAULT_DECLARED.is_file() else None


class Catalog:
    """The data sets of one home, and of one YAML file of declarations (if any)."""

    def __init__(self, home: Home, declared: Path | None = None) -> None:
        self.home = home
        self.declarations = read_declarations(declared) if declared else Declarations()
        self.declared: tuple[DeclaredDataset, ...] = self.declarations.datasets

    # -- reading -------------------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(set(BUILTIN_DATASETS) | self._declared_specs().keys() | self._stored())

    def get(self, name: str) -> DatasetSpec:
        """The data set ``name`` with its stored run options."""
        return (self.stored_run_options(name) or RunOptions()).apply(self.base(name))

    def base(self, name: str) -> DatasetSpec:
        """The data set as built in, declared or stored, before any run option; an
        ``UnknownDatasetError`` says which names there are, a ``DeclarationError`` what is
        wrong with its entry in the YAML. A name declared in the YAML wins over a spec
        stored by an earlier ``run --source``."""
        if name in self.declarations.broken:
            raise DeclarationError(self.declarations.broken[name])
        found = self._base(name)
        if found is None and self.declarations.file_error:
            raise DeclarationError(self.declarations.file_error)
        if found is None:
            raise UnknownDatasetError(
                f"unknown data set {name!r}: the data sets are {', '.join(self.names())}; "
                "a new one needs --source PATH"
            )
        return found

    def _base(self, name: str) -> DatasetSpec | None:
        if name in BUILTIN_DATASETS:
            return BUILTIN_DATASETS[name]
        declared = self._declared_specs().get(name)
        if declared is not None:
            return declared
        stored = self._folder(name) / SPEC_FILE
        return DatasetSpec.from_json(stored.read_text()) if stored.is_file() else None

    def is_declared(self, name: str) -> bool:
        """Whether the YAML declares ``name``, well or badly."""
        return name in self._declared_specs() or name in self.declarations.broken

    def specs(self) -> list[DatasetSpec]:
        return [self.get(name) for name in self.names()]

    def refit_crons(self) -> dict[str, str]:
        return {d.spec.name: d.refit_schedule for d in self.declared if d.refit_schedule}

    def stored_run_options(self, name: str) -> RunOptions | None:
        """The options earlier runs were given (``None``: the data set never ran so)."""
        path = self._folder(name) / OPTIONS_FILE
        return RunOptions.from_json(path.read_text()) if path.is_file() else None

    # -- writing -------------------------------------------------------------------------

    def store_source_spec(self, spec: DatasetSpec) -> None:
        """Keep a ``--source`` data set's spec beside its models, for later runs and the UI."""
        atomic_write(self._folder(spec.name) / SPEC_FILE, spec.to_json())

    def store_run_options(self, name: str, options: RunOptions) -> None:
        atomic_write(self._folder(name) / OPTIONS_FILE, options.to_json())

    @contextlib.contextmanager
    def storing(self, name: str) -> Iterator[None]:
        """An exclusive lock on ``name``'s stored spec and options, so that two runs that
        read, merge and write them one after the other lose neither's options."""
        folder = self._folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / LOCK_FILE).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def drop_models(self, name: str) -> bool:
        """Remove the data set's models, stored spec and run options; ``False`` if none."""
        folder = self._folder(name)
        if not folder.is_dir():
            return False
        shutil.rmtree(folder)
        return True

    # -- inside ----------------------------------------------------------------------------

    def _declared_specs(self) -> dict[str, DatasetSpec]:
        return {d.spec.name: d.spec for d in self.declared}

    def _stored(self) -> set[str]:
        root = self.home.models
        if not root.is_dir():
            return set()
        return {path.parent.name for path in root.glob(f"*/{SPEC_FILE}")}

    def _folder(self, name: str) -> Path:
        try:
            return self.home.models / validate_dataset_name(name)
        except ValueError:
            raise UnknownDatasetError(f"unknown data set {name!r}: not a valid name") from None
