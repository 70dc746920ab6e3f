"""The ``repr-assets`` command line: run the pipeline, read the reports."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from repr_assets.home import HOME_VARIABLE, Home, home_from_environment


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2, nothing written."""


def _integer(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    """Reports a usage error as one line (``--help`` still shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="repr-assets",
        description="Representation learning and vector search as Dagster assets. "
        f"Everything is written under ${HOME_VARIABLE} (default ./.repr_assets).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="materialise the whole asset graph of a data set")
    run.add_argument(
        "--dataset",
        help="data set name: the built-in digits (the default), one run before with --source, "
        "or the name of a new data set from --source (default: the source's file name)",
    )
    run.add_argument(
        "--source",
        help="a folder of images (class folders), a folder of IDX files, or a CSV, Parquet or "
        "JSONL file",
    )
    run.add_argument("--modality", choices=["image", "text", "tabular"])
    run.add_argument("--label-column", help="column of a file source that holds the label")
    run.add_argument("--text-column", help="column of a file source that holds the text")
    run.add_argument("--id-column", help="column of a file source that holds the item id")
    run.add_argument(
        "--encoders",
        help="comma-separated encoders to fit and compare (default: pca,autoencoder; known: "
        "pca, autoencoder, denoising_autoencoder, contrastive, minilm)",
    )
    run.add_argument(
        "--refit",
        action="store_true",
        help="fit the featuriser and encoders again, even if saved fits still apply",
    )
    run.add_argument("--latent-dim", type=_integer(1), help="size of every encoder's code")
    run.add_argument("--epochs", type=_integer(1), help="most training epochs")
    run.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    run.add_argument("--seed", type=_integer(0), help="seed for splits and training (default: 0)")

    ui = commands.add_parser("ui", help="start `dagster dev` on this home's instance")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=_integer(1), default=3000)
    ui.add_argument("--workspace", default="workspace.yaml")

    report = commands.add_parser("report", help="the latest quality metrics")
    report.add_argument("--dataset", help="only this data set")
    report.add_argument("--format", choices=["table", "json"], default="table")
    _add_search_and_sql_parsers(commands)

    rollback = commands.add_parser(
        "rollback", help="serve an earlier published version of an embeddings table"
    )
    rollback.add_argument("--dataset", required=True, help="data set name")
    rollback.add_argument("--encoder", required=True, help="encoder name, e.g. pca")
    rollback.add_argument(
        "--to", type=_integer(1), help="table version (default: the one published before)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return run_command(args)
        if args.command == "ui":
            return ui_command(args)
        if args.command == "search":
            return search_command(args)
        if args.command == "sql":
            return sql_command(args)
        if args.command == "rollback":
            return rollback_command(args)
        return report_command(args)
    except UsageError as error:
        print(f"repr-assets: error: {error}", file=sys.stderr)
        return 2


def run_command(args: argparse.Namespace) -> int:
    home = home_from_environment()
    # Validate everything before anything touches the disk.
    spec = resolve_run_spec(args, home)
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda was asked for, but torch sees no CUDA device")

    from repr_assets.orchestration.definitions import build_definitions, pipeline_job_name
    from repr_assets.orchestration.instance import open_instance
    from repr_assets.orchestration.pool import process_tags

    if spec.source is not None:
        _store_spec(home, spec)
    instance = open_instance(home)
    job = build_definitions([spec], home).resolve_job_def(pipeline_job_name(spec.name))
    run_id = str(uuid.uuid4())  # known before the run starts, for its tags
    result = job.execute_in_process(
        run_config=_run_config(spec, args),
        instance=instance,
        raise_on_error=False,
        run_id=run_id,
        tags={"repr_assets/source": "cli", **process_tags(run_id)},
    )
    failed_checks = ", ".join(
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    )
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure and event.step_failure_data.error is not None:
                error = event.step_failure_data.error
                while error.cause is not None:  # the user code's error, not Dagster's wrapper
                    error = error.cause
                message = error.message.strip().splitlines()[0]
                print(f"repr-assets: step {event.step_key} failed: {message}", file=sys.stderr)
        if failed_checks:
            print(f"repr-assets: checks failed: {failed_checks}", file=sys.stderr)
        print(
            f"repr-assets: run {result.run_id} failed; see `make ui` for its logs", file=sys.stderr
        )
        return 1
    print(f"\nrun {result.run_id} succeeded; everything is under {home.root}")
    print(_ingest_summary(result, spec.name))
    print(_served_summary(result, spec.name) + "\n")
    _print_report(home, spec.name, "table")
    if failed_checks:
        # The run materialised everything; these are quality floors, not errors.
        print(f"\nquality checks below their floor: {failed_checks}")
    from repr_assets.stores.lance import LanceStore
    from repr_assets.tables import items_table

    example = LanceStore(home.lancedb).head(items_table(spec.name), 1, ["item_id"])
    example_id = example.column("item_id")[0].as_py()
    print(
        "\nnext:\n  make ui    # the graph, this run, its plots and checks\n"
        f"  repr-assets search --dataset {spec.name} --encoder pca --id {example_id}\n"
        f'  repr-assets sql "SELECT label, count(*) FROM {spec.name}_pca GROUP BY label"'
    )
    return 0


SOURCE_OPTIONS = ("modality", "label_column", "text_column", "id_column")


def resolve_run_spec(args: argparse.Namespace, home: Home) -> Any:
    """The data set ``repr-assets run`` is asked for, its source checked; writes nothing."""
    from pathlib import Path

    from repr_assets.datasets import BUILTIN_DATASETS
    from repr_assets.sources import SourceError, open_source

    if args.source is None:
        for option in SOURCE_OPTIONS:
            if getattr(args, option) is not None:
                raise UsageError(f"--{option.replace('_', '-')} needs --source")
        spec = find_dataset(home, args.dataset or "digits")
        spec = dataclasses.replace(spec, seed=spec.seed if args.seed is None else args.seed)
        return _with_encoders(spec, args.encoders)
    path = Path(args.source).expanduser()
    if not path.exists():
        raise UsageError(f"--source: no such file or folder: {args.source}")
    name = args.dataset or _name_from_path(path)
    if name in BUILTIN_DATASETS:
        raise UsageError(f"{name!r} is a built-in data set: name yours with --dataset")
    from repr_assets.datasets import DatasetSpec, default_thresholds
    from repr_assets.sources import source_modality

    modality = args.modality or source_modality(path, args.text_column)
    try:
        spec = DatasetSpec(
            name=name,
            modality=modality,
            thresholds=default_thresholds(modality),
            source=str(path.resolve()),
            label_column=args.label_column,
            text_column=args.text_column,
            id_column=args.id_column,
            seed=args.seed or 0,
        )
        open_source(spec)
    except (SourceError, ValueError) as error:
        raise UsageError(str(error)) from None
    return _with_encoders(spec, args.encoders)


def _with_encoders(spec: Any, names: str | None) -> Any:
    """``spec`` with the encoders of ``--encoders``, checked against the known ones."""
    from repr_assets.encoders.minilm import TEXT_EXTRA_MESSAGE, minilm_available
    from repr_assets.encoders.registry import UnknownEncoderError, check_encoders

    if names is not None:
        encoders = tuple(name.strip() for name in names.split(",") if name.strip())
        spec = dataclasses.replace(spec, encoders=encoders)
    try:
        check_encoders(spec.encoders, spec.modality, spec.name)
    except UnknownEncoderError as error:
        raise UsageError(f"--encoders: {error}") from None
    if "minilm" in spec.encoders and not minilm_available():
        raise UsageError(TEXT_EXTRA_MESSAGE)
    return spec


def find_dataset(home: Home, name: str) -> Any:
    """A built-in data set, or one declared by an earlier ``run --source`` in this home."""
    from repr_assets.datasets import BUILTIN_DATASETS, DatasetSpec, spec_path

    if name in BUILTIN_DATASETS:
        return BUILTIN_DATASETS[name]
    stored = spec_path(home.models, name)
    if stored.exists():
        return DatasetSpec.from_json(stored.read_text())
    known = ", ".join(sorted(BUILTIN_DATASETS))
    raise UsageError(
        f"unknown data set {name!r}: the built-in data sets are {known}; "
        "a new one needs --source PATH"
    )


def _name_from_path(path: Any) -> str:
    import re

    from repr_assets.datasets import validate_dataset_name

    stem = path.resolve().name.split(".")[0]
    name = re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_")
    try:
        return validate_dataset_name(name)
    except ValueError:
        raise UsageError(
            f"cannot name a data set after {path.name!r}: give one with --dataset"
        ) from None


def _store_spec(home: Home, spec: Any) -> None:
    """Keep the spec beside the data set's models, for later runs, the UI and search."""
    from repr_assets.datasets import spec_path
    from repr_assets.stores.models import atomic_write

    atomic_write(spec_path(home.models, spec.name), spec.to_json())


def _ingest_summary(result: Any, dataset: str) -> str:
    materialized = result.asset_materializations_for_node(f"{dataset}__items")
    if not materialized:
        return ""
    meta = {key: value.value for key, value in materialized[-1].metadata.items()}
    line = (
        f"items: {meta.get('new_items', 0)} new, {meta.get('dagster/row_count', 0)} in all, "
        f"{meta.get('duplicates_dropped', 0)} duplicates dropped"
    )
    quarantined = meta.get("quarantined", 0)
    if quarantined:
        line += (
            f", {quarantined} set aside: repr-assets sql "
            f"\"SELECT ref, reason FROM quarantine WHERE dataset = '{dataset}'\""
        )
    return line


def _served_summary(result: Any, dataset: str) -> str:
    materialized = result.asset_materializations_for_node(f"{dataset}__served_embeddings")
    if not materialized:
        return ""
    held = list(materialized[-1].metadata["held_back"].value)
    if not held:
        return "served: every encoder's newest embeddings (their checks passed)"
    return (
        f"held back (checks failed, the served version stays): {', '.join(held)}; "
        'see `repr-assets sql "SELECT * FROM publications"`'
    )


def ui_command(args: argparse.Namespace) -> int:
    """Replace this process with ``dagster dev`` on the home's instance and workspace."""
    from repr_assets.orchestration.instance import open_instance

    if not os.path.exists(args.workspace):
        raise UsageError(f"no workspace file {args.workspace!r}: run this from the repository root")
    home = home_from_environment()
    open_instance(home).dispose()
    os.environ[HOME_VARIABLE] = str(home.root)
    print(f"Dagster UI on http://{args.host}:{args.port} (instance: {home.dagster})", flush=True)
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    command = [dagster, "dev", "-w", args.workspace, "-h", args.host, "-p", str(args.port)]
    os.execv(dagster, command)


def _run_config(spec: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The run config of the command's options; an option goes to every encoder that has
    the field (``--epochs`` means nothing to PCA)."""
    from repr_assets.encoders.registry import encoder_kind

    options = {"latent_dim": args.latent_dim, "epochs": args.epochs, "device": args.device}
    options["seed"] = spec.seed
    ops: dict[str, Any] = {f"{spec.name}__features": {"config": {"refit": args.refit}}}
    for encoder in spec.encoders:
        defaults = encoder_kind(encoder).defaults
        config = {k: v for k, v in options.items() if v is not None and k in defaults}
        # The same switch as the refit schedule's run config.
        config["refit"] = args.refit
        ops[f"{spec.name}__{encoder}_model"] = {"config": config}
    return {"ops": ops, "loggers": {"console": {"config": {"log_level": "INFO"}}}}


def report_command(args: argparse.Namespace) -> int:
    home = home_from_environment()
    if not home.reports.exists():
        raise UsageError(f"no reports under {home.root} yet: run `repr-assets run` first")
    return _print_report(home, args.dataset, args.format)


def _print_report(home: Home, dataset: str | None, output_format: str) -> int:
    import duckdb

    from repr_assets.stores.reports import latest_metrics

    with duckdb.connect(str(home.reports), read_only=True) as connection:
        latest = latest_metrics(connection, dataset)
    if latest.empty:
        where = f" for data set {dataset!r}" if dataset else ""
        raise UsageError(f"no quality metrics{where} in {home.reports}")
    if output_format == "json":
        latest["computed_at"] = latest["computed_at"].astype(str)
        # Missing comparisons are NaN in pandas; JSON has null for them.
        records = json.loads(latest.to_json(orient="records"))
        print(json.dumps(records, indent=2))
        return 0
    print(format_report(latest))
    return 0


def format_report(latest: Any) -> str:
    """The latest metrics as text: a block per data set and encoder, with the change since
    the encoder's previous model version; then, per data set, the encoders side by side."""
    lines: list[str] = []
    for (dataset, encoder), group in latest.groupby(["dataset", "encoder"], sort=True):
        version = group["model_version"].iloc[0]
        previous = group["previous_model_version"].dropna()
        against = f", change since {previous.iloc[0]}" if len(previous) else ", first version"
        lines.append(f"{dataset} / {encoder}  (model {version}{against})")
        for row in group.itertuples():
            change = "" if row.delta != row.delta else f"{row.delta:+12.4f}"  # NaN: none
            lines.append(f"  {row.metric:<34}{row.value:12.4f}{change}")
        lines.append("")
    from repr_assets.compare import format_rankings, rank_encoders

    for dataset, group in latest.groupby("dataset", sort=True):
        if group["encoder"].nunique() > 1:
            values = {
                encoder: dict(zip(rows["metric"], rows["value"], strict=True))
                for encoder, rows in group.groupby("encoder", sort=False)
            }
            lines += [format_rankings(str(dataset), rank_encoders(values)), ""]
    return "\n".join(lines).rstrip()


def _add_search_and_sql_parsers(commands: Any) -> None:
    search = commands.add_parser("search", help="nearest neighbours by cosine distance")
    search.add_argument("--dataset", required=True, help="data set name")
    search.add_argument("--encoder", required=True, help="encoder name, e.g. pca, autoencoder")
    query = search.add_mutually_exclusive_group(required=True)
    query.add_argument("--id", dest="item_id", help="an item of the table (left out of its hits)")
    query.add_argument("--vector", help="a JSON array of the table's vector width")
    query.add_argument("--file", help="a new image file, featurised and encoded")
    query.add_argument("--text", help="a new text (for data sets with a text featuriser)")
    search.add_argument("-k", type=_integer(1), default=10, help="neighbours (default: 10)")
    search.add_argument(
        "--where", action="append", default=[], metavar="COLUMN=VALUE", help="equality filter"
    )
    search.add_argument("--exact", action="store_true", help="brute force, even with an index")
    search.add_argument("--json", action="store_true", help="a JSON array of hits")

    sql = commands.add_parser("sql", help="read-only SQL over LanceDB tables and the reports")
    sql.add_argument("query", help="one SELECT query (DuckDB dialect)")
    sql.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table: the first 1,000 rows, aligned (the default); csv and json: every row",
    )
    sql.add_argument(
        "--timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="stop the query after this long (default: 60); waiting for a slow reader of "
        "the output does not count",
    )
    sql.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="DuckDB's memory limit, such as 4GB or 25%% of the memory it sees (default: "
        "25%%); past it a query spills to a folder of its own in the home",
    )


def _positive_seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def search_command(args: argparse.Namespace) -> int:
    from repr_assets.search import FilterError, Searcher, UnknownItemError, parse_where
    from repr_assets.stores.lance import LanceStore
    from repr_assets.tables import embeddings_table

    home = home_from_environment()
    table = embeddings_table(args.dataset, args.encoder)
    try:
        where = [parse_where(text) for text in args.where]
        # Checked before connecting, which would create the database folder.
        store = LanceStore(home.lancedb) if home.lancedb.is_dir() else None
        if store is None or not store.exists(table):
            raise UsageError(
                f"no embeddings table {table!r} under {home.lancedb}: "
                f"run `repr-assets run --dataset {args.dataset}` first"
            )
        searcher = Searcher(store, table, exact=args.exact)
        if args.item_id is not None:
            hits = searcher.search_ids([args.item_id], args.k, where)[0]
        else:
            vector = _search_vector(args, store, home)
            hits = searcher.search(vector, args.k, where)[0]
    except (FilterError, UnknownItemError, ValueError) as error:
        raise UsageError(str(error)) from None
    if args.json:
        print(json.dumps(hits.records(), indent=2))
        return 0
    print(f"{'rank':>4}  {'distance':>8}  {'label':<10} item_id")
    for rank, hit in enumerate(hits.records(), start=1):
        label = "NULL" if hit["label"] is None else hit["label"]
        print(f"{rank:>4}  {hit['distance']:8.4f}  {label:<10} {hit['item_id']}")
    return 0


def _search_vector(args: argparse.Namespace, store: Any, home: Home) -> Any:
    """The query vector of ``--vector``, ``--file`` or ``--text``."""
    from pathlib import Path

    from repr_assets.search.raw import ImageFile, Text, encode_raw
    from repr_assets.stores.models import ModelStore

    if args.vector is not None:
        try:
            vector = json.loads(args.vector)
        except json.JSONDecodeError:
            vector = None
        if not isinstance(vector, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in vector
        ):
            raise UsageError(f"--vector expects a JSON array of numbers, got {args.vector!r}")
        return vector
    spec = find_dataset(home, args.dataset)
    raw = ImageFile(Path(args.file)) if args.file is not None else Text(args.text)
    return encode_raw(spec, args.encoder, raw, store, ModelStore(home.models))


def rollback_command(args: argparse.Namespace) -> int:
    import duckdb

    from repr_assets.serving import RollbackError, rollback
    from repr_assets.stores.lance import LanceStore

    home = home_from_environment()
    if not home.lancedb.is_dir() or not home.reports.exists():
        raise UsageError(f"nothing has been published under {home.root} yet")
    try:
        with duckdb.connect(str(home.reports)) as connection:
            before, after = rollback(
                LanceStore(home.lancedb), connection, args.dataset, args.encoder, args.to
            )
    except RollbackError as error:
        raise UsageError(str(error)) from None
    print(f"{args.dataset}_{args.encoder}: served version {before} -> {after}")
    return 0


def sql_command(args: argparse.Namespace) -> int:
    from repr_assets.sql import (
        DEFAULT_MEMORY_LIMIT,
        DEFAULT_TIMEOUT_S,
        QueryRefused,
        open_sandbox,
        write_result,
    )

    home = home_from_environment()
    memory_limit = args.memory_limit or DEFAULT_MEMORY_LIMIT
    try:
        with open_sandbox(home, memory_limit) as connection:
            write_result(
                connection, args.query, args.format, sys.stdout, args.timeout or DEFAULT_TIMEOUT_S
            )
    except QueryRefused as error:
        raise UsageError(f"sql: {error}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
