"""Timing ``repr-assets run`` as a user runs it: a child process in a fresh home.

Shared by ``idx_run.py`` and ``scale_run.py``. The child's peak resident memory comes
from ``os.wait4`` on that child alone, so runs in one process do not mix their peaks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
PROFILER = Path(__file__).resolve().with_name("profile_run.py")


@dataclass(frozen=True)
class CLIRun:
    exit: int
    seconds: float
    peak_rss_mib: float
    stdout: str
    stderr: str

    def lines_starting(self, prefix: str) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(prefix)]


def repr_assets_command(*args: str) -> list[str]:
    """``repr-assets ARGS`` from the virtual environment of this interpreter."""
    return [str(Path(sys.executable).with_name("repr-assets")), *args]


def under_profiler(command: list[str]) -> list[str]:
    """The same ``repr-assets`` command, run by ``profile_run.py``: time and RSS per step."""
    return [sys.executable, str(PROFILER), "--", *command[1:]]


def profile_table(run: CLIRun) -> list[str]:
    """The per-step table that ``profile_run.py`` printed at the end of ``run``."""
    return run.stdout[run.stdout.rfind("\nexit ") :].strip().splitlines()


def run_cli(command: list[str], home: Path, extra_env: dict[str, str] | None = None) -> CLIRun:
    """Run ``command`` with ``REPR_ASSETS_HOME=home`` (its LanceDB database in it too); its
    time, exit status, output and peak RSS (``ru_maxrss`` of this child, from ``wait4``)."""
    env = {**os.environ, "REPR_ASSETS_HOME": str(home), **(extra_env or {})}
    env.pop("REPR_ASSETS_LANCEDB_URI", None)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return CLIRun(child.returncode, seconds, usage.ru_maxrss / 1024, out.read(), err.read())


def run_checked(command: list[str], home: Path) -> CLIRun:
    """``run_cli``, raising with the end of its stderr when the command fails."""
    run = run_cli(command, home)
    if run.exit != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed: {run.stderr.strip()[-2000:]}")
    return run


def latest_metrics(home: Path, dataset: str) -> dict[str, dict[str, float]]:
    """``{encoder: {metric: value}}`` of the latest run's rows in ``quality_metrics``."""
    import duckdb

    with duckdb.connect(str(home / "reports.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "SELECT encoder, metric, value FROM quality_metrics WHERE dataset = ? AND run_id = "
            "(SELECT run_id FROM quality_metrics WHERE dataset = ? "
            "ORDER BY computed_at DESC LIMIT 1) ORDER BY encoder, metric",
            [dataset, dataset],
        ).fetchall()
    metrics: dict[str, dict[str, float]] = {}
    for encoder, metric, value in rows:
        metrics.setdefault(encoder, {})[metric] = round(float(value), 4)
    return metrics


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write ``result`` as ``benchmarks/results/<name>-<timestamp>.json`` (git ignores it)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
