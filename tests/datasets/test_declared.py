"""Data sets declared in YAML: parsed and checked, and a whole graph each in the code location."""

from __future__ import annotations

import json
import logging
import runpy
import shutil
from pathlib import Path

import dagster as dg
import pytest

from repr_assets.datasets.catalog import Catalog
from repr_assets.datasets.declared import DeclarationError, load_declared
from repr_assets.home import Home
from repr_assets.orchestration.definitions import build_location
from repr_assets.stores.lance import LanceStore
from sample_sources import write_image_folder, write_rows, write_text_csv
from tests.helpers import one_line, repr_assets

REPO = Path(__file__).resolve().parents[2]

YAML = """
datasets:
  reviews:
    source: data/reviews.csv
    modality: text
    text_column: review
    label_column: topic
    encoders: [pca, contrastive]
    thresholds: {min_linear_probe_accuracy: 0.8}
    refit_schedule: "0 4 * * 1"
  photos:
    source: data/photos
"""


def test_yaml_fields_become_specs(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text(YAML)
    reviews, photos = load_declared(path)
    assert reviews.spec.source == str(tmp_path / "data" / "reviews.csv")
    assert reviews.spec.encoders == ("pca", "contrastive")
    assert reviews.spec.thresholds.min_linear_probe_accuracy == 0.8
    # Floors not given are the modality's defaults.
    assert reviews.spec.thresholds.min_explained_variance == 0.05
    assert reviews.refit_schedule == "0 4 * * 1"
    assert (photos.spec.modality, photos.refit_schedule) == ("image", None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("datasets:\n  x:\n    colour: red\n", "data set 'x': unknown field 'colour'"),
        ("datasets:\n  x:\n    modality: video\n", "data set 'x': unknown modality 'video'"),
        ("datasets:\n  Bad-Name: {}\n", "invalid data set name 'Bad-Name'"),
        ("datasets: [1, 2]\n", "expected a mapping under 'datasets:'"),
        ("datasets: {x: {source: [\n", "not valid YAML"),
    ],
)
def test_bad_declarations_name_the_data_set_and_field(tmp_path, text, message):
    path = tmp_path / "datasets.yaml"
    path.write_text(text)
    with pytest.raises(DeclarationError, match=message.replace("[", r"\[")):
        load_declared(path)


def test_a_second_data_set_in_the_yaml_is_a_whole_graph_in_the_code_location(tmp_path, home):
    location = tmp_path / "location"
    shutil.copytree(REPO / "pipelines", location / "pipelines")
    (location / "pipelines" / "data").mkdir()
    write_text_csv(location / "pipelines" / "data" / "reviews.csv", count=40)
    write_image_folder(location / "pipelines" / "data" / "photos", count=10)
    (location / "pipelines" / "datasets.yaml").write_text(YAML)
    defs: dg.Definitions = runpy.run_path(str(location / "pipelines" / "definitions.py"))["defs"]
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    for asset in ("items", "features", "pca_model", "contrastive_embeddings", "quality_report"):
        assert f"reviews/{asset}" in keys
    assert "photos/autoencoder_embeddings" in keys and "digits/items" in keys
    assert defs.resolve_schedule_def("reviews_refit_schedule").cron_schedule == "0 4 * * 1"
    assert defs.resolve_sensor_def("photos_landing_sensor").job_name == "photos_pipeline"
    assert defs.resolve_job_def("reviews_pipeline") is not None


GOOD_AND_BAD = """
datasets:
  irises:
    source: irises.csv
    label_column: species
  badone:
    source: irises.csv
    label_colum: species
  empty:
"""


@pytest.fixture
def good_and_bad(tmp_path: Path) -> Path:
    write_rows(tmp_path / "irises.csv", 60)
    path = tmp_path / "datasets.yaml"
    path.write_text(GOOD_AND_BAD)
    return path


def test_a_bad_entry_refuses_that_data_set_alone(tmp_path, good_and_bad):
    catalog = Catalog(Home.at(tmp_path / "home"), good_and_bad)
    # The good entry is whole, and its modality is implied by its source, as on the CLI.
    assert catalog.get("irises").modality == "tabular"
    assert "badone" not in catalog.names() and "irises" in catalog.names()
    with pytest.raises(DeclarationError, match="data set 'badone': unknown field 'label_colum'"):
        catalog.get("badone")
    with pytest.raises(DeclarationError, match="data set 'empty': expected a mapping"):
        catalog.get("empty")
    assert catalog.get("digits").name == "digits"  # built-in data sets are untouched


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("run", "data set 'badone': unknown field 'label_colum'"),
        # Neither needs the entry: on a fresh home there is nothing to show or drop.
        ("report", "no reports under"),
        ("drop", "data set 'badone' has nothing under"),
    ],
)
def test_a_bad_entry_is_one_line_on_every_command(tmp_path, good_and_bad, command, message):
    home = tmp_path / "home"
    result = repr_assets(
        home, command, "--dataset", "badone", REPR_ASSETS_DATASETS=str(good_and_bad)
    )
    assert result.returncode == 2
    assert message in one_line(result)
    assert not home.exists()


def test_a_source_run_may_not_take_the_name_of_a_bad_entry(tmp_path, good_and_bad):
    result = repr_assets(
        tmp_path / "home",
        "run",
        "--source",
        str(tmp_path / "irises.csv"),
        "--dataset",
        "badone",
        REPR_ASSETS_DATASETS=str(good_and_bad),
    )
    assert result.returncode == 2 and "declared in YAML" in one_line(result)


def test_the_code_location_loads_the_good_entries_and_logs_the_bad(tmp_path, good_and_bad, caplog):
    with caplog.at_level(logging.WARNING, logger="repr_assets"):
        defs = build_location(Home.at(tmp_path / "home"), good_and_bad)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert "irises/items" in keys and not any(key.startswith("badone/") for key in keys)
    assert "unknown field 'label_colum'" in caplog.text and "'empty'" in caplog.text


def test_an_unreadable_file_names_itself_for_a_name_found_nowhere_else(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text("datasets: {x: {source: [\n")
    catalog = Catalog(Home.at(tmp_path / "home"), path)
    with pytest.raises(DeclarationError, match="not valid YAML"):
        catalog.get("x")
    assert catalog.get("digits").name == "digits"


BAD_ENTRIES = {
    # Refused when the YAML is read: the entry itself is wrong.
    "thresholds: null": "'thresholds' must be a mapping",
    "thresholds: [1]": "'thresholds' must be a mapping",
    "encoder_options: [1]": "encoder_options must map encoder names",
    "encoders: pca": "'encoders' must be a list",
    "embed_shards: two": "embed_shards must be an integer, got 'two'",
    "label_column: [species]": "label_column must be text",
    "ann_target_recall: 0": "ann_target_recall must be a number in (0, 1], got 0",
    "ann_target_recall: 1.5": "ann_target_recall must be a number in (0, 1], got 1.5",
    "ann_target_recall: high": "ann_target_recall must be a number in (0, 1], got 'high'",
    "ann_target_recall: true": "ann_target_recall must be a number in (0, 1], got True",
    # Refused when its definitions are built: it names what does not exist.
    "encoders: [nope]": "unknown encoder 'nope'",
    "encoder_options: {pca: {bogus: 1}}": "bogus",
    "refit_schedule: nonsense": "nonsense",
}


@pytest.mark.parametrize("line", BAD_ENTRIES)
def test_any_bad_entry_leaves_the_others_whole_in_the_catalog_and_the_ui(tmp_path, line, caplog):
    write_rows(tmp_path / "irises.csv", 60)
    path = tmp_path / "datasets.yaml"
    path.write_text(
        "datasets:\n"
        "  irises: {source: irises.csv, label_column: species}\n"
        f"  badone:\n    source: irises.csv\n    label_column: species\n    {line}\n"
    )
    catalog = Catalog(Home.at(tmp_path / "home"), path)
    assert catalog.get("irises").label_column == "species"
    with caplog.at_level(logging.WARNING, logger="repr_assets"):
        defs = build_location(Home.at(tmp_path / "home"), path)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert "irises/items" in keys and not any(key.startswith("badone/") for key in keys)
    assert "badone" in caplog.text and BAD_ENTRIES[line] in caplog.text


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("digits: {source: irises.csv}", "a built-in data set has that name"),
        ("nosource: {label_column: species}", "'source' must name the data set's folder"),
    ],
)
def test_an_entry_that_would_stand_for_nothing_or_another_is_refused(tmp_path, entry, message):
    path = tmp_path / "datasets.yaml"
    path.write_text(f"datasets:\n  {entry}\n")
    with pytest.raises(DeclarationError, match=message):
        load_declared(path)


def test_a_bad_encoder_in_yaml_is_one_line_on_run(tmp_path):
    write_rows(tmp_path / "irises.csv", 60)
    path = tmp_path / "datasets.yaml"
    path.write_text("datasets:\n  badone: {source: irises.csv, encoders: [nope]}\n")
    result = repr_assets(
        tmp_path / "home", "run", "--dataset", "badone", REPR_ASSETS_DATASETS=str(path)
    )
    assert result.returncode == 2 and "unknown encoder 'nope'" in one_line(result)


@pytest.mark.slow
def test_a_data_set_declared_in_pipelines_yaml_runs_searches_and_reports_like_any_other(tmp_path):
    """From a folder holding ``pipelines/datasets.yaml``, as ``make ui`` reads it: the CLI
    finds the declared data set by name alone."""
    folder = tmp_path / "project"
    (folder / "pipelines").mkdir(parents=True)
    write_rows(folder / "pipelines" / "plants.csv", 80)
    (folder / "pipelines" / "datasets.yaml").write_text(
        "datasets:\n"
        "  plants:\n"
        "    source: plants.csv\n"
        "    label_column: species\n"
        "    encoders: [pca]\n"
    )
    home = tmp_path / "home"
    run = repr_assets(home, "run", "--dataset", "plants", cwd=folder)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "80 entries read: 80 new" in run.stdout
    store = LanceStore(home / "lancedb")
    some_id = store.read_columns("plants_pca", ["item_id"]).column("item_id")[0].as_py()
    search = repr_assets(
        home,
        "search",
        "--dataset",
        "plants",
        "--encoder",
        "pca",
        "--id",
        some_id,
        "--json",
        cwd=folder,
    )
    assert search.returncode == 0, search.stderr
    hits = json.loads(search.stdout)
    assert len(hits) == 10 and some_id not in {hit["item_id"] for hit in hits}
    assert all(hit["ref"].startswith("plants.csv:line ") for hit in hits)
    report = repr_assets(home, "report", "--dataset", "plants", cwd=folder)
    assert report.returncode == 0 and "plants / pca" in report.stdout
    assert "linear_probe_accuracy_at_least" in report.stdout  # its floors, from the YAML spec


def test_a_declared_text_data_set_starts_with_codes_of_32_under_its_own_options(tmp_path):
    """The modality's code size (``CODE_SIZE_BY_MODALITY``) for every encoder with a
    ``latent_dim``, under what the entry gives; tables keep the encoders' own 16."""
    from repr_assets.datasets.declared import declared_dataset

    text = declared_dataset(
        tmp_path / "d.yaml",
        "notes",
        {
            "source": "notes.csv",
            "text_column": "text",
            "encoder_options": {"autoencoder": {"epochs": 7, "latent_dim": 8}},
        },
    ).spec
    assert text.encoder_options["pca"] == {"latent_dim": 32}
    assert text.encoder_options["autoencoder"] == {"latent_dim": 8, "epochs": 7}
    table = declared_dataset(tmp_path / "d.yaml", "rows", {"source": "rows.csv"}).spec
    assert table.modality == "tabular" and table.encoder_options == {}
    with pytest.raises(DeclarationError, match="unknown threshold 'min_probe'; the thresholds"):
        declared_dataset(
            tmp_path / "d.yaml", "x", {"source": "x.csv", "thresholds": {"min_probe": 1}}
        )
