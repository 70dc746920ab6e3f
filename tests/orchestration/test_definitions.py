"""The code location that ``workspace.yaml`` loads."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import dagster as dg

from repr_assets.datasets.specs import BUILTIN_DATASETS
from repr_assets.orchestration.instance import prepare_dagster_home

CHECKED_METRICS = (
    "linear_probe_accuracy",
    "effective_rank",
    "explained_variance",
    "neighbour_overlap_previous",
)
EXPECTED_ASSETS = {
    "items",
    "features",
    "pca_model",
    "autoencoder_model",
    "pca_embeddings",
    "autoencoder_embeddings",
    "quality_report",
    "served_embeddings",
}


def load_defs() -> dg.Definitions:
    module = importlib.import_module("pipelines.definitions")
    return importlib.reload(module).defs


def test_definitions_load_with_the_digits_graph(home):
    defs = load_defs()
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {key.split("/")[0] for key in keys} == set(BUILTIN_DATASETS)
    assert {key for key in keys if key.startswith("digits/")} == {
        f"digits/{name}" for name in EXPECTED_ASSETS
    }
    checks = {
        (k.asset_key.path[-1], k.name)
        for k in graph.asset_check_keys
        if k.asset_key.path[0] == "digits"
    }
    integrity = {
        (asset, check)
        for asset in ("pca_embeddings", "autoencoder_embeddings")
        for check in ("vectors_finite", "one_row_per_item")
    }
    thresholds = {
        ("quality_report", f"{encoder}_{metric}_at_least")
        for encoder in ("pca", "autoencoder")
        for metric in CHECKED_METRICS
    }
    assert checks == integrity | thresholds
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == key.path[0]
        assert node.description, key
        assert node.kinds, key
    assert defs.resolve_job_def("digits_pipeline")


def test_resources_point_inside_the_home(home):
    resources = load_defs().resources
    assert resources["lancedb"].uri == str(home.lancedb)
    assert resources["model_store"].root == str(home.models)
    assert resources["duckdb"].database == str(home.reports)


def test_workspace_yaml_validates_with_the_dagster_cli(home):
    prepare_dagster_home(home)
    root = Path(__file__).parents[2]
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Validation successful for code location pipelines.definitions" in (
        result.stdout + result.stderr
    )
