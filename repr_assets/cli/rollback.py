"""``repr-assets rollback``: serve an earlier published version of an embeddings table."""

from __future__ import annotations

import argparse

import duckdb

from repr_assets.cli.common import UsageError
from repr_assets.home import home_from_environment
from repr_assets.names import embeddings_table
from repr_assets.stores.duckdb_file import connect
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.serving import RollbackError, rollback


def main(args: argparse.Namespace) -> int:
    home = home_from_environment()
    if not home.has_lancedb() or not home.reports.exists():
        raise UsageError(f"nothing has been published under {home.root} yet")
    try:
        with connect(home.reports, read_only=False) as connection:
            before, after = rollback(
                LanceStore.of(home), connection, args.dataset, args.encoder, args.to
            )
    except RollbackError as error:
        raise UsageError(str(error)) from None
    except duckdb.IOException as error:
        raise UsageError(f"cannot open {home.reports} (is a run writing it?): {error}") from None
    print(f"{embeddings_table(args.dataset, args.encoder)}: served version {before} -> {after}")
    return 0
