"""The read-only SQL sandbox: LanceDB tables and reports readable by name, nothing else."""

from __future__ import annotations

import io
import json
from datetime import datetime

import duckdb
import numpy as np
import pytest

from repr_assets.home import Home
from repr_assets.sql import (
    SANDBOX_SETTINGS,
    QueryRefused,
    open_sandbox,
    run_query,
    write_csv,
    write_json,
)
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.reports import MetricValue, append_metrics
from tests.test_search import low_rank_vectors, numpy_neighbours, write_embeddings

ROWS = 500


def write_metrics(home: Home, model_version: str = "v1") -> None:
    with duckdb.connect(str(home.reports)) as connection:
        append_metrics(
            connection,
            [
                MetricValue(
                    "toy", "pca", model_version, metric, value, "run-1", datetime(2026, 1, 1)
                )
                for metric, value in [("knn_accuracy", 0.9), ("recall_at_10", 1.0)]
            ],
        )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    home = Home.at(tmp_path_factory.mktemp("sql"))
    vectors = low_rank_vectors(ROWS, dim=16, seed=3)
    item_ids = write_embeddings(LanceStore(home.lancedb), "toy_pca", vectors)
    write_metrics(home)
    connection = open_sandbox(home)
    yield connection, home, vectors, item_ids
    connection.close()


def query(connection, sql: str) -> list[dict]:
    return run_query(connection, sql).read_all().to_pylist()


def test_lance_tables_and_reports_are_visible_by_name(sandbox):
    connection, *_ = sandbox
    assert query(connection, "SELECT count(*) AS n FROM toy_pca") == [{"n": ROWS}]
    assert query(connection, "SELECT typeof(vector) AS t FROM toy_pca LIMIT 1") == [
        {"t": "FLOAT[16]"}
    ]
    metrics = query(connection, "SELECT metric, value FROM quality_metrics ORDER BY metric")
    assert metrics == [
        {"metric": "knn_accuracy", "value": 0.9},
        {"metric": "recall_at_10", "value": 1.0},
    ]


def test_nearest_neighbours_in_sql_are_numpy_brute_force(sandbox):
    connection, _, vectors, item_ids = sandbox
    rows = query(
        connection,
        """
        SELECT b.item_id, 1 - array_cosine_similarity(a.vector, b.vector) AS distance
        FROM toy_pca AS a JOIN toy_pca AS b ON b.item_id <> a.item_id
        WHERE a.item_id = 'item-000042'
        ORDER BY distance LIMIT 10
        """,
    )
    expected, distances = numpy_neighbours(vectors, vectors[42], 10, skip=42)
    assert [r["item_id"] for r in rows] == [item_ids[i] for i in expected]
    np.testing.assert_allclose([r["distance"] for r in rows], distances, atol=1e-5)


def test_a_query_vector_cast_to_float_array(sandbox):
    connection, _, vectors, item_ids = sandbox
    literal = json.dumps(vectors[7].tolist())
    rows = query(
        connection,
        f"SELECT item_id FROM toy_pca "
        f"ORDER BY array_cosine_similarity(vector, {literal}::FLOAT[16]) DESC LIMIT 3",
    )
    expected, _ = numpy_neighbours(vectors, vectors[7], 3)
    assert [r["item_id"] for r in rows] == [item_ids[i] for i in expected]


def test_class_centroids_in_sql_are_numpy_means(sandbox):
    connection, _, vectors, _ = sandbox
    rows = query(
        connection,
        """
        WITH dims AS (
            SELECT label, i, avg(vector[i]) AS value
            FROM toy_pca, range(1, 17) AS d(i) GROUP BY label, i
        )
        SELECT label, list(value ORDER BY i)::FLOAT[16] AS centroid
        FROM dims GROUP BY label ORDER BY label
        """,
    )
    labels = np.array([str(i % 10) for i in range(ROWS)])
    for row in rows:
        expected = vectors[labels == row["label"]].mean(axis=0)
        np.testing.assert_allclose(row["centroid"], expected, atol=1e-5)
    assert len(rows) == 10


def test_join_of_embeddings_with_quality_metrics(sandbox):
    connection, *_ = sandbox
    rows = query(
        connection,
        """
        SELECT m.metric, m.value, t.items
        FROM quality_metrics AS m
        JOIN (SELECT model_version, count(*) AS items FROM toy_pca GROUP BY ALL) AS t
        USING (model_version)
        WHERE m.metric = 'knn_accuracy'
        """,
    )
    assert rows == [{"metric": "knn_accuracy", "value": 0.9, "items": ROWS}]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("SELECT * FROM read_csv('{tmp}/data.csv')", "Permission Error"),
        ("SELECT * FROM '{tmp}/data.csv'", "Permission Error"),
        ("SELECT * FROM read_text('{tmp}/data.csv')", "Permission Error"),
        ("SELECT * FROM glob('{tmp}/*')", "Permission Error"),
        ("COPY (SELECT 1) TO '{tmp}/out.csv'", "not COPY"),
        ("EXPORT DATABASE '{tmp}/export'", "not EXPORT"),
        ("ATTACH '{tmp}/other.duckdb' AS other", "not ATTACH"),
        ("ATTACH ':memory:' AS scratch", "not ATTACH"),
        ("DETACH reports", "not DETACH"),
        ("INSTALL vss", "not LOAD"),
        ("LOAD vss", "not LOAD"),
        ("SET enable_external_access = true", "not SET"),
        ("SET lock_configuration = false", "not SET"),
        ("SELECT set_config('enable_external_access', 'true')", "Catalog Error"),
        ("CREATE TABLE t AS SELECT 1", "not CREATE"),
        ("CREATE TEMP TABLE t AS SELECT 1", "not CREATE"),
        ("CREATE MACRO m(x) AS x", "not CREATE"),
        ("INSERT INTO quality_metrics SELECT * FROM quality_metrics", "not INSERT"),
        ("DELETE FROM quality_metrics", "not DELETE"),
        ("DROP TABLE quality_metrics", "not DROP"),
        ("USE memory", "not SET"),
        ("CALL checkpoint()", "not CALL"),
        ("PRAGMA enable_profiling", "not PRAGMA"),
        ("SELECT 1; CREATE TABLE t AS SELECT 1", "one SQL statement, got 2"),
        ("SELEC 1", "Parser Error"),
    ],
)
def test_the_sandbox_refuses_files_writes_and_settings(sandbox, tmp_path, statement, message):
    connection, *_ = sandbox
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    with pytest.raises(QueryRefused, match=message):
        run_query(connection, statement.format(tmp=tmp_path)).read_all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]
    # Nothing was changed: the reports and the settings are as they were.
    assert query(connection, "SELECT count(*) AS n FROM quality_metrics") == [{"n": 2}]
    assert query(connection, "SELECT current_setting('enable_external_access') AS on") == [
        {"on": False}
    ]


def test_every_sandbox_setting_is_in_force(sandbox):
    connection, *_ = sandbox
    for setting, value in SANDBOX_SETTINGS:
        found = query(connection, f"SELECT current_setting('{setting}') AS value")
        assert found == [{"value": value}], setting


def test_a_home_without_reports_still_serves_its_tables(tmp_path):
    home = Home.at(tmp_path)
    write_embeddings(LanceStore(home.lancedb), "toy_pca", low_rank_vectors(20, dim=16))
    with open_sandbox(home) as connection:
        assert query(connection, "SELECT count(*) AS n FROM toy_pca") == [{"n": 20}]
        with pytest.raises(QueryRefused, match="not CREATE"):
            query(connection, "CREATE TABLE t AS SELECT 1")
    assert not home.reports.exists()


def test_csv_and_json_output(sandbox):
    connection, *_ = sandbox
    sql = "SELECT item_id, label, vector[1:2] AS head FROM toy_pca ORDER BY item_id LIMIT 2"
    csv_out, json_out = io.StringIO(), io.StringIO()
    write_csv(run_query(connection, sql), csv_out)
    write_json(run_query(connection, sql), json_out)
    lines = csv_out.getvalue().splitlines()
    assert lines[0] == "item_id,label,head" and lines[1].startswith('item-000000,0,"[')
    records = json.loads(json_out.getvalue())
    assert [r["item_id"] for r in records] == ["item-000000", "item-000001"]
    assert len(records[0]["head"]) == 2
    empty = io.StringIO()
    write_json(run_query(connection, "SELECT 1 AS x WHERE false"), empty)
    assert json.loads(empty.getvalue()) == []
