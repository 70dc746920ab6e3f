"""The DuckDB quality_metrics history and its latest view."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import duckdb
import pytest

from repr_assets.stores.reports import (
    QUALITY_CHANGES_COLUMNS,
    MetricValue,
    append_metrics,
    latest_metrics,
)

T0 = datetime(2024, 5, 1, 12, 0, 0)


def _row(
    metric: str,
    value: float,
    run: int,
    dataset: str = "digits",
    encoder: str = "pca",
) -> MetricValue:
    return MetricValue(
        dataset=dataset,
        encoder=encoder,
        model_version=f"model-{run}",
        metric=metric,
        value=value,
        # Run ids sort against time (as Dagster's random ids may): newer is smaller.
        run_id=f"run-{100 - run}",
        computed_at=T0 + timedelta(minutes=run),
    )


def _count(path) -> int:
    with duckdb.connect(str(path)) as connection:
        found = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'quality_metrics'"
        ).fetchone()
        if not found or not found[0]:
            return 0
        result = connection.execute("SELECT count(*) FROM quality_metrics").fetchone()
        assert result is not None
        return int(result[0])


def test_history_is_kept_across_appends_and_connections(tmp_path) -> None:
    path = tmp_path / "reports.duckdb"
    with duckdb.connect(str(path)) as connection:
        assert (
            append_metrics(connection, [_row("silhouette", 0.1, 1), _row("knn_accuracy", 0.8, 1)])
            == 2
        )
    with duckdb.connect(str(path)) as connection:
        append_metrics(connection, [_row("silhouette", 0.2, 2)])
    assert _count(path) == 3

    with duckdb.connect(str(path)) as connection:
        rows = connection.execute(
            "SELECT dataset, encoder, model_version, metric, value, run_id, computed_at "
            "FROM quality_metrics ORDER BY computed_at, metric"
        ).fetchall()
        types = dict(
            connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'quality_metrics'"
            ).fetchall()
        )
    assert rows == [
        ("digits", "pca", "model-1", "knn_accuracy", 0.8, "run-99", T0 + timedelta(minutes=1)),
        ("digits", "pca", "model-1", "silhouette", 0.1, "run-99", T0 + timedelta(minutes=1)),
        ("digits", "pca", "model-2", "silhouette", 0.2, "run-98", T0 + timedelta(minutes=2)),
    ]
    assert types["value"] == "DOUBLE"
    assert types["computed_at"] == "TIMESTAMP"


def test_latest_metrics_returns_the_newest_value_per_key(tmp_path) -> None:
    path = tmp_path / "reports.duckdb"
    with duckdb.connect(str(path)) as connection:
        append_metrics(
            connection,
            [
                _row("silhouette", 0.1, 1),
                _row("knn_accuracy", 0.7, 1),
                _row("silhouette", 0.5, 1, encoder="autoencoder"),
                _row("silhouette", 0.9, 1, dataset="other"),
            ],
        )
        # Appended out of time order: the row of run 3 is older than that of run 5.
        append_metrics(connection, [_row("silhouette", 0.3, 5)])
        append_metrics(connection, [_row("silhouette", 0.2, 3), _row("knn_accuracy", 0.75, 3)])

        latest = latest_metrics(connection)
        values = {(r.dataset, r.encoder, r.metric): (r.value, r.run_id) for r in latest}
        # Each run here is its own model version: digits/pca shows what its latest
        # version (run 5) reported, compared with the version before (run 3).
        assert values == {
            ("digits", "pca", "silhouette"): (0.3, "run-95"),
            ("digits", "autoencoder", "silhouette"): (0.5, "run-99"),
            ("other", "pca", "silhouette"): (0.9, "run-99"),
        }
        (pca,) = [r for r in latest if (r.dataset, r.encoder) == ("digits", "pca")]
        assert (pca.previous_model_version, pca.previous_value) == ("model-3", 0.2)
        assert pca.delta == pytest.approx(0.1)
        assert list(QUALITY_CHANGES_COLUMNS) == [
            "dataset",
            "encoder",
            "metric",
            "model_version",
            "value",
            "previous_model_version",
            "previous_value",
            "delta",
            "run_id",
            "computed_at",
        ]
        # Sorted by data set, encoder and metric.
        keys = [(r.dataset, r.encoder, r.metric) for r in latest]
        assert keys == sorted(keys)

        only_other = latest_metrics(connection, dataset="other")
        assert [r.value for r in only_other] == [0.9]
        assert latest_metrics(connection, dataset="missing") == []
    # The history is untouched by reading it.
    assert _count(path) == 7


def test_latest_metrics_before_any_append_is_empty(tmp_path) -> None:
    with duckdb.connect(str(tmp_path / "reports.duckdb")) as connection:
        latest = latest_metrics(connection)
    assert latest == []


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_value_raises_and_writes_nothing(tmp_path, bad: float) -> None:
    path = tmp_path / "reports.duckdb"
    with duckdb.connect(str(path)) as connection:
        append_metrics(connection, [_row("silhouette", 0.1, 1)])
        with pytest.raises(
            ValueError, match=r"metric 'knn_accuracy' of digits/pca is .*nothing was written"
        ):
            append_metrics(connection, [_row("silhouette", 0.2, 2), _row("knn_accuracy", bad, 2)])
    assert _count(path) == 1


def test_nan_in_the_first_write_creates_nothing(tmp_path) -> None:
    path = tmp_path / "reports.duckdb"
    with duckdb.connect(str(path)) as connection, pytest.raises(ValueError, match="nan"):
        append_metrics(connection, [_row("silhouette", math.nan, 1)])
    assert _count(path) == 0


def test_appending_no_rows_is_a_no_op(tmp_path) -> None:
    path = tmp_path / "reports.duckdb"
    with duckdb.connect(str(path)) as connection:
        append_metrics(connection, [_row("silhouette", 0.1, 1)])
        assert append_metrics(connection, []) == 0
    assert _count(path) == 1
