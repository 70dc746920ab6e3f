"""``repr-assets compact``: compact a data set's tables and remove the versions no one can
ask for again (the served one and the last published ones are kept)."""

from __future__ import annotations

import argparse

import duckdb

from repr_assets.cli.common import UsageError
from repr_assets.datasets.catalog import Catalog, UnknownDatasetError, declared_file
from repr_assets.home import home_from_environment
from repr_assets.pipeline.compact import compact_dataset
from repr_assets.stores.duckdb_file import connect
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.retention import Retained, mebibytes


def main(args: argparse.Namespace) -> int:
    catalog = Catalog(home_from_environment(), declared_file())
    home = catalog.home
    try:
        spec = catalog.get(args.dataset)
    except UnknownDatasetError:
        raise UsageError(
            f"no data set {args.dataset!r} under {home.root}; the data sets are: "
            f"{', '.join(catalog.names())}"
        ) from None
    keep = spec.keep_published if args.keep is None else args.keep
    grace = spec.retention_grace if args.grace is None else args.grace
    if not home.has_lancedb():
        raise UsageError(f"data set {spec.name!r} has no tables under {home.lancedb}")
    store = LanceStore.of(home)
    try:
        if home.reports.exists():
            with connect(home.reports, read_only=False) as connection:
                done = compact_dataset(store, connection, spec.name, keep, grace)
        else:
            done = compact_dataset(store, None, spec.name, keep, grace)
    except duckdb.IOException as error:
        raise UsageError(f"cannot open {home.reports} (is a run writing it?): {error}") from None
    if not done:
        raise UsageError(f"data set {spec.name!r} has no tables under {home.lancedb}")
    for retained in done:
        print(_line(retained))
    return 0


def _line(retained: Retained) -> str:
    size = ""
    if retained.bytes_before is not None and retained.bytes_after is not None:
        size = f"; files {mebibytes(retained.bytes_before)} -> {mebibytes(retained.bytes_after)}"
    return (
        f"{retained.table}: {'compacted' if retained.compacted else 'nothing to compact'}; "
        f"removed {retained.removed_versions} old versions ({mebibytes(retained.bytes_removed)}); "
        f"kept versions {', '.join(map(str, retained.kept))}{size}"
    )
