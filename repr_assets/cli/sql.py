"""``repr-assets sql``: one read-only query over the LanceDB tables and the reports."""

from __future__ import annotations

import argparse
import sys

from repr_assets.cli.common import UsageError
from repr_assets.home import home_from_environment
from repr_assets.sql import (
    QueryRefused,
    open_sandbox,
    run_query,
    write_csv,
    write_json,
    write_table,
)

WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}


def main(args: argparse.Namespace) -> int:
    try:
        with open_sandbox(home_from_environment()) as connection:
            WRITERS[args.format](run_query(connection, args.query), sys.stdout)
    except QueryRefused as error:
        raise UsageError(f"sql: {error}") from None
    return 0
