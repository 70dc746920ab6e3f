"""``repr-assets run``: the whole graph of one data set, then the quality summary.

Everything is checked before anything is written: the data set or source, its columns,
the encoders and their options, and that the source holds enough items to fit. The
options given are stored with the data set (``repr_assets.datasets.catalog``), so that a later run
without them, a schedule or the UI fits the same models.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

from repr_assets.cli.common import UsageError
from repr_assets.cli.executors import check_execution, executing
from repr_assets.cli.report import print_report
from repr_assets.datasets.catalog import Catalog, RunOptions, UnknownDatasetError, declared_file
from repr_assets.datasets.specs import (
    BUILTIN_DATASETS,
    CODE_SIZE_BY_MODALITY,
    DatasetSpec,
    default_thresholds,
    implied_modality,
)
from repr_assets.datasets.specs import validate_dataset_name as valid_name
from repr_assets.encoders.efficientnet import IMAGES_EXTRA_MESSAGE, efficientnet_available
from repr_assets.encoders.minilm import TEXT_EXTRA_MESSAGE, minilm_available
from repr_assets.encoders.registry import (
    UnknownEncoderError,
    check_encoders,
    code_size_options,
    configured,
    encoder_kind,
    encoder_kinds,
)
from repr_assets.home import Home, home_from_environment
from repr_assets.names import items_table, shared_tables
from repr_assets.pipeline.ingest import check_enough_items
from repr_assets.sources import SourceError, open_source
from repr_assets.stores.lance import LanceStore

SOURCE_OPTIONS = (
    "modality",
    "label_column",
    "text_column",
    "id_column",
    "factor_columns",
    "color",
)
# What a data set made by --source is: a run that names other values makes another one.
# What a --source run makes a data set of: another value is another data set.
IDENTITY_FIELDS = (
    "source",
    "modality",
    "label_column",
    "text_column",
    "id_column",
    "factor_columns",
)
# --option: the encoder parameter it sets, on every encoder that has that parameter.
ENCODER_OPTIONS = {"latent_dim": "latent_dim", "epochs": "epochs", "max_samples": "max_samples"}
FLOOR_OPTIONS = {
    "min_probe_accuracy": "min_linear_probe_accuracy",
    "min_effective_rank": "min_effective_rank",
    "min_explained_variance": "min_explained_variance",
    "min_neighbour_overlap": "min_neighbour_overlap_previous",
}


def main(args: argparse.Namespace) -> int:
    home = home_from_environment()
    catalog = Catalog(home, declared_file())
    base, is_new_source = _base_spec(args, catalog)
    stored = catalog.stored_run_options(base.name)
    given = _given_options(args, (stored or RunOptions()).apply(base).encoders)
    try:
        spec = _checked(given.over(stored or RunOptions()).apply(base), args.device)
    except ValueError as error:  # a bad --encoders-from
        raise UsageError(str(error)) from None
    if spec.encoders_from is not None and spec.encoders_from not in catalog.names():
        raise UsageError(
            f"--encoders-from: unknown data set {spec.encoders_from!r}: the data sets are "
            f"{', '.join(catalog.names())}"
        )
    _check_items(spec, home)
    check_execution(spec, args)
    if stored is not None:  # a first run changes nothing: there is nothing before it
        for line in _changes(stored.apply(base), spec):
            print(f"repr-assets: {line}", file=sys.stderr)

    # Imported here, once the input is known to be good: Dagster and torch take seconds.
    from repr_assets.orchestration.instance import InstanceUnavailableError, open_instance
    from repr_assets.orchestration.run import run_pipeline

    try:  # before anything is stored: a database that cannot be reached changes nothing
        instance = open_instance(home)
    except InstanceUnavailableError as error:
        raise UsageError(str(error)) from None

    with catalog.storing(base.name):  # another run's options are merged, not lost
        latest = catalog.stored_run_options(base.name) or RunOptions()
        spec = _checked(given.over(latest).apply(base), args.device)
        if is_new_source:
            catalog.store_source_spec(base)
        catalog.store_run_options(spec.name, given.over(latest))
    summary = run_pipeline(
        executing(spec, args), home, refit=args.refit, device=args.device, instance=instance
    )
    if not summary.success:
        for failure in summary.failures:
            what = "the run" if failure.step == "run" else f"step {failure.step}"
            print(f"repr-assets: {what} failed: {failure.message}", file=sys.stderr)
        print(
            f"repr-assets: run {summary.run_id} failed; see `repr-assets ui` for its logs",
            file=sys.stderr,
        )
        return 1
    where = "" if home.lancedb_is_local else f" (the tables in {home.lancedb})"
    print(f"\nrun {summary.run_id} succeeded; everything is under {home.root}{where}")
    print(f"items: {summary.ingest_line}")
    if summary.quarantined:
        print(
            f'  see them: repr-assets sql "SELECT ref, reason FROM quarantine '
            f"WHERE dataset = '{spec.name}'\""
        )
    print(_served_line(summary.held_back, summary.never_served))
    if summary.report_current:
        print("the report is current: nothing changed since the last one")
    print()
    print_report(home, spec.name, "table", catalog)
    if summary.failed_checks:
        # The run materialised everything; these are quality floors, not errors.
        print(f"\nquality checks below their floor: {', '.join(summary.failed_checks)}")
    example = LanceStore.of(home).head(items_table(spec.name), 1, ["item_id"])
    encoder = spec.encoders[0]
    print(
        "\nnext:\n  repr-assets ui    # the graph, this run, its plots and checks\n"
        f"  repr-assets search --dataset {spec.name} --encoder {encoder} "
        f"--id {example.column('item_id')[0].as_py()}\n"
        f'  repr-assets sql "SELECT label, count(*) FROM {spec.name}_{encoder} GROUP BY label"'
    )
    return 0


def _base_spec(args: argparse.Namespace, catalog: Catalog) -> tuple[DatasetSpec, bool]:
    """The data set asked for, before this run's options; ``True`` for a new source."""
    if args.source is None:
        for option in SOURCE_OPTIONS:
            if getattr(args, option) is not None:
                raise UsageError(f"--{option.replace('_', '-')} needs --source")
        try:
            return catalog.base(args.dataset or "digits"), False
        except UnknownDatasetError as error:
            raise UsageError(str(error)) from None
    path = Path(args.source).expanduser()
    if not path.exists():
        raise UsageError(f"--source: no such file or folder: {args.source}")
    name = args.dataset or _name_from_path(path)
    if name in BUILTIN_DATASETS:
        raise UsageError(f"{name!r} is a built-in data set: name yours with --dataset")
    if catalog.is_declared(name):
        raise UsageError(f"{name!r} is declared in YAML: run it with --dataset {name} alone")
    shared = shared_tables(name, catalog.names(), encoder_kinds())
    if shared:
        table, other = sorted(shared.items())[0]
        raise UsageError(
            f"data set {name!r} could write the table {table!r} of data set {other!r}: "
            "name yours with another --dataset"
        )
    modality = args.modality or implied_modality(path, args.text_column)
    try:
        spec = DatasetSpec(
            name=name,
            modality=modality,
            thresholds=default_thresholds(modality),
            encoder_options=code_size_options(CODE_SIZE_BY_MODALITY.get(modality)),
            source=str(path.resolve()),
            label_column=args.label_column,
            text_column=args.text_column,
            id_column=args.id_column,
            factor_columns=args.factor_columns or (),
            color=bool(args.color),
        )
        open_source(spec)
    except (SourceError, ValueError) as error:
        raise UsageError(str(error)) from None
    _same_as_stored(catalog, spec)
    return spec, True


def _same_as_stored(catalog: Catalog, spec: DatasetSpec) -> None:
    """Refuse a ``--source`` run that would make an existing data set of another source or
    other columns: its items would not fit its table, and its stored spec would be gone."""
    try:
        stored = catalog.base(spec.name)
    except UnknownDatasetError:
        return
    differ = [
        f"{field} {getattr(stored, field)!r} (now {getattr(spec, field)!r})"
        for field in IDENTITY_FIELDS
        if getattr(stored, field) != getattr(spec, field)
    ]
    if differ:
        raise UsageError(
            f"data set {spec.name!r} was made with {'; '.join(differ)}: run it again with "
            f"--dataset {spec.name} alone, or drop it first (repr-assets drop --dataset "
            f"{spec.name}) to make it anew"
        )


def _given_options(args: argparse.Namespace, current: tuple[str, ...]) -> RunOptions:
    """The options this command line gives, nothing else. ``--latent-dim``, ``--epochs``
    and ``--max-samples`` go to every encoder this run fits that has the setting: those of
    ``--encoders``, else those the data set runs with (``current``)."""
    encoders = None
    if args.encoders is not None:
        encoders = tuple(name.strip() for name in args.encoders.split(",") if name.strip())
    encoder_options: dict[str, dict[str, Any]] = {}
    for encoder in encoders or current:
        try:
            defaults = encoder_kind(encoder).defaults()
        except UnknownEncoderError as error:
            raise UsageError(f"--encoders: {error}") from None
        for option, parameter in ENCODER_OPTIONS.items():
            value = getattr(args, option)
            if value is not None and parameter in defaults:
                encoder_options.setdefault(encoder, {})[parameter] = value
    thresholds = {
        field: getattr(args, option)
        for option, field in FLOOR_OPTIONS.items()
        if getattr(args, option) is not None
    }
    return RunOptions(encoders, encoder_options, thresholds, args.seed, args.encoders_from)


def _checked(spec: DatasetSpec, device: str) -> DatasetSpec:
    """``spec`` once its encoders, their options and the device are known to be good."""
    try:
        check_encoders(spec.encoders, spec.modality, spec.name)
        for encoder in spec.encoders:
            configured(encoder_kind(encoder), spec.encoder_options.get(encoder, {}))
    except ValueError as error:
        raise UsageError(f"--encoders: {error}") from None
    if "minilm" in spec.encoders and not minilm_available():
        raise UsageError(TEXT_EXTRA_MESSAGE)
    if "efficientnet_lite0" in spec.encoders and not efficientnet_available():
        raise UsageError(IMAGES_EXTRA_MESSAGE)
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda was asked for, but torch sees no CUDA device")
    return spec


def _check_items(spec: DatasetSpec, home: Home) -> None:
    store = LanceStore.of(home) if home.has_lancedb() else None
    try:
        check_enough_items(spec, store)
    except SourceError as error:
        raise UsageError(str(error)) from None


def _changes(before: DatasetSpec, after: DatasetSpec) -> list[str]:
    """What this run changes against the stored options, one line each."""
    lines = []
    if before.encoders != after.encoders:
        lines.append(f"encoders {','.join(before.encoders)} -> {','.join(after.encoders)}")
    for encoder in after.encoders:
        old = before.encoder_options.get(encoder, {})
        new = after.encoder_options.get(encoder, {})
        defaults = encoder_kind(encoder).defaults()
        for key in sorted(set(old) | set(new)):
            was, now = old.get(key, defaults.get(key)), new.get(key, defaults.get(key))
            if was != now:
                lines.append(f"{encoder}: {key} {was} -> {now}: a new model, fitted in this run")
    if before.encoders_from != after.encoders_from:
        lines.append(f"encoders_from {before.encoders_from} -> {after.encoders_from}")
    if before.seed != after.seed:
        lines.append(f"seed {before.seed} -> {after.seed}: a new split, every model is refitted")
    for field in dataclasses.fields(after.thresholds):
        was, now = getattr(before.thresholds, field.name), getattr(after.thresholds, field.name)
        if was != now:
            lines.append(f"floor {field.name} {was} -> {now}: the checks are judged again")
    return lines


def _served_line(held_back: dict[str, str], never_served: list[str]) -> str:
    """What searches read now, and for each encoder held back, why (in its own words)."""
    if not held_back:
        return "served: every encoder's newest embeddings (their checks passed)"
    parts = [
        f"{encoder} not served ({reason.split(';')[0]}"
        + (
            ", and nothing was ever served: searches read the newest version)"
            if encoder in never_served
            else "; the served version stays)"
        )
        for encoder, reason in held_back.items()
    ]
    return "; ".join(parts) + '; see `repr-assets sql "SELECT * FROM publications"`'


def _name_from_path(path: Path) -> str:
    stem = path.resolve().name.split(".")[0]
    name = re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_")
    try:
        return valid_name(name)
    except ValueError:
        raise UsageError(
            f"cannot name a data set after {path.name!r}: give one with --dataset"
        ) from None
