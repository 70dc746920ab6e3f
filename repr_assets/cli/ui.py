"""``repr-assets ui``: ``dagster dev`` on this home's instance, stopped cleanly on Ctrl-C.

``dagster dev`` runs in a session of its own (with the webserver and the daemon it starts),
so that this process decides how it ends: on Ctrl-C or SIGTERM the whole session gets
SIGTERM, and whatever still runs after ``STOP_SECONDS`` is killed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from repr_assets.cli.common import UsageError
from repr_assets.home import HOME_VARIABLE, home_from_environment
from repr_assets.orchestration.instance import open_instance

LOCATION_MODULE = "repr_assets.orchestration.location"
STOP_SECONDS = 8.0
SUPERSEDED = "ignore:Function `dev_command` is superseded"


class _Terminated(Exception):
    pass


def main(args: argparse.Namespace) -> int:
    if args.workspace is not None and not os.path.isfile(args.workspace):
        raise UsageError(f"no workspace file {args.workspace!r}")
    home = home_from_environment()
    open_instance(home).dispose()
    target = ["-w", args.workspace] if args.workspace else ["-m", LOCATION_MODULE]
    dagster = str(Path(sys.executable).with_name("dagster"))
    command = [dagster, "dev", *target, "-h", args.host, "-p", str(args.port)]
    env = {**os.environ, HOME_VARIABLE: str(home.root), "DAGSTER_HOME": str(home.dagster)}
    # `dagster dev` warns that it is superseded by `dg dev`, a tool this package does not
    # install: advice for Dagster's developers, not for ours.
    env["PYTHONWARNINGS"] = ",".join(filter(None, (env.get("PYTHONWARNINGS"), SUPERSEDED)))
    print(f"Dagster UI on http://{args.host}:{args.port} (instance: {home.dagster})", flush=True)
    process = subprocess.Popen(command, env=env, start_new_session=True)

    def terminated(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    signal.signal(signal.SIGTERM, terminated)
    try:
        return process.wait()
    except (KeyboardInterrupt, _Terminated):
        print("repr-assets: stopping the Dagster UI", file=sys.stderr, flush=True)
        return _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM to ``dagster dev``'s whole session, SIGKILL to what outlives the grace time."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=STOP_SECONDS)
            break
        except subprocess.TimeoutExpired:
            continue
    _kill_stragglers(process.pid)
    return 0


def _kill_stragglers(session: int) -> None:
    """Children that ``dagster dev`` left in its session after it exited."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signal.SIGKILL)
