"""The argument parser of every command. Abbreviated options are refused: ``--encoder pca``
must not be taken for ``--encoders pca``."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from repr_assets import __version__
from repr_assets.cli.common import integer, number
from repr_assets.datasets.specs import EXECUTORS
from repr_assets.encoders.config import DEFAULT_MAX_SAMPLES
from repr_assets.home import HOME_VARIABLE
from repr_assets.schema import MAX_EPOCHS, MAX_SAMPLES


class _Parser(argparse.ArgumentParser):
    """Reports a usage error as one line (``--help`` still shows the usage)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="repr-assets",
        description="Representation learning and vector search as Dagster assets. "
        f"Everything is written under ${HOME_VARIABLE} (default ./.repr_assets).",
    )
    parser.add_argument("--version", action="version", version=f"repr-assets {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _run(commands.add_parser("run", help="materialise the whole asset graph of a data set"))
    _search(commands.add_parser("search", help="nearest neighbours by cosine distance"))
    _sql(commands.add_parser("sql", help="read-only SQL over LanceDB tables and the reports"))
    report = commands.add_parser("report", help="the latest quality metrics and checks")
    report.add_argument("--dataset", help="only this data set")
    report.add_argument("--format", choices=["table", "json"], default="table")
    rollback = commands.add_parser(
        "rollback", help="serve an earlier published version of an embeddings table"
    )
    rollback.add_argument("--dataset", required=True, help="data set name")
    rollback.add_argument("--encoder", required=True, help="encoder name, e.g. pca")
    rollback.add_argument(
        "--to", type=integer(1), help="table version (default: the one published before)"
    )
    drop = commands.add_parser(
        "drop", help="remove a data set's tables, models and stored spec (the history stays)"
    )
    drop.add_argument("--dataset", required=True, help="data set name")
    compact = commands.add_parser(
        "compact",
        help="compact a data set's tables and remove old versions (served and last published kept)",
    )
    compact.add_argument("--dataset", required=True, help="data set name")
    compact.add_argument(
        "--keep",
        type=integer(1),
        help="published versions to keep per embeddings table (default: the data set's "
        "keep_published, 5 unless set)",
    )
    compact.add_argument(
        "--grace",
        type=number(0),
        help="seconds: versions younger than this are kept (default: the data set's "
        "retention_grace, 3600 unless set)",
    )
    ui = commands.add_parser("ui", help="start `dagster dev` on this home's instance")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=integer(1), default=3000)
    ui.add_argument(
        "--workspace", help="a workspace.yaml to load (default: the package's code location)"
    )
    return parser


def _run(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--dataset",
        help="data set name: a built-in one (default: digits), one declared in YAML or run "
        "before with --source, or the name of a new data set from --source (default: the "
        "source's file name)",
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
        "--color",
        action="store_true",
        default=None,
        help="featurise the images of --source in RGB, not grey",
    )
    run.add_argument(
        "--factor-columns",
        type=_names,
        help="comma-separated columns of a file source that hold the items' true factors "
        "(not featurised; the report measures how each code disentangles and recovers them)",
    )
    run.add_argument(
        "--encoders",
        help="comma-separated encoders to fit and compare (default: pca,autoencoder; known: "
        "pca, autoencoder, denoising_autoencoder, beta_vae, conv_autoencoder, contrastive, "
        "minilm, efficientnet_lite0)",
    )
    run.add_argument(
        "--encoders-from",
        metavar="OTHER",
        help="also score the encoders of data set OTHER (of the same featurised width) on "
        "this one: the report's transfer_* metrics",
    )
    run.add_argument(
        "--refit",
        action="store_true",
        help="fit the featuriser and encoders again, even if saved fits still apply",
    )
    run.add_argument("--latent-dim", type=integer(1), help="size of every encoder's code")
    run.add_argument("--epochs", type=integer(1, MAX_EPOCHS), help="most training epochs")
    run.add_argument(
        "--max-samples",
        type=integer(1, MAX_SAMPLES),
        help=f"most training samples seen, epochs x training rows, the rows fitted less the "
        f"10%% held out for early stopping (default {DEFAULT_MAX_SAMPLES:,}; one epoch at "
        "least): a large data set trains for fewer epochs than --epochs",
    )
    run.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    run.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        help="run the steps in this process (default), a process per step, or on Dask",
    )
    run.add_argument(
        "--dask-address",
        metavar="ADDR",
        help="the Dask scheduler to run on (implies --executor dask; without it, dask starts "
        "a local cluster of one worker per core)",
    )
    run.add_argument("--seed", type=integer(0), help="seed for splits and training (default: 0)")
    floors = run.add_argument_group(
        "quality floors", "absolute floors of the checks (default: relative to the report)"
    )
    floors.add_argument("--min-probe-accuracy", type=number(0.0, 1.0), metavar="X")
    floors.add_argument("--min-effective-rank", type=number(0.0), metavar="X")
    floors.add_argument("--min-explained-variance", type=number(-1e9, 1.0), metavar="X")
    floors.add_argument(
        "--min-neighbour-overlap",
        type=number(0.0, 1.0),
        metavar="X",
        help="hold back a refit whose neighbour_overlap_previous is below X (default: off)",
    )


def _search(search: argparse.ArgumentParser) -> None:
    search.add_argument("--dataset", required=True, help="data set name")
    search.add_argument("--encoder", required=True, help="encoder name, e.g. pca, autoencoder")
    query = search.add_mutually_exclusive_group(required=True)
    query.add_argument("--id", dest="item_id", help="an item of the table (left out of its hits)")
    query.add_argument("--vector", help="a JSON array of the table's vector width")
    query.add_argument("--file", help="a new image file, featurised and encoded")
    query.add_argument("--text", help="a new text (for data sets with a text featuriser)")
    search.add_argument(
        "--minus",
        action="append",
        default=[],
        metavar="ITEM",
        help="subtract this item's vector from the query (king --minus man --plus woman)",
    )
    search.add_argument(
        "--plus", action="append", default=[], metavar="ITEM", help="add this item's vector"
    )
    search.add_argument("-k", type=integer(1), default=10, help="neighbours (default: 10)")
    search.add_argument(
        "--where", action="append", default=[], metavar="COLUMN=VALUE", help="equality filter"
    )
    search.add_argument("--exact", action="store_true", help="brute force, even with an index")
    search.add_argument("--json", action="store_true", help="a JSON array of hits")


def _sql(sql: argparse.ArgumentParser) -> None:
    sql.add_argument("query", help="one SELECT query (DuckDB dialect)")
    sql.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table: the first 1,000 rows, aligned (the default); csv and json: every row",
    )
    sql.add_argument(
        "--timeout",
        type=number(0.0, exclusive=True),
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


def _names(text: str) -> tuple[str, ...]:
    """A comma-separated list of column names."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return names
