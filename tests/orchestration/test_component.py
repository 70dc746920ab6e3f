"""The Dagster Component: a ``defs.yaml`` per data set in a ``dg`` project's defs folder."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from repr_assets.home import Home

COMPONENT = "repr_assets.orchestration.component.RepresentationDataset"

REVIEWS = f"""
type: {COMPONENT}
attributes:
  name: reviews
  dataset:
    source: reviews.csv
    modality: text
    text_column: review
    label_column: topic
    encoders: [pca, contrastive]
    refit_schedule: "0 4 * * 1"
    owners: [team:search]
"""

PHOTOS = f"""
type: {COMPONENT}
attributes:
  name: photos
  dataset:
    source: /data/photos
    embed_shards: 2
"""


@pytest.fixture
def defs_package(tmp_path: Path) -> Iterator[Path]:
    """A project whose defs folder is the package ``project_defs``."""
    root = tmp_path / "project"
    (root / "project_defs").mkdir(parents=True)
    (root / "project_defs" / "__init__.py").write_text("")
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("project_defs")]:
            del sys.modules[name]


def _load(root: Path, **folders: str) -> dg.Definitions:
    for name, text in folders.items():
        (root / "project_defs" / name).mkdir()
        (root / "project_defs" / name / "defs.yaml").write_text(text)
    module = importlib.import_module("project_defs")
    return dg.components.load_defs(module, project_root=root)


def test_each_defs_yaml_is_a_whole_graph(home: Home, defs_package: Path) -> None:
    defs = _load(defs_package, reviews=REVIEWS, photos=PHOTOS)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for asset in ("items", "features", "contrastive_model", "pca_embeddings", "served_embeddings"):
        assert f"reviews/{asset}" in keys
    assert "photos/autoencoder_embeddings" in keys
    assert graph.get(dg.AssetKey(["reviews", "items"])).owners == ["team:search"]
    assert defs.resolve_schedule_def("reviews_refit_schedule").cron_schedule == "0 4 * * 1"
    assert defs.resolve_sensor_def("photos_landing_sensor").job_name == "photos_pipeline"
    assert defs.resolve_job_def("photos_pipeline").executor_def.name == "multiprocess"
    # Both graphs share one set of resources, under REPR_ASSETS_HOME.
    assert defs.resources is not None
    assert defs.resources["lancedb"].uri == str(home.lancedb)


def test_a_bad_field_names_the_data_set_and_the_field(home: Home, defs_package: Path) -> None:
    bad = REVIEWS.replace("modality: text", "modality: video")
    with pytest.raises(Exception, match=r"reviews \(loaded\)") as raised:
        _load(defs_package, reviews=bad)
    causes = []
    error: BaseException | None = raised.value
    while error is not None:
        causes.append(str(error))
        error = error.__cause__
    assert any("data set 'reviews': unknown modality 'video'" in cause for cause in causes)
