"""The Dagster instance that lives in ``REPR_ASSETS_HOME/dagster``."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from repr_assets.home import Home
from repr_assets.orchestration.pool import ensure_store_pool, free_stranded_slots

DAGSTER_YAML = """\
# Written by repr-assets. Runs made by `repr-assets run` and by `make ui` share this instance.
telemetry:
  enabled: false
nux:
  enabled: false
"""


def prepare_dagster_home(home: Home) -> None:
    """Create the instance folder with its ``dagster.yaml`` (kept if the user edited it)."""
    home.dagster.mkdir(parents=True, exist_ok=True)
    config = home.dagster / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)


def open_instance(home: Home) -> dg.DagsterInstance:
    """The persistent instance under ``home``; this process's ``DAGSTER_HOME`` points at it.

    It is opened under a file lock: the first opening of a fresh instance creates its
    SQLite schema, and two processes doing that at once race on it ("table ... already
    exists"). The store pool gets its one slot (see ``repr_assets.orchestration.pool``),
    and slots left behind by runs that are over or whose process is gone are given back,
    which is said on stderr, so that a killed run never stalls the next one.
    """
    home.dagster.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home.dagster)
    with _locked(home.dagster / ".instance.lock"):
        prepare_dagster_home(home)
        instance = _opened(home)
    for run_id in free_stranded_slots(instance):
        print(
            f"repr-assets: freed the pool slots of run {run_id}, which had stopped without "
            "giving them back",
            file=sys.stderr,
        )
    return instance


class InstanceUnavailableError(RuntimeError):
    """The instance's storage (a PostgreSQL server, say) cannot be reached or read."""


def _opened(home: Home) -> dg.DagsterInstance:
    """The instance, with its pool slot, or one line on why it cannot be opened. The
    storage's own retries log a warning each (dagster-postgres tries for some seconds):
    they are held back, as the line says it all."""
    logging.disable(logging.WARNING)
    try:
        instance = dg.DagsterInstance.get()
        ensure_store_pool(instance)
        return instance
    except Exception as error:
        raise InstanceUnavailableError(
            f"cannot open the Dagster instance of {home.dagster / 'dagster.yaml'}: "
            f"{_first_line(error)}"
        ) from None
    finally:
        logging.disable(logging.NOTSET)


def _first_line(error: BaseException) -> str:
    """The innermost cause's first line: the driver's "connection refused", not the
    wrapper's "too many retries"."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` for the block (released when the file closes)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
