"""Saved models and featurisers that are malformed or hostile are refused in one line.

Each case plays the user's (or an attacker's) part: a file under ``models/`` is replaced
by a hostile or broken one, and loading it must raise ``ModelFileError`` with a one-line
message naming that file, before anything is built, with no code run and no large
allocation. The round trips at the end show that what the encoders save still loads.
"""

from __future__ import annotations

import io
import json
import resource
import shutil
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repr_assets.encoders import minilm
from repr_assets.encoders.autoencoder import Autoencoder
from repr_assets.encoders.contrastive import ContrastiveEncoder
from repr_assets.encoders.denoising import DenoisingAutoencoder
from repr_assets.encoders.minilm import MiniLMEncoder
from repr_assets.encoders.pca import PCA
from repr_assets.encoders.registry import load_encoder
from repr_assets.featurisers import ImageFeaturiser, TextFeaturiser, load_featuriser
from repr_assets.schema import boolean, list_of, mapping_of, object_of, string
from repr_assets.stores.model_files import ModelFileError, ModelNotFoundError
from repr_assets.stores.models import FEATURISER, ModelStore

N_FEATURES = 6
FAST = {"epochs": 2, "batch_size": 16, "patience": 5, "seed": 3, "cpu_threads": 1}


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.normal(size=(64, N_FEATURES)) @ rng.normal(size=(N_FEATURES, N_FEATURES))).astype(
        np.float32
    )


def _fitted(kind: str, X: np.ndarray, hidden: tuple[int, ...] = (5,)) -> Any:
    if kind == "pca":
        return PCA(n_components=3).fit(X)
    if kind == "autoencoder":
        return Autoencoder(latent_dim=2, hidden_dims=hidden, device="cpu", **FAST).fit(X)
    if kind == "denoising_autoencoder":
        return DenoisingAutoencoder(latent_dim=2, hidden_dims=hidden, device="cpu", **FAST).fit(X)
    return ContrastiveEncoder(
        latent_dim=2, hidden_dims=hidden, projection_dim=4, device="cpu", **FAST
    ).fit(X)


KINDS = ("pca", "autoencoder", "denoising_autoencoder", "contrastive")
TORCH_KINDS = KINDS[1:]
LOADERS: dict[str, Callable[[Path], Any]] = {
    "pca": PCA.load,
    "autoencoder": Autoencoder.load,
    "denoising_autoencoder": DenoisingAutoencoder.load,
    "contrastive": ContrastiveEncoder.load,
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, X: np.ndarray) -> dict[str, Path]:
    """One saved model of each kind, to copy and then spoil."""
    root = tmp_path_factory.mktemp("saved")
    folders = {}
    for kind in KINDS:
        _fitted(kind, X).save(root / kind)
        folders[kind] = root / kind
    _fitted("autoencoder", X, hidden=(7,)).save(root / "wider")
    folders["wider"] = root / "wider"
    return folders


def _copy(saved: dict[str, Path], kind: str, tmp_path: Path) -> Path:
    target = tmp_path / kind
    shutil.copytree(saved[kind], target)
    return target


def refused(load: Callable[[], Any], file: Path, *words: str) -> ModelFileError:
    """``load()`` raises ``ModelFileError``: one line, naming ``file`` and ``words``."""
    with pytest.raises(ModelFileError) as caught:
        load()
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, message
    assert str(file) in message, message
    for word in words:
        assert word in message, message
    return caught.value


def _edit_params(folder: Path, **changes: Any) -> Path:
    path = folder / "params.json"
    params = json.loads(path.read_text())
    for key, value in changes.items():
        if value is _DELETE:
            del params[key]
        else:
            params[key] = value
    path.write_text(json.dumps(params))
    return path


_DELETE = object()


class Bomb:
    """Unpickling it would run code: it writes ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


# --- state.pt --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TORCH_KINDS)
@pytest.mark.parametrize("where", ["history", "state_dict", "top"])
def test_a_pickle_bomb_state_pt_is_refused_and_runs_nothing(
    saved: dict[str, Path], tmp_path: Path, kind: str, where: str
) -> None:
    folder = _copy(saved, kind, tmp_path)
    marker = tmp_path / "the-bomb-ran"
    state = torch.load(folder / "state.pt", weights_only=True)
    if where == "history":
        state["history"] = Bomb(marker)
    elif where == "state_dict":
        state["state_dict"]["encoder.0.weight"] = Bomb(marker)
    else:
        state = Bomb(marker)
    torch.save(state, folder / "state.pt")
    refused(lambda: LOADERS[kind](folder), folder / "state.pt")
    assert not marker.exists()


def test_a_pickle_bomb_is_refused_through_the_store(
    saved: dict[str, Path], tmp_path: Path, X: np.ndarray
) -> None:
    store = ModelStore(tmp_path / "models")
    record = store.save("ds", "autoencoder", Autoencoder.load(saved["autoencoder"]), "v1")
    marker = tmp_path / "the-bomb-ran"
    torch.save({"state_dict": Bomb(marker), "history": {}}, record.path / "state.pt")
    refused(lambda: load_encoder(store, "ds", "autoencoder"), record.path / "state.pt")
    assert not marker.exists()


@pytest.mark.parametrize(
    "spoil",
    [
        lambda data: b"",
        lambda data: b"this is not a checkpoint\n" * 50,
        lambda data: data[: len(data) // 2],
        lambda data: data[:-30],
        lambda data: b"\x80\x02" + data[2:200],  # a pickle's start, nothing after
    ],
    ids=["empty", "garbage", "half", "tail-cut", "pickle-start"],
)
def test_a_truncated_or_garbage_state_pt_is_refused(
    saved: dict[str, Path], tmp_path: Path, spoil: Callable[[bytes], bytes]
) -> None:
    folder = _copy(saved, "autoencoder", tmp_path)
    path = folder / "state.pt"
    path.write_bytes(spoil(path.read_bytes()))
    refused(lambda: Autoencoder.load(folder), path)


def test_a_state_pt_whose_tensors_have_the_wrong_shapes_is_refused(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    folder = _copy(saved, "autoencoder", tmp_path)
    # The weights of a 7-wide autoencoder beside the params of a 5-wide one.
    shutil.copy(saved["wider"] / "state.pt", folder / "state.pt")
    refused(lambda: Autoencoder.load(folder), folder / "state.pt", "shape (7, 6)", "(5, 6)")


def test_n_features_must_agree_with_the_state_dict(saved: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(saved, "contrastive", tmp_path)
    _edit_params(folder, n_features=N_FEATURES + 1)
    refused(lambda: ContrastiveEncoder.load(folder), folder / "state.pt", "mean", "shape")


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (lambda s: s["state_dict"].pop("decoder.0.bias"), ("missing", "decoder.0.bias")),
        (lambda s: s["state_dict"].update(extra=torch.zeros(1)), ("unknown", "extra")),
        (lambda s: s["state_dict"]["encoder.0.weight"].fill_(float("nan")), ("NaN",)),
        (
            lambda s: s["state_dict"].update({"encoder.0.bias": torch.zeros(5, dtype=torch.int64)}),
            ("torch.int64",),
        ),
        (lambda s: s.update(state_dict=[1, 2]), ("list",)),
        (lambda s: s["history"].update(best_epoch="1"), ("best_epoch",)),
        (lambda s: s["history"].update(train_loss=[0.5] * 99), ("train_loss",)),
        (lambda s: s["history"].update(train_rows=-3), ("train_rows",)),
        (lambda s: s.update(more=1), ("keys",)),
    ],
    ids=[
        "missing",
        "unknown",
        "nan",
        "dtype",
        "not-a-dict",
        "history-type",
        "history-long",
        "history-rows",
        "keys",
    ],
)
def test_a_state_pt_that_does_not_fit_its_params_is_refused(
    saved: dict[str, Path], tmp_path: Path, spoil: Callable[[Any], Any], words: tuple[str, ...]
) -> None:
    folder = _copy(saved, "autoencoder", tmp_path)
    state = torch.load(folder / "state.pt", weights_only=True)
    spoil(state)
    torch.save(state, folder / "state.pt")
    refused(lambda: Autoencoder.load(folder), folder / "state.pt", *words)


def test_a_state_pt_far_larger_than_its_params_need_is_refused_before_loading(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    folder = _copy(saved, "autoencoder", tmp_path)
    state = torch.load(folder / "state.pt", weights_only=True)
    state["history"]["padding"] = torch.zeros(2**20)  # 4 MiB the model has no use for
    torch.save(state, folder / "state.pt")
    refused(lambda: Autoencoder.load(folder), folder / "state.pt", "its params.json model needs")


def test_a_compressed_state_pt_is_refused(saved: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(saved, "autoencoder", tmp_path)
    path = folder / "state.pt"
    with zipfile.ZipFile(saved["autoencoder"] / "state.pt") as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            target.writestr(name, data)
    refused(lambda: Autoencoder.load(folder), path, "compressed")


# --- params.json ------------------------------------------------------------------------

PARAMS_CASES = {
    "not-json": ("{latent_dim: 2", ("not valid JSON",)),
    "a-list": ([2, [5]], ("expected an object", "a list")),
    "deep": ("[" * 100_000 + "]" * 100_000, ("not valid JSON",)),
    "not-utf8": (b"\xff\xfe{}", ("UTF-8",)),
    "missing": ({"latent_dim": _DELETE}, ("missing key 'latent_dim'",)),
    "unknown": ({"surprise": 1}, ("unknown key 'surprise'",)),
    "string-for-int": ({"latent_dim": "2"}, ("latent_dim", 'a string "2"')),
    "bool-for-int": ({"latent_dim": True}, ("latent_dim", "a boolean")),
    "float-for-int": ({"epochs": 2.5}, ("epochs", "2.5")),
    "negative-width": ({"hidden_dims": [-5]}, ("hidden_dims[0]", "-5")),
    "zero-width": ({"hidden_dims": [0]}, ("hidden_dims[0]",)),
    "zero-latent": ({"latent_dim": 0}, ("latent_dim",)),
    "width-not-a-list": ({"hidden_dims": 5}, ("hidden_dims",)),
    "too-deep": ({"hidden_dims": [4] * 33}, ("hidden_dims",)),
    "nan-rate": ({"learning_rate": float("nan")}, ("learning_rate", "finite")),
    "inf-decay": ({"weight_decay": float("inf")}, ("weight_decay",)),
    "fraction-one": ({"validation_fraction": 1.0}, ("validation_fraction",)),
    "features-zero": ({"n_features": 0}, ("n_features",)),
    "huge-int": ('{"latent_dim": ' + "9" * 5000 + "}", ("not valid JSON",)),
}


@pytest.mark.parametrize("kind", TORCH_KINDS)
@pytest.mark.parametrize("case", PARAMS_CASES, ids=list(PARAMS_CASES))
def test_a_bad_params_json_is_refused(
    saved: dict[str, Path], tmp_path: Path, kind: str, case: str
) -> None:
    folder = _copy(saved, kind, tmp_path)
    content, words = PARAMS_CASES[case]
    path = folder / "params.json"
    if isinstance(content, dict):
        _edit_params(folder, **content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content))
    refused(lambda: LOADERS[kind](folder), path, *words)


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


@pytest.mark.parametrize("kind", TORCH_KINDS)
@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"hidden_dims": [2_000_000_000, 128]}, ("hidden_dims[0]", "2000000000")),
        # Every width within its bound, but 12 billion weights in all.
        ({"hidden_dims": [65_536, 65_536], "n_features": 1_000_000}, ("weights",)),
    ],
    ids=["hidden-2e9", "too-many-weights"],
)
def test_a_huge_model_is_refused_quickly_without_allocating(
    saved: dict[str, Path], tmp_path: Path, kind: str, changes: dict[str, Any], words: Any
) -> None:
    folder = _copy(saved, kind, tmp_path)
    path = _edit_params(folder, **changes)
    before, start = _peak_rss_bytes(), time.perf_counter()
    refused(lambda: LOADERS[kind](folder), path, *words)
    assert time.perf_counter() - start < 3.0
    assert _peak_rss_bytes() - before < 256 << 20


def test_a_huge_params_json_is_refused_unread(saved: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(saved, "autoencoder", tmp_path)
    path = folder / "params.json"
    path.write_text(" " * (2 << 20) + "{}")
    refused(lambda: Autoencoder.load(folder), path, "larger than")


def test_a_params_json_that_is_not_a_file_is_refused(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    folder = _copy(saved, "autoencoder", tmp_path)
    path = folder / "params.json"
    path.unlink()
    refused(lambda: Autoencoder.load(folder), path, "missing")
    path.symlink_to("/dev/zero")  # would never end if read
    refused(lambda: Autoencoder.load(folder), path, "not a regular file")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"mask_fraction": 1.0}, ("mask_fraction",)),
        ({"mask_fraction": _DELETE}, ("missing key 'mask_fraction'",)),
    ],
)
def test_denoising_params_are_checked(
    saved: dict[str, Path], tmp_path: Path, changes: dict[str, Any], words: Any
) -> None:
    folder = _copy(saved, "denoising_autoencoder", tmp_path)
    path = _edit_params(folder, **changes)
    refused(lambda: DenoisingAutoencoder.load(folder), path, *words)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"temperature": 0}, ("temperature",)),
        ({"projection_dim": -1}, ("projection_dim",)),
        ({"view_noise": -0.1}, ("view_noise",)),
    ],
)
def test_contrastive_params_are_checked(
    saved: dict[str, Path], tmp_path: Path, changes: dict[str, Any], words: Any
) -> None:
    folder = _copy(saved, "contrastive", tmp_path)
    path = _edit_params(folder, **changes)
    refused(lambda: ContrastiveEncoder.load(folder), path, *words)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"model": "evil/model", "package": minilm.PACKAGE}, ("model",)),
        ({"max_seq_length": 10**9}, ("max_seq_length",)),
        ({"package_version": ["1"]}, ("package_version",)),
    ],
)
def test_minilm_params_are_checked_before_the_model_is_read(
    tmp_path: Path, params: dict[str, Any], words: Any
) -> None:
    good = {
        "model": minilm.MODEL_NAME,
        "package": minilm.PACKAGE,
        "package_version": "0.1.0",
        "max_seq_length": 128,
    }
    path = tmp_path / "params.json"
    path.write_text(json.dumps({**good, **params}))
    refused(lambda: MiniLMEncoder.load(tmp_path), path, *words)


# --- PCA's state.npz --------------------------------------------------------------------


def _rewrite_npz(folder: Path, save: Callable[..., None] = np.savez, **changes: Any) -> Path:
    path = folder / "state.npz"
    with np.load(path) as state:
        arrays = {key: state[key] for key in state.files}
    arrays.update(changes)
    arrays = {key: value for key, value in arrays.items() if value is not _DELETE}
    save(path, **arrays)
    return path


def test_a_pca_state_with_an_object_array_is_refused_and_runs_nothing(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    folder = _copy(saved, "pca", tmp_path)
    marker = tmp_path / "the-bomb-ran"
    bomb = np.empty(1, dtype=object)
    bomb[0] = Bomb(marker)
    path = _rewrite_npz(folder, mean_=bomb)
    refused(lambda: PCA.load(folder), path, "object array", "mean_")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"components_": np.zeros((4, N_FEATURES))}, ("components_", "n_components")),
        ({"mean_": np.zeros(N_FEATURES + 1)}, ("components_", "n_features")),
        ({"mean_": np.full(N_FEATURES, np.nan)}, ("mean_", "NaN")),
        ({"components_": np.full((3, N_FEATURES), np.inf)}, ("components_", "NaN or Inf")),
        ({"explained_variance_": np.array([1.0, -1.0, 0.5])}, ("negative",)),
        ({"mean_": np.zeros(N_FEATURES, np.float16)}, ("float16",)),
        ({"mean_": np.array(["a"] * N_FEATURES)}, ("dtype",)),
        ({"n_samples_seen_": np.array(1.5)}, ("n_samples_seen_", "integer")),
        ({"total_variance_": np.zeros(2)}, ("total_variance_", "dimensions")),
        ({"total_variance_": _DELETE}, ("lacks", "total_variance_")),
        ({"surprise": np.zeros(1)}, ("unknown", "surprise")),
    ],
    ids=[
        "components",
        "mean",
        "nan",
        "inf",
        "negative",
        "float16",
        "strings",
        "count",
        "scalar",
        "missing",
        "unknown",
    ],
)
def test_a_pca_state_of_the_wrong_shape_or_values_is_refused(
    saved: dict[str, Path], tmp_path: Path, changes: dict[str, Any], words: Any
) -> None:
    folder = _copy(saved, "pca", tmp_path)
    path = _rewrite_npz(folder, **changes)
    refused(lambda: PCA.load(folder), path, *words)


def test_a_compressed_pca_state_is_refused(saved: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(saved, "pca", tmp_path)
    path = _rewrite_npz(folder, np.savez_compressed)
    refused(lambda: PCA.load(folder), path, "compressed")


def test_an_npy_header_claiming_a_huge_array_is_refused_unread(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    folder = _copy(saved, "pca", tmp_path)
    path = folder / "state.npz"
    with zipfile.ZipFile(saved["pca"] / "state.npz") as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    header = io.BytesIO()
    # A terabyte of float64, by the header: a reader that believed it would allocate it.
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (3, 2**37)}
    )
    entries["components_.npy"] = header.getvalue() + b"\0" * 64
    with zipfile.ZipFile(path, "w") as target:
        for name, data in entries.items():
            target.writestr(name, data)
    before = _peak_rss_bytes()
    refused(lambda: PCA.load(folder), path, "components_")
    assert _peak_rss_bytes() - before < 256 << 20


@pytest.mark.parametrize(
    "params",
    ['{"n_components": "3"}', '{"n_components": 70000}', '{"n_components": 3, "whiten": true}'],
)
def test_a_bad_pca_params_json_is_refused(
    saved: dict[str, Path], tmp_path: Path, params: str
) -> None:
    folder = _copy(saved, "pca", tmp_path)
    (folder / "params.json").write_text(params)
    word = "whiten" if "whiten" in params else "n_components"
    refused(lambda: PCA.load(folder), folder / "params.json", word)


def test_more_pca_components_than_features_is_refused(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    folder = _copy(saved, "pca", tmp_path)
    (folder / "params.json").write_text('{"n_components": 7}')
    k = 7
    path = _rewrite_npz(
        folder, components_=np.zeros((k, N_FEATURES)), explained_variance_=np.zeros(k)
    )
    refused(lambda: PCA.load(folder), path, "fewer than 7 components")


# --- featurisers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ({"params": {"size": -3}}, ("params.size", "-3")),
        ({"params": {"size": 0}}, ("params.size",)),
        ({"params": {"size": 100_000}}, ("params.size",)),
        ({"params": {"size": "28"}}, ("params.size", "string")),
        ({"params": {"size": 28, "mode": "RGB"}}, ("unknown key 'mode'",)),
        ({"params": {}}, ("missing key 'size'",)),
        ({"size": 28}, ("missing key 'params'",)),
        ([28], ("expected an object",)),
    ],
)
def test_a_bad_image_featuriser_json_is_refused(
    tmp_path: Path, state: Any, words: tuple[str, ...]
) -> None:
    path = tmp_path / "featuriser.json"
    path.write_text(json.dumps(state))
    refused(lambda: ImageFeaturiser.load(tmp_path), path, *words)


def _text_batches(texts: list[str]) -> list[pa.RecordBatch]:
    return [pa.RecordBatch.from_pydict({"text": texts})]


TEXTS = ["the cat sat", "a dog ran far", "the dog sat down", "cats and dogs"]


@pytest.mark.parametrize(
    ("spoil", "file", "words"),
    [
        (lambda s: s["params"].update(vectoriser="word2vec"), "featuriser.json", ("vectoriser",)),
        (lambda s: s["params"].update(ngram_range=[2, 1]), "featuriser.json", ("ngram_range",)),
        (lambda s: s["params"].update(ngram_range=[1]), "featuriser.json", ("ngram_range",)),
        (lambda s: s["params"].update(vocabulary_size=-1), "featuriser.json", ("vocabulary_size",)),
        (lambda s: s.update(vocabulary=[1, 2]), "featuriser.json", ("vocabulary[0]",)),
        (lambda s: s.update(vocabulary=None), "featuriser.json", ("vocabulary",)),
        (lambda s: s.update(vocabulary=["a", "a"]), "featuriser.json", ("twice",)),
        (lambda s: s.update(vocabulary=["a", "b"]), "idf.npy", ("terms",)),
    ],
    ids=["vectoriser", "ngram-order", "ngram-length", "size", "terms", "none", "twice", "idf"],
)
def test_a_bad_text_featuriser_is_refused(
    tmp_path: Path, spoil: Callable[[Any], Any], file: str, words: tuple[str, ...]
) -> None:
    TextFeaturiser("tfidf", (1, 2), 50).fit(_text_batches(TEXTS)).save(tmp_path)
    path = tmp_path / "featuriser.json"
    state = json.loads(path.read_text())
    spoil(state)
    path.write_text(json.dumps(state))
    refused(lambda: TextFeaturiser.load(tmp_path), tmp_path / file, *words)


def test_a_text_idf_with_nan_or_objects_is_refused(tmp_path: Path) -> None:
    featuriser = TextFeaturiser("tfidf", (1, 1), 50).fit(_text_batches(TEXTS))
    featuriser.save(tmp_path)
    terms = len(featuriser.vocabulary_ or [])
    np.save(tmp_path / "idf.npy", np.full(terms, np.nan))
    refused(lambda: TextFeaturiser.load(tmp_path), tmp_path / "idf.npy", "NaN")
    np.save(tmp_path / "idf.npy", np.array([None] * terms), allow_pickle=True)
    refused(lambda: TextFeaturiser.load(tmp_path), tmp_path / "idf.npy", "object array")
    (tmp_path / "idf.npy").write_bytes(b"garbage")
    refused(lambda: TextFeaturiser.load(tmp_path), tmp_path / "idf.npy", "header")


# --- the store: LATEST, meta.json, kinds --------------------------------------------------


@pytest.fixture
def store(tmp_path: Path, X: np.ndarray) -> ModelStore:
    store = ModelStore(tmp_path / "models")
    store.save("ds", "pca", PCA(n_components=2).fit(X), "v1")
    store.save("ds", FEATURISER, ImageFeaturiser(8), "f1", extra_meta={"dim": 64})
    return store


@pytest.mark.parametrize("pointer", ["../..", "../../etc", "/etc", "v1/../v1", ".", "", ".v1-x"])
def test_a_latest_that_names_a_path_is_refused(store: ModelStore, pointer: str) -> None:
    latest = store.root / "ds" / "pca" / "LATEST"
    latest.write_text(pointer)
    refused(lambda: load_encoder(store, "ds", "pca"), latest, "plain name")
    refused(lambda: store.record("ds", "pca"), latest)


def test_a_latest_that_is_huge_or_binary_is_refused(store: ModelStore) -> None:
    latest = store.root / "ds" / "pca" / "LATEST"
    latest.write_bytes(b"\xff\xfe")
    refused(lambda: store.latest_version("ds", "pca"), latest, "UTF-8")
    latest.write_text("v" * 100_000)
    refused(lambda: store.latest_version("ds", "pca"), latest, "larger than")


def test_a_latest_naming_a_missing_folder_is_not_found(store: ModelStore) -> None:
    latest = store.root / "ds" / "pca" / "LATEST"
    latest.write_text("v9")
    error = refused(lambda: load_encoder(store, "ds", "pca"), latest, "no model version 'v9'")
    assert isinstance(error, ModelNotFoundError) and isinstance(error, FileNotFoundError)


@pytest.mark.parametrize("version", ["../../etc", "../ds/pca/v1", "v1/", "..", "a\nb"])
def test_a_version_asked_for_must_be_a_plain_name(store: ModelStore, version: str) -> None:
    refused(
        lambda: load_encoder(store, "ds", "pca", version), store.root / "ds" / "pca", "plain name"
    )


def test_a_data_set_or_model_name_must_be_a_plain_name(store: ModelStore) -> None:
    refused(lambda: load_encoder(store, "../ds", "pca"), store.root, "data set")
    refused(lambda: load_encoder(store, "ds", "../pca"), store.root / "ds", "model name")


@pytest.mark.parametrize(
    ("meta", "words"),
    [
        ("{not json", ("not valid JSON",)),
        ("[1, 2]", ("not a JSON object",)),
        ('{"version": "v1"}', ("names no kind",)),
        ('{"kind": 3, "version": "v1"}', ("names no kind",)),
        ('{"kind": "pca", "version": "v2"}', ("says version 'v2'",)),
    ],
)
def test_a_bad_meta_json_is_refused(store: ModelStore, meta: str, words: Any) -> None:
    path = store.root / "ds" / "pca" / "v1" / "meta.json"
    path.write_text(meta)
    refused(lambda: load_encoder(store, "ds", "pca"), path, *words)
    refused(lambda: store.latest("ds", "pca"), path, *words)


def _set_kind(path: Path, kind: str) -> None:
    meta = json.loads(path.read_text())
    path.write_text(json.dumps({**meta, "kind": kind}))


def test_a_meta_json_of_an_unknown_kind_is_refused(store: ModelStore) -> None:
    path = store.root / "ds" / "pca" / "v1" / "meta.json"
    _set_kind(path, "os.system")
    refused(lambda: load_encoder(store, "ds", "pca"), path, "'os.system' is not a known encoder")
    featuriser_meta = store.root / "ds" / FEATURISER / "f1" / "meta.json"
    _set_kind(featuriser_meta, "pickle")
    refused(lambda: load_featuriser(store, "ds"), featuriser_meta, "not a known featuriser")


def test_a_meta_json_of_the_wrong_known_kind_is_refused_in_one_line(store: ModelStore) -> None:
    path = store.root / "ds" / "pca" / "v1"
    _set_kind(path / "meta.json", "autoencoder")
    refused(
        lambda: load_encoder(store, "ds", "pca"), path / "params.json", "missing key 'latent_dim'"
    )


def test_a_featuriser_json_with_a_negative_size_is_refused_by_the_store(store: ModelStore) -> None:
    path = store.root / "ds" / FEATURISER / "f1" / "featuriser.json"
    path.write_text(json.dumps({"params": {"size": -8}}))
    refused(lambda: load_featuriser(store, "ds"), path, "size")


def test_a_missing_model_is_still_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        load_encoder(ModelStore(tmp_path), "ds", "pca")
    assert isinstance(caught.value, ModelFileError)
    assert "materialise its model asset first" in str(caught.value)


def test_the_error_is_one_line_and_survives_pickling() -> None:
    import pickle

    error = ModelNotFoundError(Path("/m/LATEST"), "two\nlines")
    assert str(error) == "/m/LATEST: two lines"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ModelNotFoundError and str(copy) == str(error)


def test_the_schema_checks_name_the_value_that_is_wrong() -> None:
    columns = object_of(
        {"flags": list_of(boolean(), 0, 4), "categories": mapping_of(list_of(string(), 0, 3), 2)}
    )
    assert columns({"flags": [True, False], "categories": {"colour": ["red"]}}) is None
    assert (
        columns({"flags": [1], "categories": {}})
        == ".flags[0]: expected true or false, got an integer 1"
    )
    assert columns({"flags": [], "categories": {"colour": [3]}}) == (
        '.categories["colour"][0]: expected a string of at most 1,024 characters, got an integer 3'
    )
    assert "at most 2 keys" in (
        columns({"flags": [], "categories": {key: [] for key in "abc"}}) or ""
    )


# --- any corruption: a loaded model or one line -------------------------------------------


def _loads_or_refuses(load: Callable[[], Any], folder: Path) -> None:
    try:
        load()
    except ModelFileError as error:
        assert "\n" not in str(error) and str(folder) in str(error)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_damage_to_a_checkpoint_loads_or_is_refused_in_one_line(
    saved: dict[str, Path], tmp_path: Path, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(["params.json", "state.pt"]))
    original = (saved["autoencoder"] / name).read_bytes()
    folder = tmp_path / "damaged"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(saved["autoencoder"], folder)
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(damaged)))
    (folder / name).write_bytes(bytes(damaged[:cut]))
    _loads_or_refuses(lambda: Autoencoder.load(folder, device="cpu"), folder)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_damage_to_a_pca_state_loads_or_is_refused_in_one_line(
    saved: dict[str, Path], tmp_path: Path, data: st.DataObject
) -> None:
    original = (saved["pca"] / "state.npz").read_bytes()
    folder = tmp_path / "damaged"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(saved["pca"], folder)
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    (folder / "state.npz").write_bytes(bytes(damaged[: data.draw(st.integers(1, len(damaged)))]))
    _loads_or_refuses(lambda: PCA.load(folder), folder)


# --- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_each_encoder_saved_and_loaded_gives_the_same_codes(
    tmp_path: Path, X: np.ndarray, kind: str
) -> None:
    encoder = _fitted(kind, X)
    store = ModelStore(tmp_path / "models")
    store.save("ds", kind, encoder, "v1")
    loaded, record = load_encoder(store, "ds", kind)
    assert type(loaded) is type(encoder) and record.meta["kind"] == kind
    if hasattr(loaded, "device"):
        loaded.device = "cpu"
    np.testing.assert_array_equal(loaded.transform(X), encoder.transform(X))
    assert loaded.params == encoder.params
    if kind != "contrastive":
        Z = encoder.transform(X)
        np.testing.assert_array_equal(loaded.inverse_transform(Z), encoder.inverse_transform(Z))


@pytest.mark.skipif(not minilm.minilm_available(), reason="the text extra is not installed")
def test_minilm_saved_and_loaded_keeps_its_params(tmp_path: Path) -> None:
    encoder = MiniLMEncoder(max_seq_length=32, device="cpu")
    store = ModelStore(tmp_path / "models")
    store.save("ds", "minilm", encoder, "v1")
    loaded, _ = load_encoder(store, "ds", "minilm")
    assert loaded.params == encoder.params


@pytest.mark.parametrize(
    "featuriser",
    [
        ImageFeaturiser(8),
        TextFeaturiser("tfidf", (1, 2), 50),
        TextFeaturiser("hashing", (1, 1), 32),
    ],
    ids=["image", "tfidf", "hashing"],
)
def test_each_featuriser_saved_and_loaded_keeps_its_version(
    tmp_path: Path, featuriser: Any
) -> None:
    if featuriser.kind == "text":
        featuriser = featuriser.fit(_text_batches(TEXTS))
    store = ModelStore(tmp_path / "models")
    store.save("ds", FEATURISER, featuriser, "f1")
    loaded, _ = load_featuriser(store, "ds")
    assert loaded.version == featuriser.version
    if featuriser.kind == "text":
        batch = _text_batches(TEXTS)[0]
        np.testing.assert_array_equal(loaded.featurise(batch), featuriser.featurise(batch))


def test_a_model_saved_before_histories_held_their_rows_still_loads(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    folder = _copy(saved, "autoencoder", tmp_path)
    state = torch.load(folder / "state.pt", weights_only=True)
    assert state["history"]["train_rows"] > 0
    del state["history"]["train_rows"]
    torch.save(state, folder / "state.pt")
    loaded = Autoencoder.load(folder)
    assert loaded.history_.train_rows == 0 and loaded.history_.train_loss
