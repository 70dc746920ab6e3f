"""Where ``repr-assets run`` runs its steps: ``--executor`` and ``--dask-address``, checked
before anything is written."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import socket

from repr_assets.cli.common import UsageError
from repr_assets.datasets.specs import DASK_EXTRA_MESSAGE, DatasetSpec, Executor

DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def check_execution(spec: DatasetSpec, args: argparse.Namespace) -> None:
    """Refuse, before anything is written, an executor that cannot run here: Dask without
    its extra, or an address where no scheduler is."""
    if args.dask_address is not None:
        _check_dask_address(args.dask_address, args.executor)
    if (
        executing(spec, args).executor == "dask"
        and importlib.util.find_spec("dagster_dask") is None
    ):
        raise UsageError(DASK_EXTRA_MESSAGE)


def _check_dask_address(address: str, executor: str | None) -> None:
    """An address no scheduler can be at, or at which none answers (a TCP-like one is
    connected to, for up to 5 seconds), is refused."""
    if executor not in (None, "dask"):
        raise UsageError(f"--dask-address is for --executor dask, not {executor}")
    scheme, _, rest = address.rpartition("://") if "://" in address else ("tcp", "", address)
    if scheme not in DASK_SCHEMES:
        raise UsageError(
            f"--dask-address {address!r}: unknown scheme {scheme!r} (known: "
            f"{', '.join(DASK_SCHEMES)})"
        )
    if scheme in ("ucx", "inproc"):
        return
    host, _, port = rest.rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--dask-address {address!r}: expected HOST:PORT, e.g. tcp://HOST:8786")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as error:
        raise UsageError(
            f"--dask-address {address}: no Dask scheduler answers there ({error.strerror or error})"
        ) from None


def executing(spec: DatasetSpec, args: argparse.Namespace) -> DatasetSpec:
    """``spec`` under the executor the command line chose (not stored: where a run runs
    changes nothing it computes)."""
    executor: Executor = "dask" if args.dask_address else args.executor or spec.executor
    return dataclasses.replace(
        spec,
        executor=executor,
        dask_address=args.dask_address or spec.dask_address,
    )
