"""The views and macro over quality_metrics, on a DuckDB file, against Python references."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from repr_assets.stores.reports import (
    MetricValue,
    append_metrics,
    compare_model_versions,
    latest_metrics,
)

T0 = datetime(2024, 5, 1, 12, 0, 0)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _row(
    metric: str,
    value: float,
    version: str,
    minute: int,
    run: str | None = None,
    dataset: str = "d",
    encoder: str = "pca",
) -> MetricValue:
    return MetricValue(
        dataset, encoder, version, metric, value, run or f"run-{minute}", _at(minute)
    )


# d/pca: v1 reported once; v2 reported by two runs (the later one wins); a metric only in
# v1 and one only in v2. d/autoencoder: one version only. e/pca: another data set.
ROWS = [
    _row("silhouette", 0.20, "v1", 1),
    _row("knn_accuracy", 0.80, "v1", 1),
    _row("old_only", 5.0, "v1", 1),
    _row("silhouette", 0.30, "v2", 2),
    _row("knn_accuracy", 0.85, "v2", 2),
    _row("new_only", 1.0, "v2", 2),
    _row("silhouette", 0.35, "v2", 3),
    _row("knn_accuracy", 0.86, "v2", 3),
    _row("silhouette", 0.10, "a1", 1, encoder="autoencoder"),
    _row("silhouette", 0.90, "w1", 4, dataset="e"),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "reports.duckdb"
    with duckdb.connect(str(path)) as connection:
        append_metrics(connection, ROWS[:3])
        append_metrics(connection, ROWS[3:6])
        append_metrics(connection, ROWS[6:])
    return path


def _rows(path: Path, query: str, params: Any = None) -> list[dict[str, Any]]:
    with duckdb.connect(str(path)) as connection:
        cursor = connection.execute(query, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _by_key(rows: list[dict[str, Any]], *key: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    out = {tuple(row[k] for k in key): row for row in rows}
    assert len(out) == len(rows), "duplicate keys"
    return out


def test_history_keeps_every_row_and_grows(db: Path) -> None:
    assert _rows(db, "SELECT count(*) AS n FROM quality_metrics")[0]["n"] == len(ROWS)
    with duckdb.connect(str(db)) as connection:
        append_metrics(connection, [_row("silhouette", 0.4, "v3", 10)])
    assert _rows(db, "SELECT count(*) AS n FROM quality_metrics")[0]["n"] == len(ROWS) + 1


def test_latest_quality_holds_the_newest_value_per_metric(db: Path) -> None:
    latest = _by_key(_rows(db, "SELECT * FROM latest_quality"), "dataset", "encoder", "metric")
    assert {k: (r["model_version"], r["value"]) for k, r in latest.items()} == {
        ("d", "pca", "silhouette"): ("v2", 0.35),
        ("d", "pca", "knn_accuracy"): ("v2", 0.86),
        ("d", "pca", "old_only"): ("v1", 5.0),
        ("d", "pca", "new_only"): ("v2", 1.0),
        ("d", "autoencoder", "silhouette"): ("a1", 0.10),
        ("e", "pca", "silhouette"): ("w1", 0.90),
    }
    assert latest[("d", "pca", "silhouette")]["run_id"] == "run-3"
    assert latest[("d", "pca", "silhouette")]["computed_at"] == _at(3)


def test_latest_quality_follows_a_newer_append(db: Path) -> None:
    with duckdb.connect(str(db)) as connection:
        append_metrics(connection, [_row("silhouette", 0.5, "v3", 20)])
    latest = _by_key(_rows(db, "SELECT * FROM latest_quality"), "dataset", "encoder", "metric")
    assert latest[("d", "pca", "silhouette")]["value"] == 0.5
    assert latest[("d", "pca", "knn_accuracy")]["value"] == 0.86


def test_quality_by_version_counts_a_version_once_with_its_newest_value(db: Path) -> None:
    rows = _rows(
        db,
        "SELECT * FROM quality_by_version WHERE dataset = 'd' AND encoder = 'pca' "
        "AND metric = 'silhouette' ORDER BY model_version",
    )
    assert [(r["model_version"], r["value"], r["run_id"]) for r in rows] == [
        ("v1", 0.20, "run-1"),
        ("v2", 0.35, "run-3"),
    ]
    assert rows[1]["computed_at"] == _at(3)


def test_quality_changes_gives_the_change_since_the_previous_version(db: Path) -> None:
    changes = _by_key(_rows(db, "SELECT * FROM quality_changes"), "dataset", "encoder", "metric")
    silhouette = changes[("d", "pca", "silhouette")]
    assert silhouette["model_version"] == "v2"
    assert silhouette["value"] == 0.35
    assert silhouette["previous_model_version"] == "v1"
    assert silhouette["previous_value"] == 0.20
    assert silhouette["delta"] == pytest.approx(0.35 - 0.20, abs=1e-12)
    knn = changes[("d", "pca", "knn_accuracy")]
    assert (knn["previous_model_version"], knn["previous_value"]) == ("v1", 0.80)
    assert knn["delta"] == pytest.approx(0.86 - 0.80, abs=1e-12)


def test_quality_changes_are_null_with_a_single_version(db: Path) -> None:
    changes = _by_key(_rows(db, "SELECT * FROM quality_changes"), "dataset", "encoder", "metric")
    # A metric the latest version no longer reports is not shown with an old value.
    assert ("d", "pca", "old_only") not in changes
    for key in [
        ("d", "autoencoder", "silhouette"),
        ("e", "pca", "silhouette"),
        ("d", "pca", "new_only"),
    ]:
        row = changes[key]
        assert row["previous_model_version"] is None, key
        assert row["previous_value"] is None, key
        assert row["delta"] is None, key
    assert changes[("d", "autoencoder", "silhouette")]["value"] == 0.10


def test_compare_model_versions_macro(db: Path) -> None:
    rows = _by_key(
        _rows(db, "SELECT * FROM compare_model_versions('d', 'pca', 'v1', 'v2')"), "metric"
    )
    assert set(rows) == {("silhouette",), ("knn_accuracy",), ("old_only",), ("new_only",)}
    silhouette = rows[("silhouette",)]
    assert (silhouette["old_value"], silhouette["new_value"]) == (0.20, 0.35)
    assert silhouette["delta"] == pytest.approx(0.15, abs=1e-12)
    assert rows[("knn_accuracy",)]["delta"] == pytest.approx(0.06, abs=1e-12)
    assert rows[("old_only",)] == {
        "metric": "old_only",
        "old_value": 5.0,
        "new_value": None,
        "delta": None,
    }
    assert rows[("new_only",)] == {
        "metric": "new_only",
        "old_value": None,
        "new_value": 1.0,
        "delta": None,
    }


def test_compare_model_versions_macro_stays_within_dataset_and_encoder(db: Path) -> None:
    assert _rows(db, "SELECT * FROM compare_model_versions('e', 'pca', 'v1', 'v2')") == []
    assert _rows(db, "SELECT * FROM compare_model_versions('d', 'autoencoder', 'v1', 'v2')") == []


def test_compare_model_versions_in_python(db: Path) -> None:
    with duckdb.connect(str(db)) as connection:
        frame = compare_model_versions(connection, "d", "pca", "v1", "v2")
    rows = {row["metric"]: row for row in frame.to_dict("records")}
    assert set(rows) == {"silhouette", "knn_accuracy", "old_only", "new_only"}
    assert rows["silhouette"]["delta"] == pytest.approx(0.15, abs=1e-12)
    assert rows["knn_accuracy"]["old_value"] == 0.80
    assert rows["knn_accuracy"]["new_value"] == 0.86
    assert _is_null(rows["old_only"]["delta"]) and _is_null(rows["old_only"]["new_value"])
    assert _is_null(rows["new_only"]["delta"]) and _is_null(rows["new_only"]["old_value"])
    assert rows["new_only"]["new_value"] == 1.0
    # The reverse comparison negates the deltas.
    with duckdb.connect(str(db)) as connection:
        reverse = compare_model_versions(connection, "d", "pca", "v2", "v1")
    back = {row["metric"]: row for row in reverse.to_dict("records")}
    assert back["silhouette"]["delta"] == pytest.approx(-0.15, abs=1e-12)


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_latest_metrics_filters_by_dataset(db: Path) -> None:
    with duckdb.connect(str(db)) as connection:
        d = latest_metrics(connection, "d")
        e = latest_metrics(connection, "e")
        everything = latest_metrics(connection)
        missing = latest_metrics(connection, "nope")
    assert {r.dataset for r in d} == {"d"}
    assert len(d) == 4
    assert [(r.dataset, r.value) for r in e] == [("e", 0.90)]
    assert len(everything) == 5
    assert missing == []
    (row,) = [r for r in d if (r.encoder, r.metric) == ("pca", "silhouette")]
    assert row.value == 0.35
    assert row.previous_model_version == "v1"
    assert row.delta == pytest.approx(0.15, abs=1e-12)


def test_latest_metrics_on_a_fresh_file_is_empty(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "fresh.duckdb")) as connection:
        assert latest_metrics(connection) == []


# --- against a Python reference on random histories ------------------------------------


def _reference_changes(rows: list[MetricValue]) -> dict[tuple[str, str, str], tuple]:
    """Per (dataset, encoder): the version reported last and the one before it (ordered by
    each version's newest report). Per metric of the latest version: its newest value, and
    the previous version's newest value of that metric, if it has one."""
    newest: dict[tuple[str, str, str, str], MetricValue] = {}
    last_report: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for row in rows:
        key = (row.dataset, row.encoder, row.model_version, row.metric)
        if key not in newest or row.computed_at > newest[key].computed_at:
            newest[key] = row
        seen = last_report[(row.dataset, row.encoder)]
        seen[row.model_version] = max(seen.get(row.model_version, row.computed_at), row.computed_at)
    out = {}
    for (dataset, encoder), versions in last_report.items():
        ordered = sorted(versions, key=lambda v: versions[v], reverse=True)
        current = ordered[0]
        previous = ordered[1] if len(ordered) > 1 else None
        for (d, e, version, metric), row in newest.items():
            if (d, e, version) != (dataset, encoder, current):
                continue
            before = newest.get((d, e, previous, metric)) if previous else None
            out[(d, e, metric)] = (
                current,
                row.value,
                previous if before else None,
                before.value if before else None,
            )
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_views_match_a_python_reference_on_random_histories(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    minutes = rng.sample(range(10_000), 120)  # distinct times: no ties to break
    rows = [
        MetricValue(
            rng.choice(["d", "e"]),
            rng.choice(["pca", "autoencoder"]),
            rng.choice(["v1", "v2", "v3", "v4"]),
            rng.choice(["silhouette", "knn_accuracy", "effective_rank"]),
            round(rng.uniform(-1, 10), 6),
            f"run-{rng.randrange(30)}",
            _at(minute),
        )
        for minute in minutes
    ]
    path = tmp_path / "reports.duckdb"
    with duckdb.connect(str(path)) as connection:
        for start in range(0, len(rows), 25):  # several runs' appends
            append_metrics(connection, rows[start : start + 25])
    expected = _reference_changes(rows)

    changes = _by_key(_rows(path, "SELECT * FROM quality_changes"), "dataset", "encoder", "metric")
    assert set(changes) == set(expected)
    for key, (version, value, previous_version, previous_value) in expected.items():
        row = changes[key]
        assert (row["model_version"], row["value"]) == (version, value), key
        assert row["previous_model_version"] == previous_version, key
        assert row["previous_value"] == previous_value, key
        if previous_value is None:
            assert row["delta"] is None
        else:
            assert row["delta"] == pytest.approx(value - previous_value, abs=1e-9)

    latest = _by_key(_rows(path, "SELECT * FROM latest_quality"), "dataset", "encoder", "metric")
    newest = {}
    for row in sorted(rows, key=lambda r: r.computed_at):
        newest[(row.dataset, row.encoder, row.metric)] = row
    assert {k: (r["model_version"], r["value"]) for k, r in latest.items()} == {
        k: (r.model_version, r.value) for k, r in newest.items()
    }

    by_version = _rows(path, "SELECT * FROM quality_by_version")
    keys = {(r.dataset, r.encoder, r.model_version, r.metric) for r in rows}
    assert len(by_version) == len(keys)

    with duckdb.connect(str(path)) as connection:
        frame = compare_model_versions(connection, "d", "pca", "v1", "v2")
    per_version = {
        (r["metric"], r["model_version"]): r["value"]
        for r in by_version
        if r["dataset"] == "d" and r["encoder"] == "pca"
    }
    metrics = {m for m, v in per_version if v in ("v1", "v2")}
    assert set(frame["metric"]) == metrics
    for record in frame.to_dict("records"):
        old = per_version.get((record["metric"], "v1"))
        new = per_version.get((record["metric"], "v2"))
        if old is None or new is None:
            assert _is_null(record["delta"])
        else:
            assert record["delta"] == pytest.approx(new - old, abs=1e-9)
