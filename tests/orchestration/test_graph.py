"""The whole asset graph, end to end, through ``dg.materialize`` on a temporary home."""

from __future__ import annotations

import dagster as dg
import duckdb
import numpy as np
import pytest

from repr_assets.datasets.specs import DIGITS
from repr_assets.items.schemas import vectors_of
from repr_assets.orchestration import build_representation_assets, build_resources
from repr_assets.stores.lance import LanceStore
from tests.helpers import INTERFACE_METRICS, quick_run_config

INVARIANCE = {
    f"invariance_{kind}{suffix}"
    for kind in ("cosine", "knn_overlap")
    for suffix in ("", "_shift", "_rotation", "_noise")
}
FULL_REPORT = INTERFACE_METRICS | INVARIANCE
BASELINES = {
    "majority_class_share",
    "linear_probe_accuracy",
    "feature_count",
    "intrinsic_dimension",
}


def materialize(home) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        build_representation_assets(DIGITS),
        resources=build_resources(home),
        run_config=quick_run_config(),
        instance=dg.DagsterInstance.ephemeral(),
    )


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The graph materialised twice on one home, with the state after each run."""
    from repr_assets.home import Home

    home = Home.at(tmp_path_factory.mktemp("graph"))
    first = materialize(home)
    after_first = _snapshot(home)
    second = materialize(home)
    return home, first, after_first, second, _snapshot(home)


def _snapshot(home):
    store = LanceStore(home.lancedb)
    counts = {name: store.count(name) for name in store.table_names()}
    with duckdb.connect(str(home.reports), read_only=True) as connection:
        metrics = connection.execute(
            "SELECT dataset, encoder, model_version, metric, value, run_id FROM quality_metrics"
        ).fetchall()
    return counts, metrics


def test_graph_materialises_every_table(two_runs):
    home, first, (counts, _), *_ = two_runs
    assert first.success
    assert counts == {
        "digits_items": 1797,
        "digits_features": 1797,
        "digits_pca": 1797,
        "digits_autoencoder": 1797,
    }
    store = LanceStore(home.lancedb)
    for table in ("digits_pca", "digits_autoencoder"):
        data = store.read_table(table)
        assert data.schema.field("vector").type.value_type == "float"
        vectors = vectors_of(data.column("vector"))
        assert vectors.shape == (1797, 16)
        assert np.isfinite(vectors).all()
        assert len(set(data.column("item_id").to_pylist())) == 1797
        assert data.column("model_version").null_count == 0


def test_embedding_rows_carry_the_run_that_wrote_them(two_runs):
    home, first, *_ = two_runs
    data = LanceStore(home.lancedb).read_table("digits_pca")
    # The second run found nothing new and kept the fits, so it rewrote no row.
    assert set(data.column("run_id").to_pylist()) == {first.run_id}


def test_a_second_run_on_the_same_data_keeps_the_fits(two_runs):
    _, first, _, second, _ = two_runs
    for result, fitted in ((first, True), (second, False)):
        for encoder in ("pca", "autoencoder"):
            [event] = result.asset_materializations_for_node(f"digits__{encoder}_model")
            assert event.metadata["fitted_now"].value is fitted


def test_every_check_passes(two_runs):
    _, first, *_ = two_runs
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e.passed for e in first.get_asset_check_evaluations()
    }
    integrity = {
        (f"{encoder}_embeddings", check): True
        for encoder in ("pca", "autoencoder")
        for check in ("vectors_finite", "one_row_per_item")
    }
    thresholds = {
        ("quality_report", f"{encoder}_{metric}_at_least"): True
        for encoder in ("pca", "autoencoder")
        for metric in (
            "linear_probe_accuracy",
            "effective_rank",
            "explained_variance",
            "neighbour_overlap_previous",  # off: nothing to compare with, and no floor
        )
    }
    assert evaluations == integrity | thresholds


def test_full_report_is_written_for_both_encoders(two_runs):
    _, first, (_, metrics), *_ = two_runs
    by_encoder: dict[str, set[str]] = {}
    for dataset, encoder, version, metric, value, run_id in metrics:
        assert dataset == "digits" and run_id == first.run_id and version
        assert np.isfinite(value)
        by_encoder.setdefault(encoder, set()).add(metric)
    assert by_encoder == {
        "pca": FULL_REPORT,
        "autoencoder": FULL_REPORT,
        "features": BASELINES,  # what the relative floors are measured against
    }


def test_quality_on_digits(two_runs):
    _, _, (_, metrics), *_ = two_runs
    probe = {e: v for _, e, _, m, v, _ in metrics if m == "linear_probe_accuracy"}
    assert probe["pca"] >= 0.93
    assert probe["autoencoder"] >= 0.90


def test_a_second_run_with_nothing_new_keeps_tables_and_report(two_runs):
    _, first, (counts1, metrics1), second, (counts2, metrics2) = two_runs
    assert second.success
    assert counts2 == counts1
    # Nothing changed, so the report is current: no row appended, the history as it was.
    assert sorted(metrics2) == sorted(metrics1)
    [event] = second.asset_materializations_for_node("digits__quality_report")
    assert event.metadata["current"].value is True
    assert event.metadata["reported_by_run"].value == first.run_id
    assert event.metadata["metrics_written"].value == 0
    # The checks are still evaluated, from the stored values.
    assert {e.check_name for e in second.get_asset_check_evaluations() if e.passed} >= {
        "pca_linear_probe_accuracy_at_least"
    }


def test_each_encoder_has_one_model_version(two_runs):
    *_, (_, metrics) = two_runs
    versions = {(encoder, version) for _, encoder, version, *_ in metrics}
    assert sorted(e for e, _ in versions) == ["autoencoder", "features", "pca"]


def test_materialize_metadata_is_useful(two_runs):
    _, first, *_ = two_runs
    metadata = {
        event.asset_key.path[-1]: event.materialization.metadata
        for event in first.get_asset_materialization_events()
    }
    assert metadata["items"]["dagster/row_count"].value == 1797
    assert metadata["features"]["dimensions"].value == 64
    assert 0.5 < metadata["pca_model"]["explained_variance"].value < 1.0
    assert metadata["pca_model"]["scree_plot"].value.startswith("![scree plot](data:image/png")
    assert metadata["autoencoder_model"]["loss_curve"].value.startswith("![loss curve](data:")
    assert metadata["autoencoder_model"]["final_validation_loss"].value > 0
    assert len(metadata["pca_embeddings"]["preview"].value.records) == 5
    report = metadata["quality_report"]
    assert report["metrics_written"].value == 2 * len(FULL_REPORT) + len(BASELINES)
    assert "raw-feature probe" in report["floors"].value
    table = report["metrics"].value
    assert [c.name for c in table.schema.columns] == ["metric", "pca", "autoencoder", "best"]
    assert {r.data["metric"] for r in table.records} == FULL_REPORT
    for figure in ("embedding_map", "neighbours_pca", "neighbours_autoencoder"):
        assert report[figure].value.startswith("![")
