"""The ``repr-assets`` command line: run the pipeline, search, query and read the reports.

Each command lives in a module of its own (``repr_assets.cli.run``, ``.search``, ...) with
a ``main(args)``; only the module of the command given is imported, so that a search or a
query never pays for Dagster or torch. Whatever goes wrong reaches the user as one line.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from repr_assets.cli.common import UsageError
from repr_assets.cli.parser import build_parser
from repr_assets.datasets.errors import DeclarationError
from repr_assets.stores.unavailable import StoreUnavailableError

BROKEN_PIPE = 141  # what a shell reports for a process killed by SIGPIPE (128 + 13)
INTERRUPTED = 130  # 128 + SIGINT


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        command = importlib.import_module(f"repr_assets.cli.{args.command}")
        status: int = command.main(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit, where it cannot be caught
        return status
    except (UsageError, DeclarationError, StoreUnavailableError) as error:
        print(f"repr-assets: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `repr-assets search ... --json | head`: the reader has what it wanted. Point
        # stdout at /dev/null so that the interpreter's last flush does not fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE
    except KeyboardInterrupt:
        print("repr-assets: interrupted", file=sys.stderr)
        return INTERRUPTED


__all__ = ["UsageError", "main"]
