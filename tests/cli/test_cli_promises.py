"""What the command line promises, tried as users try it: a subprocess on a fresh home.

Bad input is one line and changes nothing; a run remembers its options; every entry of a
source is accounted for; a closed pipe is not an error; four first runs at once all work.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pyarrow.compute as pc
import pytest
from PIL import Image

from repr_assets.pipeline.ingest import MIN_ITEMS
from repr_assets.stores.lance import LanceStore
from sample_sources import write_image_folder, write_rows
from tests.helpers import CLI, one_line, repr_assets, run_then_grow

QUICK = ["--epochs", "3"]


# --- refused before anything is written ---------------------------------------------------


def test_an_abbreviated_option_is_refused_not_guessed(tmp_path):
    result = repr_assets(tmp_path / "home", "run", "--encoder", "pca")
    assert result.returncode == 2
    assert "--encoder" in one_line(result)
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("rows", [1, 2, MIN_ITEMS - 1])
def test_a_source_too_small_to_fit_is_refused_and_nothing_is_written(tmp_path, rows):
    source = write_rows(tmp_path / "tiny.csv", rows)
    result = repr_assets(
        tmp_path / "home", "run", "--source", str(source), "--label-column", "species"
    )
    assert result.returncode == 2
    line = one_line(result)
    assert f"{rows} distinct readable item" in line and f"at least {MIN_ITEMS}" in line
    assert not (tmp_path / "home").exists()


def test_the_smallest_source_that_fits_runs_every_step(tmp_path):
    source = write_rows(tmp_path / "small.csv", MIN_ITEMS)
    result = repr_assets(
        tmp_path / "home", "run", "--source", str(source), "--label-column", "species", *QUICK
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert LanceStore(tmp_path / "home" / "lancedb").count("small_autoencoder") == MIN_ITEMS


# --- a data set remembers its options -----------------------------------------------------


@pytest.fixture(scope="module")
def table_home(tmp_path_factory):
    """A table source run with its own options, then grown by ten rows and run again with
    ``--dataset`` alone."""
    return run_then_grow(tmp_path_factory.mktemp("options"), "--epochs", "4", "--latent-dim", "3")


def test_a_later_run_reuses_the_options_and_embeds_only_the_new_rows(table_home):
    home, _, second = table_home
    store = LanceStore(home / "lancedb")
    for encoder in ("pca", "autoencoder"):
        table = store.read_table(f"plants_{encoder}", ["model_version", "run_id", "vector"])
        assert table.num_rows == 130
        assert table.schema.field("vector").type.list_size == 3
        assert pc.unique(table.column("model_version")).to_pylist() == [
            table.column("model_version")[0].as_py()
        ]
        runs = pc.value_counts(table.column("run_id")).to_pylist()
        assert sorted(r["counts"] for r in runs) == [10, 120]  # only the new rows rewritten
    assert "kept autoencoder" in second.stderr
    assert "fitted on" not in second.stderr


def test_a_changed_option_says_what_it_changes(table_home):
    home, *_ = table_home
    result = repr_assets(
        home, "run", "--dataset", "plants", "--epochs", "5", "--encoders", "pca,autoencoder"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "repr-assets: autoencoder: epochs 4 -> 5: a new model" in result.stderr
    assert "pca: epochs" not in result.stderr  # PCA has no epochs


def test_a_new_seed_is_a_new_split_and_refits_every_model(table_home):
    home, *_ = table_home
    result = repr_assets(home, "run", "--dataset", "plants", "--seed", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "seed 0 -> 1" in result.stderr
    assert "kept" not in result.stderr  # a model fitted on the old split saw test items
    assert result.stderr.count("fitted on") == 2


def test_a_code_wider_than_the_features_is_cut_and_says_so(tmp_path):
    source = write_rows(tmp_path / "narrow.csv", 60)
    result = repr_assets(
        tmp_path / "home",
        "run",
        "--source",
        str(source),
        "--label-column",
        "species",
        "--encoders",
        "pca",
        "--latent-dim",
        "64",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    features = re.search(r"featurised into (\d+) features", result.stderr)
    assert features is not None and int(features[1]) < 64
    assert (
        f"latent_dim 64 cut to {features[1]}: a code is never wider than its {features[1]} "
        "features" in result.stderr
    )


def test_a_source_run_that_would_remake_a_data_set_is_refused(table_home, tmp_path):
    home, *_ = table_home
    spec = (home / "models" / "plants" / "dataset.json").read_text()
    other = write_rows(tmp_path / "other.csv", 20)
    for source in ([str(other)], [str(other), "--label-column", "species"]):
        result = repr_assets(home, "run", "--source", *source, "--dataset", "plants")
        assert result.returncode == 2
        assert "was made with source" in one_line(result)
    # The same source without its label column is another data set too.
    same = json.loads(spec)["source"]
    result = repr_assets(home, "run", "--source", same, "--dataset", "plants")
    assert result.returncode == 2 and "label_column 'species' (now None)" in one_line(result)
    assert (home / "models" / "plants" / "dataset.json").read_text() == spec


def test_floors_set_on_the_command_line_are_absolute_and_shown(table_home):
    home, *_ = table_home
    result = repr_assets(home, "run", "--dataset", "plants", "--min-probe-accuracy", "0.999")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "floor min_linear_probe_accuracy None -> 0.999" in result.stderr
    report = repr_assets(home, "report", "--dataset", "plants").stdout
    assert "linear_probe_accuracy_at_least" in report and ">= 0.9990" in report
    assert "(absolute)" in report


# --- every entry accounted for --------------------------------------------------------------


def test_an_image_folder_accounts_for_every_entry_across_runs(tmp_path):
    root = write_image_folder(tmp_path / "photos", count=20, size=12)
    (root / "notes.txt").write_text("not an image")
    (root / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (tmp_path / "outside.png").write_bytes(b"")
    (root / "2" / "link.png").symlink_to(tmp_path / "outside.png")  # set aside unread
    home = tmp_path / "home"
    first = repr_assets(home, "run", "--source", str(root), "--encoders", "pca")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "22 entries read: 20 new, 0 ingested before, 0 duplicates dropped, 2 set aside" in (
        first.stdout
    )
    assert "1 files that are not items skipped (1 .txt)" in first.stdout
    for n in range(4):
        Image.new("L", (12, 12), 40 * n).save(root / "1" / f"new-{n}.png")
    second = repr_assets(home, "run", "--dataset", "photos")
    assert second.returncode == 0, second.stderr[-2000:]
    assert (
        "26 entries read: 4 new, 20 ingested before, 0 duplicates dropped, 0 set aside, "
        "2 set aside before" in second.stdout
    )


# --- output ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("digits") / "home"
    result = repr_assets(home, "run", "--encoders", "pca")
    assert result.returncode == 0, result.stderr[-2000:]
    return home


@pytest.mark.parametrize(
    "command",
    [
        "search --dataset digits --encoder pca --id digits-0001 -k 1500 --json",
        "sql 'SELECT * FROM range(300000)' --format csv",
        "report --format json",
    ],
)
def test_a_reader_that_stops_early_is_not_an_error(digits_home, command):
    env = {**os.environ, "REPR_ASSETS_HOME": str(digits_home)}
    result = subprocess.run(
        ["bash", "-c", f"{CLI} {command} | head -c 100 > /dev/null; echo ${{PIPESTATUS[0]}}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.stderr == ""
    assert result.stdout.strip() in {"0", "141"}  # done in time, or stopped by the closed pipe


def test_search_hits_show_where_they_came_from_in_aligned_columns(tmp_path):
    root = tmp_path / "labels"
    write_image_folder(root, count=30, size=10)
    long = root / "a label far longer than the column it used to be given"
    (root / "7").rename(long)
    home = tmp_path / "home"
    assert repr_assets(home, "run", "--source", str(root), "--encoders", "pca").returncode == 0
    store = LanceStore(home / "lancedb")
    item = store.head("labels_items", 1, ["item_id"]).column("item_id")[0].as_py()
    result = repr_assets(home, "search", "--dataset", "labels", "--encoder", "pca", "--id", item)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["rank", "distance", "label", "item_id", "ref"]
    starts = {line.index(line.split()[-1]) for line in lines[1:] if len(line.split()) >= 5}
    assert len(starts) == 1  # every ref starts in the same column, whatever the label
    hits = json.loads(
        repr_assets(
            home, "search", "--dataset", "labels", "--encoder", "pca", "--id", item, "--json"
        ).stdout
    )
    assert all(hit["ref"].endswith(".png") for hit in hits)


def test_a_never_published_table_whose_model_failed_warns_on_search(tmp_path):
    source = write_rows(tmp_path / "strict.csv", 60)
    home = tmp_path / "home"
    run = repr_assets(
        home,
        "run",
        "--source",
        str(source),
        "--label-column",
        "species",
        "--encoders",
        "pca",
        "--min-probe-accuracy",
        "1.0",
        "--latent-dim",
        "1",
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "nothing was ever served" in run.stdout
    item = LanceStore(home / "lancedb").head("strict_items", 1, ["item_id"])["item_id"][0]
    search = repr_assets(
        home, "search", "--dataset", "strict", "--encoder", "pca", "--id", item.as_py()
    )
    assert search.returncode == 0
    assert "was never published" in one_line(search)


# --- drop, and concurrent first runs ------------------------------------------------------------


def test_drop_removes_tables_models_and_spec_and_keeps_the_history(tmp_path):
    source = write_rows(tmp_path / "gone.csv", 40)
    home = tmp_path / "home"
    assert repr_assets(home, "run", "--source", str(source), "--encoders", "pca").returncode == 0
    dropped = repr_assets(home, "drop", "--dataset", "gone")
    assert dropped.returncode == 0, dropped.stderr
    assert LanceStore(home / "lancedb").table_names() == []
    assert not (home / "models" / "gone").exists()
    with duckdb.connect(str(home / "reports.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM quality_metrics").fetchone()[0] > 0
    again = repr_assets(home, "run", "--dataset", "gone")
    assert again.returncode == 2 and "unknown data set 'gone'" in one_line(again)
    assert repr_assets(home, "drop", "--dataset", "gone").returncode == 2


def test_four_first_runs_at_once_on_a_fresh_home_all_succeed(tmp_path):
    home = tmp_path / "home"
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: repr_assets(home, "run", "--encoders", "pca"), range(4)))
    for result in results:
        assert result.returncode == 0, result.stderr[-2000:]
    assert LanceStore(home / "lancedb").count("digits_pca") == 1797


def test_latent_dim_and_epochs_go_to_the_encoders_the_data_set_runs_with():
    from repr_assets.cli.parser import build_parser
    from repr_assets.cli.run import _given_options

    args = build_parser().parse_args(["run", "--latent-dim", "3", "--epochs", "7"])
    given = _given_options(args, ("pca", "contrastive"))  # the data set's stored encoders
    assert given.encoder_options == {
        "pca": {"latent_dim": 3},  # PCA has no epochs
        "contrastive": {"latent_dim": 3, "epochs": 7},
    }


def test_two_runs_storing_options_at_once_lose_neither(tmp_path):
    import threading

    from repr_assets.datasets.catalog import Catalog, RunOptions
    from repr_assets.home import Home

    catalog = Catalog(Home.at(tmp_path / "home"))
    catalog.store_run_options("plants", RunOptions())
    started = threading.Barrier(2)

    def run(option: str, value: int) -> None:
        started.wait()
        with catalog.storing("plants"):
            latest = catalog.stored_run_options("plants") or RunOptions()
            time.sleep(0.2)  # long enough for the other to read the same, without the lock
            given = RunOptions(encoder_options={"autoencoder": {option: value}})
            catalog.store_run_options("plants", given.over(latest))

    threads = [threading.Thread(target=run, args=a) for a in (("epochs", 5), ("latent_dim", 8))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = catalog.stored_run_options("plants")
    assert stored is not None
    assert stored.encoder_options == {"autoencoder": {"epochs": 5, "latent_dim": 8}}


def test_drop_waits_for_a_run_writing_the_reports_and_refuses_past_the_wait(tmp_path, monkeypatch):
    source = write_rows(tmp_path / "held.csv", 40)
    home = tmp_path / "home"
    assert repr_assets(home, "run", "--source", str(source), "--encoders", "pca").returncode == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"c = duckdb.connect({str(home / 'reports.duckdb')!r}); print('held', flush=True)\n"
            "time.sleep(float(sys.argv[1]))",
            "600",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        from repr_assets.cli import main
        from repr_assets.stores import duckdb_file

        monkeypatch.setenv("REPR_ASSETS_HOME", str(home))
        monkeypatch.setattr(duckdb_file, "WAIT_SECONDS", 1.0)
        status = main(["drop", "--dataset", "held"])
        assert status == 2
        assert LanceStore(home / "lancedb").table_names() != []  # nothing was removed
        assert (home / "models" / "held").exists()
    finally:
        holder.kill()
        holder.wait()
    # Once the holder is gone, the drop goes through.
    assert repr_assets(home, "drop", "--dataset", "held").returncode == 0
