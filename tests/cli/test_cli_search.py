"""``repr-assets search`` and ``repr-assets sql`` on a home holding real digits, a real
fitted PCA in the model store and its embeddings table.

Every command run as a subprocess starts a Python that imports LanceDB (seconds), so those
runs happen once, side by side, in the ``runs`` fixture, and the tests read them. The many
ways of getting the input wrong go through the same entry point, ``main``, in this process.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest
from sklearn.datasets import load_digits

from repr_assets.cli import main
from repr_assets.encoders.pca import PCA
from repr_assets.featurisers.image import ImageFeaturiser
from repr_assets.home import Home
from repr_assets.items.schemas import encode_png, image_batches
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.models import ModelStore
from repr_assets.stores.reports import MetricValue, append_metrics
from tests.helpers import numpy_neighbours, repr_assets, write_embeddings

ITEMS = 300
SEARCH = ["search", "--dataset", "digits", "--encoder", "pca"]

# name: (arguments, what the one line on stderr must name)
SEARCH_ERRORS = {
    "unknown table": (["search", "--dataset", "nosuch", "--encoder", "pca", "--id", "x"], "nosuch"),
    "unknown item": ([*SEARCH, "--id", "digits-9999"], "digits-9999"),
    "bad vector": ([*SEARCH, "--vector", "[1, 2,"], "--vector"),
    "short vector": ([*SEARCH, "--vector", "[1, 2]"], "16 numbers"),
    "zero vector": ([*SEARCH, "--vector", json.dumps([0] * 16)], "all zeros"),
    "unknown column": ([*SEARCH, "--id", "digits-0001", "--where", "colour=red"], "colour"),
    "bad where": ([*SEARCH, "--id", "digits-0001", "--where", "label"], "COLUMN=VALUE"),
    "text": ([*SEARCH, "--text", "a seven"], "no text featuriser"),
    "missing file": ([*SEARCH, "--file", "/nonexistent/seven.png"], "/nonexistent/seven.png"),
    "not an image": ([*SEARCH, "--file", __file__], "cannot decode"),
}
SQL_REFUSALS = {
    "read_csv": ("SELECT * FROM read_csv('{tmp}/secret.csv')", "secret.csv"),
    "copy": ("COPY (SELECT 1) TO '{tmp}/out.csv'", "COPY"),
    "attach": ("ATTACH '{tmp}/other.duckdb' AS other", "ATTACH"),
    "install": ("INSTALL vss", "not INSTALL"),
    "set": ("SET enable_external_access = true", "SET"),
    "create": ("CREATE TABLE t AS SELECT 1", "CREATE"),
}
KNN_SQL = """
SELECT b.item_id, 1 - array_cosine_similarity(a.vector, b.vector) AS distance
FROM digits_pca AS a JOIN digits_pca AS b ON b.item_id <> a.item_id
WHERE a.item_id = 'digits-0042' ORDER BY distance LIMIT 5
"""


def build_digits_home(root: Path, tmp: Path) -> dict:
    """300 digits featurised as the graph does, a PCA fitted and saved, its embeddings."""
    home = Home.at(root)
    digits = load_digits()
    images = (digits.images[:ITEMS] * (255 / 16)).astype(np.uint8)
    item_ids = [f"digits-{i:04d}" for i in range(ITEMS)]
    labels = [str(t) for t in digits.target[:ITEMS]]
    batch = next(image_batches(item_ids, labels, [None] * ITEMS, images, ITEMS))
    featuriser = ImageFeaturiser(8)
    features = featuriser.featurise(batch)
    pca = PCA(16).fit(features)
    models = ModelStore(home.models)
    models.save("digits", "featuriser", featuriser, featuriser.version, {"dim": featuriser.dim})
    models.save("digits", "pca", pca, "pca-v1")
    vectors = pca.transform(features).astype(np.float32)
    store = LanceStore(home.lancedb)
    write_embeddings(
        store, "digits_pca", vectors, labels, model_version="pca-v1", item_ids=item_ids
    )
    with duckdb.connect(str(home.reports)) as connection:
        metric = MetricValue("digits", "pca", "pca-v1", "knn_accuracy", 0.9, "r1", datetime.now())
        append_metrics(connection, [metric])
    (tmp / "seven.png").write_bytes(encode_png(images[7]))
    (tmp / "secret.csv").write_text("password\nhunter2\n")
    return {"home": home, "vectors": vectors, "item_ids": item_ids, "labels": labels}


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli_search")
    data = build_digits_home(tmp / "home", tmp)
    invocations = {
        "by id": [*SEARCH, "--id", "digits-0042", "-k", "5", "--json"],
        "by file": [*SEARCH, "--file", str(tmp / "seven.png"), "-k", "3", "--json"],
        "sql count": ["sql", "SELECT count(*) FROM digits_pca", "--format", "json"],
        "sql knn": ["sql", KNN_SQL, "--format", "csv"],
        **{name: ["sql", sql.format(tmp=tmp)] for name, (sql, _) in SQL_REFUSALS.items()},
    }
    before = tree(data["home"].root)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {
            name: pool.submit(repr_assets, data["home"].root, *args)
            for name, args in invocations.items()
        }
        results = {name: future.result() for name, future in futures.items()}
    return {**data, "tmp": tmp, "results": results, "before": before}


@pytest.fixture
def in_process(runs, monkeypatch, capsys):
    """Run ``repr-assets ARGS`` through ``main`` here: ``(exit status, stdout, stderr)``."""
    monkeypatch.setenv("REPR_ASSETS_HOME", str(runs["home"].root))

    def run(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def succeeded(runs, name: str) -> str:
    result = runs["results"][name]
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_search_by_id_is_nearest_first_without_the_item(runs):
    hits = json.loads(succeeded(runs, "by id"))
    expected, distances = numpy_neighbours(runs["vectors"], runs["vectors"][42], 5, skip=42)
    assert [h["item_id"] for h in hits] == [runs["item_ids"][i] for i in expected]
    assert [h["label"] for h in hits] == [runs["labels"][i] for i in expected]
    np.testing.assert_allclose([h["distance"] for h in hits], distances, atol=1e-5)


def test_search_by_a_new_image_file_finds_that_image(runs):
    hits = json.loads(succeeded(runs, "by file"))
    assert hits[0]["item_id"] == "digits-0007" and hits[0]["distance"] < 1e-5


def test_search_by_vector_prints_a_table(runs, in_process):
    vector = json.dumps(runs["vectors"][3].tolist())
    status, out, _ = in_process(*SEARCH, "--vector", vector, "-k", "4")
    expected, _ = numpy_neighbours(runs["vectors"], runs["vectors"][3], 4)
    lines = out.splitlines()
    assert status == 0 and lines[0].split() == ["rank", "distance", "label", "item_id"]
    assert [line.split()[-1] for line in lines[1:]] == [runs["item_ids"][i] for i in expected]


def test_search_with_filters_returns_only_matching_rows(in_process):
    status, out, _ = in_process(*SEARCH, "--id", "digits-0042", "--where", "label=3", "--json")
    hits = json.loads(out)
    assert status == 0 and len(hits) == 10 and {h["label"] for h in hits} == {"3"}
    for hostile in ["3' OR 1=1 --", "3'", '3"', "3`", "3\x00", "3 ünï 数字"]:
        status, out, err = in_process(*SEARCH, "--id", "digits-0042", "--where", f"label={hostile}")
        assert (status, err) == (0, "") and out.splitlines()[1:] == ["(0 hits)"]


def test_exact_forces_brute_force_with_the_same_answer(in_process):
    exact = in_process(*SEARCH, "--id", "digits-0042", "--exact", "--json")
    assert exact[0] == 0 and exact[1] == in_process(*SEARCH, "--id", "digits-0042", "--json")[1]


@pytest.mark.parametrize("name", SEARCH_ERRORS)
def test_search_errors_are_one_line_naming_the_problem(in_process, name):
    args, named = SEARCH_ERRORS[name]
    status, out, err = in_process(*args)
    assert status != 0 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], err


def test_sql_reads_lance_tables(runs):
    assert json.loads(succeeded(runs, "sql count")) == [{"count_star()": ITEMS}]
    rows = succeeded(runs, "sql knn").splitlines()
    expected, _ = numpy_neighbours(runs["vectors"], runs["vectors"][42], 5, skip=42)
    assert rows[0] == "item_id,distance"
    assert [row.split(",")[0] for row in rows[1:]] == [runs["item_ids"][i] for i in expected]


def test_sql_joins_embeddings_with_the_reports(in_process):
    status, out, _ = in_process(
        "sql",
        "SELECT m.metric, t.items FROM quality_metrics AS m JOIN (SELECT model_version, "
        "count(*) AS items FROM digits_pca GROUP BY ALL) AS t USING (model_version)",
        "--format",
        "json",
    )
    assert status == 0 and json.loads(out) == [{"metric": "knn_accuracy", "items": ITEMS}]


@pytest.mark.parametrize("name", SQL_REFUSALS)
def test_sql_refuses_files_writes_and_settings(runs, name):
    result = runs["results"][name]
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert SQL_REFUSALS[name][1] in lines[0]
    assert "hunter2" not in result.stdout


def test_nothing_under_the_home_changed(runs, in_process):
    for args, _ in SEARCH_ERRORS.values():
        in_process(*args)
    for sql, _ in SQL_REFUSALS.values():
        in_process("sql", sql.format(tmp=runs["tmp"]))
    assert tree(runs["home"].root) == runs["before"]
    assert sorted(p.name for p in runs["tmp"].iterdir()) == ["home", "secret.csv", "seven.png"]


def test_a_search_with_nothing_to_search_suggests_a_command_that_works(tmp_path):
    from tests.helpers import one_line, repr_assets

    home = tmp_path / "home"
    line = one_line(
        repr_assets(home, "search", "--dataset", "reviews", "--encoder", "pca", "--id", "x")
    )
    assert "unknown data set 'reviews'" in line and "run --source PATH" in line
    line = one_line(
        repr_assets(home, "search", "--dataset", "digits", "--encoder", "minilm", "--id", "x")
    )
    assert "repr-assets run --dataset digits --encoders minilm" in line


HEAVY = ("lancedb", "dagster", "torch", "sklearn", "pandas", "lance")
LOADED = """
import json, sys
from repr_assets.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "heavy": [m for m in HEAVY if m in sys.modules]}))
"""


# pylance imports pandas itself: the reference scripts of the bench pay for it too.
READS_LANCE = ["pandas", "lance"]


@pytest.mark.parametrize(
    ("args", "status", "loaded"),
    [
        ([*SEARCH, "--id", "digits-0042", "-k", "3"], 0, READS_LANCE),
        (["sql", "SELECT count(*) FROM digits_pca"], 0, READS_LANCE),
        (["report"], 0, []),
        (["rollback", "--dataset", "digits", "--encoder", "pca"], 2, READS_LANCE),
        (["search", "--dataset", "digits", "--encoder", "nosuch", "--id", "x"], 2, READS_LANCE),
    ],
    ids=["search --id", "sql", "report", "rollback (never published)", "a refused search"],
)
def test_a_read_command_loads_neither_lancedb_nor_dagster_nor_torch(
    runs, args, status, loaded
) -> None:
    # Importing LanceDB alone takes 1.5-4.7 s, most of a one-off search's time; a search
    # by id reads Lance datasets, and pays for nothing it does not use.
    import subprocess
    import sys

    script = f"HEAVY = {HEAVY!r}\n{LOADED}"
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**os.environ, "REPR_ASSETS_HOME": str(runs["home"].root)},
        capture_output=True,
        text=True,
        check=False,
    )
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["status"] == status, done.stderr
    assert outcome["heavy"] == loaded
