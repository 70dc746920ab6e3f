"""Colour image folders through the whole graph with the pretrained EfficientNet-Lite0
and the convolutional autoencoder, offline; and the conv autoencoder on IDX files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.encoders.efficientnet import efficientnet_available
from repr_assets.home import Home
from repr_assets.stores.lance import LanceStore
from sample_sources import digit_images, write_idx
from tests.helpers import materialize_report

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 60), "blue": (40, 60, 220)}


def colour_folder(root, per_class: int = 16) -> None:
    """Shapes of three colours on white, drawn with Pillow at random places and sizes;
    one PNG of each class has a transparent background."""
    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True)
        for n in range(per_class):
            transparent = n == 0
            image = Image.new("RGBA", (48, 40), (255, 255, 255, 0 if transparent else 255))
            draw = ImageDraw.Draw(image)
            x, y, r = rng.integers(8, 30), rng.integers(8, 24), rng.integers(5, 12)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(*colour, 255))
            image.save(root / name / f"{n:02d}.png")


@pytest.mark.skipif(not efficientnet_available(), reason="needs the images extra")
def test_a_colour_folder_runs_with_pca_and_efficientnet(tmp_path) -> None:
    colour_folder(tmp_path / "shapes")
    spec = DatasetSpec(
        name="colours",
        modality="image",
        source=str(tmp_path / "shapes"),
        image_size=16,
        color=True,
        encoders=("pca", "efficientnet_lite0", "conv_autoencoder"),
    )
    home = Home.at(tmp_path / "home")
    values = materialize_report(home, spec)
    store = LanceStore(home.lancedb)
    assert store.open("colours_features").schema.field("vector").type.list_size == 3 * 16 * 16
    assert store.open("colours_efficientnet_lite0").schema.field("vector").type.list_size == 1280
    assert store.count("colours_efficientnet_lite0") == 48
    for encoder in spec.encoders:
        assert (encoder, "linear_probe_accuracy") in values
    # Colour is what tells these classes apart: in RGB, PCA separates them.
    assert values["pca", "linear_probe_accuracy"] >= 0.9
    assert not any(
        metric.startswith("invariance") for e, metric in values if e == "efficientnet_lite0"
    )


def test_the_conv_autoencoder_runs_on_idx_files(tmp_path) -> None:
    images, labels = digit_images(200, 28)
    write_idx(tmp_path / "idx", "train", images, labels, gz=True)
    spec = DatasetSpec(
        name="idx",
        modality="image",
        source=str(tmp_path / "idx"),
        encoders=("conv_autoencoder",),
    )
    values = materialize_report(Home.at(tmp_path / "home"), spec)
    assert ("conv_autoencoder", "explained_variance") in values
    assert np.isfinite(values["conv_autoencoder", "reconstruction_mse"])
