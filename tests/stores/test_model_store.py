"""ModelStore: versioned folders of saved encoders with a LATEST pointer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from repr_assets.encoders.autoencoder import Autoencoder
from repr_assets.encoders.pca import PCA
from repr_assets.encoders.registry import load_encoder
from repr_assets.stores.models import ModelStore


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.normal(size=(80, 6)) @ rng.normal(size=(6, 6))).astype(np.float32)


@pytest.fixture(scope="module")
def autoencoder(X: np.ndarray) -> Autoencoder:
    return Autoencoder(
        latent_dim=2, hidden_dims=(5,), device="cpu", epochs=3, batch_size=16, seed=1
    ).fit(X)


def test_save_and_load_pca(tmp_path, X: np.ndarray) -> None:
    store = ModelStore(tmp_path / "models")
    pca = PCA(n_components=3).fit(X)
    saved = store.save("digits", "pca", pca, "v1", extra_meta={"data_version": "abc"})

    assert saved.path == tmp_path / "models" / "digits" / "pca" / "v1"
    assert saved.version == "v1"
    assert saved.meta["kind"] == "pca"
    assert saved.meta["params"] == {"n_components": 3}
    assert saved.meta["data_version"] == "abc"
    assert json.loads((saved.path / "meta.json").read_text())["version"] == "v1"
    # No staging folders are left behind.
    assert sorted(p.name for p in saved.path.parent.iterdir()) == ["LATEST", "v1"]

    loaded, record = load_encoder(store, "digits", "pca")
    assert isinstance(loaded, PCA)
    assert record.version == "v1"
    assert record.path == saved.path
    assert record.meta == saved.meta
    np.testing.assert_array_equal(loaded.transform(X), pca.transform(X))


def test_save_and_load_autoencoder(tmp_path, X: np.ndarray, autoencoder: Autoencoder) -> None:
    store = ModelStore(tmp_path / "models")
    saved = store.save("digits", "autoencoder", autoencoder, "ae1")
    assert saved.meta["kind"] == "autoencoder"
    assert saved.meta["params"]["latent_dim"] == 2
    assert saved.meta["params"]["seed"] == 1

    loaded, record = load_encoder(store, "digits", "autoencoder")
    assert isinstance(loaded, Autoencoder)
    assert record.version == "ae1"
    # The store loads on device "auto"; compare on the CPU, where the original ran.
    loaded.device = "cpu"
    np.testing.assert_array_equal(loaded.transform(X), autoencoder.transform(X))
    Z = autoencoder.transform(X)
    np.testing.assert_array_equal(loaded.inverse_transform(Z), autoencoder.inverse_transform(Z))


def test_latest_follows_the_last_save_and_versions_stay_loadable(tmp_path, X: np.ndarray) -> None:
    store = ModelStore(tmp_path / "models")
    first = PCA(n_components=2).fit(X)
    second = PCA(n_components=4).fit(X)
    store.save("ds", "pca", first, "aaa")
    assert store.latest_version("ds", "pca") == "aaa"
    store.save("ds", "pca", second, "bbb")
    assert store.latest_version("ds", "pca") == "bbb"
    assert (tmp_path / "models" / "ds" / "pca" / "LATEST").read_text().strip() == "bbb"

    latest, record = load_encoder(store, "ds", "pca")
    assert record.version == "bbb"
    assert latest.latent_dim == 4

    old, old_record = load_encoder(store, "ds", "pca", version="aaa")
    assert old_record.version == "aaa"
    assert old.latent_dim == 2
    np.testing.assert_array_equal(old.transform(X), first.transform(X))

    # Saving an older version again makes it the latest.
    store.save("ds", "pca", first, "aaa")
    assert store.latest_version("ds", "pca") == "aaa"


def test_saving_the_same_version_replaces_it(tmp_path, X: np.ndarray) -> None:
    store = ModelStore(tmp_path / "models")
    store.save("ds", "pca", PCA(n_components=2).fit(X), "v")
    replacement = PCA(n_components=3).fit(X[:40])
    store.save("ds", "pca", replacement, "v")
    loaded, _ = load_encoder(store, "ds", "pca", "v")
    np.testing.assert_array_equal(loaded.transform(X), replacement.transform(X))
    assert sorted(p.name for p in (tmp_path / "models" / "ds" / "pca").iterdir()) == ["LATEST", "v"]


def test_models_are_kept_apart_by_dataset_and_name(tmp_path, X: np.ndarray) -> None:
    store = ModelStore(tmp_path / "models")
    store.save("a", "pca", PCA(n_components=1).fit(X), "v1")
    store.save("b", "pca", PCA(n_components=2).fit(X), "v2")
    assert store.latest_version("a", "pca") == "v1"
    assert store.latest_version("b", "pca") == "v2"
    assert load_encoder(store, "a", "pca")[0].latent_dim == 1


def test_missing_model_raises_file_not_found(tmp_path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(FileNotFoundError, match=r"no saved 'pca' model for data set 'digits'"):
        load_encoder(store, "digits", "pca")
    with pytest.raises(FileNotFoundError, match="materialise its model asset first"):
        store.latest_version("digits", "pca")


def test_missing_version_raises_file_not_found(tmp_path, X: np.ndarray) -> None:
    store = ModelStore(tmp_path / "models")
    store.save("digits", "pca", PCA(n_components=2).fit(X), "v1")
    with pytest.raises(FileNotFoundError, match=r"no model version 'v9'"):
        load_encoder(store, "digits", "pca", version="v9")


def test_a_failed_save_leaves_the_previous_model(tmp_path, X: np.ndarray) -> None:
    store = ModelStore(tmp_path / "models")
    store.save("ds", "pca", PCA(n_components=2).fit(X), "v1")
    with pytest.raises(RuntimeError, match="not fitted"):
        store.save("ds", "pca", PCA(n_components=2), "v2")
    assert store.latest_version("ds", "pca") == "v1"
    assert sorted(p.name for p in (tmp_path / "models" / "ds" / "pca").iterdir()) == [
        "LATEST",
        "v1",
    ]
