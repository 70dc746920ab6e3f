"""``repr-assets drop``: remove a data set's tables, models and stored spec."""

from __future__ import annotations

import argparse

import duckdb

from repr_assets.cli.common import UsageError
from repr_assets.datasets.catalog import Catalog, declared_file
from repr_assets.datasets.specs import validate_dataset_name
from repr_assets.home import home_from_environment
from repr_assets.pipeline.drop import drop_dataset


def main(args: argparse.Namespace) -> int:
    try:
        name = validate_dataset_name(args.dataset)
    except ValueError as error:
        raise UsageError(str(error)) from None
    catalog = Catalog(home_from_environment(), declared_file())
    try:
        dropped = drop_dataset(catalog, name)
    except duckdb.IOException as error:
        raise UsageError(
            f"cannot open {catalog.home.reports} to drop {name!r}; nothing was removed "
            f"({str(error).splitlines()[0]})"
        ) from None
    if not dropped.anything:
        raise UsageError(f"data set {name!r} has nothing under {catalog.home.root} to drop")
    print(f"dropped {name}: tables {', '.join(dropped.tables) or 'none'}", end="")
    print(f"; models {'removed' if dropped.models else 'none'}", end="")
    forgotten = ", ".join(f"{n} {t} rows" for t, n in dropped.rows.items() if n)
    print(f"; {forgotten or 'no quarantine or report-run rows'}")
    print("kept: the history in reports.duckdb (quality_metrics, publications, models)")
    for table, other in sorted(dropped.shared.items()):
        print(f"kept: {table}, which is also the name of a table of data set {other!r}")
    return 0
