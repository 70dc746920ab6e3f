"""The read-only SQL sandbox: LanceDB tables and reports readable by name, nothing else."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest

from repr_assets.cli import build_parser
from repr_assets.home import Home
from repr_assets.sql import (
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TIMEOUT_S,
    SANDBOX_SETTINGS,
    TABLE_ROWS,
    QueryRefused,
    _share_of_memory,
    open_sandbox,
    run_query,
    write_result,
)
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.reports import MetricValue, append_metrics
from tests.helpers import CLI, low_rank_vectors, numpy_neighbours, write_embeddings

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
        ("INSTALL vss", "not INSTALL"),
        ("LOAD vss", "not LOAD"),
        ("SET enable_external_access = true", "not SET"),
        ("SET lock_configuration = false", "not SET"),
        ("SELECT set_config('enable_external_access', 'true')", "Catalog Error"),
        ("CREATE TABLE t AS SELECT 1", "not CREATE"),
        ("CREATE TEMP TABLE t AS SELECT 1", "not CREATE"),
        ("  with x as (select 1) insert into quality_metrics select * from x", "not INSERT"),
        ("CREATE MACRO m(x) AS x", "not CREATE"),
        ("INSERT INTO quality_metrics SELECT * FROM quality_metrics", "not INSERT"),
        ("DELETE FROM quality_metrics", "not DELETE"),
        ("DROP TABLE quality_metrics", "not DROP"),
        ("USE memory", "not USE"),
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


def output(connection, sql: str, output_format: str, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    stream = io.StringIO()
    write_result(connection, sql, output_format, stream, timeout)
    return stream.getvalue()


def test_csv_and_json_output(sandbox):
    connection, *_ = sandbox
    sql = "SELECT item_id, label, vector[1:2] AS head FROM toy_pca ORDER BY item_id LIMIT 2"
    lines = output(connection, sql, "csv").splitlines()
    assert lines[0] == "item_id,label,head" and lines[1].startswith('item-000000,0,"[')
    records = json.loads(output(connection, sql, "json"))
    assert [r["item_id"] for r in records] == ["item-000000", "item-000001"]
    assert len(records[0]["head"]) == 2
    assert json.loads(output(connection, "SELECT 1 AS x WHERE false", "json")) == []


RUNAWAY = "SELECT count(*) FROM range(100000000) a, range(100000000) b"
# Rows as fast as DuckDB makes them, for as long as one lets it: a query that streams.
ENDLESS = "SELECT i, md5(i::VARCHAR) AS digest FROM range(1000000000000) t(i)"


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
    assert sorted(p.name for p in small_home.root.iterdir()) == [
        "lancedb",
        "lancedb.locks",  # made by the fixture's writes, not by the query
        "reports.duckdb",
    ]


def test_a_query_that_does_not_fit_its_memory_limit_is_one_line(small_home):
    with open_sandbox(small_home, memory_limit="64MB") as connection:
        with pytest.raises(QueryRefused, match=r"more memory than its limit \(--memory-limit\)"):
            output(connection, "SELECT length(list(i)) FROM range(50000000) t(i)", "csv")
        assert output(connection, "SELECT 42 AS x", "csv") == "x\n42\n"


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
        assert output(connection, "SELECT 42 AS x", "csv") == "x\n42\n"
        with pytest.raises(QueryRefused, match="no tables yet"):
            output(connection, "SELECT * FROM digits_pca", "csv")
    assert not home.root.exists()


def test_a_runaway_query_stops_at_its_time_limit_with_one_line(small_home, cwd_with_secret):
    started = time.monotonic()
    result = repr_assets_sql(small_home.root, cwd_with_secret, RUNAWAY, "--timeout", "1")
    assert time.monotonic() - started < 30
    line = one_error_line(result)
    assert line == "repr-assets: error: sql: the query ran past its 1 s limit and was stopped"
    assert result.stdout == ""


@pytest.mark.parametrize("output_format", ["csv", "json"])
def test_a_query_streaming_its_rows_stops_at_its_time_limit(
    small_home, cwd_with_secret, tmp_path, output_format
):
    out = tmp_path / f"out.{output_format}"
    started = time.monotonic()
    with out.open("w") as stream:
        result = repr_assets_sql(
            small_home.root,
            cwd_with_secret,
            ENDLESS,
            "--timeout",
            "1.5",
            "--format",
            output_format,
            stdout=stream,
            stderr=subprocess.PIPE,
            capture_output=False,
        )
    assert time.monotonic() - started < 30
    assert "1.5 s limit" in one_error_line(result)
    text = out.read_text()
    assert len(text.splitlines()) > 100  # it was streaming
    # JSON cut short is left unclosed: it cannot pass for the whole result.
    assert text.startswith("i,digest\n") if output_format == "csv" else not text.endswith("]\n")


def test_after_a_stopped_query_the_connection_runs_the_next(sandbox):
    connection, *_ = sandbox
    with pytest.raises(QueryRefused, match=r"0\.5 s limit"):
        output(connection, RUNAWAY, "table", timeout=0.5)
    assert output(connection, "SELECT 42 AS x", "csv") == "x\n42\n"


class SlowReader(io.StringIO):
    """An output whose reader takes its time, like ``| less``."""

    def write(self, text: str) -> int:
        time.sleep(0.2)
        return super().write(text)


def test_time_spent_waiting_for_the_reader_is_not_the_querys(sandbox):
    connection, *_ = sandbox
    stream = SlowReader()
    # Five batches of rows and the closing bracket: about 1.2 s of waiting, past 0.5 s.
    write_result(connection, "SELECT * FROM range(10000) t(i)", "json", stream, timeout=0.5)
    assert len(json.loads(stream.getvalue())) == 10_000


class BrokenPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("output_format", ["table", "csv", "json"])
def test_a_closed_output_is_left_to_the_caller_as_broken_pipe(sandbox, output_format):
    connection, *_ = sandbox
    with pytest.raises(BrokenPipeError):
        write_result(connection, "SELECT * FROM toy_pca", output_format, BrokenPipe())


def all_types(connection, output_format: str) -> str:
    return output(connection, "SELECT * FROM test_all_types()", output_format)


def test_every_duckdb_type_prints_as_a_table(sandbox):
    connection, *_ = sandbox
    lines = all_types(connection, "table").splitlines()
    assert lines[0].split()[:3] == ["bool", "tinyint", "smallint"]
    assert lines[1].startswith("-----  -------")
    assert lines[2].startswith("false  ") and lines[4].startswith("NULL ")
    assert lines[5] == "(3 rows)" and "cut short" in lines[6] and len(lines) == 7
    assert "5877642-06-25 (BC)" in lines[2]  # a date no Python date can hold


def test_every_duckdb_type_prints_as_csv(sandbox):
    connection, *_ = sandbox
    rows = list(csv.reader(io.StringIO(all_types(connection, "csv"))))
    columns = len(connection.sql("SELECT * FROM test_all_types()").columns)
    assert len(rows) == 4 and {len(row) for row in rows} == {columns}
    record = dict(zip(rows[0], rows[2], strict=True))
    assert record["date"] == "5881580-07-10" and record["bool"] == "true"
    assert record["hugeint"] == str(2**127 - 1)
    assert json.loads(record["double_array"]) == [42.0, None, None, None, None, -42.0]
    assert json.loads(record["union"]) == {"age": 5}
    assert set(rows[3]) == {""}  # NULL is an empty field


def test_every_duckdb_type_prints_as_json(sandbox):
    connection, *_ = sandbox
    records = json.loads(all_types(connection, "json"), parse_constant=refuse_constant)
    columns = connection.sql("SELECT * FROM test_all_types()").columns
    assert len(records) == 3 and all(list(r) == columns for r in records)
    assert records[1]["hugeint"] == 2**127 - 1 and records[1]["uhugeint"] == 2**128 - 1
    assert records[0]["date"] == "5877642-06-25 (BC)"
    assert records[1]["map"] == {"key1": "🦆🦆🦆🦆🦆🦆", "key2": "goose"}
    assert records[1]["struct"] == {"a": 42, "b": "🦆🦆🦆🦆🦆🦆"}
    assert set(records[2].values()) == {None}


def refuse_constant(name: str):
    raise AssertionError(f"{name} is not JSON")


def test_nan_and_infinity_are_null_in_json(sandbox):
    connection, *_ = sandbox
    sql = """
        SELECT 'nan'::DOUBLE AS nan, 'inf'::FLOAT AS inf, '-inf'::DOUBLE AS minus_inf,
               ['nan'::DOUBLE, 1.5, '-inf'::DOUBLE] AS list, {'x': 'inf'::DOUBLE} AS struct,
               'NaN, Infinity' AS text, '{"a": NaN}'::JSON AS json, 1.5 AS number
    """
    text = output(connection, sql, "json")
    assert json.loads(text, parse_constant=refuse_constant) == [
        {
            "nan": None,
            "inf": None,
            "minus_inf": None,
            "list": [None, 1.5, None],
            "struct": {"x": None},
            "text": "NaN, Infinity",
            "json": {"a": None},
            "number": 1.5,
        }
    ]
    # CSV keeps them apart from NULL, as DuckDB writes them.
    assert output(connection, sql, "csv").splitlines()[1].startswith("nan,inf,-inf,")


def test_an_empty_result_in_each_format(sandbox):
    connection, *_ = sandbox
    sql = "SELECT item_id, label FROM toy_pca WHERE false"
    assert output(connection, sql, "table") == "item_id  label\n-------  -----\n(0 rows)\n"
    assert output(connection, sql, "csv") == "item_id,label\n"
    assert output(connection, sql, "json") == "[]\n"


def test_the_table_aligns_every_value_and_says_what_it_cut(sandbox):
    connection, *_ = sandbox
    sql = """
        SELECT * FROM (VALUES
            ('a' || chr(10) || 'b', '🦆🦆', repeat('x', 200), 1.5),
            ('c', 'ü', 'y', 22.25),
            (NULL, 'é', repeat('🦆', 100), NULL)
        ) t(text, wide, long, n)
    """
    lines = output(connection, sql, "table").splitlines()
    assert lines[:2] == [
        "text  wide  long" + " " * 82 + "n",
        "----  ----  " + "-" * 80 + "  -----",
    ]
    assert lines[2] == "a\\nb  🦆🦆  " + "x" * 79 + "…   1.50"
    assert lines[3] == "c     ü     y" + " " * 79 + "  22.25"
    assert lines[4] == "NULL  é     " + "🦆" * 39 + "…    NULL"
    assert lines[5:] == [
        "(3 rows)",
        "(values over 80 characters are cut short, ending in …: "
        "--format csv or json prints them whole)",
    ]
    assert "x" * 200 + ",1.50\n" in output(connection, sql, "csv")


def test_the_table_shows_the_first_rows_and_says_there_are_more(sandbox):
    connection, *_ = sandbox
    shown = output(connection, f"SELECT * FROM range({TABLE_ROWS}) t(i)", "table").splitlines()
    assert len(shown) == TABLE_ROWS + 3 and shown[-1] == f"({TABLE_ROWS:,} rows)"
    lines = output(connection, "SELECT * FROM range(1000000000000) t(i)", "table").splitlines()
    assert len(lines) == TABLE_ROWS + 3 and lines[-2].strip() == str(TABLE_ROWS - 1)
    assert lines[-1] == (
        f"(the first {TABLE_ROWS:,} rows; there are more: --format csv or json prints all)"
    )
    assert output(connection, "SELECT 1 AS one", "table").splitlines()[-1] == "(1 row)"


def test_repeated_column_names_are_kept_apart_in_json(sandbox):
    connection, *_ = sandbox
    assert json.loads(output(connection, "SELECT 1 AS a, 2 AS a, 3 AS a_1", "json")) == [
        {"a": 1, "a_1": 2, "a_1_1": 3}
    ]
    assert output(connection, "SELECT 1 AS a, 2 AS a", "csv") == "a,a\n1,2\n"


def test_an_unknown_table_is_one_line_that_lists_the_tables(sandbox):
    connection, *_ = sandbox
    with pytest.raises(QueryRefused) as refused:
        output(connection, "SELECT * FROM toy_pac", "table")
    assert str(refused.value) == (
        "Catalog Error: Table with name toy_pac does not exist! Did you mean 'toy_pca'? "
        "The tables are: latest_quality, quality_by_version, quality_changes, quality_metrics, "
        "report_runs, toy_pca."
    )
    with pytest.raises(QueryRefused, match="The tables are: latest_quality") as refused:
        output(connection, "SELECT * FROM nosuch", "table")
    assert "pg_" not in str(refused.value)  # DuckDB's guess was a system table


def test_an_error_in_the_middle_of_the_stream_is_one_line(sandbox):
    connection, *_ = sandbox
    sql = "SELECT CASE WHEN i = 50000 THEN error('boom') ELSE i END AS i FROM range(100000) t(i)"
    for output_format in ["table", "csv", "json"]:
        with pytest.raises(QueryRefused) as refused:
            output(connection, sql, output_format)
        assert str(refused.value) == "Invalid Input Error: boom"


@pytest.mark.parametrize("value", ["0", "-1", "abc", "inf", "nan"])
def test_the_time_limit_is_a_positive_number_of_seconds(value, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["sql", "SELECT 1", "--timeout", value])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(lines) == 1
    assert "--timeout" in lines[0] and "expected a number > 0" in lines[0]


def test_the_help_gives_the_defaults_in_force(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sql", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {DEFAULT_TIMEOUT_S:g})" in text
    assert f"(default: {DEFAULT_MEMORY_LIMIT})" in text
    assert f"the first {TABLE_ROWS:,} rows" in text


def test_a_share_of_memory_for_a_duckdb_that_takes_no_percentages():
    # DuckDB 1.1 refuses '25%'; its default limit is 80% of the memory it sees.
    assert _share_of_memory("25%", "16.0 GiB") == "5120MiB"
    assert _share_of_memory(" 50 % ", "800.0 MiB") == "500MiB"
    assert _share_of_memory("4GB", "16.0 GiB") is None
    assert _share_of_memory("0%", "16.0 GiB") is None
    assert _share_of_memory("25%", "unlimited") is None
