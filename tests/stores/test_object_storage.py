"""The LanceDB database on S3, as a user points it there: a local S3 server (moto's, on
127.0.0.1), ``REPR_ASSETS_LANCEDB_URI=s3://...`` and the standard AWS variables; the
home (models, reports, instance) stays on disk.

The whole graph of a table source runs against it, then ``search``, ``sql``, a second run
that finds ten new rows, ``rollback`` and ``compact``: every command that reads or writes
the tables.
"""

from __future__ import annotations

import json
import logging

import pytest

from tests.helpers import PCA_ON_DIGITS, one_line, repr_assets, run_then_grow

BUCKET = "vectors"


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on a free local port with one bucket; the environment that
    points LanceDB at it."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    boto3 = pytest.importorskip("boto3")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request else
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "REPR_ASSETS_LANCEDB_URI": f"s3://{BUCKET}/lancedb",
    }
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    yield env, client
    server.stop()


@pytest.fixture(scope="module")
def on_s3(s3, tmp_path_factory):
    """A table source run once on S3, then grown by ten rows and run again."""
    env, client = s3
    seen: list[set[str]] = []
    home, *_ = run_then_grow(
        tmp_path_factory.mktemp("s3"),
        "--encoders",
        "pca",
        between=lambda: seen.append(_tables(client)),
        **env,
    )
    objects_after_first = seen[0]
    return home, env, client, objects_after_first


def _tables(client) -> set[str]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="lancedb/", Delimiter="/")
    return {p["Prefix"].split("/")[1] for p in listed.get("CommonPrefixes", [])}


def _sql(home, env, query: str) -> list[dict]:
    result = repr_assets(home, "sql", query, "--format", "json", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_whole_graph_writes_its_tables_to_the_bucket_not_the_home(on_s3):
    home, _, _, first = on_s3
    assert {"plants_items.lance", "plants_features.lance", "plants_pca.lance"} <= first
    assert not (home / "lancedb").exists()
    assert (home / "models").is_dir() and (home / "reports.duckdb").is_file()


def test_the_second_run_embeds_only_the_new_rows_on_s3(on_s3):
    home, env, *_ = on_s3
    rows = _sql(home, env, "SELECT run_id, count(*) AS n FROM plants_pca GROUP BY run_id")
    assert sorted(r["n"] for r in rows) == [10, 120]


def test_search_and_sql_read_the_served_version_on_s3(on_s3):
    home, env, *_ = on_s3
    (row,) = _sql(home, env, "SELECT item_id FROM plants_pca ORDER BY item_id LIMIT 1")
    item = row["item_id"]
    query = ["--dataset", "plants", "--encoder", "pca", "--id", item, "-k", "5", "--json"]
    result = repr_assets(home, "search", *query, **env)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 5 and item not in [h["item_id"] for h in hits]
    assert _sql(home, env, "SELECT count(*) AS n FROM plants_pca") == [{"n": 130}]


def test_rollback_then_compact_on_s3(on_s3):
    home, env, *_ = on_s3
    rolled = repr_assets(home, "rollback", "--dataset", "plants", "--encoder", "pca", **env)
    assert rolled.returncode == 0, rolled.stderr
    assert "served version" in rolled.stdout
    assert _sql(home, env, "SELECT count(*) AS n FROM plants_pca") == [{"n": 120}]

    compacted = repr_assets(home, "compact", "--dataset", "plants", "--grace", "0", **env)
    assert compacted.returncode == 0, compacted.stderr
    assert "plants_pca:" in compacted.stdout and "kept versions" in compacted.stdout
    # The served version (rolled back to) survives: reads still see it.
    assert _sql(home, env, "SELECT count(*) AS n FROM plants_pca") == [{"n": 120}]


def _refused(tmp_path, env: dict[str, str]) -> str:
    """The one line a digits run on ``env``'s database is refused with (exit status 2)."""
    result = repr_assets(tmp_path / "home", *PCA_ON_DIGITS, **env)
    assert result.returncode == 2
    return one_line(result)


def test_a_bucket_that_does_not_exist_is_one_line(s3, tmp_path):
    env, _ = s3
    assert _refused(
        tmp_path, {**env, "REPR_ASSETS_LANCEDB_URI": "s3://no-such-bucket/lancedb"}
    ) == (
        "repr-assets: error: cannot open the LanceDB database s3://no-such-bucket/lancedb: "
        "NoSuchBucket: The specified bucket does not exist"
    )


def test_no_server_at_the_endpoint_is_one_line(s3, tmp_path):
    env, _ = s3
    assert _refused(tmp_path, {**env, "AWS_ENDPOINT": "http://127.0.0.1:1"}) == (
        f"repr-assets: error: cannot open the LanceDB database s3://{BUCKET}/lancedb: "
        "Connection refused (http://127.0.0.1:1)"
    )
