"""``repr-assets sql``: one read-only query over the LanceDB tables and the reports."""

from __future__ import annotations

import argparse
import sys

from repr_assets.cli.common import UsageError
from repr_assets.home import home_from_environment
from repr_assets.sql import (
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TIMEOUT_S,
    QueryRefused,
    open_sandbox,
    write_result,
)


def main(args: argparse.Namespace) -> int:
    timeout = args.timeout or DEFAULT_TIMEOUT_S
    try:
        with open_sandbox(home_from_environment(), args.memory_limit or DEFAULT_MEMORY_LIMIT) as db:
            write_result(db, args.query, args.format, sys.stdout, timeout)
    except QueryRefused as error:
        raise UsageError(f"sql: {error}") from None
    return 0
