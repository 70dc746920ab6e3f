"""The read-only SQL sandbox: LanceDB tables and reports readable by name, nothing else."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest

from repr_assets.home import Home
from repr_assets.sql import (
    DEFAULT_MEMORY_LIMIT,
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


# The CLI as users run it, from a folder of their choosing.
CLI = str(Path(sys.executable).with_name("repr-assets"))


def repr_assets_sql(home: Path, cwd: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "REPR_ASSETS_HOME": str(home)}
    return subprocess.run(
        [CLI, "sql", *args],
        cwd=cwd,
        env=env,
        text=True,
        timeout=300,
        check=False,
        **({"capture_output": True} | kwargs),
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("repr-assets: error: sql: ")
    return lines[0]


@pytest.fixture
def cwd_with_secret(tmp_path) -> Path:
    """A current folder whose ``.tmp/``, DuckDB's default temp_directory, holds a secret."""
    cwd = tmp_path / "cwd"
    (cwd / ".tmp").mkdir(parents=True)
    (cwd / ".tmp" / "secret.txt").write_text("hunter2\n")
    return cwd


@pytest.fixture
def small_home(home) -> Home:
    write_embeddings(LanceStore(home.lancedb), "toy_pca", low_rank_vectors(20, dim=16))
    write_metrics(home)
    return home


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('.tmp/secret.txt')",
        "SELECT * FROM glob('.tmp/*')",
        "SELECT * FROM read_text('{cwd}/.tmp/secret.txt')",
        "SELECT * FROM glob('{cwd}/.tmp/**')",
    ],
)
def test_a_query_cannot_read_or_list_the_current_folders_tmp(small_home, cwd_with_secret, sql):
    result = repr_assets_sql(small_home.root, cwd_with_secret, sql.format(cwd=cwd_with_secret))
    assert "Permission Error" in one_error_line(result)
    assert result.stdout == "" and "secret" not in result.stdout


def test_the_spill_folder_is_the_querys_own_in_the_home_and_goes_with_it(
    small_home, cwd_with_secret
):
    # Another connection's spill folder, and a file beside them in the home.
    other = small_home.root / ".sql_tmp-other"
    other.mkdir()
    (other / "duckdb_temp_block").write_text("hunter2\n")
    result = repr_assets_sql(
        small_home.root,
        cwd_with_secret,
        "SELECT current_setting('temp_directory') AS t",
        "--format",
        "csv",
    )
    assert result.returncode == 0, result.stderr
    spill = Path(result.stdout.splitlines()[1])
    assert spill.parent == small_home.root and spill.name.startswith(".sql_tmp-")
    assert not spill.exists()  # made only when a query spills, gone when it ends
    with open_sandbox(small_home) as connection:
        own = query(connection, "SELECT current_setting('temp_directory') AS t")[0]["t"]
        assert own != str(spill)  # a new one for each connection
        for sql in [
            f"SELECT * FROM glob('{small_home.root}/*')",
            f"SELECT * FROM glob('{small_home.root}/.sql_tmp-*/*')",
            f"SELECT * FROM glob('{other}/*')",
            f"SELECT * FROM read_text('{other}/duckdb_temp_block')",
            f"SELECT * FROM read_text('{own}/../.sql_tmp-other/duckdb_temp_block')",
            "SELECT * FROM read_text('.tmp/secret.txt')",
        ]:
            with pytest.raises(QueryRefused, match="Permission Error"):
                query(connection, sql)
        # What a query can see of its own folder is its own spill files, if any.
        assert query(connection, f"SELECT count(*) AS n FROM glob('{own}/*')") == [{"n": 0}]


def test_past_the_memory_limit_a_query_spills_to_its_own_folder(small_home):
    sql = "SELECT count(*) AS n FROM (SELECT i FROM range(20000000) t(i) ORDER BY i DESC)"
    with open_sandbox(small_home, memory_limit="64MB") as connection:
        spill = Path(query(connection, "SELECT current_setting('temp_directory') AS t")[0]["t"])
        assert query(connection, sql) == [{"n": 20_000_000}]
        assert spill.is_dir()  # DuckDB makes it when it first spills
    assert not spill.exists()
    with duckdb.connect() as plain:  # with nowhere to spill, the same query does not fit
        plain.execute("SET memory_limit = '64MB'; SET temp_directory = ''")
        with pytest.raises(duckdb.OutOfMemoryException):
            plain.sql(sql).fetchall()
    assert sorted(p.name for p in small_home.root.iterdir()) == ["lancedb", "reports.duckdb"]


def test_a_query_that_does_not_fit_its_memory_limit_is_one_line(small_home):
    with open_sandbox(small_home, memory_limit="64MB") as connection:
        with pytest.raises(QueryRefused, match="Out of Memory Error") as refused:
            query(connection, "SELECT length(list(i)) FROM range(50000000) t(i)")
        assert "\n" not in str(refused.value)
        assert query(connection, "SELECT 42 AS x") == [{"x": 42}]


def test_the_default_memory_limit_is_a_quarter_of_the_memory_duckdb_sees(small_home):
    with duckdb.connect() as plain:
        plain.execute("SET memory_limit = '25%'")
        quarter = plain.sql("SELECT current_setting('memory_limit')").fetchall()
    with open_sandbox(small_home) as connection:
        limit = connection.sql("SELECT current_setting('memory_limit')").fetchall()
    assert DEFAULT_MEMORY_LIMIT == "25%" and limit == quarter


def test_a_bad_memory_limit_is_one_line(small_home):
    with pytest.raises(QueryRefused, match="--memory-limit '4XB'") as refused:
        open_sandbox(small_home, memory_limit="4XB")
    assert "\n" not in str(refused.value)


def test_a_home_that_is_not_there_is_not_made(tmp_path):
    home = Home.at(tmp_path / "nowhere")
    with open_sandbox(home) as connection:
        assert query(connection, "SELECT current_setting('temp_directory') AS t") == [{"t": ""}]
        assert query(connection, "SELECT 42 AS x") == [{"x": 42}]
    assert not home.root.exists()
