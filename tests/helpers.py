"""Helpers shared by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from repr_assets.pipeline.embed import embedding_schema
from repr_assets.search.index import IndexSettings
from repr_assets.stores.lance import LanceStore
from sample_sources import embedding_batches

# The command line as users run it: the script pip installed beside this interpreter.
CLI = str(Path(sys.executable).with_name("repr-assets"))


PCA_ON_DIGITS = ("run", "--dataset", "digits", "--encoders", "pca")
"""The quickest whole run: the built-in digits with PCA alone."""


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


def run_then_grow(
    root: Path, *options: str, between: Any = None, **env: str
) -> tuple[Path, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """The incremental run users make: a 120-row table source ``plants.csv`` run with
    ``options``, then grown by ten rows and run again with ``--dataset`` alone (after
    ``between()``, when given). ``(home, first run, second run)``; both must succeed."""
    from sample_sources import write_rows

    home, source = root / "home", write_rows(root / "plants.csv", 120)
    first = repr_assets(
        home, "run", "--source", str(source), "--label-column", "species", *options, **env
    )
    assert first.returncode == 0, first.stderr[-3000:]
    if between is not None:
        between()
    write_rows(source, 10, start=120)
    second = repr_assets(home, "run", "--dataset", "plants", **env)
    assert second.returncode == 0, second.stderr[-3000:]
    return home, first, second


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command printed on stderr (and no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# The metrics of docs/interface.md every report of a labelled data set holds (not the
# factor, transfer and drift ones, which need factor columns, encoders_from or a refit).
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
        "continuity",
        "intrinsic_dimension",
        "kmeans_nmi",
        "kmeans_ari",
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


def materialize_report(home: Any, spec: Any, epochs: int = 5) -> dict[tuple[str, str], float]:
    """Materialise ``spec``'s graph in process on ``home`` (every trained encoder for
    ``epochs`` on the CPU) and return its report: ``{(encoder, metric): value}``."""
    import dagster as dg
    import duckdb

    from repr_assets.encoders.registry import encoder_kind
    from repr_assets.orchestration import build_representation_assets, build_resources

    trained = [name for name in spec.encoders if encoder_kind(name).trains and name != "pca"]
    run_config = {
        "ops": {
            f"{spec.name}__{name}_model": {"config": {"epochs": epochs, "device": "cpu"}}
            for name in trained
        }
    }
    result = dg.materialize(
        build_representation_assets(spec),
        resources=build_resources(home),
        run_config=run_config,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    with duckdb.connect(str(home.reports), read_only=True) as connection:
        rows = connection.execute(
            "SELECT encoder, metric, value FROM quality_metrics WHERE dataset = ?", [spec.name]
        ).fetchall()
    return {(encoder, metric): value for encoder, metric, value in rows}


# --- embeddings tables for the search tests ---------------------------------------------

SMALL_INDEX = IndexSettings(min_rows=1000, partition_size=256, min_probes=4)


def low_rank_vectors(rows: int, dim: int = 32, latent: int = 6, seed: int = 0) -> np.ndarray:
    """``(rows, dim)`` float32: ``latent``-d Gaussian codes mapped up, plus a little noise."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((latent, dim))
    codes = rng.standard_normal((rows, latent))
    return (codes @ mixing + 0.1 * rng.standard_normal((rows, dim))).astype(np.float32)


def write_embeddings(
    store: LanceStore,
    name: str,
    vectors: np.ndarray,
    labels: list[str | None] | None = None,
    first_id: int = 0,
    model_version: str = "v1",
    item_ids: list[str] | None = None,
) -> list[str]:
    """Upsert ``vectors`` as an embeddings table; returns the item ids (``item-000000`` on,
    unless given)."""
    rows = len(vectors)
    item_ids = item_ids or [f"item-{i:06d}" for i in range(first_id, first_id + rows)]
    labels = labels if labels is not None else [str(i % 10) for i in range(rows)]
    splits: list[str | None] = ["train" if i % 5 else "test" for i in range(rows)]
    batches = embedding_batches(item_ids, labels, vectors, model_version, splits)
    store.upsert(name, embedding_schema(vectors.shape[1]), batches)
    return item_ids


def numpy_neighbours(vectors: np.ndarray, query: np.ndarray, k: int, skip: int | None = None):
    """Row indices of the ``k`` nearest rows by cosine distance, and the distances."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    distances = 1.0 - unit.astype(np.float64) @ (query / np.linalg.norm(query))
    if skip is not None:
        distances[skip] = np.inf
    order = np.argsort(distances, kind="stable")[:k]
    return order, distances[order]
