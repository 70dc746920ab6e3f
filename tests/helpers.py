"""Helpers shared by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# The command line as users run it: the script pip installed beside this interpreter.
CLI = str(Path(sys.executable).with_name("repr-assets"))


def repr_assets(
    home: Path, *args: str, cwd: Path | None = None, timeout: float = 600, **env: str
) -> subprocess.CompletedProcess[str]:
    """``repr-assets ARGS`` with ``home`` as its home and ``env`` added to the environment."""
    environment = {**os.environ, "REPR_ASSETS_HOME": str(home), **env}
    environment.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [CLI, *args],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command printed on stderr (and no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# Every metric of docs/interface.md's table, for a labelled data set.
INTERFACE_METRICS = frozenset(
    {
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "cluster_separation",
        "linear_probe_accuracy",
        "knn_accuracy",
        "reconstruction_mse",
        "explained_variance",
        "trustworthiness",
        "effective_rank",
        "invariance_cosine",
        "invariance_knn_overlap",
        "recall_at_10",
    }
)


def quick_run_config(dataset: str = "digits", epochs: int = 40) -> dict[str, Any]:
    """Small autoencoder, few epochs: enough to learn digits, fast enough for tests."""
    return {
        "ops": {
            f"{dataset}__autoencoder_model": {
                "config": {"epochs": epochs, "hidden_dims": [128, 64], "device": "cpu"}
            }
        }
    }
