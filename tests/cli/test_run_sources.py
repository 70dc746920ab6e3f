"""``repr-assets run --source`` end to end: each kind of source, quarantine, increments."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc
import pytest

from repr_assets.cli import main
from repr_assets.home import Home
from repr_assets.stores.lance import LanceStore
from sample_sources import (
    digit_images,
    png_bytes,
    write_idx,
    write_image_folder,
    write_parquet,
    write_text_csv,
)
from tests.helpers import INTERFACE_METRICS

QUICK = ["--epochs", "5"]
TEXT_SEARCH = ["search", "--dataset", "reviews", "--encoder", "pca", "--text"]


def run(*args: str) -> int:
    return main(["run", *args, *QUICK])


def metrics(home: Home, dataset: str) -> dict[str, set[str]]:
    with duckdb.connect(str(home.reports), read_only=True) as connection:
        rows = connection.execute(
            "SELECT encoder, metric FROM quality_metrics WHERE dataset = ? "
            "AND encoder <> 'features'",  # the baselines of the raw features
            [dataset],
        ).fetchall()
    found: dict[str, set[str]] = {}
    for encoder, metric in rows:
        found.setdefault(encoder, set()).add(metric)
    return found


def quarantine(home: Home, dataset: str) -> dict[str, str]:
    with duckdb.connect(str(home.reports), read_only=True) as connection:
        rows = connection.execute(
            "SELECT ref, reason FROM quarantine WHERE dataset = ?", [dataset]
        ).fetchall()
    return dict(rows)


def image_folder(root: Path) -> list[str]:
    write_image_folder(root, count=120)
    return ["--source", str(root)]


def idx_folder(root: Path) -> list[str]:
    images, labels = digit_images(240, 28)
    write_idx(root, "train", images[:200], labels[:200], gz=True)
    write_idx(root, "t10k", images[200:], labels[200:], gz=True)
    return ["--source", str(root)]


def text_csv(root: Path) -> list[str]:
    path = write_text_csv(root.with_suffix(".csv"), count=200)
    return ["--source", str(path), "--text-column", "review", "--label-column", "topic"]


def parquet_table(root: Path) -> list[str]:
    path = write_parquet(root.with_suffix(".parquet"), count=300)
    return ["--source", str(path), "--label-column", "species"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("build", "items"),
    [(image_folder, 120), (idx_folder, 240), (text_csv, 200), (parquet_table, 300)],
    ids=["image-folder", "idx-gz", "csv-text", "parquet-table"],
)
def test_every_metric_of_every_kind_of_source(tmp_path, home, build, items):
    assert run(*build(tmp_path / "data"), "--dataset", "mine") == 0
    found = metrics(home, "mine")
    assert set(found) == {"pca", "autoencoder"}
    assert all(found[encoder] >= INTERFACE_METRICS for encoder in found), found
    store = LanceStore(home.lancedb)
    for table in ("mine_items", "mine_features", "mine_pca", "mine_autoencoder"):
        assert store.count(table) == items, table
    vectors = store.read_table("mine_pca", columns=["vector"]).column("vector").combine_chunks()
    assert np.isfinite(vectors.flatten().to_numpy()).all()


@pytest.mark.slow
def test_salted_sources_quarantine_each_bad_item_and_embed_every_good_one_once(
    tmp_path, home, capsys
):
    root = write_image_folder(tmp_path / "pics", count=60)
    good = png_bytes()
    (root / "2" / "truncated.png").write_bytes(good[:40])
    (root / "2" / "zero.png").write_bytes(b"")
    (tmp_path / "outside.png").write_bytes(png_bytes(value=200))
    os.symlink(tmp_path / "outside.png", root / "2" / "link.png")
    assert run("--source", str(root)) == 0
    reasons = quarantine(home, "pics")
    assert set(reasons) == {"2/truncated.png", "2/zero.png", "2/link.png"}
    assert reasons["2/truncated.png"].startswith("corrupt or truncated image")
    assert reasons["2/zero.png"] == "empty file"
    assert reasons["2/link.png"] == "symlink pointing outside the source root"
    store = LanceStore(home.lancedb)
    ids = store.read_table("pics_autoencoder", columns=["item_id"]).column("item_id").to_pylist()
    assert len(ids) == len(set(ids)) == 60

    csv = write_text_csv(tmp_path / "reviews.csv", count=200)
    with csv.open("ab") as handle:
        handle.write(b"na\xefve caf\xe9 review,food,4\n")
    assert run("--source", str(csv), "--text-column", "review", "--label-column", "topic") == 0
    [(ref, reason)] = quarantine(home, "reviews").items()
    assert ref == "reviews.csv:line 202"  # row 201 starts on line 202, after the header
    assert reason.startswith("undecodable text in column 'review': not UTF-8")
    assert store.count("reviews_pca") == 200
    capsys.readouterr()
    assert main([*TEXT_SEARCH, "goal team coach match league", "-k", "5", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [hit["label"] for hit in hits].count("sport") >= 4
    # Words the vocabulary lacks, or none, are nothing to search by: no hits at distance 0.
    for text in ("", "zzyzx qwerty"):
        assert main([*TEXT_SEARCH, text]) == 2
        assert "is in the vocabulary of data set 'reviews'" in capsys.readouterr().err
    # Running again sets nothing aside twice.
    assert run("--source", str(csv), "--text-column", "review", "--label-column", "topic") == 0
    assert len(quarantine(home, "reviews")) == 1


def table_state(store: LanceStore, dataset: str) -> dict[str, tuple[int, int]]:
    return {
        name: (store.open(name).version, store.count(name))
        for name in store.table_names()
        if name.startswith(f"{dataset}_")
    }


@pytest.mark.slow
def test_new_files_are_added_with_the_same_model_and_nothing_new_changes_nothing(tmp_path, home):
    root = tmp_path / "landing"
    images, labels = digit_images(150, 16)
    from PIL import Image

    def land(indices: range) -> None:
        for i in indices:
            folder = root / str(labels[i])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i]).save(folder / f"{i:04d}.png")

    land(range(120))
    assert run("--source", str(root)) == 0
    store = LanceStore(home.lancedb)
    before = store.read_table("landing_autoencoder").to_pylist()
    version = before[0]["model_version"]

    land(range(120, 150))
    assert run("--dataset", "landing") == 0
    after = store.read_table("landing_autoencoder")
    assert after.num_rows == 150
    assert set(pc.unique(after.column("model_version")).to_pylist()) == {version}
    old = {row["item_id"]: row for row in before}
    kept = [row for row in after.to_pylist() if row["item_id"] in old]
    assert len(kept) == 120
    assert all(row == old[row["item_id"]] for row in kept)  # vectors, run ids: untouched

    state = table_state(store, "landing")
    assert run("--dataset", "landing") == 0
    assert table_state(store, "landing") == state

    assert run("--dataset", "landing", "--refit") == 0
    refitted = store.read_table("landing_autoencoder")
    assert set(pc.unique(refitted.column("model_version")).to_pylist()) != {version}
    assert refitted.num_rows == 150


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "{tmp}/nowhere.csv"], "no such file or folder"),
        (["--source", "{csv}", "--label-column", "nosuch"], "no column 'nosuch'"),
        (["--source", "{csv}", "--text-column", "stars"], "column 'stars' is not text"),
        (["--source", "{csv}", "--modality", "image"], "image sources are folders"),
        (["--source", "{csv}", "--dataset", "digits"], "'digits' is a built-in data set"),
        (["--label-column", "topic"], "--label-column needs --source"),
        # scikit-learn's wine_data.csv: a first line of 5 fields over rows of 14.
        (
            ["--source", "{tmp}/wine.csv"],
            "no readable rows (the first, wine.csv:line 2: row of the wrong shape: 3 fields, "
            "expected 2)",
        ),
    ],
)
def test_bad_arguments_are_one_line_and_write_nothing(tmp_path, home, capsys, args, message):
    csv = write_text_csv(tmp_path / "reviews.csv", count=20)
    (tmp_path / "wine.csv").write_text("3,two\n" + "1.5,2.5,0\n" * 3)
    filled = [a.format(tmp=tmp_path, csv=csv) for a in args]
    assert main(["run", *filled]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0], error
    assert not home.root.exists()
