"""Data sets declared in YAML: parsed and checked, and a whole graph each in the code location."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import dagster as dg
import pytest

from repr_assets.declared import DeclarationError, load_declared
from tests.builders import write_image_folder, write_text_csv

REPO = Path(__file__).resolve().parents[1]

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
